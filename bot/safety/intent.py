"""Intent model: would the asker do this to someone else (perpetrator), or is it done to them?

`IntentModel(examples, embed)` learns from labelled rows (bot/safety/intent_data.py): a
perpetrator asking for help to defraud, steal, rob, stalk, forge or find a person's address
or card number is `harmful`; a victim, a worried relative, a learner (teacher, journalist,
writer who does not ask for a working script) or an ordinary question is not. Features are
character 1-3-grams of the normalised text (TF-IDF, so Chinese needs no tokenizer) and the
e5 vector of the text (the app's embedder, injected as `embed`); one logistic regression over
both gives a calibrated probability. `probability(text, history)` scores the message alone
and, with earlier user turns, the conversation as one text (see `combine`).

What the shipped model trains on: every file in bot/safety/intent_sources.yaml: the in-house
examples (triage_examples.yaml, intent_examples.yaml), the written batches s2, s3 (harm of
48 kinds and its victim / learner twins), s4 (ordinary first-person requests), s5 to s14
(harm inside and outside fraud in many styles, each with its twins), victim_questions,
questions and urgent, victims' messages and training questions (ua-ue, qa-qe; weight 0.1),
and the public development halves (JailbreakBench, AdvBench, JADE, MultiJail, JailBench,
SimpleSafetyTests, XSTest). Not trained on, so they
measure it: urgent_u2, victim_u2, questions_q2, offtopic_q2, injection, Flames and the public
held-out halves. Numbers on a trained-on source are in-sample; the held-out numbers for each
source come from eval/triage_report.py (leave-one-source-out).

This module only scores intent. The threshold, and how the rules are combined with it, live
in bot/safety/triage.py and triage_rules.yaml (`intent:`). Training takes a few seconds plus
embedding the examples once; with `cache_dir` the fitted model is kept on disk (a pickle of
our own making, keyed by the examples, the settings, scikit-learn's version and a probe
vector of the embedder), as bot/check/wording.py does. No file is read at import.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.frozen_model import freeze
from bot.lang import normalize
from bot.model_cache import LazilyFitted, key_hash
from bot.safety.intent_data import IntentExample, conversation_text

Embed = Callable[[list[str]], np.ndarray]
_PROBE = "怎么知道这是不是诈骗？ how do I know if this is a scam?"


def _norm(text: str) -> str:
    return normalize(text)


class IntentModel(LazilyFitted):
    """Logistic regression over character n-grams and e5 vectors (trained lazily, once)."""

    def __init__(
        self,
        examples: Sequence[IntentExample],
        embed: Embed | None,
        c: float = 8.0,
        embed_scale: float = 1.0,
        cache_dir: Path | None = None,
    ) -> None:
        self.examples = list(examples)
        self.embed = embed
        self.c = c
        self.embed_scale = embed_scale
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._fitted: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    def leave_out(self, source: str) -> IntentModel:
        """The same model trained without one source's rows (never cached)."""
        rows = [e for e in self.examples if e.source != source]
        return IntentModel(rows, self.embed, self.c, self.embed_scale)

    # -- scoring ---------------------------------------------------------------------------

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """P(harmful) for many texts at once."""
        vectorizer, classifier = self._model()
        if not texts:
            return np.zeros(0)
        return classifier.predict_proba(self._features(vectorizer, list(texts)))[:, 1]

    def probability(self, text: str, history: Iterable[dict] | None = None) -> tuple[float, float]:
        """(P(harmful) of the message alone, P(harmful) of the conversation ending in it)."""
        joined = conversation_text(text, history)
        if joined == text:
            p = float(self.probabilities([text])[0])
            return p, p
        alone, whole = self.probabilities([text, joined])
        return float(alone), float(whole)

    # -- training --------------------------------------------------------------------------

    def _features(self, vectorizer: Any, texts: list[str]) -> Any:
        from scipy.sparse import csr_matrix, hstack

        grams = vectorizer.transform([_norm(t) for t in texts])
        if self.embed is None:
            return grams
        vectors = np.asarray(self.embed(texts), dtype=np.float32).reshape(len(texts), -1)
        return hstack([grams, csr_matrix(vectors * self.embed_scale)]).tocsr()

    def _cache_path(self) -> Path | None:
        if self.cache_dir is None:
            return None
        h = key_hash(self.c, self.embed_scale)
        if self.embed is not None:
            probe = np.asarray(self.embed([_PROBE]), dtype=np.float32).reshape(-1)
            h.update(np.round(probe, 3).tobytes())
        for e in self.examples:
            h.update(f"\0{int(e.harmful)}\0{e.source}\0{e.weight}\0{e.text}".encode())
        return self.cache_dir / f"triage_intent-{h.hexdigest()[:16]}.pkl"

    def _train(self) -> tuple[Any, Any]:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        labels = {e.harmful for e in self.examples}
        if labels != {True, False}:
            raise ValueError("the intent model needs harmful and not-harmful examples")
        texts = [e.text for e in self.examples]
        vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2
        )
        vectorizer.fit([_norm(t) for t in texts])
        target = np.array([e.harmful for e in self.examples], dtype=int)
        classifier = LogisticRegression(C=self.c, max_iter=3000)
        classifier.fit(
            self._features(vectorizer, texts),
            target,
            sample_weight=_balanced(
                target, np.array([e.weight for e in self.examples], dtype=np.float64)
            ),
        )
        return freeze(vectorizer), freeze(classifier)


def _balanced(target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Row weights times class weights that give both classes the same total weight: with
    every row's weight 1 this is scikit-learn's class_weight="balanced"."""
    out = weight.copy()
    for label in (0, 1):
        mask = target == label
        out[mask] *= weight.sum() / (2.0 * weight[mask].sum())
    return out
