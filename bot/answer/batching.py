"""Micro-batching of query embeddings across concurrent requests.

`QueryBatcher.embed(text)` is called from many request threads at once. Up to `workers`
callers (one per model copy) embed; the others queue. A worker takes up to `max_batch`
waiting texts and embeds them in one call of `embed_many`; while another call is running it
first waits a short collection window (a few ms) for the batch to fill. A text already
waiting shares its row. With no concurrency a lone caller embeds at once, with no wait.

It keeps counts of batch sizes (for /metrics and the bench); it does not cache vectors,
choose a model or know anything about e5 beyond the `embed_many` function it is given.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import numpy as np


class _Pending:
    __slots__ = ("text", "done", "vector", "error")

    def __init__(self, text: str):
        self.text = text
        self.done = threading.Event()
        self.vector: np.ndarray | None = None
        self.error: BaseException | None = None


class QueryBatcher:
    """Collect concurrent single-query calls into bounded batches, one model call each.

    At most `workers` model calls run at once (one per model copy). A caller that finds a
    free worker slot becomes a worker: it takes what is waiting (up to `max_batch`), embeds
    it, and repeats while texts wait. Only when another call is already running does it
    first wait up to `window_ms` for more texts; an idle server adds no delay.
    """

    def __init__(
        self,
        embed_many: Callable[[list[str]], np.ndarray],
        window_ms: float = 3.0,
        max_batch: int = 16,
        workers: int = 1,
    ):
        if max_batch < 1 or workers < 1:
            raise ValueError("max_batch and workers must be at least 1")
        self.embed_many = embed_many
        self.window = max(0.0, window_ms) / 1000.0
        self.max_batch = max_batch
        self.workers = workers
        self._cond = threading.Condition()
        self._queue: dict[str, _Pending] = {}  # insertion-ordered: oldest first
        self._running = 0  # worker slots taken
        self.batch_sizes: Counter[int] = Counter()  # size -> number of model calls

    def embed(self, text: str) -> np.ndarray:
        """The query vector of `text`, computed in a batch with whatever else is waiting."""
        with self._cond:
            item = self._queue.get(text)
            if item is None:
                item = self._queue[text] = _Pending(text)
                if len(self._queue) >= self.max_batch:
                    self._cond.notify_all()
            work = self._running < self.workers
            if work:
                self._running += 1
        if work:
            self._work()
        item.done.wait()
        if item.error is not None:
            raise item.error
        assert item.vector is not None
        return item.vector

    def _work(self) -> None:
        while True:
            with self._cond:
                if self._running > 1 and self.window > 0:  # busy: let a batch gather
                    deadline = time.monotonic() + self.window
                    while len(self._queue) < self.max_batch:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
                if not self._queue:
                    self._running -= 1
                    return
                texts = list(self._queue)[: self.max_batch]
                batch = [self._queue.pop(t) for t in texts]
            self._embed(texts, batch)

    def _embed(self, texts: list[str], batch: list[_Pending]) -> None:
        try:
            vectors = np.asarray(self.embed_many(texts), dtype=np.float32).reshape(len(texts), -1)
            for item, vec in zip(batch, vectors, strict=True):
                item.vector = vec
        except BaseException as exc:  # noqa: BLE001 - every waiter gets the failure
            for item in batch:
                item.error = exc
        finally:
            with self._cond:
                self.batch_sizes[len(batch)] += 1
            for item in batch:
                item.done.set()

    def stats(self) -> dict[int, int]:
        """A copy of {batch size: model calls}."""
        with self._cond:
            return dict(self.batch_sizes)
