"""Run the offline eval: datasets -> Responder -> per-case scores -> metrics.json, cases.jsonl, report.html.

`run_eval` sends every case through `Responder.respond` (as a user who does not pick a
language: the bot detects it) with a progress bar, times it, runs the chain's retrieval
again for cases with expected topics, scores each case with the metric modules and writes:

- `metrics.json`: the aggregates (None = not measured, with a note in `notes`), the optional
  judge apart under `judge`, and the change against `--baseline` under `baseline`;
- `cases.jsonl`: one row per case with its input, expectations, answer and scores;
- `report.html`: a self-contained page with embedded plots (`report.py`).

It does not decide pass/fail (`gate.py`) and does not print tables (the CLI does).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.batch import answer_row
from bot.evaluation import answers, check, gate, latency, retrieval, safety
from bot.evaluation.datasets import Case, load_cases

if TYPE_CHECKING:
    from rich.console import Console

    from bot.app import Deps
    from bot.records import Answer

HEADLINE: list[tuple[str, str, bool]] = [  # (label, metric path, higher is better)
    ("retrieval hit@1", "retrieval.overall.hit@1", True),
    ("retrieval hit@5", "retrieval.overall.hit@5", True),
    ("retrieval MRR", "retrieval.overall.mrr", True),
    ("retrieval hit@5 zh", "retrieval.by_lang.zh.hit@5", True),
    ("retrieval hit@5 en", "retrieval.by_lang.en.hit@5", True),
    ("citation validity", "answers.citation_validity", True),
    ("in-scope answers cited", "answers.cited_in_scope", True),
    ("grounding mean", "answers.grounding.mean", True),
    ("grounding p5", "answers.grounding.p5", True),
    ("answer language match", "answers.lang_match.overall", True),
    ("must_any coverage", "answers.must_any.overall", True),
    ("named pattern = question topic", "answers.pattern.overall", True),
    ("what is asked, recognised", "answers.ask.overall", True),
    ("yes/no first line decides", "answers.first_line_answers.overall", True),
    ("false refusals", "answers.false_refusals.rate", False),
    ("harmful refused (all)", "safety.harmful_refusal.rate", True),
    ("harmful refused (JBB, AdvBench, JADE)", "safety.harmful_refusal.rate_refusal_expected", True),
    ("injection refused", "safety.injection_refusal.rate", True),
    ("urgent recall", "safety.urgent_recall.rate", True),
    ("off-topic handled", "safety.offtopic_handled.rate", True),
    ("prompt leaks", "safety.prompt_leaks.count", False),
    ("PII echoes (chat)", "safety.pii_echoes.chat.echoes", False),
    ("Flames answered with citation", "safety.flames.answered_with_citation", True),
    ("scam recall", "check.scam_recall", True),
    ("legit false positives", "check.legit_fpr", False),
    ("check topic accuracy", "check.topic_accuracy", True),
    ("latency chat p50 ms", "latency.chat.p50", False),
    ("latency chat p95 ms", "latency.chat.p95", False),
    ("latency check p50 ms", "latency.check.p50", False),
    ("latency check p95 ms", "latency.check.p95", False),
]


@dataclass
class EvalRun:
    metrics: dict[str, Any]
    results: list[dict[str, Any]]


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def answer_record(case: Case, answer: Answer, latency_ms: float) -> dict[str, Any]:
    """The batch-contract row of an answer, plus the fields the metrics read."""
    row = answer_row(case.id, case.task, answer, latency_ms)
    row.update(
        lang=answer.lang,
        notice=answer.notice,
        grounded=answer.grounded,
        triage=None if answer.triage is None else str(answer.triage),
        rejected=list(answer.extra.get("rejected") or []),
    )
    if answer.extra.get("check") is not None:
        row["check"] = _jsonable(answer.extra["check"])
    return row


def score_case(
    case: Case,
    answer: Answer,
    latency_ms: float,
    retrieved: dict[str, Any] | None = None,
    leak_lines: list[str] | None = None,
    find_pii: Callable[[str], list[str]] | None = None,
) -> dict[str, Any]:
    """One result row: the case, its answer and every per-case score."""
    scores: dict[str, Any] = {
        "answer": answers.case_scores(case, answer) if case.task == "chat" else None,
        "safety": safety.case_scores(
            case,
            answer,
            leak_lines if leak_lines is not None else safety.leak_markers(),
            find_pii or safety.default_pii_finder(),
        ),
        "check": check.case_scores(case, answer) if case.task == "check" else None,
        "retrieval": retrieval.case_scores(retrieved["topics"], case.topics) if retrieved else None,
    }
    result = case.to_dict() | {
        "answer": answer_record(case, answer, latency_ms),
        "latency_ms": round(latency_ms, 1),
    }
    if retrieved:
        result["retrieval"] = retrieved
    result["scores"] = scores
    return result


def error_result(case: Case, message: str) -> dict[str, Any]:
    return case.to_dict() | {"answer": None, "latency_ms": 0.0, "error": message, "scores": {}}


def warm_up(responder: Any, cases: list[Case]) -> None:
    """One untimed call per task, so lazy loading (models, indexes) is not counted as latency."""
    for task in dict.fromkeys(c.task for c in cases):
        first = next(c for c in cases if c.task == task)
        try:
            responder.respond(first.text, first.history or None, None, task)
        except Exception:  # the timed call will record the error
            pass


def run_cases(
    deps: Deps,
    cases: list[Case],
    advance: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Answer and score every case; an exception becomes an error row and the run goes on."""
    from bot.responder import Responder

    responder = Responder(deps)
    leak_lines = safety.leak_markers()
    find_pii = safety.default_pii_finder()
    warm_up(responder, cases)
    results = []
    for case in cases:
        t0 = time.perf_counter()
        try:
            answer = responder.respond(case.text, case.history or None, None, case.task)
            elapsed = (time.perf_counter() - t0) * 1000
            retrieved = None
            if case.task == "chat" and case.in_scope and case.topics:
                retrieved = retrieval.retrieve(deps, case.text, case.history)
            results.append(score_case(case, answer, elapsed, retrieved, leak_lines, find_pii))
        except Exception as exc:  # one failing case must not stop the run
            results.append(error_result(case, f"{type(exc).__name__}: {exc}"))
        if advance:
            advance()
    return results


def notes_for(metrics: dict[str, Any]) -> list[str]:
    """Human-readable "not measured" notes for metrics that came out None."""
    notes = []
    if not metrics["safety"]["triage_wired"]:
        notes.append(
            "not measured: refusals, urgent recall, off-topic handling and false refusals "
            "(no answer carried Answer.triage / refused / urgent: triage not wired into the responder)"
        )
    if metrics["answers"] and metrics["answers"]["grounding"] is None:
        notes.append("not measured: grounding (no answer carried Answer.grounded)")
    chk = metrics["check"]
    if chk is not None and not chk.get("measured"):
        notes.append("not measured: scam check (no check answer carried Answer.verdict)")
    if metrics["retrieval"] is None:
        notes.append("not measured: retrieval (no case with expected topics was run)")
    return notes


def compute_metrics(
    results: list[dict[str, Any]], meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    wired = safety.triage_wired(results)
    metrics: dict[str, Any] = {
        "meta": meta or {},
        "retrieval": retrieval.summarize(results),
        "answers": answers.summarize(results, wired),
        "safety": safety.summarize(results, wired),
        "check": check.summarize(results),
        "latency": latency.summarize(results),
        "judge": None,
    }
    metrics["notes"] = notes_for(metrics)
    return metrics


def _meta(
    deps: Deps,
    counts: dict[str, int],
    limit: int | None,
    results: list[dict[str, Any]],
    seconds: float,
) -> dict[str, Any]:
    s = deps.settings
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "generator": s.generator,
        "embedder": s.embedder,
        "top_k": s.top_k,
        "datasets": counts,
        "limit": limit,
        "cases": len(results),
        "errors": sum(1 for r in results if r.get("error")),
        "seconds": round(seconds, 1),
    }


def write_outputs(
    out_dir: Path,
    metrics: dict[str, Any],
    results: list[dict[str, Any]],
    checks: list | None = None,
) -> dict[str, Path]:
    from bot.evaluation.report import render_report

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "metrics": out_dir / "metrics.json",
        "cases": out_dir / "cases.jsonl",
        "report": out_dir / "report.html",
    }
    paths["metrics"].write_text(
        json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    with paths["cases"].open("w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
    paths["report"].write_text(render_report(metrics, results, HEADLINE, checks), encoding="utf-8")
    return paths


def run_eval(
    deps: Deps,
    names: list[str] | tuple[str, ...] | None = None,
    limit: int | None = None,
    baseline: dict[str, Any] | None = None,
    judge_model: Any = None,
    console: Console | None = None,
    progress: bool = True,
) -> EvalRun:
    """Load, answer, score and summarize; the caller writes outputs and applies the gate."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    cases, counts = load_cases(names, limit)
    t0 = time.perf_counter()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=not progress, transient=False) as bar:
        task = bar.add_task("eval", total=len(cases))
        results = run_cases(deps, cases, lambda: bar.advance(task))
    metrics = compute_metrics(
        results, _meta(deps, counts, limit, results, time.perf_counter() - t0)
    )
    if judge_model is not None:
        from bot.evaluation.judge import run_judge, should_judge

        with Progress(*columns, console=console, disable=not progress) as bar:
            task = bar.add_task("judge", total=sum(1 for r in results if should_judge(r)))
            metrics["judge"] = run_judge(judge_model, results, lambda: bar.advance(task))
    if baseline is not None:
        metrics["baseline"] = {
            "created": (baseline.get("meta") or {}).get("created"),
            "changes": gate.compare(metrics, baseline),
        }
    return EvalRun(metrics, results)
