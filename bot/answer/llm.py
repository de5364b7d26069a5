"""The `openai` generator: any OpenAI-compatible chat endpoint through langchain-openai.

Covers OpenAI, vLLM, Ollama and llama.cpp servers (set OPENAI_BASE_URL). Timeouts and retries
are explicit, because the client's defaults wait a very long time on a hung server. Prompts
come from `prompts/answer.yaml`, with its worked example sent as a user/assistant pair before
the question. `model_passages` picks the few passages a model is shown (a small local model
reads a 2k-token prompt for tens of seconds on 2 cores). This module does not verify output;
the chain does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from bot.prompts import load_prompt
from bot.records import Passage

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)


class AnswerCutOff(RuntimeError):
    """The model stopped at the token limit: the answer is unfinished and must not be shown.
    `text` is what it wrote, so the guard can still report what else was wrong with it."""

    def __init__(self, message: str, text: str):
        super().__init__(message)
        self.text = text


def make_chat_model(settings: Settings) -> BaseChatModel | None:
    """The only place a chat backend is chosen. None means extractive (no model)."""
    if settings.generator == "extractive":
        return None
    if settings.generator == "openai":
        from langchain_openai import ChatOpenAI

        # langchain-openai sends the cap as `max_completion_tokens` (OpenAI's name); llama.cpp,
        # Ollama and older vLLM read `max_tokens`, so self-hosted endpoints get both.
        extra = {"max_tokens": settings.llm_max_tokens} if settings.openai_base_url else None
        return ChatOpenAI(
            base_url=settings.openai_base_url or None,
            api_key=settings.openai_api_key,
            model=settings.openai_model,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_tokens,
            extra_body=extra,
            streaming=False,
        )
    raise ValueError(f"unknown generator {settings.generator!r}")


MAX_MODEL_PASSAGES = 4
# a budget for the passages' text, in characters (Chinese ~1.4 chars/token, English ~4)
MODEL_PASSAGE_CHARS = {"zh": 520, "en": 1100}
MODEL_SECTIONS = ("what", "flags", "consequences", "todo", "help")  # never "lures"


def model_passages(passages: list[Passage], lang: str) -> list[Passage]:
    """The passages a model is shown, in retrieval order: the best two in the answer's
    language, then the first what-to-do and where-to-get-help passages, then more until
    `MAX_MODEL_PASSAGES` or the character budget. Scammers' lines ("lures") are left out: a
    small model restates them as facts. Falls back to all passages when none qualify."""
    same = [p for p in passages if p.chunk.lang == lang and p.chunk.section in MODEL_SECTIONS]
    if not same:
        return passages[:MAX_MODEL_PASSAGES]
    wanted = same[:2]
    for section in ("todo", "help"):
        wanted += [p for p in same if p.chunk.section == section and p not in wanted][:1]
    wanted += [p for p in same if p not in wanted]
    chosen: list[Passage] = []
    used = 0
    for p in wanted:
        if len(chosen) >= MAX_MODEL_PASSAGES:
            break
        if chosen and used + len(p.text) > MODEL_PASSAGE_CHARS.get(lang, 1500):
            continue
        chosen.append(p)
        used += len(p.text)
    return [p for p in same if p in chosen]


class LLMGenerator:
    """Builds the messages and calls the injected chat model (plain or streaming)."""

    name = "openai"

    def __init__(self, model: BaseChatModel):
        self.model = model

    def messages(
        self,
        question: str,
        lang: str,
        passages: list[Passage],
        history: list[dict] | None = None,
        pattern: str = "",
        verdict: str = "",
    ) -> list[BaseMessage]:
        """System text, the worked example, recent history, then passages + question (+ the
        name of the pattern the chain chose and the first line the chain wrote, which the
        model continues after)."""
        prompt = load_prompt("answer")
        msgs = self.prefix()
        for turn in (history or [])[-6:]:
            cls = AIMessage if turn.get("role") == "assistant" else HumanMessage
            msgs.append(cls(str(turn.get("content", ""))))
        msgs.append(
            HumanMessage(
                prompt.render(
                    "user",
                    question=question,
                    lang=lang,
                    passages=passages,
                    pattern=pattern,
                    verdict=verdict,
                )
            )
        )
        return msgs

    def prefix(self) -> list[BaseMessage]:
        """What every request starts with: the system text and the worked examples."""
        prompt = load_prompt("answer")
        msgs: list[BaseMessage] = [SystemMessage(prompt.render("system"))]
        for ex in prompt.examples:
            shown = [{"chunk": p} for p in ex["passages"]]
            msgs.append(HumanMessage(prompt.render("user", passages=shown, **_vars(ex))))
            msgs.append(AIMessage(ex["answer"].strip()))
        return msgs

    def warm(self) -> bool:
        """Send the fixed prefix once, for one output token, so a local server holds it in its
        prompt cache before the first person asks (on 2 cores reading it takes ~12 s). Returns
        whether it worked; a failure is logged, never raised: the first answer is just slower."""
        msgs = [*self.prefix(), HumanMessage("warm-up")]
        try:
            self.model.bind(max_tokens=1, extra_body={"max_tokens": 1}).invoke(msgs)
        except Exception as exc:  # noqa: BLE001 - any backend error only costs speed
            log.warning("LLM warm-up failed: %s", exc)
            return False
        return True

    def example_answers(self) -> list[str]:
        """The worked examples' answers and first lines: what the model must not copy into a
        real one ("AB贷是典型的「冒充熟人诈骗」。" took the example's pattern)."""
        examples = load_prompt("answer").examples
        return [ex["answer"] for ex in examples] + [ex["verdict"] for ex in examples]

    def generate(
        self,
        question: str,
        lang: str,
        passages: list[Passage],
        history: list[dict] | None = None,
        pattern: str = "",
        verdict: str = "",
    ) -> str:
        reply = self.model.invoke(
            self.messages(question, lang, passages, history, pattern, verdict)
        )
        if (reply.response_metadata or {}).get("finish_reason") == "length":
            raise AnswerCutOff(
                "answer cut off at the token limit (BOT_LLM_MAX_TOKENS)", str(reply.content)
            )
        return str(reply.content)

    def stream(
        self,
        question: str,
        lang: str,
        passages: list[Passage],
        history: list[dict] | None = None,
        pattern: str = "",
        verdict: str = "",
    ) -> Iterator[str]:
        """The model's text as it arrives (SSE). Raises AnswerCutOff at the end when the model
        stopped at the token limit. Streams even when the model was built with `streaming=False`
        (langchain's `.stream()` would otherwise make one blocking call)."""
        text, finish = "", None
        msgs = self.messages(question, lang, passages, history, pattern, verdict)
        model = self.model
        if getattr(model, "streaming", None) is False:
            model = model.model_copy(update={"streaming": True})
        for piece in model.stream(msgs):
            finish = (piece.response_metadata or {}).get("finish_reason") or finish
            if piece.content:
                text += str(piece.content)
                yield str(piece.content)
        if finish == "length":
            raise AnswerCutOff("answer cut off at the token limit (BOT_LLM_MAX_TOKENS)", text)


def _vars(example: dict) -> dict:
    return {k: example.get(k, "") for k in ("question", "lang", "pattern", "verdict")}
