"""The Gradio chat's Markdown: only lists, bold and http(s) links are live, the rest is text.

These check the Markdown strings; test_browser.py checks what Chromium then shows.
"""

from __future__ import annotations

import re

import pytest

from bot.web.markdown import escape_text, render_answer, render_sources, rich_markdown

# Markdown that is live in the output: a link, a <strong> we wrote, a list marker.
LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\]\\])*)\]\(([^)]*)\)")


def links(md: str) -> list[str]:
    return [m[2] for m in LINK.finditer(md)]


def test_lists_bold_and_links_stay_live():
    md = rich_markdown(
        "不靠谱：**「背债」**是骗局。[1]\n要点：\n- 一 https://example.org/a_b?x=1&y=2。\n"
        "- 二 [官网](https://example.org/x)\n\n现在怎么做：\n1. 报警\n2) 联系银行"
    )
    assert "<strong>「背债」</strong>" in md
    assert "\n- 一 " in md and "\n- 二 " in md
    assert "\n1. 报警\n2. 联系银行" in md
    assert links(md) == ["https://example.org/a_b?x=1&y=2", "https://example.org/x"]
    assert "\\[1\\]" in md  # citation markers are text, not link syntax


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[d](data:text/html,<b>hi</b>)",
        "[v](vbscript:msgbox)",
        "[r](/relative)",
        "javascript:alert(1)",
        "<a href='javascript:alert(1)'>x</a>",
        '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>',
        "[x](<javascript:alert(1)>)",
        "[x](https://ok.example\\) [y](javascript:alert(1))",
    ],
)
def test_no_other_link_or_raw_html(text):
    md = rich_markdown(text) + escape_text(text)
    assert all(u.startswith(("http://", "https://")) for u in links(md)), md
    assert not re.search(r"(?<!\\)<", md.replace("<strong>", "").replace("</strong>", ""))


def test_other_markdown_is_plain_text():
    md = rich_markdown("# 标题\n> 引用\n    缩进代码\n2024. 年份\n---\n| a | b |\n$$x$$")
    for line in md.split("\n"):
        assert not re.match(r"\s*([#>|]|\d+\.|-{3}|\$\$)", line), line


def test_sources_any_count_and_numbering():
    cites = [
        {"n": 1, "title": "A [x](javascript:1)", "url": "https://a.example/1", "publisher": "P"},
        {"n": 2, "title": "B", "url": "javascript:alert(1)"},
    ]
    md = render_sources(cites, "zh")
    assert "1. [A \\[x\\]\\(javascript\\:1\\)](https://a.example/1) — P" in md
    assert "2. B" in md and links(md) == ["https://a.example/1"]
    gaps = render_sources([{"n": 1, "title": "A"}, {"n": 3, "title": "C"}], "en")
    assert "\\[1\\] A" in gaps and "\\[3\\] C" in gaps  # an ordered list would renumber 3 as 2
    assert render_sources([], "zh") == ""
    many = render_sources([{"n": i, "title": f"T{i}"} for i in range(1, 10)], "en")
    assert "9. T9" in many


def test_render_answer_keeps_notice_and_sources():
    md = render_answer(
        {"answer": "- 一 [1]", "notice": "<b>注意</b>", "citations": [{"n": 1, "title": "T"}]},
        "zh",
    )
    assert md.startswith("_\\<b\\>注意")
    assert "- 一 \\[1\\]" in md and "**来源**" in md
