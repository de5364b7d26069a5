"""Is money, a code or control of a phone moving right now? A learned second opinion for triage.

`UrgencyModel(examples, embed)` is a `bot.text_model.TextClassifier` with two labels,
`urgent` and `calm`, trained on written victims' messages (bot/safety/training/*.jsonl, one
file per author batch, every topic in both languages) and the urgent and question examples
and off-topic examples of triage_examples.yaml (the last two as calm). `probability(text)` is
P(urgent). Triage (bot/safety/triage.py) asks it only about in-domain messages (its
`domain` modifier: the model knows only scam talk) and labels a message urgent when its
rules say so or when this probability reaches `urgency.threshold` in triage_rules.yaml: the rules were written from a few kinds and missed
victims of the others, who describe what is happening in their own words.

Evaluation sets (eval/datasets/urgent*.jsonl, victim*.jsonl) are never trained on;
eval/urgency_report.py measures the model leaving each training batch out. It does not
decide harm or answer anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from bot.text_model import Embed, Labelled, TextClassifier, read_labelled

HERE = Path(__file__).resolve().parent
TRAINING_DIR = HERE / "training"
URGENT, CALM = "urgent", "calm"


def load_urgency_examples(
    directory: Path = TRAINING_DIR, triage_examples: Path = HERE / "triage_examples.yaml"
) -> list[Labelled]:
    """Written urgent / calm rows (batch = file suffix), plus triage_examples' urgent (as
    urgent), question and off-topic (as calm) examples (batch `triage_examples`)."""
    out = read_labelled(directory, "label", (URGENT, CALM))
    data = yaml.safe_load(Path(triage_examples).read_text(encoding="utf-8")) or {}
    examples = data.get("examples") or {}
    for source, label in (("urgent", URGENT), ("question", CALM), ("offtopic", CALM)):
        for lang, texts in (examples.get(source) or {}).items():
            out += [Labelled(str(t), label, "triage_examples", lang) for t in texts or []]
    return out


class UrgencyModel(TextClassifier):
    """P(money or a code is moving now) for a user message."""

    def __init__(self, examples: Sequence[Labelled], embed: Embed | None, **kwargs) -> None:
        kwargs.setdefault("name", "urgency")
        super().__init__(examples, embed, **kwargs)

    def probability(self, text: str) -> float:
        classes, probs = self.probabilities([text])
        return float(probs[0][classes.index(URGENT)]) if URGENT in classes else 0.0
