"""Incremental ingest, interrupted ingest, embedder mismatch, and the second embedder backend."""

from __future__ import annotations

import pytest

from bot.answer.ingest import build_chunks, ingest
from bot.answer.knowledge import KnowledgeError
from bot.answer.store import IndexMismatch
from bot.app import build_app, build_store
from bot.config import Settings
from tests.conftest import copy_knowledge
from tests.fakes import CountingEmbeddings, FakeOtherEmbeddings

PICK = ["zh/advance-fee-loan", "en/advance-fee-loan", "zh/fake-credit-repair"]


@pytest.fixture
def small(tmp_path, e5):
    kdir = copy_knowledge(tmp_path / "knowledge", pick=PICK)
    settings = Settings.from_env(knowledge_dir=kdir, data_dir=tmp_path / "data", chroma_host=None)
    counting = CountingEmbeddings(e5)
    return settings, counting


def test_incremental_ingest_reembeds_only_changes(small):
    settings, counting = small
    store = build_store(settings, counting)
    first = ingest(store, settings.knowledge_dir)
    assert counting.embedded == first.total > 0

    again = ingest(store, settings.knowledge_dir)
    assert again.unchanged and counting.embedded == first.total

    # change one sentence in one article: only that article's changed chunks are embedded
    path = sorted(settings.knowledge_dir.glob("zh/advance-fee-loan/*.md"))[0]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("## 后果\n", "## 后果\n这是新加的一句话。\n", 1), encoding="utf-8")
    before = counting.embedded
    changed = ingest(store, settings.knowledge_dir)
    assert 1 <= counting.embedded - before <= 3
    assert changed.reused >= first.total - 3

    # remove an article: its chunks disappear from the index
    victim = sorted(settings.knowledge_dir.glob("zh/fake-credit-repair/*.md"))[0]
    doc_chunks = {
        c.chunk_id for c in build_chunks(settings.knowledge_dir) if c.path.endswith(victim.name)
    }
    victim.unlink()
    report = ingest(store, settings.knowledge_dir)
    assert report.removed == len(doc_chunks) > 0
    pointer = store.pointer()
    ids = {c.chunk_id for c in store.load_chunks(pointer.collection)}
    assert not ids & doc_chunks


def test_interrupted_ingest_leaves_previous_index_usable(small, e5):
    settings, counting = small
    deps = build_app(settings, embeddings=counting)
    ingest(deps.store, settings.knowledge_dir)
    before = deps.store.pointer()
    answer_before = deps.chain.answer("放款前要交解冻费正常吗")

    for path in settings.knowledge_dir.glob("zh/*/*.md"):  # change everything
        path.write_text(
            path.read_text(encoding="utf-8").replace("## 是什么\n", "## 是什么\n新的一句。\n", 1),
            encoding="utf-8",
        )
    failing = CountingEmbeddings(e5, fail_after=5)
    with pytest.raises(KeyboardInterrupt):
        ingest(build_store(settings, failing), settings.knowledge_dir)

    assert build_store(settings, counting).pointer() == before
    fresh = build_app(settings, embeddings=counting)
    answer_after = fresh.chain.answer("放款前要交解冻费正常吗")
    assert answer_after.citations and answer_after.text == answer_before.text

    report = ingest(
        build_store(settings, counting), settings.knowledge_dir
    )  # the next ingest completes
    assert (
        not report.unchanged
        and build_store(settings, counting).pointer().generation == before.generation + 1
    )


def test_malformed_article_changes_nothing(small):
    settings, counting = small
    store = build_store(settings, counting)
    ingest(store, settings.knowledge_dir)
    before = store.pointer()
    bad = settings.knowledge_dir / "zh/advance-fee-loan/broken.md"
    bad.write_text("---\nid: x\ntitle: a: b\n---\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as info:
        ingest(store, settings.knowledge_dir)
    assert "broken.md:3" in str(info.value)
    assert store.pointer() == before


def test_opening_with_another_embedder_is_a_clear_error(small, e5):
    settings, counting = small
    ingest(build_store(settings, counting), settings.knowledge_dir)
    other = build_app(settings, embeddings=FakeOtherEmbeddings(e5))
    with pytest.raises(IndexMismatch, match="ingest --rebuild"):
        other.chain.answer("征信修复")


def test_sentence_transformers_backend_for_real(tmp_path):
    settings = Settings.from_env(
        knowledge_dir=copy_knowledge(tmp_path / "knowledge", pick=["en/"]),
        data_dir=tmp_path / "data",
        chroma_host=None,
        embedder="sentence-transformers",
    )
    deps = build_app(settings)
    assert deps.embeddings.id.startswith("st:") and deps.embeddings.dim == 384
    ingest(deps.store, settings.knowledge_dir)
    answer = deps.chain.answer("They want an upfront fee before releasing my loan, is that normal?")
    assert answer.citations
    assert "advance-fee-loan" in answer.topics
