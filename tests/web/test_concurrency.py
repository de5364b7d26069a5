"""Concurrent requests over real HTTP: answering is bounded by BOT_ANSWER_CONCURRENCY."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from bot.web.server import create_app
from tests.web.conftest import FakeResponder, make_settings, serve


class SlowFakeResponder(FakeResponder):
    """The fake responder, taking 50 ms per answer and recording how many run at once."""

    def __init__(self):
        super().__init__(text="ok")
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0

    def respond(self, message, history=None, lang=None, task="chat"):
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(0.05)
            return super().respond(message, history, lang, task)
        finally:
            with self._lock:
                self.running -= 1


def test_at_most_answer_concurrency_answers_run_at_once(tmp_path):
    responder = SlowFakeResponder()
    settings = make_settings(tmp_path, answer_concurrency=3)
    app = create_app(None, settings, responder=responder, ui=False)
    with serve(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:

        def ask(i: int) -> int:
            return client.post("/api/chat", json={"message": f"问题 {i}"}).status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            codes = list(pool.map(ask, range(24)))
    assert codes == [200] * 24  # the rest waited their turn; none was dropped
    assert responder.peak == 3  # and the bound was reached, never passed
