"""Off-topic questions get the off-topic reply, never a scam pattern or citations; when a red
flag of the scam check fires on the question ("稳赚", "quick profit"), the reply names it
(issue 18, bot/responder.py `_offtopic`, prompts/offtopic.yaml). Questions written for this
test."""

from __future__ import annotations

import pytest

from bot.responder import Responder
from bot.safety.replies import offtopic_reply


@pytest.fixture(scope="module")
def responder(indexed) -> Responder:
    return Responder(indexed)


@pytest.mark.parametrize(
    ("text", "lang", "flag", "quote"),
    [
        ("最近买什么股票能稳赚？", "zh", "guaranteed", "稳赚"),
        (
            "What's the best stock to buy this week for quick profit?",
            "en",
            "investment_lure",
            "quick profit",
        ),
    ],
)
def test_a_stock_tip_is_off_topic_with_its_red_flag(responder, text, lang, flag, quote) -> None:
    answer = responder.respond(text, lang=lang)
    assert answer.triage == "offtopic" and not answer.refused
    assert not answer.citations and not answer.topics
    assert answer.extra["red_flag"]["flag"] == flag
    assert answer.extra["red_flag"]["quote"].lower() == quote
    assert answer.text.startswith(offtopic_reply(lang)) and answer.text != offtopic_reply(lang)
    assert f'"{answer.extra["red_flag"]["quote"]}"' in answer.text


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("存定期还是买大额存单好？", "zh"),
        ("Can you recommend a good pasta recipe for tonight?", "en"),
    ],
)
def test_an_off_topic_question_without_a_red_flag_gets_the_plain_reply(
    responder, text, lang
) -> None:
    answer = responder.respond(text, lang=lang)
    assert answer.triage == "offtopic"
    assert answer.text == offtopic_reply(lang) and "red_flag" not in answer.extra
    assert not answer.citations
