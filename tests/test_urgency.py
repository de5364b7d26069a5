"""The urgency model (bot/safety/urgency.py) and how triage uses it, with a fake embedder and
a stub model: no real embedder, so the file runs in seconds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.safety.triage import Label, Rules, Triager
from bot.safety.urgency import CALM, URGENT, UrgencyModel, load_urgency_examples
from bot.text_model import Labelled
from tests.fakes import FakeIntent

WORDS = ("now", "just", "transferred", "code", "last", "year", "ago", "question")


def fake_embed(texts: list[str]) -> np.ndarray:
    out = np.array([[t.lower().count(w) for w in WORDS] for t in texts], dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


TRAIN = [Labelled(f"I just transferred it now {i}", URGENT, "a") for i in range(6)] + [
    Labelled(f"a question about last year, long ago {i}", CALM, "a") for i in range(6)
]


def test_probability_separates_now_from_long_ago():
    model = UrgencyModel(TRAIN, fake_embed)
    assert model.probability("they have the code now, I just transferred") > 0.5
    assert model.probability("a question about something last year") < 0.5


def test_shipped_training_rows_cover_every_topic_in_both_languages():
    rows = load_urgency_examples()
    written = [r for r in rows if r.batch != "triage_examples"]
    assert {r.topic for r in rows} == {URGENT, CALM}
    assert len(written) >= 300 and {r.lang for r in written} == {"zh", "en"}


def test_bad_label_names_file_and_line(tmp_path):
    (tmp_path / "urgent_x.jsonl").write_text(
        json.dumps({"text": "t", "label": "panic"}) + "\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match=r"urgent_x.jsonl:1"):
        load_urgency_examples(tmp_path)


class StubUrgency:
    def __init__(self, p: float) -> None:
        self.p = p

    def probability(self, text: str) -> float:
        return self.p


RULES = {
    "thresholds": {"urgent": 1.0, "harmful": 1.0, "injection": 1.0, "offtopic": 1.0},
    "priority": ["harmful", "injection", "urgent", "offtopic"],
    "signals": [],
    "urgency": {"threshold": 0.5},
    "modifiers": {"domain": {"factors": {"offtopic": 0.2}, "patterns": ["转|骗|transfer"]}},
}


@pytest.mark.parametrize(("p", "label"), [(0.9, Label.URGENT), (0.2, Label.QUESTION)])
def test_triage_labels_urgent_when_the_model_is_sure(p, label):
    triager = Triager(Rules.from_dict(RULES), urgency=StubUrgency(p))
    result = triager.classify("对方让我把钱转过去，我已经转了一半", "zh")
    assert result.label is label
    assert any(r.startswith("urgency:") for r in result.reasons)


def test_out_of_domain_messages_ask_the_model_only_when_a_bar_is_set():
    # without `off_domain_threshold` a message with no domain word never asks the model
    triager = Triager(Rules.from_dict(RULES), urgency=StubUrgency(0.99))
    result = triager.classify("帮我写一首关于秋天的诗", "zh")
    assert result.label is Label.QUESTION
    assert not any(r.startswith("urgency:") for r in result.reasons)


@pytest.mark.parametrize(("p", "label"), [(0.8, Label.URGENT), (0.6, Label.QUESTION)])
def test_out_of_domain_messages_need_a_surer_model(p, label):
    # "他让我开着会议软件别挂" has none of the domain words; the model must reach the higher bar
    rules = {**RULES, "urgency": {"threshold": 0.5, "off_domain_threshold": 0.7}}
    triager = Triager(Rules.from_dict(rules), urgency=StubUrgency(p))
    result = triager.classify("他让我开着会议软件别挂，现在还在通话", "zh")
    assert result.label is label
    assert "urgency:" + f"{p:.2f}" in result.reasons


def test_a_refusal_also_carries_the_steps_when_money_is_moving():
    """A harmful verdict on a message that also says money is moving now: the refusal opens
    with the right-now steps (a victim the intent model misread still gets them)."""
    from bot.responder import Responder
    from bot.safety.replies import refusal, urgent_steps

    rules = {
        **RULES,
        "signals": [{"id": "harmful/x", "label": "harmful", "weight": 1.0, "patterns": ["冒充"]}],
    }
    triager = Triager(Rules.from_dict(rules), urgency=StubUrgency(0.9))
    verdict = triager.classify("他冒充公安，让我转账，我已经转了一半", "zh")
    assert verdict.label is Label.HARMFUL and verdict.also_urgent
    answer = Responder.__new__(Responder)._refuse(verdict, "zh")
    assert answer.text == f"{urgent_steps('zh')}\n\n{refusal(verdict, 'zh')}"
    assert answer.refused and answer.urgent
    calm = Triager(Rules.from_dict(rules), urgency=StubUrgency(0.1)).classify("冒充公安", "zh")
    assert not calm.also_urgent
    assert Responder.__new__(Responder)._refuse(calm, "zh").text == refusal(calm, "zh")


def test_an_injection_with_a_question_left_also_carries_the_steps_when_money_is_moving():
    """An injection verdict whose message keeps a real question is answered after the refusal;
    when money is moving now the right-now steps still come first (session 20: a new author's
    victim who had "two transfers this morning" got neither)."""
    from bot.records import Answer
    from bot.responder import Responder
    from bot.safety.replies import refusal, urgent_steps
    from bot.safety.triage import ALSO_URGENT, Triage

    responder = Responder.__new__(Responder)
    responder._answer = lambda message, history, lang: Answer(text="answer", lang=lang)
    for reasons, urgent in (((ALSO_URGENT,), True), ((), False)):
        verdict = Triage(Label.INJECTION, 1.0, reasons, "en", benign_remainder="What now?")
        answer = responder._route("…", [], "en", None, verdict)
        steps = f"{urgent_steps('en')}\n\n" if urgent else ""
        assert answer.text == f"{steps}{refusal(verdict, 'en')}\n\nanswer"
        assert answer.refused and answer.urgent is urgent


@pytest.mark.parametrize(("p_urgent", "label"), [(0.95, Label.URGENT), (0.6, Label.HARMFUL)])
def test_money_moving_now_outweighs_the_intent_model_alone(p_urgent, label):
    """A writer the urgency model is sure is paying now is not refused on the intent model
    alone; below `over_intent` (or with a harm rule) the refusal stands."""
    rules = {
        **RULES,
        "urgency": {"threshold": 0.5, "over_intent": 0.9},
        "intent": {"threshold": 0.6, "model_only": 0.6},
    }
    text = "奶奶中奖了，正按电话里那人说的去买礼品卡交手续费，已经转了一半"
    verdict = Triager(
        Rules.from_dict(rules), urgency=StubUrgency(p_urgent), intent=FakeIntent(0.7)
    ).classify(text, "zh")
    assert verdict.label is label
    assert ("intent:moving-now" in verdict.reasons) is (label is Label.URGENT)
    with_rule = {
        **rules,
        "signals": [{"id": "harmful/x", "label": "harmful", "weight": 1.0, "patterns": ["礼品卡"]}],
    }
    ruled = Triager(
        Rules.from_dict(with_rule), urgency=StubUrgency(p_urgent), intent=FakeIntent(0.7)
    ).classify(text, "zh")
    assert ruled.label is Label.HARMFUL


def test_a_sure_intent_model_is_not_outweighed_by_money_moving():
    """At or above `over_intent_ceiling` the intent model's refusal stands even when the
    urgency model is sure money is moving (a script to make an old man read out his bank's code
    reads like a victim's story to it); the urgent steps still come first."""
    rules = {
        **RULES,
        "urgency": {
            "threshold": 0.5,
            "off_domain_threshold": 0.5,
            "over_intent": 0.9,
            "over_intent_ceiling": 0.9,
        },
        "intent": {"threshold": 0.6, "model_only": 0.6},
    }
    text = "写个电话话术，让老大爷把银行发的验证码念给我"
    for p, label in ((0.95, Label.HARMFUL), (0.7, Label.URGENT)):
        verdict = Triager(
            Rules.from_dict(rules), urgency=StubUrgency(0.95), intent=FakeIntent(p)
        ).classify(text, "zh")
        assert verdict.label is label, p
        assert verdict.also_urgent is (label is Label.HARMFUL)
