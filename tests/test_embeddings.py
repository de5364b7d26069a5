"""The e5 embedder's model copies (concurrent calls) and its settings."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from bot.answer.embeddings import E5Embeddings, make_embeddings
from bot.config import Settings

TEXTS = [
    "贷款还没到账就要交解冻费，是骗局吗？",
    "A caller says my account is at risk and wants the code.",
    "有人收购闲置银行卡，一天给三百元",
    "Is paying to remove late payments from my credit report legit?",
] * 3


def test_copies_embed_concurrently_and_agree_with_one_copy(e5):
    pooled = E5Embeddings(copies=2)  # (num_threads would set OMP_NUM_THREADS for the session)
    with ThreadPoolExecutor(max_workers=4) as pool:
        # distinct strings per call, so the query cache cannot answer for the model
        vectors = list(pool.map(pooled.embed_query_np, [f"{t} {i}" for i, t in enumerate(TEXTS)]))
    expected = np.stack([e5.embed_query_np(f"{t} {i}") for i, t in enumerate(TEXTS)])
    assert np.allclose(np.stack(vectors), expected, atol=1e-5)
    assert pooled._models().qsize() == 2  # both copies are back in the pool


def test_settings_choose_threads_and_copies(monkeypatch):
    monkeypatch.setenv("BOT_EMBED_THREADS", "")  # as in .env.example: empty means the default
    monkeypatch.setenv("BOT_EMBED_COPIES", "3")
    settings = Settings.from_env()
    assert settings.embed_threads is None and settings.embed_copies == 3
    embedder = make_embeddings(settings)
    assert embedder._copies == 3 and embedder._num_threads is None
