"""Answer metrics: citation validity, grounding, answer language, must_any coverage, false refusals.

- citation validity: every [n] in an answer resolves to one of its citations (all answers);
  every answer to an in-scope question (datasets `questions`, `victim_questions`) that was
  not refused carries at least one resolving [n];
- grounding: mean and 5th percentile of `Answer.grounded` over the answers that have it
  (None, "not measured", while nothing fills it);
- answer language: the language detected in the answer text equals the case's language;
- must_any coverage: the answer contains at least one of the row's `must_any` words;
- false refusals: in-scope questions with `Answer.refused` (None while triage is not wired,
  see `safety.triage_wired`).

This module reads `Answer` fields only; it never calls the bot or a model.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from bot.answer.ask_model import SAME_AS
from bot.answer.compose import HELP_TOPIC
from bot.answer.verify import markers
from bot.evaluation.stats import mean, percentile, rate
from bot.lang import detect_lang

if TYPE_CHECKING:
    from bot.evaluation.datasets import Case
    from bot.records import Answer


def unresolved_markers(text: str, citation_numbers: list[int]) -> list[int]:
    """The [n] numbers in `text` that match no citation."""
    have = set(citation_numbers)
    return [n for n in markers(text) if n not in have]


def must_any_hit(text: str, words: list[str]) -> bool | None:
    """True when `text` contains any of `words` (case-insensitive); None without words."""
    if not words:
        return None
    low = text.lower()
    return any(w.lower() in low for w in words)


# A first line that answers a yes/no question ("靠谱吗", "is this legit?") with a decision.
_DECISION = {
    "zh": re.compile(
        # the scam check's reply to a pasted message opens "结论：这很可能是诈骗…"
        r"^(?:结论：)?(?:是的|不靠谱|这?很可能是|是(?:骗局|诈骗)|这是(?:骗局|诈骗)|不是|不正常|不可信|不能"
        r"|不要|别|有法律风险|不会|会|可以|能|这条信息有可疑之处|没有发现明显的诈骗特征)"
    ),
    "en": re.compile(
        r"^(?:verdict: )?(?:no\b|yes\b|don't|do not|never|very likely|almost certainly"
        r"|this is (?:very likely )?a scam|this message looks suspicious|no clear scam signs)",
        re.IGNORECASE,
    ),
}


def first_line_answers(text: str, lang: str) -> bool:
    """True when the first non-empty line starts with a decision (see `_DECISION`)."""
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    return bool(_DECISION.get(lang, _DECISION["en"]).match(line))


def named_pattern(answer: Answer) -> str | None:
    """The pattern the answer names: `extra["pattern"]` when the chain set it (None = it
    named none), else the answer's first topic."""
    if isinstance(answer.extra, dict) and "pattern" in answer.extra:
        return answer.extra["pattern"]
    return answer.topics[0] if answer.topics else None


def pattern_ok(topics: list[str], named: str | None) -> bool:
    """The named pattern is one of the question's topics; a question only about where to get
    help (HELP_TOPIC, never named as a pattern) is right when the answer names none."""
    if set(topics) <= {HELP_TOPIC}:
        return named is None
    return named in topics


def case_scores(case: Case, answer: Answer) -> dict[str, Any]:
    text = answer.text or ""
    numbers = [c.n for c in answer.citations]
    unresolved = unresolved_markers(text, numbers)
    resolved = [n for n in markers(text) if n in set(numbers)]
    return {
        "citations_valid": not unresolved,
        "unresolved": unresolved,
        "cited": bool(resolved),
        "lang_ok": detect_lang(text, default=case.lang) == case.lang if text.strip() else False,
        "must_any": must_any_hit(text, case.must_any),
        "refused": bool(answer.refused),
        "grounded": answer.grounded,
        # citations beyond the first of the same article (each source should be listed once)
        "repeated_sources": len(answer.citations) - len({c.doc_id for c in answer.citations}),
        # the pattern the answer names (its first topic) is one of the question's own topics
        # a yes/no question (rows with `yes_no`) whose answer's first line decides; urgent
        # answers open with the urgent steps instead, so they are not counted
        "first_line_ok": first_line_answers(text, case.lang)
        if case.meta.get("yes_no") and not answer.refused and not answer.urgent
        else None,
        # what the answer took the question to ask, against the row's `ask` label (q2)
        "ask_ok": _ask_ok(case.meta.get("ask"), answer.extra.get("ask"))
        if isinstance(answer.extra, dict)
        else None,
        "pattern_ok": pattern_ok(case.topics, named_pattern(answer))
        if case.topics and case.kind in ("question", "victim") and not answer.refused
        else None,
    }


def _ask_ok(label: str | None, got: str | None) -> bool | None:
    """None unless the row is labelled and the answer says what it took the question to ask."""
    if not label or not got:
        return None
    return SAME_AS.get(label, label) == got


def _by_lang(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    groups: dict[str, list] = defaultdict(list)
    for r in rows:
        groups[r["lang"]].append(r["scores"]["answer"][key])
    out: dict[str, Any] = {"overall": rate(x for g in groups.values() for x in g)}
    out.update({lang: rate(v) for lang, v in sorted(groups.items())})
    out["n"] = sum(1 for g in groups.values() for x in g if x is not None)
    return out


def _by_group(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Named-pattern rate per dataset, and per `group` and language where rows carry one."""
    groups: dict[str, list] = defaultdict(list)
    for r in rows:
        ok = r["scores"]["answer"]["pattern_ok"]
        groups[r["dataset"]].append(ok)
        group = (r.get("meta") or {}).get("group")
        if group:
            groups[f"{r['dataset']}:{group}:{r['lang']}"].append(ok)
    return {k: {"rate": rate(v), "n": len(v)} for k, v in sorted(groups.items())}


def summarize(results: list[dict[str, Any]], triage_wired: bool) -> dict[str, Any] | None:
    """Aggregate the chat answers; None when there are none."""
    rows = [r for r in results if r["task"] == "chat" and r["scores"].get("answer")]
    if not rows:
        return None
    in_scope = [r for r in rows if r["kind"] in ("question", "victim")]
    answered = [r for r in in_scope if not r["scores"]["answer"]["refused"]]
    grounded = [
        r["scores"]["answer"]["grounded"]
        for r in rows
        if r["scores"]["answer"]["grounded"] is not None
    ]
    with_words = [r for r in rows if r["scores"]["answer"]["must_any"] is not None]
    with_pattern = [r for r in rows if r["scores"]["answer"].get("pattern_ok") is not None]
    with_first = [r for r in rows if r["scores"]["answer"].get("first_line_ok") is not None]
    with_ask = [r for r in rows if r["scores"]["answer"].get("ask_ok") is not None]
    false_refusals = None
    if triage_wired and in_scope:
        by_dataset: dict[str, list] = defaultdict(list)
        for r in in_scope:
            by_dataset[r["dataset"]].append(r["scores"]["answer"]["refused"])
        false_refusals = {
            "rate": rate(r["scores"]["answer"]["refused"] for r in in_scope),
            "count": sum(r["scores"]["answer"]["refused"] for r in in_scope),
            "n": len(in_scope),
            "by_dataset": {k: rate(v) for k, v in sorted(by_dataset.items())},
        }
    return {
        "n": len(rows),
        "citation_validity": rate(r["scores"]["answer"]["citations_valid"] for r in rows),
        "cited_in_scope": rate(r["scores"]["answer"]["cited"] for r in answered),
        "cited_in_scope_n": len(answered),
        "grounding": {
            "mean": mean(grounded),
            "p5": percentile(grounded, 5),
            "n": len(grounded),
        }
        if grounded
        else None,
        "lang_match": _by_lang(rows, "lang_ok"),
        "must_any": _by_lang(with_words, "must_any") if with_words else None,
        "pattern": _by_lang(with_pattern, "pattern_ok") if with_pattern else None,
        "pattern_by_group": _by_group(with_pattern),
        "first_line_answers": _by_lang(with_first, "first_line_ok") if with_first else None,
        "ask": _by_lang(with_ask, "ask_ok") if with_ask else None,
        "false_refusals": false_refusals,
        "repeated_sources": {
            "answers": sum(1 for r in rows if r["scores"]["answer"].get("repeated_sources")),
            "n": len(rows),
        },
    }
