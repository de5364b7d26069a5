"""The scam check's wording model (bot/check/wording.py) and topic heads (bot/check/topics.py),
trained on small hand-written example sets; the real bank is measured by eval/check_report.py
and by the leave-one-batch-out target test in tests/test_check_examples.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.check.checker import Checker, CheckWeights
from bot.check.examples import Example
from bot.check.redflags import RedFlagRules
from bot.check.topics import TopicHead
from bot.check.wording import WordingModel

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = yaml.safe_load((ROOT / "knowledge" / "taxonomy.yaml").read_text(encoding="utf-8"))

FEE = "advance-fee-loan"
TASK = "task-brushing"
EXAMPLES = [
    Example("scam", "zh", "放款前请先缴纳解冻金，交了马上到账", (FEE,), "a"),
    Example("scam", "zh", "缴纳保证金后立即放款到账，不交无法放款", (FEE,), "a"),
    Example("scam", "zh", "您的贷款已审批，请先交工本费再放款", (FEE,), "b"),
    Example("scam", "zh", "刷单返利，垫付后返佣金，一单一结", (TASK,), "a"),
    Example("scam", "zh", "点赞关注做任务，先垫付再返本金加佣金", (TASK,), "b"),
    Example("legit", "zh", "晚上一起吃饭吗？我订好位置了", (), "a"),
    Example("legit", "zh", "妈，我到家了，晚饭不用等我", (), "a"),
    Example("legit", "zh", "明天开会改到下午三点，请大家准时", (), "b"),
    Example("legit", "zh", "周末一起去爬山吗？我开车", (), "b"),
]


@pytest.fixture(scope="module")
def model() -> WordingModel:
    return WordingModel.fit(EXAMPLES)


def test_wording_reads_fee_talk_as_scam_and_chat_as_legit(model):
    assert model.score("先交解冻金才能放款") > 0 > model.score("晚上我到家了一起吃饭")


def test_topic_heads_name_the_pattern(model):
    probs = model.topic_probabilities("做任务刷单，先垫付后返佣金")
    assert max(probs, key=probs.get) == TASK and sum(probs.values()) == pytest.approx(1.0)
    vectors = np.eye(len(EXAMPLES), dtype=np.float32)  # one direction per example
    head = TopicHead.fit(vectors, EXAMPLES)
    probs = head.probabilities(vectors[[0]] + vectors[[1]])
    assert max(probs, key=probs.get) == FEE


def test_a_head_with_one_topic_has_nothing_to_say():
    only_fee = [e for e in EXAMPLES if TASK not in e.topics]
    assert TopicHead.fit(np.eye(len(only_fee)), only_fee).probabilities(np.eye(1, 7)) == {}


def test_leaving_a_batch_out_retrains_without_it(model):
    without = model.leave_out("a")
    assert {e.batch for e in without.examples} == {"b"}
    assert without.score("先交解冻金才能放款") != pytest.approx(model.score("先交解冻金才能放款"))


def test_the_model_needs_both_labels():
    with pytest.raises(ValueError, match="scam and legit"):
        WordingModel.fit([e for e in EXAMPLES if e.label == "scam"])


def _weights(**groups: dict) -> dict:
    weights = dict(CheckWeights.load().data)
    weights.update(groups)
    return weights


def test_the_scorer_adds_the_wording_term(model):
    rules = RedFlagRules.load()
    weights = _weights(wording={"scale": 2.0, "cap": 3.0})
    plain = Checker(rules, TAXONOMY, weights=weights)
    worded = Checker(rules, TAXONOMY, weights=weights, wording=model)
    text = "先交解冻金才能放款到账"
    a, b = plain.check(text, "zh"), worded.check(text, "zh")
    assert b.signals["wording"] == pytest.approx(min(3.0, 2.0 * b.signals["wording_log_odds"]))
    assert b.signals["wording"] > 0 and b.score == pytest.approx(a.score + b.signals["wording"])
    assert "wording_log_odds" not in a.signals


def test_the_topic_heads_can_decide_the_topic(model):
    # with no red-flag rules and no alias in the text, only the heads know the pattern
    no_rules = RedFlagRules(rules=())
    text = "点赞关注一单一结，返本金加佣金"
    topics = {**CheckWeights.load().data["topics"], "model_weight": 0.0}
    silent = Checker(no_rules, TAXONOMY, weights=_weights(bias=5.0, topics=topics), wording=model)
    heard = Checker(
        no_rules,
        TAXONOMY,
        weights=_weights(bias=5.0, topics={**topics, "model_weight": 20.0}),
        wording=model,
    )
    assert silent.check(text, "zh").topics == []
    assert heard.check(text, "zh").topics[0] == TASK


def test_the_trained_model_is_cached_on_disk_per_examples(tmp_path, monkeypatch):
    first = WordingModel.fit(EXAMPLES, cache_dir=tmp_path)
    (path,) = tmp_path.glob("check_wording-*.pkl")
    text = "先交解冻金才能放款"

    def no_training(self):
        raise AssertionError("trained again")

    monkeypatch.setattr(WordingModel, "_train", no_training)
    again = WordingModel(EXAMPLES, cache_dir=tmp_path)
    assert again.score(text) == pytest.approx(first.score(text))
    with pytest.raises(AssertionError, match="trained again"):  # other examples, other key
        WordingModel(EXAMPLES[:-1], cache_dir=tmp_path).score(text)
    monkeypatch.undo()
    path.write_bytes(b"not a pickle")  # an unreadable cache is rebuilt
    assert WordingModel(EXAMPLES, cache_dir=tmp_path).score(text) == pytest.approx(
        first.score(text)
    )
    assert len(list(tmp_path.glob("check_wording-*.pkl"))) == 1
