"""The scam check on screenshots next to the same messages as text, plus OCR error and speed.

Each holdout row of eval/datasets/messages.jsonl (or a stratified sample: `--n`) is drawn as
a 1080×2400 phone screenshot (`bot.ocr.synth`: WeChat-like bubbles or an SMS thread, Noto
Sans / Serif / Sans Bold CJK at 40-48 px, half of them with a reply bubble from the user,
light Gaussian noise and JPEG compression on some), read back by the product's
`ScreenshotReader`, and checked by the product's `Responder` (task "check") exactly like the
text itself. Reports per path: recall (scam rows not `legit`), FPR (legit rows not `legit`),
top-1 topic accuracy; the verdict agreement between the paths; OCR character error rate
(edit distance / length of the message, after NFKC and without whitespace; the other
party's text only) and latency: reading and reading + checking for the 1080×2400 pictures
(p50/p95), as wall time and as CPU time of the process (all its threads): on a shared machine
the wall time includes waiting for other processes, while the CPU time is what the work
costs, an upper bound for the wall time on two free cores. The load average is recorded.
Writes eval/reports/screenshot_check.json.

Usage:  .venv/bin/python eval/screenshot_report.py [--n 120] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.ocr.synth import Style, render_chat  # noqa: E402

REPLIES = {
    "zh": ["这是真的吗？", "你是谁？", "好的，我看看"],
    "en": ["Is this real?", "Who is this?"],
}
STYLES = [
    Style("chat", "sans", 44),
    Style("sms", "sans", 42, noise=3.0, jpeg_quality=85),
    Style("chat", "serif", 46, jpeg_quality=80),
    Style("sms", "sans-bold", 40),
    Style("chat", "sans", 48, noise=4.0, jpeg_quality=90),
]


def read_rows(n: int | None) -> list[dict]:
    path = ROOT / "eval/datasets/messages.jsonl"
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = [r for r in rows if r.get("split") == "holdout"]
    if not n or n >= len(rows):
        return rows
    rng = random.Random(22)
    cells: dict[tuple, list[dict]] = {}
    for r in rows:
        cells.setdefault((r["lang"], r["label"]), []).append(r)
    out = []
    for key in sorted(cells):
        out += rng.sample(cells[key], min(len(cells[key]), n // len(cells)))
    return out


def screenshot(row: dict, i: int) -> bytes:
    style = STYLES[i % len(STYLES)]
    style = Style(style.layout, style.font, style.size, style.noise, style.jpeg_quality, seed=i)
    messages = [("left", row["text"])]
    if i % 2:
        replies = REPLIES[row["lang"]]
        messages.append(("right", replies[i % len(replies)]))
    return render_chat(messages, style, title="10690000" if style.layout == "sms" else "张经理")


def norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def metrics(rows: list[dict], answers: list) -> dict:
    scam = [(r, a) for r, a in zip(rows, answers, strict=True) if r["label"] == "scam"]
    legit = [(r, a) for r, a in zip(rows, answers, strict=True) if r["label"] == "legit"]
    topical = [(r, a) for r, a in scam if r.get("topics")]
    return {
        "n_scam": len(scam),
        "n_legit": len(legit),
        "recall": round(sum(a.verdict != "legit" for _, a in scam) / max(len(scam), 1), 4),
        "fpr": round(sum(a.verdict != "legit" for _, a in legit) / max(len(legit), 1), 4),
        "topic_accuracy": round(
            sum(bool(a.topics) and a.topics[0] in r["topics"] for r, a in topical)
            / max(len(topical), 1),
            4,
        ),
    }


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * len(s)))], 1) if s else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=0, help="stratified sample size (0: every row)")
    ap.add_argument("--out", type=Path, default=ROOT / "eval/reports/screenshot_check.json")
    args = ap.parse_args(argv)

    from bot.app import build_app
    from bot.cli.common import load_settings
    from bot.ocr.reader import ScreenshotReader
    from bot.responder import Responder

    responder = Responder(build_app(load_settings()))
    reader = ScreenshotReader()
    reader.warm()
    responder.respond("放款前请先缴纳保证金", task="check")  # load the check's models
    rows = read_rows(args.n)
    text_answers, image_answers = [], []
    errors = chars = 0
    read_ms, total_ms, read_cpu, total_cpu, sizes = [], [], [], [], []
    load_before = os.getloadavg()
    per_lang: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        data = screenshot(row, i)
        text_answers.append(responder.respond(row["text"], task="check"))
        t0, c0 = time.perf_counter(), time.process_time()
        reading = reader.read(data)
        t1, c1 = time.perf_counter(), time.process_time()
        image_answers.append(responder.respond(reading.text, task="check"))
        t2, c2 = time.perf_counter(), time.process_time()
        if reading.size == (1080, 2400):
            read_ms.append((t1 - t0) * 1000)
            total_ms.append((t2 - t0) * 1000)
            read_cpu.append((c1 - c0) * 1000)
            total_cpu.append((c2 - c0) * 1000)
        sizes.append(reading.size[1])
        truth, got = norm(row["text"]), norm(reading.text)
        dist = edit_distance(truth, got)
        errors += dist
        chars += len(truth)
        lang_counts = per_lang.setdefault(row["lang"], [0, 0])
        lang_counts[0] += dist
        lang_counts[1] += len(truth)
        print(f"{i + 1}/{len(rows)} cer={dist / max(len(truth), 1):.3f}", file=sys.stderr)
    report = {
        "rows": len(rows),
        "sample": args.n or "all holdout rows",
        "text": metrics(rows, text_answers),
        "screenshot": metrics(rows, image_answers),
        "verdict_agreement": round(
            sum(a.verdict == b.verdict for a, b in zip(text_answers, image_answers, strict=True))
            / max(len(rows), 1),
            4,
        ),
        "ocr_cer": round(errors / max(chars, 1), 4),
        "ocr_cer_by_lang": {k: round(v[0] / max(v[1], 1), 4) for k, v in sorted(per_lang.items())},
        "latency_1080x2400_ms": {
            "n": len(read_ms),
            "read_p50": pct(read_ms, 0.5),
            "read_p95": pct(read_ms, 0.95),
            "read_and_check_p50": pct(total_ms, 0.5),
            "read_and_check_p95": pct(total_ms, 0.95),
            "cpu_read_p50": pct(read_cpu, 0.5),
            "cpu_read_p95": pct(read_cpu, 0.95),
            "cpu_read_and_check_p50": pct(total_cpu, 0.5),
            "cpu_read_and_check_p95": pct(total_cpu, 0.95),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "taller_than_2400": sum(h > 2400 for h in sizes),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
