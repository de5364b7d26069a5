"""The `antiscam` command line: ingest, ask, chat, batch, lint, kb-stats.

A thin adapter over `app.build_app` and `responder.Responder`; it loads `.env`, prints, and
sets exit codes. No pipeline logic lives here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from bot.config import Settings, enforce_offline

console = Console(stderr=True)


def _settings() -> Settings:
    from dotenv import load_dotenv

    load_dotenv()
    enforce_offline()
    return Settings.from_env()


def _answer_dict(answer) -> dict:
    from bot.batch import answer_row

    row = answer_row(None, "chat", answer, answer.extra.get("latency_ms", 0.0))
    row.pop("id")
    row["notice"] = answer.notice
    row["grounded"] = answer.grounded
    row["lang"] = answer.lang
    return row


def _print_answer(answer) -> None:
    if answer.notice:
        click.secho(answer.notice, fg="yellow")
    click.echo(answer.text)
    if answer.citations:
        click.echo()
        for c in answer.citations:
            click.echo(f"[{c.n}] {c.title} — {c.publisher}, {c.date}. {c.url}")


@click.group()
def main() -> None:
    """AntiScam Assistant (反诈助手): offline fraud-awareness answers with citations."""


@main.command()
@click.option("--rebuild", is_flag=True, help="Re-embed everything into a fresh index.")
def ingest(rebuild: bool) -> None:
    """Validate knowledge/ and bring the index up to date (incremental)."""
    from bot.app import build_store
    from bot.ingest import ingest as run_ingest
    from bot.knowledge import KnowledgeError

    settings = _settings()
    store = build_store(settings)
    try:
        report = run_ingest(store, settings.knowledge_dir, rebuild=rebuild, show_progress=True, batch_size=settings.embed_batch)
    except KnowledgeError as exc:
        console.print(f"[red]ingest aborted, index unchanged.[/red]\n{exc}", markup=True, highlight=False)
        sys.exit(1)
    if report.unchanged:
        console.print(f"index up to date: {report.total} chunks ({report.seconds:.2f}s)")
    else:
        console.print(
            f"indexed {report.total} chunks: {report.added} embedded, {report.reused} reused, "
            f"{report.removed} removed in {report.seconds:.1f}s -> {report.collection}"
        )


@main.command(name="index-status")
def index_status() -> None:
    """Exit 0 when the index exists and matches knowledge/, else 1 (used by `make run`)."""
    from bot.app import build_store
    from bot.ingest import build_chunks

    settings = _settings()
    store = build_store(settings)
    pointer = store.pointer()
    if pointer is None:
        console.print("no index")
        sys.exit(1)
    chunks = build_chunks(settings.knowledge_dir, strict=False)
    col = store.client.get_collection(pointer.collection, embedding_function=None)
    got = col.get(include=["metadatas"])
    have = {i: m.get("content_hash") for i, m in zip(got["ids"], got["metadatas"], strict=True)}
    if have != {c.chunk_id: c.content_hash for c in chunks} or pointer.embedder != store.embeddings.id:
        console.print("index is stale")
        sys.exit(1)
    console.print(f"index up to date ({pointer.chunks} chunks)")


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None)
def ask(question: str, as_json: bool, lang: str | None) -> None:
    """Answer one question."""
    from bot.app import build_app
    from bot.responder import Responder

    responder = Responder(build_app(_settings()))
    answer = responder.respond(question, lang=lang)
    if as_json:
        click.echo(json.dumps(_answer_dict(answer), ensure_ascii=False, indent=2))
    else:
        _print_answer(answer)


@main.command()
def chat() -> None:
    """Interactive chat in the terminal (empty line or Ctrl-D to quit)."""
    from bot.app import build_app
    from bot.responder import Responder

    responder = Responder(build_app(_settings()))
    history: list[dict] = []
    console.print("反诈助手 AntiScam Assistant — 输入问题，空行退出 / type a question, empty line to quit.")
    while True:
        try:
            message = click.prompt("你/you", default="", show_default=False, prompt_suffix="> ")
        except (EOFError, click.Abort):
            break
        if not message.strip():
            break
        answer = responder.respond(message, history=history)
        _print_answer(answer)
        history += [{"role": "user", "content": message}, {"role": "assistant", "content": answer.text}]


@main.command()
@click.option("--in", "in_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
def batch(in_path: Path, out_path: Path) -> None:
    """Answer a JSONL file of {id, task, input, history?, lang?} rows."""
    from rich.progress import track

    from bot.app import build_app
    from bot.batch import run_batch
    from bot.responder import Responder

    responder = Responder(build_app(_settings()))
    lines = in_path.read_text(encoding="utf-8").splitlines()

    def respond(row: dict):
        return responder.respond(row["input"], row.get("history"), row.get("lang"), row.get("task", "chat"))

    errors = 0
    with out_path.open("w", encoding="utf-8") as out:
        for row in track(run_batch(lines, respond), total=sum(1 for x in lines if x.strip()), description="batch", console=console):
            errors += "error" in row
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    console.print(f"wrote {out_path} ({errors} row errors)")


@main.command()
@click.option("--knowledge-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
def lint(knowledge_dir: Path | None) -> None:
    """Check every article: format, sources, length, numbers and addresses."""
    from bot.knowledge import KnowledgeError, load_knowledge
    from bot.lint import lint_articles

    kdir = knowledge_dir or _settings().knowledge_dir
    try:
        articles = load_knowledge(kdir)
    except KnowledgeError as exc:
        for p in exc.problems:
            click.echo(str(p))
        sys.exit(1)
    problems = lint_articles(articles, kdir)
    for p in problems:
        click.echo(str(p))
    if problems:
        click.echo(f"{len(problems)} problem(s) in {len(articles)} articles", err=True)
        sys.exit(1)
    click.echo(f"ok: {len(articles)} articles")


@main.command(name="kb-stats")
def kb_stats() -> None:
    """Articles and chunks per topic per language."""
    from bot.chunker import chunk_articles
    from bot.knowledge import load_knowledge
    from bot.taxonomy import Taxonomy

    settings = _settings()
    taxonomy = Taxonomy.load(settings.knowledge_dir / "taxonomy.yaml")
    articles = load_knowledge(settings.knowledge_dir, taxonomy)
    chunks = chunk_articles(articles)
    table = Table(title="knowledge base")
    for col in ("topic", "zh articles", "en articles", "zh chunks", "en chunks"):
        table.add_column(col, justify="left" if col == "topic" else "right")
    for tid in taxonomy.topics:
        counts = [
            sum(1 for a in articles if tid in a.topics and a.lang == lang) for lang in ("zh", "en")
        ] + [sum(1 for c in chunks if tid in c.topics and c.lang == lang) for lang in ("zh", "en")]
        table.add_row(tid, *map(str, counts))
    table.add_row("total (articles)", str(sum(a.lang == "zh" for a in articles)), str(sum(a.lang == "en" for a in articles)),
                  str(sum(c.lang == "zh" for c in chunks)), str(sum(c.lang == "en" for c in chunks)))
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
