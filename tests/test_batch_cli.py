"""The batch contract and the CLI, over the real index."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bot.batch import CITATION_FIELDS, run_batch
from bot.cli import main
from bot.responder import Responder

ROW_FIELDS = {
    "id",
    "task",
    "answer",
    "refused",
    "urgent",
    "verdict",
    "topics",
    "citations",
    "mode",
    "latency_ms",
}


def test_batch_rows_keep_order_and_contract(indexed):
    responder = Responder(indexed)
    lines = [
        json.dumps({"id": "a", "task": "chat", "input": "征信修复要交钱吗"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "c", "task": "dance", "input": "x"}),
        json.dumps({"id": "d", "input": ""}),
        "",
        json.dumps(
            {
                "id": "e",
                "task": "chat",
                "input": "Is a loan unlock fee normal?",
                "lang": "en",
                "history": [{"role": "user", "content": "hi"}],
            }
        ),
        json.dumps({"id": "f", "input": "x", "history": "nope"}),
    ]
    rows = list(
        run_batch(
            lines,
            lambda r: responder.respond(
                r["input"], r.get("history"), r.get("lang"), r.get("task", "chat")
            ),
        )
    )
    assert [r["id"] for r in rows] == ["a", "line-2", "c", "d", "e", "f"]
    good = [rows[0], rows[4]]
    for row in good:
        assert set(row) == ROW_FIELDS
        assert row["citations"] and all(set(c) == set(CITATION_FIELDS) for c in row["citations"])
        assert row["refused"] is False and row["verdict"] is None and row["mode"] == "extractive"
    assert "invalid JSON" in rows[1]["error"]
    assert "task must be" in rows[2]["error"]
    assert "input" in rows[3]["error"]
    assert "history" in rows[5]["error"]


def test_cli_lint_and_kb_stats():
    runner = CliRunner()
    result = runner.invoke(main, ["lint"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok:")
    stats = runner.invoke(main, ["kb-stats"])
    assert stats.exit_code == 0 and "fake-credit-repair" in stats.output


def test_cli_lint_fails_on_bad_article(tmp_path):
    from tests.conftest import copy_knowledge

    kdir = copy_knowledge(tmp_path / "knowledge", pick=["zh/ab-loan"])
    (kdir / "zh/ab-loan/bad.md").write_text(
        "---\nid: zh-ab-loan-bad\n---\n## 是什么\n", encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["lint", "--knowledge-dir", str(kdir)])
    assert result.exit_code == 1
    assert "bad.md" in result.output and "title" in result.output


def test_cli_batch_and_ask(indexed, tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_KNOWLEDGE_DIR", str(indexed.settings.knowledge_dir))
    monkeypatch.setenv("BOT_DATA_DIR", str(indexed.settings.data_dir))
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"id": 1, "task": "chat", "input": "刷单返利是真的吗"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    runner = CliRunner()
    result = runner.invoke(main, ["batch", "--in", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    [row] = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert row["id"] == 1 and row["citations"]
    ask = runner.invoke(main, ["ask", "--json", "Is task scam real?"])
    assert ask.exit_code == 0, ask.output
    data = json.loads(ask.output)
    assert data["lang"] == "en" and data["citations"]
