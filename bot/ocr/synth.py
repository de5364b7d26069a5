"""Phone screenshots drawn with Pillow, for tests and the eval (never used to answer).

`render_chat(messages, style)` draws a 1080-wide phone screen: a status bar (time, signal,
battery), a title bar with the other party's name, a centred timestamp, chat bubbles (the other
party on the left with an avatar, the user on the right) or an SMS thread, and an input box
with a "发送" button. `Style` picks the font (Noto CJK from Debian's fonts-noto-cjk), size,
colours, light noise and JPEG compression. Text is wrapped by pixel width (CJK by character,
English by word). It returns encoded image bytes; it reads no files but the fonts.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
FONTS = {
    "sans": FONT_DIR / "NotoSansCJK-Regular.ttc",
    "sans-bold": FONT_DIR / "NotoSansCJK-Bold.ttc",
    "serif": FONT_DIR / "NotoSerifCJK-Regular.ttc",
}
WIDTH = 1080


@dataclass(frozen=True)
class Style:
    """How a screenshot looks: layout ("chat" or "sms"), font, size, noise and encoding."""

    layout: str = "chat"
    font: str = "sans"
    size: int = 44
    noise: float = 0.0  # standard deviation of Gaussian pixel noise (0-255 scale)
    jpeg_quality: int | None = None  # None: PNG
    height: int | None = 2400  # None: as tall as the content
    seed: int = 0


def fonts_available() -> bool:
    """True when the Noto CJK fonts are installed (`make browser` installs them)."""
    return all(p.exists() for p in FONTS.values())


def _font(style: Style, size: int | None = None) -> ImageFont.FreeTypeFont:
    # index 2 of the .ttc is the Simplified Chinese face (SC)
    return ImageFont.truetype(str(FONTS[style.font]), size or style.size, index=2)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines of `text` no wider than `width` pixels; words of Latin script stay whole."""
    lines: list[str] = []
    for para in text.split("\n"):
        tokens: list[str] = []
        word = ""
        for ch in para:
            if ch.isascii() and not ch.isspace():
                word += ch
                continue
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        if word:
            tokens.append(word)
        line = ""
        for tok in tokens:
            if font.getlength(line + tok) <= width or not line:
                line += tok
            else:
                lines.append(line.rstrip())
                line = tok.lstrip()
        lines.append(line.rstrip())
    return [x for x in lines if x] or [""]


def render_chat(
    messages: list[tuple[str, str]],
    style: Style = Style(),
    title: str = "张经理",
    stamp: str = "昨天 14:32",
) -> bytes:
    """A screenshot of `messages`, each (side, text) with side "left" (them) or "right" (user)."""
    rng = random.Random(style.seed)
    font = _font(style)
    small = _font(style, max(28, style.size * 2 // 3))
    line_h = int(style.size * 1.45)
    pad = 28
    max_text = int(WIDTH * (0.62 if style.layout == "chat" else 0.68))
    blocks = [(side, wrap(text, font, max_text)) for side, text in messages]
    content_h = sum(len(lines) * line_h + 2 * pad + 36 for _, lines in blocks)
    height = style.height or (content_h + 600)
    height = max(height, content_h + 600)
    bg = (237, 237, 237) if style.layout == "chat" else (255, 255, 255)
    img = Image.new("RGB", (WIDTH, height), bg)
    d = ImageDraw.Draw(img)
    # status bar and title bar
    d.rectangle([0, 0, WIDTH, 90], fill=(247, 247, 247))
    d.text((40, 22), "9:41", font=small, fill=(0, 0, 0))
    d.text((WIDTH - 300, 22), f"5G {rng.randint(20, 99)}%", font=small, fill=(0, 0, 0))
    d.rectangle([WIDTH - 90, 30, WIDTH - 40, 60], outline=(0, 0, 0), width=3)
    d.rectangle([0, 90, WIDTH, 230], fill=(247, 247, 247))
    d.text((40, 125), "<", font=font, fill=(0, 0, 0))
    tw = font.getlength(title)
    d.text(((WIDTH - tw) / 2, 130), title, font=font, fill=(0, 0, 0))
    d.line([0, 230, WIDTH, 230], fill=(210, 210, 210), width=2)
    y = 270
    sw = small.getlength(stamp)
    d.text(((WIDTH - sw) / 2, y), stamp, font=small, fill=(150, 150, 150))
    y += 90
    for side, lines in blocks:
        text_w = max(int(font.getlength(x)) for x in lines)
        box_w, box_h = text_w + 2 * pad, len(lines) * line_h + 2 * pad - (line_h - style.size)
        if style.layout == "chat":
            avatar = 110
            if side == "left":
                d.rectangle([30, y, 30 + avatar, y + avatar], fill=(90, 140, 200))
                x0 = 30 + avatar + 24
                fill = (255, 255, 255)
            else:
                d.rectangle([WIDTH - 30 - avatar, y, WIDTH - 30, y + avatar], fill=(200, 160, 90))
                x0 = WIDTH - 30 - avatar - 24 - box_w
                fill = (149, 236, 105)
        else:
            x0 = 40 if side == "left" else WIDTH - 40 - box_w
            fill = (233, 233, 235) if side == "left" else (0, 122, 255)
        ink = (255, 255, 255) if (style.layout == "sms" and side == "right") else (20, 20, 20)
        d.rounded_rectangle([x0, y, x0 + box_w, y + box_h], radius=18, fill=fill)
        for i, line in enumerate(lines):
            d.text((x0 + pad, y + pad - 6 + i * line_h), line, font=font, fill=ink)
        y += box_h + 48
    # input bar
    d.rectangle([0, height - 170, WIDTH, height], fill=(247, 247, 247))
    d.rounded_rectangle([40, height - 140, WIDTH - 220, height - 40], radius=12, fill=(255,) * 3)
    d.rounded_rectangle(
        [WIDTH - 190, height - 135, WIDTH - 40, height - 45], radius=12, fill=(7, 193, 96)
    )
    d.text((WIDTH - 160, height - 122), "发送", font=_font(style, 40), fill=(255, 255, 255))
    if style.noise:
        img = _noisy(img, style.noise, style.seed)
    out = io.BytesIO()
    if style.jpeg_quality:
        img.save(out, "JPEG", quality=style.jpeg_quality)
    else:
        img.save(out, "PNG")
    return out.getvalue()


def _noisy(img: Image.Image, sigma: float, seed: int) -> Image.Image:
    import numpy as np

    arr = np.asarray(img).astype(np.float32)
    arr += np.random.default_rng(seed).normal(0, sigma, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
