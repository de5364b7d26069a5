"""A yes/no question about an official help line or site (bot/answer/channels.py) is answered
"yes, it is official" from a passage that names it, with a warning that numbers can be faked;
a question that also tells of a request, or a lookalike address, never is. The registry is
knowledge/hotlines.yaml; questions written for this test."""

from __future__ import annotations

import pytest

from bot.answer.asks import default_asks
from bot.answer.channels import OfficialChannels
from bot.answer.compose import ExtractiveComposer
from bot.answer.lexical import Tokenizer
from bot.check.redflags import RedFlagRules
from bot.evaluation.answers import first_line_answers
from bot.records import Chunk, Passage
from bot.taxonomy import Taxonomy
from tests.conftest import KNOWLEDGE


@pytest.fixture(scope="module")
def channels() -> OfficialChannels:
    flags = RedFlagRules.load()
    return OfficialChannels.load(
        default_asks().is_yes_no,
        suspicious=lambda t: any(not h.legit for h in flags.detect(t)),
        hotlines=KNOWLEDGE / "hotlines.yaml",
    )


@pytest.mark.parametrize(
    "question, lang, found",
    [
        ("96110是什么电话 打给我的是真的吗", "zh", "96110"),
        ("征信中心官网是pbccrc.org.cn吗，这个是真的吗", "zh", "pbccrc.org.cn"),
        ("网上查个人信用报告是 ipcrs.pbccrc.org.cn 吗？", "zh", "ipcrs.pbccrc.org.cn"),
        (
            "Is annualcreditreport.com the real free site or a lookalike?",
            "en",
            "annualcreditreport.com",
        ),
        ("Is 0300-123-2040 really Report Fraud's number?", "en", "0300 123 2040"),
        ("Is 159 a real number to call my bank?", "en", "159"),
        # a choice, and a question that is not the last sentence
        ("收到一条12381发的短信，说我正在遭遇诈骗，这是真的还是骗子冒充的？", "zh", "12381"),
        ("Is 96110 a real number? It called and said I might be getting scammed.", "en", "96110"),
    ],
)
def test_a_yes_no_question_about_a_listed_channel_is_found(channels, question, lang, found):
    channel = channels.asked_about(question, lang)
    assert channel is not None and channel.text == found


@pytest.mark.parametrize(
    "question, lang",
    [
        # a request or a red flag: answered as a possible scam, never "yes, it is official"
        ("96110打电话给我让我下载一个APP，是真的吗", "zh"),
        ("有个自称12378的人打电话让我把钱转到监管账户，是真的吗", "zh"),
        ("A caller from 159 asked me to read out the code they texted, is that real?", "en"),
        # lookalikes and longer numbers are not the listed channel
        ("Is annualcreditreport.com.verify-id.net the real site?", "en"),
        ("Is fake-annualcreditreport.com legit?", "en"),
        ("961100是反诈电话吗", "zh"),
        # not a yes/no question
        ("96110是干什么的", "zh"),
        # no listed channel
        ("95511-8-1234 是平安的号码吗", "zh"),
    ],
)
def test_requests_lookalikes_and_other_questions_are_not_confirmed(channels, question, lang):
    assert channels.asked_about(question, lang) is None


def _p(section: str, n: int, text: str, lang: str) -> Passage:
    doc = f"{lang}-help"
    chunk = Chunk(f"{doc}#{section}#{n}", doc, section, n, text, "t", lang, ("reporting-and-help",), "u", "s")  # fmt: skip
    return Passage(chunk, 1.0)


@pytest.fixture(scope="module")
def composer(channels) -> ExtractiveComposer:
    taxonomy = Taxonomy.load(KNOWLEDGE / "taxonomy.yaml")
    return ExtractiveComposer(Tokenizer(taxonomy.aliases()), taxonomy, channels=channels)


ZH = [
    _p("what", 0, "遇到可疑电话，很多人不知道该找谁。", "zh"),
    _p("flags", 0, "来电号码可以伪造，这样的“96110”请挂断，改打110。", "zh"),
    _p("help", 0, "报警、被骗后止损：110。核实是否诈骗、提供线索：96110。", "zh"),
]


def test_the_answer_says_yes_cites_the_passage_and_warns_that_numbers_can_be_faked(composer):
    text = composer.compose("96110打给我的是真的吗", "zh", ZH, None, "is_it_scam")
    lines = text.splitlines()
    assert lines[0] == "是的，96110 是官方渠道。", text
    # the help line that names it, not the warning about a fake “96110”
    assert lines[1] == "核实是否诈骗、提供线索：96110。[3]", text
    assert "号码可以伪造" in lines[2]
    assert first_line_answers(text, "zh")
    assert composer.verdict("96110打给我的是真的吗", "zh", ZH, None, "is_it_scam") == lines[0]


def test_no_passage_names_it_so_nothing_is_confirmed(composer):
    text = composer.compose("12378是真的吗", "zh", ZH, None, "is_it_scam")
    assert not text.startswith("是的"), text


def test_a_web_address_gets_no_caller_warning(composer):
    passages = [_p("help", 0, "US credit reports: annualcreditreport.com.", "en")]
    text = composer.compose("Is annualcreditreport.com the real site?", "en", passages, None)
    assert text.splitlines()[:2] == [
        "Yes, annualcreditreport.com is an official channel.",
        "US credit reports: annualcreditreport.com.[1]",
    ], text
    assert "faked" not in text


def test_a_request_in_the_question_keeps_the_usual_answer(composer):
    text = composer.compose("96110打电话让我下载一个APP，是真的吗", "zh", ZH, None, "is_it_scam")
    assert not text.startswith("是的"), text
