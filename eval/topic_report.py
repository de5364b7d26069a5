"""Measure the question -> named-pattern model (bot/answer/topic_model.py); JSON to stdout.

Two parts:
- **training batches, each left out**: the model is trained on the knowledge-base chunks and
  the other written batches, and measured on the batch it did not see (top-1 topic accuracy
  on in-scope rows; P(none) on out-of-domain rows). This is where the floors in
  bot/answer/topic_model.yaml are chosen (`--floors` prints a grid).
- **evaluation sets, never trained on**: eval/datasets questions, victim_questions and
  questions_q2 (named-pattern accuracy per language and group, and how often an in-scope
  question is wrongly called out of scope), offtopic and offtopic_q2 (share called out of
  scope). These are measured with the shipped model and the shipped floors.

Usage: .venv/bin/python eval/topic_report.py [--floors] [--no-eval]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.answer.topic_model import (  # noqa: E402
    NONE,
    Prediction,
    QuestionTopics,
    chunk_examples,
    decide,
    load_settings,
    load_training,
)
from bot.app import build_app  # noqa: E402
from bot.config import Settings, enforce_offline  # noqa: E402

DATASETS = ROOT / "eval" / "datasets"
NOT_PATTERNS = ("reporting-and-help",)


def _rows(name: str) -> list[dict]:
    path = DATASETS / f"{name}.jsonl"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            topics = r.get("topics") or ([r["topic"]] if r.get("topic") else [])
            text = r.get("question") or r.get("text")
            out.append(
                {"text": text, "lang": r["lang"], "topics": topics, "group": r.get("group", "")}
            )
    return out


def _predict(model: QuestionTopics, texts: list[str]) -> list[Prediction]:
    classes, probs = model.probabilities(texts)
    out = []
    for row in probs:
        p_none = float(row[classes.index(NONE)]) if NONE in classes else 0.0
        best = max((i for i in range(len(classes)) if classes[i] != NONE), key=lambda i: row[i])
        out.append(Prediction(classes[best], float(row[best]), p_none))
    return out


def _rate(hits: list[bool]) -> float | None:
    return round(sum(hits) / len(hits), 4) if hits else None


def measure(preds: list[Prediction], rows: list[dict], floors: dict[str, float]) -> dict:
    decided = [decide(p, floors, NOT_PATTERNS) for p in preds]
    in_scope = [(d, p, r) for d, p, r in zip(decided, preds, rows, strict=True) if r["topics"]]
    ood = [d for d, r in zip(decided, rows, strict=True) if not r["topics"]]
    out: dict = {"n": len(rows)}
    if in_scope:
        out["top1"] = _rate([p.topic in r["topics"] for _, p, r in in_scope])
        out["named_ok"] = _rate([d.topic in r["topics"] for d, _, r in in_scope])
        out["named_share"] = _rate([d.topic is not None for d, _, _ in in_scope])
        out["false_out_of_scope"] = _rate([d.out_of_scope for d, _, _ in in_scope])
    if ood:
        out["out_of_scope"] = _rate([d.out_of_scope for d in ood])
        out["ood_named"] = _rate([d.topic is not None for d in ood])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--floors", action="store_true", help="print a floor grid on left-out batches")
    ap.add_argument("--no-eval", action="store_true", help="skip the evaluation sets")
    ap.add_argument("--c", type=float, help="regularisation C instead of topic_model.yaml's")
    args = ap.parse_args(argv)
    enforce_offline()

    # the product's model: the live index's chunks with the vectors the store holds for them
    deps = build_app(Settings.from_env())
    snap = deps.retriever.snapshot()
    stored = deps.store.chunk_vectors(snap.pointer.collection)
    vectors = {f"{c.title}\n{c.text}": stored[c.chunk_id] for c in snap.chunks}
    training = load_training()
    embed = deps.embeddings.embed_queries_np
    floors, c = load_settings()
    c = args.c if args.c is not None else c
    model = QuestionTopics(
        chunk_examples(snap.chunks) + training,
        embed,
        c=c,
        cache_dir=deps.settings.cache_dir,
        vectors=vectors,
    )
    result: dict = {"floors": floors, "training": {}, "eval": {}}

    # each written batch left out
    batches = sorted({e.batch for e in training})
    left_preds, left_rows = [], []
    for batch in batches:
        held = [e for e in training if e.batch == batch]
        rows = [
            {"text": e.text, "lang": e.lang, "topics": [] if e.topic == NONE else [e.topic]}
            for e in held
        ]
        preds = _predict(model.leave_out(batch), [r["text"] for r in rows])
        left_preds += preds
        left_rows += rows
        result["training"][batch] = {
            lang: measure(
                [p for p, r in zip(preds, rows, strict=True) if r["lang"] == lang],
                [r for r in rows if r["lang"] == lang],
                floors,
            )
            for lang in ("zh", "en")
        }
    if args.floors:
        grid = []
        for pf in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3):
            for nf in (0.4, 0.5, 0.6, 0.7):
                for kf in (0.15, 0.25):
                    for uf in (1.01, 0.15, 0.2, 0.25, 0.3, 0.35):
                        f = {"pattern_floor": pf, "none_floor": nf, "keep_floor": kf}
                        f["unnamed_none_floor"] = uf
                        m = measure(left_preds, left_rows, f)
                        grid.append({**f, **m})
        # the shipped floors plus "none beats the best topic by this factor"
        for ratio in (None, 0.8, 1.0, 1.25, 1.5, 2.0):
            f = {**floors, "none_over_topic": ratio} if ratio else dict(floors)
            grid.append({**f, **measure(left_preds, left_rows, f)})
        result["floor_grid"] = grid

    if not args.no_eval:
        for name in ("questions", "victim_questions", "questions_q2", "offtopic", "offtopic_q2"):
            rows = _rows(name)
            if name.startswith("offtopic"):
                for r in rows:
                    r["topics"] = []
            preds = _predict(model, [r["text"] for r in rows])
            groups: dict[str, list[int]] = defaultdict(list)
            for i, r in enumerate(rows):
                groups[r["lang"]].append(i)
                if r["group"]:
                    groups[f"{r['group']}:{r['lang']}"].append(i)
            result["eval"][name] = {
                g: measure([preds[i] for i in idx], [rows[i] for i in idx], floors)
                for g, idx in sorted(groups.items())
            }
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
