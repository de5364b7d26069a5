"""Check an answer's citations against the passages it was generated from.

Markers like [3] or [1, 2] must point to a passage that was handed to the generator; the
rest are removed. Valid markers are renumbered 1..m in order of first use, and one Citation
per cited passage is built. Fact checks beyond citations (numbers, URLs, promises) and the
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
    """Strip markers that point nowhere; renumber the rest; build citations."""
    renumber: dict[int, int] = {}
    removed: list[int] = []
    cited: list[Passage] = []

    def replace(m: re.Match[str]) -> str:
        out = []
        for raw in re.split(r"[,，、]", m.group(1)):
            n = int(raw.strip())
            if 1 <= n <= len(passages):
                if n not in renumber:
                    renumber[n] = len(renumber) + 1
                    cited.append(passages[n - 1])
                out.append(f"[{renumber[n]}]")
            else:
                removed.append(n)
        return "".join(dict.fromkeys(out))

    new_text = _MARKER.sub(replace, text)
    new_text = re.sub(r"[ \t]+([。！？.!?])", r"\1", new_text)
    citations = [
        Citation(
            n=i,
            doc_id=p.chunk.doc_id,
            chunk_id=p.chunk.chunk_id,
            title=p.chunk.title,
            url=p.chunk.url,
            topics=p.chunk.topics,
            quote=p.chunk.text,
            publisher=p.chunk.publisher,
            date=p.chunk.date,
            source_title=p.chunk.source_title,
        )
        for i, p in enumerate(cited, start=1)
    ]
    return Verified(new_text, citations, removed, cited)


def markers(text: str) -> list[int]:
    """Every citation number used in a text, in order."""
    out: list[int] = []
    for m in _MARKER.finditer(text):
        out.extend(int(x.strip()) for x in re.split(r"[,，、]", m.group(1)))
    return out
