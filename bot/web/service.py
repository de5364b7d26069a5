"""What the API and the Gradio UI share: answer, stream, check and record feedback.

`WebService` wraps a `Responder` (answers) and a `Storage` (turns, feedback), shapes every
answer into one JSON object (the batch output row of `bot.batch.answer_row`, plus `notice`,
`lang`, and `publisher`/`date`/`source_title` on each citation; checks add `confidence`,
`red_flags` and `counter_signals`), and stores each answered turn. A database failure
never costs the user an answer: it is logged and the answer still goes out.

It does not parse HTTP, enforce limits or render anything; `server.py` and
`gradio_app.py` do. It keeps no state between calls beyond the optional answer cache
(`answer_cache.py`), which serves repeated first-turn questions.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from bot.batch import answer_row
from bot.records import Answer
from bot.web.answer_cache import AnswerCache
from bot.web.storage import Storage, StorageError, new_id

log = logging.getLogger(__name__)


class ResponderLike(Protocol):
    """What the web layer needs from `bot.responder.Responder` (fakes implement it too)."""

    def respond(
        self,
        message: str,
        history: list[dict] | None = None,
        lang: str | None = None,
        task: str = "chat",
    ) -> Answer: ...

    def stream(
        self, message: str, history: list[dict] | None = None, lang: str | None = None
    ) -> Iterator[str | Answer]: ...


def jsonable(value: Any) -> Any:
    """`value` with dataclasses, mappings and tuples turned into plain JSON types."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def answer_payload(turn_id: str, task: str, answer: Answer, latency_ms: float) -> dict[str, Any]:
    """The answer as the API returns it: a batch output row plus display fields."""
    row = answer_row(turn_id, task, answer, latency_ms)
    for shown, citation in zip(row["citations"], answer.citations, strict=True):
        shown.update(
            publisher=citation.publisher, date=citation.date, source_title=citation.source_title
        )
    row["notice"] = answer.notice
    row["lang"] = answer.lang
    if task == "check":
        row.update(check_details(answer))
    return row


def check_details(answer: Answer) -> dict[str, Any]:
    """Confidence, red flags and counter-signals of a scam check, wherever the checker put them.

    Looks in `answer.extra["check"]` (a dict or an object with `to_dict()`), then in
    `answer.extra` itself; missing details come back empty.
    """
    source: Any = answer.extra.get("check", answer.extra)
    if hasattr(source, "to_dict"):
        source = source.to_dict()
    if not isinstance(source, Mapping):
        source = {}
    confidence = source.get("confidence")
    return {
        "confidence": float(confidence) if isinstance(confidence, (int, float)) else None,
        "red_flags": jsonable(source.get("red_flags") or []),
        "counter_signals": jsonable(source.get("counter_signals") or []),
    }


class IndexRefresher:
    """Calls `refresh` (the retriever's: reload if an ingest moved the index pointer) at most
    once per `every` seconds, on whichever request comes first; the others go on answering
    from the snapshot they have. A negative `every` turns it off. Failures are only logged:
    the answer path reports a store that is down."""

    def __init__(self, refresh: Callable[[], object], every: float):
        self.refresh = refresh
        self.every = every
        self._next = time.monotonic() + max(every, 0)
        self._lock = threading.Lock()

    def maybe(self) -> None:
        if self.every < 0 or time.monotonic() < self._next:
            return
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._next = time.monotonic() + self.every
            self.refresh()
        except Exception as exc:  # noqa: BLE001
            log.warning("index refresh failed: %s", exc)
        finally:
            self._lock.release()


class WebService:
    """Answers through the responder and records each turn in storage."""

    def __init__(
        self,
        responder: ResponderLike,
        storage: Storage | None,
        max_history_turns: int = 20,
        refresher: IndexRefresher | None = None,
        cache: AnswerCache | None = None,
    ):
        self.responder = responder
        self.storage = storage
        self.max_history_turns = max_history_turns
        self.refresher = refresher
        self.cache = cache

    def trim_history(self, history: list[dict[str, str]] | None) -> list[dict[str, str]]:
        """The last `max_history_turns` user/assistant pairs, as plain dicts."""
        items = [{"role": h["role"], "content": h["content"]} for h in history or []]
        return items[-2 * self.max_history_turns :] if self.max_history_turns else []

    def answer(
        self,
        message: str,
        history: list[dict[str, str]] | None = None,
        lang: str | None = None,
        task: str = "chat",
        channel: str = "api",
    ) -> dict[str, Any]:
        """Answer one message (chat or check) and store the turn; the JSON payload."""
        history = self.trim_history(history)
        if self.refresher:
            self.refresher.maybe()
        t0 = time.perf_counter()
        cache = self.cache
        key = cache.key(message, history, lang, task) if cache is not None else None
        answer = cache.get(key) if cache is not None and key else None
        if answer is None:
            answer = self.responder.respond(message, history, lang, task)
            if cache is not None and key:
                cache.put(key, answer)
        payload = answer_payload(new_id(), task, answer, (time.perf_counter() - t0) * 1000)
        self._record(payload, message, history, channel)
        return payload

    def stream(
        self,
        message: str,
        history: list[dict[str, str]] | None = None,
        lang: str | None = None,
        channel: str = "api",
    ) -> Iterator[str | dict[str, Any]]:
        """Text pieces as the responder yields them, then the whole JSON payload."""
        history = self.trim_history(history)
        if self.refresher:
            self.refresher.maybe()
        t0 = time.perf_counter()
        cache = self.cache
        key = cache.key(message, history, lang, "chat") if cache is not None else None
        cached = cache.get(key) if cache is not None and key else None
        items: Iterator[str | Answer] = (
            iter([*cached.text.splitlines(keepends=True), cached])
            if cached is not None
            else self.responder.stream(message, history, lang)
        )
        for item in items:
            if isinstance(item, Answer):
                if cache is not None and key and cached is None:
                    cache.put(key, item)
                payload = answer_payload(new_id(), "chat", item, (time.perf_counter() - t0) * 1000)
                self._record(payload, message, history, channel)
                yield payload
                return
            yield item

    def feedback(self, turn_id: str, rating: str, comment: str | None = None) -> int | None:
        """Record feedback; its id, or None for an unknown turn. Raises StorageError."""
        if self.storage is None:
            raise StorageError("no database configured")
        return self.storage.save_feedback(turn_id, rating, comment)

    def comment(self, feedback_id: int, comment: str) -> bool:
        if self.storage is None:
            raise StorageError("no database configured")
        return self.storage.add_comment(feedback_id, comment)

    def _record(
        self, payload: dict[str, Any], message: str, history: list[dict[str, str]], channel: str
    ) -> None:
        if self.storage is None:
            return
        try:
            self.storage.save_turn(
                payload["id"],
                channel=channel,
                task=payload["task"],
                lang=payload.get("lang") or "zh",
                message=message,
                history=history,
                row=payload,
            )
        except Exception as exc:  # noqa: BLE001 - the user still gets the answer
            log.warning("could not store turn %s: %s", payload["id"], exc)
