"""Check an answer's citations against the passages it was generated from.

Markers like [3] or [1, 2] must point to a passage that was handed to the generator; the
rest are removed. Citations point to articles: valid markers are renumbered 1..m by the
article of their passage, in order of first use, so passages of one article share one number
and the source list never repeats an article; each Citation keeps every cited passage of its
article (`Citation.passages`). Fact checks beyond citations (numbers, URLs, promises) and the
grounding score live in `guard.py`. This module never calls a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.records import Citation, Passage

_MARKER = re.compile(r"\[(\s*\d+(?:\s*[,，、]\s*\d+)*\s*)\]")


@dataclass(frozen=True)
class Verified:
    text: str
    citations: list[Citation]
    removed: list[int]  # marker numbers that pointed to no passage
    cited_passages: list[Passage]


def verify_citations(text: str, passages: list[Passage]) -> Verified:
    """Strip markers that point nowhere; renumber the rest by article; build citations."""
    article_no: dict[str, int] = {}  # doc_id -> citation number
    by_article: dict[str, list[Passage]] = {}
    removed: list[int] = []
    cited: list[Passage] = []

    def replace(m: re.Match[str]) -> str:
        out = []
        for raw in re.split(r"[,，、]", m.group(1)):
            n = int(raw.strip())
            if 1 <= n <= len(passages):
                p = passages[n - 1]
                doc = p.chunk.doc_id
                if doc not in article_no:
                    article_no[doc] = len(article_no) + 1
                    by_article[doc] = []
                if p not in cited:
                    cited.append(p)
                    by_article[doc].append(p)
                out.append(f"[{article_no[doc]}]")
            else:
                removed.append(n)
        return "".join(dict.fromkeys(out))

    new_text = _MARKER.sub(replace, text)
    new_text = re.sub(r"[ \t]+([。！？.!?])", r"\1", new_text)
    citations = [article_citation(article_no[doc], by_article[doc]) for doc in article_no]
    return Verified(new_text, citations, removed, cited)


def article_citation(n: int, passages: list[Passage]) -> Citation:
    """Citation number `n` for one article, from its cited passages (at least one)."""
    first = passages[0].chunk
    return Citation(
        n=n,
        doc_id=first.doc_id,
        chunk_id=first.chunk_id,
        title=first.title,
        url=first.url,
        topics=first.topics,
        quote="\n".join(p.chunk.text for p in passages),
        publisher=first.publisher,
        date=first.date,
        source_title=first.source_title,
        passages=tuple({"chunk_id": p.chunk.chunk_id, "quote": p.chunk.text} for p in passages),
    )


def markers(text: str) -> list[int]:
    """Every citation number used in a text, in order."""
    out: list[int] = []
    for m in _MARKER.finditer(text):
        out.extend(int(x.strip()) for x in re.split(r"[,，、]", m.group(1)))
    return out
