"""The question -> named-pattern model (bot/answer/topic_model.py) with a fake embedder:
training, P(none), the floors' decision, the on-disk cache and leave-one-batch-out."""

from __future__ import annotations

import numpy as np
import pytest

from bot.answer.topic_model import (
    NONE,
    Labelled,
    Prediction,
    QuestionTopics,
    decide,
    load_training,
)

WORDS = {"loan": 0, "fee": 1, "police": 2, "safe": 3, "recipe": 4, "weather": 5}


def fake_embed(texts: list[str]) -> np.ndarray:
    """A bag of six words: enough to tell the topics apart, and deterministic."""
    out = np.zeros((len(texts), len(WORDS)), dtype=np.float32)
    for i, t in enumerate(texts):
        for w, j in WORDS.items():
            out[i, j] = t.lower().count(w)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


TRAIN = (
    [Labelled(f"loan fee before payout {i}", "advance-fee-loan", "a") for i in range(6)]
    + [Labelled(f"police safe account {i}", "impersonating-officials", "a") for i in range(6)]
    + [Labelled(f"recipe weather tips {i}", NONE, "a") for i in range(6)]
    + [Labelled("they want a fee for my loan", "advance-fee-loan", "b")]
    + [Labelled("the police said move money to a safe account", "impersonating-officials", "b")]
)


def test_predicts_topics_and_none():
    model = QuestionTopics(TRAIN, fake_embed)
    loan = model.predict("loan app wants a fee first")
    assert loan.topic == "advance-fee-loan" and loan.probability > 0.5
    police = model.predict("police caller mentions a safe account")
    assert police.topic == "impersonating-officials"
    off = model.predict("a recipe for the weather")
    assert off.none > 0.5 and off.topic != NONE


def test_floors_decide_named_none_or_out_of_scope():
    floors = {"pattern_floor": 0.4, "none_floor": 0.6, "keep_floor": 0.25}
    assert decide(Prediction("ab-loan", 0.7, 0.1), floors).topic == "ab-loan"
    low = decide(Prediction("ab-loan", 0.3, 0.2), floors)
    assert low.topic is None and not low.out_of_scope
    out = decide(Prediction("ab-loan", 0.1, 0.8), floors)
    assert out.out_of_scope and out.topic is None
    # a strong topic keeps a question in scope even when P(none) is high
    assert not decide(Prediction("ab-loan", 0.3, 0.65), floors).out_of_scope
    # where to get help is not a scam pattern: never named
    assert (
        decide(Prediction("reporting-and-help", 0.9, 0.0), floors, ["reporting-and-help"]).topic
        is None
    )


def test_fitted_model_is_cached_on_disk(tmp_path):
    first = QuestionTopics(TRAIN, fake_embed, cache_dir=tmp_path)
    p1 = first.predict("loan fee")
    cached = list(tmp_path.glob("question_topics-*.pkl"))
    assert len(cached) == 1 and list(tmp_path.glob("question_topics_vectors-*.npy"))
    again = QuestionTopics(TRAIN, fake_embed, cache_dir=tmp_path)
    assert again.predict("loan fee").probability == pytest.approx(p1.probability)
    QuestionTopics(TRAIN[:-1], fake_embed, cache_dir=tmp_path).predict("loan fee")
    assert len(list(tmp_path.glob("question_topics-*.pkl"))) == 2  # other examples: new key


def test_leave_out_drops_a_batch_and_reuses_vectors():
    calls: list[int] = []

    def counting(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return fake_embed(texts)

    model = QuestionTopics(TRAIN, counting)
    model.predict("loan")
    trained = sum(calls)
    left = model.leave_out("b")
    assert {e.batch for e in left.examples} == {"a"}
    left.predict("loan")
    assert sum(calls) == trained + 1  # only the question itself is embedded again


def test_shipped_training_questions_are_valid():
    rows = load_training()
    assert len(rows) >= 800 and {r.batch for r in rows} >= {"qa", "qb"}
    assert sum(r.topic == NONE for r in rows) >= 100


class FixedNamer:
    """A fake question-topic model: always gives `topic` probability `p` (the real floors)."""

    def __init__(self, topic: str, p: float) -> None:
        self.topic, self.p = topic, p

    def __call__(self, question: str):
        from bot.answer.topic_model import Prediction, decide

        return decide(Prediction(self.topic, self.p, 0.0), {"fetch_floor": 0.5})


@pytest.mark.parametrize(("p", "named"), [(0.9, "fake-prize-and-points"), (0.3, None)])
def test_a_sure_pattern_the_search_missed_is_fetched(indexed, p, named):
    """The search finds no passage of the pattern the (fake) model names; a model sure of it
    (p >= fetch_floor) gets that pattern's passages cited; an unsure one names none."""
    from bot.answer.chain import AnswerChain

    question = "朋友想借我的身份证去办张手机卡，说用一个月就还给我"
    plain = indexed.retriever.search(question, lang="zh")
    assert not any("fake-prize-and-points" in x.chunk.topics for x in plain)  # the premise
    chain = AnswerChain(
        indexed.retriever, indexed.chain.composer, namer=FixedNamer("fake-prize-and-points", p)
    )
    answer = chain.answer(question, lang="zh")
    assert answer.extra["pattern"] == named
    cited = {t for c in answer.citations for t in c.topics}
    assert ("fake-prize-and-points" in cited) is (named is not None)


def test_none_much_likelier_than_the_best_topic_is_out_of_scope():
    from bot.answer.topic_model import Prediction, decide

    floors = {"pattern_floor": 0.1, "none_over_topic": 2.0}
    assert decide(Prediction("ab-loan", 0.2, 0.45), floors).out_of_scope
    assert not decide(Prediction("ab-loan", 0.3, 0.45), floors).out_of_scope
    assert not decide(Prediction("ab-loan", 0.2, 0.45), {"pattern_floor": 0.1}).out_of_scope


def test_a_batch_without_a_label_is_skipped_only_when_asked(tmp_path):
    from bot.text_model import read_labelled

    (tmp_path / "questions_qa.jsonl").write_text(
        '{"text": "靠谱吗", "topic": "ab-loan", "ask": "legit", "lang": "zh"}\n', encoding="utf-8"
    )
    (tmp_path / "questions_qb.jsonl").write_text(
        '{"text": "is it real", "topic": "ab-loan", "lang": "en"}\n', encoding="utf-8"
    )
    assert [r.batch for r in read_labelled(tmp_path, "ask", optional=True)] == ["qa"]
    with pytest.raises(ValueError, match="questions_qb.jsonl:1"):
        read_labelled(tmp_path, "ask")
    # a file where only some rows carry the label is an error even when it is optional
    (tmp_path / "questions_qb.jsonl").write_text(
        '{"text": "is it real", "topic": "ab-loan", "ask": "legit"}\n{"text": "and this?", "topic": "ab-loan"}\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="questions_qb.jsonl:2"):
        read_labelled(tmp_path, "ask", optional=True)
