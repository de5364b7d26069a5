"""Cold start: a fresh `antiscam ask` process against the raw embedder's own cold start.

Each run is a new Python process on the current data dir (the index `make index` built), so
imports, model loading and the first query are all counted, as a user of the CLI pays them.
The raw embedder's cold start (import, load, one query) is the yardstick: the ratio says
what the bot adds on top of the one model it cannot do without. Numbers, not asserts.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

QUESTION = "网贷放款前要我先交解冻金，正常吗？"
_EMBEDDER_ONLY = (
    "from bot.config import Settings\n"
    "from bot.answer.embeddings import make_embeddings\n"
    f"make_embeddings(Settings.from_env()).embed_query({QUESTION!r})\n"
)


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed: {done.stderr.strip()[-300:]}")
    return time.perf_counter() - started


def cold_start(runs: int = 3, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Wall seconds of `runs` fresh processes each: the raw embedder, then `antiscam ask`."""
    say(f"cold start: {runs} fresh processes each for the raw embedder and `antiscam ask`")
    try:
        raw = [_timed([sys.executable, "-c", _EMBEDDER_ONLY]) for _ in range(runs)]
        ask = [_timed([sys.executable, "-m", "bot.cli", "ask", QUESTION]) for _ in range(runs)]
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return {"error": str(exc)}
    raw_p50, ask_p50 = statistics.median(raw), statistics.median(ask)
    return {
        "question": QUESTION,
        "runs": runs,
        "raw_embedder_seconds": [round(s, 2) for s in raw],
        "ask_seconds": [round(s, 2) for s in ask],
        "raw_embedder_p50_s": round(raw_p50, 2),
        "ask_p50_s": round(ask_p50, 2),
        "ask_over_raw_embedder": round(ask_p50 / raw_p50, 2),
    }
