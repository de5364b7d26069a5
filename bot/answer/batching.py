"""Micro-batching of query embeddings across concurrent requests.

`QueryBatcher.embed(text)` is called from many request threads at once. The first caller
becomes the batch's leader: it waits a short collection window (a few ms) or until the
batch is full, takes up to `max_batch` waiting texts and embeds them in one call of
`embed_many`; the other callers wait for their row. Distinct texts only: a text already
waiting shares its row. With no concurrency a lone caller pays at most the window.

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
    """Collect concurrent single-query calls into bounded batches, one model call each."""

    def __init__(
        self,
        embed_many: Callable[[list[str]], np.ndarray],
        window_ms: float = 3.0,
        max_batch: int = 16,
    ):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.embed_many = embed_many
        self.window = max(0.0, window_ms) / 1000.0
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: dict[str, _Pending] = {}  # insertion-ordered: oldest first
        self._leader = False
        self.batch_sizes: Counter[int] = Counter()  # size -> number of model calls

    def embed(self, text: str) -> np.ndarray:
        """The query vector of `text`, computed in a batch with whatever else is waiting."""
        with self._cond:
            item = self._queue.get(text)
            if item is None:
                item = self._queue[text] = _Pending(text)
                if len(self._queue) >= self.max_batch:
                    self._cond.notify_all()
            lead = not self._leader
            if lead:
                self._leader = True
        if lead:
            self._lead()
        item.done.wait()
        if item.error is not None:
            raise item.error
        assert item.vector is not None
        return item.vector

    def _lead(self) -> None:
        deadline = time.monotonic() + self.window
        with self._cond:
            while len(self._queue) < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            texts = list(self._queue)[: self.max_batch]
            batch = [self._queue.pop(t) for t in texts]
            # the next caller (or a leftover) starts the next batch while this one computes
            self._leader = False
            leftover = bool(self._queue)
        if leftover:
            threading.Thread(target=self._lead_leftover, daemon=True).start()
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

    def _lead_leftover(self) -> None:
        with self._cond:
            if self._leader or not self._queue:
                return
            self._leader = True
        self._lead()

    def stats(self) -> dict[int, int]:
        """A copy of {batch size: model calls}."""
        with self._cond:
            return dict(self.batch_sizes)
