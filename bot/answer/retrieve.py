"""Hybrid retrieval: BM25 + vector search fused by reciprocal rank fusion (RRF).

Prefers passages in the question's language, keeps at most N passages per article, and can
add named sections of the best article (e.g. what to do, where to get help) so the composer
can cite them. It reads a snapshot of the live index and reloads when the pointer moves; the chunks and
the BM25 index of each generation are saved under `<BOT_DATA_DIR>/bm25/` and loaded by later
processes instead of being fetched and tokenised again.
It does not write the index or compose answers.
"""

from __future__ import annotations

import os
import pickle
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.answer.lexical import LexicalIndex, Tokenizer
from bot.records import Chunk, Passage

if TYPE_CHECKING:
    from langchain_chroma import Chroma

    from bot.answer.store import KnowledgeStore, Pointer
    from bot.config import Settings

RRF_K = 60
# Article-level evidence: each chunk also gets this share of its article's best three fused
# scores, so an article that matches in several places outranks a single stray sentence.
# (On eval/datasets/questions.jsonl: hit@1 0.781 -> 0.801 at equal hit@5.)
DOC_BOOST = 0.5
DOC_BOOST_TOP = 3
TOPIC_POOL = 5  # a topic-restricted search looks this many times deeper for that topic's chunks


@dataclass
class Snapshot:
    pointer: Pointer
    vectorstore: Chroma
    chunks: list[Chunk]
    by_id: dict[str, int]
    lexical: LexicalIndex


class Retriever:
    """question -> ranked, deduplicated passages from the live index."""

    def __init__(self, store: KnowledgeStore, tokenizer: Tokenizer, settings: Settings):
        self.store = store
        self.tokenizer = tokenizer
        self.settings = settings
        self._snap: Snapshot | None = None
        self._lock = threading.Lock()

    # --- snapshot ----------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        snap = self._snap
        if snap is None:
            with self._lock:
                if self._snap is None:
                    self._snap = self._load()
                snap = self._snap
        return snap

    def refresh(self) -> bool:
        """Reload if another ingest moved the pointer; True when reloaded."""
        current = self.store.pointer()
        if current is not None and (
            self._snap is None or current.collection != self._snap.pointer.collection
        ):
            snap = self._load()
            with self._lock:
                self._snap = snap
            return True
        return False

    def _load(self) -> Snapshot:
        pointer, vs = self.store.open()
        # Chunks and BM25 are saved per generation: only the first process on a new index
        # fetches every chunk from Chroma and tokenises them
        bm25_dir = Path(self.settings.data_dir) / "bm25"
        chunks = _saved_chunks(bm25_dir, pointer)
        if chunks is not None and len(chunks) != self.store.count(pointer.collection):
            chunks = None  # written to behind the pointer's back: fetch what is there
        if chunks is None:
            chunks = self.store.load_chunks(pointer.collection)
            _save_chunks(bm25_dir, pointer, chunks)
        texts = [_lexical_text(c) for c in chunks]
        lexical = LexicalIndex.cached(texts, self.tokenizer, bm25_dir / pointer.collection)
        _forget_other_generations(bm25_dir, self.store.name, keep=pointer.collection)
        return Snapshot(pointer, vs, chunks, {c.chunk_id: i for i, c in enumerate(chunks)}, lexical)

    def generation(self) -> int | None:
        """The index generation answers are served from (None before the first load)."""
        snap = self._snap
        return snap.pointer.generation if snap is not None else None

    @property
    def chunks(self) -> list[Chunk]:
        return self.snapshot().chunks

    # --- search ------------------------------------------------------------------------
    def vector_ranking(
        self, query: str, n: int, snap: Snapshot | None = None
    ) -> list[tuple[int, float]]:
        snap = snap or self.snapshot()
        vec = self.store.embeddings.embed_query(query)
        hits = snap.vectorstore.similarity_search_by_vector_with_relevance_scores(
            vec, k=min(n, len(snap.chunks))
        )
        out = []
        for doc, distance in hits:
            i = snap.by_id.get(doc.metadata.get("chunk_id", ""))
            if i is not None:
                out.append((i, 1.0 - float(distance)))
        return out

    def lexical_ranking(
        self, query: str, n: int, snap: Snapshot | None = None
    ) -> list[tuple[int, float]]:
        snap = snap or self.snapshot()
        return snap.lexical.top(query, n)

    def search(
        self, query: str, lang: str | None = None, k: int | None = None, topic: str | None = None
    ) -> list[Passage]:
        """Top-k passages for a query, fused, language-preferring, at most N per article.
        With `topic`, only chunks of that topic, from a wider candidate pool (TOPIC_POOL x)."""
        snap = self.snapshot()
        k = k or self.settings.top_k
        n = self.settings.candidates * (TOPIC_POOL if topic else 1)
        fused: dict[int, float] = {}
        for ranking in (self.vector_ranking(query, n, snap), self.lexical_ranking(query, n, snap)):
            for rank, (i, _score) in enumerate(ranking):
                if topic and topic not in snap.chunks[i].topics:
                    continue
                fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank + 1)
        if lang:
            for i in fused:
                if snap.chunks[i].lang != lang:
                    fused[i] *= self.settings.other_lang_weight
        fused = _boost_by_article(fused, snap.chunks)
        per_doc: dict[str, int] = {}
        passages: list[Passage] = []
        for i, score in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0])):
            chunk = snap.chunks[i]
            if per_doc.get(chunk.doc_id, 0) >= self.settings.max_per_doc:
                continue
            per_doc[chunk.doc_id] = per_doc.get(chunk.doc_id, 0) + 1
            passages.append(Passage(chunk, score))
            if len(passages) >= k:
                break
        return passages

    def vector_search(self, query: str, k: int) -> list[Passage]:
        """Nearest chunks by cosine similarity alone (scores in [-1, 1]); used by the check."""
        snap = self.snapshot()
        return [Passage(snap.chunks[i], score) for i, score in self.vector_ranking(query, k, snap)]

    def sections_of(self, doc_id: str, sections: tuple[str, ...]) -> list[Passage]:
        """All chunks of the named sections of one article, in reading order."""
        snap = self.snapshot()
        out = [c for c in snap.chunks if c.doc_id == doc_id and c.section in sections]
        order = {s: i for i, s in enumerate(sections)}
        return [Passage(c, 0.0) for c in sorted(out, key=lambda c: (order[c.section], c.n))]


def _boost_by_article(fused: dict[int, float], chunks: list[Chunk]) -> dict[int, float]:
    per_doc: dict[str, list[float]] = {}
    for i, score in fused.items():
        per_doc.setdefault(chunks[i].doc_id, []).append(score)
    doc_score = {d: sum(sorted(v, reverse=True)[:DOC_BOOST_TOP]) for d, v in per_doc.items()}
    return {i: s + DOC_BOOST * doc_score[chunks[i].doc_id] for i, s in fused.items()}


def _forget_other_generations(bm25_dir: Path, name: str, keep: str) -> None:
    """Drop saved BM25 indexes of this store's other generations (the store drops theirs)."""
    if not bm25_dir.is_dir():
        return
    for path in bm25_dir.iterdir():
        mine = path.name == keep or path.name.startswith(f"{keep}.")
        if path.name.startswith(f"{name}__g") and not mine and ".tmp" not in path.name:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _stamp(pointer: Pointer) -> str:
    """What identifies one generation's content (a recreated store reuses names, not times)."""
    return f"{pointer.collection}|{pointer.generation}|{pointer.updated!r}|{pointer.chunks}"


def _saved_chunks(bm25_dir: Path, pointer: Pointer) -> list[Chunk] | None:
    path = bm25_dir / f"{pointer.collection}.chunks.pkl"
    try:
        stamp, chunks = pickle.loads(path.read_bytes())  # our own file, written below
    except Exception:  # noqa: BLE001 - missing or unreadable: fetch from the store
        return None
    return chunks if stamp == _stamp(pointer) else None


def _save_chunks(bm25_dir: Path, pointer: Pointer, chunks: list[Chunk]) -> None:
    path = bm25_dir / f"{pointer.collection}.chunks.pkl"
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        bm25_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(pickle.dumps((_stamp(pointer), chunks), protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)
    except OSError:  # a read-only data dir only costs the next start its speed
        tmp.unlink(missing_ok=True)


def _lexical_text(chunk: Chunk) -> str:
    """What BM25 sees: the chunk plus its article title (titles carry the scam's name)."""
    return f"{chunk.title}\n{chunk.text}"
