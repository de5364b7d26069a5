"""A real Chroma server stops while the app runs: 503 with a clear message, then recovery."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bot.answer import chroma_server
from bot.answer.ingest import ingest
from bot.app import build_app
from bot.config import Settings
from bot.web.server import create_app
from tests.conftest import copy_knowledge
from tests.web.conftest import free_port, make_settings

QUESTION = "已经交了解冻费，钱还没到账，怎么办？"
OTHER = "我已经交了解冻费，可钱一直没到账，该怎么办？"


@pytest.mark.server
def test_chroma_down_gives_503_and_service_resumes(tmp_path, e5):
    port = free_port()
    proc = chroma_server.start(tmp_path / "chroma", port)
    try:
        kdir = copy_knowledge(tmp_path / "knowledge", pick=["zh/advance-fee-loan/already-paid.md"])
        settings = Settings.from_env(
            knowledge_dir=kdir,
            data_dir=tmp_path / "data",
            chroma_host="127.0.0.1",
            chroma_port=port,
        )
        deps = build_app(settings, embeddings=e5)
        ingest(deps.store, kdir)
        app = create_app(deps, make_settings(tmp_path), ui=False)
        with TestClient(app) as client:  # a store fault must not reach the server log as a crash
            assert client.post("/api/chat", json={"message": QUESTION}).status_code == 200

            chroma_server.stop(proc)
            # an answer already in the answer cache needs no store; a new question does
            assert client.post("/api/chat", json={"message": QUESTION}).status_code == 200
            r = client.post("/api/chat", json={"message": OTHER})
            assert r.status_code == 503 and r.json()["error"] == "store_unavailable"
            assert "知识库暂时无法访问" in r.json()["detail"]
            assert client.get("/healthz").status_code == 503

            proc = chroma_server.start(tmp_path / "chroma", port)
            r = client.post("/api/chat", json={"message": OTHER})
            assert r.status_code == 200 and r.json()["citations"]
            assert client.get("/healthz").status_code == 200
    finally:
        chroma_server.stop(proc)
