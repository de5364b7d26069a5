"""The web server: `create_app(deps, settings) -> FastAPI`, with the Gradio UI mounted at "/".

Routes: POST /api/chat (JSON, or Server-Sent Events with `"stream": true`), POST /api/check
(text, or a screenshot read by `image_check.py`), POST /api/feedback, GET /widget.js,
GET /demo/support, GET /healthz, GET /metrics (Prometheus, `metrics.py`), and FastAPI's
/openapi.json and /docs (Swagger UI served from local files). Limits from `WebSettings`: body size (413), message length (422),
per-IP rate (429 with Retry-After), origins (CORS and 403). A vector store that is down
gives 503 with a clear message; the next request tries again, so service resumes by itself.

The app keeps no state of its own beyond the answer cache (`answer_cache.py`): history
arrives with each request, turns and feedback go to the database, knowledge comes from Chroma. This module does not answer questions
(`service.py` and the responder do) and does not draw the UI (`gradio_app.py` does).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from slowapi.errors import RateLimitExceeded
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles

from bot.answer.store import IndexMismatch, StoreUnavailable
from bot.ocr.reader import ScreenshotReader
from bot.web.answer_cache import make_answer_cache
from bot.web.image_check import (
    CHECK_BODY,
    UploadError,
    check_input,
    make_reader,
    read_picture,
    upload_limits,
)
from bot.web.limits import (
    AnswerSlots,
    BodySizeLimit,
    UiRateGate,
    error_body,
    make_limiter,
    message_problem,
    origin_allowed,
    rate_limited_response,
)
from bot.web.metrics import Metrics, state_collector
from bot.web.metrics import install as install_metrics
from bot.web.schemas import (
    ChatRequest,
    ChatResponse,
    CheckResponse,
    ErrorResponse,
    FeedbackRequest,
    FeedbackResponse,
    HealthResponse,
)
from bot.web.service import IndexRefresher, ResponderLike, WebService
from bot.web.settings import WebSettings
from bot.web.storage import Storage, StorageError
from bot.web.text import request_lang, t

if TYPE_CHECKING:
    from bot.app import Deps

log = logging.getLogger(__name__)
T = TypeVar("T")
STATIC = Path(__file__).resolve().parent / "static"
_STORE_MODULES = ("chromadb", "httpx", "httpcore")
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (403, 413, 422, 429, 503)
}
CHECK_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 415: {"model": ErrorResponse}}


class ApiError(Exception):
    """An error with a status, a stable code and a sentence for the user."""

    def __init__(self, status: int, code: str, detail: str):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def is_store_fault(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) means the vector store is unreachable."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, (StoreUnavailable, IndexMismatch, ConnectionError)):
            return True
        if type(seen).__module__.split(".")[0] in _STORE_MODULES:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def create_app(
    deps: Deps | None,
    settings: WebSettings | None = None,
    *,
    responder: ResponderLike | None = None,
    storage: Storage | None = None,
    ui: bool = True,
    reader: ScreenshotReader | None = None,
) -> FastAPI:
    """Build the app over `deps`; `responder` and `storage` can be swapped (tests, fakes)."""
    ws = settings or WebSettings.from_env()
    if responder is None:
        from bot.responder import Responder

        responder = Responder(deps)
    if storage is None:
        if deps is None and not ws.database_url:
            raise ValueError("create_app without deps needs a storage or BOT_DATABASE_URL")
        storage = Storage(ws.database_url or ws.database_url_for(deps.settings.data_dir))  # type: ignore[union-attr]
    try:
        storage.ensure_schema()
    except StorageError as exc:  # answers still work without the database
        log.warning("database not ready at start-up: %s", exc)
    refresher = IndexRefresher(deps.retriever.refresh, ws.index_refresh_seconds) if deps else None
    cache = make_answer_cache(deps)
    service = WebService(responder, storage, ws.max_history_turns, refresher, cache)
    limiter = make_limiter(ws.rate_limit_storage)
    slots = AnswerSlots(ws.answer_concurrency)
    reader = reader or make_reader(ws)  # the OCR model loads on the first picture

    app = FastAPI(
        title="AntiScam Assistant / 反诈助手",
        description="Fraud-awareness answers with citations. Not legal advice.",
        version="1",
        docs_url=None,  # served below from local files: the default page loads Swagger from a CDN
        redoc_url=None,
    )
    app.state.limiter = limiter
    app.state.service = service
    app.state.web_settings = ws
    app.add_exception_handler(RateLimitExceeded, rate_limited_response)  # type: ignore[arg-type]
    _add_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=ws.max_body_bytes, larger=upload_limits(ws))
    app.add_middleware(
        CORSMiddleware,
        allow_origins=ws.origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "Accept-Language"],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    install_metrics(app, Metrics(), state_collector(deps, slots.depth, cache))

    def require_origin(request: Request) -> None:
        if not origin_allowed(request, ws.origins):
            lang = request_lang(None, None, request.headers.get("accept-language"))
            raise ApiError(403, "origin_not_allowed", t("error_origin_not_allowed", lang))

    def check_message(text: str, lang: str | None, request: Request) -> str:
        user_lang = request_lang(lang, text, request.headers.get("accept-language"))
        problem = message_problem(text, ws.max_message_chars, user_lang)
        if problem:
            raise ApiError(422, *problem)
        return user_lang

    @app.post(
        "/api/chat",
        response_model=ChatResponse,
        responses={**ERRORS, 200: {"content": {"text/event-stream": {}}}},
        dependencies=[Depends(require_origin)],
        tags=["api"],
    )
    @limiter.limit(ws.rate_limit)
    async def chat(request: Request, body: ChatRequest) -> Any:
        """Answer a question. With `"stream": true`: SSE `delta` events, then `answer`."""
        lang = check_message(body.message, body.lang, request)
        history = [h.model_dump() for h in body.history]
        if body.stream:
            return await _sse(lang, slots, service.stream(body.message, history, body.lang, "api"))
        payload = await _answering(
            lang, slots, service.answer, body.message, history, body.lang, "chat", "api"
        )
        return JSONResponse(payload)

    @app.post(
        "/api/check",
        response_model=CheckResponse,
        responses=CHECK_ERRORS,
        dependencies=[Depends(require_origin)],
        tags=["api"],
        openapi_extra=CHECK_BODY,
    )
    @limiter.limit(ws.rate_limit)
    async def check(request: Request) -> Any:
        """Check a received message: verdict, confidence, topics, red flags, cited answer.
        A screenshot (multipart `image`, or base64 `image` in JSON) is read first; `read`
        then shows the text read, personal numbers redacted. The picture is not kept."""
        hint = request_lang(None, None, request.headers.get("accept-language"))
        try:
            body = await check_input(request, hint)
            if body.image is None:
                lang = check_message(body.text or "", body.lang, request)
                payload = await _answering(
                    lang, slots, service.answer, body.text, [], body.lang, "check", "api"
                )
                return JSONResponse(payload)
            lang = body.lang or hint
            reading = await read_picture(reader, body.image, lang)
        except UploadError as exc:
            raise ApiError(exc.status, exc.code, exc.detail) from None
        text = reading.text[: ws.max_message_chars]
        payload = await _answering(lang, slots, service.answer, text, [], body.lang, "check", "api")
        payload["read"] = reading.redacted()
        return JSONResponse(payload)

    @app.post(
        "/api/feedback",
        response_model=FeedbackResponse,
        responses={**ERRORS, 404: {"model": ErrorResponse}},
        dependencies=[Depends(require_origin)],
        tags=["api"],
    )
    @limiter.limit(ws.rate_limit)
    async def feedback(request: Request, body: FeedbackRequest) -> Any:
        """Thumbs up or down on an answer, with an optional comment (PII is redacted)."""
        comment = (body.comment or "").strip() or None
        lang = request_lang(None, comment, request.headers.get("accept-language"))
        if comment and (problem := message_problem(comment, ws.max_message_chars, lang)):
            raise ApiError(422, *problem)
        try:
            feedback_id = await run_in_threadpool(service.feedback, body.id, body.rating, comment)
        except StorageError as exc:
            log.warning("feedback not stored: %s", exc)
            raise ApiError(
                503, "storage_unavailable", t("error_storage_unavailable", lang)
            ) from exc
        if feedback_id is None:
            raise ApiError(404, "unknown_answer", t("error_unknown_answer", lang))
        return JSONResponse({"ok": True, "feedback_id": feedback_id})

    _add_docs(app)

    @app.get("/widget.js", include_in_schema=False)
    def widget_js() -> FileResponse:
        return FileResponse(
            STATIC / "widget.js",
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    @app.get("/demo/support", response_class=HTMLResponse, include_in_schema=False)
    def demo_support() -> HTMLResponse:
        html = (STATIC / "demo_support.html").read_text(encoding="utf-8")
        csp = (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'"
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    @app.get(
        "/healthz",
        response_model=HealthResponse,
        responses={503: {"model": HealthResponse}},
        tags=["ops"],
    )
    def healthz() -> JSONResponse:
        """Ready when the index can be read; reports the database without failing on it."""
        database = "ok" if storage.ping() else "unavailable"
        try:
            pointer = deps.store.pointer() if deps is not None else None
        except Exception as exc:  # noqa: BLE001 - any store failure means not ready
            log.warning("health check: vector store unavailable: %s", exc)
            body = {
                "status": "unavailable",
                "index": {"error": "unavailable"},
                "database": database,
            }
            return JSONResponse(body, status_code=503)
        if deps is not None and pointer is None:
            body = {"status": "unavailable", "index": {"error": "no index"}, "database": database}
            return JSONResponse(body, status_code=503)
        index = {"generation": pointer.generation, "chunks": pointer.chunks} if pointer else {}
        return JSONResponse({"status": "ok", "index": index, "database": database})

    if ui:
        from bot.web.gradio_app import mount_ui

        mount_ui(app, service, ws, UiRateGate(ws.rate_limit, ws.rate_limit_storage), reader)
    return app


async def _answering(lang: str | None, slots: AnswerSlots, fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking answer step in a worker thread; a store fault becomes a 503 ApiError
    (handled in place, so the server log gets one warning line, not a traceback)."""
    try:
        return await slots.run(fn, *args)
    except Exception as exc:
        if is_store_fault(exc):
            log.warning("vector store unavailable: %s", exc)
            raise ApiError(503, "store_unavailable", t("error_store_unavailable", lang)) from exc
        raise


async def _sse(
    lang: str, slots: AnswerSlots, items: Iterator[str | dict[str, Any]]
) -> EventSourceResponse:
    """SSE over a blocking iterator. The first item is computed before the response
    starts, so a store failure still becomes a proper 503 instead of a broken stream."""
    first = await _answering(lang, slots, next, items, None)

    async def events() -> AsyncIterator[ServerSentEvent]:
        item = first
        try:
            while item is not None:
                if isinstance(item, dict):
                    yield ServerSentEvent(json.dumps(item, ensure_ascii=False), event="answer")
                else:
                    yield ServerSentEvent(
                        json.dumps({"text": item}, ensure_ascii=False), event="delta"
                    )
                item = await slots.run(next, items, None)
        except Exception as exc:  # noqa: BLE001 - headers are sent; report in-band
            log.warning("stream failed: %s", exc)
            status = 503 if is_store_fault(exc) else 500
            code = "store_unavailable" if status == 503 else "internal"
            detail = t("error_store_unavailable" if status == 503 else "error_internal", lang)
            yield ServerSentEvent(
                json.dumps(error_body(code, detail, status=status), ensure_ascii=False),
                event="error",
            )

    return EventSourceResponse(events(), ping=15)


def _add_docs(app: FastAPI) -> None:
    """/docs: Swagger UI from the `swagger-ui-bundle` package's files, so it works offline."""
    import swagger_ui_bundle

    app.mount(
        "/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets"
    )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.detail), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        body = exc.body if isinstance(exc.body, dict) else {}
        text = body.get("message") or body.get("text")
        lang = request_lang(body.get("lang"), text, request.headers.get("accept-language"))
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'body'}: {e.get('msg')}"
            for e in exc.errors()
        )
        detail = t("error_invalid_request", lang, problems=problems)
        errors = jsonable_encoder(exc.errors(), custom_encoder={Exception: str})
        return JSONResponse(error_body("invalid_request", detail, errors=errors), status_code=422)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        lang = request_lang(None, None, request.headers.get("accept-language"))
        if is_store_fault(exc):
            log.warning("vector store unavailable: %s", exc)
            return JSONResponse(
                error_body("store_unavailable", t("error_store_unavailable", lang)), status_code=503
            )
        log.exception("unhandled error")
        return JSONResponse(error_body("internal", t("error_internal", lang)), status_code=500)

    # Named types are handled in place; anything else reaches the last-resort handler,
    # which still answers 503 for store faults raised by the Chroma client itself.
    for kind in (StoreUnavailable, IndexMismatch, ConnectionError, Exception):
        app.add_exception_handler(kind, unexpected)  # type: ignore[arg-type]
