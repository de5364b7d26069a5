"""What a question asks, by the learned model (bot/answer/ask_model.py), on the real embedder."""

from __future__ import annotations

import pytest

from bot.answer.ask_model import AskModel, load_asks
from bot.answer.asks import KINDS


def test_training_rows_carry_known_kinds_from_every_author() -> None:
    rows = load_asks()
    assert {r.topic for r in rows} <= set(KINDS)  # qd's where_report is read as report
    assert {"qa", "qb", "qc", "qd", "qe"} <= {r.batch for r in rows}
    assert {r.lang for r in rows} == {"zh", "en"}


@pytest.fixture(scope="module")
def asks(e5, tmp_path_factory) -> AskModel:
    return AskModel(e5.embed_queries_np, tmp_path_factory.mktemp("asks"))


# written for this test, not taken from any training or eval row
@pytest.mark.parametrize(
    ("text", "lang", "kind"),
    [
        ("我表哥说有个门路能帮人把网贷逾期记录删掉，收费三千，靠谱吗", "zh", "is_it_scam"),
        ("钱已经按他说的转到那个账户了，现在联系不上人，我该怎么办", "zh", "what_now"),
        ("被骗后去哪里报案？打什么电话", "zh", "report"),
        (
            "So this guy says he can make my loan disappear for a fee, legit or not?",
            "en",
            "is_it_scam",
        ),
        ("I already sent them $800 and now they want more. What do I do now?", "en", "what_now"),
        ("How do these fake police calls actually trick people?", "en", "how_it_works"),
        ("If my name is on the loan, am I legally responsible for paying it?", "en", "legal"),
    ],
)
def test_classifies_what_is_asked(asks: AskModel, text: str, lang: str, kind: str) -> None:
    assert asks.classify(text, lang) == kind
