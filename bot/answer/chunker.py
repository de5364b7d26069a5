"""Split articles into section-aware chunks with stable ids and content hashes.

A chunk never spans two sections. Sentences are split on Chinese (。！？；) and English
(. ! ?) punctuation by LangChain's recursive splitter, so no text is lost between chunks.
This module does not embed or store chunks.
"""

from __future__ import annotations

import hashlib
import re

from langchain_text_splitters import RecursiveCharacterTextSplitter

from bot.answer.knowledge import Article
from bot.records import Chunk

# Chunk sizes in characters. A Chinese character carries about as much as an English word,
# so Chinese chunks are shorter in characters.
CHUNK_CHARS = {"zh": 220, "en": 700}
# Lures are matched one by one against what people paste or ask, so they get small chunks.
LURE_CHUNK_CHARS = {"zh": 100, "en": 300}
# Bump when what gets embedded for a chunk changes (see Chunk.embed_text): forces re-embedding.
EMBED_RECIPE = "title+text/1"
_SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "! ", "? ", ". ", "; ", "，", ", ", " ", ""]
_SENTENCE_END = re.compile(r"(?<=[。！？；!?])|(?<=\.)(?=\s)|\n+")
_MARKDOWN = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)


def clean_markdown(text: str) -> str:
    """Drop list markers and emphasis so chunks read as plain sentences."""
    text = _MARKDOWN.sub("", text)
    return text.replace("**", "").replace("__", "")


def split_sentences(text: str) -> list[str]:
    """Sentences of a chunk, keeping their end punctuation (zh and en)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _splitter(lang: str, section: str = "") -> RecursiveCharacterTextSplitter:
    sizes = LURE_CHUNK_CHARS if section == "lures" else CHUNK_CHARS
    return RecursiveCharacterTextSplitter(
        chunk_size=sizes.get(lang, 400),
        chunk_overlap=0,
        separators=_SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )


def content_hash(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


def chunk_article(article: Article) -> list[Chunk]:
    """All chunks of one article, in reading order."""
    src = article.sources[0] if article.sources else None
    chunks: list[Chunk] = []
    for section in article.sections:
        pieces = _splitter(article.lang, section.key).split_text(clean_markdown(section.text))
        for n, piece in enumerate(p for p in pieces if p.strip()):
            chunk_id = f"{article.id}#{section.key}#{n}"
            chunks.append(
                Chunk(
                    chunk_id=chunk_id,
                    doc_id=article.id,
                    section=section.key,
                    n=n,
                    text=piece,
                    title=article.title,
                    lang=article.lang,
                    topics=article.topics,
                    url=src.url if src else "",
                    source_title=src.title if src else "",
                    publisher=src.publisher if src else "",
                    date=src.date if src else "",
                    path=str(article.path),
                    content_hash=content_hash(
                        EMBED_RECIPE,
                        chunk_id,
                        piece,
                        article.title,
                        ",".join(article.topics),
                        src.url if src else "",
                        src.title if src else "",
                    ),
                )
            )
    return chunks


def chunk_articles(articles: list[Article]) -> list[Chunk]:
    return [c for a in articles for c in chunk_article(a)]
