"""The HTTP API through FastAPI's TestClient, over the real ingested knowledge base."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from bot.answer.store import StoreUnavailable
from bot.batch import CITATION_FIELDS
from bot.web.server import create_app
from bot.web.storage import Storage
from tests.web.conftest import FakeResponder, make_settings

BATCH_FIELDS = {
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
ZH_QUESTION = "网贷放款前要我先交解冻金，正常吗？"


@pytest.fixture(scope="module")
def client(real_app):
    with TestClient(real_app) as c:
        yield c


def parse_sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in re.split(r"\r?\n\r?\n", text):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


def test_chat_answers_with_citations_in_the_batch_shape(client):
    r = client.post("/api/chat", json={"message": ZH_QUESTION})
    assert r.status_code == 200
    body = r.json()
    assert BATCH_FIELDS <= set(body)
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert body["task"] == "chat" and body["lang"] == "zh" and body["mode"] == "extractive"
    assert "advance-fee-loan" in body["topics"]
    assert body["citations"], "an answer from the knowledge base cites its sources"
    for c in body["citations"]:
        assert set(CITATION_FIELDS) | {"publisher", "date"} <= set(c)
        assert f"[{c['n']}]" in body["answer"]
    assert r.headers["x-ratelimit-limit"] == "1000"


def test_chat_follow_up_in_english_with_history(client):
    history = [
        {"role": "user", "content": "A lender wants a fee before paying out my loan."},
        {"role": "assistant", "content": "That is an advance-fee loan scam."},
    ]
    r = client.post(
        "/api/chat", json={"message": "Should I pay it?", "history": history, "lang": "en"}
    )
    assert r.status_code == 200
    assert r.json()["lang"] == "en" and r.json()["citations"]


def test_chat_streams_deltas_then_the_whole_answer(client):
    r = client.post("/api/chat", json={"message": ZH_QUESTION, "stream": True})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    names = [name for name, _ in events]
    assert names[-1] == "answer" and set(names[:-1]) == {"delta"} and len(names) > 2
    final = events[-1][1]
    assert BATCH_FIELDS <= set(final) and final["citations"]
    streamed = "".join(data["text"] for name, data in events if name == "delta")
    assert streamed.strip() == final["answer"].strip()


def test_check_returns_verdict_fields(client):
    text = "【速e贷】您申请的50000元借款已审核通过，因银行卡号有误资金被冻结，请2小时内缴纳解冻金3000元。"
    r = client.post("/api/check", json={"text": text})
    assert r.status_code == 200
    body = r.json()
    assert body["task"] == "check"
    assert {"verdict", "confidence", "topics", "red_flags", "answer", "citations"} <= set(body)
    assert isinstance(body["red_flags"], list) and body["answer"]


def test_feedback_and_turns_are_stored_with_pii_redacted(client, real_app, tmp_path, monkeypatch):
    message = "客服让我把身份证11010519850612123X和手机号13912345678发过去，还要验证码，正常吗？"
    answer = client.post("/api/chat", json={"message": message}).json()
    r = client.post(
        "/api/feedback",
        json={
            "id": answer["id"],
            "rating": "down",
            "comment": "答非所问，我的卡号6222021234567890128，邮箱 li.lei@example.com",
        },
    )
    assert r.status_code == 200 and r.json()["ok"] is True

    storage: Storage = real_app.state.service.storage
    turn = storage.turn(answer["id"])
    assert turn is not None and "[ID]" in turn.message and "[PHONE]" in turn.message
    assert "11010519850612123X" not in turn.message and "13912345678" not in turn.message
    [fb] = storage.feedback_for(answer["id"])
    assert fb.rating == "down" and "[CARD]" in fb.comment and "[EMAIL]" in fb.comment
    assert "6222021234567890128" not in fb.comment and "li.lei@example.com" not in fb.comment

    # `antiscam feedback export` turns the thumbs-down into an eval case.
    from bot.cli import main

    monkeypatch.setenv("BOT_DATABASE_URL", storage.url)
    out = tmp_path / "cases.jsonl"
    result = CliRunner().invoke(main, ["feedback", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    cases = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    case = next(c for c in cases if c["answer"] == turn.answer)
    assert case["task"] == "chat" and case["rating"] == "down" and case["input"] == turn.message
    assert "13912345678" not in out.read_text(encoding="utf-8")


def test_feedback_for_an_unknown_answer_is_404(client):
    r = client.post(
        "/api/feedback", json={"id": "0" * 32, "rating": "up"}, headers={"Accept-Language": "en"}
    )
    assert r.status_code == 404 and r.json()["error"] == "unknown_answer"
    assert "not found" in r.json()["detail"]


@pytest.mark.parametrize(
    ("message", "lang", "code", "words"),
    [
        ("骗" * 2001, None, "message_too_long", "消息太长"),
        ("scam " * 401, None, "message_too_long", "too long"),
        ("   ", "en", "message_empty", "must not be empty"),
    ],
)
def test_message_length_is_422_in_the_users_language(client, message, lang, code, words):
    r = client.post("/api/chat", json={"message": message, "lang": lang})
    assert r.status_code == 422
    assert r.json()["error"] == code and words in r.json()["detail"]


def test_malformed_request_is_422_with_a_readable_message(client):
    r = client.post("/api/chat", json={"text": "hi"}, headers={"Accept-Language": "en-GB,en"})
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_request" and "message" in r.json()["detail"]


def test_body_over_the_limit_is_413_with_or_without_content_length(client):
    big = json.dumps({"message": "x", "history": [{"role": "user", "content": "y" * 300_000}]})
    r = client.post("/api/chat", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "请求太大" in r.json()["detail"]

    def chunks():
        for _ in range(40):
            yield b"z" * 10_000

    r = client.post(
        "/api/chat",
        content=chunks(),
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
    )
    assert r.status_code == 413 and "too large" in r.json()["detail"]


def test_cors_and_origins_follow_the_allow_list(client):
    pre = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    ok = client.options("/api/chat", headers={"Origin": "https://shop.example", **pre})
    assert ok.headers.get("access-control-allow-origin") == "https://shop.example"
    bad = client.options("/api/chat", headers={"Origin": "https://evil.example", **pre})
    assert "access-control-allow-origin" not in bad.headers
    r = client.post(
        "/api/chat", json={"message": ZH_QUESTION}, headers={"Origin": "https://evil.example"}
    )
    assert r.status_code == 403 and r.json()["error"] == "origin_not_allowed"


def test_health_docs_widget_and_demo_page(client):
    health = client.get("/healthz").json()
    assert (
        health["status"] == "ok" and health["index"]["chunks"] > 100 and health["database"] == "ok"
    )
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/chat", "/api/check", "/api/feedback", "/healthz"} <= set(paths)
    js = client.get("/widget.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert not re.search(r"\.(inner|outer)HTML\s*=|insertAdjacentHTML|document\.write", js.text)
    page = client.get("/demo/support")
    assert (
        '<script src="/widget.js"' in page.text
        and "script-src 'self'" in page.headers["content-security-policy"]
    )
    assert client.get("/").status_code == 200  # the Gradio UI
    docs = client.get("/docs").text  # Swagger UI from local files, never a CDN
    assert "/docs-assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_rate_limit_is_429_with_retry_after(indexed, tmp_path):
    app = create_app(
        indexed,
        make_settings(tmp_path, rate_limit="2/minute"),
        responder=FakeResponder("ok"),
        ui=False,
    )
    with TestClient(app) as c:
        for _ in range(2):
            assert c.post("/api/chat", json={"message": "hello"}).status_code == 200
        r = c.post("/api/chat", json={"message": "hello"}, headers={"Accept-Language": "en"})
        assert r.status_code == 429
        assert 0 < int(r.headers["retry-after"]) <= 60
        assert r.json()["error"] == "rate_limited" and "Too many requests" in r.json()["detail"]
        r = c.post("/api/chat", json={"message": "你好"})
        assert r.status_code == 429 and "请求太频繁" in r.json()["detail"]
        # Each endpoint has its own budget.
        assert c.post("/api/check", json={"text": "hello"}).status_code == 200


def test_store_down_is_503_and_recovers(indexed, tmp_path):
    down = StoreUnavailable("cannot reach the Chroma server at 127.0.0.1:9")
    responder = FakeResponder("fine", fail=down, fail_times=2)
    app = create_app(indexed, make_settings(tmp_path), responder=responder, ui=False)
    with TestClient(app) as c:
        r = c.post("/api/chat", json={"message": "贷款要先交钱吗"})
        assert r.status_code == 503 and r.json()["error"] == "store_unavailable"
        assert "知识库暂时无法访问" in r.json()["detail"]
        r = c.post(
            "/api/chat",
            json={"message": "loan fee?", "stream": True},
            headers={"Accept-Language": "en"},
        )
        assert r.status_code == 503 and "temporarily unavailable" in r.json()["detail"]
        r = c.post("/api/chat", json={"message": "贷款要先交钱吗"})  # the store is back
        assert r.status_code == 200 and r.json()["answer"].startswith("fine")


def test_layering_web_never_imports_chromadb_and_core_never_imports_gradio():
    bot = Path(__file__).resolve().parents[2] / "bot"
    for path in (bot / "web").glob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+chromadb", path.read_text(), re.M), path
    for path in bot.rglob("*.py"):
        if "web" not in path.relative_to(bot).parts:
            assert not re.search(r"^\s*(import|from)\s+gradio", path.read_text(), re.M), path
