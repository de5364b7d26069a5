"""`antiscam serve` as a real process: uvicorn on a loopback port, JSON and SSE over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(indexed, tmp_path):
    """`python -m bot.cli serve` over the session's index, stopped after the test."""
    port = free_port()
    env = {
        **os.environ,
        "BOT_DATA_DIR": str(indexed.settings.data_dir),
        "BOT_KNOWLEDGE_DIR": str(indexed.settings.knowledge_dir),
        "BOT_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "BOT_RATE_LIMIT": "100/minute",
        "CHROMA_HOST": "",
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited: {(tmp_path / 'serve.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not become ready in 120 s")
            time.sleep(0.5)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_serve_answers_json_and_streams_over_real_http(served):
    r = httpx.post(
        f"{served}/api/chat", json={"message": "有人让我先交保证金才能放款，是骗局吗？"}, timeout=60
    )
    assert r.status_code == 200 and r.json()["citations"]

    seen: list[str] = []
    with httpx.stream(
        "POST",
        f"{served}/api/chat",
        json={"message": "Is an upfront loan fee a scam?", "stream": True},
        timeout=60,
    ) as s:
        assert s.status_code == 200 and s.headers["content-type"].startswith("text/event-stream")
        final = None
        for line in s.iter_lines():
            if line.startswith("event:"):
                seen.append(line[6:].strip())
            elif line.startswith("data:") and seen and seen[-1] == "answer":
                final = json.loads(line[5:])
    assert seen[0] == "delta" and seen[-1] == "answer" and final and final["lang"] == "en"

    ui = httpx.get(f"{served}/", timeout=30)
    assert ui.status_code == 200 and "gradio" in ui.text.lower()
