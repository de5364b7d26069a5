"""`antiscam ask`, `check`, `chat` and `batch`: thin adapters over `Responder`; no pipeline
logic lives here."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.cli.common import answer_dict, console, load_settings, print_answer


@click.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None)
def ask(question: str, as_json: bool, lang: str | None) -> None:
    """Answer one question."""
    from bot.app import build_app
    from bot.responder import Responder

    responder = Responder(build_app(load_settings()))
    answer = responder.respond(question, lang=lang)
    if as_json:
        click.echo(json.dumps(answer_dict(answer), ensure_ascii=False, indent=2))
    else:
        print_answer(answer)


@click.command()
@click.argument("text", required=False)
@click.option(
    "--image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A screenshot (PNG, JPEG, WebP) to read and check instead of TEXT.",
)
@click.option("--json", "as_json", is_flag=True, help="Print verdict, flags and citations as JSON.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None)
def check(text: str | None, image: Path | None, as_json: bool, lang: str | None) -> None:
    """Check a suspicious message: verdict, red flags quoted from it, cited evidence."""
    from bot.app import build_app
    from bot.responder import Responder

    if (text is None) == (image is None):
        raise click.UsageError("give either TEXT or --image FILE")
    read = None
    if image is not None:
        text, read = read_image(image, lang)
    answer = Responder(build_app(load_settings())).respond(text or "", lang=lang, task="check")
    if as_json:
        data = answer_dict(answer)
        data["check"] = answer.extra.get("check")
        if read is not None:
            data["read"] = read
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        if read is not None:
            console.print("[bold]读到的文字 / text read:[/bold]")
            for m in read["messages"]:
                console.print(f"  [{m['side']}] {m['text']}", markup=False, highlight=False)
        print_answer(answer)


def read_image(path: Path, lang: str | None) -> tuple[str, dict]:
    """(text to check, redacted reading) of a screenshot; a refused picture exits with 2."""
    from bot.ocr.image import ImageProblem
    from bot.ocr.reader import ScreenshotReader
    from bot.web.text import t

    try:
        reading = ScreenshotReader().read(path.read_bytes())
    except ImageProblem as exc:
        raise click.ClickException(t(exc.key, lang, **exc.values)) from None
    return reading.text, reading.redacted()


@click.command()
def chat() -> None:
    """Interactive chat in the terminal (empty line or Ctrl-D to quit)."""
    from bot.app import build_app
    from bot.responder import Responder

    responder = Responder(build_app(load_settings()))
    history: list[dict] = []
    console.print(
        "反诈助手 AntiScam Assistant — 输入问题，空行退出 / type a question, empty line to quit."
    )
    while True:
        try:
            message = click.prompt("你/you", default="", show_default=False, prompt_suffix="> ")
        except (EOFError, click.Abort):
            break
        if not message.strip():
            break
        answer = responder.respond(message, history=history)
        print_answer(answer)
        history += [
            {"role": "user", "content": message},
            {"role": "assistant", "content": answer.text},
        ]


@click.command()
@click.option(
    "--in", "in_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True
)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
def batch(in_path: Path, out_path: Path) -> None:
    """Answer a JSONL file of {id, task, input, history?, lang?} rows."""
    from rich.progress import track

    from bot.app import build_app
    from bot.batch import run_batch
    from bot.responder import Responder

    responder = Responder(build_app(load_settings()))
    lines = in_path.read_text(encoding="utf-8").splitlines()

    def respond(row: dict):
        if row.get("image"):  # a screenshot path, read relative to the input file
            text, _read = read_image(in_path.parent / row["image"], row.get("lang"))
            return responder.respond(text, None, row.get("lang"), "check")
        return responder.respond(
            row["input"], row.get("history"), row.get("lang"), row.get("task", "chat")
        )

    errors = 0
    with out_path.open("w", encoding="utf-8") as out:
        for row in track(
            run_batch(lines, respond),
            total=sum(1 for x in lines if x.strip()),
            description="batch",
            console=console,
        ):
            errors += "error" in row
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    console.print(f"wrote {out_path} ({errors} row errors)")


@click.command()
def warm() -> None:
    """Train or load every model answers use (triage intent, question topics, the check's
    examples and wording) into BOT_CACHE_DIR, so the first real request does not pay for it."""
    import time

    from bot.app import build_app
    from bot.responder import Responder

    t0 = time.perf_counter()
    responder = Responder(build_app(load_settings()))
    responder.respond("贷款前先交保证金是诈骗吗？")
    responder.respond("Is a fee before my loan is paid out normal?")
    responder.respond("放款前请先缴纳保证金", task="check")
    console.print(f"models ready in {time.perf_counter() - t0:.1f}s")
