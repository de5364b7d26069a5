"""A calibrated text classifier for short user texts, in Chinese and English.

`TextClassifier(examples, embed)` is one logistic regression over character 1-3-grams of the
normalised text and its e5 vector (the app's embedder, injected), trained lazily on labelled
texts (`Labelled`: text, label, the batch of who wrote it). `probabilities(texts)` returns the
class names and a probability row per text; `leave_out(batch)` is the same model trained
without one author batch, for leave-one-batch-out measurement (vectors reused). With
`cache_dir` the training vectors and the fitted model are kept on disk (a pickle of our own
making, keyed by the training texts and labels, the settings, scikit-learn's version and a
probe vector of the embedder), so a new process or data dir reuses them.

Used by bot/answer/topic_model.py (which pattern a question is about) and
bot/safety/urgency.py (is money moving now). It knows nothing of topics or safety.
"""

from __future__ import annotations

import hashlib
import json
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.frozen_model import freeze
from bot.model_cache import LazilyFitted, key_hash, load_or_embed

Embed = Callable[[list[str]], np.ndarray]
PROBE = "网贷放款前要我先交解冻金，正常吗？ is this a scam?"


@dataclass(frozen=True)
class Labelled:
    text: str
    topic: str  # the label: for topics a taxonomy id, or "none" for out-of-domain
    batch: str  # who wrote it: "kb" for knowledge-base chunks, else the author batch
    lang: str = ""


def read_labelled(
    directory: Path, label_field: str, allowed: Sequence[str] = (), optional: bool = False
) -> list[Labelled]:
    """Every `*.jsonl` under `directory` as rows ({text, <label_field>, lang?}); the batch is
    the file name's last `_` part (`questions_qa.jsonl` -> `qa`). A bad row names its file and
    line. With `optional`, a file none of whose rows has `label_field` is skipped (a batch
    written without that label); a file where only some rows have it is still an error."""
    out: list[Labelled] = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        batch = path.stem.split("_")[-1]
        rows: list[tuple[int, Any]] = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append((number, json.loads(line)))
                except ValueError as exc:
                    raise ValueError(f"{path}:{number}: {exc}") from exc
        if optional and not any(isinstance(r, dict) and label_field in r for _, r in rows):
            continue
        for number, row in rows:
            try:
                label = str(row[label_field])
                if allowed and label not in allowed:
                    raise ValueError(f"{label_field} must be one of {list(allowed)}, got {label!r}")
                out.append(Labelled(str(row["text"]), label, batch, row.get("lang", "")))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    return out


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


class TextClassifier(LazilyFitted):
    """Logistic regression over character n-grams and e5 vectors (trained lazily, once)."""

    def __init__(
        self,
        examples: Sequence[Labelled],
        embed: Embed | None,
        c: float = 8.0,
        cache_dir: Path | None = None,
        vectors: dict[str, np.ndarray] | None = None,
        name: str = "text_model",
    ) -> None:
        """`vectors` (text -> vector) are used instead of embedding those training texts,
        e.g. the vectors the store already holds for knowledge-base chunks."""
        self.examples = list(examples)
        self.name = name  # names its cache files
        self.embed = embed
        self.c = c
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._fitted: tuple[Any, Any] | None = None
        self._lock = threading.Lock()
        self._memo: dict[str, np.ndarray] = dict(vectors or {})  # shared by leave_out copies

    def leave_out(self, batch: str) -> TextClassifier:
        """The same model trained without one batch (never cached; vectors reused)."""
        model = type(self)(
            [e for e in self.examples if e.batch != batch], self.embed, c=self.c, name=self.name
        )
        model._memo = self._memo
        return model

    def probabilities(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """(class names, probability rows) for many texts at once."""
        vectorizer, classifier = self._model()
        return list(classifier.classes_), classifier.predict_proba(
            self._features(vectorizer, list(texts))
        )

    # -- training --------------------------------------------------------------------------

    def _features(self, vectorizer: Any, texts: list[str], memo: bool = False) -> Any:
        from scipy.sparse import csr_matrix, hstack

        grams = vectorizer.transform([_norm(t) for t in texts])
        if self.embed is None:
            return grams
        if memo:  # training texts: embed each once, even across leave-one-out copies
            missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
            if missing:
                self._memo.update(self._embed_cached(missing))
            vectors = np.stack([self._memo[t] for t in texts])
        else:
            vectors = np.asarray(self.embed(texts), dtype=np.float32).reshape(len(texts), -1)
        return hstack([grams, csr_matrix(vectors)]).tocsr()

    def _embed_cached(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Vectors of training texts, kept in `cache_dir` keyed by the texts and a probe
        vector of the embedder, so a process with another index or data dir reuses them."""
        assert self.embed is not None
        path = None
        if self.cache_dir is not None:
            h = hashlib.sha256(np.round(self._probe(), 3).tobytes())
            for t in texts:
                h.update(b"\0" + t.encode())
            path = self.cache_dir / f"{self.name}_vectors-{h.hexdigest()[:16]}.npy"
        matrix = load_or_embed(
            path,
            len(texts),
            lambda: np.asarray(self.embed(texts), dtype=np.float32).reshape(len(texts), -1),
        )
        return dict(zip(texts, matrix, strict=True))

    def _probe(self) -> np.ndarray:
        assert self.embed is not None
        return np.asarray(self.embed([PROBE]), dtype=np.float32).reshape(-1)

    def _cache_path(self) -> Path | None:
        if self.cache_dir is None:
            return None
        h = key_hash(self.c)
        if self.embed is not None:
            h.update(np.round(self._probe(), 3).tobytes())
        for e in self.examples:
            h.update(f"\0{e.topic}\0{e.text}".encode())
        return self.cache_dir / f"{self.name}-{h.hexdigest()[:16]}.pkl"

    def _train(self) -> tuple[Any, Any]:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        if len({e.topic for e in self.examples}) < 2:
            raise ValueError("a text classifier needs at least two labels")
        texts = [e.text for e in self.examples]
        vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2
        )
        vectorizer.fit([_norm(t) for t in texts])
        classifier = LogisticRegression(C=self.c, max_iter=3000, class_weight="balanced")
        features = self._features(vectorizer, texts, memo=True)
        classifier.fit(features, [e.topic for e in self.examples])
        return freeze(vectorizer), freeze(classifier)
