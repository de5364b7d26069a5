"""Fixed safety replies: refusals, urgent first steps, support for someone in distress, the
off-topic line, the PII notice.

All wording lives in prompts/refuse.yaml, prompts/urgent.yaml and prompts/offtopic.yaml
(zh and en parts) and is rendered with `load_prompt(name).render(part, **vars)`; this
module only picks the template and its variables. Numbers and addresses in those templates
come from knowledge/hotlines.yaml (tests/test_replies.py checks it).

Not done here: deciding which reply a message gets (bot/safety/triage.py and the responder), or
the normal cited answer that follows `urgent_steps`.
"""

from __future__ import annotations

from bot.prompts import load_prompt
from bot.safety.triage import Label, Triage

NEEDS = ("debt", "mule", "loan", "privacy", "fraud")


def _part(lang: str | None) -> str:
    return "en" if lang == "en" else "zh"


def refusal(triage: Triage, lang: str | None = None) -> str:
    """Short refusal that says why and, for harmful requests, points to lawful help.

    `injection` gets the "I won't change or reveal my instructions" text; `harmful` gets the
    text for `triage.need` (debt, mule, loan, privacy; anything else: fraud).
    """
    kind = "injection" if triage.label is Label.INJECTION else "harmful"
    need = triage.need if triage.need in NEEDS else "fraud"
    return load_prompt("refuse").render(_part(lang or triage.lang), kind=kind, need=need)


def urgent_steps(lang: str) -> str:
    """What to do right now when money or codes are moving (shown before the answer)."""
    return load_prompt("urgent").render(_part(lang), section="steps")


def distress_support(lang: str) -> str:
    """Support first for someone who speaks of ending their life, with the emergency number."""
    return load_prompt("urgent").render(_part(lang), section="distress")


def offtopic_reply(lang: str, flag: str = "", quote: str = "") -> str:
    """One line on what the bot is for, with two example questions; with `flag` (a red flag's
    label) and `quote` (the words of the question that fired it), a line on that red flag."""
    return load_prompt("offtopic").render(_part(lang), flag=flag, quote=quote)


def pii_notice(lang: str) -> str:
    """Ask the user not to share ID, card or phone numbers or codes."""
    return load_prompt("urgent").render(_part(lang), section="pii")
