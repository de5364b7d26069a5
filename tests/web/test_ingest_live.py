"""An ingest while the server answers: no request fails, and the new index is picked up."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from bot.answer.ingest import ingest
from bot.app import build_app
from bot.config import Settings
from bot.web.server import create_app
from tests.conftest import copy_knowledge
from tests.web.conftest import make_settings

QUESTION = "已经交了解冻费，钱还没到账，怎么办？"
ARTICLE = "zh/advance-fee-loan/already-paid.md"
ADDED = "新加的一句：交过的钱不会因为再交一笔而回来。"


def test_answers_keep_coming_while_an_ingest_runs(e5, tmp_path):
    kdir = copy_knowledge(tmp_path / "knowledge", pick=[ARTICLE])
    deps = build_app(
        Settings.from_env(knowledge_dir=kdir, data_dir=tmp_path / "data", chroma_host=None),
        embeddings=e5,
    )
    ingest(deps.store, kdir)
    app = create_app(deps, make_settings(tmp_path, index_refresh_seconds=0), ui=False)

    with TestClient(app) as client:
        first = client.get("/healthz").json()["index"]["generation"]
        assert client.post("/api/chat", json={"message": QUESTION}).status_code == 200

        path = kdir / ARTICLE
        path.write_text(
            path.read_text(encoding="utf-8").replace("## 是什么\n\n", f"## 是什么\n\n{ADDED}\n", 1),
            encoding="utf-8",
        )
        worker = threading.Thread(target=ingest, args=(deps.store, kdir), kwargs={"batch_size": 1})
        worker.start()
        statuses = []
        while worker.is_alive() or not statuses:
            statuses.append(client.post("/api/chat", json={"message": QUESTION}).status_code)
        worker.join()
        assert statuses and set(statuses) == {200}

        # The next request notices the moved pointer and answers from the new generation.
        client.post("/api/chat", json={"message": QUESTION})
        assert client.get("/healthz").json()["index"]["generation"] == first + 1
        assert deps.retriever.snapshot().pointer.generation == first + 1
        assert any(ADDED in c.text for c in deps.retriever.chunks)
