"""Wiring: `build_app(settings)` creates every client and model once and returns `Deps`.

The only place that connects the pieces. Nothing here runs at import time; front ends (CLI,
web, eval) call `build_app` and pass `Deps` on. Embedder and chat backends are chosen by
`embeddings.make_embeddings` and `llm.make_chat_model`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.answer.ask_model import AskModel
from bot.answer.asks import default_asks
from bot.answer.chain import AnswerChain
from bot.answer.channels import OfficialChannels
from bot.answer.compose import ExtractiveComposer
from bot.answer.embeddings import LocalEmbeddings, make_embeddings
from bot.answer.lexical import Tokenizer
from bot.answer.llm import LLMGenerator, make_chat_model
from bot.answer.retrieve import Retriever
from bot.answer.store import KnowledgeStore, make_client
from bot.answer.topic_model import PatternNamer
from bot.check.redflags import RedFlagRules
from bot.config import Settings, enforce_offline
from bot.safety.guard import OutputGuard
from bot.taxonomy import Taxonomy


@dataclass
class Deps:
    settings: Settings
    taxonomy: Taxonomy
    tokenizer: Tokenizer
    embeddings: LocalEmbeddings
    store: KnowledgeStore
    retriever: Retriever
    chain: AnswerChain
    red_flags: RedFlagRules  # the scam check's, read once: the check, off-topic replies, channels


def build_store(settings: Settings, embeddings: LocalEmbeddings | None = None) -> KnowledgeStore:
    enforce_offline()
    embeddings = embeddings or make_embeddings(settings)
    return KnowledgeStore(make_client(settings), settings.collection, embeddings)


def official_channels(settings: Settings, flags: RedFlagRules) -> OfficialChannels:
    """The help lines and sites of knowledge/hotlines.yaml a question may ask to confirm; a
    question where a red flag of the scam check fires is never told "yes, it is official"."""
    return OfficialChannels.load(
        default_asks().is_yes_no,
        suspicious=lambda text: bool(flags.warnings(text)),
        hotlines=Path(settings.knowledge_dir) / "hotlines.yaml",
    )


def build_app(
    settings: Settings,
    embeddings: LocalEmbeddings | None = None,
    chat_model=None,
) -> Deps:
    """Create everything a front end needs. `chat_model` overrides the configured backend."""
    enforce_offline()
    taxonomy = Taxonomy.load(Path(settings.knowledge_dir) / "taxonomy.yaml")
    tokenizer = Tokenizer(taxonomy.aliases())
    store = build_store(settings, embeddings)
    retriever = Retriever(store, tokenizer, settings)
    model = chat_model if chat_model is not None else make_chat_model(settings)
    llm = LLMGenerator(model) if model is not None else None
    red_flags = RedFlagRules.load()
    chain = AnswerChain(
        retriever,
        ExtractiveComposer(
            tokenizer,
            taxonomy,
            AskModel(store.embeddings.embed_queries_np, Path(settings.cache_dir)),
            official_channels(settings, red_flags),
        ),
        llm,
        guard=OutputGuard(settings.knowledge_dir / "hotlines.yaml"),
        namer=PatternNamer(retriever, store.embeddings.embed_queries_np, Path(settings.cache_dir)),
    )
    return Deps(settings, taxonomy, tokenizer, store.embeddings, store, retriever, chain, red_flags)
