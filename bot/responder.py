"""One entry point for every front end: a user message in, an `Answer` out.

Decides what kind of reply a message gets and delegates: the answer chain for questions,
the scam check for pasted messages. Front ends (CLI, batch, web) call only this.
It does not render UI and does not store conversations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from bot.lang import detect_lang
from bot.records import Answer

if TYPE_CHECKING:
    from bot.app import Deps


class Responder:
    def __init__(self, deps: Deps):
        self.deps = deps

    def respond(
        self,
        message: str,
        history: list[dict] | None = None,
        lang: str | None = None,
        task: str = "chat",
    ) -> Answer:
        lang = lang if lang in ("zh", "en") else detect_lang(message)
        return self.deps.chain.answer(message, history, lang)

    def stream(
        self, message: str, history: list[dict] | None = None, lang: str | None = None
    ) -> Iterator[str | Answer]:
        answer = self.respond(message, history, lang)
        for line in answer.text.splitlines(keepends=True):
            yield line
        yield answer
