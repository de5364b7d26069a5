"""The scale-out path: a real `chroma run` server on loopback, ingest and query through it."""

from __future__ import annotations

import pytest

from bot.answer import chroma_server as chroma_server_process
from bot.answer.ingest import ingest
from bot.answer.store import StoreUnavailable
from bot.app import build_app
from bot.config import Settings
from tests.conftest import copy_knowledge


@pytest.fixture
def chroma_server(tmp_path):
    with chroma_server_process.running(tmp_path / "chroma", tmp_path / "chroma.log") as server:
        yield server


@pytest.mark.server
def test_ingest_and_answer_through_a_chroma_server(tmp_path, e5, chroma_server):
    port, proc = chroma_server
    settings = Settings.from_env(
        knowledge_dir=copy_knowledge(
            tmp_path / "knowledge", pick=["zh/advance-fee-loan", "en/advance-fee-loan"]
        ),
        data_dir=tmp_path / "data",
        chroma_host="127.0.0.1",
        chroma_port=port,
    )
    deps = build_app(settings, embeddings=e5)
    report = ingest(deps.store, settings.knowledge_dir)
    assert report.total > 0
    assert not (tmp_path / "data" / "chroma").exists()  # nothing embedded locally
    answer = deps.chain.answer("放款前让我交解冻费")
    assert answer.citations and "advance-fee-loan" in answer.topics

    # a second app (another replica) sees the same index through the server
    replica = build_app(settings, embeddings=e5)
    assert replica.chain.answer("unlock fee before the loan is paid").citations
    assert ingest(replica.store, settings.knowledge_dir).unchanged

    chroma_server_process.stop(proc)
    with pytest.raises(StoreUnavailable):
        build_app(settings, embeddings=e5).store.pointer()
