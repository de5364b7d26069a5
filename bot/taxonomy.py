"""The scam-topic taxonomy (`knowledge/taxonomy.yaml`): ids, names and aliases.

Read-only access; ids are stable (add, never rename). No retrieval logic lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Topic:
    id: str
    zh: str
    en: str
    aliases: tuple[str, ...]

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Taxonomy:
    topics: dict[str, Topic]

    @classmethod
    def load(cls, path: Path) -> Taxonomy:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        topics = {
            tid: Topic(
                id=tid,
                zh=str(t.get("zh", tid)),
                en=str(t.get("en", tid)),
                aliases=tuple(str(a) for a in t.get("aliases", []) or []),
            )
            for tid, t in (data.get("topics") or {}).items()
        }
        return cls(topics)

    def __contains__(self, topic_id: object) -> bool:
        return topic_id in self.topics

    def aliases(self) -> list[str]:
        """Every alias and Chinese name, for the tokenizer dictionary."""
        words: set[str] = set()
        for t in self.topics.values():
            words.update(a for a in t.aliases if a)
            words.update(p.strip() for p in t.zh.split("/") if p.strip())
        return sorted(words)
