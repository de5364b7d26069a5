"""Nearest labelled examples for the scam check: does a message read like known scams?

`ExampleBank.load(embed=...)` reads bot/check/check_examples.yaml (messages written for this
project by several authors, each labelled scam or legit, scam ones with taxonomy topics, each
with the `batch` of its author). `bank.compare(text)` embeds the message with the injected
`embed` and returns a `Resemblance`: the margin between its mean cosine similarity to the `n`
closest scam examples and to the `n` closest legit ones (positive: reads more like the
scams), topic votes from the `topic_k` closest scam examples (similarity-weighted shares),
the probabilities of a topic head trained on the example vectors (bot/check/topics.py), and
the label of the single nearest example (shown in the check's `signals`, so a verdict can
be traced). `bank.leave_out(batch)` is the bank without one author's examples, for measuring
how the check meets writers it has never seen (eval/check_report.py).

This module only measures resemblance. How much it counts, and how it mixes with red flags
and aliases, is decided in bot/check/checker.py with the weights in bot/check/check_weights.yaml.
It loads no model itself and embeds the examples once, on first use (kept in `cache_dir`
when one is given, so the next process loads them in milliseconds).
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from bot.check.topics import TopicHead
from bot.model_cache import load_or_embed

DEFAULT_EXAMPLES_PATH = Path(__file__).resolve().parent / "check_examples.yaml"
LABELS = ("scam", "legit")
Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Example:
    label: str  # scam | legit
    lang: str
    text: str
    topics: tuple[str, ...] = ()
    batch: str = ""  # who wrote it: examples of one batch share an author (and a style)


@dataclass(frozen=True)
class Resemblance:
    margin: float  # mean similarity of the n closest scam examples minus the n closest legit
    topic_votes: dict[str, float] = field(default_factory=dict)  # topic -> share, 0..1
    nearest_label: str = ""
    nearest_similarity: float = 0.0
    topic_probabilities: dict[str, float] = field(default_factory=dict)  # bot/check/topics.py


def load_examples(path: Path | str = DEFAULT_EXAMPLES_PATH) -> list[Example]:
    """Examples from YAML (`examples: [{batch, label, lang, topics, text}, ...]`).

    Raises ValueError naming the file, the example's position and the bad field.
    """
    path = Path(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rows = data.get("examples")
    if not isinstance(rows, list):
        raise ValueError(f"{path}: `examples` must be a list of {{label, lang, topics, text}}")
    out: list[Example] = []
    for n, row in enumerate(rows, 1):
        where = f"{path}: example {n}"
        if not isinstance(row, dict):
            raise ValueError(f"{where}: must be a mapping with label, lang, topics, text")
        text, label, topics = row.get("text"), row.get("label"), row.get("topics") or []
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{where}: field `text` must be a non-empty string (quote it)")
        if label not in LABELS:
            raise ValueError(f"{where}: field `label` must be one of {LABELS}, got {label!r}")
        if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
            raise ValueError(f"{where}: field `topics` must be a list of topic ids")
        batch = row.get("batch", "")
        if not isinstance(batch, str):
            raise ValueError(f"{where}: field `batch` must be a string (quote it)")
        lang = str(row.get("lang", ""))
        out.append(Example(label, lang, text.strip(), tuple(topics), batch))
    return out


class ExampleBank:
    """Labelled example messages and their vectors (embedded lazily, once)."""

    def __init__(
        self,
        examples: Sequence[Example],
        embed: Embed,
        cache_dir: Path | None = None,
        embedder_id: str = "",
    ) -> None:
        """`cache_dir` (optional) keeps the example vectors on disk, keyed by the examples'
        texts and `embedder_id`, so a new process does not embed them again."""
        self.examples = list(examples)
        self.embed = embed
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.embedder_id = embedder_id
        self._matrix: np.ndarray | None = None
        self._topic_head: TopicHead | None = None
        self._lock = threading.Lock()
        self._by_label = {
            label: np.array([i for i, e in enumerate(self.examples) if e.label == label], dtype=int)
            for label in LABELS
        }

    @classmethod
    def load(
        cls,
        embed: Embed,
        path: Path | str = DEFAULT_EXAMPLES_PATH,
        cache_dir: Path | None = None,
        embedder_id: str = "",
    ) -> ExampleBank:
        return cls(load_examples(path), embed, cache_dir, embedder_id)

    def _cache_path(self) -> Path | None:
        if self.cache_dir is None or not self.embedder_id:
            return None
        h = hashlib.sha256(self.embedder_id.encode())
        for e in self.examples:
            h.update(b"\0" + e.text.encode())
        return self.cache_dir / f"check_examples-{h.hexdigest()[:16]}.npy"

    def _embed_all(self) -> np.ndarray:
        return load_or_embed(
            self._cache_path(),
            len(self.examples),
            lambda: self.embed([e.text for e in self.examples]),
        )

    def _vectors(self) -> np.ndarray:
        if self._matrix is None:
            with self._lock:
                if self._matrix is None:
                    self._matrix = self._embed_all()
        return self._matrix

    def _head(self) -> TopicHead:
        if self._topic_head is None:
            vectors = self._vectors()  # outside the lock: _vectors takes it too
            with self._lock:
                if self._topic_head is None:
                    self._topic_head = TopicHead.fit(vectors, self.examples)
        return self._topic_head

    def leave_out(self, batch: str) -> ExampleBank:
        """The same bank without the examples of one batch (vectors shared, not re-embedded):
        how the check does on an author whose messages it has never seen."""
        keep = [i for i, e in enumerate(self.examples) if e.batch != batch]
        bank = ExampleBank([self.examples[i] for i in keep], self.embed)
        bank._matrix = self._vectors()[keep]
        return bank

    def compare(self, text: str, n: int = 3, topic_k: int = 5) -> Resemblance:
        """Resemblance of `text` to the scam and the legit examples (see module docstring)."""
        if not self.examples:
            return Resemblance(0.0)
        query = np.asarray(self.embed([text]), dtype=np.float32).reshape(-1)
        sims = self._vectors() @ query
        head = self._head()
        best: dict[str, np.ndarray] = {}
        for label, idx in self._by_label.items():
            best[label] = idx[np.argsort(-sims[idx])] if idx.size else idx

        def mean_top(label: str) -> float:
            top = best[label][: max(1, n)]
            return float(sims[top].mean()) if top.size else 0.0

        topic_w: dict[str, float] = defaultdict(float)
        for i in best["scam"][:topic_k]:
            for rank, t in enumerate(self.examples[int(i)].topics):  # first topic counts fully
                topic_w[t] += max(float(sims[i]), 0.0) / (1 + rank)
        total = sum(topic_w.values()) or 1.0
        nearest = int(np.argmax(sims))
        return Resemblance(
            margin=mean_top("scam") - mean_top("legit"),
            topic_votes={t: w / total for t, w in topic_w.items()},
            nearest_label=self.examples[nearest].label,
            nearest_similarity=float(sims[nearest]),
            topic_probabilities=head.probabilities(query.reshape(1, -1)),
        )
