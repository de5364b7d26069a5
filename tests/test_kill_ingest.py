"""An ingest killed with SIGKILL while embedding leaves the previous index intact and usable.

Everything that touches the Chroma directory runs in its own process (an embedded Chroma is
one writer per directory): `antiscam ingest` builds generation 1 from two articles; more
articles are added; a second ingest is killed (SIGKILL) right after it has written its first
newly embedded batch into generation 2; `antiscam ask` still answers with the same
citations from generation 1; the next `antiscam ingest` completes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import copy_knowledge

BIN = Path(sys.executable).parent
QUESTION = "放款前让我交解冻费，这是诈骗吗？"
# `ingest` = build_chunks + KnowledgeStore.sync; this prints sync's progress so the test
# knows when fresh embeddings are being written (batches of 2 chunks).
INGEST_WITH_PROGRESS = """
from bot.app import build_store
from bot.config import Settings, enforce_offline
from bot.answer.ingest import build_chunks
enforce_offline()
settings = Settings.from_env()
store = build_store(settings)
done = 0
def progress(n):
    global done
    done += n
    print(done, flush=True)
store.sync(build_chunks(settings.knowledge_dir), progress=progress, batch_size=2)
print("finished", flush=True)
"""
PROBE = """
import json
from bot.app import build_store
from bot.config import Settings, enforce_offline
enforce_offline()
store = build_store(Settings.from_env())
p = store.pointer()
col = store.client.get_collection(p.collection, embedding_function=None)
print(json.dumps({"collection": p.collection, "generation": p.generation, "count": col.count()}))
"""

pytestmark = pytest.mark.slow


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CHROMA_HOST", "BOT_CHROMA_HOST")}
    env.update(
        BOT_DATA_DIR=str(tmp_path / "data"),
        BOT_KNOWLEDGE_DIR=str(tmp_path / "knowledge"),
        BOT_GENERATOR="extractive",
        BOT_EMBEDDER="e5",
        OMP_WAIT_POLICY="PASSIVE",
    )
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


def _ask(env: dict[str, str], cwd: Path) -> list[tuple[str, str]]:
    done = _run([str(BIN / "antiscam"), "ask", "--json", QUESTION], env, cwd)
    assert done.returncode == 0, done.stderr[-2000:]
    return [(c["doc_id"], c["chunk_id"]) for c in json.loads(done.stdout)["citations"]]


def _probe(env: dict[str, str], cwd: Path) -> dict:
    done = _run([sys.executable, "-c", PROBE], env, cwd)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_sigkill_during_ingest_keeps_previous_index(tmp_path: Path) -> None:
    env = _env(tmp_path)
    copy_knowledge(tmp_path / "knowledge", pick=["zh/advance-fee-loan", "en/advance-fee-loan"])
    first = _run([str(BIN / "antiscam"), "ingest"], env, tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    before = _probe(env, tmp_path)
    cited = _ask(env, tmp_path)
    assert before["generation"] == 1 and before["count"] > 0 and cited

    copy_knowledge(
        tmp_path / "knowledge",
        pick=["zh/fake-customer-service", "en/fake-customer-service", "zh/task-brushing"],
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", INGEST_WITH_PROGRESS],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    watchdog = threading.Timer(300, proc.kill)  # bound the test if no progress ever shows
    watchdog.start()
    killed_at = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            # the first lines count reused chunks; past them, fresh embeddings are written
            if line.strip().isdigit() and int(line) > before["count"]:
                killed_at = int(line)
                os.kill(proc.pid, signal.SIGKILL)
                break
            assert line.strip() != "finished", "the ingest finished before it could be killed"
        proc.wait(timeout=60)
    finally:
        watchdog.cancel()
    assert killed_at is not None and proc.returncode == -signal.SIGKILL

    # the previous generation is still live, whole, and answers with the same citations
    assert _probe(env, tmp_path) == before
    assert _ask(env, tmp_path) == cited
    stale = _run([str(BIN / "antiscam"), "index-status"], env, tmp_path)
    assert stale.returncode == 1

    # the next ingest completes and replaces it
    again = _run([str(BIN / "antiscam"), "ingest"], env, tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    after = _probe(env, tmp_path)
    assert after["generation"] == 2 and after["count"] > before["count"]
    assert _run([str(BIN / "antiscam"), "index-status"], env, tmp_path).returncode == 0
    assert _ask(env, tmp_path)
