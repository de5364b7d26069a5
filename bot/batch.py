"""The batch contract for scripted evaluation: JSONL in, one JSONL row out per input row.

Input rows: {"id", "task": "chat"|"check", "input", "history"?, "lang"?}; a check row may give
"image" (a screenshot's path, relative to the input file) instead of "input". Output rows keep the
order and exactly these fields: id, task, answer, refused, urgent, verdict, topics, citations
[{n, doc_id, chunk_id, title, url, topics, quote}], mode, latency_ms. A malformed row yields
a row with "error" and the batch goes on. This module does not build the app.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from bot.records import Answer

CITATION_FIELDS = ("n", "doc_id", "chunk_id", "title", "url", "topics", "quote", "passages")
TASKS = ("chat", "check")


def answer_row(row_id: Any, task: str, answer: Answer, latency_ms: float) -> dict[str, Any]:
    return {
        "id": row_id,
        "task": task,
        "answer": answer.text,
        "refused": bool(answer.refused),
        "urgent": bool(answer.urgent),
        "verdict": answer.verdict,
        "topics": list(answer.topics),
        "citations": [{k: c.to_dict()[k] for k in CITATION_FIELDS} for c in answer.citations],
        "mode": answer.mode,
        "latency_ms": round(latency_ms, 1),
    }


def error_row(row_id: Any, task: Any, message: str) -> dict[str, Any]:
    return {
        "id": row_id,
        "task": task,
        "answer": None,
        "refused": False,
        "urgent": False,
        "verdict": None,
        "topics": [],
        "citations": [],
        "mode": None,
        "latency_ms": 0.0,
        "error": message,
    }


def parse_row(line: str) -> tuple[dict[str, Any] | None, str | None]:
    """The row, or an error message saying what is wrong with it."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(row, dict):
        return None, "row must be a JSON object"
    if row.get("task", "chat") not in TASKS:
        return row, f"task must be one of {TASKS}, got {row.get('task')!r}"
    if row.get("image") is not None:
        if row.get("task") != "check" or not isinstance(row["image"], str) or row.get("input"):
            return row, "field 'image' (a path) is for task 'check' rows without 'input'"
    elif not isinstance(row.get("input"), str) or not row["input"].strip():
        return row, "field 'input' must be a non-empty string"
    history = row.get("history", [])
    if not isinstance(history, list) or not all(
        isinstance(h, dict)
        and h.get("role") in ("user", "assistant")
        and isinstance(h.get("content"), str)
        for h in history
    ):
        return row, "field 'history' must be a list of {role: user|assistant, content: str}"
    if row.get("lang") not in (None, "zh", "en"):
        return row, "field 'lang' must be 'zh' or 'en'"
    return row, None


def run_batch(
    lines: Iterable[str],
    respond: Callable[[dict[str, Any]], Answer],
) -> Iterator[dict[str, Any]]:
    """Answer each non-empty line with `respond(row)`; errors become error rows."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        row, problem = parse_row(line)
        row_id = row.get("id", f"line-{number}") if row else f"line-{number}"
        task = row.get("task", "chat") if row else None
        if problem:
            yield error_row(row_id, task, problem)
            continue
        t0 = time.perf_counter()
        try:
            answer = respond(row)  # type: ignore[arg-type]
        except Exception as exc:  # one bad row must not stop the batch
            yield error_row(row_id, task, f"{type(exc).__name__}: {exc}")
            continue
        yield answer_row(row_id, task, answer, (time.perf_counter() - t0) * 1000)
