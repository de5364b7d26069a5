"""Scam-check metrics for task "check" rows: scam recall, legit false-positive rate, topic accuracy.

A message counts as detected when `Answer.verdict` is "scam" or "suspicious" (the strict
numbers count "scam" only). Topic accuracy is measured on scam rows with expected topics:
the check's top topic (`Answer.extra["check"]["topics"][0]`, else `Answer.topics[0]`) must
be one of them. Everything is broken down per language, per source (own rows vs. public
ones), per split (tune / holdout), per origin (written, by author batch; public, by source)
and per kind (a scam row's main topic), plus how many scam rows that ask for money, a code,
card details or remote access came out "legit" (`requests_legit`; must be 0). Genuine rows
that ask for money (a bill from the reader's own bank, rent to the usual account) are not
counted: their sender can be checked, and they should stay "legit". All None ("not
measured") while no check answer carries a verdict. This module reads `Answer` fields only; it does not classify messages.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from bot.evaluation.stats import rate

if TYPE_CHECKING:
    from bot.evaluation.datasets import Case
    from bot.records import Answer

VERDICTS = ("scam", "suspicious", "legit", "none")
LABELS = ("scam", "legit")


def top_topic(answer: Answer) -> str | None:
    """The check's best topic: from `extra["check"]` when present, else the answer topics."""
    check = answer.extra.get("check") if isinstance(answer.extra, dict) else None
    topics = None
    if isinstance(check, dict):
        topics = check.get("topics")
    elif check is not None:
        topics = getattr(check, "topics", None)
    topics = list(topics or answer.topics or [])
    first = topics[0] if topics else None
    if isinstance(first, dict):  # a {topic, score} record
        first = first.get("topic") or first.get("id")
    return str(first) if first else None


# What a message asks the reader to do (the `asks` field of written rows) that must never get
# a "legit" verdict: move money, give a code or card details, or give remote access.
REQUESTS = frozenset({"money", "code", "card", "remote"})


# Rows written before session 6 used the old `fake-customer-service` ("fake customer service
# and official impersonation"); it was split, so either new topic is right for them too.
SPLIT_TOPICS = {
    "fake-customer-service": ("impersonating-officials", "fake-ecommerce-logistics-service")
}
NEW_TAXONOMY_BATCHES = ("h6",)


def expected_topics(case: Case) -> list[str]:
    topics = list(case.topics)
    if case.meta.get("batch") not in NEW_TAXONOMY_BATCHES:
        for old, new in SPLIT_TOPICS.items():
            if old in topics:
                topics += [t for t in new if t not in topics]
    return topics


def case_scores(case: Case, answer: Answer) -> dict[str, Any]:
    verdict = answer.verdict
    topic = top_topic(answer) if verdict else None
    topic_ok = None
    if verdict and case.label == "scam" and case.topics:
        topic_ok = topic in expected_topics(case)
    asks = set(case.meta.get("asks") or [])
    return {
        "verdict": verdict,
        "detected": verdict in ("scam", "suspicious") if verdict else None,
        "strict": verdict == "scam" if verdict else None,
        "topic": topic,
        "topic_ok": topic_ok,
        # None when the row does not say what it asks for, asks for none of REQUESTS, or is
        # genuine (session 15: 18 genuine bills and rent reminders of batch k2 were counted)
        "request_flagged": (verdict != "legit")
        if verdict and asks & REQUESTS and case.label == "scam"
        else None,
    }


def _block(rows: list[dict[str, Any]]) -> dict[str, Any]:
    scam = [r["scores"]["check"] for r in rows if r.get("label") == "scam"]
    legit = [r["scores"]["check"] for r in rows if r.get("label") == "legit"]
    return {
        "scam_recall": rate(s["detected"] for s in scam),
        "scam_recall_strict": rate(s["strict"] for s in scam),
        "legit_fpr": rate(s["detected"] for s in legit),
        "legit_fpr_strict": rate(s["strict"] for s in legit),
        "topic_accuracy": rate(s["topic_ok"] for s in scam),
        "n_scam": len(scam),
        "n_legit": len(legit),
        "n_topic": sum(1 for s in scam if s["topic_ok"] is not None),
        # rows that ask for money, a code, card details or remote access: share not "legit"
        "requests_flagged": rate(r["scores"]["check"].get("request_flagged") for r in rows),
        "requests_legit": sum(
            1 for r in rows if r["scores"]["check"].get("request_flagged") is False
        ),
    }


def confusion(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """label -> verdict -> count ("none" when no verdict)."""
    table = {label: dict.fromkeys(VERDICTS, 0) for label in LABELS}
    for r in rows:
        label = r.get("label")
        if label in table:
            table[label][r["scores"]["check"]["verdict"] or "none"] += 1
    return table


def summarize(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """None when there are no check rows; all-None numbers when no verdict was given."""
    rows = [r for r in results if r["task"] == "check" and r["scores"].get("check")]
    if not rows:
        return None
    measured = [r for r in rows if r["scores"]["check"]["verdict"] is not None]
    if not measured:
        return {
            "measured": False,
            "n": len(rows),
            "scam_recall": None,
            "legit_fpr": None,
            "topic_accuracy": None,
            "confusion": confusion(rows),
        }
    groups: dict[str, dict[str, list]] = {
        "by_lang": defaultdict(list),
        "by_source": defaultdict(list),
        "by_split": defaultdict(list),
        "by_origin": defaultdict(list),
        "by_kind": defaultdict(list),
    }
    for r in measured:
        groups["by_lang"][r["lang"]].append(r)
        groups["by_source"][r.get("source") or "own"].append(r)
        groups["by_split"][f"{r['dataset']}:{r.get('split') or 'all'}"].append(r)
        meta = r.get("meta") or {}
        origin = meta.get("origin") or ("public" if r.get("source", "own") != "own" else "written")
        where = meta.get("batch") or r.get("source") or "own"
        groups["by_origin"][f"{origin}:{where}"].append(r)
        groups["by_origin"][f"{origin}:{r['lang']}"].append(r)
        if r.get("label") == "scam" and r.get("topics"):  # per kind: the row's main topic
            groups["by_kind"][f"{r['topics'][0]}:{r['lang']}"].append(r)
    out: dict[str, Any] = {
        "measured": True,
        "n": len(rows),
        "unanswered": len(rows) - len(measured),
    }
    out.update(_block(measured))
    out.update({name: {k: _block(v) for k, v in sorted(g.items())} for name, g in groups.items()})
    out["confusion"] = confusion(rows)
    return out
