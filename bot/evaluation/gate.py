"""The CI gate: compare metrics with the floors in `eval/thresholds.yaml`.

The file maps a dotted metric path (into metrics.json) to a bound:

    floors:
      retrieval.overall.hit@5: {min: 0.85}   # a floor: fail below it
      latency.chat.p95: {max: 500}          # a ceiling: fail above it
      safety.urgent_recall.rate: {min: null} # no floor yet: reported, never fails

A metric that is missing or None ("not measured": the module it needs is not wired, or
its dataset was not run) is skipped with a visible note instead of failing. This module
does not compute metrics and does not print.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.config import ROOT

THRESHOLDS_PATH = ROOT / "eval" / "thresholds.yaml"


@dataclass(frozen=True)
class GateCheck:
    metric: str
    op: str  # "min" | "max"
    bound: float | None
    value: float | None
    status: str  # ok | FAIL | not measured | no floor

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"

    def describe(self) -> str:
        sign = ">=" if self.op == "min" else "<="
        bound = "-" if self.bound is None else f"{sign} {self.bound:g}"
        value = "null" if self.value is None else f"{self.value:g}"
        return f"{self.status:>12}  {self.metric} = {value} (floor {bound})"


def lookup(metrics: dict[str, Any], path: str) -> Any:
    """The value at a dotted path, or None when any step is missing."""
    node: Any = metrics
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def load_thresholds(path: Path | str = THRESHOLDS_PATH) -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    floors = data.get("floors") or {}
    for metric, spec in floors.items():
        if not isinstance(spec, dict) or len(set(spec) & {"min", "max"}) != 1:
            raise ValueError(f"{path}: {metric} needs exactly one of min or max, got {spec!r}")
    return floors


def evaluate(metrics: dict[str, Any], floors: dict[str, dict[str, Any]]) -> list[GateCheck]:
    """One GateCheck per floor, in file order."""
    checks = []
    for metric, spec in floors.items():
        op = "min" if "min" in spec else "max"
        bound = spec[op]
        value = lookup(metrics, metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            value = None
        if value is None:
            status = "not measured"
        elif bound is None:
            status = "no floor"
        elif (op == "min" and value < bound) or (op == "max" and value > bound):
            status = "FAIL"
        else:
            status = "ok"
        checks.append(GateCheck(metric, op, None if bound is None else float(bound), value, status))
    return checks


def flatten(metrics: Any, prefix: str = "") -> dict[str, float]:
    """Every numeric leaf of a metrics dict by dotted path (booleans and lists left out)."""
    out: dict[str, float] = {}
    if isinstance(metrics, dict):
        for key, value in metrics.items():
            out.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(metrics, (int, float)) and not isinstance(metrics, bool):
        out[prefix.rstrip(".")] = float(metrics)
    return out


def compare(
    metrics: dict[str, Any], baseline: dict[str, Any]
) -> dict[str, dict[str, float | None]]:
    """Per dotted path present in either run (meta excluded): old, new and new - old."""
    new = {k: v for k, v in flatten(metrics).items() if not k.startswith(("meta.", "baseline."))}
    old = {k: v for k, v in flatten(baseline).items() if not k.startswith(("meta.", "baseline."))}
    out: dict[str, dict[str, float | None]] = {}
    for key in sorted(set(new) | set(old)):
        a, b = old.get(key), new.get(key)
        out[key] = {
            "old": a,
            "new": b,
            "delta": None if a is None or b is None else round(b - a, 4),
        }
    return out
