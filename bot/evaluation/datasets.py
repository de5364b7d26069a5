"""The labelled evaluation sets: which files exist, what each row means, and `Case` records.

Every dataset under `eval/datasets/` is registered in `DATASETS` with the kind of case it
holds (an in-scope question, an urgent message, a harmful request, a message to check ...)
and the task it is sent with ("chat" or "check"). `load_cases` turns rows into `Case`
records with the expected values the metric modules need. This module reads files only
when asked and does not run the bot or compute any metric.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import ROOT

DATASETS_DIR = ROOT / "eval" / "datasets"


@dataclass(frozen=True)
class DatasetSpec:
    kind: str  # question | victim | urgent | injection | offtopic | pii | harmful | adversarial | message
    task: str  # chat | check
    text_field: str = "text"
    about: str = ""
    # rows of mixed kinds: (field, {value: kind}) picks each row's kind from one of its fields
    kind_by: tuple[str, dict[Any, str]] | None = None


DATASETS: dict[str, DatasetSpec] = {
    "questions": DatasetSpec(
        "question", "chat", "question", "consumer questions with expected topics"
    ),
    "victim_questions": DatasetSpec(
        "victim", "chat", "text", "victims' questions: must not be refused"
    ),
    "urgent": DatasetSpec(
        "urgent", "chat", "text", "money or codes moving now: must be flagged urgent"
    ),
    "urgent_u2": DatasetSpec(
        "urgent", "chat", "text", "victims' messages on every topic by a separate author (u2)"
    ),
    "victim_u2": DatasetSpec(
        "victim", "chat", "text", "the u2 author's victims whose money is not moving now"
    ),
    "injection": DatasetSpec(
        "injection", "chat", "text", "prompt injection and jailbreak attempts"
    ),
    "offtopic": DatasetSpec("offtopic", "chat", "text", "out-of-domain requests"),
    "questions_q2": DatasetSpec(
        "question",
        "chat",
        "question",
        "questions by a separate author (batch q2): core credit kinds, the six new kinds, older kinds",
    ),
    "offtopic_q2": DatasetSpec(
        "offtopic", "chat", "text", "out-of-domain requests by the q2 author (some are crimes)"
    ),
    "pii": DatasetSpec("pii", "chat", "text", "messages with (or without) personal data"),
    "messages": DatasetSpec("message", "check", "text", "messages to check: scam or legit"),
    "eval-dev/harmful_requests": DatasetSpec(
        "harmful", "chat", "text", "public harmful requests (JBB, AdvBench, JADE, Flames)"
    ),
    "harmful_s2": DatasetSpec(
        "harmful", "chat", "text", "perpetrator requests by a separate author (s2), some multi-turn"
    ),
    "askers_s2": DatasetSpec(
        "victim", "chat", "text", "the s2 author's victims and learners: must not be refused"
    ),
    "eval-dev/harmful_requests_2": DatasetSpec(
        "harmful", "chat", "text", "public batch 2: MultiJail, JailBench, SimpleSafetyTests"
    ),
    "eval-dev/overrefusal_2": DatasetSpec(
        "overrefusal",
        "chat",
        "text",
        "XSTest: safe prompts that look risky (must not be refused) and their unsafe contrasts",
        kind_by=("refuse", {True: "harmful", False: "overrefusal"}),
    ),
    "eval-dev/scam_messages": DatasetSpec(
        "message", "check", "text", "public English SMS: smishing or legit"
    ),
    "eval-dev/questions": DatasetSpec(
        "adversarial", "chat", "question", "Flames questions: grade safe and helpful"
    ),
}
IN_SCOPE_KINDS = ("question", "victim")

_SOURCES = (
    ("JailbreakBench", "JailbreakBench"),
    ("llm-attacks", "AdvBench"),
    ("whitzard", "JADE"),
    ("AIFlames", "Flames"),
    ("UCI", "UCI-SMS"),
    ("Mishra", "Mishra-Soni"),
    ("DAMO-NLP-SG", "MultiJail"),
    ("STAIR-BUPT", "JailBench"),
    ("bertiev/SimpleSafetyTests", "SimpleSafetyTests"),
    ("paul-rottger", "XSTest"),
)


@dataclass
class Case:
    """One row to send to the bot, with everything the metrics expect of its answer."""

    id: str
    dataset: str
    kind: str
    task: str
    lang: str
    text: str
    history: list[dict] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    must_any: list[str] = field(default_factory=list)
    label: str | None = None
    source: str = "own"
    split: str | None = None
    pii: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def in_scope(self) -> bool:
        return self.kind in IN_SCOPE_KINDS

    def to_dict(self) -> dict[str, Any]:
        d = {
            "id": self.id,
            "dataset": self.dataset,
            "kind": self.kind,
            "task": self.task,
            "lang": self.lang,
            "input": self.text,
            "source": self.source,
        }
        optional = {
            "history": self.history,
            "topics": self.topics,
            "must_any": self.must_any,
            "label": self.label,
            "split": self.split,
            "pii": self.pii,
            "meta": self.meta,
        }
        d.update({k: v for k, v in optional.items() if v})
        return d


def source_name(raw: str | None) -> str:
    """A short name for a row's `source` attribution; "own" for rows this project wrote."""
    if not raw:
        return "own"
    for prefix, name in _SOURCES:
        if raw.startswith(prefix):
            return name
    return raw.split("/")[0].split(" ")[0] or "own"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: invalid JSON: {exc.msg}") from exc
    return rows


def row_to_case(row: dict[str, Any], name: str, spec: DatasetSpec, number: int) -> Case:
    topics = row.get("topics") or ([row["topic"]] if row.get("topic") else [])
    keys = ("attack", "goal", "category", "benign_question", "origin", "batch", "asks", "form")
    keys += ("ask", "yes_no", "group")
    meta = {k: row[k] for k in keys if row.get(k)}
    kind = spec.kind
    if spec.kind_by is not None:
        field_name, kinds = spec.kind_by
        kind = kinds.get(row.get(field_name), spec.kind)
    return Case(
        id=str(row.get("id") or f"{name}-{number}"),
        dataset=name,
        kind=kind,
        task=spec.task,
        lang=row.get("lang") or "zh",
        text=str(row.get(spec.text_field) or row.get("text") or row.get("question") or ""),
        history=list(row.get("history") or []),
        topics=list(topics),
        must_any=list(row.get("must_any") or []),
        label=row.get("label"),
        source=source_name(row.get("source")),
        split=row.get("split"),
        pii=[s["text"] for s in row.get("spans") or [] if s.get("text")],
        meta=meta,
    )


def resolve_names(names: list[str] | tuple[str, ...] | None) -> list[str]:
    """Dataset names from the command line (comma lists allowed; `eval-dev` = its three)."""
    if not names:
        return list(DATASETS)
    out: list[str] = []
    for raw in names:
        for name in (n.strip() for n in raw.split(",")):
            if not name:
                continue
            if name in DATASETS:
                picked = [name]
            elif f"eval-dev/{name}" in DATASETS:
                picked = [f"eval-dev/{name}"]
            elif name == "eval-dev":
                picked = [n for n in DATASETS if n.startswith("eval-dev/")]
            else:
                raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
            out += [p for p in picked if p not in out]
    return out


def load_cases(
    names: list[str] | tuple[str, ...] | None = None,
    limit: int | None = None,
    datasets_dir: Path = DATASETS_DIR,
) -> tuple[list[Case], dict[str, int]]:
    """Cases of the named datasets (all by default), the first `limit` rows of each.

    Returns the cases and, per dataset, how many were loaded (0 when the file is missing).
    """
    cases: list[Case] = []
    counts: dict[str, int] = {}
    for name in resolve_names(names):
        path = Path(datasets_dir) / f"{name}.jsonl"
        if not path.exists():
            counts[name] = 0
            continue
        rows = read_jsonl(path)[: limit if limit else None]
        spec = DATASETS[name]
        loaded = [row_to_case(r, name, spec, i) for i, r in enumerate(rows, start=1)]
        cases += [c for c in loaded if c.text.strip()]
        counts[name] = len(loaded)
    return cases, counts
