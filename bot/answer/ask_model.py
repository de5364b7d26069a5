"""What a question asks, learned from the written training questions' `ask` labels.

`AskModel(embed, cache_dir).classify(text, lang)` returns one of `bot.answer.asks.KINDS`
(is_it_scam, what_now, legal, report, how_it_works, other): a `TextClassifier` (character
n-grams + e5 vectors) trained on every `bot/answer/training/*.jsonl` row with an `ask`
(batches qa–qf and qh–qm, each from a separate author; qg has none; qd's and qe's
`where_report` is `report`). The
composer uses it to pick the first line and the order of sections, as it would the patterns
of `asks.yaml` (`Asks`, the fallback when no embedder is given, e.g. in unit tests).

Measured leaving each author batch out (session 9): 0.78-0.91 per batch and language, where
the patterns of `asks.yaml` reach 0.53-0.62. It never judges safety or urgency and never
changes which passages are retrieved.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.answer.asks import KINDS, default_asks
from bot.answer.topic_model import TRAINING_DIR
from bot.text_model import Embed, Labelled, TextClassifier, read_labelled

SAME_AS = {"where_report": "report"}  # one author's name for a kind


def load_asks(directory: Path = TRAINING_DIR) -> list[Labelled]:
    """Training rows labelled with what they ask (the `ask` field; its name goes in `topic`).
    A batch written without `ask` labels (qg) teaches only the topic model."""
    rows = read_labelled(directory, "ask", (*KINDS, *SAME_AS), optional=True)
    return [Labelled(r.text, SAME_AS.get(r.topic, r.topic), r.batch, r.lang) for r in rows]


class AskModel:
    """Question -> kind of ask, by a calibrated text classifier (trained lazily, cached)."""

    def __init__(
        self,
        embed: Embed,
        cache_dir: Path | None = None,
        examples: Sequence[Labelled] | None = None,
        c: float = 2.0,
    ) -> None:
        rows = list(examples) if examples is not None else load_asks()
        self.model = TextClassifier(rows, embed, c=c, cache_dir=cache_dir, name="question_asks")

    def classify(self, text: str, lang: str = "") -> str:
        """The most probable kind; `other` for a question with the form of a yes/no question
        becomes `is_it_scam`, as in `Asks` (session 17: on a new author's yes/no questions,
        unseen, "京东金融的客服会打电话说帮你调整征信吗" and "My match wants to move to
        WhatsApp. Should I be worried?" were `other`, and their first line decided nothing)."""
        classes, probabilities = self.model.probabilities([text])
        kind = classes[int(np.argmax(probabilities[0]))]
        if kind == "other" and default_asks().is_yes_no(text, lang):
            return "is_it_scam"
        return kind
