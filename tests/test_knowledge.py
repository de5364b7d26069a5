"""Loader and linter: malformed articles are clear errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answer.knowledge import KnowledgeError, load_knowledge
from bot.answer.lint import find_numbers, lint_articles, lint_text, load_hotlines
from tests.conftest import KNOWLEDGE, copy_knowledge

GOOD_ZH = """---
id: zh-advance-fee-loan-test
title: 测试文章
lang: zh
topics: [advance-fee-loan]
sources:
  - title: 测试来源
    publisher: 测试出版方
    date: 2025-01-01
    url: https://example.org/a
updated: 2026-11-28
---
## 是什么
这是一段说明。
## 常见话术
- “先交解冻费才能放款。”
## 识别要点
放款前收费就是诈骗。
## 后果
钱会被骗走。
## 怎么办
不要转账。
## 求助渠道
拨打110报警。
"""


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def kdir(tmp_path):
    root = copy_knowledge(tmp_path / "knowledge", pick=[])
    write(root, "zh/advance-fee-loan/test.md", GOOD_ZH)
    return root


def problems_of(kdir: Path) -> list:
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(kdir)
    return info.value.problems


def test_good_article_loads(kdir):
    [article] = load_knowledge(kdir)
    assert article.id == "zh-advance-fee-loan-test"
    assert [s.key for s in article.sections] == [
        "what",
        "lures",
        "flags",
        "consequences",
        "todo",
        "help",
    ]
    assert article.sources[0].date == "2025-01-01"


def test_bad_yaml_names_file_and_line(kdir):
    write(kdir, "zh/advance-fee-loan/test.md", GOOD_ZH.replace("lang: zh", "lang: [zh"))
    [p] = problems_of(kdir)
    assert str(p.path).endswith("zh/advance-fee-loan/test.md")
    assert p.field == "front matter" and "invalid YAML" in p.message
    assert 4 <= p.line <= 6


def test_unknown_topic_names_field_and_line(kdir):
    write(
        kdir,
        "zh/advance-fee-loan/test.md",
        GOOD_ZH.replace("topics: [advance-fee-loan]", "topics: [advance-fee-loan, no-such-topic]"),
    )
    problems = problems_of(kdir)
    assert any(
        p.field == "topics" and "no-such-topic" in p.message and p.line == 5 for p in problems
    )


def test_missing_field_and_section(kdir):
    text = GOOD_ZH.replace("updated: 2026-11-28\n", "").replace("## 后果\n钱会被骗走。\n", "")
    write(kdir, "zh/advance-fee-loan/test.md", text)
    fields = {p.field for p in problems_of(kdir)}
    assert "updated" in fields
    assert "section '后果'" in fields


def test_missing_source_url(kdir):
    write(
        kdir, "zh/advance-fee-loan/test.md", GOOD_ZH.replace("    url: https://example.org/a\n", "")
    )
    assert any(p.field == "sources[0].url" for p in problems_of(kdir))


def test_duplicate_id(kdir):
    write(kdir, "zh/advance-fee-loan/copy.md", GOOD_ZH)
    assert any(p.field == "id" and "duplicate" in p.message for p in problems_of(kdir))


def test_empty_section_and_unknown_heading(kdir):
    write(
        kdir,
        "zh/advance-fee-loan/test.md",
        GOOD_ZH.replace("不要转账。", "").replace("## 求助渠道", "## 其他\n说明。\n## 求助渠道"),
    )
    messages = [p.message for p in problems_of(kdir)]
    assert "section is empty" in messages
    assert any("unexpected heading" in m for m in messages)


def test_error_message_is_readable(kdir):
    write(kdir, "zh/advance-fee-loan/test.md", GOOD_ZH.replace("lang: zh", "lang: fr"))
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(kdir)
    assert "zh/advance-fee-loan/test.md:4: [format] lang:" in str(info.value)


def test_linter_flags_unknown_number_and_length(kdir):
    write(
        kdir,
        "zh/advance-fee-loan/test.md",
        GOOD_ZH.replace("拨打110报警。", "拨打110或12345678报警，详情见 www.fake-help.com。"),
    )
    articles = load_knowledge(kdir)
    problems = lint_articles(articles, kdir)
    rules = [(p.rule, p.message) for p in problems]
    assert any(r == "length" for r, _ in rules)
    assert any(r == "hotline" and "12345678" in m for r, m in rules)
    assert any(r == "hotline" and "fake-help.com" in m for r, m in rules)
    assert not any("'110'" in m for _, m in rules)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("拨打110报警", ["110"]),
        ("损失8万元，2025年报案", []),
        ("0300 123 2040.", ["0300 123 2040"]),
        ("call 400-810-8866 today", ["400-810-8866"]),
        ("RMB 1,800 and $2,000 and 30%", []),
        ("on 2025-12-04 it changed", []),
        ("第196条", []),
    ],
)
def test_find_numbers(text, expected):
    assert find_numbers(text) == expected


def test_repository_knowledge_passes_lint():
    articles = load_knowledge(KNOWLEDGE)
    assert articles, "the repository ships articles"
    assert lint_articles(articles, KNOWLEDGE) == []


def test_prompts_mention_only_listed_numbers():
    numbers, addresses = load_hotlines(KNOWLEDGE / "hotlines.yaml")
    for path in sorted((KNOWLEDGE.parent / "prompts").glob("*.yaml")):
        assert lint_text(path.read_text(encoding="utf-8"), numbers, addresses) == [], path.name
