"""The real local model end to end: Qwen2.5-Coder-1.5B-Instruct behind llama.cpp, through the bot.

Starts `python -m llama_cpp.server` with the GGUF `make llm-local-setup` assembled (or uses
`--base-url` of a running one), sends a fixed, balanced set of questions (zh and en; general
questions over the seed's core kinds, victims, urgent, injection) through `Responder.stream`,
the path the web app streams, and reports per case and overall:

- fate: kept (the model's answer was shown), rejected by the guard (reasons), failed or timed
  out, or no model call (refusals, off-topic, out of scope); kept rate of in-scope answers;
- on kept answers, re-checked here independently of the chain: invalid citations (a [n]
  with no source), numbers / URLs / amounts not in a shown passage or hotlines.yaml,
  promises; grounding (share of cited sentences supported by what they cite), language
  match, named pattern, first line answers the question (a keyword test per kind of question);
- latency: first shown text (p50: the urgent steps or the chain's verdict line, both
  templates), the model's first sentence, total (p95); generation tokens/s (the server's
  tokenizer).
- how kept answers got there: cut at the token limit and shown up to the last whole sentence;
  citation markers the guard moved back or re-pointed, sentences dropped for restating the
  question (bot/answer/cited.py).

Writes `--out`.json and .md (commit eval/llm_local_report.*) and every answer, raw model text
included, to eval/reports/llm-local/cases.jsonl (not committed). It does not judge answers:
read them. Exit 1 on a kept answer that fails a re-check.
Usage: .venv/bin/python eval/llm_local_eval.py [--per-kind 10] [--base-url URL] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.answer.llm import LLMGenerator  # noqa: E402
from bot.lang import detect_lang  # noqa: E402
from bot.records import Answer  # noqa: E402
from bot.safety.guard import broken_promises, hotline_allowlist, unsupported_facts  # noqa: E402
from bot.safety.replies import urgent_steps  # noqa: E402

GGUF = ROOT / ".data/models/qwen2.5-coder-1.5b-instruct.gguf"
ALIAS = "qwen2.5-coder-1.5b-instruct"
RAW = ROOT / "eval/reports/llm-local"
# (dataset, text field, zh rows, en rows) for --per-kind 10; scaled for other sizes
KINDS = [
    ("questions", "question", 6, 4),
    ("victim_questions", "text", 6, 4),
    ("urgent", "text", 6, 4),
    ("injection", "text", 5, 5),
]
FIRST_LINE = {  # what a first line that answers the question contains, per kind of question
    "is_it_scam": r"不靠谱|不正常|不是真的|骗|假的|不能|不要|\bno\b|\bnot\b|scam|fake|don'?t",
    "what_now": r"先|马上|立即|立刻|停止|报警|联系|不要|别|\bstop\b|\bcall\b|\bcontact\b|\bdon'?t\b|\bfirst\b|\bnow\b|\bimmediately\b",
    "legal": r"法律|犯罪|违法|刑|责任|坐牢|不能|\blaw|\bcrime|\bcriminal|\billegal|\bliab|\bprison|\bjail",
    "report": r"报警|110|96110|12378|举报|报案|求助|\breport|\bpolice|\bcall\b",
}


class TimedGenerator(LLMGenerator):
    """The real generator; records when each streamed piece arrived and the raw text."""

    def __init__(self, model):
        super().__init__(model)
        self.calls: list[dict] = []

    def stream(self, *args, **kwargs):
        call = {"t0": time.perf_counter(), "times": [], "text": ""}
        self.calls.append(call)
        for piece in super().stream(*args, **kwargs):
            call["times"].append(time.perf_counter())
            call["text"] += piece
            yield piece

    def generate(self, *args, **kwargs):
        call = {"t0": time.perf_counter(), "times": [], "text": ""}
        self.calls.append(call)
        text = super().generate(*args, **kwargs)
        call["times"].append(time.perf_counter())
        call["text"] = text
        return text


def pick_cases(per_kind: int, offset: int = 0) -> list[dict]:
    """A fixed selection: the first rows of each dataset and language, one per topic first.
    `offset` k skips the first k selections of that size (`--offset 1` gives 40 other
    questions than the default 40, which the prompt and the guard were tuned on)."""
    cases = []
    for name, field, zh, en in KINDS:
        rows = [json.loads(x) for x in (ROOT / f"eval/datasets/{name}.jsonl").open()]
        for lang, n in (("zh", zh), ("en", en)):
            n = max(1, round(n * per_kind / 10))
            mine = [r for r in rows if r.get("lang") == lang]
            seen: set[str] = set()
            first = []
            for r in mine:  # one per topic first: the core kinds, not ten of one kind
                topic = r.get("topic") or (r.get("topics") or [""])[0]
                if topic not in seen:
                    seen.add(topic)
                    first.append(r)
            chosen = (first + [r for r in mine if r not in first])[offset * n : (offset + 1) * n]
            for r in chosen:
                topic = r.get("topic") or (r.get("topics") or [None])[0]
                cases.append({"id": r["id"], "kind": name, "lang": lang, "text": r[field],
                              "topic": topic})  # fmt: skip
    # interleaved (kind x language, round robin): a run stopped early is still balanced
    groups: dict[tuple[str, str], list[dict]] = {}
    for c in cases:
        groups.setdefault((c["kind"], c["lang"]), []).append(c)
    order = []
    while any(groups.values()):
        for key in list(groups):
            if groups[key]:
                order.append(groups[key].pop(0))
    return order


def tokens(base_url: str, text: str) -> int | None:
    """Token count by the server's own tokenizer (llama-cpp-python's /extras/tokenize)."""
    url = base_url.removesuffix("/v1") + "/extras/tokenize"
    body = json.dumps({"input": text, "model": ALIAS}).encode()
    try:
        req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return len(json.load(r)["tokens"])
    except OSError:
        return None


def recheck(answer: Answer, allowed: set[str]) -> list[str]:
    """What must hold for a kept answer, checked here without the chain's own code paths."""
    shown = answer.extra.get("shown") or answer.extra.get("passages") or []
    sources = [p.chunk.text for p in shown]
    out = [f"fact: {f}" for f in unsupported_facts(answer.text, sources, allowed)]
    out += [f"promise: {p}" for p in broken_promises(answer.text)]
    numbers = {c.n for c in answer.citations}
    out += [f"citation [{n}] has no source" for n in map(int, re.findall(r"\[(\d+)\]", answer.text))
            if n not in numbers]  # fmt: skip
    return out


def remember(verdict_of, seen: list[str]):
    """`chain._verdict`, wrapped so the run knows which streamed piece was the verdict line."""

    def wrapped(turn):
        seen.append(verdict_of(turn))
        return seen[-1]

    return wrapped


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 2)


def run(cases: list[dict], base_url: str, timeout: float, max_tokens: int) -> list[dict]:
    """Every case through `Responder.stream`, timed; each row is appended to cases.jsonl."""
    from bot.app import build_app
    from bot.config import Settings
    from bot.responder import Responder

    settings = Settings.from_env(
        generator="openai", openai_base_url=base_url, openai_model=ALIAS,
        llm_timeout=timeout, llm_max_retries=0, llm_temperature=0.1, llm_max_tokens=max_tokens,
    )  # fmt: skip
    deps = build_app(settings)
    gen = TimedGenerator(deps.chain.llm.model)
    deps.chain.llm = gen
    responder = Responder(deps)
    asks = deps.chain.composer.asks
    allowed = hotline_allowlist()
    # untimed: an in-scope question loads every model the bot trains or reads lazily (a
    # changed training batch means a retrain on first use: 75 s, once) and the retriever
    responder.respond("Is it normal to pay a fee before a loan is paid out?", lang="en")
    gen.warm()  # untimed: the prompt's fixed prefix into the server's cache, as `make run-llm` does
    gen.calls.clear()
    verdicts: list[str] = []  # the chain's first line for each model answer (a template)
    deps.chain._verdict = remember(deps.chain._verdict, verdicts)

    def is_verdict(piece: str) -> bool:
        return bool(verdicts) and piece.strip() == verdicts[-1].strip()

    rows = []
    for i, case in enumerate(cases, 1):
        calls_before = len(gen.calls)
        t0 = time.perf_counter()
        first = first_model = None
        final: Answer | None = None
        for item in responder.stream(case["text"], [], None):
            if isinstance(item, Answer):
                final = item
            elif first is None and item.strip():
                first = time.perf_counter() - t0
            if not isinstance(item, Answer) and first_model is None and item.strip():
                # the urgent steps and the chain's verdict line are templates, not the model
                if not item.startswith(urgent_steps(case["lang"])) and not is_verdict(item):
                    first_model = time.perf_counter() - t0
        total = time.perf_counter() - t0
        assert final is not None
        call = gen.calls[calls_before] if len(gen.calls) > calls_before else None
        rejected = final.extra.get("rejected") or []
        if call is None:
            fate = "no_model_call"
        elif final.mode == "openai":
            fate = "kept"
        elif rejected:
            fate = "rejected"
        else:
            fate = "failed"
        row = {
            **case,
            "fate": fate,
            "first_text_s": round(first if first is not None else total, 2),
            # the first text of the model (after the urgent steps and the chain's verdict
            # line, templates shown at once)
            "first_answer_text_s": round(first_model if first_model is not None else total, 2),
            "total_s": round(total, 2),
            "mode": final.mode,
            "notice": final.notice,
            "rejected": rejected,
            "answer": final.text,
            "raw": call["text"] if call else None,
            "grounded": final.grounded,
            "lang_match": detect_lang(final.text.split("\n\n")[-1]) == case["lang"],
            "pattern": final.extra.get("pattern"),
            "urgent": final.urgent,
            "refused": final.refused,
            "cut_off": final.extra.get("cut_off"),
            "repairs": final.extra.get("citation_repairs"),
        }
        if call and call["times"]:
            gen_s = call["times"][-1] - call["times"][0]
            n = tokens(base_url, call["text"])
            row["model_first_token_s"] = round(call["times"][0] - call["t0"], 2)
            row["completion_tokens"] = n
            row["tokens_per_s"] = round(n / gen_s, 2) if n and gen_s > 0.5 else None
        if fate == "kept":
            row["recheck"] = recheck(final, allowed)
            body = final.text.split("\n\n")[-1] if final.urgent else final.text
            ask = asks.classify(case["text"], case["lang"])
            pattern_re = FIRST_LINE.get(ask)
            first_line = body.strip().splitlines()[0] if body.strip() else ""
            row["ask"] = ask
            row["first_line"] = first_line
            row["first_line_answers"] = (
                bool(re.search(pattern_re, first_line, re.I)) if pattern_re else None
            )
        rows.append(row)
        with (RAW / "cases.jsonl").open("a", encoding="utf-8") as f:  # as it goes
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"[{i}/{len(cases)}] {case['id']} {fate} first {row['first_text_s']}s "
              f"total {row['total_s']}s {rejected[:2]}", flush=True)  # fmt: skip
    return rows


def summarise(rows: list[dict]) -> dict:
    fate = Counter(r["fate"] for r in rows)
    in_scope = [r for r in rows if r["fate"] != "no_model_call"]
    kept = [r for r in rows if r["fate"] == "kept"]
    reasons: Counter[str] = Counter()
    for r in rows:
        if r["fate"] == "rejected":
            kinds = {re.sub(r"[\[:].*", "", x).strip() for x in r["rejected"]}
            reasons.update(re.sub(r"\d+(\.\d+)?", "N", k) for k in kinds)
    firsts = [r["first_text_s"] for r in in_scope]
    answer_firsts = [r["first_answer_text_s"] for r in in_scope]
    totals = [r["total_s"] for r in in_scope]
    tps = [r["tokens_per_s"] for r in in_scope if r.get("tokens_per_s")]
    grounded = [r["grounded"] for r in kept if r["grounded"] is not None]

    def share(items: list, key: str) -> float | None:
        vals = [r[key] for r in items if r.get(key) is not None]
        return round(sum(map(bool, vals)) / len(vals), 3) if vals else None

    return {
        "cases": len(rows),
        "by_kind": dict(Counter(r["kind"] for r in rows)),
        "by_lang": dict(Counter(r["lang"] for r in rows)),
        "fate": dict(fate),
        "model_called": len(in_scope),
        "kept_rate_in_scope": round(len(kept) / len(in_scope), 3) if in_scope else None,
        "kept_rate_by_lang": {
            lang: round(
                sum(r["fate"] == "kept" for r in in_scope if r["lang"] == lang)
                / max(1, sum(r["lang"] == lang for r in in_scope)),
                3,
            )
            for lang in ("zh", "en")
        },
        "rejection_reasons": dict(reasons.most_common()),
        "kept_failing_recheck": sum(bool(r.get("recheck")) for r in kept),
        # kept answers the model ran past the token limit on (shown up to the last whole
        # sentence), and the citation markers the guard moved back or re-pointed in them
        "kept_cut_off": sum(bool(r.get("cut_off")) for r in kept),
        "kept_markers_moved": sum((r.get("repairs") or {}).get("moved", 0) for r in kept),
        "kept_markers_repointed": sum((r.get("repairs") or {}).get("repointed", 0) for r in kept),
        "kept_echoes_dropped": sum((r.get("repairs") or {}).get("dropped", 0) for r in kept),
        "kept_grounding_mean": round(statistics.mean(grounded), 3) if grounded else None,
        "kept_grounding_below_1": sum(g < 1 for g in grounded),
        "kept_language_match": share(kept, "lang_match"),
        "all_language_match": share(rows, "lang_match"),
        "kept_named_pattern": share(kept, "pattern"),
        "kept_first_line_answers": share(kept, "first_line_answers"),
        "first_shown_text_s": {"p50": pct(firsts, 0.5), "p95": pct(firsts, 0.95)},
        "first_answer_text_s": {"p50": pct(answer_firsts, 0.5), "p95": pct(answer_firsts, 0.95)},
        "total_s": {"p50": pct(totals, 0.5), "p95": pct(totals, 0.95)},
        "tokens_per_s": {"p50": pct(tps, 0.5), "min": pct(tps, 0.0), "max": pct(tps, 1.0)},
    }


def markdown(summary: dict, rows: list[dict], args: argparse.Namespace) -> str:
    lines = [
        "# Real local model: Qwen2.5-Coder-1.5B-Instruct (llama.cpp), guarded",
        "",
        f"Generated by `eval/llm_local_eval.py --per-kind {args.per_kind} --offset {args.offset} --max-tokens "
        f"{args.max_tokens} --timeout {args.timeout}`; raw answers in "
        "eval/reports/llm-local/cases.jsonl (not committed).",
        "",
        "```json",
        json.dumps(summary, ensure_ascii=False, indent=2),
        "```",
        "",
        "| id | kind | fate | first s | total s | tok/s | reasons / first line |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        why = "; ".join(r["rejected"][:2]) if r["fate"] == "rejected" else r.get("first_line", "")
        why = (why or "").replace("|", "/")[:90]
        lines.append(f"| {r['id']} | {r['kind']} | {r['fate']} | {r['first_text_s']} | "
                     f"{r['total_s']} | {r.get('tokens_per_s') or ''} | {why} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-kind", type=int, default=10, help="cases per dataset (10 -> 40)")
    ap.add_argument("--base-url", help="a running server; default: start one")
    ap.add_argument("--offset", type=int, default=0, help="skip that many selections")
    ap.add_argument("--max-tokens", type=int, default=128, help="as make run-llm sets")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per model call")
    ap.add_argument("--out", type=Path, default=RAW / "summary", help="report path, no suffix")
    ap.add_argument("--from-cases", type=Path, help="only summarise a cases.jsonl written before")
    args = ap.parse_args()
    if args.from_cases:  # e.g. a run stopped early: report the cases it finished
        rows = [json.loads(x) for x in args.from_cases.read_text().splitlines() if x.strip()]
        return report(rows, args)
    RAW.mkdir(parents=True, exist_ok=True)
    (RAW / "cases.jsonl").write_text("")
    peer = None
    if not args.base_url:
        from tests.llm_peer_server import Peer

        if not GGUF.is_file():
            raise SystemExit(f"{GGUF} is missing: run `make llm-local-setup`")
        peer = Peer(GGUF, RAW / "server.log", n_ctx=4096, alias=ALIAS, chat_format=None)
    base_url = args.base_url or peer.base_url
    try:
        rows = run(pick_cases(args.per_kind, args.offset), base_url, args.timeout, args.max_tokens)
    finally:
        if peer:
            peer.stop()
    return report(rows, args)


def report(rows: list[dict], args: argparse.Namespace) -> int:
    summary = summarise(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(
        json.dumps({"summary": summary, "cases": rows}, ensure_ascii=False, indent=2) + "\n"
    )
    args.out.with_suffix(".md").write_text(markdown(summary, rows, args))
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 1 if summary["kept_failing_recheck"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
