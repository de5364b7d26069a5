"""Shared helpers of `antiscam bench`: percentiles, latency summaries, the question set and
the embedder's query cache. Measures nothing by itself."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from bot.config import ROOT

QUESTIONS = ROOT / "eval/datasets/questions.jsonl"


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    i = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return round(values[i], 2)


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": _pct(ms, 50),
        "p95_ms": _pct(ms, 95),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else 0.0,
        "n": len(ms),
    }


def forget_queries(embeddings: Any) -> None:
    """Empty the embedder's recent-query cache, so a timed question is embedded afresh.

    (One request embeds the same text for triage and retrieval, so the embedder keeps recent
    query vectors; a benchmark that asks the same question twice must not time a cache hit.)
    """
    for e in (embeddings, getattr(embeddings, "real", None)):
        cache = getattr(e, "_recent", None)
        if cache is not None:
            cache.clear()


def load_questions(path: Path, limit: int) -> list[dict[str, Any]]:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return rows[:limit]
