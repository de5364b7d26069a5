"""A screenshot checked in the browser: the Gradio check tab and the widget's 📎 button, on
the live server over the real index and the real OCR (Debian's Chromium, headless).

Each test uploads a chat screenshot drawn here (a fake-police message and a reply), waits
for a verdict with red flags and for the text read, and saves a picture of the page to
eval/reports/screenshots/ (check-image.png, widget-image.png). The Gradio test also checks
that Gradio's copy of the upload is gone once the answer is shown.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ocr.synth import Style, fonts_available, render_chat
from tests.web.test_browser import CHROMIUM, SHOTS, browser_context, page  # noqa: F401

THEM = "我是市公安局民警，你的银行卡涉嫌洗钱，必须把钱转到安全账户配合调查，不要告诉家人。"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() or not fonts_available(),
    reason="needs /usr/bin/chromium and the Noto CJK fonts (`make browser`)",
)


@pytest.fixture(scope="module")
def shot(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("shots") / "chat.png"
    path.write_bytes(render_chat([("left", THEM), ("right", "你是谁？")], Style(height=1600)))
    return path


def _gradio_copies(data: bytes) -> list[Path]:
    from gradio.utils import get_upload_folder

    root = Path(get_upload_folder())
    if not root.exists():
        return []
    return [p for p in root.rglob("*") if p.is_file() and p.stat().st_size == len(data)]


def test_gradio_check_tab_reads_a_screenshot(live_server, page, shot):  # noqa: F811
    page.goto(live_server.url + "/")
    page.get_by_role("tab", name="检查一条消息").click()
    page.locator("#check-image input[type=file]").set_input_files(str(shot))
    page.locator("#check-image img").first.wait_for()  # the upload finished
    page.locator("#check-send").click()
    result = page.locator("#check-result")
    result.locator("text=危险信号").wait_for()
    result.locator("text=读到的文字").wait_for()
    assert "涉嫌洗钱" in result.inner_text()
    assert "你是谁" in result.inner_text()  # shown, marked as the user's own message
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "check-image.png"), full_page=True)
    data = shot.read_bytes()
    assert [p for p in _gradio_copies(data) if p.read_bytes() == data] == []


def test_widget_attach_button_checks_a_screenshot(live_server, page, shot):  # noqa: F811
    page.set_viewport_size({"width": 900, "height": 900})
    page.goto(live_server.url + "/demo/support")
    page.locator("#antiscam-widget .fab").click()
    chooser = page.locator("#antiscam-widget input[type=file]")
    assert chooser.get_attribute("accept") == "image/*"
    chooser.set_input_files(str(shot))
    widget = page.locator("#antiscam-widget")
    widget.locator(".verdict").wait_for()
    assert widget.locator(".flags li").count() >= 1
    read = widget.locator(".read")
    read.wait_for()
    assert "涉嫌洗钱" in read.inner_text()
    page.screenshot(path=str(SHOTS / "widget-image.png"))
