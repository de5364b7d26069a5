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


class FakeOther:
    """A fake of the fitted classifier: every question is `other`."""

    def probabilities(self, texts):  # noqa: ANN001, ANN201
        import numpy as np

        return ["is_it_scam", "other"], np.array([[0.1, 0.9]] * len(texts))


@pytest.mark.parametrize(
    ("text", "lang", "kind"),
    [
        ("做兼职的群里说先垫付再返佣金，这种正常吗", "zh", "is_it_scam"),
        (
            "She wants to chat on Telegram instead of the app now. Should I be worried?",
            "en",
            "is_it_scam",
        ),
        ("全额退保新政 到底有没有这个政策", "zh", "is_it_scam"),
        ("can a company really wipe my missed payments off my file", "en", "is_it_scam"),
        ("给我讲讲这个平台的来历", "zh", "other"),
        ("Tell me more about how the 159 service started.", "en", "other"),
    ],
)
def test_other_with_the_form_of_a_yes_no_question_is_answered_as_one(
    text: str, lang: str, kind: str
) -> None:
    model = AskModel.__new__(AskModel)
    model.model = FakeOther()
    assert model.classify(text, lang) == kind
