"""Micro-batching of query embeddings across concurrent requests.

`QueryBatcher.embed(text)` is called from many request threads at once. Up to `workers`
callers (one per model copy) embed; the others queue. A worker embeds its own text and up
to `max_batch - 1` of the oldest waiting texts in one call of `embed_many`; while another
call is running it first waits a short collection window (a few ms) for the batch to fill.
A text already waiting shares its row. An idle server embeds at once, with no wait.

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
    __slots__ = ("text", "taken", "done", "vector", "error")

    def __init__(self, text: str):
        self.text = text
        self.taken = False  # in a batch being embedded
        self.done = False
        self.vector: np.ndarray | None = None
        self.error: BaseException | None = None


class QueryBatcher:
    """Collect concurrent single-query calls into bounded batches, one model call each.

    At most `workers` model calls run at once (one per model copy). A caller whose text is
    still waiting takes a free worker slot and embeds its text together with the oldest
    other waiting texts (up to `max_batch`), then returns: nobody works for others beyond
    their own batch. Only when another call is already running does a worker first wait up
    to `window_ms` for the batch to fill; an idle server adds no delay.
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
        self._queue: dict[str, _Pending] = {}  # waiting, not taken; insertion order = age
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
            batch: list[_Pending] | None = None
            while not item.done:
                if not item.taken and self._running < self.workers:
                    self._running += 1
                    batch = self._take(item)
                    if batch:
                        break
                    self._running -= 1  # another worker took our text during the window
                    self._cond.notify_all()
                    continue
                self._cond.wait()
        if batch is not None:
            self._embed(batch)
        if item.error is not None:
            raise item.error
        assert item.vector is not None
        return item.vector

    def _take(self, own: _Pending) -> list[_Pending]:
        """Under the lock: `own` plus the oldest waiting texts, after the window if busy;
        empty when another worker took `own` meanwhile."""
        if self._running > 1 and self.window > 0:  # another call runs: let a batch gather
            deadline = time.monotonic() + self.window
            while len(self._queue) < self.max_batch and not own.taken:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        if own.taken:
            return []
        others = [p for p in self._queue.values() if p is not own]
        batch = [own, *others[: self.max_batch - 1]]
        for p in batch:
            p.taken = True
            self._queue.pop(p.text, None)
        return batch

    def _embed(self, batch: list[_Pending]) -> None:
        texts = [p.text for p in batch]
        vectors: np.ndarray | None = None
        error: BaseException | None = None
        try:
            vectors = np.asarray(self.embed_many(texts), dtype=np.float32).reshape(len(texts), -1)
        except BaseException as exc:  # noqa: BLE001 - every waiter gets the failure
            error = exc
        with self._cond:
            for i, p in enumerate(batch):
                p.vector = vectors[i] if vectors is not None else None
                p.error = error
                p.done = True
            self.batch_sizes[len(batch)] += 1
            self._running -= 1
            self._cond.notify_all()

    def stats(self) -> dict[int, int]:
        """A copy of {batch size: model calls}."""
        with self._cond:
            return dict(self.batch_sizes)
