"""`antiscam bench`: speed of ingest and answers on the shipped knowledge, as JSON.

Measures (2 cores, extractive generator): ingest time against the raw embedder time on the
same chunks (ratio), re-ingest of an unchanged corpus, per-stage answer latency (query
embedding, vector search, BM25, fusion, compose, verify) and end-to-end `ask` p50/p95 over
the eval questions. Numbers, not asserts: tests never time anything.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.config import ROOT, Settings


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    i = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return round(values[i], 2)


def _summary(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": _pct(ms, 50),
        "p95_ms": _pct(ms, 95),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else 0.0,
        "n": len(ms),
    }


def load_questions(path: Path, limit: int) -> list[dict[str, Any]]:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return rows[:limit]


def bench_core(settings: Settings, questions: list[dict[str, Any]]) -> dict[str, Any]:
    from bot.app import build_app
    from bot.compose import ExtractiveComposer  # noqa: F401  (same composer the chain uses)
    from bot.ingest import build_chunks, ingest
    from bot.retrieve import RRF_K
    from bot.verify import verify_citations

    deps = build_app(settings)
    chunks = build_chunks(settings.knowledge_dir)
    texts = [c.embed_text for c in chunks]
    deps.embeddings.embed_documents_np(texts[:2])  # load the model before timing

    t0 = time.perf_counter()
    for i in range(0, len(texts), settings.embed_batch):
        deps.embeddings.embed_documents_np(texts[i : i + settings.embed_batch])
    raw = time.perf_counter() - t0

    t0 = time.perf_counter()
    report = ingest(
        deps.store, settings.knowledge_dir, rebuild=True, batch_size=settings.embed_batch
    )
    full = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = ingest(deps.store, settings.knowledge_dir)
    reingest = time.perf_counter() - t0

    retriever, chain = deps.retriever, deps.chain
    retriever.snapshot()
    chain.answer("warm up 预热")
    stages: dict[str, list[float]] = {
        k: [] for k in ("query_embedding", "vector_search", "bm25", "fusion", "compose", "verify")
    }
    total: list[float] = []
    for row in questions:
        q, lang = row["question"], row.get("lang")
        snap = retriever.snapshot()
        t = time.perf_counter()
        vec = deps.embeddings.embed_query(q)
        stages["query_embedding"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        snap.vectorstore.similarity_search_by_vector_with_relevance_scores(
            vec, k=settings.candidates
        )
        stages["vector_search"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        lex = retriever.lexical_ranking(q, settings.candidates, snap)
        stages["bm25"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        fused: dict[int, float] = {}
        for rank, (i, _s) in enumerate(lex):
            fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank + 1)
        stages["fusion"].append((time.perf_counter() - t) * 1000)
        passages = chain._expand(retriever.search(q, lang=lang), lang or "zh")
        t = time.perf_counter()
        text = chain.composer.compose(q, lang or "zh", passages)
        stages["compose"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        verify_citations(text, passages)
        stages["verify"].append((time.perf_counter() - t) * 1000)

        t = time.perf_counter()
        chain.answer(q, row.get("history"), lang)
        total.append((time.perf_counter() - t) * 1000)
    return {
        "chunks": report.total,
        "embedder": deps.embeddings.id,
        "ingest_seconds": round(full, 2),
        "raw_embed_seconds": round(raw, 2),
        "ingest_over_raw_embedder": round(full / raw, 3) if raw else None,
        "reingest_unchanged_seconds": round(reingest, 3),
        "reingest_unchanged": again.unchanged,
        "ask_extractive": _summary(total),
        "stages": {k: _summary(v) for k, v in stages.items()},
    }


def run(out: Path | None = None, questions: int = 120) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="antiscam-bench-"))
    try:
        settings = Settings.from_env(
            data_dir=tmp / "data", chroma_host=None, generator="extractive"
        )
        result = {
            "core": bench_core(
                settings, load_questions(ROOT / "eval/datasets/questions.jsonl", questions)
            )
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return result
