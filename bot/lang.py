"""Language of a text: Chinese (`zh`) when CJK characters dominate, else English (`en`);
and `normalize`, the one text normalisation the safety models and rules share.

A heuristic, not a language identifier: the bot speaks only these two languages.
"""

from __future__ import annotations

import re
import unicodedata

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_lang(text: str, default: str = "zh") -> str:
    """Return "zh" or "en". Two CJK characters weigh like one Latin word of ~5 letters."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    if cjk == 0 and latin == 0:
        return default
    return "zh" if cjk * 2.5 >= latin else "en"


def normalize(text: str) -> str:
    """NFKC, lower case, zero-width characters dropped, spaces inside Chinese removed."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[\u200b-\u200f\u2060\ufeff]", "", text)
    text = re.sub(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])", "", text)
    return re.sub(r"\s+", " ", text).strip()
