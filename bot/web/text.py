"""Fixed web wording in Chinese and English, and which of the two a request gets.

`t(key, lang, **values)` reads `bot/web/web_text.yaml` (once) and formats one string.
`request_lang(...)` picks the user's language from an explicit `lang`, the message itself,
or the Accept-Language header, in that order; Chinese is the default.
It holds no answer wording: answers come from the responder and `prompts/`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.lang import detect_lang

TEXT_PATH = Path(__file__).resolve().parent / "web_text.yaml"
LANGS = ("zh", "en")


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, str]]:
    data = yaml.safe_load(TEXT_PATH.read_text(encoding="utf-8")) or {}
    table = data.get("text", {})
    for key, entry in table.items():
        missing = [lang for lang in LANGS if not isinstance(entry, dict) or lang not in entry]
        if missing:
            raise ValueError(f"{TEXT_PATH}: text {key!r} lacks {missing}")
    return table


def t(key: str, lang: str | None, **values: Any) -> str:
    """The `key` text in `lang` (zh unless "en"), with `{placeholders}` filled."""
    entry = _table()[key]
    text = entry["en" if lang == "en" else "zh"]
    return text.format(**values) if values else text


def header_lang(accept_language: str | None) -> str | None:
    """ "en" or "zh" from the first language tag of an Accept-Language header, else None."""
    if not accept_language:
        return None
    first = accept_language.split(",")[0].strip().lower()
    if first.startswith("en"):
        return "en"
    if first.startswith("zh"):
        return "zh"
    return None


def request_lang(lang: Any = None, message: Any = None, accept_language: str | None = None) -> str:
    """The user's language: explicit `lang`, else the message's, else the header's, else zh."""
    if lang in LANGS:
        return str(lang)
    if isinstance(message, str) and message.strip():
        return detect_lang(message)
    return header_lang(accept_language) or "zh"
