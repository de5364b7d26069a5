"""An LRU cache of answers to repeated questions, as support bots see them.

Key: the question with outer whitespace stripped and inner runs of whitespace collapsed,
the requested language (or "auto"), the task, the index generation the answer was computed
from, and a fingerprint of the generator and retrieval settings. Only first turns (no
history) without personal data (`bot.safety.pii.contains_pii`) are cached: their answer
depends on nothing else. When the index generation changes, every entry is dropped.

It stores `Answer` objects (deep copies, so no caller can change a cached answer) and counts
hits, misses and skipped lookups. It does not compute answers, build payloads or know HTTP.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.safety.pii import contains_pii

if TYPE_CHECKING:
    from bot.app import Deps
    from bot.config import Settings
    from bot.records import Answer

_SPACE = re.compile(r"\s+")
# What an answer depends on besides the question and the index.
_ANSWER_SETTINGS = (
    "embedder",
    "st_model",
    "top_k",
    "max_per_doc",
    "candidates",
    "other_lang_weight",
    "generator",
    "openai_base_url",
    "openai_model",
    "llm_temperature",
    "llm_max_tokens",
)


def settings_fingerprint(settings: Settings) -> str:
    """A short hash of the settings an answer depends on (generator and retrieval)."""
    picked = {name: str(getattr(settings, name)) for name in _ANSWER_SETTINGS}
    picked["knowledge_dir"] = str(settings.knowledge_dir)
    blob = json.dumps(picked, sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def normalise_question(text: str) -> str:
    """Outer whitespace stripped, inner whitespace runs made one space."""
    return _SPACE.sub(" ", text).strip()


class AnswerCache:
    """Bounded, thread-safe LRU of answers keyed by question, language, task, index and settings."""

    def __init__(self, max_entries: int, fingerprint: str, generation: Callable[[], int]):
        self.max_entries = max_entries
        self.fingerprint = fingerprint
        self.generation = generation
        self._items: OrderedDict[tuple, Answer] = OrderedDict()
        self._generation: int | None = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.skipped = 0  # not cacheable: a later turn, or personal data in the message

    def key(self, message: str, history: list | None, lang: str | None, task: str) -> tuple | None:
        """The cache key, or None when this message must not be cached."""
        if self.max_entries <= 0 or history or contains_pii(message):
            with self._lock:
                self.skipped += 1
            return None
        generation = self.generation()
        with self._lock:
            if generation != self._generation:  # a new index: every old answer is stale
                self._items.clear()
                self._generation = generation
        language = lang if lang in ("zh", "en") else "auto"
        return (normalise_question(message), language, task, generation, self.fingerprint)

    def get(self, key: tuple) -> Answer | None:
        with self._lock:
            answer = self._items.get(key)
            if answer is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
        return copy.deepcopy(answer)

    def put(self, key: tuple, answer: Answer) -> None:
        stored = copy.deepcopy(answer)
        with self._lock:
            if key[3] != self._generation:  # computed on an index that has since moved
                return
            self._items[key] = stored
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "hits": self.hits,
                "misses": self.misses,
                "skipped": self.skipped,
                "entries": len(self._items),
                "max_entries": self.max_entries,
            }


def make_answer_cache(deps: Deps | None) -> AnswerCache | None:
    """The app's answer cache over `deps`, or None when BOT_ANSWER_CACHE_SIZE is 0."""
    if deps is None or deps.settings.answer_cache_size <= 0:
        return None
    retriever = deps.retriever
    return AnswerCache(
        deps.settings.answer_cache_size,
        settings_fingerprint(deps.settings),
        lambda: retriever.snapshot().pointer.generation,
    )
