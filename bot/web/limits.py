"""Request limits: body size, message length, per-IP rate limits and allowed origins.

- `BodySizeLimit`: ASGI middleware answering 413 before a too-large body reaches any route
  (by Content-Length, or by counting a chunked body up to the limit).
- `message_problem`: the 422 text for an empty or too-long message, in the user's language.
- `make_limiter` / `rate_limited_response`: slowapi, per client IP and endpoint, answering 429
  with Retry-After; `UiRateGate` applies the same rate to the Gradio handlers.
- `origin_allowed`: same-origin requests, or origins on the `BOT_ALLOWED_ORIGINS` list.
- `AnswerSlots`: at most `BOT_ANSWER_CONCURRENCY` answer steps at once, the rest queued.

It does not answer anything and keeps no state beyond the rate-limit counters (in memory
per process by default, or in the shared storage named by `BOT_RATE_LIMIT_STORAGE`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from slowapi import Limiter
from slowapi.errors import RateLimitExceeded
from slowapi.extension import _rate_limit_exceeded_handler
from slowapi.util import get_remote_address
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.web.text import header_lang, t

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_BODY_METHODS = {"POST", "PUT", "PATCH"}


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The JSON shape of every error the web layer returns."""
    return {"error": code, "detail": detail, **extra}


class BodySizeLimit:
    """Reject request bodies over `max_bytes` with 413 and a message in the user's language.
    Paths in `larger` (picture uploads) get their own, larger limit."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        length = headers.get("content-length")
        if length is not None and length.strip().isdigit():
            if int(length) > limit:
                await self._reject(scope, receive, send, headers, limit)
                return
            await self.app(scope, receive, send)
            return
        # No (usable) length: read the body up to the limit, then replay it.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._reject(scope, receive, send, headers, limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], limit: int
    ) -> None:
        lang = header_lang(headers.get("accept-language")) or "zh"
        detail = t("error_body_too_large", lang, limit=limit)
        response = JSONResponse(error_body("body_too_large", detail, limit=limit), status_code=413)
        await response(scope, receive, send)


def message_problem(message: str, max_chars: int, lang: str) -> tuple[str, str] | None:
    """(error code, user-facing text) when the message is empty or too long, else None."""
    if not message.strip():
        return "message_empty", t("error_message_empty", lang)
    if len(message) > max_chars:
        return "message_too_long", t(
            "error_message_too_long", lang, length=len(message), limit=max_chars
        )
    return None


def make_limiter(storage_uri: str) -> Limiter:
    """A slowapi limiter keyed by client IP that sets X-RateLimit-* and Retry-After headers."""
    return Limiter(key_func=get_remote_address, headers_enabled=True, storage_uri=storage_uri)


def rate_limited_response(request: Request, exc: RateLimitExceeded) -> Response:
    """slowapi's 429 (with its Retry-After) with a message in the user's language."""
    base = _rate_limit_exceeded_handler(request, exc)
    retry = base.headers.get("retry-after")
    seconds = int(retry) if retry and retry.isdigit() else 60
    seconds = max(seconds, 1)
    lang = header_lang(request.headers.get("accept-language")) or "zh"
    headers = {k: v for k, v in base.headers.items() if k.lower().startswith("x-ratelimit")}
    headers["Retry-After"] = str(seconds)
    body = error_body(
        "rate_limited", t("error_rate_limited", lang, seconds=seconds), retry_after=seconds
    )
    return JSONResponse(body, status_code=429, headers=headers)


class UiRateGate:
    """The API's per-IP rate, applied inside Gradio handlers (which bypass slowapi)."""

    def __init__(self, rate: str, storage_uri: str):
        self.item = parse(rate)
        self.limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))

    def check(self, client_ip: str | None) -> int | None:
        """None when allowed (and counted), else the seconds to wait."""
        key = client_ip or "unknown"
        if self.limiter.hit(self.item, "ui", key):
            return None
        reset_at, _remaining = self.limiter.get_window_stats(self.item, "ui", key)
        return max(1, math.ceil(reset_at - time.time()))


def origin_allowed(request: Request, allowed: list[str]) -> bool:
    """True without an Origin header, for same-origin requests, and for listed origins."""
    origin = request.headers.get("origin")
    if not origin:
        return True
    origin = origin.rstrip("/")
    if "*" in allowed or origin in allowed:
        return True
    host = request.headers.get("host", "")
    return bool(host) and urlsplit(origin).netloc == host


T = TypeVar("T")


class AnswerSlots:
    """At most `n` answer steps run in worker threads at once; the rest queue in order."""

    def __init__(self, n: int):
        self.n = n
        self._limiter: anyio.CapacityLimiter | None = None

    def depth(self) -> tuple[int, int]:
        """(answer steps waiting for a slot, answer steps running)."""
        if self._limiter is None:
            return 0, 0
        stats = self._limiter.statistics()
        return stats.tasks_waiting, stats.borrowed_tokens

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._limiter is None:  # created inside the event loop
            self._limiter = anyio.CapacityLimiter(self.n)
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)
