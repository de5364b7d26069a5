"""The report's plots as PNG bytes: per-topic hit@5 bars, verdict confusion matrix, latency histogram.

Uses matplotlib's object-oriented `Figure` with the Agg canvas, so no global backend or
pyplot state is touched and nothing needs a display. matplotlib is imported only when a
plot is drawn. Labels are ASCII (topic ids), so no CJK font is needed. This module does
not compute metrics and does not write files.
"""

from __future__ import annotations

import io
from typing import Any

LANG_COLORS = {"zh": "#c0392b", "en": "#2471a3"}


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def topic_hits(by_topic: dict[str, dict[str, Any]]) -> bytes | None:
    """Horizontal bars of hit@5 per expected topic, one bar per language."""
    topics = sorted(by_topic)
    if not topics:
        return None
    fig = _figure(8, 0.45 * len(topics) + 1.2)
    ax = fig.subplots()
    height = 0.4
    for i, lang in enumerate(("zh", "en")):
        values = [(by_topic[t].get(lang) or {}).get("hit@5") for t in topics]
        ys = [k + (i - 0.5) * height for k in range(len(topics))]
        ax.barh(ys, [v or 0 for v in values], height=height, color=LANG_COLORS[lang], label=lang)
        for y, t, v in zip(ys, topics, values, strict=True):
            n = (by_topic[t].get(lang) or {}).get("n", 0)
            if n:
                ax.text((v or 0) + 0.01, y, f"{v:.2f} (n={n})", va="center", fontsize=7)
    ax.set_yticks(range(len(topics)), topics, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.15)
    ax.set_xlabel("hit@5 (share of questions whose expected topic is in the top 5 passages)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Retrieval hit@5 per expected topic")
    return _png(fig)


def confusion_matrix(table: dict[str, dict[str, int]]) -> bytes | None:
    """Label (rows) x verdict (columns) counts of the scam check."""
    if not table:
        return None
    labels = list(table)
    verdicts = list(next(iter(table.values())))
    data = [[table[lab][v] for v in verdicts] for lab in labels]
    fig = _figure(5.5, 3)
    ax = fig.subplots()
    ax.imshow(data, cmap="Blues")
    top = max((x for row in data for x in row), default=0) or 1
    for i, row in enumerate(data):
        for j, x in enumerate(row):
            ax.text(
                j, i, str(x), ha="center", va="center", color="white" if x > top / 2 else "black"
            )
    ax.set_xticks(range(len(verdicts)), verdicts)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("verdict (none = no verdict given)")
    ax.set_ylabel("label")
    ax.set_title("Scam check: label vs verdict")
    return _png(fig)


def latency_histogram(by_task: dict[str, list[float]]) -> bytes | None:
    """Histogram of response times (ms) per task, log-spaced bins."""
    series = {k: v for k, v in by_task.items() if v}
    if not series:
        return None
    import numpy as np

    values = [x for v in series.values() for x in v]
    lo, hi = max(min(values), 0.1), max(max(values), 1.0)
    bins = np.geomspace(lo, hi * 1.01, 30)
    fig = _figure(7, 3)
    ax = fig.subplots()
    for task, v in sorted(series.items()):
        ax.hist(v, bins=bins, alpha=0.6, label=f"{task} (n={len(v)})")
    ax.set_xscale("log")
    ax.set_xlabel("latency per case (ms, log scale)")
    ax.set_ylabel("cases")
    ax.legend(fontsize=8)
    ax.set_title("Responder latency")
    return _png(fig)
