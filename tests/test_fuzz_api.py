"""API fuzzing: schemathesis drives every operation in the server's OpenAPI spec; no 5xx.

The real app (`bot.web.server.create_app`) over the real ingested index runs in uvicorn on
127.0.0.1; schemathesis loads /openapi.json from it and sends generated requests, valid
and invalid, to every documented operation. Bounded: at most MAX_EXAMPLES requests per
operation and mode, a time budget per mode, and a pytest timeout. The rate limit is set high so the fuzzer
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

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

MAX_EXAMPLES = 50  # per operation and generation mode
BUDGET_S = 240  # per generation mode, for all operations together
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


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.timeout(600)
def test_no_server_errors(api_url: str, mode: str) -> None:
    """Every operation, valid (positive) or schema-violating (negative) requests: no 5xx."""
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert any(op.path.startswith("/api/") for op in operations)
    deadline = time.monotonic() + BUDGET_S
    failures: list[str] = []
    seen: dict[str, int] = {}
    for op in operations:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy(generation_mode=GenerationMode(mode)))
        def fuzz(case) -> None:
            if time.monotonic() > deadline:
                return  # the time budget is spent: stop sending requests
            response = case.call(timeout=60)
            seen[case.operation.label] = seen.get(case.operation.label, 0) + 1
            case.validate_response(response, checks=[not_a_server_error])

        try:
            fuzz()
        except Unsatisfiable:  # e.g. no invalid request exists for GET /healthz
            continue
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{op.label}: {str(exc)[:1500]}")
    print(f"{mode}: requests per operation: {seen}")
    assert not failures, "\n\n".join(failures)
