"""Answer sentences that say the opposite of what the knowledge base says.

`flipped(sentence, passages)`: a clause of the sentence that makes the same claim as its
closest passage clause (most words shared both ways) but with a negation the other lacks
("Real lenders charge upfront fees…" from "…never charge…"); only a negation that bears on the
shared words counts. `genuine_does_what_scammers_do(sentence)`: a real lender, bank or police
officer said to ask for a fee, a transfer or a code, with no negation. Word lists live in
`bot/answer/verdicts.yaml`. `bot/answer/cited.py` reports what these find; this module only
compares text and never calls a model.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

FLIP_COVER = 0.5  # share of the passage clause a sentence clause must cover to be "the same claim"
SAME_CLAIM = 0.6  # share of the sentence clause found in the passage clause (as cited.RESTATED_MIN)
VERDICTS_PATH = Path(__file__).resolve().parent / "verdicts.yaml"


@lru_cache(maxsize=1)
def _verdicts() -> dict:
    data = yaml.safe_load(VERDICTS_PATH.read_text(encoding="utf-8"))

    def by_lang(key: str) -> dict[str, re.Pattern]:
        return {k: re.compile(v, re.IGNORECASE) for k, v in data[key].items()}

    return {
        "verdict_opening": re.compile(data["verdict_opening"], re.IGNORECASE),
        "negation": by_lang("negation"),
        "not_negation": re.compile(data["not_negation"]),
        "genuine": by_lang("genuine"),
        "asks_for": by_lang("asks_for"),
        "scope_skip": frozenset(data["negation_scope_skip"].split()),
    }


def _lang(text: str) -> str:
    return "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"


def flipped(sentence: str, passages: list[str]) -> str:
    """A passage clause that says what a clause of `sentence` says, but with the negation the
    other one lacks ("Real lenders charge upfront fees…" from "Real lenders never charge
    upfront fees…"; "再转出一笔钱" from "不再转出任何一笔钱"), else "". Token overlap cannot
    see a dropped "never"; this compares each clause with its closest passage clause."""
    candidates = [(c, _grams(c)) for p in passages for c in _clauses(p)]  # once per sentence
    for clause in _clauses(_verdicts()["verdict_opening"].sub("", sentence)):
        mine = _grams(clause)
        if len(mine) < 3 or not candidates:
            continue
        best, grams = max(candidates, key=lambda c: len(mine & c[1]))
        shared = len(mine & grams)
        if shared / len(mine) < SAME_CLAIM or shared / len(grams) < FLIP_COVER:
            continue  # not the same claim: a few shared words of a longer passage clause
        if _negated(clause) == _negated(best):
            continue
        # the negation must bear on the shared words: "What the agents don't say is that you
        # can ask your lender…" does not negate "You can ask your lender…", nor does the red flag
        # "any fee before anything is agreed" make "Do not pay any fee…" a flip
        negated, other = (best, mine) if _negated(best) else (clause, grams)
        if _negation_scope(negated) & other:
            return best
    return ""


def _negation_scope(text: str) -> set[str]:
    """What each negation in `text` bears on: the first content word after it (English), or
    the character pairs of the next three Chinese characters ("不再转出" -> 再转, 转出)."""
    v = _verdicts()
    text = v["not_negation"].sub("", text.lower())
    scope: set[str] = set()
    for m in v["negation"][_lang(text)].finditer(text):
        after = text[m.end() :]
        if _lang(text) == "zh":
            chars = re.sub(r"[^\u4e00-\u9fff]", "", after)[:3]
            scope |= {chars[i : i + 2] for i in range(len(chars) - 1)}
        else:
            words = [w for w in re.findall(r"[a-z0-9]+", after) if w not in v["scope_skip"]]
            scope |= set(words[:1])
    return scope


def _grams(text: str) -> set[str]:
    """What two clauses are compared on, negations left out: character pairs of Chinese (no
    word splitting to disagree about), lower-cased words of English."""
    text = _verdicts()["negation"][_lang(text)].sub(" ", text.lower())
    if _lang(text) == "zh":
        chars = re.sub(r"[^\u4e00-\u9fff]", "", text)
        return {chars[i : i + 2] for i in range(len(chars) - 1)}
    return set(re.findall(r"[a-z0-9]+", text))


def genuine_does_what_scammers_do(sentence: str) -> bool:
    """A sentence saying that a real lender, bank or police officer charges a fee up front or
    asks for a code, a password or a transfer, with no negation: what the knowledge base says
    they never do ("Real lenders charge upfront fees before the loan reaches you." came from
    "…a licensed lender does not collect money from you before it pays out a loan.")."""
    lang = _lang(sentence)
    for clause in _clauses(_verdicts()["verdict_opening"].sub("", sentence)):
        actor = _verdicts()["genuine"][lang].search(clause)
        rest = clause[actor.end() :] if actor else ""
        if actor and _verdicts()["asks_for"][lang].search(rest) and not _negated(clause):
            return True
    return False


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in re.split(r"[。！？!?；;，,：:、]|\.\s", text) if c.strip()]


def _negated(text: str) -> bool:
    v = _verdicts()
    return bool(v["negation"][_lang(text)].search(v["not_negation"].sub("", text)))
