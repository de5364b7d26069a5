"""The Chroma vector store: versioned collections, incremental sync and a pointer to the live one.

Each ingest writes a new generation collection (`<name>__g<N>`), copying the vectors of
unchanged chunks and embedding only new or changed ones, then flips one pointer. Until the
flip, readers keep using the previous generation, so an interrupted ingest changes nothing;
the previous generation is kept for readers still holding it. We always hand Chroma our own
vectors; its default embedding function (which downloads a model) is never used.
This module does not tokenize, rank or compose anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma

from bot.records import Chunk

if TYPE_CHECKING:
    from bot.answer.embeddings import LocalEmbeddings
    from bot.config import Settings

_BATCH = 512
_GET_PAGE = 5000


class IndexMismatch(Exception):
    """The index was built with another embedder than the one configured."""


class StoreUnavailable(Exception):
    """The Chroma server cannot be reached (or the index is missing)."""


def make_client(settings: Settings) -> chromadb.ClientAPI:
    """Embedded PersistentClient under data_dir, or an HttpClient when CHROMA_HOST is set."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        except Exception as exc:  # chromadb raises several types on connect
            raise StoreUnavailable(
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port}: {exc}"
            ) from exc
    path = settings.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


@dataclass(frozen=True)
class Pointer:
    collection: str
    generation: int
    embedder: str
    dim: int
    chunks: int
    updated: float


@dataclass(frozen=True)
class SyncReport:
    unchanged: bool
    added: int
    reused: int
    removed: int
    total: int
    embed_seconds: float
    seconds: float
    collection: str


class KnowledgeStore:
    """Generational Chroma collections for one knowledge base, behind a pointer."""

    def __init__(self, client: chromadb.ClientAPI, name: str, embeddings: LocalEmbeddings):
        self.client = client
        self.name = name
        self.embeddings = embeddings

    # --- pointer -----------------------------------------------------------------------
    def _meta(self) -> Any:
        return self.client.get_or_create_collection(
            f"{self.name}__meta", embedding_function=None, metadata={"kind": "pointer"}
        )

    def pointer(self) -> Pointer | None:
        """The live generation, or None when nothing was ingested yet."""
        try:
            meta = self._meta().metadata or {}
        except Exception as exc:
            raise StoreUnavailable(f"the vector store is unavailable: {exc}") from exc
        if "active" not in meta:
            return None
        return Pointer(
            collection=str(meta["active"]),
            generation=int(meta["generation"]),
            embedder=str(meta["embedder"]),
            dim=int(meta["dim"]),
            chunks=int(meta.get("chunks", 0)),
            updated=float(meta.get("updated", 0)),
        )

    def _flip(self, p: Pointer) -> None:
        self._meta().modify(
            metadata={
                "kind": "pointer",
                "active": p.collection,
                "generation": p.generation,
                "embedder": p.embedder,
                "dim": p.dim,
                "chunks": p.chunks,
                "updated": p.updated,
            }
        )

    def check_embedder(self, p: Pointer) -> None:
        if p.embedder != self.embeddings.id or p.dim != self.embeddings.dim:
            raise IndexMismatch(
                f"the index was built with embedder {p.embedder} ({p.dim}-d) but "
                f"{self.embeddings.id} ({self.embeddings.dim}-d) is configured; "
                "run `antiscam ingest --rebuild` or switch BOT_EMBEDDER back"
            )

    # --- reading -----------------------------------------------------------------------
    def open(self) -> tuple[Pointer, Chroma]:
        """The live pointer and a LangChain Chroma store over its collection."""
        p = self.pointer()
        if p is None:
            raise StoreUnavailable("no index yet: run `antiscam ingest` first")
        self.check_embedder(p)
        vs = Chroma(
            collection_name=p.collection,
            embedding_function=self.embeddings,
            client=self.client,
            create_collection_if_not_exists=False,
        )
        return p, vs

    def load_chunks(self, collection: str) -> list[Chunk]:
        col = self.client.get_collection(collection, embedding_function=None)
        got = get_all(col, ["documents", "metadatas"])
        chunks = [
            Chunk.from_metadata(d, m)
            for d, m in zip(got["documents"], got["metadatas"], strict=True)
        ]
        return sorted(chunks, key=lambda c: (c.doc_id, c.chunk_id))

    def count(self, collection: str) -> int:
        """How many chunks a collection holds (one cheap call)."""
        return int(self.client.get_collection(collection, embedding_function=None).count())

    def chunk_vectors(self, collection: str) -> dict[str, np.ndarray]:
        """chunk_id -> the vector stored for it at ingest (no embedding happens here)."""
        col = self.client.get_collection(collection, embedding_function=None)
        got = get_all(col, ["metadatas", "embeddings"])
        return {
            m["chunk_id"]: np.asarray(e, dtype=np.float32)
            for m, e in zip(got["metadatas"], got["embeddings"], strict=True)
        }

    # --- writing -----------------------------------------------------------------------
    def sync(
        self,
        chunks: list[Chunk],
        rebuild: bool = False,
        progress: Callable[[int], None] | None = None,
        batch_size: int = 32,
    ) -> SyncReport:
        """Make the live index equal `chunks`, re-embedding only what changed."""
        t0 = time.perf_counter()
        old = self.pointer()
        if old is not None and not rebuild:
            self.check_embedder(old)
        wanted = {c.chunk_id: c for c in chunks}
        if len(wanted) != len(chunks):
            raise ValueError("duplicate chunk ids")
        existing: dict[str, str] = {}
        if old is not None and not rebuild:
            col = self.client.get_collection(old.collection, embedding_function=None)
            got = get_all(col, ["metadatas"])
            existing = {
                i: str(m.get("content_hash", ""))
                for i, m in zip(got["ids"], got["metadatas"], strict=True)
            }
            if existing == {c.chunk_id: c.content_hash for c in chunks}:
                return SyncReport(
                    True,
                    0,
                    len(chunks),
                    0,
                    len(chunks),
                    0.0,
                    time.perf_counter() - t0,
                    old.collection,
                )

        generation = (old.generation + 1) if old else 1
        name = f"{self.name}__g{generation}"
        self._drop(name)  # left over from an interrupted run
        new = self.client.create_collection(
            name, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )
        reuse = [cid for cid, c in wanted.items() if existing.get(cid) == c.content_hash]
        fresh = [c for cid, c in wanted.items() if existing.get(cid) != c.content_hash]
        if reuse and old is not None:
            old_col = self.client.get_collection(old.collection, embedding_function=None)
            for ids in _batches(reuse, _BATCH):
                got = old_col.get(ids=ids, include=["embeddings", "documents", "metadatas"])
                new.add(
                    ids=got["ids"],
                    embeddings=got["embeddings"],
                    documents=got["documents"],
                    metadatas=got["metadatas"],
                )
                if progress:
                    progress(len(ids))
        embed_seconds = 0.0
        for batch in _batches(fresh, batch_size):
            e0 = time.perf_counter()
            vectors = self.embeddings.embed_documents_np([c.embed_text for c in batch])
            embed_seconds += time.perf_counter() - e0
            new.add(
                ids=[c.chunk_id for c in batch],
                embeddings=vectors,
                documents=[c.text for c in batch],
                metadatas=[c.metadata() for c in batch],
            )
            if progress:
                progress(len(batch))
        self._flip(
            Pointer(
                name, generation, self.embeddings.id, self.embeddings.dim, len(chunks), time.time()
            )
        )
        self._collect_garbage(keep={name, old.collection if old else name})
        removed = len(set(existing) - set(wanted))
        return SyncReport(
            False,
            len(fresh),
            len(reuse),
            removed,
            len(chunks),
            embed_seconds,
            time.perf_counter() - t0,
            name,
        )

    def _drop(self, name: str) -> None:
        try:
            self.client.delete_collection(name)
        except Exception:  # noqa: BLE001 - absent collection is fine
            pass

    def _collect_garbage(self, keep: set[str]) -> None:
        prefix = f"{self.name}__g"
        for col in self.client.list_collections():
            col_name = col if isinstance(col, str) else col.name
            if col_name.startswith(prefix) and col_name not in keep:
                self._drop(col_name)


def get_all(col: Any, include: list[str], page: int = _GET_PAGE) -> dict[str, list]:
    """Every record of a collection, fetched in pages.

    One unbounded `get` fails past ~32k records ("too many SQL variables" from SQLite),
    embedded or through a server, so large indexes are read `page` records at a time.
    """
    out: dict[str, list] = {"ids": [], **{k: [] for k in include}}
    offset = 0
    while True:
        got = col.get(include=include, limit=page, offset=offset)
        for key in out:
            out[key].extend(got[key])
        if len(got["ids"]) < page:
            return out
        offset += page


def _batches(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
