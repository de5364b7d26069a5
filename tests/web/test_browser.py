"""The UI and the widget in Debian's Chromium, driven by Playwright, against live servers.

Chromium runs headless with a fresh profile and a host-resolver rule that leaves it nothing
but 127.0.0.1. Tests wait for elements, never for network idle. Screenshots go to
eval/reports/screenshots/ (ui.png, widget.png; on a 390x844 phone ui-mobile.png and
widget-mobile.png).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.web.server import create_app
from tests.web.conftest import XSS, FakeResponder, make_settings, serve

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
TIMEOUT = 120_000  # ms; the first answer also warms the retriever (2 cores, shared)
PHONE = {"width": 390, "height": 844}
# The fake bot's answer: an XSS attempt plus the Markdown subset, with links that must stay text.
HOSTILE = (
    XSS
    + "\n要点：\n- 第一条 **加粗** 见 https://example.org/bare。"
    + "\n- [x](javascript:alert(1)) [d](data:text/html,<b>hi</b>) [ok](https://example.org/ok)"
    + "\n1. 先报警\n2. 再联系银行\n"
)

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
    app = create_app(indexed, make_settings(tmp), responder=FakeResponder(HOSTILE))
    with serve(app) as server:
        yield server


def ask_widget(page, question: str) -> None:
    page.locator("#antiscam-widget .fab").click()
    page.locator("#antiscam-widget textarea").fill(question)
    page.locator("#antiscam-widget textarea").press("Enter")


def hrefs(page, scope: str) -> list[str]:
    """Every href under `scope` (the widget's shadow tree included: Playwright pierces it)."""
    return page.locator(f"{scope} [href]").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )


def show_last_source(page) -> None:
    """Scroll the chat box (not the page) down to the answer's last source, for screenshots."""
    # Gradio scrolls the chat itself after the last event, so scroll until the link has
    # stayed inside the chat box for four polls in a row.
    page.wait_for_function(
        """() => {
          const a = [...document.querySelectorAll("#chatbot li a[href^='http']")].pop().closest("li");
          const box = document.querySelector("#chatbot").getBoundingClientRect();
          const r = a.getBoundingClientRect();
          if (r.top >= box.top - 2 && r.bottom <= box.bottom + 2) {
            window.__shown = (window.__shown || 0) + 1;
          } else {
            window.__shown = 0;
            a.scrollIntoView({block: "end"});
            window.scrollTo(0, 0);
          }
          return window.__shown >= 4;
        }""",
        polling=250,
    )


def assert_in_viewport(locator, size: dict[str, int]) -> None:
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], box
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], box


def test_gradio_ui_answers_with_clickable_citations(live_server, real_app, page):
    page.goto(live_server.url + "/")
    page.locator("#chat-input textarea").fill("网贷放款前要我先交解冻金，正常吗？")
    page.locator("#chat-send").click()
    link = page.locator("#chatbot a[href^='http']").first
    link.wait_for()
    assert link.get_attribute("href").startswith("http")
    assert "来源" in page.locator("#chatbot").inner_text()
    assert "不构成法律意见" in page.locator("#disclaimer").inner_text()
    # Tall enough for the whole page: a full_page capture would let Gradio re-scroll the chat.
    page.set_viewport_size({"width": 1200, "height": 1120})
    show_last_source(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "ui.png"))

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
    page.locator("#examples-en button", has_text="one-time code").wait_for()  # examples swap
    assert page.locator("#examples-zh button").first.is_hidden()


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


def test_phone_shows_the_question_box_and_examples_without_scrolling(live_server, page):
    """390x844: the Gradio page's question box and examples, and the open widget's question
    box, are on the first screen; after an answer (a list and sources) too. Screenshots."""
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/")
    box = page.locator("#chat-input textarea")
    box.wait_for()
    assert page.evaluate("window.scrollY") == 0
    assert_in_viewport(box, PHONE)
    assert_in_viewport(page.locator("#chat-send"), PHONE)
    examples = page.locator("#examples-zh button")
    assert examples.count() == 3
    for i in range(3):
        assert_in_viewport(examples.nth(i), PHONE)

    examples.first.click()  # fills the question box (through the server)
    page.wait_for_function(
        "document.querySelector('#chat-input textarea').value.startsWith('网贷放款前')"
    )
    page.locator("#chat-send").click()
    page.locator("#chatbot a[href^='http']").first.wait_for()
    page.locator("#chatbot li").first.wait_for()
    show_last_source(page)
    assert_in_viewport(box, PHONE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "ui-mobile.png"))

    page.goto(live_server.url + "/demo/support")
    page.locator("#antiscam-widget .fab").click()
    question = page.locator("#antiscam-widget textarea")
    assert_in_viewport(question, PHONE)
    assert_in_viewport(page.locator("#antiscam-widget .panel"), PHONE)
    question.fill("有人说交一笔保证金就能马上放款，是真的吗？")
    question.press("Enter")
    page.locator("#antiscam-widget .sources a").first.wait_for()
    assert page.locator("#antiscam-widget .rich li").count() > 0
    assert_in_viewport(question, PHONE)
    page.screenshot(path=str(SHOTS / "widget-mobile.png"))


def test_bot_text_is_shown_as_text_never_as_html(fake_server, page):
    """Raw HTML stays text; lists, bold and http(s) links render; javascript:/data: links stay
    text in both the widget and the Gradio chat, and nothing runs."""
    page.goto(fake_server.url + "/demo/support")
    ask_widget(page, "hello")
    bubble = page.locator("#antiscam-widget .msg.bot").last
    bubble.locator(".rate").wait_for()
    text = bubble.inner_text()
    assert "<img src=x onerror=" in text
    assert "[x](javascript:alert(1))" in text and "[d](data:text/html,<b>hi</b>)" in text
    assert page.locator("#antiscam-widget img, #antiscam-widget script").count() == 0
    assert bubble.locator(".rich ul > li").count() == 2
    assert bubble.locator(".rich ol > li").count() == 2
    assert bubble.locator(".rich strong").inner_text() == "加粗"
    rich_links = bubble.locator(".rich a")
    assert [rich_links.nth(i).get_attribute("href") for i in range(rich_links.count())] == [
        "https://example.org/bare",
        "https://example.org/ok",
    ]
    for i in range(rich_links.count()):
        assert rich_links.nth(i).get_attribute("target") == "_blank"
        assert "noopener noreferrer" in rich_links.nth(i).get_attribute("rel")
    links = page.locator("#antiscam-widget .sources a")
    assert links.count() == 1 and links.first.get_attribute("href") == "https://example.org/a?b=1"
    assert "<b>Title</b>" in page.locator("#antiscam-widget .sources").inner_text()
    assert all(h.startswith("https://") for h in hrefs(page, "#antiscam-widget"))
    assert page.evaluate("window.__xss") is None

    page.goto(fake_server.url + "/")
    page.locator("#chat-input textarea").fill("hello")
    page.locator("#chat-send").click()
    page.locator("#chatbot", has_text="Real source").wait_for()
    chat = page.locator("#chatbot")
    text = chat.inner_text()
    assert "onerror" in text and "[x](javascript:alert(1))" in text
    assert page.locator("#chatbot img[src='x'], #chatbot script").count() == 0
    assert chat.locator("strong", has_text="加粗").count() == 1
    assert chat.locator("li", has_text="先报警").count() == 1
    bare = chat.locator("a[href='https://example.org/bare']")
    assert bare.count() == 1 and bare.get_attribute("target") == "_blank"
    assert "noopener" in (bare.get_attribute("rel") or "")
    assert chat.locator("a[href='https://example.org/ok']").count() == 1
    assert not [h for h in hrefs(page, "#chatbot") if not h.startswith(("http://", "https://"))]
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
