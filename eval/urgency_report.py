"""Measure the urgency model (bot/safety/urgency.py) and triage's urgent label; JSON out.

- **training batches, each left out**: P(urgent) from the model trained without the batch,
  on that batch's urgent and calm rows, for a grid of thresholds (choose
  `urgency.threshold` in bot/safety/triage_rules.yaml here);
- **the whole triage on each batch left out** (`triage_left_out`: rules plus the urgency and
  intent models trained without the batch): urgent recall per language, the topics below 1.0
  (per topic and language), calm victims called urgent, urgent victims refused;
- **evaluation sets, never trained on**, through the whole triage (rules + shipped model):
  urgent recall on eval/datasets/urgent.jsonl and urgent_u2.jsonl (per topic, totals only),
  and how often victims and askers whose money is not moving are labelled urgent
  (victim_questions, victim_u2, questions, questions_q2).

Usage: .venv/bin/python eval/urgency_report.py [--no-eval]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.answer.embeddings import E5Embeddings  # noqa: E402
from bot.config import Settings, enforce_offline  # noqa: E402
from bot.safety.triage import Label, Triager  # noqa: E402
from bot.safety.urgency import TRAINING_DIR, URGENT, UrgencyModel, load_urgency_examples  # noqa: E402
from bot.text_model import read_labelled  # noqa: E402

DATASETS = ROOT / "eval" / "datasets"


def _rows(name: str) -> list[dict]:
    out = []
    for line in (DATASETS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            topic = r.get("topic") or (r.get("topics") or [""])[0]
            out.append(
                {"text": r.get("text") or r.get("question"), "lang": r["lang"], "topic": topic}
            )
    return out


def _rate(hits: list[bool]) -> float | None:
    return round(sum(hits) / len(hits), 4) if hits else None


def _triage_left_out(triager: Triager, model: UrgencyModel, examples: list) -> dict:
    """The whole triage (rules + urgency and intent models, both trained without the batch)
    on each written batch of victims' messages. `steps_first`: the urgent victims whose reply
    opens with the right-now steps (labelled urgent, or refused with `also_urgent`), per
    language and, below 1.0, per topic and language (the issue's measure); `refused`: urgent
    victims refused (`refused_without_steps`: of them, without the steps); `false_urgent`:
    calm victims given the steps."""
    # each written row's scam topic (the model's own label is urgent / calm)
    scam_topic = {r.text: r.topic for r in read_labelled(TRAINING_DIR, "topic")}
    out: dict = {}
    for batch in sorted({e.batch for e in examples} - {"triage_examples"}):
        held = [e for e in examples if e.batch == batch]
        left = copy.copy(triager)
        left.urgency = model.leave_out(batch)
        if triager.intent is not None:
            left.intent = triager.intent.leave_out(batch)
        results = [left.classify(e.text, e.lang) for e in held]
        first = [t.label is Label.URGENT or t.also_urgent for t in results]
        steps: dict[str, list[bool]] = defaultdict(list)
        calm: dict[str, list[bool]] = defaultdict(list)
        refused = [0, 0]
        for e, t, f in zip(held, results, first, strict=True):
            if e.topic == URGENT:
                steps[f"{scam_topic.get(e.text, '')}:{e.lang}"].append(f)
                steps[e.lang].append(f)
                if t.label is Label.HARMFUL:
                    refused[0] += 1
                    refused[1] += not f
            else:
                calm[e.lang].append(f)
        out[batch] = {
            "steps_first": {k: _rate(v) for k, v in sorted(steps.items()) if ":" not in k},
            "false_urgent": {k: _rate(v) for k, v in sorted(calm.items())},
            "refused": refused[0],
            "refused_without_steps": refused[1],
            "topics_below_1": {
                k: f"{sum(v)}/{len(v)}" for k, v in sorted(steps.items()) if ":" in k and not all(v)
            },
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-eval", action="store_true")
    args = ap.parse_args(argv)
    enforce_offline()
    e5 = E5Embeddings()
    memo: dict[str, np.ndarray] = {}

    def embed(texts: list[str]) -> np.ndarray:
        """e5 query vectors, each text embedded once per run (the models left out reuse them)."""
        missing = [t for t in dict.fromkeys(texts) if t not in memo]
        if missing:
            memo.update(zip(missing, e5.embed_queries_np(missing), strict=True))
        return np.stack([memo[t] for t in texts])

    cache = Settings.from_env().cache_dir
    examples = load_urgency_examples()
    model = UrgencyModel(examples, embed, cache_dir=cache)
    result: dict = {"training": {}, "grid": []}
    scored: list[tuple[float, bool]] = []
    for batch in sorted({e.batch for e in examples}):
        held = [e for e in examples if e.batch == batch]
        left = model.leave_out(batch)
        classes, probs = left.probabilities([e.text for e in held])
        p = probs[:, classes.index(URGENT)]
        pairs = [(float(x), e.topic == URGENT) for x, e in zip(p, held, strict=True)]
        scored += pairs
        result["training"][batch] = {
            "n": len(held),
            "recall@0.5": _rate([x >= 0.5 for x, u in pairs if u]),
            "false_urgent@0.5": _rate([x >= 0.5 for x, u in pairs if not u]),
        }
    for t in (0.3, 0.4, 0.5, 0.6, 0.7):
        result["grid"].append(
            {
                "threshold": t,
                "recall": _rate([x >= t for x, u in scored if u]),
                "false_urgent": _rate([x >= t for x, u in scored if not u]),
            }
        )
    if not args.no_eval:
        triager = Triager.from_files(embed=embed, cache_dir=cache)
        result["triage_left_out"] = _triage_left_out(triager, model, examples)
        for name in (
            "urgent",
            "urgent_u2",
            "victim_questions",
            "victim_u2",
            "questions",
            "questions_q2",
            "offtopic",
            "offtopic_q2",
        ):
            rows = _rows(name)
            urgent = [triager.classify(r["text"], r["lang"]).label is Label.URGENT for r in rows]
            block: dict = {"n": len(rows), "urgent": _rate(urgent)}
            by_topic: dict[str, list[bool]] = defaultdict(list)
            by_lang: dict[str, list[bool]] = defaultdict(list)
            for r, u in zip(rows, urgent, strict=True):
                by_lang[r["lang"]].append(u)
                if r["topic"]:
                    by_topic[r["topic"]].append(u)
            block["by_lang"] = {k: _rate(v) for k, v in sorted(by_lang.items())}
            if name.startswith("urgent"):
                block["by_topic"] = {k: f"{sum(v)}/{len(v)}" for k, v in sorted(by_topic.items())}
            result[name] = block
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
