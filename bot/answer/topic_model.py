"""Which scam pattern a question is about, or none: the pattern an answer names.

`QuestionTopics(examples, embed)` is one multi-class logistic regression over character
1-3-grams of the text and its e5 vector (the app's embedder, injected), trained on labelled
texts: the knowledge base's own chunks (each labelled with its article's first topic) and
written training questions (`bot/answer/training/*.jsonl`: per-topic questions from separate
authors, plus out-of-domain questions labelled `none`) and the written victims' messages of
the urgency model (`bot/safety/training/*.jsonl`, each with its topic). `predict(text)` returns the best
topic, its probability and P(none); `NamedPattern` turns that into a decision with two
floors from `topic_model.yaml`: below `pattern_floor` the answer names no pattern, and at or
above `none_floor` P(none) marks the question as outside what the knowledge base covers.

Evaluation sets are never trained on: eval/topic_report.py measures the model leaving each
training batch out and on the eval question sets. With `cache_dir` the fitted model is kept
on disk (a pickle of our own making, keyed by the training texts, the settings, scikit-learn's
version and a probe vector of the embedder). It does not retrieve or compose anything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bot.text_model import Embed, Labelled, TextClassifier, read_labelled

HERE = Path(__file__).resolve().parent
TRAINING_DIR = HERE / "training"
# Victims' messages written for the urgency model (bot/safety/training), each with its topic:
# they teach the model how people describe what is happening to them, not only how they ask.
VICTIM_DIR = HERE.parent / "safety" / "training"
SETTINGS_PATH = HERE / "topic_model.yaml"
NONE = "none"


@dataclass(frozen=True)
class Prediction:
    topic: str | None  # best scam topic (never "none"), None without a model
    probability: float  # of that topic
    none: float  # P(out of domain)


def load_training(directories: Sequence[Path] = (TRAINING_DIR, VICTIM_DIR)) -> list[Labelled]:
    """The written training rows: every *.jsonl under `directories` ({text, topic, lang}); the
    batch is the file name's last `_` part (qa, qb, ua, ub, ...)."""
    return [row for directory in directories for row in read_labelled(directory, "topic")]


def chunk_examples(chunks: Iterable[Any]) -> list[Labelled]:
    """Knowledge-base chunks as training rows, labelled with their article's first topic."""
    return [Labelled(f"{c.title}\n{c.text}", c.topics[0], "kb", c.lang) for c in chunks if c.topics]


class QuestionTopics(TextClassifier):
    """The question -> topic classifier: a `TextClassifier` whose labels are topic ids and
    `none`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("name", "question_topics")
        super().__init__(*args, **kwargs)

    def predict(self, text: str) -> Prediction:
        classes, probs = self.probabilities([text])
        row = probs[0]
        p_none = float(row[classes.index(NONE)]) if NONE in classes else 0.0
        order = [i for i in np.argsort(-row) if classes[i] != NONE]
        best = order[0] if order else None
        if best is None:
            return Prediction(None, 0.0, p_none)
        return Prediction(classes[best], float(row[best]), p_none)


@dataclass(frozen=True)
class NamedPattern:
    """The decision the chain acts on: name `topic`, name none, or say it is out of scope."""

    topic: str | None
    probability: float
    none: float
    out_of_scope: bool
    fetch: bool = False  # sure enough (`fetch_floor`) to fetch the topic's passages if missed


def load_settings(path: Path = SETTINGS_PATH) -> tuple[dict[str, float], float]:
    """(floors, regularisation C) from topic_model.yaml."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {k: float(v) for k, v in (data.get("floors") or {}).items()}, float(data.get("c", 8.0))


def decide(
    pred: Prediction, floors: dict[str, float], not_patterns: Iterable[str] = ()
) -> NamedPattern:
    """Apply the floors: a topic below `pattern_floor`, or one that is not a scam pattern
    (e.g. where to get help), is not named; P(none) at or above `none_floor` with no topic
    above `keep_floor` is out of scope, and so is a question whose best topic is below
    `pattern_floor` when P(none) reaches `unnamed_none_floor`, or one where P(none) is at least
    `none_over_topic` times the best topic's probability. A named topic at or above
    `fetch_floor` is one the answer may fetch passages for when the search missed it."""
    out = pred.none >= floors.get("none_floor", 1.01) and pred.probability < floors.get(
        "keep_floor", 1.01
    )
    # no topic is likely enough to name and "none" is the likeliest label of all
    unnamed = pred.probability < floors.get("pattern_floor", 0.0)
    out = out or (unnamed and pred.none >= floors.get("unnamed_none_floor", 1.01))
    # "none" is likelier than the best topic, by this factor (session 8)
    ratio = floors.get("none_over_topic")
    out = out or (ratio is not None and pred.none >= ratio * pred.probability)
    named = pred.topic
    if out or named in set(not_patterns) or pred.probability < floors.get("pattern_floor", 0.0):
        named = None
    fetch = named is not None and pred.probability >= floors.get("fetch_floor", 1.01)
    return NamedPattern(named, pred.probability, pred.none, out, fetch)


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
        self.floors, self.c = load_settings(settings_path)
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
