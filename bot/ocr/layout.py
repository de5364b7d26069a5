"""OCR lines → the messages of a chat or SMS screenshot, by where the lines are.

`group(lines, width, height)`:
1. drops UI chrome: the status bar (clock, signal, battery %), the title bar's short lines,
   timestamps ("昨天 14:32", "Yesterday 2:30 PM", "2024年3月1日"), the input box and its
   buttons ("发送", "Send", "按住 说话", "iMessage", "Text Message") and lone symbols;
2. groups the remaining lines into bubbles / paragraphs: a line joins the one above when the
   gap between them is small for their height and they start at the same x (text in a bubble
   is left-aligned) or overlap enough;
3. gives each message a side: "left" (the other party) or "right" (the user) when its margins
   say so, "full" when it spans the screen (a plain SMS, e-mail or note), "center" otherwise.
Lines of one message are joined without a space between Chinese characters, with one
between Latin words. `text_to_check(messages)` is what the other party wrote when the
layout shows sides, else every message. It neither reads pictures nor judges the text.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.ocr.engine import OcrLine

_TIME = r"(?:[01]?\d|2[0-3])[:：][0-5]\d(?:\s*[AaPp]\.?[Mm]\.?)?"
_DAY = (
    r"(?:昨天|今天|前天|星期[一二三四五六日天]|周[一二三四五六日天]|上午|下午|晚上|凌晨|中午|早上"
    r"|Yesterday|Today|Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?"
)
_DATE = r"(?:\d{4}[年/.-])?\d{1,2}[月/.-]\d{1,2}日?"
TIMESTAMP = re.compile(rf"^(?:{_DAY}|{_DATE}|{_TIME}|[\s,，])+$", re.IGNORECASE)
CHROME_WORDS = {
    "发送", "send", "按住说话", "按住 说话", "imessage", "text message", "短信", "信息",
    "短信/彩信", "sms", "mms", "返回", "<", ">", "+", "…", "...", "﹤", "〈", "《",
    "已读", "read", "delivered", "已送达", "送达",
}  # fmt: skip
STATUS = re.compile(
    r"^(?:[\d:：]+|(?:[45]G|LTE|5G\+|HD|VoLTE|WiFi|Wi-Fi|\d{1,3}\s*%|[|.·•\s])+)$", re.IGNORECASE
)
CJK_END = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]$")
CJK_START = re.compile(r"^[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


@dataclass
class Message:
    """One bubble or paragraph: its side, its text and the lines it was read from."""

    side: str  # left | right | full | center
    lines: list[OcrLine] = field(default_factory=list)

    @property
    def text(self) -> str:
        return join_lines([x.text for x in self.lines])

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (
            min(x.box[0] for x in self.lines),
            min(x.box[1] for x in self.lines),
            max(x.box[2] for x in self.lines),
            max(x.box[3] for x in self.lines),
        )


def join_lines(parts: list[str]) -> str:
    """Wrapped lines back into one text: no space inside Chinese, one between Latin words."""
    out = ""
    for part in parts:
        part = part.strip()
        if not out:
            out = part
        elif CJK_END.search(out) or CJK_START.search(part) or out.endswith("-"):
            out += part
        else:
            out += " " + part
    return out


def is_chrome(line: OcrLine, width: int, height: int) -> bool:
    """True for status-bar, title-bar, timestamp and input-box lines."""
    text = line.text.strip()
    squashed = re.sub(r"\s+", "", text).lower()
    cy = (line.box[1] + line.box[3]) / 2
    if text.lower() in CHROME_WORDS or squashed in CHROME_WORDS:
        return True
    if TIMESTAMP.match(text) or STATUS.match(text):
        return True
    # Bars have a fixed height in screen units, so they are measured in widths of the screen.
    top, bottom = cy < 0.09 * width, cy > height - 0.16 * width
    if top and len(squashed) <= 12:  # status bar: carrier, clock, battery
        return True
    if bottom and len(squashed) <= 8:  # input box hints and buttons
        return True
    # title bar: a short centred line near the top (the contact's name)
    centred = abs((line.box[0] + line.box[2]) / 2 - width / 2) < 0.08 * width
    return cy < 0.22 * width and centred and len(squashed) <= 16


def _side(box: tuple[int, int, int, int], width: int) -> str:
    left, right = box[0], width - box[2]
    if left < 0.1 * width and right < 0.1 * width:
        return "full"
    if left + 0.06 * width < right:
        return "left"
    if right + 0.06 * width < left:
        return "right"
    return "center"


def group(
    lines: list[OcrLine],
    width: int,
    height: int,
    tint: Callable[[tuple[int, int, int, int]], float] | None = None,
) -> tuple[list[Message], list[OcrLine]]:
    """(messages in reading order, dropped chrome lines). `tint(box)` is the colour
    saturation (0..1) of the bubble around a box: coloured bubbles (WeChat green, iMessage
    blue) are the user's, and settle messages whose margins do not tell."""
    kept = [x for x in lines if not is_chrome(x, width, height)]
    chrome = [x for x in lines if x not in kept]
    if not kept:
        return [], chrome
    line_h = statistics.median(x.height for x in kept) or 1
    kept.sort(key=lambda x: (x.box[1], x.box[0]))
    groups: list[list[OcrLine]] = []
    for line in kept:
        last = groups[-1][-1] if groups else None
        if last is not None and _same_block(last, line, line_h):
            groups[-1].append(line)
        else:
            groups.append([line])
    messages = [Message("center", g) for g in groups]
    for m in messages:
        m.side = _side(m.box, width)
    if tint is not None:
        _settle_by_colour(messages, tint)
    return messages, chrome


def _settle_by_colour(
    messages: list[Message], tint: Callable[[tuple[int, int, int, int]], float]
) -> None:
    coloured = [tint(m.box) > 0.25 for m in messages]
    if not any(coloured) or all(coloured):
        return
    for m, c in zip(messages, coloured, strict=True):
        if m.side in ("center", "left", "right"):
            m.side = "right" if c else "left"


def _same_block(a: OcrLine, b: OcrLine, line_h: float) -> bool:
    gap = b.box[1] - a.box[3]
    if gap > 0.75 * line_h:
        return False
    aligned = abs(a.box[0] - b.box[0]) < 0.6 * line_h
    overlap = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    narrower = min(a.box[2] - a.box[0], b.box[2] - b.box[0]) or 1
    return aligned or overlap / narrower > 0.8


def has_sides(messages: list[Message]) -> bool:
    sides = {m.side for m in messages}
    return "left" in sides and "right" in sides


def text_to_check(messages: list[Message]) -> str:
    """The other party's messages when the layout shows two sides, else all of them."""
    chosen = [m for m in messages if m.side == "left"] if has_sides(messages) else messages
    return "\n".join(m.text for m in chosen if m.text)
