"""The Gradio UI: chat with streaming and cited sources, a message check tab (text or a
screenshot: `gradio_image.py`), feedback.

`build_ui(service, gate)` returns the Blocks; `mount_ui(app, ...)` mounts them at "/" of
the FastAPI app (never `launch`, never `share=True`). Answers come from `WebService`
(which stores each turn); this module only turns payloads into Markdown. Of bot text only a
small subset is live (lists, **bold**, http(s) links; bot/web/markdown.py); every other
character is escaped, so no HTML, javascript:/data: link or heading comes through, and Gradio
sanitizes on top of that. On a phone the question box and the examples fit on the first screen.

What it does not do: no answering logic, no storage, no network; the theme uses fonts
bundled with Gradio. Interface wording lives in `bot/web/web_text.yaml`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from bot.config import enforce_offline

enforce_offline()  # GRADIO_ANALYTICS_ENABLED=False before gradio is imported

import gradio as gr  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from bot.ocr.reader import ScreenshotReader  # noqa: E402
from bot.web.gradio_image import check_picture, forget, image_input  # noqa: E402
from bot.web.limits import UiRateGate, message_problem  # noqa: E402
from bot.web.markdown import escape_text, render_answer, render_check, rich_markdown  # noqa: E402
from bot.web.service import WebService  # noqa: E402
from bot.web.settings import WebSettings  # noqa: E402
from bot.web.storage import StorageError  # noqa: E402
from bot.web.text import t  # noqa: E402

log = logging.getLogger(__name__)

EXAMPLES_ZH = [
    "网贷放款前要我先交解冻金，正常吗？",
    "有人说能花钱帮我修复征信、删除逾期记录，可信吗？",
    "我刚把验证码告诉了自称银行客服的人，怎么办？",
]
EXAMPLES_EN = [
    "A lender says I must pay a fee before they release my loan. Is that a scam?",
    "Someone on a dating app wants me to invest in crypto with them. What should I check?",
    "I just gave my one-time code to someone claiming to be my bank. What now?",
]
LANG_CHOICES = {"中文": "zh", "English": "en"}

CSS = """
#urgent-banner, .urgent-banner { background: #fdecea; border: 2px solid #c5221f; color: #8a1c12;
  border-radius: 8px; padding: 6px 14px; font-weight: 600; }
#disclaimer { font-size: 0.85em; opacity: 0.85; }
#check-result .verdict-scam { color: #c5221f; }
#header h1 { margin-bottom: 0.2em; }
/* Gradio prefixes rules inside @media with ".contain", which the page padding is outside of;
   a clamp() narrows it on phones without a media query (8px at 390px wide, 32px on desktop). */
.gradio-container .main.app { padding-left: clamp(8px, 4vw - 8px, 32px) !important;
  padding-right: clamp(8px, 4vw - 8px, 32px) !important; }
/* A phone (390x844): the question box and the examples fit on the first screen. The chat
   box is only as tall as its messages (up to 60% of the screen), the header is compact. */
@media (max-width: 640px) {
  .column { gap: 8px !important; }
  #header h1 { font-size: 1.3em !important; margin: 0 !important; }
  #header p { font-size: 0.85em; margin: 2px 0 0 !important; line-height: 1.35; }
  #ui-lang { padding: 4px 8px !important; }
  #ui-lang > span, #ui-lang [data-testid="block-info"] { display: none; }
  #chatbot { height: auto !important; min-height: 72px; max-height: 60vh; }
  #chatbot .placeholder-content { min-height: 0 !important; height: auto !important; }
  #chat-input textarea { font-size: 16px; }
  .chat-examples .label { margin-bottom: 2px; }
}
"""


# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of
# them leaves no Markdown, HTML, entity or autolink syntax in a piece of text.
def _client_ip(request: gr.Request | None) -> str | None:
    client = getattr(request, "client", None)
    return getattr(client, "host", None)


def build_ui(
    service: WebService, ws: WebSettings, gate: UiRateGate, reader: ScreenshotReader
) -> gr.Blocks:
    """The Blocks: header, language switch, chat tab, check tab (text or picture), disclaimer."""

    def admit(message: str, lang: str, request: gr.Request | None) -> str:
        message = (message or "").strip()
        wait = gate.check(_client_ip(request))
        if wait is not None:
            raise gr.Error(t("error_rate_limited", lang, seconds=wait))
        problem = message_problem(message, ws.max_message_chars, lang)
        if problem:
            raise gr.Error(problem[1])
        return message

    def chat(
        message: str, shown: list, history: list, ids: list, lang: str, request: gr.Request
    ) -> Iterator[tuple]:
        message = admit(message, lang, request)
        shown = shown + [
            {"role": "user", "content": escape_text(message)},
            {"role": "assistant", "content": "…"},
        ]
        ids = ids + [None, None]
        hidden = gr.Markdown(visible=False)
        yield shown, shown, history, ids, "", hidden
        text = ""
        payload: dict[str, Any] = {}
        try:
            for item in service.stream(message, history, None, channel="ui"):
                if isinstance(item, dict):
                    payload = item
                    break
                text += item
                shown[-1] = {"role": "assistant", "content": rich_markdown(text)}
                yield shown, shown, history, ids, "", hidden
        except Exception as exc:  # store down or a bug: tell the user, keep the chat
            log.warning("UI answer failed: %s", exc)
            raise gr.Error(t("error_store_unavailable", lang)) from exc
        answer_lang = payload.get("lang") or lang
        shown[-1] = {"role": "assistant", "content": render_answer(payload, answer_lang)}
        ids[-1] = payload.get("id")
        history = history + [
            {"role": "user", "content": message},
            {"role": "assistant", "content": payload.get("answer") or ""},
        ]
        banner = gr.Markdown(t("urgent_banner", answer_lang), visible=bool(payload.get("urgent")))
        yield shown, shown, history, ids, "", banner

    def rate(ids: list, lang: str, data: gr.LikeData) -> tuple[int | None, str]:
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn_id = ids[index] if isinstance(index, int) and 0 <= index < len(ids) else None
        if turn_id is None or data.liked not in (True, False, "Like", "Dislike"):
            return None, ""
        rating = "up" if data.liked in (True, "Like") else "down"
        try:
            feedback_id = service.feedback(turn_id, rating)
        except StorageError:
            return None, t("error_storage_unavailable", lang)
        return feedback_id, t("feedback_thanks", lang)

    def send_comment(feedback_id: int | None, comment: str, lang: str) -> tuple[str, str]:
        if feedback_id is None:
            return comment, t("feedback_rate_first", lang)
        problem = message_problem(comment or "", ws.max_message_chars, lang)
        if problem:
            return comment, problem[1]
        try:
            service.comment(feedback_id, comment.strip())
        except StorageError:
            return comment, t("error_storage_unavailable", lang)
        return "", t("feedback_thanks", lang)

    def check(text: str, image: str | None, lang: str, request: gr.Request) -> tuple[str, None]:
        if image:
            wait = gate.check(_client_ip(request))
            if wait is not None:
                forget(image)
                raise gr.Error(t("error_rate_limited", lang, seconds=wait))
            return check_picture(service, reader, image, lang, ws.max_message_chars), None
        return check_text(text, lang, request), None

    def check_text(text: str, lang: str, request: gr.Request) -> str:
        text = admit(text, lang, request)
        try:
            payload = service.answer(text, [], None, task="check", channel="ui")
        except Exception as exc:  # noqa: BLE001
            log.warning("UI check failed: %s", exc)
            raise gr.Error(t("error_store_unavailable", lang)) from exc
        return render_check(payload, payload.get("lang") or lang)

    def switch(choice: str) -> tuple:
        lang = LANG_CHOICES.get(choice, "zh")
        return (
            lang,
            gr.Markdown(_header(lang)),
            gr.Radio(label=t("interface_language", lang)),
            gr.Tab(label=t("tab_chat", lang)),
            gr.Tab(label=t("tab_check", lang)),
            gr.Textbox(label=t("input_label", lang), placeholder=t("input_placeholder", lang)),
            gr.Button(t("send", lang)),
            gr.Button(t("clear", lang)),
            gr.Textbox(
                label=t("feedback_label", lang), placeholder=t("feedback_placeholder", lang)
            ),
            gr.Button(t("feedback_send", lang)),
            gr.Textbox(label=t("check_label", lang), placeholder=t("check_placeholder", lang)),
            gr.Button(t("check_button", lang)),
            gr.Image(label=t("check_image_label", lang)),
            gr.Markdown(t("disclaimer", lang)),
            gr.Chatbot(placeholder=t("chat_placeholder", lang)),
            gr.Column(visible=lang == "zh"),
            gr.Column(visible=lang == "en"),
        )

    with gr.Blocks(title="反诈助手 AntiScam Assistant") as demo:
        lang = gr.State("zh")
        shown = gr.State([])  # what the chatbot shows, as role/content dicts
        history = gr.State([])  # plain text turns sent back to the responder
        ids = gr.State([])  # answer id per shown message (None for user messages)
        feedback_id = gr.State(None)
        header = gr.Markdown(_header("zh"), elem_id="header")
        ui_lang = gr.Radio(
            list(LANG_CHOICES), value="中文", label=t("interface_language", "zh"), elem_id="ui-lang"
        )
        with gr.Tabs():
            with gr.Tab(t("tab_chat", "zh"), id="chat", elem_id="tab-chat") as tab_chat:
                banner = gr.Markdown(
                    visible=False, elem_id="urgent-banner", elem_classes=["urgent-banner"]
                )
                # Bot text arrives as Markdown from `render_answer`, where everything but lists,
                # bold and http(s) links is escaped; Gradio sanitizes the HTML on top of that.
                chatbot = gr.Chatbot(
                    elem_id="chatbot",
                    height=460,
                    placeholder=t("chat_placeholder", "zh"),
                    buttons=["copy"],
                    render_markdown=True,
                    sanitize_html=True,
                    allow_tags=False,
                    latex_delimiters=[],
                    feedback_options=("Like", "Dislike"),
                    show_label=False,
                )
                with gr.Row(equal_height=True):
                    box = gr.Textbox(
                        label=t("input_label", "zh"),
                        placeholder=t("input_placeholder", "zh"),
                        elem_id="chat-input",
                        lines=2,
                        scale=5,
                    )
                    with gr.Column(scale=1, min_width=72):
                        send = gr.Button(t("send", "zh"), variant="primary", elem_id="chat-send")
                        clear = gr.Button(t("clear", "zh"), size="sm", elem_id="chat-clear")
                # The examples of the interface language (the switch swaps them).
                with gr.Column(elem_id="examples-zh", elem_classes=["chat-examples"]) as ex_zh:
                    gr.Examples([[q] for q in EXAMPLES_ZH], inputs=[box], label="示例")
                with gr.Column(
                    elem_id="examples-en", elem_classes=["chat-examples"], visible=False
                ) as ex_en:
                    gr.Examples([[q] for q in EXAMPLES_EN], inputs=[box], label="Examples")
                with gr.Row():
                    comment = gr.Textbox(
                        label=t("feedback_label", "zh"),
                        placeholder=t("feedback_placeholder", "zh"),
                        elem_id="feedback-comment",
                        scale=5,
                    )
                    comment_send = gr.Button(
                        t("feedback_send", "zh"), elem_id="feedback-send", scale=1, min_width=72
                    )
                feedback_note = gr.Markdown(elem_id="feedback-note")
            with gr.Tab(t("tab_check", "zh"), id="check", elem_id="tab-check") as tab_check:
                check_box = gr.Textbox(
                    label=t("check_label", "zh"),
                    placeholder=t("check_placeholder", "zh"),
                    lines=5,
                    elem_id="check-input",
                )
                check_image = image_input("zh")
                check_send = gr.Button(
                    t("check_button", "zh"), variant="primary", elem_id="check-send"
                )
                check_out = gr.Markdown(elem_id="check-result")
        disclaimer = gr.Markdown(t("disclaimer", "zh"), elem_id="disclaimer")

        chat_io = dict(
            fn=chat,
            inputs=[box, shown, history, ids, lang],
            outputs=[chatbot, shown, history, ids, box, banner],
        )
        send.click(**chat_io)
        box.submit(**chat_io)
        clear.click(
            lambda: ([], [], [], [], None, gr.Markdown(visible=False)),
            None,
            [chatbot, shown, history, ids, feedback_id, banner],
        )
        chatbot.like(rate, [ids, lang], [feedback_id, feedback_note])
        comment_send.click(send_comment, [feedback_id, comment, lang], [comment, feedback_note])
        check_send.click(check, [check_box, check_image, lang], [check_out, check_image])
        ui_lang.change(
            switch,
            [ui_lang],
            [
                lang,
                header,
                ui_lang,
                tab_chat,
                tab_check,
                box,
                send,
                clear,
                comment,
                comment_send,
                check_box,
                check_send,
                check_image,
                disclaimer,
                chatbot,
                ex_zh,
                ex_en,
            ],
        )
    demo.queue(default_concurrency_limit=8)
    return demo


def _header(lang: str) -> str:
    return f"# 🛡️ {t('title', lang)}\n{t('subtitle', lang)}"


def mount_ui(
    app: FastAPI,
    service: WebService,
    ws: WebSettings,
    gate: UiRateGate,
    reader: ScreenshotReader | None = None,
) -> FastAPI:
    """Mount the UI at "/" of `app`: no SSR node server, no monitoring, no MCP, no PWA."""
    from bot.web.image_check import make_reader

    theme = gr.themes.Soft(primary_hue="red", secondary_hue="orange")
    return gr.mount_gradio_app(
        app,
        build_ui(service, ws, gate, reader or make_reader(ws)),
        path="/",
        theme=theme,
        css=CSS,
        ssr_mode=False,
        footer_links=[],
        mcp_server=False,
        pwa=False,
        enable_monitoring=False,
        show_error=True,
        max_file_size=ws.max_image_bytes,
    )
