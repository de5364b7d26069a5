"""Fitted scikit-learn text models, frozen into NumPy/SciPy arrays for prediction.

`freeze(fitted)` turns a fitted `TfidfVectorizer(analyzer="char_wb")` into `CharGrams` and a
fitted `LogisticRegression` into `Linear`; both answer the few calls our models make
(`transform`; `classes_`, `decision_function`, `predict_proba`) with the same numbers. The
cached pickles then hold only these classes and arrays, so a process that loads a model never
imports scikit-learn (about a second of a cold `antiscam ask`). Training still uses
scikit-learn; this module does not train, and knows nothing of what is being classified.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix


class CharGrams:
    """TfidfVectorizer(analyzer="char_wb", norm="l2") at prediction time."""

    def __init__(
        self,
        vocabulary: dict[str, int],
        idf: np.ndarray,
        ngram_range: tuple[int, int],
        sublinear_tf: bool,
        lowercase: bool,
    ) -> None:
        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float64)
        self.ngram_range = ngram_range
        self.sublinear_tf = sublinear_tf
        self.lowercase = lowercase

    @classmethod
    def from_sklearn(cls, vectorizer: Any) -> CharGrams:
        settings = (vectorizer.analyzer, vectorizer.norm, vectorizer.use_idf, vectorizer.binary)
        if settings != ("char_wb", "l2", True, False) or vectorizer.strip_accents is not None:
            raise ValueError(f"only plain char_wb tf-idf vectorizers can be frozen: {settings}")
        vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
        return cls(
            vocabulary,
            vectorizer.idf_,
            tuple(vectorizer.ngram_range),
            bool(vectorizer.sublinear_tf),
            bool(vectorizer.lowercase),
        )

    def _grams(self, text: str) -> list[str]:
        """scikit-learn's char_wb n-grams: each word padded with a space on both sides."""
        low, high = self.ngram_range
        out: list[str] = []
        for word in (text.lower() if self.lowercase else text).split():
            word = f" {word} "
            for n in range(low, high + 1):
                out.extend(word[i : i + n] for i in range(max(1, len(word) - n + 1)))
                if len(word) <= n:  # a short word is counted once
                    break
        return out

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        indptr, indices, data = [0], [], []
        for text in texts:
            counts: dict[int, int] = {}
            for gram in self._grams(text):
                column = self.vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            columns = sorted(counts)
            values = np.array([counts[c] for c in columns], dtype=np.float64)
            if self.sublinear_tf:
                values = np.log(values) + 1.0
            values *= self.idf[columns]
            norm = np.sqrt(np.sum(values * values))
            if norm > 0:
                values /= norm
            indices.extend(columns)
            data.extend(values.tolist())
            indptr.append(len(indices))
        return csr_matrix(
            (np.array(data, dtype=np.float64), np.array(indices, dtype=np.int64), indptr),
            shape=(len(texts), len(self.idf)),
        )


class Linear:
    """A fitted LogisticRegression's prediction: binary by the sigmoid, else the softmax."""

    def __init__(self, classes: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> None:
        self.classes_ = classes
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)

    @classmethod
    def from_sklearn(cls, classifier: Any) -> Linear:
        if getattr(classifier, "multi_class", "auto") not in ("auto", "multinomial", "deprecated"):
            raise ValueError("only multinomial (or binary) logistic regressions can be frozen")
        return cls(np.asarray(classifier.classes_), classifier.coef_, classifier.intercept_)

    def decision_function(self, features: Any) -> np.ndarray:
        scores = np.asarray(features @ self.coef.T) + self.intercept
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, features: Any) -> np.ndarray:
        scores = self.decision_function(features)
        if scores.ndim == 1:
            positive = 1.0 / (1.0 + np.exp(-scores))
            return np.column_stack([1.0 - positive, positive])
        scores = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)


def freeze(fitted: Any) -> CharGrams | Linear:
    """The frozen copy of a fitted char_wb TfidfVectorizer or LogisticRegression."""
    kind = type(fitted).__name__
    if kind == "TfidfVectorizer":
        return CharGrams.from_sklearn(fitted)
    if kind == "LogisticRegression":
        return Linear.from_sklearn(fitted)
    raise TypeError(f"cannot freeze a {kind}")
