"""Storage against a real PostgreSQL server that the test starts on loopback (Debian package
`postgresql`): two app replicas share it, feedback lands with PII redacted, export works."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.web.server import create_app
from bot.web.storage import Storage
from tests.web.conftest import FakeResponder, free_port, make_settings

BINDIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
PG_BIN = Path(BINDIRS[0]) if BINDIRS else None

pytestmark = pytest.mark.skipif(
    PG_BIN is None or not (PG_BIN / "initdb").exists(),
    reason="PostgreSQL binaries not found (apt-get install postgresql)",
)


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root: run as the `postgres` user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    base = Path(tempfile.mkdtemp(prefix="antiscam-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        ),
        check=True,
        capture_output=True,
    )
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off"
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-l",
                str(base / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


def test_two_replicas_share_turns_and_feedback_in_postgres(tmp_path, postgres_url):
    settings = make_settings(tmp_path, database_url=postgres_url)
    replicas = [
        create_app(None, settings, responder=FakeResponder("answer"), ui=False) for _ in range(2)
    ]
    with TestClient(replicas[0]) as a, TestClient(replicas[1]) as b:
        answer = a.post(
            "/api/chat", json={"message": "我的手机号13912345678，贷款要先交钱吗"}
        ).json()
        # Feedback reaches the other replica: nothing is kept in a process.
        r = b.post(
            "/api/feedback",
            json={"id": answer["id"], "rating": "down", "comment": "卡号6222021234567890128"},
        )
        assert r.status_code == 200

    storage = Storage(postgres_url)
    assert storage.url.startswith("postgresql+psycopg://")
    turn = storage.turn(answer["id"])
    assert turn is not None and "[PHONE]" in turn.message and "13912345678" not in turn.message
    [case] = [c for c in storage.export_cases("down") if c["input"] == turn.message]
    assert case["comment"] == "卡号[CARD]" and case["task"] == "chat"
    storage.close()
