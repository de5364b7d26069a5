"""Screenshot bytes → `Reading`: the text to check, the messages and the lines read.

`ScreenshotReader(engine, pool, limits, max_side).read(data)` validates and decodes the
bytes in memory (`image.decode`), scales the picture so its longer side is at most
`max_side` pixels (1080×2400 → 576×1280: detection time grows with the area, while the
recogniser resizes each line to 48 px high anyway), runs OCR in the bounded pool with a
time limit, and groups the lines into messages (`layout.group`). Raises `ImageProblem`
(413/415/422), `OcrBusy` (503) or `OcrTimeout` (504-like, reported as 503 with a retry hint).

`Reading.redacted()` is what may be shown, stored or returned: personal numbers replaced
(`bot.safety.pii.redact`). The picture and its bytes live only in this call's locals:
nothing is written to disk, nothing about the picture but its size is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from bot.ocr.engine import OcrEngine, OcrLine, OcrPool, RapidEngine
from bot.ocr.image import ImageLimits, ImageProblem, decode
from bot.ocr.layout import Message, group, has_sides, text_to_check
from bot.safety.pii import redact

log = logging.getLogger(__name__)


@dataclass
class Reading:
    """What was read from one picture."""

    text: str  # the text to check (the other party's messages when sides are visible)
    messages: list[Message] = field(default_factory=list)
    chrome: list[OcrLine] = field(default_factory=list)
    size: tuple[int, int] = (0, 0)
    ms: float = 0.0

    @property
    def sides(self) -> bool:
        return has_sides(self.messages)

    def redacted(self) -> dict[str, Any]:
        """The reading as JSON with personal numbers redacted (safe to show and store)."""
        return {
            "text": redact(self.text),
            "messages": [{"side": m.side, "text": redact(m.text)} for m in self.messages],
            "sides": self.sides,
            "dropped_lines": len(self.chrome),
            "size": list(self.size),
            "ocr_ms": round(self.ms, 1),
        }


class ScreenshotReader:
    """Validates, decodes, reads and groups one picture; see the module docstring."""

    def __init__(
        self,
        engine: OcrEngine | None = None,
        pool: OcrPool | None = None,
        limits: ImageLimits | None = None,
        max_side: int = 1280,
    ):
        self.engine = engine or RapidEngine()
        self.pool = pool or OcrPool()
        self.limits = limits or ImageLimits()
        self.max_side = max_side

    def read(self, data: bytes) -> Reading:
        t0 = time.perf_counter()
        img = decode(data, self.limits)
        size = img.size
        img = _scaled(img, self.max_side)
        lines = self.pool.run(self._ocr, img)
        messages, chrome = group(lines, img.width, img.height, _tint(img))
        text = text_to_check(messages)
        ms = (time.perf_counter() - t0) * 1000
        log.info("screenshot %dx%d read: %d lines in %.0f ms", *size, len(lines), ms)
        if not text.strip():
            raise ImageProblem(422, "image_no_text", "error_image_no_text")
        return Reading(text, messages, chrome, size, ms)

    def _ocr(self, img: Image.Image) -> list[OcrLine]:
        import numpy as np

        try:
            return self.engine.read(np.asarray(img))
        except Exception as exc:  # noqa: BLE001 - e.g. a 1-pixel-wide strip after scaling
            log.warning("OCR failed on a %dx%d picture: %s", *img.size, type(exc).__name__)
            raise ImageProblem(422, "image_broken", "error_image_broken") from None

    def warm(self) -> None:
        """Load the OCR model now (the first picture would otherwise pay ~1 s)."""
        import numpy as np

        self.engine.read(np.full((64, 64, 3), 255, dtype=np.uint8))


def _scaled(img: Image.Image, max_side: int) -> Image.Image:
    longest = max(img.size)
    if longest <= max_side:
        return img
    f = max_side / longest
    return img.resize((max(1, round(img.width * f)), max(1, round(img.height * f))), Image.BILINEAR)


def _tint(img: Image.Image) -> Callable[[tuple[int, int, int, int]], float]:
    """Saturation of the strip just left of a text box (the bubble's padding)."""
    import numpy as np

    arr = np.asarray(img)

    def saturation(box: tuple[int, int, int, int]) -> float:
        x0, y0, _x1, y1 = box
        strip = arr[max(0, y0) : max(y0 + 1, y1), max(0, x0 - 10) : max(1, x0 - 3)]
        if strip.size == 0:
            return 0.0
        rgb = np.median(strip.reshape(-1, 3), axis=0)
        top = float(rgb.max())
        return (top - float(rgb.min())) / top if top else 0.0

    return saturation
