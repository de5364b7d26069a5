"""The UI and the widget in Debian's Chromium, driven by Playwright, against live servers.

Chromium runs headless with a fresh profile and a host-resolver rule that leaves it nothing
but 127.0.0.1. Tests wait for elements, never for network idle. Screenshots go to
eval/reports/screenshots/ (ui.png, widget.png, widget-mobile.png).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.web.server import create_app
from tests.web.conftest import FakeResponder, make_settings, serve

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "eval" / "reports" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
TIMEOUT = 60_000  # ms; the first answer also warms the retriever

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is missing: run `make browser` (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def browser_context() -> Iterator:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1200, "height": 900},
            locale="zh-CN",
        )
        context.set_default_timeout(TIMEOUT)
        yield context
        context.close()


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    yield page
    page.close()


@pytest.fixture(scope="module")
def fake_server(indexed, tmp_path_factory):
    """The app with a responder that answers with an XSS attempt and hostile citations."""
    tmp = tmp_path_factory.mktemp("fake-web")
    app = create_app(indexed, make_settings(tmp), responder=FakeResponder())
    with serve(app) as server:
        yield server


def ask_widget(page, question: str) -> None:
    page.locator("#antiscam-widget .fab").click()
    page.locator("#antiscam-widget textarea").fill(question)
    page.locator("#antiscam-widget textarea").press("Enter")


def test_gradio_ui_answers_with_clickable_citations(live_server, real_app, page):
    page.goto(live_server.url + "/")
    page.locator("#chat-input textarea").fill("网贷放款前要我先交解冻金，正常吗？")
    page.locator("#chat-send").click()
    link = page.locator("#chatbot a[href^='http']").first
    link.wait_for()
    assert link.get_attribute("href").startswith("http")
    assert "来源" in page.locator("#chatbot").inner_text()
    assert "不构成法律意见" in page.locator("#disclaimer").inner_text()
    page.locator("#chatbot").scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "ui.png"), full_page=True)

    # Thumbs down, then a comment: stored on that answer, with the phone number redacted.
    dislike = "#chatbot button[aria-label='Dislike'], #chatbot button[aria-label='踩']"
    page.locator(dislike).last.click()  # Gradio localizes the label (zh-CN browser)
    page.locator("#feedback-note", has_text="谢谢").wait_for()
    page.locator("#feedback-comment textarea").fill("没说到点子上，我的电话13912345678")
    page.locator("#feedback-send").click()
    page.wait_for_function("!document.querySelector('#feedback-comment textarea').value")
    storage = real_app.state.service.storage
    cases = [c for c in storage.export_cases("down") if c["source"] == "feedback:ui"]
    assert cases and cases[-1]["comment"] == "没说到点子上，我的电话[PHONE]"

    # The interface language switch relabels the UI.
    page.get_by_label("English").check()
    page.locator("#disclaimer", has_text="not legal advice").wait_for()


def test_gradio_check_tab_shows_a_verdict(live_server, page):
    page.goto(live_server.url + "/")
    page.get_by_role("tab", name="检查一条消息").click()
    page.locator("#check-input textarea").fill(
        "【速e贷】您申请的50000元借款已审核通过，因银行卡号有误资金被冻结，请2小时内缴纳解冻金3000元。"
    )
    page.locator("#check-send").click()
    page.locator("#check-result", has_text="判断").wait_for()


def test_api_docs_render_offline(live_server, page):
    page.goto(live_server.url + "/docs")
    # Swagger UI drew the operations from /openapi.json with its locally served script
    page.locator(".opblock-summary-path", has_text="/api/chat").first.wait_for(timeout=30_000)


def test_widget_on_the_support_page_streams_an_answer_with_links(live_server, page):
    page.goto(live_server.url + "/demo/support")
    ask_widget(page, "有人说交一笔保证金就能马上放款，是真的吗？")
    link = page.locator("#antiscam-widget .sources a").first
    link.wait_for()
    assert link.get_attribute("href").startswith("http")
    assert link.get_attribute("rel") == "noopener noreferrer nofollow"
    # The page's hostile CSS (lime, 22px, letter-spacing) does not reach the shadow tree.
    style = link.evaluate("a => [getComputedStyle(a).fontSize, getComputedStyle(a).letterSpacing]")
    assert style == ["12px", "normal"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "widget.png"))

    page.set_viewport_size({"width": 375, "height": 740})  # a phone
    box = page.locator("#antiscam-widget .panel").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375
    page.screenshot(path=str(SHOTS / "widget-mobile.png"))


def test_bot_text_is_shown_as_text_never_as_html(fake_server, page):
    page.goto(fake_server.url + "/demo/support")
    ask_widget(page, "hello")
    bubble = page.locator("#antiscam-widget .msg.bot").last
    bubble.locator(".rate").wait_for()
    assert "<img src=x onerror=" in bubble.inner_text()
    assert page.locator("#antiscam-widget img, #antiscam-widget script").count() == 0
    links = page.locator("#antiscam-widget .sources a")
    assert links.count() == 1 and links.first.get_attribute("href") == "https://example.org/a?b=1"
    assert "<b>Title</b>" in page.locator("#antiscam-widget .sources").inner_text()
    assert page.evaluate("window.__xss") is None

    page.goto(fake_server.url + "/")
    page.locator("#chat-input textarea").fill("hello")
    page.locator("#chat-send").click()
    page.locator("#chatbot", has_text="onerror").wait_for()
    assert page.locator("#chatbot img[src='x'], #chatbot script").count() == 0
    assert page.locator("#chatbot a[href^='javascript']").count() == 0
    assert page.evaluate("window.__xss") is None


def test_widget_shows_the_rate_limit_message(indexed, tmp_path, page):
    app = create_app(
        indexed,
        make_settings(tmp_path, rate_limit="2/minute"),
        responder=FakeResponder("ok"),
        ui=False,
    )
    with serve(app) as server:
        page.goto(server.url + "/demo/support")
        ask_widget(page, "one")
        rated = page.locator("#antiscam-widget .msg.bot .rate")
        rated.first.wait_for()
        page.locator("#antiscam-widget textarea").fill("two")
        page.locator("#antiscam-widget textarea").press("Enter")
        rated.nth(1).wait_for()
        page.locator("#antiscam-widget textarea").fill("three")
        page.locator("#antiscam-widget textarea").press("Enter")
        page.locator("#antiscam-widget .msg.error", has_text="请求太频繁").wait_for()
