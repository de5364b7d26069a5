"""Web settings: `WebSettings`, read from `BOT_*` environment variables.

Kept apart from `bot.config.Settings` so the web layer can grow its own knobs (database,
limits, origins, bind address) without touching the core settings. It opens no files,
sockets or databases; `database_url_for(data_dir)` only builds a string.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class WebSettings(BaseSettings):
    """Everything the server needs beyond `bot.config.Settings`."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    host: str = Field("127.0.0.1", validation_alias=_env("BOT_HOST"))
    port: int = Field(7860, validation_alias=_env("BOT_PORT"))
    # SQLAlchemy URL; empty means SQLite at <BOT_DATA_DIR>/web.sqlite3.
    database_url: str = Field("", validation_alias=_env("BOT_DATABASE_URL"))
    # A `limits` rate string applied per client IP to each /api endpoint and to the UI.
    rate_limit: str = Field("30/minute", validation_alias=_env("BOT_RATE_LIMIT"))
    # `memory://` (per process) or a shared `limits` storage such as redis://host:6379.
    rate_limit_storage: str = Field("memory://", validation_alias=_env("BOT_RATE_LIMIT_STORAGE"))
    max_message_chars: int = Field(2000, validation_alias=_env("BOT_MAX_MESSAGE_CHARS"))
    max_body_bytes: int = Field(262_144, validation_alias=_env("BOT_MAX_BODY_BYTES"))
    max_history_turns: int = Field(20, validation_alias=_env("BOT_MAX_HISTORY_TURNS"))
    # Comma-separated origins allowed to call /api from a browser (the widget on your site).
    allowed_origins: str = Field("", validation_alias=_env("BOT_ALLOWED_ORIGINS"))
    # How often a request checks whether an ingest moved the index (seconds; <0 = never).
    index_refresh_seconds: float = Field(30.0, validation_alias=_env("BOT_INDEX_REFRESH_SECONDS"))
    # Answers computed at once; more requests wait their turn (FIFO). Answering is CPU work:
    # a few threads per core keep the cores busy without thrashing on the GIL.
    answer_concurrency: int = Field(4, gt=0, validation_alias=_env("BOT_ANSWER_CONCURRENCY"))
    # Screenshot checks (bot/ocr): upload size, pictures read at once, waiting, time limit.
    max_image_bytes: int = Field(8 * 1024 * 1024, validation_alias=_env("BOT_MAX_IMAGE_BYTES"))
    ocr_workers: int = Field(1, gt=0, validation_alias=_env("BOT_OCR_WORKERS"))
    ocr_queue: int = Field(4, ge=0, validation_alias=_env("BOT_OCR_QUEUE"))
    ocr_timeout_seconds: float = Field(20.0, gt=0, validation_alias=_env("BOT_OCR_TIMEOUT_SECONDS"))
    # Proxies whose X-Forwarded-For is trusted for the client IP (uvicorn's forwarded_allow_ips).
    forwarded_allow_ips: str = Field("127.0.0.1", validation_alias=_env("BOT_FORWARDED_ALLOW_IPS"))

    @property
    def origins(self) -> list[str]:
        """The allow-list as a list, without trailing slashes or blanks."""
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]

    def database_url_for(self, data_dir: Path) -> str:
        """The configured URL, or SQLite under `data_dir` when none is set."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(data_dir) / 'web.sqlite3'}"

    @classmethod
    def from_env(cls, **overrides: object) -> WebSettings:
        """Build from the process environment, with explicit overrides winning."""
        return cls(**overrides)  # type: ignore[arg-type]
