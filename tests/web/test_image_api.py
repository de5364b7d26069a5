"""POST /api/check with a screenshot: multipart and base64 JSON, the redacted text read,
413/415/422 in the user's language, OpenAPI, and no picture bytes left on disk.

The app runs over FakeResponder (no index); the OCR engine is a fake that returns fixed
lines (the picture is still decoded and checked), except in one request through RapidOCR.
"""

from __future__ import annotations

import base64
import io
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from bot.ocr.engine import OcrLine, OcrPool
from bot.ocr.image import ImageLimits
from bot.ocr.reader import ScreenshotReader
from bot.web.server import create_app
from bot.web.storage import Storage
from tests.web.conftest import FakeResponder, make_settings

THEM = "我是公安局的，你涉嫌洗钱，把钱转到安全账户，电话13812345678"


class FakeEngine:
    """Returns a left bubble with a phone number and a right bubble, wherever it looks."""

    def read(self, rgb) -> list[OcrLine]:
        w = rgb.shape[1]
        return [
            OcrLine(THEM, (int(0.15 * w), 300, int(0.6 * w), 340), 0.99),
            OcrLine("你是谁？", (int(0.7 * w), 420, int(0.85 * w), 460), 0.99),
        ]


def _noise_png(size=(900, 900)) -> bytes:
    """A PNG over 1 MB (noise does not compress): Starlette spools bigger parts to disk."""
    out = io.BytesIO()
    Image.effect_noise(size, 80).convert("RGB").save(out, "PNG")
    return out.getvalue()


@pytest.fixture()
def app_env(tmp_path, monkeypatch):
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))  # where any temporary file would go
    # Unnamed temporary files (O_TMPFILE) never show up in a folder listing: count them.
    opened: list[str] = []
    for name in ("TemporaryFile", "NamedTemporaryFile", "mkstemp", "SpooledTemporaryFile"):
        real = getattr(tempfile, name)

        def spy(*a, _real=real, _name=name, **kw):
            opened.append(_name)
            return _real(*a, **kw)

        monkeypatch.setattr(tempfile, name, spy)
    ws = make_settings(tmp_path, max_image_bytes=3_000_000)
    reader = ScreenshotReader(
        FakeEngine(), OcrPool(1, 2, 30), ImageLimits(max_bytes=ws.max_image_bytes)
    )
    app = create_app(
        None, ws, responder=FakeResponder("ok"), storage=Storage(ws.database_url), reader=reader
    )
    client = TestClient(app)
    client.temp_files = opened  # type: ignore[attr-defined]
    return client, tmp_path


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_multipart_screenshot_is_checked_and_leaves_nothing_on_disk(app_env):
    client, tmp = app_env
    data = _noise_png()
    assert len(data) > 1024 * 1024
    before = _files(tmp)
    r = client.post("/api/check", files={"image": ("shot.png", data, "image/png")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["task"] == "check" and "verdict" in body and "red_flags" in body
    read = body["read"]
    assert read["sides"] is True
    assert read["text"] == THEM.replace("13812345678", "[PHONE]")
    assert [m["side"] for m in read["messages"]] == ["left", "right"]
    temp_files = [n for n in client.temp_files if n != "SpooledTemporaryFile"]
    assert temp_files == []  # a spooled upload that rolled over would open a TemporaryFile
    new = _files(tmp) - before
    assert {p.name for p in new} <= {"web.sqlite3", "web.sqlite3-journal"}
    for path in _files(tmp):
        blob = path.read_bytes()
        assert data[:4096] not in blob and data[-4096:] not in blob
        assert b"13812345678" not in blob


def test_base64_json_screenshot_and_data_url(app_env):
    client, _ = app_env
    raw = base64.b64encode(_png_white()).decode()
    for image in (raw, "data:image/png;base64," + raw):
        r = client.post("/api/check", json={"image": image, "lang": "en"})
        assert r.status_code == 200, r.text
        assert r.json()["read"]["text"].endswith("[PHONE]")


def _png_white(size=(300, 500)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "white").save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("kwargs", "status", "code", "lang"),
    [
        ({"files": {"image": ("a.gif", b"GIF89a" + b"\0" * 99, "image/gif")}}, 415, "image_type", "en"),
        ({"files": {"image": ("a.png", b"\x89PNG\r\n\x1a\nxx", "image/png")}}, 422, "image_broken", "zh"),
        ({"json": {"image": "not base64!"}}, 422, "image_broken", "zh"),
        ({"json": {"image": base64.b64encode(b"x").decode(), "text": "hi"}}, 422, "image_and_text", "en"),
        ({"json": {}}, 422, "invalid_request", "en"),
        ({"content": b"\xff\xfe\xfa{", "headers": {"content-type": "application/json"}}, 422, "invalid_request", "en"),
        ({"content": b"abc", "headers": {"content-type": "multipart/form-data"}}, 422, "invalid_request", "en"),
    ],
)  # fmt: skip
def test_refused_pictures_say_why_in_the_users_language(app_env, kwargs, status, code, lang):
    client, _ = app_env
    headers = {"Accept-Language": lang, **kwargs.pop("headers", {})}
    r = client.post("/api/check", headers=headers, **kwargs)
    assert r.status_code == status, r.text
    assert r.json()["error"] == code
    detail = r.json()["detail"]
    assert detail.isascii() == (lang == "en")


def test_picture_over_the_byte_limit_is_413(app_env):
    client, _ = app_env
    big = _noise_png((1200, 1000))
    assert len(big) > 3_000_000
    r = client.post("/api/check", files={"image": ("a.png", big, "image/png")})
    assert r.status_code == 413 and r.json()["error"] == "image_too_large"
    r = client.post("/api/check", files={"image": ("a.png", big * 2, "image/png")})
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"


def test_text_checks_still_take_the_small_body_limit_elsewhere(app_env):
    client, _ = app_env
    assert client.post("/api/check", json={"text": "你好，这是诈骗吗"}).status_code == 200
    r = client.post("/api/chat", json={"message": "x" * 400_000})
    assert r.status_code == 413


def test_openapi_documents_both_request_bodies(app_env):
    client, _ = app_env
    op = client.get("/openapi.json").json()["paths"]["/api/check"]["post"]
    content = op["requestBody"]["content"]
    assert content["multipart/form-data"]["schema"]["properties"]["image"]["format"] == "binary"
    assert "image" in content["application/json"]["schema"]["properties"]
    assert {"413", "415", "422"} <= set(op["responses"])


def test_a_real_screenshot_through_rapidocr(tmp_path):
    from bot.ocr.synth import Style, fonts_available, render_chat

    if not fonts_available():
        pytest.skip("Noto CJK fonts missing")
    ws = make_settings(tmp_path)
    app = create_app(None, ws, responder=FakeResponder("ok"), storage=Storage(ws.database_url))
    shot = render_chat(
        [("left", "您的快递丢失，请点链接填写银行卡号和验证码办理理赔。"), ("right", "好的")],
        Style(height=1200, jpeg_quality=85),
    )
    r = TestClient(app).post("/api/check", files={"image": ("s.jpg", shot, "image/jpeg")})
    assert r.status_code == 200, r.text
    # PP-OCRv4 sometimes drops a full stop at the end of a line; the words must all be there
    assert (
        r.json()["read"]["text"].rstrip("。")
        == "您的快递丢失，请点链接填写银行卡号和验证码办理理赔"
    )
    assert r.json()["read"]["sides"] is True
