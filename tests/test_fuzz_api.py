"""API fuzzing: schemathesis drives every operation in the server's OpenAPI spec; no 5xx.

The real app (`bot.web.server.create_app`) over the real ingested index runs in uvicorn on
127.0.0.1; schemathesis loads /openapi.json from it and sends generated requests, valid
and invalid, to every documented operation. Bounded: at most MAX_EXAMPLES requests per
operation and a pytest timeout per operation. The rate limit is set high so the fuzzer
measures the handlers, not the limiter (429 is not a 5xx anyway). Skipped, with the
reason, when the web server module or schemathesis is missing.
"""

from __future__ import annotations

import importlib.util
import inspect
import socket
import threading
import time
from collections.abc import Iterator

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a dev extra")
if (
    importlib.util.find_spec("bot.web") is None
    or importlib.util.find_spec("bot.web.server") is None
):
    pytest.skip("bot/web/server.py does not exist yet", allow_module_level=True)

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

MAX_EXAMPLES = 50
pytestmark = [pytest.mark.slow, pytest.mark.server]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def api_url(indexed, tmp_path_factory) -> Iterator[str]:
    import uvicorn

    from bot.web import server
    from bot.web.settings import WebSettings

    if not hasattr(server, "create_app"):
        pytest.skip("bot.web.server has no create_app(deps, settings)")
    web = WebSettings.from_env(
        database_url=f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'web.sqlite3'}",
        rate_limit="100000/minute",
    )
    extra = {"ui": False} if "ui" in inspect.signature(server.create_app).parameters else {}
    app = server.create_app(indexed, web, **extra)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", ws="none")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def api_schema(api_url: str):
    return schemathesis.openapi.from_url(f"{api_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.timeout(300)
def test_no_server_errors(case) -> None:
    response = case.call(timeout=60)
    case.validate_response(response, checks=[not_a_server_error])
