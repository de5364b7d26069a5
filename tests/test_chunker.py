"""Chunks stay inside one section, lose no text, and keep stable ids."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answer.chunker import chunk_article, clean_markdown, split_sentences
from bot.answer.knowledge import Article, Section, Source, load_knowledge
from tests.conftest import KNOWLEDGE


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def make_article(lang: str, texts: list[str]) -> Article:
    keys = ["what", "lures", "flags", "consequences", "todo", "help"]
    return Article(
        id="a",
        title="t",
        lang=lang,
        topics=("advance-fee-loan",),
        sources=(Source("s", "p", "2025", "https://example.org"),),
        updated="2026",
        path=KNOWLEDGE / "x.md",
        sections=tuple(Section(k, k, t, 1) for k, t in zip(keys, texts, strict=False)),
    )


def test_real_articles_chunk_without_loss_or_crossing():
    for article in load_knowledge(KNOWLEDGE):
        chunks = chunk_article(article)
        for section in article.sections:
            mine = [c for c in chunks if c.section == section.key]
            assert mine, f"{article.id}: section {section.key} has no chunk"
            assert squash("".join(c.text for c in mine)) == squash(clean_markdown(section.text))
        ids = [c.chunk_id for c in chunks]
        assert len(ids) == len(set(ids))
        assert all(c.chunk_id == f"{c.doc_id}#{c.section}#{c.n}" for c in chunks)


def test_chunk_ids_and_hashes_are_stable():
    article = load_knowledge(KNOWLEDGE)[0]
    a, b = chunk_article(article), chunk_article(article)
    assert [(c.chunk_id, c.content_hash) for c in a] == [(c.chunk_id, c.content_hash) for c in b]


def test_chinese_sentence_split():
    assert split_sentences("先交钱。再放款！真的吗？不；Really. Yes!") == [
        "先交钱。",
        "再放款！",
        "真的吗？",
        "不；",
        "Really.",
        "Yes!",
    ]


def test_long_chinese_section_is_split_at_sentence_ends():
    text = "对方说只要先交一笔解冻费就能马上放款。" * 40
    chunks = chunk_article(make_article("zh", [text]))
    assert len(chunks) > 1
    assert all(c.text.endswith("。") for c in chunks)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=600), min_size=1, max_size=6))
def test_arbitrary_text_never_crashes_or_loses_text(texts):
    article = make_article("zh", texts)
    chunks = chunk_article(article)
    for section in article.sections:
        mine = "".join(c.text for c in chunks if c.section == section.key)
        assert squash(mine) == squash(clean_markdown(section.text))
