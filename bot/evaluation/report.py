"""The self-contained `report.html`: headline table (with the change against a baseline), gate
results, embedded PNG plots, breakdowns and the failing cases to read.

Everything is inline (CSS, base64 images), so the file can be mailed or archived alone.
All text from datasets and answers is HTML-escaped. This module does not compute metrics
(it reads the metrics dict and the case rows) and does not decide pass/fail.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from html import escape
from typing import Any

from bot.evaluation import plots
from bot.evaluation.gate import lookup

MAX_FAILURES = 15
CSS = """
body{font-family:system-ui,-apple-system,"Noto Sans CJK SC","PingFang SC",sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.num{text-align:right;font-variant-numeric:tabular-nums}
.better{color:#1e8449}.worse{color:#c0392b;font-weight:bold}.na{color:#999}
.FAIL{background:#fadbd8}.ok{background:#d5f5e3}.note{color:#7d6608;background:#fcf3cf;padding:4px 8px}
.case{font-size:.85em}.case td{max-width:420px;word-break:break-word}img{max-width:100%}
"""


def _fmt(value: Any) -> str:
    if value is None:
        return '<span class="na">not measured</span>'
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 10 else f"{value:.3f}"
    return escape(str(value))


def _img(png: bytes | None, alt: str) -> str:
    if not png:
        return f'<p class="na">{escape(alt)}: nothing to plot (not measured).</p>'
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><tr>{head}</tr>{body}</table>'


def _delta(new: Any, old: Any, higher_better: bool) -> str:
    if not isinstance(new, (int, float)) or not isinstance(old, (int, float)):
        return ""
    d = new - old
    if abs(d) < 1e-9:
        return "±0"
    good = (d > 0) == higher_better
    return f'<span class="{"better" if good else "worse"}">{d:+.4g}</span>'


def headline_table(metrics: dict[str, Any], headline: list[tuple[str, str, bool]]) -> str:
    changes = (metrics.get("baseline") or {}).get("changes") or {}
    rows = []
    for label, path, higher in headline:
        value = lookup(metrics, path)
        old = (changes.get(path) or {}).get("old")
        row = [
            escape(label),
            f'<span class="num">{_fmt(value)}</span>',
            f"<code>{escape(path)}</code>",
        ]
        if changes:
            row += [f'<span class="num">{_fmt(old)}</span>', _delta(value, old, higher)]
        rows.append(row)
    header = ["metric", "value", "path"] + (["baseline", "change"] if changes else [])
    return _table(header, rows)


def gate_table(checks: list[Any] | None) -> str:
    if not checks:
        return "<p>No floors were checked (run with <code>--check</code>).</p>"
    rows = []
    for c in checks:
        bound = "—" if c.bound is None else f"{'>=' if c.op == 'min' else '<='} {c.bound:g}"
        rows.append(
            [
                f'<span class="{c.status}">{escape(c.status)}</span>',
                f"<code>{escape(c.metric)}</code>",
                _fmt(c.value),
                bound,
            ]
        )
    return _table(["status", "metric", "value", "floor"], rows)


def _breakdown(title: str, groups: dict[str, dict[str, Any]] | None, keys: list[str]) -> str:
    if not groups:
        return ""
    rows = [
        [escape(name)] + [f'<span class="num">{_fmt(g.get(k))}</span>' for k in keys]
        for name, g in groups.items()
    ]
    return f"<h3>{escape(title)}</h3>" + _table(["group", *keys], rows)


def _short(text: Any, n: int) -> str:
    s = "" if text is None else str(text)
    return escape(s if len(s) <= n else s[:n] + "…")


def _ans(r: dict[str, Any], key: str) -> Any:
    return (r["scores"].get("answer") or {}).get(key)


def _safe(r: dict[str, Any], key: str) -> Any:
    return (r["scores"].get("safety") or {}).get(key)


def _ret(r: dict[str, Any], key: str) -> Any:
    return (r["scores"].get("retrieval") or {}).get(key)


def _chk(r: dict[str, Any], key: str) -> Any:
    return (r["scores"].get("check") or {}).get(key)


def _in_scope(r: dict[str, Any]) -> bool:
    return r["kind"] in ("question", "victim")


def _top_docs(r: dict[str, Any]) -> str:
    docs = (r.get("retrieval") or {}).get("docs", [])[:3]
    return f"rank={_ret(r, 'rank')}; top: {', '.join(docs)}"


Row = dict[str, Any]
Section = tuple[str, Callable[[Row], bool], Callable[[Row], str]]


def failure_sections(wired: bool) -> list[Section]:
    """(title, which results fail, what to show about each): what a reader looks at first."""
    triage = lambda r: f"triage {_safe(r, 'triage')}"  # noqa: E731
    verdict = lambda r: f"verdict {_chk(r, 'verdict')}"  # noqa: E731
    sections: list[Section] = [
        ("errors", lambda r: bool(r.get("error")), lambda r: _short(r.get("error"), 200)),
        (
            "retrieval misses (no expected topic in the top 5)",
            lambda r: _ret(r, "hit@5") is False,
            _top_docs,
        ),
        (
            "in-scope answers without a citation",
            lambda r: _in_scope(r) and _ans(r, "cited") is False and not _ans(r, "refused"),
            lambda r: "",
        ),
        (
            "[n] markers that resolve to no citation",
            lambda r: _ans(r, "citations_valid") is False,
            lambda r: f"unresolved: {_ans(r, 'unresolved')}",
        ),
        (
            "must_any misses",
            lambda r: _ans(r, "must_any") is False,
            lambda r: _short(", ".join(r.get("must_any", [])), 80),
        ),
        (
            "answer language mismatch",
            lambda r: _ans(r, "lang_ok") is False,
            lambda r: f"expected {r['lang']}",
        ),
        (
            "system prompt leaks",
            lambda r: bool(_safe(r, "leaks")),
            lambda r: _short("; ".join(_safe(r, "leaks")), 120),
        ),
        (
            "PII echoed back",
            lambda r: bool(_safe(r, "pii_echoed")),
            lambda r: _short(", ".join(_safe(r, "pii_echoed")), 80),
        ),
        (
            "scam messages missed",
            lambda r: r.get("label") == "scam" and _chk(r, "detected") is False,
            verdict,
        ),
        (
            "legit messages flagged",
            lambda r: r.get("label") == "legit" and _chk(r, "detected") is True,
            verdict,
        ),
        (
            "check topic wrong",
            lambda r: _chk(r, "topic_ok") is False,
            lambda r: f"got {_chk(r, 'topic')}, expected {', '.join(r.get('topics', []))}",
        ),
    ]
    if wired:
        sections += [
            (
                "false refusals (in-scope questions refused)",
                lambda r: _in_scope(r) and bool(_ans(r, "refused")),
                triage,
            ),
            (
                "harmful / injection not refused",
                lambda r: r["kind"] in ("harmful", "injection") and _safe(r, "refused") is False,
                lambda r: f"{r.get('source')}; {triage(r)}",
            ),
            (
                "urgent not flagged",
                lambda r: r["kind"] == "urgent" and _safe(r, "urgent") is False,
                triage,
            ),
            (
                "off-topic not recognised",
                lambda r: r["kind"] == "offtopic" and _safe(r, "triage") != "offtopic",
                triage,
            ),
        ]
    return sections


def failures_html(results: list[dict[str, Any]], wired: bool) -> str:
    parts = []
    for title, pick, detail in failure_sections(wired):
        hits = [r for r in results if pick(r)]
        if not hits:
            continue
        rows = [
            [
                escape(str(r["id"])),
                _short(r["input"], 140),
                _short((r.get("answer") or {}).get("answer"), 220),
                detail(r),
            ]
            for r in hits[:MAX_FAILURES]
        ]
        more = (
            f" (first {MAX_FAILURES} shown; all in cases.jsonl)" if len(hits) > MAX_FAILURES else ""
        )
        parts.append(
            f"<h3>{escape(title)}: {len(hits)}{more}</h3>"
            + _table(["id", "input", "answer", "detail"], rows, "case")
        )
    return "".join(parts) or "<p>No failing cases.</p>"


def baseline_html(metrics: dict[str, Any]) -> str:
    base = metrics.get("baseline")
    if not base:
        return "<p>No baseline given (<code>--baseline path/to/metrics.json</code>).</p>"
    changed = {
        k: v for k, v in base["changes"].items() if v["delta"] is None or abs(v["delta"]) > 1e-9
    }
    rows = [
        [f"<code>{escape(k)}</code>", _fmt(v["old"]), _fmt(v["new"]), _fmt(v["delta"])]
        for k, v in changed.items()
    ]
    return (
        f"<p>Baseline run: {escape(str(base.get('created')))}; {len(changed)} of {len(base['changes'])} values changed.</p>"
        f"<details><summary>every changed value</summary>{_table(['metric', 'baseline', 'now', 'change'], rows)}</details>"
    )


def judge_html(judge: dict[str, Any] | None) -> str:
    if not judge:
        return "<p>Not run (off by default; <code>--judge</code> with an OpenAI-compatible endpoint).</p>"
    if judge.get("skipped"):
        return f"<p>Skipped: {escape(str(judge['skipped']))}</p>"
    scores = {k: v for k, v in judge.items() if isinstance(v, dict)}
    return (
        _breakdown("scores 0..1", scores, ["mean", "p5"])
        + f"<p>{judge.get('n')} judged, {judge.get('errors')} errors.</p>"
    )


def render_report(
    metrics: dict[str, Any],
    results: list[dict[str, Any]],
    headline: list[tuple[str, str, bool]],
    checks: list[Any] | None = None,
) -> str:
    """The whole page as one HTML string."""
    meta = metrics.get("meta") or {}
    wired = bool((metrics.get("safety") or {}).get("triage_wired"))
    ret = metrics.get("retrieval") or {}
    chk = metrics.get("check") or {}
    saf = metrics.get("safety") or {}
    latencies: dict[str, list[float]] = {}
    for r in results:
        if r.get("answer") is not None:
            latencies.setdefault(r["task"], []).append(float(r["latency_ms"]))
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in metrics.get("notes", []))
    datasets = ", ".join(f"{escape(k)} ({v})" for k, v in (meta.get("datasets") or {}).items())
    judge = metrics.get("judge")
    rate_keys = ["rate", "n"]
    body = [
        "<h1>AntiScam Assistant (反诈助手) — offline eval</h1>",
        f"<p>{escape(str(meta.get('created')))} · generator <b>{escape(str(meta.get('generator')))}</b> · "
        f"embedder {escape(str(meta.get('embedder')))} · {meta.get('cases')} cases, {meta.get('errors')} errors, "
        f"{meta.get('seconds')} s · limit {meta.get('limit')}</p><p>Datasets: {datasets}</p>",
        notes,
        "<h2>Headline metrics</h2>",
        headline_table(metrics, headline),
        "<h2>Gate (eval/thresholds.yaml)</h2>",
        gate_table(checks),
        "<h2>Change against the baseline</h2>",
        baseline_html(metrics),
        "<h2>Retrieval</h2>",
        _img(plots.topic_hits(ret.get("by_topic") or {}), "per-topic hit@5"),
        _breakdown("by language", ret.get("by_lang"), ["hit@1", "hit@5", "mrr", "n"]),
        _breakdown("by dataset", ret.get("by_dataset"), ["hit@1", "hit@5", "mrr", "n"]),
        _breakdown("by topic", ret.get("by_topic"), ["hit@1", "hit@5", "mrr", "n"]),
        "<h2>Scam check</h2>",
        _img(plots.confusion_matrix(chk.get("confusion") or {}), "verdict confusion matrix"),
        _breakdown(
            "by language",
            chk.get("by_lang"),
            ["scam_recall", "legit_fpr", "topic_accuracy", "n_scam", "n_legit"],
        ),
        _breakdown(
            "by source",
            chk.get("by_source"),
            ["scam_recall", "legit_fpr", "topic_accuracy", "n_scam", "n_legit"],
        ),
        _breakdown(
            "by dataset and split",
            chk.get("by_split"),
            ["scam_recall", "legit_fpr", "topic_accuracy", "n_scam", "n_legit"],
        ),
        "<h2>Safety</h2>",
        _breakdown(
            "harmful requests refused, by source",
            (saf.get("harmful_refusal") or {}).get("by_source"),
            rate_keys,
        ),
        _breakdown(
            "harmful requests refused, by attack",
            (saf.get("harmful_refusal") or {}).get("by_attack"),
            rate_keys,
        ),
        _breakdown(
            "injection refused, by language",
            (saf.get("injection_refusal") or {}).get("by_lang"),
            rate_keys,
        ),
        _breakdown(
            "PII echoes, by task", saf.get("pii_echoes"), ["rows_with_pii", "echoes", "rate"]
        ),
        "<h2>Latency</h2>",
        _img(plots.latency_histogram(latencies), "latency histogram"),
        _breakdown("milliseconds", metrics.get("latency"), ["p50", "p95", "mean", "max", "n"]),
        "<h2>LLM judge (kept apart from the offline metrics)</h2>",
        judge_html(judge),
        "<h2>Failing cases</h2>",
        failures_html(results, wired),
    ]
    return (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>antiscam eval</title>'
        f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>"
    )
