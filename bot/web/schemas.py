"""Request and response models of the HTTP API (they also make the OpenAPI docs).

Requests are validated here for shape only; message length and origins are checked in
`server.py` so their errors can speak the user's language. Responses are documented here
but built as plain dicts by `service.answer_payload`. No logic lives in this module.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Lang = Literal["zh", "en"]


class HistoryItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str


class ChatRequest(BaseModel):
    """A question, with the conversation so far (the server keeps none)."""

    message: str = Field(description="The user's question.")
    history: list[HistoryItem] = Field(
        default_factory=list, description="Earlier turns, oldest first."
    )
    lang: Lang | None = Field(
        None, description="Answer language; detected from the message if omitted."
    )
    stream: bool = Field(
        False, description="Answer as Server-Sent Events: `delta` events, then `answer`."
    )


class CheckRequest(BaseModel):
    """A message the user received and wants checked: its text, or a screenshot of it."""

    text: str | None = Field(None, description="The SMS, chat message or e-mail to check.")
    image: str | None = Field(None, description="A screenshot instead of text, base64.")
    lang: Lang | None = None


class FeedbackRequest(BaseModel):
    id: str = Field(description="The `id` of an answer.")
    rating: Literal["up", "down"]
    comment: str | None = None


class PassageOut(BaseModel):
    chunk_id: str
    quote: str


class CitationOut(BaseModel):
    n: int
    doc_id: str
    chunk_id: str
    title: str
    url: str
    topics: list[str]
    quote: str
    publisher: str = ""
    date: str = ""
    source_title: str = ""
    passages: list[PassageOut] = []  # every quoted passage of this article


class ChatResponse(BaseModel):
    """A batch output row (see README, Batch contract) plus display fields."""

    id: str
    task: str
    answer: str
    refused: bool
    urgent: bool
    verdict: str | None
    topics: list[str]
    citations: list[CitationOut]
    mode: str
    latency_ms: float
    notice: str | None = None
    lang: str


class ReadMessage(BaseModel):
    side: str = Field(description="left (the other party), right (the user), full or center.")
    text: str


class ReadOut(BaseModel):
    """What was read from a screenshot, personal numbers redacted."""

    text: str = Field(description="The text that was checked.")
    messages: list[ReadMessage]
    sides: bool
    dropped_lines: int
    size: list[int]
    ocr_ms: float


class CheckResponse(ChatResponse):
    read: ReadOut | None = Field(None, description="Only for a screenshot: what was read.")
    confidence: float | None = None
    red_flags: list[dict[str, Any]] = Field(default_factory=list)
    counter_signals: list[dict[str, Any]] = Field(default_factory=list)


class FeedbackResponse(BaseModel):
    ok: bool
    feedback_id: int


class ErrorResponse(BaseModel):
    error: str = Field(description="A stable code, e.g. message_too_long, rate_limited.")
    detail: str = Field(description="A sentence for the user, in their language.")


class HealthResponse(BaseModel):
    status: str
    index: dict[str, Any]
    database: str
