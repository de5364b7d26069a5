"""The screenshot part of the Gradio check tab: the picture input and its handler.

`image_input(lang)` is a `gr.Image` that takes an upload, a pasted picture or (on a phone)
a photo. `check_picture(service, reader, path, lang)` reads the file Gradio saved, deletes
it at once (Gradio writes uploads to its cache; nothing of the picture stays on disk),
reads the text (`bot.ocr`), runs the check on it and returns Markdown: the verdict with its
red flags, then the text read, personal numbers redacted, as "them / me" messages.

It holds no state and does no OCR or checking itself.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import gradio as gr

from bot.ocr.engine import OcrBusy, OcrTimeout
from bot.ocr.image import ImageProblem
from bot.ocr.reader import ScreenshotReader
from bot.web.markdown import escape_text, render_check
from bot.web.service import WebService
from bot.web.text import t

log = logging.getLogger(__name__)


def image_input(lang: str) -> gr.Image:
    return gr.Image(
        label=t("check_image_label", lang),
        type="filepath",  # with image_mode=None Gradio passes its cached upload as is:
        image_mode=None,  # no converted second copy is written
        sources=["upload", "clipboard", "webcam"],
        elem_id="check-image",
        height=240,
    )


def forget(path: str | None) -> None:
    """Delete Gradio's copy of an upload (and its folder, when that is left empty)."""
    if not path:
        return
    p = Path(path)
    try:
        p.unlink(missing_ok=True)
        os.rmdir(p.parent)  # Gradio keeps each upload in a folder of its own
    except OSError:
        pass


def check_picture(
    service: WebService, reader: ScreenshotReader, path: str, lang: str, max_chars: int
) -> str:
    """Markdown for the check of a screenshot; raises `gr.Error` with a text in `lang`."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise gr.Error(t("error_image_broken", lang)) from exc
    finally:
        forget(path)
    try:
        reading = reader.read(data)
    except ImageProblem as exc:
        raise gr.Error(t(exc.key, lang, **exc.values)) from None
    except OcrBusy:
        raise gr.Error(t("error_ocr_busy", lang)) from None
    except OcrTimeout:
        raise gr.Error(t("error_ocr_timeout", lang)) from None
    del data
    try:
        payload = service.answer(reading.text[:max_chars], [], None, task="check", channel="ui")
    except Exception as exc:  # noqa: BLE001
        log.warning("UI picture check failed: %s", exc)
        raise gr.Error(t("error_store_unavailable", lang)) from exc
    out_lang = payload.get("lang") or lang
    return render_check(payload, out_lang) + "\n\n" + render_reading(reading.redacted(), out_lang)


def render_reading(read: dict[str, Any], lang: str) -> str:
    """The messages read, as a quoted list, each marked them/me when the layout shows it."""
    quoted = []
    for m in read.get("messages", []):
        who = {"left": t("side_left", lang), "right": t("side_right", lang)}.get(m["side"])
        prefix = f"**{escape_text(who)}:** " if who and read.get("sides") else ""
        quoted.append(f"> {prefix}{escape_text(m['text'])}")
    return f"**{t('read_text', lang)}**\n\n" + "\n>\n".join(quoted)
