"""The `openai` generator against a real OpenAI-compatible HTTP server on loopback."""

from __future__ import annotations

import pytest

from bot.answer.chain import AnswerChain
from bot.answer.llm import LLMGenerator, make_chat_model
from bot.config import Settings
from tests.openai_stub import FakeOpenAIServer, passage, quoting

QUESTION = "贷款还没到账，对方让我先交解冻费，这正常吗？"


@pytest.fixture
def server():
    with FakeOpenAIServer() as s:
        yield s


def chain_for(indexed, server, timeout=5.0, streaming=False) -> AnswerChain:
    settings = Settings.from_env(
        generator="openai",
        openai_base_url=server.base_url,
        openai_api_key="test-key",
        openai_model="fake-model",
        llm_timeout=timeout,
        llm_max_retries=0,
    )
    model = make_chat_model(settings)
    if streaming:
        model = model.model_copy(update={"streaming": True})
    return AnswerChain(
        indexed.retriever, indexed.chain.composer, LLMGenerator(model), guard=indexed.chain.guard
    )


def test_plain_answer_is_used_when_citations_are_valid(indexed, server):
    server.replies.append(quoting(2, 1))
    answer = chain_for(indexed, server).answer(QUESTION)
    assert answer.mode == "openai" and answer.notice is None, answer.extra["rejected"]
    # the model's [2] is renumbered [1]: citations follow the order of first use, one per
    # article (passages of one article share a number and are all kept in `passages`)
    # numbers are positions in the passages the model was shown (`model_passages`)
    used = [answer.extra["shown"][i].chunk for i in (1, 0)]
    assert [c.doc_id for c in answer.citations] == list(dict.fromkeys(c.doc_id for c in used))
    quoted = [q["chunk_id"] for c in answer.citations for q in c.passages]
    assert quoted == [c.chunk_id for c in used]
    sent = server.requests[0]
    assert sent["model"] == "fake-model"
    # the answer-length cap reaches a self-hosted server under both names it may read
    assert sent["max_tokens"] == sent["max_completion_tokens"] == 800
    system = sent["messages"][0]["content"]
    assert "ONLY from the numbered passages" in system
    user = sent["messages"][-1]["content"]
    # the passages handed to the model are the retrieved ones, numbered
    first = answer.extra["shown"][0].chunk.text
    assert "[1]" in user and first[:20] in user
    # the worked example (prompts/answer.yaml) comes before the question, as earlier turns
    assert [m["role"] for m in sent["messages"]][:3] == ["system", "user", "assistant"]


def test_streaming_endpoint_is_supported(indexed, server):
    server.replies.append(quoting(1, 2))
    chain = chain_for(indexed, server, streaming=True)
    pieces = list(chain.stream(QUESTION))
    final = pieces[-1]
    assert final.mode == "openai"
    assert "".join(p for p in pieces[:-1]) == final.text
    assert server.requests[0].get("stream") is True


def test_a_marker_pointing_nowhere_is_pointed_at_the_passage_that_says_it(indexed, server):
    # passage 2 restated with a marker that points nowhere: supported by passage 2, so it
    # cites passage 2's article (the guard proves it) and [99] is gone
    server.replies.append(lambda body: f"{passage(body, 1)}[1]\n{passage(body, 2)}[99]")
    answer = chain_for(indexed, server).answer(QUESTION)
    assert answer.mode == "openai", answer.extra["rejected"]
    assert "[99]" not in answer.text
    shown = answer.extra["shown"]
    assert [c.doc_id for c in answer.citations] == list(
        dict.fromkeys([shown[0].chunk.doc_id, shown[1].chunk.doc_id])
    )
    assert answer.extra["citation_repairs"]["repointed"] >= 1


def test_sentence_citing_nothing_real_and_supported_by_nothing_is_rejected(indexed, server):
    server.replies.append(quoting(1, extra="\n这个平台有正规牌照，可以放心。[99]"))
    answer = chain_for(indexed, server).answer(QUESTION)
    assert answer.mode == "extractive" and answer.notice
    assert any("uncited unsupported sentence" in p for p in answer.extra["rejected"])


def test_grounded_answer_opening_with_an_all_clear_is_rejected(indexed, server):
    # every sentence after the first quotes a passage; the first line says it is fine
    def reply(body: dict) -> str:
        return "是的，这是正常的放款流程。\n" + quoting(1)(body)

    server.replies.append(reply)
    answer = chain_for(indexed, server).answer(QUESTION)
    assert answer.mode == "extractive" and answer.notice
    assert "first line calls it real or safe" in answer.extra["rejected"]
    assert "正常的放款流程" not in answer.text


def test_answer_without_valid_citation_falls_back(indexed, server):
    server.replies.append("放心，这个平台是正规的，交了钱就放款。[42]")
    answer = chain_for(indexed, server).answer(QUESTION)
    assert answer.mode == "extractive" and answer.notice
    assert answer.citations and "正规的" not in answer.text


def test_invented_hotline_or_promise_is_rejected(indexed, server):
    server.replies.append(quoting(1, extra="请拨打4001234567联系专员，保证追回全部损失[1]。"))
    answer = chain_for(indexed, server).answer(QUESTION)
    assert answer.mode == "extractive" and answer.notice
    assert "4001234567" not in answer.text and "保证追回" not in answer.text
    assert any("unsupported fact" in p for p in answer.extra["rejected"])
    assert any("promise" in p for p in answer.extra["rejected"])


def first_sentence(body: dict, n: int) -> str:
    text = passage(body, n)
    return text[: text.index("。") + 1] if "。" in text else text


@pytest.mark.parametrize("streaming", [False, True])
def test_answer_cut_off_with_one_whole_sentence_is_not_shown(indexed, server, streaming):
    # grounded and cited so far, but the model stopped at max_tokens after one sentence
    server.replies.append(("length", lambda body: f"{first_sentence(body, 1)}[1]\n- 对方还会要求"))
    answer = chain_for(indexed, server, streaming=streaming).answer(QUESTION)
    assert answer.mode == "extractive"
    assert answer.notice and "未通过核对" in answer.notice
    assert any("cut off" in p for p in answer.extra["rejected"])


@pytest.mark.parametrize("streaming", [False, True])
def test_answer_cut_off_keeps_its_whole_checked_sentences(indexed, server, streaming):
    def reply(body: dict) -> str:
        return f"{first_sentence(body, 1)}[1]\n要点：\n- {first_sentence(body, 2)}[2]\n现在怎么做：\n- 对方"

    server.replies.append(("length", reply))
    chain = chain_for(indexed, server, streaming=streaming)
    if streaming:
        pieces = list(chain.stream(QUESTION))
        answer = pieces[-1]
        assert "".join(pieces[:-1]) == answer.text  # what was shown is the answer, nothing more
    else:
        answer = chain.answer(QUESTION)
    assert answer.mode == "openai" and answer.notice is None, answer.extra["rejected"]
    assert answer.extra["cut_off"] is True
    assert not answer.text.endswith("对方") and "现在怎么做" not in answer.text
    assert answer.text.splitlines()[-1].endswith("]")


def test_a_finished_answer_is_not_marked_cut_off(indexed, server):
    server.replies.append(quoting(1, 2))
    answer = chain_for(indexed, server).answer(QUESTION)
    assert answer.mode == "openai" and answer.extra["cut_off"] is False


def test_model_copying_the_prompt_is_rejected(indexed, server):
    # a base model often continues the prompt: "Passages: [1] (title) text" is grounded
    # word for word, but it is the prompt's scaffolding, not an answer
    def echo(body: dict) -> str:
        user = body["messages"][-1]["content"]
        return user[: user.index("\n[3]")]

    server.replies.append(echo)
    answer = chain_for(indexed, server).answer(QUESTION)
    assert answer.mode == "extractive" and answer.notice
    assert any("repeats the prompt" in p for p in answer.extra["rejected"])
    assert "Passages:" not in answer.text


def test_hung_server_times_out_and_falls_back(indexed, server):
    server.replies.append(("hang", 5))
    answer = chain_for(indexed, server, timeout=0.5).answer(QUESTION)
    assert answer.mode == "extractive"
    assert "不可用或超时" in answer.notice
    assert answer.citations


def test_server_error_falls_back(indexed, server):
    server.replies.append(("error", 500))
    answer = chain_for(indexed, server).answer("Is an upfront loan fee normal?")
    assert answer.mode == "extractive" and "unavailable" in answer.notice


def test_history_is_sent_to_the_model(indexed, server):
    server.replies.append("代理收费维权不可信[1]。")
    history = [
        {"role": "user", "content": "停息挂账是真的吗"},
        {"role": "assistant", "content": "……"},
    ]
    chain_for(indexed, server).answer("那找代理收费正常吗？", history=history)
    messages = server.requests[0]["messages"]
    # system, the worked examples (user/assistant pairs), the history, the question
    assert [m["role"] for m in messages[-3:]] == ["user", "assistant", "user"]
    assert (
        messages[-3]["content"] == "停息挂账是真的吗" and "那找代理收费" in messages[-1]["content"]
    )


def test_extractive_is_default_without_model():
    assert make_chat_model(Settings.from_env(generator="extractive")) is None


def test_stream_releases_checked_sentences_and_stops_at_a_bad_one(indexed, server):
    # a fake model: a grounded first line, then an invented hotline, then grounded again
    def reply(body: dict) -> str:
        return f"{passage(body, 1)}[1]\n请拨打4001234567联系专员。[1]\n{passage(body, 2)}[2]\n"

    server.replies.append(reply)
    out = list(chain_for(indexed, server).stream(QUESTION))
    final, streamed = out[-1], "".join(out[:-1])
    first = final.extra["shown"][0].chunk.text.splitlines()[0]
    # the first line was shown as it passed; nothing from the bad line on was
    assert first[:15] in streamed and "4001234567" not in streamed
    second = final.extra["shown"][1].chunk.text.splitlines()[0]
    assert second[:15] not in streamed
    # the final answer replaces it: extractive, with the notice and the reason
    assert final.mode == "extractive" and final.notice
    assert any("unsupported fact" in p for p in final.extra["rejected"])
    assert final.extra["streamed"] == streamed


def test_stream_of_a_good_answer_is_released_in_pieces(indexed, server):
    server.replies.append(lambda body: f"{passage(body, 1)}[1]\n{passage(body, 2)}[2]")
    out = list(chain_for(indexed, server).stream(QUESTION))
    final = out[-1]
    assert final.mode == "openai", final.extra["rejected"]
    assert len(out) > 2 and "".join(out[:-1]) == final.text  # more than one release


def test_the_first_line_is_the_chain_s_verdict_not_the_model_s(indexed, server):
    # the model says the verdict again (it was told not to) and then quotes a passage
    server.replies.append(lambda body: "不靠谱，这是骗局。[1]\n要点：\n" + quoting(1)(body))
    chain = chain_for(indexed, server)
    answer = chain.answer(QUESTION)
    assert answer.mode == "openai", answer.extra["rejected"]
    extractive = indexed.chain.answer(QUESTION)
    verdict = extractive.text.splitlines()[0]
    # the same fixed first line as the extractive answer (prompts/compose.yaml), once
    assert answer.text.splitlines()[0] == verdict and "不靠谱，这是骗局" not in answer.text
    assert answer.text.splitlines()[1] == "要点："
    # the model was told the first line is written, and what it says
    assert verdict in server.requests[0]["messages"][-1]["content"]


def test_a_model_first_line_calling_it_real_is_rejected_though_the_verdict_is_the_chain_s(
    indexed, server
):
    server.replies.append(lambda body: "是的，这是正常的放款流程。\n" + quoting(1)(body))
    answer = chain_for(indexed, server).answer(QUESTION)
    assert (
        answer.mode == "extractive"
        and "first line calls it real or safe" in answer.extra["rejected"]
    )


def test_stream_shows_the_verdict_before_the_model_writes(indexed, server):
    server.replies.append(quoting(1, 2))
    pieces = list(chain_for(indexed, server, streaming=True).stream(QUESTION))
    final = pieces[-1]
    assert final.mode == "openai", final.extra["rejected"]
    assert pieces[0] == final.text.splitlines()[0] + "\n"  # the verdict, before any model text
    assert "".join(pieces[:-1]) == final.text


def test_stream_goes_on_after_a_dropped_first_sentence(indexed, server):
    # the model's first bullet only restates the question (dropped); the rest is grounded
    def reply(body: dict) -> str:
        return f"要点：\n- {QUESTION.rstrip('？')}。\n现在怎么做：\n" + quoting(1)(body)

    server.replies.append(reply)
    pieces = list(chain_for(indexed, server, streaming=True).stream(QUESTION))
    final = pieces[-1]
    assert final.mode == "openai", final.extra["rejected"]
    assert (
        QUESTION.rstrip("？") not in final.text and final.extra["citation_repairs"]["dropped"] == 1
    )
    assert "".join(pieces[:-1]) == final.text


def test_warm_up_sends_the_fixed_prefix_for_one_token(indexed, server):
    server.replies.append("ok")
    gen = chain_for(indexed, server).llm
    assert gen.warm() is True
    sent = server.requests[0]
    prefix = [m.content for m in gen.prefix()]
    assert [m["content"] for m in sent["messages"][: len(prefix)]] == prefix
    assert sent["max_tokens"] == 1
    # the prefix is what a real request starts with, so a server's prompt cache can reuse it
    real = gen.messages(QUESTION, "zh", [], pattern="", verdict="")
    assert [m.content for m in real[: len(prefix)]] == prefix


def test_warm_up_failure_is_not_raised(indexed, server):
    server.replies.append(("error", 500))
    assert chain_for(indexed, server).llm.warm() is False
