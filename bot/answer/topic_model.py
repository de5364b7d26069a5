"""Which scam pattern a question is about, or none: the pattern an answer names.

`QuestionTopics(examples, embed)` is one multi-class logistic regression over character
1-3-grams of the text and its e5 vector (the app's embedder, injected), trained on labelled
texts: the knowledge base's own chunks (each labelled with its article's first topic) and
written training questions (`bot/answer/training/*.jsonl`: per-topic questions from separate
authors, plus out-of-domain questions labelled `none`). `predict(text)` returns the best
topic, its probability and P(none); `NamedPattern` turns that into a decision with two
floors from `topic_model.yaml`: below `pattern_floor` the answer names no pattern, and at or
above `none_floor` P(none) marks the question as outside what the knowledge base covers.

Evaluation sets are never trained on: eval/topic_report.py measures the model leaving each
training batch out and on the eval question sets. With `cache_dir` the fitted model is kept
on disk (a pickle of our own making, keyed by the training texts, the settings, scikit-learn's
version and a probe vector of the embedder). It does not retrieve or compose anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
TRAINING_DIR = HERE / "training"
SETTINGS_PATH = HERE / "topic_model.yaml"
NONE = "none"
Embed = Callable[[list[str]], np.ndarray]
_PROBE = "网贷放款前要我先交解冻金，正常吗？ is this a scam?"


@dataclass(frozen=True)
class Labelled:
    text: str
    topic: str  # a taxonomy id, or "none" for out-of-domain
    batch: str  # who wrote it: "kb" for knowledge-base chunks, else the author batch
    lang: str = ""


@dataclass(frozen=True)
class Prediction:
    topic: str | None  # best scam topic (never "none"), None without a model
    probability: float  # of that topic
    none: float  # P(out of domain)


def load_training(directory: Path = TRAINING_DIR) -> list[Labelled]:
    """The written training questions: every *.jsonl under `directory` ({text, topic, lang})."""
    out: list[Labelled] = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        batch = path.stem.split("_")[-1]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                out.append(
                    Labelled(str(row["text"]), str(row["topic"]), batch, row.get("lang", ""))
                )
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{path}:{number}: needs text and topic ({exc})") from exc
    return out


def chunk_examples(chunks: Iterable[Any]) -> list[Labelled]:
    """Knowledge-base chunks as training rows, labelled with their article's first topic."""
    return [Labelled(f"{c.title}\n{c.text}", c.topics[0], "kb", c.lang) for c in chunks if c.topics]


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


class QuestionTopics:
    """Logistic regression over character n-grams and e5 vectors (trained lazily, once)."""

    def __init__(
        self,
        examples: Sequence[Labelled],
        embed: Embed | None,
        c: float = 8.0,
        cache_dir: Path | None = None,
        vectors: dict[str, np.ndarray] | None = None,
    ) -> None:
        """`vectors` (text -> vector) are used instead of embedding those training texts,
        e.g. the vectors the store already holds for knowledge-base chunks."""
        self.examples = list(examples)
        self.embed = embed
        self.c = c
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._fitted: tuple[Any, Any] | None = None
        self._lock = threading.Lock()
        self._memo: dict[str, np.ndarray] = dict(vectors or {})  # shared by leave_out copies

    def leave_out(self, batch: str) -> QuestionTopics:
        """The same model trained without one batch (never cached; vectors reused)."""
        model = QuestionTopics([e for e in self.examples if e.batch != batch], self.embed, self.c)
        model._memo = self._memo
        return model

    def probabilities(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """(class names, probability rows) for many texts at once."""
        vectorizer, classifier = self._model()
        return list(classifier.classes_), classifier.predict_proba(
            self._features(vectorizer, list(texts))
        )

    def predict(self, text: str) -> Prediction:
        classes, probs = self.probabilities([text])
        row = probs[0]
        p_none = float(row[classes.index(NONE)]) if NONE in classes else 0.0
        order = [i for i in np.argsort(-row) if classes[i] != NONE]
        best = order[0] if order else None
        if best is None:
            return Prediction(None, 0.0, p_none)
        return Prediction(classes[best], float(row[best]), p_none)

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
            path = self.cache_dir / f"question_vectors-{h.hexdigest()[:16]}.npy"
            if path.exists():
                try:
                    cached = np.load(path)
                    if cached.shape[0] == len(texts):
                        return dict(zip(texts, cached, strict=True))
                except (OSError, ValueError):
                    pass  # unreadable: embed again and overwrite it
        matrix = np.asarray(self.embed(texts), dtype=np.float32).reshape(len(texts), -1)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, matrix)
            os.replace(tmp, path)
        return dict(zip(texts, matrix, strict=True))

    def _probe(self) -> np.ndarray:
        assert self.embed is not None
        return np.asarray(self.embed([_PROBE]), dtype=np.float32).reshape(-1)

    def _model(self) -> tuple[Any, Any]:
        if self._fitted is None:
            with self._lock:
                if self._fitted is None:
                    self._fitted = self._load_or_train()
        return self._fitted

    def _cache_path(self) -> Path | None:
        if self.cache_dir is None:
            return None
        import sklearn

        h = hashlib.sha256(f"{sklearn.__version__}\0{self.c}".encode())
        if self.embed is not None:
            h.update(np.round(self._probe(), 3).tobytes())
        for e in self.examples:
            h.update(f"\0{e.topic}\0{e.text}".encode())
        return self.cache_dir / f"question_topics-{h.hexdigest()[:16]}.pkl"

    def _load_or_train(self) -> tuple[Any, Any]:
        path = self._cache_path()
        if path is not None and path.exists():
            try:
                return pickle.loads(path.read_bytes())
            except Exception:  # noqa: BLE001 - an unreadable cache is rebuilt, never fatal
                pass
        fitted = self._train()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(pickle.dumps(fitted))
            os.replace(tmp, path)  # readers never see a half-written file
        return fitted

    def _train(self) -> tuple[Any, Any]:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        if len({e.topic for e in self.examples}) < 2:
            raise ValueError("the question-topic model needs at least two topics")
        texts = [e.text for e in self.examples]
        vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2
        )
        vectorizer.fit([_norm(t) for t in texts])
        classifier = LogisticRegression(C=self.c, max_iter=3000, class_weight="balanced")
        features = self._features(vectorizer, texts, memo=True)
        classifier.fit(features, [e.topic for e in self.examples])
        return vectorizer, classifier


@dataclass(frozen=True)
class NamedPattern:
    """The decision the chain acts on: name `topic`, name none, or say it is out of scope."""

    topic: str | None
    probability: float
    none: float
    out_of_scope: bool


def load_floors(path: Path = SETTINGS_PATH) -> dict[str, float]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {k: float(v) for k, v in (data.get("floors") or {}).items()}


def decide(
    pred: Prediction, floors: dict[str, float], not_patterns: Iterable[str] = ()
) -> NamedPattern:
    """Apply the floors: a topic below `pattern_floor`, or one that is not a scam pattern
    (e.g. where to get help), is not named; P(none) at or above `none_floor` with no topic
    above `keep_floor` is out of scope."""
    out = pred.none >= floors.get("none_floor", 1.01) and pred.probability < floors.get(
        "keep_floor", 1.01
    )
    named = pred.topic
    if out or named in set(not_patterns) or pred.probability < floors.get("pattern_floor", 0.0):
        named = None
    return NamedPattern(named, pred.probability, pred.none, out)


class PatternNamer:
    """The chain's view of the model: built on first use from the live index's chunks and the
    training questions, rebuilt when an ingest moves the index to a new generation."""

    def __init__(
        self,
        retriever: Any,
        embed: Embed | None,
        cache_dir: Path | None = None,
        training: Sequence[Labelled] | None = None,
        not_patterns: Iterable[str] = ("reporting-and-help",),
        settings_path: Path = SETTINGS_PATH,
    ) -> None:
        self.retriever = retriever
        self.embed = embed
        self.cache_dir = cache_dir
        self.training = list(training) if training is not None else load_training()
        self.not_patterns = tuple(not_patterns)
        data = yaml.safe_load(Path(settings_path).read_text(encoding="utf-8")) or {}
        self.floors = {k: float(v) for k, v in (data.get("floors") or {}).items()}
        self.c = float(data.get("c", 8.0))
        self._built: tuple[str, QuestionTopics] | None = None
        self._lock = threading.Lock()

    def model(self) -> QuestionTopics:
        snap = self.retriever.snapshot()
        built = self._built
        if built is None or built[0] != snap.pointer.collection:
            with self._lock:
                built = self._built
                if built is None or built[0] != snap.pointer.collection:
                    examples = chunk_examples(snap.chunks) + self.training
                    stored = self.retriever.store.chunk_vectors(snap.pointer.collection)
                    vectors = {
                        f"{c.title}\n{c.text}": stored[c.chunk_id]
                        for c in snap.chunks
                        if c.chunk_id in stored
                    }
                    model = QuestionTopics(
                        examples, self.embed, self.c, self.cache_dir, vectors=vectors
                    )
                    model._model()  # train (or load) now, under the lock
                    self._built = built = (snap.pointer.collection, model)
        return built[1]

    def __call__(self, question: str) -> NamedPattern:
        return decide(self.model().predict(question), self.floors, self.not_patterns)
