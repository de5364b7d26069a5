"""Answer-first composition: what a question asks (bot/answer/asks.py) decides the first line
and the order of sections (bot/answer/compose.py); scammers' lines are labelled as such.
Passages are built here, so no index or embedder is needed. Questions written for this test.
"""

from __future__ import annotations

import pytest

from bot.answer.asks import default_asks
from bot.answer.compose import ExtractiveComposer
from bot.answer.lexical import Tokenizer
from bot.evaluation.answers import first_line_answers
from bot.records import Chunk, Passage
from bot.taxonomy import Taxonomy
from tests.conftest import KNOWLEDGE


@pytest.mark.parametrize(
    "text, lang, kind",
    [
        ("朋友说借我身份证办张卡，给我两千块好处费，这事能答应吗", "zh", "is_it_scam"),
        ("这个返利群到底是不是骗局啊", "zh", "is_it_scam"),
        ("钱已经转过去了，接下来我该怎么办", "zh", "what_now"),
        ("帮人刷脸贷款，出了事我要负法律责任吗", "zh", "legal"),
        ("被骗了应该去哪里报警", "zh", "report"),
        ("冒充客服的骗子一般是怎么骗人的", "zh", "how_it_works"),
        ("Is this refund text legit?", "en", "is_it_scam"),
        ("I already paid the fee, what should I do now?", "en", "what_now"),
        ("Could I go to jail for letting someone use my account?", "en", "legal"),
        ("Who do I call to report a fake bank text?", "en", "report"),
        ("How do romance scammers get people to invest?", "en", "how_it_works"),
        ("征信报告怎么看", "zh", "other"),
        # the story mentions getting money back; the question (last clause) asks if it is real
        ("群里老师说交两千手续费，之前亏的钱都能追回，这个靠谱吗？", "zh", "is_it_scam"),
        (
            "I asked how do I recover my losses; he wants a fee first. Is this legit?",
            "en",
            "is_it_scam",
        ),
    ],
)
def test_asks_classify(text, lang, kind):
    assert default_asks().classify(text, lang) == kind


def _p(doc: str, section: str, n: int, text: str, lang: str = "zh", topic: str = "ab-loan"):
    chunk = Chunk(
        f"{doc}#{section}#{n}", doc, section, n, text, "标题", lang, (topic,), "https://e.org", "s"
    )
    return Passage(chunk, 1.0)


PASSAGES = [
    _p("zh-ab", "what", 0, "有人借你的身份去贷款，钱归他，债归你。"),
    _p("zh-ab", "lures", 0, "“帮我刷个脸就行，不用你还钱”。"),
    _p("zh-ab", "flags", 0, "让你替别人刷脸、签字的，都要警惕。"),
    _p("zh-ab", "consequences", 0, "贷款记在你名下，逾期会影响你的征信。"),
    _p("zh-ab", "todo", 0, "不替任何人刷脸签字。"),
    _p("zh-ab", "help", 0, "拿不准时拨打96110咨询。"),
]


@pytest.fixture(scope="module")
def composer() -> ExtractiveComposer:
    taxonomy = Taxonomy.load(KNOWLEDGE / "taxonomy.yaml")
    return ExtractiveComposer(Tokenizer(taxonomy.aliases()), taxonomy)


def test_yes_no_question_gets_a_decision_first(composer):
    text = composer.compose("同事让我帮他刷脸贷款，说他自己还，靠谱吗", "zh", PASSAGES, "ab-loan")
    first = text.splitlines()[0]
    assert first.startswith("不靠谱") and "AB贷" in first, first
    assert first_line_answers(text, "zh")


def test_no_pattern_named_means_no_verdict_line(composer):
    text = composer.compose("同事让我帮他刷脸贷款，说他自己还，靠谱吗", "zh", PASSAGES, None)
    assert "「" not in text.splitlines()[0]
    assert not first_line_answers(text, "zh")


def test_what_now_puts_the_steps_first(composer):
    text = composer.compose("我已经帮他刷了脸，现在怎么办", "zh", PASSAGES, "ab-loan")
    assert text.index("现在怎么做") < text.index("求助渠道")
    assert "要点" not in text or text.index("现在怎么做") < text.index("要点")


def test_scammers_lines_only_under_their_label(composer):
    text = composer.compose("刷脸贷款是怎么骗人的", "zh", PASSAGES, "ab-loan")
    label = "骗子常这样说"
    assert label in text
    lure = "“帮我刷个脸就行，不用你还钱”。"
    before, after = text.split(label, 1)
    assert lure not in before and lure in after


def test_scammers_lines_come_only_from_the_named_patterns_articles(composer):
    romance = _p("zh-love", "lures", 0, "“我们第一次聊天就觉得有缘”。", topic="romance-scam")
    text = composer.compose("刷脸贷款是怎么骗人的", "zh", [*PASSAGES[:1], romance, *PASSAGES[1:]])
    assert "“帮我刷个脸就行，不用你还钱”。" in text
    assert "有缘" not in text


def test_english_decision_line(composer):
    passages = [
        _p(
            "en-x",
            "what",
            0,
            "A stranger borrows in your name.",
            "en",
            "professional-debt-carrying",
        ),
        _p("en-x", "todo", 0, "Never lend your ID.", "en", "professional-debt-carrying"),
    ]
    text = composer.compose(
        "Someone will pay me to take a loan he repays, is this legit?",
        "en",
        passages,
        "professional-debt-carrying",
    )
    assert text.startswith("Don't trust it"), text
    assert first_line_answers(text, "en")


def _p2(doc: str, section: str, n: int, text: str, topics: tuple[str, ...]) -> Passage:
    chunk = Chunk(f"{doc}#{section}#{n}", doc, section, n, text, "标题", "zh", topics, "u", "s")
    return Passage(chunk, 1.0)


def test_answer_is_built_around_the_article_mainly_about_the_named_pattern(composer):
    # the ID-lending article also lists 职业背债 and ranks first; the answer on 职业背债
    # must still lead with the 职业背债 article's own opening
    lending = ("personal-info-and-codes", "professional-debt-carrying")
    passages = [
        _p2("zh-id", "what", 0, "有人花钱收购你的身份信息。", lending),
        _p2("zh-id", "todo", 0, "身份证不离身。", lending),
        _p2(
            "zh-debt", "what", 0, "职业背债把普通人当作贷款工具。", ("professional-debt-carrying",)
        ),
        _p2("zh-debt", "todo", 0, "不再签任何贷款文件。", ("professional-debt-carrying",)),
    ]
    text = composer.compose(
        "有人让我用身份证贷款，说债他帮还，靠谱吗", "zh", passages, "professional-debt-carrying"
    )
    lines = text.splitlines()
    assert "职业背债" in lines[0]
    assert lines[1].startswith("职业背债把普通人当作贷款工具。")
    assert "不再签任何贷款文件。" in text


def test_steps_that_answer_the_question_are_chosen_and_keep_their_order(composer):
    steps = [
        "不替任何人刷脸。",
        "身份证不离身。",
        "收到预警短信就停止联系。",
        "用一证通查查询名下手机号。",
    ]
    passages = [_p("zh-ab", "what", 0, "有人借你的身份去贷款。")] + [
        _p("zh-ab", "todo", i, s) for i, s in enumerate(steps)
    ]
    text = composer.compose("怎么查我名下的手机号", "zh", passages, "ab-loan")
    todo = text.split("现在怎么做", 1)[1]
    assert "一证通查" in todo  # the fourth step, chosen because it answers the question
    assert todo.index("不替任何人刷脸") < todo.index("一证通查")  # article order kept
    assert "收到预警短信" not in todo  # only three steps


def test_one_shared_word_does_not_pull_a_fragment_ahead(composer):
    steps = [
        "Say no to anyone who wants to borrow your credit.",
        "Never sign papers you do not understand.",
        "Check your credit report for loans you did not take.",
        "Do not delete them.",
    ]
    passages = [_p("en-d", "what", 0, "A broker borrows in your name.", "en")] + [
        _p("en-d", "todo", i, s, "en") for i, s in enumerate(steps)
    ]
    text = composer.compose(
        "Letting them take out a loan in my name, is this legit?",
        "en",
        passages,
        "ab-loan",
    )
    assert "Do not delete them." not in text  # shares only "them" with the question
    assert "Check your credit report" in text
