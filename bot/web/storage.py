"""Conversation turns and feedback in a SQL database through SQLAlchemy.

`Storage(url)` works with SQLite (the default, one file under the data dir) and PostgreSQL
(`postgresql://...`, driven by psycopg 3) for several replicas. Every text that came from a
user or that could echo one (message, history, answer, comment) passes through `scrub()`
before it is written: the only place where personal data is removed, by `bot.safety.pii.redact`.
`export_cases()` turns rated turns into eval cases (rows that `antiscam batch` accepts).

It does not answer questions, keep caches or hold any other state; each call opens and
closes its own session, so any number of replicas can share one database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from bot.safety.pii import redact

RATINGS = ("up", "down")


def scrub(value: str | None) -> str | None:
    """Personal data (ID, card, phone, e-mail, codes) replaced by placeholders."""
    return redact(value) if value else value


class StorageError(Exception):
    """The database could not be reached or written."""


class Base(DeclarativeBase):
    pass


class TurnRow(Base):
    """One exchange: a user message (with the history it came with) and the answer given."""

    __tablename__ = "conversation_turns"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(String(16))  # api | ui
    task: Mapped[str] = mapped_column(String(16))  # chat | check
    lang: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(Text)
    history: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[str]] = mapped_column(JSON, default=list)  # chunk ids
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    mode: Mapped[str] = mapped_column(String(32))
    latency_ms: Mapped[float] = mapped_column(Float)


class FeedbackRow(Base):
    """A thumbs up or down on one turn, with an optional comment."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    turn_id: Mapped[str] = mapped_column(ForeignKey("conversation_turns.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` / `postgres://` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def new_id() -> str:
    return uuid.uuid4().hex


class Storage:
    """Stores turns and feedback; creates its tables on first use."""

    def __init__(self, url: str):
        self.url = normalize_url(url)
        is_sqlite = self.url.startswith("sqlite")
        self.engine = create_engine(
            self.url,
            pool_pre_ping=not is_sqlite,
            connect_args={"check_same_thread": False, "timeout": 15} if is_sqlite else {},
        )
        if is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self._ready = False

    def ensure_schema(self) -> None:
        """Create missing tables; tolerates a replica creating them at the same moment."""
        if self._ready:
            return
        try:
            Base.metadata.create_all(self.engine)
        except (IntegrityError, ProgrammingError):  # another replica won the race
            Base.metadata.create_all(self.engine)
        except OperationalError as exc:
            raise StorageError(f"database unavailable: {exc.orig}") from exc
        self._ready = True

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means "not reachable"
            return False

    def save_turn(
        self,
        turn_id: str,
        *,
        channel: str,
        task: str,
        lang: str,
        message: str,
        history: list[dict[str, str]],
        row: dict[str, Any],
    ) -> None:
        """Store one answered request; `row` is the API payload of the answer."""
        self.ensure_schema()
        record = TurnRow(
            id=turn_id,
            created_at=datetime.now(UTC),
            channel=channel,
            task=task,
            lang=lang,
            message=scrub(message) or "",
            history=[{"role": h["role"], "content": scrub(h["content"]) or ""} for h in history],
            answer=scrub(row.get("answer") or "") or "",
            citations=[c["chunk_id"] for c in row.get("citations", [])],
            topics=list(row.get("topics", [])),
            verdict=row.get("verdict"),
            urgent=bool(row.get("urgent")),
            refused=bool(row.get("refused")),
            mode=str(row.get("mode") or ""),
            latency_ms=float(row.get("latency_ms") or 0.0),
        )
        self._write(record)

    def save_feedback(self, turn_id: str, rating: str, comment: str | None = None) -> int | None:
        """Store feedback on a turn; its id, or None when the turn is unknown."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}")
        self.ensure_schema()
        with self._session() as session:
            if session.get(TurnRow, turn_id) is None:
                return None
        record = FeedbackRow(
            turn_id=turn_id, created_at=datetime.now(UTC), rating=rating, comment=scrub(comment)
        )
        self._write(record)
        return record.id

    def add_comment(self, feedback_id: int, comment: str) -> bool:
        """Attach (or replace) the comment of an earlier feedback; False when unknown."""
        self.ensure_schema()
        with self._session.begin() as session:
            record = session.get(FeedbackRow, feedback_id)
            if record is None:
                return False
            record.comment = scrub(comment)
        return True

    def turn(self, turn_id: str) -> TurnRow | None:
        self.ensure_schema()
        with self._session() as session:
            return session.get(TurnRow, turn_id)

    def feedback_for(self, turn_id: str) -> list[FeedbackRow]:
        self.ensure_schema()
        with self._session() as session:
            query = (
                select(FeedbackRow).where(FeedbackRow.turn_id == turn_id).order_by(FeedbackRow.id)
            )
            return list(session.scalars(query))

    def export_cases(self, rating: str | None = "down") -> Iterator[dict[str, Any]]:
        """Rated turns as eval cases: batch input fields plus what was answered and said.

        Rows: {id, task, input, history, lang, source, rating, comment, answer, citations,
        topics, verdict, created}. `rating=None` exports every rating.
        """
        self.ensure_schema()
        query = (
            select(FeedbackRow, TurnRow)
            .join(TurnRow, FeedbackRow.turn_id == TurnRow.id)
            .order_by(FeedbackRow.id)
        )
        if rating is not None:
            query = query.where(FeedbackRow.rating == rating)
        with self._session() as session:
            for fb, turn in session.execute(query):
                yield {
                    "id": f"feedback-{fb.id}",
                    "task": turn.task,
                    "input": turn.message,
                    "history": turn.history,
                    "lang": turn.lang,
                    "source": f"feedback:{turn.channel}",
                    "rating": fb.rating,
                    "comment": fb.comment,
                    "answer": turn.answer,
                    "citations": turn.citations,
                    "topics": turn.topics,
                    "verdict": turn.verdict,
                    "created": fb.created_at.isoformat() if fb.created_at else None,
                }

    def _write(self, record: Base) -> None:
        try:
            with self._session.begin() as session:
                session.add(record)
        except OperationalError as exc:
            raise StorageError(f"database unavailable: {exc.orig}") from exc

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers and one writer work at once; good enough for one process."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
