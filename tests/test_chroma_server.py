"""The scale-out path: a real `chroma run` server on loopback, ingest and query through it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.app import build_app
from bot.config import Settings
from bot.ingest import ingest
from bot.store import StoreUnavailable
from tests.conftest import copy_knowledge

CHROMA = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"chroma exited with {proc.returncode}: {proc.stdout.read()[-2000:]}"
            )
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError("chroma server did not start")


@pytest.fixture
def chroma_server(tmp_path):
    if not CHROMA.exists() and not shutil.which("chroma"):
        pytest.fail("the chroma CLI is missing: chromadb is a declared dependency")
    port = free_port()
    proc = subprocess.Popen(
        [
            str(CHROMA if CHROMA.exists() else shutil.which("chroma")),
            "run",
            "--path",
            str(tmp_path / "chroma"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"},
    )
    try:
        wait_for_port(port, proc)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


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

    proc.terminate()
    proc.wait(timeout=10)
    with pytest.raises(StoreUnavailable):
        build_app(settings, embeddings=e5).store.pointer()
