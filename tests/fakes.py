"""Test doubles. These fake the *model* (embedder or chat model), never our own code."""

from __future__ import annotations

import numpy as np

from bot.answer.embeddings import LocalEmbeddings


class CountingEmbeddings(LocalEmbeddings):
    """Wraps a real embedder and counts texts embedded; can fail after N texts."""

    def __init__(self, inner: LocalEmbeddings, fail_after: int | None = None):
        self.inner = inner
        self.id = inner.id
        self.dim = inner.dim
        self.embedded = 0
        self.fail_after = fail_after

    def embed_documents_np(self, texts: list[str]) -> np.ndarray:
        if self.fail_after is not None and self.embedded + len(texts) > self.fail_after:
            raise KeyboardInterrupt("simulated interruption during ingest")
        self.embedded += len(texts)
        return self.inner.embed_documents_np(texts)

    def embed_documents(self, texts):
        return self.embed_documents_np(list(texts)).tolist()

    def embed_query(self, text):
        return self.inner.embed_query(text)

    def embed_query_np(self, text):
        return self.inner.embed_query_np(text)


class FakeOtherEmbeddings(CountingEmbeddings):
    """The same vectors under another embedder id, to test the mismatch error."""

    def __init__(self, inner: LocalEmbeddings):
        super().__init__(inner)
        self.id = "fake-other-embedder"


class FakeIntent:
    """A fake intent model (bot/safety/intent.py) that gives every message the same
    P(harmful), alone and with its history."""

    def __init__(self, p: float) -> None:
        self.p = p

    def probability(self, text, history=None):  # noqa: ANN001, ANN201
        return self.p, self.p
