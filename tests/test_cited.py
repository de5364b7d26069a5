"""Per-sentence citation checks (bot/answer/cited.py), the streaming cut (complete_sentences),
what a model is shown (model_passages) and the GGUF assembly (bot/answer/gguf.py)."""

from __future__ import annotations

import hashlib

import pytest

from bot.answer.cited import (
    all_clear_verdict,
    check_sentences,
    genuine_does_what_scammers_do,
    parse,
)
from bot.answer.gguf import SplitModel, assemble
from bot.answer.llm import MAX_MODEL_PASSAGES, model_passages
from bot.answer.model_text import complete_sentences, whole_sentences, without_repeated_verdict
from bot.records import Chunk, Passage


def passage(text: str, section: str = "what", lang: str = "zh", doc: str = "d1") -> Passage:
    chunk = Chunk(
        chunk_id=f"{doc}#{section}#{len(text)}",
        doc_id=doc,
        section=section,
        n=0,
        text=text,
        title="t",
        lang=lang,
        topics=("advance-fee-loan",),
        url="",
        source_title="",
    )
    return Passage(chunk, 1.0)


FEE = passage("虚假贷款App诈骗，是骗子假扮贷款机构，用先交钱才能放款的借口一次次收钱的骗局。")
TODO = passage("马上停止操作，不再转出任何一笔钱，也不要再接对方的电话和消息。", "todo")
HELP = passage("已经转账：立即拨打110报警，并联系开户银行。", "help")
SHOWN = [FEE, TODO, HELP]


def test_supported_cited_sentences_pass_and_labels_are_skipped():
    text = "不靠谱，这是虚假贷款App诈骗。[1]\n现在怎么做：\n- 马上停止操作，不再转出任何一笔钱。[2]"
    result = check_sentences(text, SHOWN, pattern="虚假贷款")
    assert result.problems == [] and result.sentences == 2 and result.supported == 2


def test_sentence_no_shown_passage_supports_is_reported_with_its_marker():
    text = "对方承诺三天内一定放款，可以放心。[1]"  # no shown passage says this
    result = check_sentences(text, SHOWN)
    assert result.problems and result.problems[0].startswith("unsupported sentence [1]")
    assert result.repointed == 0 and result.text == text


def test_wrong_marker_is_repointed_to_the_passage_that_supports_the_sentence():
    text = "马上停止操作，不再转出任何一笔钱。[3]"  # true, but passage 3 does not say it; 2 does
    result = check_sentences(text, SHOWN)
    assert result.problems == [] and result.repointed == 1
    assert result.text == "马上停止操作，不再转出任何一笔钱。[2]"


def test_repointing_keeps_the_marker_for_the_sentences_that_leaned_on_it():
    # "A。B。[3]": A is what [3] says, B is what [2] says; B gets [2], A keeps [3]
    text = "- 立即拨打110报警，并联系开户银行。马上停止操作，不再转出任何一笔钱。[3]"
    result = check_sentences(text, SHOWN)
    assert result.problems == [] and result.repointed == 1
    assert (
        result.text == "- 立即拨打110报警，并联系开户银行。[3]马上停止操作，不再转出任何一笔钱。[2]"
    )


def test_late_marker_is_moved_back_only_when_provable():
    # [2] starts the next line, but supports the sentence before it: moved back
    late = "马上停止操作，不再转出任何一笔钱。\n[2] 立即拨打110报警，并联系开户银行。[3]"
    result = check_sentences(late, SHOWN)
    assert result.repaired == 1 and result.problems == []
    assert result.text.splitlines()[0].endswith("。[2]")
    # [3] does not support the sentence before it: it stays, and counts for its own sentence
    wrong = "马上停止操作，不再转出任何一笔钱。\n[3] 立即拨打110报警，并联系开户银行。"
    result = check_sentences(wrong, SHOWN)
    assert result.repaired == 0 and result.text.splitlines()[1].startswith("[3]")
    assert result.problems == []  # sentence 1 is supported by a shown passage, 2 by [3]


def test_a_late_marker_never_moves_onto_a_sentence_with_its_own():
    text = "虚假贷款App诈骗是骗子假扮贷款机构。[1]\n[2] 马上停止操作，不再转出任何一笔钱。"
    result = check_sentences(text, SHOWN)
    assert result.repaired == 0 and result.text == text


def test_uncited_sentence_must_be_supported_by_a_shown_passage():
    result = check_sentences("对方承诺三天内一定放款，可以放心。", SHOWN)
    assert result.problems == ["uncited unsupported sentence: 对方承诺三天内一定放款，可以放心。"]


def test_line_end_marker_covers_the_line():
    text = "- 马上停止操作。不再转出任何一笔钱。[2]"
    assert check_sentences(text, SHOWN).problems == []
    assert [len(line.sentences) for line in parse(text)] == [2]


def test_out_of_range_marker_does_not_count_as_a_citation():
    result = check_sentences("这是一个平台的正规收费，交了就放款。[9]", SHOWN)
    assert result.problems and result.problems[0].startswith("uncited unsupported")


@pytest.mark.parametrize(
    "text, ready",
    [
        ("不靠谱。[1]", ""),  # the next sentence has not begun: [n] may still follow
        ("不靠谱。[1]\n- 马上", "不靠谱。[1]"),
        ("不靠谱。\n[1] 马上停止", "不靠谱。\n[1]"),  # the late [1] goes with the sentence
        ("Do not pay. Call", "Do not pay."),
        ("第一句。第二句。[2]第三", "第一句。第二句。[2]"),
    ],
)
def test_complete_sentences(text, ready):
    assert complete_sentences(text) == ready


def test_model_passages_drop_lures_and_other_languages_and_keep_todo_and_help():
    lure = passage("“交完这笔马上到账”。", "lures")
    en = passage("Never pay a fee to get a loan.", lang="en", doc="d2")
    extra = [passage(f"第{i}段关于贷款诈骗的说明。", "flags", doc=f"x{i}") for i in range(5)]
    shown = model_passages([lure, en, FEE, *extra, TODO, HELP], "zh")
    assert lure not in shown and en not in shown
    assert TODO in shown and HELP in shown and FEE in shown
    assert len(shown) <= MAX_MODEL_PASSAGES


def test_gguf_is_assembled_in_order_and_checked(tmp_path, monkeypatch):
    parts = [b"GGUF" + b"a" * 10, b"b" * 7, b"c" * 3]
    for i, data in enumerate(parts, start=1):
        pkg = tmp_path / "site" / f"fakemodelpart{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(parts)
    good = SplitModel("fakemodelpart", 3, len(whole), hashlib.sha256(whole).hexdigest())
    out = assemble(tmp_path / "m" / "model.gguf", good)
    assert out.read_bytes() == whole
    bad = SplitModel("fakemodelpart", 3, len(whole), "0" * 64)
    with pytest.raises(ValueError, match="sha256"):
        assemble(tmp_path / "m" / "other.gguf", bad)
    assert not (tmp_path / "m" / "other.gguf").exists()
    assert not (tmp_path / "m" / "other.gguf.part").exists()


@pytest.mark.parametrize(
    "text, flagged",
    [
        ("是的，停息挂账是真的。[1]\n要点：", True),
        ("靠谱，可以放心办理。", True),
        ("Yes, it's legit.[2]", True),
        ("It's safe to pay the fee.", True),
        ("是的，这是典型的诈骗。[1]", False),
        ("不靠谱：这是典型的「职业背债」。", False),
        ("正常的银行不会让你先交钱。[1]", False),
        ("Yes, this is a scam.[1]", False),
        ("No — this is a fake debt-relief scheme.", False),
    ],
)
def test_a_first_line_that_gives_the_all_clear_is_caught(text: str, flagged: bool):
    assert all_clear_verdict(text) is flagged


def test_missing_marker_is_added_when_a_shown_passage_supports_the_sentence():
    text = "不靠谱。\n现在怎么做：\n- 马上停止操作，不再转出任何一笔钱。"
    result = check_sentences(text, SHOWN, pattern="虚假贷款")
    assert result.problems == [] and result.repointed == 1
    # a verdict-only line (no passage's own words) gets no marker; the step gets [2]
    assert result.text.splitlines() == [
        "不靠谱。",
        "现在怎么做：",
        "- 马上停止操作，不再转出任何一笔钱。[2]",
    ]
    # a first line that names the pattern cites the passage that describes it
    named = check_sentences("不靠谱，这是虚假贷款。", SHOWN, pattern="虚假贷款")
    assert named.text == "不靠谱，这是虚假贷款。[1]"


def test_a_sentence_that_repeats_the_question_is_dropped_with_its_empty_section():
    question = "客服刚刚让我开了屏幕共享，我银行卡里的钱好像少了，怎么办"
    shown = [passage("客服让你开屏幕共享，是为了看你的银行卡和验证码，钱会被转走。"), TODO]
    text = (
        "不靠谱。\n要点：\n- 客服刚刚让我开了屏幕共享，我银行卡里的钱好像少了。\n"
        "现在怎么做：\n- 马上停止操作，不再转出任何一笔钱。[2]"
    )
    result = check_sentences(text, shown, question=question)
    assert result.problems == [] and result.dropped == 1
    assert result.text == "不靠谱。\n现在怎么做：\n- 马上停止操作，不再转出任何一笔钱。[2]"
    # the passage's own sentence is no echo, though it shares words with the question
    ok = "不靠谱。\n要点：\n- 客服让你开屏幕共享，是为了看你的银行卡和验证码。[1]"
    kept = check_sentences(ok, shown, question=question)
    assert kept.problems == [] and kept.dropped == 0 and kept.text == ok
    # an echo on the first line (the verdict) is reported, not dropped
    first = check_sentences(
        "客服刚刚让我开了屏幕共享，我银行卡里的钱好像少了。", shown, question=question
    )
    assert first.problems[0].startswith("restates the question") and first.dropped == 0


def test_a_short_answer_sharing_the_question_s_word_is_no_echo():
    result = check_sentences(
        "No, that is not legal.", SHOWN, question="Is it legal to sell my loan?"
    )
    assert not any(p.startswith("restates") for p in result.problems)


@pytest.mark.parametrize(
    "cut, kept",
    [
        (
            "要点：\n- 骗子会让你先办贷款。[2]\n现在怎么做：\n- 马上停",
            "要点：\n- 骗子会让你先办贷款。[2]",
        ),
        ("Key facts:\n- They ask for fees.[1] Then they", "Key facts:\n- They ask for fees.[1]"),
        ("Key facts:\n- They ask", ""),
        ("没有句号", ""),
    ],
)
def test_whole_sentences_of_an_answer_cut_at_the_token_limit(cut, kept):
    assert whole_sentences(cut) == kept


VERDICT = "不靠谱，很可能是骗局：这是典型的「职业背债」。"


@pytest.mark.parametrize(
    "text, rest",
    [
        ("不靠谱，很可能是职业背债。[1]\n要点：\n- a", "要点：\n- a"),  # said again: dropped
        ("要点：\n- a", "要点：\n- a"),  # starts with a section, as asked
        ("\n骗子先让你办贷款。[1]\n要点：", "\n骗子先让你办贷款。[1]\n要点："),  # a fact stays
    ],
)
def test_a_first_line_repeating_the_chain_s_verdict_is_dropped(text, rest):
    assert without_repeated_verdict(text, VERDICT) == rest


def test_a_sentence_that_only_says_the_chain_s_verdict_again_is_dropped():
    verdict = "不靠谱，很可能是骗局：这是典型的「虚假贷款」。"
    text = "要点：\n- 不可信。\n现在怎么做：\n- 马上停止操作，不再转出任何一笔钱。[2]"
    result = check_sentences(text, SHOWN, pattern="虚假贷款", verdict=verdict)
    assert result.problems == [] and result.dropped == 1
    assert result.text == "现在怎么做：\n- 马上停止操作，不再转出任何一笔钱。[2]"
    # without a verdict from the chain, the same sentence is the model's own verdict: kept
    assert check_sentences(text, SHOWN, pattern="虚假贷款").dropped == 0


def test_a_sentence_said_twice_is_kept_once():
    verdict = "这很可能是「虚假贷款」，先做下面这几件事。"
    step = "- 马上停止操作，不再转出任何一笔钱。[2]"
    text = f"要点：\n{step}\n现在怎么做：\n{step}"
    result = check_sentences(text, SHOWN, pattern="虚假贷款", verdict=verdict)
    assert result.problems == [] and result.dropped == 1
    assert result.text == f"要点：\n{step}"


def test_a_sentence_that_drops_the_passage_s_negation_is_reported():
    never = passage(
        "Real lenders never charge upfront fees before the loan reaches you. Ask the bank.",
        lang="en",
    )
    flipped = check_sentences(
        "Real lenders charge upfront fees before the loan reaches you.[1]", [never]
    )
    assert any(p.startswith("negation differs") for p in flipped.problems)
    same = check_sentences(
        "Real lenders never charge upfront fees before the loan reaches you.[1]", [never]
    )
    assert same.problems == []
    # Chinese: "不再转出" copied as "再转出"
    zh = check_sentences("马上停止操作，再转出一笔钱。[2]", SHOWN)
    assert any(p.startswith("negation differs") for p in zh.problems)
    assert check_sentences("马上停止操作，不再转出任何一笔钱。[2]", SHOWN).problems == []


@pytest.mark.parametrize(
    "sentence, wrong",
    [
        ("Real lenders charge upfront fees before the loan reaches you.", True),
        ("Real lenders never charge upfront fees before the loan reaches you.", False),
        ("正规贷款机构会先收取保证金。", True),
        ("真正的警察不会在电话里要你的密码、验证码。", False),
        ("对持牌机构的收费或服务有异议，先向该机构投诉。", False),  # a knowledge-base step
    ],
)
def test_a_genuine_body_said_to_ask_for_money_or_codes_is_caught(sentence, wrong):
    assert genuine_does_what_scammers_do(sentence) is wrong


def test_every_knowledge_base_sentence_passes_the_genuine_body_check():
    from pathlib import Path

    from bot.answer.chunker import split_sentences

    root = Path(__file__).resolve().parent.parent / "knowledge"
    caught = [
        s
        for f in root.rglob("*.md")
        for line in f.read_text(encoding="utf-8").splitlines()
        for s in split_sentences(line.strip("-* "))
        if genuine_does_what_scammers_do(s)
    ]
    assert caught == []


def test_the_answer_check_reports_a_genuine_body_asking_for_money():
    shown = [
        passage(
            "You are asked to pay a fee before the loan reaches you. A licensed lender does "
            "not collect money from you before it pays out a loan.",
            lang="en",
        )
    ]
    result = check_sentences(
        "Real lenders charge upfront fees before the loan reaches you.[1]", shown
    )
    assert any(p.startswith("says a genuine body") for p in result.problems)


@pytest.mark.parametrize(
    "source, lang, sentence",
    [
        # the negation bears on "say", not on what the two clauses share
        (
            "What the agents don't say is that you can ask your lender for a repayment "
            "arrangement yourself, and it costs nothing.",
            "en",
            "You can ask your lender for a repayment arrangement yourself.",
        ),
        # a red flag turned into "do not" advice
        (
            "Red flags: a fee based on your debt, or any fee before anything has been agreed "
            "with your lender.",
            "en",
            "Do not pay any fee before anything has been agreed with your lender.",
        ),
        # a label-like clause sharing two words with a longer negated clause is not its claim
        (
            "不签“代理维权”委托协议，和机构有纠纷，直接找机构本身协商或投诉。",
            "zh",
            "代理维权套路：和机构有纠纷，直接找机构本身协商或投诉。",
        ),
    ],
)
def test_a_negation_that_bears_on_other_words_is_not_a_flip(source, lang, sentence):
    result = check_sentences(f"{sentence}[1]", [passage(source, lang=lang)])
    assert not any(p.startswith("negation differs") for p in result.problems)


def test_a_sentence_copied_from_the_worked_example_is_dropped():
    from bot.prompts import load_prompt

    examples = [ex["answer"] for ex in load_prompt("answer").examples]
    fee = passage(
        "A credit repair company that wants money before doing the work is a scam.", lang="en"
    )
    text = (
        "Key facts:\n- A credit repair company wants money before doing the work.[1]\n"
        "What to do now:\n- Talk to a friend or family member you trust.[1]"
    )
    result = check_sentences(text, [fee], examples=examples)
    assert result.problems == [] and result.dropped == 1
    assert "friend" not in result.text and "What to do now" not in result.text
    # without the examples it is what it is: a sentence no passage supports
    assert check_sentences(text, [fee]).problems


def test_a_sentence_taking_the_example_s_pattern_is_dropped():
    from bot.answer.llm import LLMGenerator

    examples = LLMGenerator(model=None).example_answers()  # type: ignore[arg-type]
    ab = passage("AB贷是借贷中介利用亲友之间的信任，把贷款转到信用好的熟人名下的套路。")
    text = (
        "要点：\n- AB贷是典型的「冒充熟人诈骗」。[1]\n- AB贷是借贷中介利用亲友之间的信任的套路。[1]"
    )
    result = check_sentences(text, [ab], pattern="AB贷", examples=examples)
    assert result.dropped == 1 and "冒充熟人诈骗" not in result.text


def test_a_question_echoed_as_a_step_is_dropped_however_short():
    white = passage("招募广告专找缺钱的人，比如从没贷过款的“白户”。")
    question = "有人说只要贡献征信就能拿佣金，我是白户，这种靠谱吗"
    text = "要点：\n- 招募广告专找缺钱的人，比如白户。[1]\n现在怎么做：\n- 是白户，这种靠谱吗？[1]"
    result = check_sentences(text, [white], question=question, verdict="不靠谱。")
    assert result.problems == [] and result.dropped == 1
    assert "靠谱吗" not in result.text and "现在怎么做" not in result.text


def test_a_label_made_of_the_verdict_is_dropped_but_section_labels_stay():
    verdict = "这很可能是「虚假贷款」，先做下面这几件事。"
    text = "要点：\n- 先做下面这几件事：[1]\n现在怎么做：\n- 马上停止操作，不再转出任何一笔钱。[2]"
    result = check_sentences(text, SHOWN, pattern="虚假贷款", verdict=verdict)
    assert result.problems == [] and "先做下面这几件事" not in result.text
    assert result.text == "现在怎么做：\n- 马上停止操作，不再转出任何一笔钱。[2]"
    # "Where to get help:" shares every word with the report verdict and still stays
    help_ = passage("Report it to the police.", section="help", lang="en")
    en = check_sentences(
        "Where to get help:\n- Report it to the police.[1]",
        [help_],
        verdict="Here is where to get help.",
    )
    assert en.text.startswith("Where to get help:")
