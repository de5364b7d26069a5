"""Wording signal for the scam check: do the message's character n-grams read like scams?

`WordingModel.fit(examples)` trains a logistic regression over character 2-4-grams
(TF-IDF, within word boundaries, so it works on Chinese without a tokenizer) on the labelled
example bank (bot/check/check_examples.yaml). `model.score(text)` is the model's log-odds that
the text is a scam (shown in the check's `signals`); `model.topic_probabilities(text)` is its
topic head's guess at the scam pattern (bot/check/topics.py). Together with the topic heads
and the weights refit in session 5, it took the check's leave-one-batch-out recall / false-
positive rate on the five bank batches the red-flag rules were not written from from 67.7% /
9.9% to 90.0% / 6.1% (en) and from 80.0% / 7.5% to 91.4% / 3.8% (zh) (eval/README.md).

This module only scores wording. How much it counts is decided in bot/check/checker.py with the
weights in bot/check/check_weights.yaml. It trains in about four seconds on first use, from
the examples it is given (kept in `cache_dir` when one is given); it reads no other file.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.check.examples import Example
from bot.check.topics import TopicHead
from bot.frozen_model import freeze
from bot.model_cache import LazilyFitted, key_hash


class WordingModel(LazilyFitted):
    """Character n-gram logistic regression over labelled examples (trained lazily, once)."""

    def __init__(
        self, examples: Sequence[Example], c: float = 4.0, cache_dir: Path | None = None
    ) -> None:
        """`cache_dir` (optional) keeps the trained model on disk (a pickle of our own making,
        keyed by the examples, `c` and the scikit-learn version), so a new process loads it in
        a fraction of the ~4 s training takes."""
        self.examples = list(examples)
        self.c = c
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._fitted: tuple[Any, Any, TopicHead] | None = None
        self._lock = threading.Lock()

    @classmethod
    def fit(
        cls, examples: Sequence[Example], c: float = 4.0, cache_dir: Path | None = None
    ) -> WordingModel:
        model = cls(examples, c, cache_dir)
        model._model()
        return model

    def leave_out(self, batch: str) -> WordingModel:
        """A model trained without one batch's examples (see ExampleBank.leave_out)."""
        return WordingModel([e for e in self.examples if e.batch != batch], self.c)

    def _cache_path(self) -> Path | None:
        if self.cache_dir is None:
            return None
        h = key_hash(self.c)
        for e in self.examples:
            h.update(f"\0{e.label}\0{','.join(e.topics)}\0{e.text}".encode())
        return self.cache_dir / f"check_wording-{h.hexdigest()[:16]}.pkl"

    def _train(self) -> tuple[Any, Any, TopicHead]:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        labels = {e.label for e in self.examples}
        if labels != {"scam", "legit"}:
            raise ValueError(f"the wording model needs scam and legit examples, got {labels}")
        vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=2
        )
        matrix = vectorizer.fit_transform([e.text for e in self.examples])
        target = np.array([e.label == "scam" for e in self.examples], dtype=int)
        classifier = LogisticRegression(C=self.c, max_iter=2000).fit(matrix, target)
        return freeze(vectorizer), freeze(classifier), TopicHead.fit(matrix, self.examples)

    def score(self, text: str) -> float:
        """Log-odds that `text` is a scam, by its wording alone (0: undecided)."""
        vectorizer, classifier, _ = self._model()
        return float(classifier.decision_function(vectorizer.transform([text]))[0])

    def topic_probabilities(self, text: str) -> dict[str, float]:
        """{topic: probability} from the n-gram topic head (bot/check/topics.py)."""
        vectorizer, _, head = self._model()
        return head.probabilities(vectorizer.transform([text]))
