"""Red-flag detectors for pasted messages, in Chinese and English, driven by `redflags.yaml`.

Each rule is a list of regular expressions plus its weight, label, topic hints and an
evidence query. `RedFlagRules.detect(text)` returns one `FlagHit` per rule that fires, with
the exact substring of the message that matched (the "quote") and its span. Rules with a
negative weight are "legit" counter-signals (an OTP text that says never share the code, a
pick-up code with no link, ...).

This module only finds and quotes signals. It does not score, choose a verdict, search the
knowledge base or write any text: `bot/check/checker.py` does that. Nothing is read at import time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_RULES_PATH = Path(__file__).resolve().parent / "redflags.yaml"

_TERM = re.compile(r"\{([a-z_]+)\}")
# Sentence ends used to find the sentence a match sits in (for `exclude`).
_SENTENCE_END = re.compile(r"[。！？!?\n；;]|\.(?=\s|$)")


def _expand(pattern: str, terms: Mapping[str, str]) -> str:
    """Replace `{name}` with the named fragment; leave regex counts like `{0,22}` alone."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in terms:
            raise KeyError(f"unknown term {{{name}}} in pattern {pattern!r}")
        return terms[name]

    return _TERM.sub(sub, pattern)


def _compile(
    patterns: list[str] | None, terms: Mapping[str, str], where: str
) -> tuple[re.Pattern[str], ...]:
    out = []
    for p in patterns or []:
        try:
            out.append(re.compile(_expand(str(p), terms), re.IGNORECASE))
        except re.error as exc:  # surface the rule, not just the regex engine's message
            raise ValueError(f"bad regex in {where}: {p!r}: {exc}") from exc
    return tuple(out)


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence of `text` that contains the span [start, end), with the mark that ends it
    (so an `exclude` can tell a question from a statement)."""
    left = 0
    for m in _SENTENCE_END.finditer(text, 0, start):
        left = m.end()
    m = _SENTENCE_END.search(text, end)
    right = m.end() if m else len(text)
    return text[left:right]


@dataclass(frozen=True)
class FlagHit:
    """One fired rule: `quote == text[start:end]` of the checked message."""

    flag: str
    labels: Mapping[str, str]
    quote: str
    weight: float
    topics: Mapping[str, float]
    start: int
    end: int

    @property
    def legit(self) -> bool:
        """True for counter-signals (negative weight)."""
        return self.weight < 0

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("en") or self.flag

    def as_dict(self, lang: str) -> dict[str, Any]:
        return {
            "flag": self.flag,
            "label": self.label(lang),
            "quote": self.quote,
            "weight": self.weight,
        }


@dataclass(frozen=True)
class FlagRule:
    id: str
    labels: Mapping[str, str]
    weight: float
    topics: Mapping[str, float]
    queries: Mapping[str, str]
    patterns: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...] = ()
    requires: tuple[re.Pattern[str], ...] = ()

    def query(self, lang: str) -> str:
        return self.queries.get(lang) or self.queries.get("en") or self.labels.get(lang, self.id)

    def find(self, text: str) -> FlagHit | None:
        """The first non-excluded match, trying patterns in order; None if the rule is silent."""
        if self.requires and not any(r.search(text) for r in self.requires):
            return None
        for pattern in self.patterns:
            for m in pattern.finditer(text):
                start, end = m.span()
                # trim whitespace so the quote reads cleanly and is still an exact substring
                while start < end and text[start].isspace():
                    start += 1
                while end > start and text[end - 1].isspace():
                    end -= 1
                if start == end:
                    continue
                if self.exclude:
                    sentence = sentence_around(text, start, end)
                    if any(x.search(sentence) for x in self.exclude):
                        continue
                return FlagHit(
                    flag=self.id,
                    labels=self.labels,
                    quote=text[start:end],
                    weight=self.weight,
                    topics=self.topics,
                    start=start,
                    end=end,
                )
        return None


@dataclass(frozen=True)
class RedFlagRules:
    """All rules of one data file, in file order."""

    rules: tuple[FlagRule, ...]
    version: int = 1
    _by_id: Mapping[str, FlagRule] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RedFlagRules:
        terms = {str(k): str(v) for k, v in (data.get("terms") or {}).items()}
        rules = []
        for flag_id, spec in (data.get("flags") or {}).items():
            where = f"flag {flag_id!r}"
            labels = {str(k): str(v) for k, v in (spec.get("label") or {}).items()}
            if not labels.get("zh") or not labels.get("en"):
                raise ValueError(f"{where} needs label.zh and label.en")
            patterns = _compile(spec.get("patterns"), terms, where)
            if not patterns:
                raise ValueError(f"{where} has no patterns")
            rules.append(
                FlagRule(
                    id=str(flag_id),
                    labels=labels,
                    weight=float(spec.get("weight", 0.0)),
                    topics={str(k): float(v) for k, v in (spec.get("topics") or {}).items()},
                    queries={str(k): str(v) for k, v in (spec.get("query") or {}).items()},
                    patterns=patterns,
                    exclude=_compile(spec.get("exclude"), terms, where),
                    requires=_compile(spec.get("requires"), terms, where),
                )
            )
        rules_t = tuple(rules)
        return cls(
            rules=rules_t, version=int(data.get("version", 1)), _by_id={r.id: r for r in rules_t}
        )

    @classmethod
    def load(cls, path: Path | str = DEFAULT_RULES_PATH) -> RedFlagRules:
        """Read and compile a rules file (raises ValueError on a bad rule)."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return cls.from_dict(data)

    def get(self, flag_id: str) -> FlagRule:
        return self._by_id[flag_id]

    def __contains__(self, flag_id: object) -> bool:
        return flag_id in self._by_id

    def warnings(self, text: str) -> list[FlagHit]:
        """The hits of `detect` that point to a scam (not the signs of a genuine message)."""
        return [h for h in self.detect(text) if not h.legit]

    def detect(self, text: str) -> list[FlagHit]:
        """Every rule that fires on `text` (patterns of both languages are always tried, since
        Chinese messages often carry English words and links), ordered by position."""
        hits = [h for h in (rule.find(text) for rule in self.rules) if h is not None]
        return sorted(hits, key=lambda h: (h.start, -abs(h.weight)))
