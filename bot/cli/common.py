"""What every `antiscam` command shares: settings from the environment (and `.env`), the
stderr console, and how an answer is printed or turned into JSON. No command lives here."""

from __future__ import annotations

import click
from rich.console import Console

from bot.config import Settings, enforce_offline

console = Console(stderr=True)


def load_settings() -> Settings:
    from dotenv import load_dotenv

    load_dotenv()
    enforce_offline()
    return Settings.from_env()


def answer_dict(answer) -> dict:
    from bot.batch import answer_row

    row = answer_row(None, "chat", answer, answer.extra.get("latency_ms", 0.0))
    row.pop("id")
    row["notice"] = answer.notice
    row["grounded"] = answer.grounded
    row["lang"] = answer.lang
    return row


def print_answer(answer) -> None:
    if answer.notice:
        click.secho(answer.notice, fg="yellow")
    click.echo(answer.text)
    if answer.citations:
        click.echo()
        for c in answer.citations:
            date = c.date.rstrip(".")
            click.echo(f"[{c.n}] {c.title} — {c.publisher}, {date}. {c.url}")
