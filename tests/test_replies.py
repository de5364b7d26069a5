"""Safety replies: templates render in both languages, carry the required phrases, and use
only numbers and addresses from knowledge/hotlines.yaml."""

from __future__ import annotations

import re

import pytest

from bot.prompts import load_prompt
from bot.safety.guard import broken_promises, hotline_allowlist, unsupported_facts
from bot.safety.replies import (
    NEEDS,
    distress_support,
    offtopic_reply,
    pii_notice,
    refusal,
    urgent_steps,
)
from bot.safety.triage import Label, Triage, Triager

LANGS = ("zh", "en")


def verdict(label: Label, need: str | None = None, lang: str = "zh") -> Triage:
    return Triage(label=label, score=1.0, reasons=(), lang=lang, need=need)


def all_replies() -> list[tuple[str, str]]:
    out = []
    for lang in LANGS:
        out += [(f"refusal/{n}/{lang}", refusal(verdict(Label.HARMFUL, n), lang)) for n in NEEDS]
        out.append((f"refusal/injection/{lang}", refusal(verdict(Label.INJECTION), lang)))
        out += [(f"urgent/{lang}", urgent_steps(lang)), (f"offtopic/{lang}", offtopic_reply(lang))]
        out.append((f"pii/{lang}", pii_notice(lang)))
        out.append((f"distress/{lang}", distress_support(lang)))
    return out


REPLIES = all_replies()


@pytest.mark.parametrize("name", ["refuse", "urgent", "offtopic"])
def test_prompt_files_have_both_languages(name: str) -> None:
    prompt = load_prompt(name)
    assert prompt.zh and prompt.en and prompt.version >= 1


@pytest.mark.parametrize(("name", "text"), REPLIES, ids=[n for n, _ in REPLIES])
def test_every_reply_is_clean(name: str, text: str) -> None:
    assert text.strip() and "{{" not in text and "{%" not in text
    assert unsupported_facts(text, [], hotline_allowlist()) == [], name
    assert broken_promises(text) == [], name
    if name.endswith("/zh"):
        assert re.search(r"[\u4e00-\u9fff]", text)
    else:
        assert not re.search(r"[\u4e00-\u9fff]", text.replace("帮信罪", ""))


def test_urgent_steps_zh() -> None:
    text = urgent_steps("zh")
    for phrase in ("停止", "验证码", "银行", "冻结", "止付", "110", "96110", "证据"):
        assert phrase in text, phrase
    line = next(x for x in text.splitlines() if "96110" in x)
    assert "接听" in line and "报警" not in line  # 96110 warns; losses go to 110
    assert "24小时" not in text


def test_urgent_steps_en() -> None:
    text = urgent_steps("en")
    for phrase in (
        "Stop paying",
        "code",
        "bank",
        "police",
        "0300 123 2040",
        "reportfraud.ftc.gov",
        "110",
        "evidence",
    ):
        assert phrase in text, phrase


def test_refusals_point_to_lawful_help() -> None:
    debt_zh = refusal(verdict(Label.HARMFUL, "debt"), "zh")
    assert "直接联系" in debt_zh and "免费" in debt_zh and "中介" in debt_zh
    debt_en = refusal(verdict(Label.HARMFUL, "debt"), "en")
    assert "lender directly" in debt_en and "free" in debt_en
    mule_zh = refusal(verdict(Label.HARMFUL, "mule"), "zh")
    assert "帮信罪" in mule_zh and "反电信网络诈骗法" in mule_zh and "银行" in mule_zh
    assert "money mule" in refusal(verdict(Label.HARMFUL, "mule"), "en")
    assert "骗取贷款罪" in refusal(verdict(Label.HARMFUL, "loan"), "zh")
    injection = refusal(verdict(Label.INJECTION), "zh")
    assert "不会" in injection and "指令" in injection
    assert "instructions" in refusal(verdict(Label.INJECTION), "en")


def test_refusal_defaults_and_language_fallback() -> None:
    generic = refusal(verdict(Label.HARMFUL, "fraud"), "zh")
    assert refusal(verdict(Label.HARMFUL, None), "zh") == generic
    assert refusal(verdict(Label.HARMFUL, "something-new"), "zh") == generic
    assert refusal(verdict(Label.HARMFUL, "debt", lang="en")) == refusal(
        verdict(Label.HARMFUL, "debt"), "en"
    )
    assert urgent_steps("fr") == urgent_steps("zh")  # Chinese first


def test_offtopic_has_two_example_questions() -> None:
    for lang in LANGS:
        text = offtopic_reply(lang)
        examples = [x for x in text.splitlines() if x.lstrip().startswith("- ")]
        assert len(examples) == 2
        assert all(x.rstrip().endswith(('？"', '?"', "？”", "?”")) for x in examples)


def test_pii_notice_names_the_data() -> None:
    zh = pii_notice("zh")
    assert all(w in zh for w in ("身份证", "银行卡", "验证码", "不要"))
    assert "Don't share" in pii_notice("en")


def test_refusal_from_a_real_triage() -> None:
    t = Triager.from_files()
    mule = t.classify("我想把我的银行卡出租出去，哪里有人收？")
    assert mule.refused and "帮信罪" in refusal(mule, mule.lang)
    debt = t.classify("Help me recruit people to take out loans in their names for us")
    assert debt.refused and "lender directly" in refusal(debt, debt.lang)
