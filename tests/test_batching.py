"""Micro-batching of query embeddings (bot/answer/batching.py) and BM25 saved per generation."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bot.answer.batching import QueryBatcher
from bot.answer.embeddings import E5Embeddings
from bot.answer.lexical import LexicalIndex, Tokenizer


def fake_vectors(texts: list[str]) -> np.ndarray:
    return np.stack([np.full(3, float(len(t)), dtype=np.float32) for t in texts])


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


def gated_batcher(max_batch: int) -> tuple[QueryBatcher, threading.Event, list[list[str]]]:
    """One worker whose first call blocks until the gate opens, so others must queue."""
    calls: list[list[str]] = []
    gate = threading.Event()

    def embed_many(texts: list[str]) -> np.ndarray:
        gate.wait(30)
        calls.append(list(texts))
        return fake_vectors(texts)

    return QueryBatcher(embed_many, window_ms=1, max_batch=max_batch, workers=1), gate, calls


def test_queries_waiting_for_a_busy_model_go_in_one_call():
    batcher, gate, calls = gated_batcher(max_batch=16)
    texts = ["a", "bb", "ccc", "dddd"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        first = pool.submit(batcher.embed, texts[0])
        wait_for(lambda: batcher._running == 1 and not batcher._queue)  # "a" is being embedded
        rest = [pool.submit(batcher.embed, t) for t in texts[1:]]
        wait_for(lambda: len(batcher._queue) == 3)
        gate.set()
        vectors = [first.result(30)] + [f.result(30) for f in rest]
    assert calls[0] == ["a"] and sorted(calls[1]) == ["bb", "ccc", "dddd"] and len(calls) == 2
    for text, vec in zip(texts, vectors, strict=True):
        assert vec.tolist() == [float(len(text))] * 3  # every caller gets its own row
    assert batcher.stats() == {1: 1, 3: 1}


def test_batches_are_bounded_and_none_is_stranded():
    batcher, gate, calls = gated_batcher(max_batch=3)
    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [pool.submit(batcher.embed, "x")]
        wait_for(lambda: batcher._running == 1 and not batcher._queue)
        futures += [pool.submit(batcher.embed, "x" * (i + 2)) for i in range(9)]
        wait_for(lambda: len(batcher._queue) == 9)
        gate.set()
        vectors = [f.result(timeout=30) for f in futures]
    assert [len(c) for c in calls] == [1, 3, 3, 3]
    assert [v[0] for v in vectors] == [float(i + 1) for i in range(10)]


def test_a_failed_call_reaches_every_waiter():
    def embed_many(texts: list[str]) -> np.ndarray:
        raise RuntimeError("engine down")

    batcher = QueryBatcher(embed_many, window_ms=1, max_batch=2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(batcher.embed, t) for t in ("a", "b")]
        for f in futures:
            with pytest.raises(RuntimeError, match="engine down"):
                f.result(timeout=30)


def test_batched_e5_vectors_equal_one_at_a_time(e5):
    batched = E5Embeddings(batch_window_ms=3, max_batch=4)
    texts = ["解冻金是什么 1", "Is a refund call a scam? 2", "刷单返利 3", "safe account 4"]
    expected = np.stack([e5.embed_query_np(t) for t in texts])
    assert np.allclose(batched._query_many(texts), expected, atol=1e-5)  # one engine call
    with ThreadPoolExecutor(max_workers=4) as pool:  # through the batcher, any batch sizes
        vectors = np.stack(list(pool.map(batched.embed_query_np, texts)))
    assert np.allclose(vectors, expected, atol=1e-5)
    assert batched.batcher is not None and sum(batched.batcher.stats().values()) >= 1


class CountingTokenizer(Tokenizer):
    def __init__(self, extra_words: list[str]):
        super().__init__(extra_words)
        self.calls = 0

    def tokens(self, text: str) -> list[str]:
        self.calls += 1
        return super().tokens(text)


def test_bm25_saved_once_and_loaded_with_the_same_scores(tmp_path):
    tokenizer = CountingTokenizer(["解冻金"])
    texts = [
        "网贷放款前要先交解冻金",
        "刷单返利是诈骗",
        "A refund call asks for a code",
        "征信修复",
    ]
    directory = tmp_path / "bm25" / "kb__g1"
    built = LexicalIndex.cached(texts, tokenizer, directory)
    assert (directory / "fingerprint.txt").is_file()
    tokenizer.calls = 0
    loaded = LexicalIndex.cached(texts, tokenizer, directory)
    assert tokenizer.calls == 0  # read back from disk: no text was tokenised again
    for query in ("解冻金 放款", "refund code", "征信"):
        assert loaded.top(query, 3) == built.top(query, 3)
    # other texts (a new generation written to the same place) are never served the old index
    changed = [*texts[:3], "冒充客服退款"]
    rebuilt = LexicalIndex.cached(changed, tokenizer, directory)
    assert rebuilt.top("客服 退款", 1)[0][0] == 3


def test_many_concurrent_callers_all_get_their_rows():
    def embed_many(texts: list[str]) -> np.ndarray:
        time.sleep(0.001)
        return fake_vectors(texts)

    batcher = QueryBatcher(embed_many, window_ms=2, max_batch=4, workers=2)
    texts = ["q" * (i % 7 + 1) + str(i) for i in range(60)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        vectors = list(pool.map(batcher.embed, texts))
    assert [v[0] for v in vectors] == [float(len(t)) for t in texts]
    stats = batcher.stats()
    assert max(stats) <= 4 and sum(size * n for size, n in stats.items()) <= len(texts)
