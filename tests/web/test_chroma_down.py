"""A real Chroma server stops while the app runs: 503 with a clear message, then recovery."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app import build_app
from bot.config import Settings
from bot.ingest import ingest
from bot.web.server import create_app
from tests.conftest import copy_knowledge
from tests.web.conftest import free_port, make_settings

CHROMA = Path(sys.executable).parent / "chroma"
QUESTION = "已经交了解冻费，钱还没到账，怎么办？"


def start_chroma(path: Path, port: int) -> subprocess.Popen:
    exe = str(CHROMA) if CHROMA.exists() else shutil.which("chroma")
    if exe is None:
        pytest.fail("the chroma CLI is missing: chromadb is a declared dependency")
    proc = subprocess.Popen(
        [exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"chroma exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.2)
    proc.kill()
    pytest.fail("chroma server did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.server
def test_chroma_down_gives_503_and_service_resumes(tmp_path, e5):
    port = free_port()
    proc = start_chroma(tmp_path / "chroma", port)
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

            stop(proc)
            r = client.post("/api/chat", json={"message": QUESTION})
            assert r.status_code == 503 and r.json()["error"] == "store_unavailable"
            assert "知识库暂时无法访问" in r.json()["detail"]
            assert client.get("/healthz").status_code == 503

            proc = start_chroma(tmp_path / "chroma", port)
            r = client.post("/api/chat", json={"message": QUESTION})
            assert r.status_code == 200 and r.json()["citations"]
            assert client.get("/healthz").status_code == 200
    finally:
        stop(proc)
