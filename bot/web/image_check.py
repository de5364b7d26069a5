"""The picture half of `POST /api/check`: read the request body, the picture and its errors.

- `check_input(request)`: the body as `CheckInput(text, image, lang)`, from JSON
  (`{text}` or `{image: base64}`) or multipart/form-data (`image` file, `text`, `lang` fields).
  Multipart is parsed in memory (Starlette's parser with a spool larger than any allowed
  upload, so no temporary file is written).
- `read_picture(reader, data, lang)`: OCR in the bounded pool (`bot.ocr`) from a worker thread,
  with `ImageProblem`/`OcrBusy`/`OcrTimeout` turned into `UploadError` (413/415/422/503) in the
  user's language.
- `CHECK_BODY`: the OpenAPI request body (both content types) for the route.
- `upload_limits(ws)`: the body-size limits of the upload paths.

It keeps no picture after the call, logs none, and does not answer (the route calls the
service with the text read).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from bot.ocr.engine import OcrBusy, OcrPool, OcrTimeout
from bot.ocr.image import ImageLimits, ImageProblem
from bot.ocr.reader import Reading, ScreenshotReader
from bot.web.schemas import CheckRequest
from bot.web.settings import WebSettings
from bot.web.text import t

UPLOAD_PATHS = ("/api/check", "/gradio_api/upload")


class UploadError(Exception):
    """A refused picture or body: status, stable code and a sentence for the user."""

    def __init__(self, status: int, code: str, detail: str):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


@dataclass
class CheckInput:
    text: str | None
    image: bytes | None
    lang: str | None


class _InMemoryParser(MultiPartParser):
    spool_max_size = 1 << 30  # never roll over to a temporary file (the body is size-capped)


def upload_limits(ws: WebSettings) -> dict[str, int]:
    """Body limits for the upload paths: the picture, base64's 4/3, and room for fields."""
    return {path: ws.max_image_bytes * 4 // 3 + 65_536 for path in UPLOAD_PATHS}


def make_reader(ws: WebSettings) -> ScreenshotReader:
    """A reader with the configured limits and pool; the OCR model loads on first use."""
    return ScreenshotReader(
        pool=OcrPool(ws.ocr_workers, ws.ocr_queue, ws.ocr_timeout_seconds),
        limits=ImageLimits(max_bytes=ws.max_image_bytes),
    )


async def check_input(request: Request, lang_hint: str) -> CheckInput:
    """The check request from JSON or multipart; raises RequestValidationError or UploadError."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        try:
            parser = _InMemoryParser(request.headers, request.stream(), max_files=1, max_fields=4)
            form = await parser.parse()
        except (MultiPartException, KeyError, ValueError) as exc:  # also: no boundary
            problems = getattr(exc, "message", "malformed multipart body")
            raise UploadError(
                422, "invalid_request", t("error_invalid_request", lang_hint, problems=problems)
            ) from None
        try:
            upload = form.get("image")
            data = await upload.read() if isinstance(upload, UploadFile) else None
            if isinstance(upload, UploadFile):
                await upload.close()
            text = form.get("text")
            lang = form.get("lang")
        finally:
            await form.close()
        text = text if isinstance(text, str) and text.strip() else None
        lang = lang if lang in ("zh", "en") else None
        if data is None and text is None:
            raise UploadError(422, "image_empty", t("error_image_empty", lang or lang_hint))
        return _one_of(CheckInput(text, data, lang), lang_hint)
    raw = await request.body()
    try:
        body = json.loads(raw or b"null")
        parsed = CheckRequest.model_validate(body)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8/16/32
        if isinstance(exc, ValidationError):
            raise RequestValidationError(exc.errors(include_url=False), body=body) from None
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise RequestValidationError(
            [{"loc": ("body",), "msg": f"invalid JSON: {msg}", "type": "json_invalid"}],
            body=None,
        ) from None
    data = None
    if parsed.image is not None:
        try:
            data = base64.b64decode(_strip_data_url(parsed.image), validate=True)
        except (binascii.Error, ValueError):
            raise UploadError(422, "image_broken", t("error_image_broken", parsed.lang or
                                                     lang_hint)) from None  # fmt: skip
    return _one_of(CheckInput(parsed.text, data, parsed.lang), lang_hint)


def _one_of(body: CheckInput, lang_hint: str) -> CheckInput:
    if body.image is not None and body.text and body.text.strip():
        raise UploadError(422, "image_and_text", t("error_image_and_text", body.lang or lang_hint))
    if body.image is None and body.text is None:
        raise RequestValidationError(
            [{"loc": ("body", "text"), "msg": "text or image is required", "type": "missing"}],
            body=None,
        )
    return body


def _strip_data_url(value: str) -> str:
    """The base64 part of `data:image/png;base64,....` (or the value itself)."""
    head, sep, rest = value.partition(",")
    return rest if sep and head.startswith("data:") else value


async def read_picture(reader: ScreenshotReader, data: bytes, lang: str) -> Reading:
    """OCR from a worker thread (the pool bounds the work); errors as `UploadError`."""
    try:
        return await anyio.to_thread.run_sync(reader.read, data)
    except ImageProblem as exc:
        raise UploadError(exc.status, exc.code, t(exc.key, lang, **exc.values)) from None
    except OcrBusy:
        raise UploadError(503, "ocr_busy", t("error_ocr_busy", lang)) from None
    except OcrTimeout:
        raise UploadError(503, "ocr_timeout", t("error_ocr_timeout", lang)) from None


def _schema(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, **({"required": required} if required else {})}


_LANG = {"type": "string", "enum": ["zh", "en"], "description": "Reply language."}
CHECK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Text to check, or a screenshot of it (PNG, JPEG or WebP).",
        "content": {
            "application/json": {
                "schema": _schema(
                    {
                        "text": {"type": "string", "description": "The message to check."},
                        "image": {
                            "type": "string",
                            "format": "byte",
                            "description": "A screenshot, base64 (a data: URL is accepted).",
                        },
                        "lang": _LANG,
                    }
                )
            },
            "multipart/form-data": {
                "schema": _schema(
                    {
                        "image": {"type": "string", "format": "binary"},
                        "lang": _LANG,
                    },
                    ["image"],
                )
            },
        },
    }
}
