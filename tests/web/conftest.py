"""Web test fixtures: apps over the real index, live uvicorn servers on loopback, fakes.

`OMP_WAIT_POLICY=PASSIVE` is set here, before the e5 engine loads in the session fixture
`indexed`: its OpenMP threads otherwise spin and each query takes seconds on 2 cores.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from bot.records import Answer, Citation  # noqa: E402
from bot.web.settings import WebSettings  # noqa: E402

XSS = '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_settings(tmp: Path, **overrides: object) -> WebSettings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{tmp / 'web.sqlite3'}",
        "rate_limit": "1000/minute",
    }
    values.update(overrides)
    return WebSettings.from_env(**values)


class FakeResponder:
    """Answers every message with `text` (default: an XSS attempt) and hostile citations."""

    def __init__(self, text: str = XSS, fail: Exception | None = None, fail_times: int = 0):
        self.text = text
        self.fail = fail
        self.fail_times = fail_times
        self.calls = 0

    def _answer(self, message: str, lang: str | None) -> Answer:
        self.calls += 1
        if self.fail is not None and self.calls <= self.fail_times:
            raise self.fail
        citations = [
            Citation(
                1,
                "doc-a",
                "doc-a#what#0",
                "<b>Title</b><img src=x onerror=alert(1)>",
                "javascript:alert(1)",
                ("advance-fee-loan",),
                "quote",
                "Pub<i>",
                "2024-01-01",
            ),
            Citation(
                2,
                "doc-b",
                "doc-b#todo#0",
                "Real source",
                "https://example.org/a?b=1",
                ("advance-fee-loan",),
                "quote",
                "Regulator",
                "2025-05-05",
            ),
        ]
        return Answer(
            text=self.text + "[1][2]",
            citations=citations,
            lang=lang or "zh",
            topics=["advance-fee-loan"],
        )

    def respond(self, message, history=None, lang=None, task="chat") -> Answer:
        return self._answer(message, lang)

    def stream(self, message, history=None, lang=None) -> Iterator[str | Answer]:
        answer = self._answer(message, lang)
        yield from answer.text.splitlines(keepends=True)
        yield answer


class ServerThread:
    """A real uvicorn server for `app` on 127.0.0.1, in a daemon thread."""

    def __init__(self, app, port: int | None = None):
        import uvicorn

        self.port = port or free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", ws="none"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def serve(app) -> Iterator[ServerThread]:
    with ServerThread(app) as server:
        yield server


@pytest.fixture(scope="session")
def web_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("web")


@pytest.fixture(scope="session")
def real_app(indexed, web_tmp):
    """The full app (API + Gradio UI) over the real index, with a roomy rate limit."""
    from bot.web.server import create_app

    settings = make_settings(web_tmp, allowed_origins="https://shop.example")
    return create_app(indexed, settings)


@pytest.fixture(scope="session")
def live_server(real_app) -> Iterator[ServerThread]:
    with serve(real_app) as server:
        yield server
