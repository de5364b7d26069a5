"""Language of a text: Chinese (`zh`) when CJK characters dominate, else English (`en`).

A heuristic, not a language identifier: the bot speaks only these two languages.
"""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_lang(text: str, default: str = "zh") -> str:
    """Return "zh" or "en". Two CJK characters weigh like one Latin word of ~5 letters."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    if cjk == 0 and latin == 0:
        return default
    return "zh" if cjk * 2.5 >= latin else "en"
