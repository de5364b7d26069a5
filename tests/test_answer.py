"""End to end over the shipped knowledge with the real embedder: retrieval, composer, verifier."""

from __future__ import annotations

import re

import pytest

from bot.answer.chunker import split_sentences
from bot.answer.lexical import Tokenizer
from bot.answer.verify import markers, verify_citations
from bot.records import Chunk, Passage
from bot.taxonomy import Taxonomy
from tests.conftest import KNOWLEDGE


@pytest.mark.parametrize(
    "question, lang, topic",
    [
        ("有人让我提供身份证帮他贷款，说不用我还，靠谱吗？", "zh", "professional-debt-carrying"),
        ("网上说交钱能把逾期记录删掉，征信修复是真的吗", "zh", "fake-credit-repair"),
        ("贷款APP说我银行卡号填错了，资金被冻结，要交解冻费才能放款", "zh", "advance-fee-loan"),
        ("客服说要注销我大学时的校园贷账户，不然影响征信", "zh", "fake-customer-service"),
        (
            "A company says it can erase my bad credit for a fee, is that legit?",
            "en",
            "fake-credit-repair",
        ),
        (
            "Someone wants to pay me to receive money into my account and forward it",
            "en",
            "account-renting-money-mule",
        ),
    ],
)
def test_answers_cite_the_right_topic_in_the_question_language(indexed, question, lang, topic):
    answer = indexed.chain.answer(question)
    assert answer.lang == lang
    assert answer.citations, answer.text
    assert topic in answer.topics, (answer.topics, answer.text)
    # every marker resolves to a citation, every citation is cited
    used = set(markers(answer.text))
    assert used == {c.n for c in answer.citations}
    # every content line of an extractive answer carries a marker
    for line in answer.text.splitlines():
        line = line.strip()
        if line.startswith("- "):
            assert re.search(r"\[\d+\]$", line), line
    # the quote is the text of a retrieved passage, in the question language
    retrieved = {p.chunk.chunk_id: p.chunk.text for p in answer.extra["passages"]}
    for c in answer.citations:
        assert c.passages and c.passages[0]["chunk_id"] == c.chunk_id
        for quoted in c.passages:
            assert retrieved[quoted["chunk_id"]] == quoted["quote"]
        assert c.quote == "\n".join(q["quote"] for q in c.passages)
    # each article is one source: never listed twice
    assert len({c.doc_id for c in answer.citations}) == len(answer.citations)
    assert all(c.url.startswith("http") for c in answer.citations)
    assert sum(c.doc_id.startswith(lang) for c in answer.citations) >= len(answer.citations) / 2


def test_cited_sentences_are_verbatim_from_passages(indexed):
    answer = indexed.chain.answer("刷单返利，先做小任务返钱，后来要充值才能提现怎么办")
    quotes = {c.n: c.quote for c in answer.citations}
    for line in answer.text.splitlines():
        for sentence, n in re.findall(r"([^\[\]]+?)\[(\d+)\]", line):
            body = sentence.strip().lstrip("- ").strip()
            body = re.sub(r"^这很可能属于「[^」]+」。", "", body)
            assert body in quotes[int(n)], (body, quotes[int(n)])


def test_follow_up_uses_history(indexed):
    history = [
        {"role": "user", "content": "有中介说能帮我停息挂账，把信用卡欠款停下来慢慢还"},
        {"role": "assistant", "content": "……"},
    ]
    with_history = indexed.chain.answer("那他收代理费正常吗？", history=history)
    assert (
        "fake-debt-relief" in with_history.topics[:2]
        or "agent-complaint-anti-collection" in with_history.topics[:2]
    )


def test_max_passages_per_article_and_language_preference(indexed):
    passages = indexed.retriever.search("征信修复 收费 删除逾期", lang="zh", k=8)
    per_doc: dict[str, int] = {}
    for p in passages:
        per_doc[p.chunk.doc_id] = per_doc.get(p.chunk.doc_id, 0) + 1
    assert max(per_doc.values()) <= indexed.settings.max_per_doc
    assert passages[0].chunk.lang == "zh"
    english = indexed.retriever.search("credit repair company fee", lang="en", k=4)
    assert english[0].chunk.lang == "en"


def test_tokenizer_keeps_taxonomy_terms_whole():
    tok = Tokenizer(Taxonomy.load(KNOWLEDGE / "taxonomy.yaml").aliases())
    tokens = tok.tokens("中介说可以停息挂账，还能做征信修复")
    assert "停息挂账" in tokens and "征信修复" in tokens
    assert tok.tokens("Credit Repair scams") == ["credit", "repair", "scams"]


def _passage(n: int, text: str, doc: str = "d") -> Passage:
    chunk = Chunk(
        f"{doc}#what#{n}",
        doc,
        "what",
        n,
        text,
        "t",
        "zh",
        ("advance-fee-loan",),
        "https://e.org",
        "s",
    )
    return Passage(chunk, 1.0)


def test_verifier_strips_unknown_markers_and_renumbers_by_article():
    passages = [_passage(0, "甲。", "a"), _passage(1, "乙。", "b"), _passage(2, "丙。", "a")]
    v = verify_citations("第一句[3]。第二句[7]。第三句[1, 2]。第四句[0]。第五句[3]。", passages)
    # passages 1 and 3 are one article: one number, one source, both passages kept
    assert v.text == "第一句[1]。第二句。第三句[1][2]。第四句。第五句[1]。"
    assert [c.doc_id for c in v.citations] == ["a", "b"]
    assert [q["chunk_id"] for q in v.citations[0].passages] == ["a#what#2", "a#what#0"]
    assert v.citations[0].quote == "丙。\n甲。"
    assert v.citations[0].to_dict()["passages"][1] == {"chunk_id": "a#what#0", "quote": "甲。"}
    assert sorted(v.removed) == [0, 7]


def test_sentence_splitter_used_by_composer_keeps_marks():
    assert split_sentences("不要转账。拨打110！") == ["不要转账。", "拨打110！"]
