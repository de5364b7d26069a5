"""Bot payloads as safe Markdown for the Gradio chat: answers, sources and check results.

Of bot text only a small subset is live (lists, **bold**, http(s) links, see
`rich_markdown`); every other ASCII punctuation mark is escaped, so no HTML, javascript: or
data: link, heading, table or code block comes through. Sources are an ordered list only when
numbered consecutively. Pure functions: no Gradio, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

from bot.web.text import t

VERDICT_ICON = {"scam": "🚨", "suspicious": "⚠️", "legit": "✅"}

_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")
_INLINE = re.compile(
    r"\*\*(?P<bold>[^*\n]+?)\*\*"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<href>[^)\s]+)\)"
    r"|(?P<url>https?://[^\s<>\"'()\[\]{}，。；、！？）」》]+)"
)
_BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+(.*)$")


def escape_md(text: str) -> str:
    """Text made inert for Markdown and HTML: every ASCII punctuation mark backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text or "")


def escape_text(text: str) -> str:
    """User text shown as typed: nothing rendered, line breaks kept (leading spaces dropped,
    so no line becomes a code block)."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(escape_md(line.lstrip()) for line in lines)


def safe_url(url: str) -> str | None:
    """The URL when it is plain http(s) without spaces, quotes or brackets, else None."""
    if re.fullmatch(r"https?://[^\s<>()\[\]\"'`\\]+", url or ""):
        return url
    return None


def _link(label: str, url: str) -> str:
    return f"[{escape_md(label)}]({url})"


def _inline_md(text: str) -> str:
    """**bold**, [text](url) and bare URLs live (http(s) only); everything else escaped."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(escape_md(text[pos : m.start()]))
        pos = m.end()
        if m["bold"] is not None:  # a tag, not **: CommonMark's ** fails next to CJK quotes
            out.append(f"<strong>{_inline_md(m['bold'])}</strong>")
        elif m["label"] is not None:
            url = safe_url(m["href"])
            out.append(_link(m["label"], url) if url else escape_md(m[0]))
        else:
            url = m["url"].rstrip(".,;:!?")
            tail = m["url"][len(url) :]
            out.append((_link(url, url) if safe_url(url) else escape_md(url)) + escape_md(tail))
    out.append(escape_md(text[pos:]))
    return "".join(out)


def rich_markdown(text: str) -> str:
    """The bot's small Markdown subset re-emitted safely: bullet ("- ") and numbered ("1. ")
    lists, **bold**, http(s) links; paragraphs and line breaks kept; all other characters
    escaped, so no raw HTML, no javascript:/data: links, no headings or tables."""
    blocks: list[tuple[str, list[str]]] = []  # (kind, lines), kind: p / ul / ol
    for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        bullet = _BULLET.match(line)
        numbered = None if bullet else _NUMBERED.match(line)
        if bullet or numbered:
            kind = "ul" if bullet else "ol"
            item = (
                f"- {_inline_md(bullet[1])}"
                if bullet
                else f"{int(numbered[1])}. {_inline_md(numbered[2])}"  # type: ignore[index]
            )
            if blocks and blocks[-1][0] == kind:
                blocks[-1][1].append(item)
            else:
                blocks.append((kind, [item]))
        elif not line.strip():
            blocks.append(("", []))
        elif blocks and blocks[-1][0] == "p":
            blocks[-1][1].append(_inline_md(line.strip()))
        else:
            blocks.append(("p", [_inline_md(line.strip())]))
    return "\n\n".join("\n".join(lines) for kind, lines in blocks if kind)


def render_sources(citations: list[dict[str, Any]], lang: str, heading: str = "sources") -> str:
    """The sources, one line each: [title](url) — publisher · date. Numbered as the answer's
    [n] markers; any number of citations, in any numbering."""
    if not citations:
        return ""
    numbers = [int(c.get("n") or i) for i, c in enumerate(citations, start=1)]
    consecutive = numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    lines = [f"**{escape_md(t(heading, lang))}**", ""]
    for number, c in zip(numbers, citations, strict=True):
        label = c.get("title") or c.get("source_title") or c.get("doc_id", "")
        url = safe_url(c.get("url", ""))
        link = _link(label, url) if url else escape_md(label)
        meta = " · ".join(escape_md(x) for x in (c.get("publisher"), c.get("date")) if x)
        # Markdown renumbers ordered lists from their first number, so gaps use [n] labels.
        head = f"{number}." if consecutive else f"- \\[{number}\\]"
        lines.append(f"{head} {link}" + (f" — {meta}" if meta else ""))
    return "\n".join(lines)


def render_answer(payload: dict[str, Any], lang: str) -> str:
    """The answer, its notice, an urgent line and its sources as one Markdown message."""
    parts = []
    if payload.get("urgent"):
        parts.append(f"**{escape_md(t('urgent_banner', lang))}**")
    if payload.get("notice"):
        parts.append(f"_{escape_md(payload['notice'])}_")
    parts.append(rich_markdown(payload.get("answer") or ""))
    sources = render_sources(payload.get("citations", []), lang)
    if sources:
        parts.append(sources)
    return "\n\n".join(p for p in parts if p)


def _flag_label(flag: dict[str, Any], lang: str) -> str:
    label = flag.get("label")
    if isinstance(label, dict):
        label = label.get(lang) or next(iter(label.values()), "")
    labels = flag.get("labels")
    if not label and isinstance(labels, dict):
        label = labels.get(lang) or next(iter(labels.values()), "")
    return str(label or flag.get("flag") or "")


def render_check(payload: dict[str, Any], lang: str) -> str:
    """Verdict (with confidence), quoted red flags, the explanation and its evidence."""
    verdict = payload.get("verdict")
    name = t(f"verdict_{verdict}", lang) if verdict in VERDICT_ICON else t("verdict_none", lang)
    head = f"### {VERDICT_ICON.get(verdict or '', 'ℹ️')} {t('verdict', lang)}: {name}"
    if payload.get("confidence") is not None:
        head += f" ({t('confidence', lang)} {payload['confidence']:.0%})"
    parts = [head]
    if payload.get("urgent"):
        parts.append(f"**{escape_text(t('urgent_banner', lang))}**")
    flags = payload.get("red_flags") or []
    if flags:
        items = [f"**{t('red_flags', lang)}**"]
        for f in flags:
            quote = f" — “{escape_text(str(f.get('quote', '')))}”" if f.get("quote") else ""
            items.append(f"- {escape_text(_flag_label(f, lang))}{quote}")
        parts.append("\n".join(items))
    parts.append(rich_markdown(payload.get("answer") or ""))
    sources = render_sources(payload.get("citations", []), lang, heading="evidence")
    if sources:
        parts.append(sources)
    return "\n\n".join(p for p in parts if p)
