"""Start and stop a local `chroma run` server on loopback: the scale-out store, as a process.

Used by the benchmark's growth run and by the tests of the server path. The bot itself only
connects to a server (`CHROMA_HOST`); this module does not create collections or talk to one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(path: Path, port: int, log: Path | None = None) -> subprocess.Popen:
    """`chroma run --path path` on 127.0.0.1:`port`; returns once it accepts connections."""
    exe = Path(sys.executable).parent / "chroma"
    cmd = str(exe) if exe.exists() else shutil.which("chroma")
    if cmd is None:
        raise RuntimeError("the chroma CLI is missing (it ships with chromadb)")
    sink = log.open("a") if log else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(
            [cmd, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={"ANONYMIZED_TELEMETRY": "False", "PATH": os.environ.get("PATH", "/usr/bin")},
        )
    finally:
        if log:
            sink.close()  # the child keeps its own handle
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"chroma run exited with {proc.returncode}; see {log}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if time.monotonic() > deadline:
            stop(proc)
            raise TimeoutError(f"chroma run did not listen within {START_TIMEOUT_S}s")
        time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:
    """Terminate, then kill if it has not exited within 15 s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


@contextmanager
def running(path: Path, log: Path | None = None) -> Iterator[tuple[int, subprocess.Popen]]:
    """A server over `path` on a free port for the `with` block, always stopped after."""
    port = free_port()
    proc = start(path, port, log)
    try:
        yield port, proc
    finally:
        stop(proc)
