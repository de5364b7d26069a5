"""Fitted models and vectors kept on disk between processes, keyed by their inputs.

`load_or_train(path, train)` returns the pickle at `path` if it is readable, else calls
`train()`, writes the result atomically (readers never see a half-written file) and returns
it; with `path` None it just trains. `load_or_embed(path, n, embed)` does the same for a
NumPy matrix of `n` rows. The pickles are of our own making (the callers' keys include the
training texts and library versions); an unreadable file is rebuilt, never fatal. Nothing
here knows what is being trained.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def load_or_train(path: Path | None, train: Callable[[], Any]) -> Any:
    if path is not None and path.exists():
        try:
            return pickle.loads(path.read_bytes())
        except Exception:  # noqa: BLE001 - an unreadable cache is rebuilt, never fatal
            pass
    fitted = train()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(fitted))
        os.replace(tmp, path)
    return fitted


def load_or_embed(path: Path | None, rows: int, embed: Callable[[], np.ndarray]) -> np.ndarray:
    if path is not None and path.exists():
        try:
            cached = np.load(path)
            if cached.shape[0] == rows:
                return cached
        except (OSError, ValueError):
            pass  # unreadable: embed again and overwrite it
    matrix = np.asarray(embed(), dtype=np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, matrix)
        os.replace(tmp, path)
    return matrix


def vectors_path(
    cache_dir: Path | None, prefix: str, embedder_id: str, texts: list[str]
) -> Path | None:
    """`<cache_dir>/<prefix>-<hash of embedder and texts>.npy`, or None without both."""
    if cache_dir is None or not embedder_id:
        return None
    import hashlib

    h = hashlib.sha256(embedder_id.encode("utf-8"))
    for text in texts:
        h.update(b"\0" + text.encode("utf-8"))
    return Path(cache_dir) / f"{prefix}-{h.hexdigest()[:16]}.npy"


FROZEN_FORMAT = "frozen-1"  # bot/frozen_model.py's pickles; bump when they change


def key_hash(*parts: object) -> Any:
    """A sha256 seeded with scikit-learn's version (read without importing it), the frozen
    format and `parts` (a fitted model's settings)."""
    import hashlib
    from importlib.metadata import version

    seed = [version("scikit-learn"), FROZEN_FORMAT, *map(str, parts)]
    return hashlib.sha256("\0".join(seed).encode())


class LazilyFitted:
    """Mixin: `_model()` fits once per object, thread-safe, through `load_or_train` with the
    subclass's `_cache_path()` and `_train()`. Subclasses set `_fitted = None` and `_lock`."""

    _fitted: Any = None
    _lock: Any

    def _cache_path(self) -> Path | None:
        raise NotImplementedError

    def _train(self) -> Any:
        raise NotImplementedError

    def _model(self) -> Any:
        if self._fitted is None:
            with self._lock:
                if self._fitted is None:
                    self._fitted = load_or_train(self._cache_path(), self._train)
        return self._fitted
