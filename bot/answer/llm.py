"""The `openai` generator: any OpenAI-compatible chat endpoint through langchain-openai.

Covers OpenAI, vLLM, Ollama and llama.cpp servers (set OPENAI_BASE_URL). Timeouts and retries
are explicit, because the client's defaults wait a very long time on a hung server. Prompts
come from `prompts/answer.yaml`. This module does not verify output; the chain does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from bot.prompts import load_prompt
from bot.records import Passage

if TYPE_CHECKING:
    from bot.config import Settings


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


class LLMGenerator:
    """Builds the messages and calls the injected chat model (plain or streaming)."""

    name = "openai"

    def __init__(self, model: BaseChatModel):
        self.model = model

    def messages(
        self, question: str, lang: str, passages: list[Passage], history: list[dict] | None = None
    ) -> list[BaseMessage]:
        prompt = load_prompt("answer")
        msgs: list[BaseMessage] = [SystemMessage(prompt.render("system", lang=lang))]
        for turn in (history or [])[-6:]:
            cls = AIMessage if turn.get("role") == "assistant" else HumanMessage
            msgs.append(cls(str(turn.get("content", ""))))
        msgs.append(HumanMessage(prompt.render("user", question=question, passages=passages)))
        return msgs

    def generate(
        self, question: str, lang: str, passages: list[Passage], history: list[dict] | None = None
    ) -> str:
        reply = self.model.invoke(self.messages(question, lang, passages, history))
        if (reply.response_metadata or {}).get("finish_reason") == "length":
            raise AnswerCutOff(
                "answer cut off at the token limit (BOT_LLM_MAX_TOKENS)", str(reply.content)
            )
        return str(reply.content)

    def stream(
        self, question: str, lang: str, passages: list[Passage], history: list[dict] | None = None
    ) -> Iterator[str]:
        for piece in self.model.stream(self.messages(question, lang, passages, history)):
            if piece.content:
                yield str(piece.content)
