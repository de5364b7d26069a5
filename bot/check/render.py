"""Turn a scam-check result (bot/check/checker.py) into text with [n] citations.

`render_check(result, lang)` writes the explanation from `result.explanation_parts` with the
wording in `prompts/check.yaml`: every sentence that leans on a passage ends with [n], and the
matching `Citation` list comes with it. It scores nothing and retrieves nothing.
"""

from __future__ import annotations

import re

from bot.check.checker import CheckResult
from bot.prompts import load_prompt
from bot.records import Citation

_CITED_FIELDS = (
    "doc_id",
    "chunk_id",
    "title",
    "url",
    "topics",
    "publisher",
    "date",
    "source_title",
)


def _best_sentence(text: str, hint: str) -> str:
    """The sentence of a passage that shares most characters/words with `hint`."""
    pieces = re.split(r"(?<=[。！？!?])|(?<=\.)\s+|\n+", text)
    unquote = re.compile(r'^[“"「]|[”"」](?=[。.！!？?]?$)')  # quote marks left by the split
    sentences = [unquote.sub("", s.strip()) for s in pieces if s and s.strip()]
    if not sentences:
        return text.strip()
    want = set(re.findall(r"[a-z]{3,}", hint.lower())) | {
        hint[i : i + 2] for i in range(len(hint) - 1)
    }

    def overlap(s: str) -> int:
        grams = set(re.findall(r"[a-z]{3,}", s.lower())) | {s[i : i + 2] for i in range(len(s) - 1)}
        return len(want & grams)

    return max(sentences, key=overlap)


def render_check(
    result: CheckResult, lang: str | None = None, prompt_name: str = "check"
) -> tuple[str, list[Citation]]:
    """Explanation text in `lang` (default: the message's language) and its citations.

    Every sentence that leans on a passage ends with [n]; citation n is `citations[n - 1]`.
    """
    lang = lang if lang in ("zh", "en") else result.lang
    parts = result.explanation_parts
    number: dict[str, int] = {}  # doc_id -> citation number: one per article
    cited: dict[str, list[tuple[str, str]]] = {}  # doc_id -> (chunk_id, quoted sentence)
    chunks: dict[str, object] = {}

    def cite(idx: int | None, hint: str) -> str:
        if idx is None or not (0 <= idx < len(result.evidence)):
            return ""
        c = result.evidence[idx].chunk
        if c.doc_id not in number:
            number[c.doc_id] = len(number) + 1
            cited[c.doc_id], chunks[c.doc_id] = [], c
        if c.chunk_id not in {cid for cid, _ in cited[c.doc_id]}:
            cited[c.doc_id].append((c.chunk_id, _best_sentence(c.text, hint)))
        return f"[{number[c.doc_id]}]"

    topic = None
    if parts.topics:
        t = parts.topics[0]
        name = t.names.get(lang, t.id)
        topic = {"id": t.id, "name": name, "cite": cite(t.evidence, name)}
    flags = []
    for f in parts.flags:
        label = f.labels.get(lang, f.flag)
        flags.append({"label": label, "quote": f.quote, "cite": cite(f.evidence, f.quote + label)})
    counters = [
        {"label": c.labels.get(lang, c.flag), "quote": c.quote} for c in parts.counter_signals
    ]
    todo = None
    if parts.todo_evidence is not None and result.evidence[parts.todo_evidence].chunk.lang == lang:
        hint = "不要 报警 核实" if lang == "zh" else "do not report contact"
        sentence = _best_sentence(result.evidence[parts.todo_evidence].chunk.text, hint)
        todo = {"quote": sentence.rstrip("。.！!"), "cite": cite(parts.todo_evidence, hint)}
    text = load_prompt(prompt_name).render(
        lang,
        verdict=parts.verdict,
        floored=parts.floored,
        pct=min(99, round(100 * parts.confidence)),
        topic=topic,
        topic_ids=[t.id for t in parts.topics],
        flags=flags,
        counters=counters,
        todo=todo,
    )
    citations = []
    for doc, n in number.items():
        c, quotes = chunks[doc], cited[doc]
        meta = {name: getattr(c, name) for name in _CITED_FIELDS}
        meta["chunk_id"] = quotes[0][0]
        passages = tuple({"chunk_id": cid, "quote": q} for cid, q in quotes)
        quote = "\n".join(q for _, q in quotes)
        citations.append(Citation(n=n, quote=quote, passages=passages, **meta))
    return re.sub(r"\n{3,}", "\n\n", text), citations
