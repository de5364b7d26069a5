"""The answer cache (byte-identical answers, what is cached, invalidation) and /metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.web.answer_cache import AnswerCache, make_answer_cache
from bot.web.server import create_app
from bot.web.service import WebService
from tests.web.conftest import FakeResponder, make_settings

DATASETS = Path(__file__).resolve().parents[2] / "eval" / "datasets"


def eval_questions(n: int) -> list[str]:
    rows = (DATASETS / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(r)["question"] for r in rows if r.strip()][:n]


def shown(payload: dict) -> str:
    """What the user sees and what the citations are, as bytes to compare."""
    keep = {k: v for k, v in payload.items() if k not in ("id", "latency_ms")}
    return json.dumps(keep, ensure_ascii=False, sort_keys=True)


@pytest.fixture(scope="module")
def responder(indexed):
    from bot.responder import Responder

    return Responder(indexed)


def test_cached_answers_and_citations_are_byte_identical(indexed, responder):
    cache = make_answer_cache(indexed)
    assert cache is not None
    on = WebService(responder, None, cache=cache)
    off = WebService(responder, None)
    messages = [
        *eval_questions(5),
        "  网贷放款前要我先交解冻金，正常吗？  ",
        "Is a refund call legit?",
    ]
    for message in messages:
        expected = off.answer(message)
        first = on.answer(message)  # miss: computed and stored
        again = on.answer(message)  # hit
        assert shown(first) == shown(expected) == shown(again), message
        assert first["answer"] and first["citations"] == expected["citations"]
    checked = "【XX贷】您的贷款已审批，需先缴纳解冻金2000元方可放款"
    assert shown(on.answer(checked, task="check")) == shown(off.answer(checked, task="check"))
    assert shown(on.answer(checked, task="check")) == shown(off.answer(checked, task="check"))
    # the stream path serves the same cached answer, piece by piece
    *pieces, payload = list(on.stream(messages[0]))
    assert "".join(pieces) == payload["answer"] and shown(payload) == shown(off.answer(messages[0]))
    stats = cache.stats()
    assert stats["hits"] >= len(messages) + 2 and stats["misses"] == len(messages) + 1


def test_only_first_turns_without_personal_data_are_cached():
    generation = [1]
    cache = AnswerCache(2, "settings", lambda: generation[0])
    fake = FakeResponder(text="ok")
    service = WebService(fake, None, cache=cache)
    service.answer("贷款要先交钱吗")
    service.answer("贷款要先交钱吗")
    assert fake.calls == 1
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    service.answer("贷款要先交钱吗", history)
    service.answer("我的手机号是13812345678，贷款要先交钱吗")
    service.answer("我的手机号是13812345678，贷款要先交钱吗")
    assert fake.calls == 4  # follow-ups and messages with a phone number always recompute
    assert cache.stats()["skipped"] == 3
    service.answer("贷款要先交钱吗", lang="en")  # another language is another answer
    assert fake.calls == 5
    generation[0] = 2  # a new index generation: everything cached before is stale
    service.answer("贷款要先交钱吗")
    assert fake.calls == 6
    service.answer("a")
    service.answer("b")
    service.answer("贷款要先交钱吗")  # evicted: the cache holds 2 entries
    assert fake.calls == 9 and len(cache) == 2


def test_cache_size_zero_turns_it_off(indexed):
    from dataclasses import replace

    settings = indexed.settings.model_copy(update={"answer_cache_size": 0})
    assert make_answer_cache(replace(indexed, settings=settings)) is None


def test_metrics_count_requests_by_route_and_status(tmp_path):
    app = create_app(None, make_settings(tmp_path), responder=FakeResponder("ok"), ui=False)
    with TestClient(app) as client:
        assert client.post("/api/chat", json={"message": "贷款要先交钱吗"}).status_code == 200
        assert client.post("/api/chat", json={"message": ""}).status_code == 422
        client.get("/no/such/page")
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'antiscam_http_requests_total{method="POST",route="/api/chat",status="200"} 1.0' in text
    assert 'antiscam_http_requests_total{method="POST",route="/api/chat",status="422"} 1.0' in text
    assert 'route="other",status="404"' in text and "/no/such/page" not in text
    assert 'antiscam_http_request_duration_seconds_bucket{le="1.0",route="/api/chat"} 2.0' in text
    assert "antiscam_answer_queue_depth 0.0" in text


def test_metrics_report_cache_index_and_batches(indexed, tmp_path):
    app = create_app(indexed, make_settings(tmp_path), ui=False)
    with TestClient(app) as client:
        for _ in range(2):
            client.post("/api/chat", json={"message": "刷单返利是诈骗吗？"})
        text = client.get("/metrics").text
    generation = indexed.store.pointer().generation
    assert f"antiscam_index_generation {float(generation)}" in text
    assert "antiscam_answer_cache_hits_total 1.0" in text
    assert "antiscam_answer_cache_misses_total 1.0" in text


def test_batch_sizes_become_a_histogram():
    from bot.web.metrics import batch_histogram

    family = batch_histogram({1: 3, 4: 2})
    samples = {(s.name, s.labels.get("le")): s.value for s in family.samples}
    assert samples[("antiscam_embed_batch_size_bucket", "1")] == 3
    assert samples[("antiscam_embed_batch_size_bucket", "2")] == 3
    assert samples[("antiscam_embed_batch_size_bucket", "4")] == 5
    assert samples[("antiscam_embed_batch_size_count", None)] == 5
    assert samples[("antiscam_embed_batch_size_sum", None)] == 11


def test_a_new_process_reuses_saved_chunks_and_bm25(indexed):
    from bot.answer.retrieve import Retriever

    indexed.retriever.snapshot()  # the first reader saved this generation's chunks and BM25
    fresh = Retriever(indexed.store, indexed.tokenizer, indexed.settings)
    fetched: list[str] = []
    original = indexed.store.load_chunks
    indexed.store.load_chunks = lambda name: fetched.append(name) or original(name)  # type: ignore[method-assign]
    try:
        snap = fresh.snapshot()
    finally:
        del indexed.store.load_chunks
    assert fetched == []  # nothing fetched from Chroma
    assert [c.chunk_id for c in snap.chunks] == [c.chunk_id for c in indexed.retriever.chunks]
    question = "网贷放款前要我先交解冻金，正常吗？"
    assert fresh.search(question) == indexed.retriever.search(question)
