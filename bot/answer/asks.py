"""What a question asks, so the answer can lead with the answer to it.

`Asks.load().classify(text, lang)` returns one of `is_it_scam` (a yes/no question: is it a
scam, is it 靠谱, should I), `what_now`, `legal`, `report`, `how_it_works` or `other`, from
the patterns in `asks.yaml` (first kind in `order` that matches; any other yes/no question,
by its form, counts as `is_it_scam`). The composer uses it to
pick the first line and the order of sections when no learned `ask_model.AskModel` is given
(the app gives one; these patterns are its fallback, e.g. in unit tests). It does not judge safety or urgency (that is
`bot.safety.triage`) and never changes which passages are retrieved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import yaml

ASKS_PATH = Path(__file__).resolve().parent / "asks.yaml"
KINDS = ("is_it_scam", "what_now", "legal", "report", "how_it_works", "other")


class AskClassifier(Protocol):
    """Anything that says what a question asks: `Asks` (patterns) or `ask_model.AskModel`."""

    def classify(self, text: str, lang: str) -> str: ...


@dataclass(frozen=True)
class Asks:
    order: tuple[str, ...]
    patterns: dict[str, dict[str, tuple[re.Pattern[str], ...]]]  # kind -> lang -> regexes
    yes_no: dict[str, tuple[re.Pattern[str], ...]]  # any other yes/no question, by language

    @classmethod
    def load(cls, path: Path | str = ASKS_PATH) -> Asks:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        patterns: dict[str, dict[str, tuple[re.Pattern[str], ...]]] = {}
        for kind, by_lang in (data.get("kinds") or {}).items():
            if kind not in KINDS:
                raise ValueError(f"{path}: unknown ask kind {kind!r}; known: {KINDS}")
            patterns[kind] = {
                lang: tuple(re.compile(p, re.IGNORECASE) for p in regexes or [])
                for lang, regexes in (by_lang or {}).items()
            }
        order = tuple(data.get("order") or patterns)
        yes_no = {
            lang: tuple(re.compile(p, re.IGNORECASE) for p in regexes or [])
            for lang, regexes in (data.get("yes_no_fallback") or {}).items()
        }
        return cls(order, patterns, yes_no)

    def all(self, text: str, lang: str) -> list[str]:
        """Every kind whose patterns match, in `order` (patterns of both languages count: a
        question in one language often quotes the other)."""
        out = []
        for kind in self.order:
            by_lang = self.patterns.get(kind, {})
            regexes = by_lang.get(lang, ()) + tuple(
                r for other, rs in by_lang.items() if other != lang for r in rs
            )
            if any(r.search(text) for r in regexes):
                out.append(kind)
        return out

    def classify(self, text: str, lang: str) -> str:
        """The kind of the question's last clause when that clause says what it asks (the
        story comes first, the question last: "…都能拿回来，只抽30%服务费，靠谱吗" asks
        whether it is 靠谱, not how to get money back); else of the whole text."""
        found = self.all(_last_clause(text), lang) or self.all(text, lang)
        if found:
            return found[0]
        if self.is_yes_no(text, lang):
            return "is_it_scam"  # another yes/no question: "should I", "可靠吗"
        return "other"

    def is_yes_no(self, text: str, lang: str) -> bool:
        """The question has the form of a yes/no question (`yes_no_fallback`; both languages'
        forms when `lang` is not one of them)."""
        regexes = self.yes_no.get(lang) or tuple(r for rs in self.yes_no.values() for r in rs)
        return any(r.search(text.strip()) for r in regexes)


_CLAUSE_END = re.compile(r"[。！？!?，,；;\n]+")


def _last_clause(text: str) -> str:
    """The last clause with words in it (split at sentence ends and commas)."""
    parts = [p for p in _CLAUSE_END.split(text) if p.strip(" \t\"'“”‘’…~～")]
    return parts[-1] if parts else text


@lru_cache(maxsize=1)
def default_asks() -> Asks:
    return Asks.load()
