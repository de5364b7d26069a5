"""Latency metrics: p50 / p95 (and mean, max) of the time `Responder.respond` took, per task.

The time is measured around the responder call only, after one untimed warm-up call per
task (so lazy loading of models and indexes is not counted); the extra retrieval run the eval
does for the retrieval metrics is not included. This module does not time anything itself.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bot.evaluation.stats import mean, percentile


def _block(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "mean": mean(values),
        "max": round(max(values), 4) if values else None,
    }


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Milliseconds per task ("chat", "check") and over all answered cases."""
    by_task: dict[str, list[float]] = defaultdict(list)
    for r in results:
        if r.get("answer") is not None:
            by_task[r["task"]].append(float(r["latency_ms"]))
    out = {task: _block(values) for task, values in sorted(by_task.items())}
    out["all"] = _block([v for values in by_task.values() for v in values])
    return out
