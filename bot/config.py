"""Settings: one object built from environment variables (and `.env` via the CLI).

Nothing here opens files, sockets or models. Every other module receives a `Settings`
instead of reading the environment itself. See `.env.example` for the full list.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """All run-time configuration. Field docs double as the README's settings table."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    knowledge_dir: Path = Field(ROOT / "knowledge", validation_alias=_env("BOT_KNOWLEDGE_DIR"))
    data_dir: Path = Field(ROOT / ".data", validation_alias=_env("BOT_DATA_DIR"))
    # Trained models and example vectors, keyed by their inputs (safe to share between
    # processes and data dirs): separate from BOT_DATA_DIR so a fresh index reuses them.
    cache_dir: Path = Field(ROOT / ".data" / "cache", validation_alias=_env("BOT_CACHE_DIR"))

    embedder: Literal["e5", "sentence-transformers"] = Field(
        "e5", validation_alias=_env("BOT_EMBEDDER")
    )
    st_model: str = Field("", validation_alias=_env("BOT_ST_MODEL"))
    embed_batch: int = Field(32, validation_alias=_env("BOT_EMBED_BATCH"))
    # e5 only: engine threads per call (None: the engine's default, all cores) and model
    # copies for concurrent calls; `antiscam serve` defaults to 1 thread x one copy per core.
    embed_threads: int | None = Field(None, gt=0, validation_alias=_env("BOT_EMBED_THREADS"))
    embed_copies: int = Field(1, gt=0, validation_alias=_env("BOT_EMBED_COPIES"))
    # e5 only: concurrent queries wait up to this long to share one engine call (0 = off;
    # `antiscam serve` defaults to 3 ms), at most `embed_max_batch` texts per call.
    embed_batch_window_ms: float = Field(
        0.0, ge=0, le=50, validation_alias=_env("BOT_EMBED_BATCH_WINDOW_MS")
    )
    embed_max_batch: int = Field(16, gt=0, validation_alias=_env("BOT_EMBED_MAX_BATCH"))
    # Answers kept for repeated first-turn questions without personal data (0 = cache off).
    answer_cache_size: int = Field(1024, ge=0, validation_alias=_env("BOT_ANSWER_CACHE_SIZE"))

    chroma_host: str | None = Field(None, validation_alias=_env("CHROMA_HOST", "BOT_CHROMA_HOST"))
    chroma_port: int = Field(8000, validation_alias=_env("CHROMA_PORT", "BOT_CHROMA_PORT"))
    collection: str = Field("antiscam", validation_alias=_env("BOT_COLLECTION"))

    top_k: int = Field(6, validation_alias=_env("BOT_TOP_K"))
    max_per_doc: int = Field(2, validation_alias=_env("BOT_MAX_PER_DOC"))
    candidates: int = Field(30, validation_alias=_env("BOT_CANDIDATES"))
    other_lang_weight: float = Field(0.5, validation_alias=_env("BOT_OTHER_LANG_WEIGHT"))

    generator: Literal["extractive", "openai"] = Field(
        "extractive", validation_alias=_env("BOT_GENERATOR")
    )
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    openai_api_key: SecretStr = Field(
        SecretStr("not-needed"), validation_alias=_env("OPENAI_API_KEY"), repr=False
    )
    openai_model: str = Field("gpt-4o-mini", validation_alias=_env("BOT_OPENAI_MODEL"))
    llm_timeout: float = Field(20.0, validation_alias=_env("BOT_LLM_TIMEOUT"))
    llm_max_retries: int = Field(1, validation_alias=_env("BOT_LLM_MAX_RETRIES"))
    llm_temperature: float = Field(0.1, validation_alias=_env("BOT_LLM_TEMPERATURE"))
    # a cap on answer length: without it a small local model can ramble until the timeout
    llm_max_tokens: int = Field(800, gt=0, validation_alias=_env("BOT_LLM_MAX_TOKENS"))

    @field_validator("embed_threads", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return None if value == "" else value

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Build from the process environment, with explicit overrides winning."""
        return cls(**overrides)  # type: ignore[arg-type]


def enforce_offline() -> None:
    """Make every library we use stay off the network. Call at program entry points."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["ANONYMIZED_TELEMETRY"] = "False"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
