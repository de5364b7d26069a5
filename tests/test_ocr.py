"""bot/ocr: picture limits and errors, grouping lines into messages, the bounded pool, and
one real OCR pass per language over small screenshots drawn here (engine loaded once)."""

from __future__ import annotations

import io
import struct
import threading
import zlib

import pytest
from PIL import Image, ImageFile

from bot.ocr.engine import OcrBusy, OcrLine, OcrPool, OcrTimeout
from bot.ocr.image import ImageLimits, ImageProblem, decode
from bot.ocr.layout import group, join_lines, text_to_check
from bot.ocr.synth import Style, fonts_available, render_chat


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "white").save(out, "PNG")
    return out.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height, with one tiny compressed row of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 422, "image_empty"),
        (b"GIF89a" + b"\x00" * 64, 415, "image_type"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, 415, "image_type"),
        (b"%PDF-1.7" + b"\x00" * 64, 415, "image_type"),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, 422, "image_broken"),
        (_png((10, 10)), 422, "image_too_small"),
    ],
)
def test_bad_pictures_are_refused_with_a_status_and_code(data, status, code):
    with pytest.raises(ImageProblem) as err:
        decode(data)
    assert (err.value.status, err.value.code) == (status, code)


def test_too_many_bytes_is_413():
    with pytest.raises(ImageProblem) as err:
        decode(_png((200, 200)), ImageLimits(max_bytes=100))
    assert (err.value.status, err.value.code) == (413, "image_too_large")


def test_too_many_pixels_is_refused_before_any_pixel_is_decoded(monkeypatch):
    def no_load(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_load)
    with pytest.raises(ImageProblem) as err:
        decode(_png((2000, 1000)), ImageLimits(max_pixels=1_000_000))
    assert (err.value.status, err.value.code) == (413, "image_too_many_pixels")


@pytest.mark.parametrize("side", [30_000, 200_000])  # below and above Pillow's own bomb limit
def test_decompression_bomb_header_is_413(side):
    data = _png_header_only(side, side)
    assert len(data) < 200
    with pytest.raises(ImageProblem) as err:
        decode(data)
    assert (err.value.status, err.value.code) == (413, "image_too_many_pixels")


def test_truncated_jpeg_is_422():
    out = io.BytesIO()
    Image.effect_noise((400, 400), 60).convert("RGB").save(out, "JPEG")
    with pytest.raises(ImageProblem) as err:
        decode(out.getvalue()[: len(out.getvalue()) // 2])
    assert err.value.code == "image_broken"


def test_transparent_webp_is_flattened_to_rgb():
    out = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(out, "WEBP")
    img = decode(out.getvalue())
    assert img.mode == "RGB" and img.getpixel((5, 5)) == (255, 255, 255)


def _line(text: str, x0: int, y0: int, x1: int, h: int = 40) -> OcrLine:
    return OcrLine(text, (x0, y0, x1, y0 + h), 0.99)


def test_lines_become_left_and_right_messages_without_chrome():
    w, h = 1080, 2400
    lines = [
        _line("9:41", 34, 27, 100),
        _line("5G 69%", 777, 29, 885),
        _line("张经理", 472, 140, 611),
        _line("昨天 14:32", 468, 274, 612),
        _line("您好，我是恒信金融放款部的小李，", 194, 393, 760),
        _line("您8万的额度已经批下来了。", 194, 456, 640),
        _line("你是谁？", 708, 600, 869),
        _line("Pay the fee to", 194, 760, 700),
        _line("release the loan.", 194, 822, 600),
        _line("发送", 914, 2283, 1006),
    ]
    messages, chrome = group(lines, w, h)
    assert [c.text for c in chrome] == ["9:41", "5G 69%", "张经理", "昨天 14:32", "发送"]
    assert [(m.side, m.text) for m in messages] == [
        ("left", "您好，我是恒信金融放款部的小李，您8万的额度已经批下来了。"),
        ("right", "你是谁？"),
        ("left", "Pay the fee to release the loan."),
    ]
    assert text_to_check(messages) == (
        "您好，我是恒信金融放款部的小李，您8万的额度已经批下来了。\nPay the fee to release the loan."
    )


def test_without_two_sides_every_message_is_checked():
    lines = [_line("Your parcel is held.", 40, 400, 1040), _line("Pay $2 now.", 40, 600, 500)]
    messages, _ = group(lines, 1080, 2400)
    assert text_to_check(messages) == "Your parcel is held.\nPay $2 now."


def test_colour_settles_wide_bubbles_whose_margins_do_not_tell():
    lines = [_line("一段很长的消息", 190, 400, 860), _line("一段很长的回复", 215, 600, 885)]
    messages, _ = group(lines, 1080, 2400)
    assert {m.side for m in messages} == {"center"}
    tints = {400: 0.0, 600: 0.6}  # a white bubble, then a green one
    messages, _ = group(lines, 1080, 2400, tint=lambda box: tints[box[1]])
    assert [m.side for m in messages] == ["left", "right"]


def test_join_lines_spaces_only_between_latin_words():
    assert join_lines(["请把钱转到", "安全账户"]) == "请把钱转到安全账户"
    assert join_lines(["Transfer the", "money now"]) == "Transfer the money now"
    assert join_lines(["代码 code", "是1234"]) == "代码 code是1234"


def test_an_engine_failure_is_a_422_not_a_crash():
    from bot.ocr.reader import ScreenshotReader

    class Broken:
        def read(self, rgb):
            raise ValueError("ResizeImgError")

    reader = ScreenshotReader(Broken(), OcrPool(1, 0, 10))
    with pytest.raises(ImageProblem) as err:
        reader.read(_png((40, 3000)))
    assert (err.value.status, err.value.code) == (422, "image_broken")


def test_pool_refuses_when_full_and_gives_up_after_the_time_limit():
    pool = OcrPool(workers=1, queue=0, timeout=0.2)
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        return "done"

    worker = threading.Thread(target=lambda: pytest.raises(OcrTimeout, pool.run, slow))
    worker.start()
    assert started.wait(5)
    with pytest.raises(OcrBusy):
        pool.run(lambda: "next")
    worker.join(5)
    release.set()
    pool.shutdown()


@pytest.fixture(scope="session")
def reader():
    if not fonts_available():
        pytest.skip("Noto CJK fonts missing (make browser installs fonts-noto-cjk)")
    from bot.ocr.reader import ScreenshotReader

    return ScreenshotReader()


@pytest.mark.parametrize(
    ("them", "me"),
    [
        ("我是市公安局民警，你的银行卡涉嫌洗钱，必须把钱转到安全账户配合调查。", "你是谁？"),
        ("Your account is locked. Send the code we texted you to unlock it.", "Who is this?"),
    ],
)
def test_a_rendered_chat_is_read_back_as_the_other_partys_text(reader, them, me):
    data = render_chat([("left", them), ("right", me)], Style(height=1400, jpeg_quality=85))
    reading = reader.read(data)
    assert reading.sides
    assert "".join(reading.text.split()) == "".join(them.split())
    assert [m.side for m in reading.messages] == ["left", "right"]
    shown = reader.read(render_chat([("left", "验证码是 482913，请告诉我")], Style(height=900)))
    assert "482913" not in shown.redacted()["text"]


def test_batch_rows_may_give_a_screenshot_path_for_checks():
    from bot.batch import parse_row

    assert parse_row('{"id": 1, "task": "check", "image": "a.png"}')[1] is None
    assert "image" in parse_row('{"id": 1, "task": "chat", "image": "a.png"}')[1]
    assert "image" in parse_row('{"id": 1, "task": "check", "image": "a.png", "input": "x"}')[1]


def test_cli_refuses_a_picture_it_cannot_read_before_loading_models(tmp_path):
    from click.testing import CliRunner

    from bot.cli import main

    bad = tmp_path / "shot.gif"
    bad.write_bytes(b"GIF89a" + b"\0" * 64)
    result = CliRunner().invoke(main, ["check", "--image", str(bad), "--lang", "en"])
    assert result.exit_code == 1
    assert "Only PNG, JPEG or WebP" in result.output
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2 and "--image" in result.output
