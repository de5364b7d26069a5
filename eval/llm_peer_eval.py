"""`antiscam eval --generator openai` end to end against the llama.cpp protocol peer.

Starts `python -m llama_cpp.server` with Gemma 3 270M on loopback (see tests/llm_peer_server.py),
runs the eval on the datasets where the model writes answers, then stops the server and
summarises what happened to the model's answers: kept (passed the citation check and the
output guard), rejected by the guard (replaced by the extractive answer, with the reasons),
failed (error or timeout, replaced too), and answers that never reached the model (refusals,
off-topic replies). Writes eval/reports/llm-peer/summary.json next to the eval's own report.

The numbers say nothing about answer quality (a tiny base model); they show the path works
and the guard holds. Exit 1 when a case crashed or a shown answer cites nothing.
Usage:  .venv/bin/python eval/llm_peer_eval.py [--limit 8] [--max-tokens 96]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.answer.chain import notice  # noqa: E402
from tests.llm_peer_server import Peer  # noqa: E402

GGUF = ROOT / ".data/models/gemma3-270m-q4_k_m.gguf"
OUT = ROOT / "eval/reports/llm-peer"
DATASETS = ("questions", "victim_questions", "urgent", "injection")


def summarise(cases: list[dict]) -> dict:
    """Fate of each answer; reasons the guard gave, by kind."""
    fate: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    uncited = 0
    for row in cases:
        if row.get("error"):
            fate["crashed"] += 1
            continue
        answer = row["answer"] or {}
        if answer.get("mode") == "openai":
            fate["kept"] += 1
        elif answer.get("rejected"):
            fate["guard_rejected"] += 1
            # "grounding 0.25 < 0.6" and "grounding 0.0 < 0.6" are one kind of reason
            reasons.update(
                re.sub(r"\d+(?:\.\d+)?", "N", r.split(":")[0]) for r in answer["rejected"]
            )
        elif answer.get("notice") == notice("llm_failed", answer.get("lang") or "en"):
            fate["failed_or_timeout"] += 1
        else:
            fate["no_model_call"] += 1  # refusals, off-topic and urgent-only replies
        if answer.get("mode") == "openai" and not answer.get("citations"):
            uncited += 1
    called = fate["kept"] + fate["guard_rejected"] + fate["failed_or_timeout"]
    return {
        "cases": len(cases),
        "fate": dict(fate),
        "model_called": called,
        "fallback_rate": round((called - fate["kept"]) / called, 3) if called else None,
        "guard_rejection_rate": round(fate["guard_rejected"] / called, 3) if called else None,
        "guard_reasons": dict(reasons.most_common()),
        "model_answers_without_citations": uncited,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=8, help="rows per dataset")
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per model call")
    args = ap.parse_args()
    if not GGUF.is_file():
        raise SystemExit(f"{GGUF} is missing: run `make llm-peer-setup`")
    OUT.mkdir(parents=True, exist_ok=True)
    peer = Peer(GGUF, OUT / "server.log")
    try:
        env = {
            **os.environ,
            "BOT_GENERATOR": "openai",
            "OPENAI_BASE_URL": peer.base_url,
            "OPENAI_API_KEY": "not-needed",
            "BOT_OPENAI_MODEL": "gemma3-270m",
            "BOT_LLM_TIMEOUT": str(args.timeout),
            "BOT_LLM_MAX_RETRIES": "0",
            "BOT_LLM_MAX_TOKENS": str(args.max_tokens),
        }
        cmd = [sys.executable, "-m", "bot.cli", "eval", "--generator", "openai",
               "--limit", str(args.limit), "--out", str(OUT), "--datasets", *DATASETS]  # fmt: skip
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    finally:
        peer.stop()
    cases = [json.loads(x) for x in (OUT / "cases.jsonl").read_text().splitlines() if x.strip()]
    summary = summarise(cases)
    (OUT / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    bad = summary["fate"].get("crashed", 0) + summary["model_answers_without_citations"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
