"""Small typed records passed between pipeline stages.

Only data lives here: no I/O, no models. `Chunk` is what ingest produces and the store keeps;
`Passage` is a retrieved chunk with its score; `Citation` and `Answer` are what callers get.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Chunk:
    """A piece of one section of one article, never spanning two sections."""

    chunk_id: str  # stable: "<doc_id>#<section>#<n>"
    doc_id: str
    section: str
    n: int
    text: str
    title: str
    lang: str
    topics: tuple[str, ...]
    url: str
    source_title: str
    publisher: str = ""
    date: str = ""
    path: str = ""
    content_hash: str = ""

    @property
    def embed_text(self) -> str:
        """What gets embedded: the article title gives each short chunk its context."""
        return f"{self.title}\n{self.text}"

    def metadata(self) -> dict[str, Any]:
        """Flat metadata for the vector store (Chroma takes scalars only)."""
        return {
            "doc_id": self.doc_id,
            "chunk_id": self.chunk_id,
            "section": self.section,
            "n": self.n,
            "title": self.title,
            "lang": self.lang,
            "topics": ",".join(self.topics),
            "url": self.url,
            "source_title": self.source_title,
            "publisher": self.publisher,
            "date": self.date,
            "path": self.path,
            "content_hash": self.content_hash,
        }

    @classmethod
    def from_metadata(cls, text: str, meta: dict[str, Any]) -> Chunk:
        return cls(
            chunk_id=meta["chunk_id"],
            doc_id=meta["doc_id"],
            section=meta["section"],
            n=int(meta["n"]),
            text=text,
            title=meta["title"],
            lang=meta["lang"],
            topics=tuple(t for t in str(meta.get("topics", "")).split(",") if t),
            url=meta.get("url", ""),
            source_title=meta.get("source_title", ""),
            publisher=meta.get("publisher", ""),
            date=meta.get("date", ""),
            path=meta.get("path", ""),
            content_hash=meta.get("content_hash", ""),
        )


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused retrieval score (higher is better)."""

    chunk: Chunk
    score: float

    @property
    def text(self) -> str:
        return self.chunk.text


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    chunk_id: str
    title: str
    url: str
    topics: tuple[str, ...]
    quote: str
    publisher: str = ""
    date: str = ""
    source_title: str = ""
    # One citation per article: every cited passage of it, as {"chunk_id", "quote"}, in order
    # of first use (`chunk_id` and `quote` above are the first one's id and all their texts).
    passages: tuple[dict[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["topics"] = list(self.topics)
        d["passages"] = [dict(x) for x in self.passages] or [
            {"chunk_id": self.chunk_id, "quote": self.quote}
        ]
        return d


@dataclass
class Answer:
    """What every front end shows. Field names follow the batch output contract."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    lang: str = "zh"
    mode: str = "extractive"
    notice: str | None = None
    refused: bool = False
    urgent: bool = False
    verdict: str | None = None
    topics: list[str] = field(default_factory=list)
    grounded: float | None = None
    triage: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
