"""Retrieval metrics: hit@1, hit@5 and MRR of the expected topics, by topic and language.

A case's question goes through the same retrieval query the answer chain builds (a short
follow-up is joined to the previous user turn, `AnswerChain.retrieval_query`) and then
`Retriever.search`, in the question's detected language, as the responder does. A passage
is relevant when it carries one of the case's expected topics; the rank is that of the first
relevant passage among the top `DEPTH` (MRR counts 0 beyond it).

- overall and per language: a case hits when any expected topic is found;
- per topic: each expected topic of a case is scored on its own (the rank of the first
  passage carrying *that* topic), so a topic that is never found shows up.

This module does not answer questions and does not judge the answer text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from bot.answer.chain import Turn
from bot.evaluation.stats import mean, rate
from bot.lang import detect_lang

if TYPE_CHECKING:
    from bot.app import Deps

DEPTH = 10


def retrieval_query(deps: Deps, question: str, history: list[dict] | None, lang: str | None) -> str:
    """The query the chain would retrieve with for this question and history."""
    lang = lang if lang in ("zh", "en") else detect_lang(question)
    return deps.chain.retrieval_query(
        Turn(question=question, lang=lang, history=list(history or []))
    )


def retrieve(
    deps: Deps, question: str, history: list[dict] | None = None, depth: int = DEPTH
) -> dict[str, Any]:
    """Run retrieval as the chain does; the query and the ranked passages' doc ids and topics."""
    lang = detect_lang(question)
    query = retrieval_query(deps, question, history, lang)
    passages = deps.retriever.search(query, lang=lang, k=depth)
    return {
        "query": query,
        "docs": [p.chunk.doc_id for p in passages],
        "topics": [list(p.chunk.topics) for p in passages],
    }


def first_rank(ranked_topics: Sequence[Iterable[str]], expected: Iterable[str]) -> int | None:
    """1-based rank of the first passage carrying any expected topic, or None."""
    want = set(expected)
    for rank, topics in enumerate(ranked_topics, start=1):
        if want & set(topics):
            return rank
    return None


def rank_scores(rank: int | None) -> dict[str, Any]:
    return {
        "rank": rank,
        "hit@1": rank is not None and rank <= 1,
        "hit@5": rank is not None and rank <= 5,
        "rr": round(1.0 / rank, 4) if rank else 0.0,
    }


def case_scores(ranked_topics: Sequence[Iterable[str]], expected: Sequence[str]) -> dict[str, Any]:
    """Scores of one case, plus the rank of each expected topic on its own."""
    ranked = [list(t) for t in ranked_topics]
    scores = rank_scores(first_rank(ranked, expected))
    scores["by_topic"] = {t: first_rank(ranked, [t]) for t in expected}
    return scores


def _aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "n": len(rows),
        "hit@1": rate(r["hit@1"] for r in rows),
        "hit@5": rate(r["hit@5"] for r in rows),
        "mrr": mean(r["rr"] for r in rows),
    }


def summarize(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Aggregate over results that have `scores.retrieval`; None when there are none."""
    scored = [(r, r["scores"]["retrieval"]) for r in results if r["scores"].get("retrieval")]
    if not scored:
        return None
    by_lang: dict[str, list] = defaultdict(list)
    by_dataset: dict[str, list] = defaultdict(list)
    by_topic: dict[str, list] = defaultdict(list)
    for r, s in scored:
        by_lang[r["lang"]].append(s)
        by_dataset[r["dataset"]].append(s)
        for topic, rank in s["by_topic"].items():
            by_topic[topic].append(rank_scores(rank) | {"lang": r["lang"]})
    topics = {}
    for topic in sorted(by_topic):
        rows = by_topic[topic]
        topics[topic] = _aggregate(rows) | {
            lang: _aggregate([x for x in rows if x["lang"] == lang])
            for lang in ("zh", "en")
            if any(x["lang"] == lang for x in rows)
        }
    return {
        "depth": DEPTH,
        "overall": _aggregate([s for _, s in scored]),
        "by_lang": {k: _aggregate(v) for k, v in sorted(by_lang.items())},
        "by_dataset": {k: _aggregate(v) for k, v in sorted(by_dataset.items())},
        "by_topic": topics,
    }
