"""The labelled rows the intent model learns from, each tagged with the source it came from.

A row is an `IntentExample`: the text (earlier user turns first, when the row has a history),
whether the asker would do harm to others (`harmful`: a perpetrator) or not (a victim, a
worried relative, a learner, an ordinary question), its language and its `source` (one public
benchmark, or one batch written for this project). Sources matter because the model is
measured leave-one-source-out (eval/triage_report.py): trained without a source, measured
on it.

Which files are read, and how their rows map to harmful / not harmful, is listed in
bot/safety/intent_sources.yaml. Files that are missing are skipped (a checkout without
eval/ trains on bot/safety/triage_examples.yaml alone). This module reads files only when
asked; it trains nothing and decides nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.lang import detect_lang

ROOT = Path(__file__).resolve().parents[2]
SOURCES_FILE = Path(__file__).resolve().parent / "intent_sources.yaml"


@dataclass(frozen=True)
class IntentExample:
    text: str
    harmful: bool
    source: str
    lang: str
    message: str = ""  # the last message alone (`text` adds the earlier user turns)
    history: tuple[dict[str, Any], ...] = ()
    weight: float = 1.0  # the source's `weight` in intent_sources.yaml (default 1)


def conversation_text(text: str, history: Iterable[dict[str, Any]] | None = None) -> str:
    """The user's earlier turns (at most three) and this message, one per line."""
    turns = [str(h.get("content", "")) for h in history or () if h.get("role", "user") == "user"]
    return "\n".join([*turns[-3:], text]) if turns else text


def source_of(row: dict[str, Any], default: str) -> str:
    """Short public source name (JailbreakBench, AdvBench, JADE, ...) or `default`."""
    raw = str(row.get("source") or "")
    for prefix, name in (
        ("JailbreakBench", "JailbreakBench"),
        ("llm-attacks", "AdvBench"),
        ("whitzard", "JADE"),
        ("AIFlames", "Flames"),
        ("DAMO-NLP-SG", "MultiJail"),
        ("STAIR-BUPT", "JailBench"),
        ("bertiev/SimpleSafetyTests", "SimpleSafetyTests"),
        ("paul-rottger", "XSTest"),
    ):
        if raw.startswith(prefix):
            return name
    return default


def _jsonl(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _harmful(row: dict[str, Any], rule: Any) -> bool | None:
    """`rule` is true/false, or {field: {value: true|false|null}} (null: row left out; the
    value `"*"` stands for every value not named)."""
    if isinstance(rule, bool):
        return rule
    ((field, mapping),) = rule.items()
    return mapping.get(row.get(field), mapping.get("*"))


def load_intent_examples(
    spec_path: Path = SOURCES_FILE, root: Path = ROOT, skip: Sequence[str] = ()
) -> list[IntentExample]:
    """Every labelled row named in `spec_path` (files relative to `root`), minus `skip` sources."""
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    out: list[IntentExample] = []
    for entry in spec["files"]:
        path = root / entry["path"]
        if not path.exists():
            continue
        if path.suffix == ".yaml":
            rows = _yaml_rows(path)
        else:
            rows = _jsonl(path)
        for row in rows:
            harmful = _harmful(row, entry["harmful"])
            source = source_of(row, entry["source"])
            if harmful is None or source in skip or source in entry.get("drop_sources", ()):
                continue
            text = str(row.get(entry.get("text_field", "text")) or row.get("text") or "")
            history = tuple(row.get("history") or ())
            lang = row.get("lang") or detect_lang(text)
            joined = conversation_text(text, history)
            weight = float(entry.get("weight", 1.0))
            out.append(IntentExample(joined, bool(harmful), source, lang, text, history, weight))
    return out


def _yaml_rows(path: Path) -> list[dict[str, Any]]:
    """triage_examples.yaml as rows: {text, label, lang}."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        {"text": text, "label": label, "lang": lang}
        for label, by_lang in data["examples"].items()
        for lang, texts in by_lang.items()
        for text in texts
    ]
