"""`store.get_all` reads a collection in pages (one unbounded get fails past ~32k records)."""

from __future__ import annotations

import chromadb
from chromadb.config import Settings as ChromaSettings

from bot.answer.store import get_all


def test_get_all_reads_every_record_in_pages(tmp_path) -> None:
    client = chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    col = client.create_collection("pages", embedding_function=None)
    ids = [f"id{i:03d}" for i in range(23)]
    col.add(
        ids=ids,
        embeddings=[[float(i), 1.0] for i in range(23)],
        documents=[f"doc {i}" for i in ids],
        metadatas=[{"n": i} for i in range(23)],
    )
    for page in (5, 23, 100):
        got = get_all(col, ["documents", "metadatas"], page=page)
        assert sorted(got["ids"]) == ids and len(got["ids"]) == 23
        assert all(d == f"doc {i}" for i, d in zip(got["ids"], got["documents"], strict=True))
        assert all(ids[m["n"]] == i for i, m in zip(got["ids"], got["metadatas"], strict=True))
