"""`antiscam ingest`, `index-status`, `lint` and `kb-stats`: the knowledge base and its index."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from bot.cli.common import console, load_settings


@click.command()
@click.option("--rebuild", is_flag=True, help="Re-embed everything into a fresh index.")
def ingest(rebuild: bool) -> None:
    """Validate knowledge/ and bring the index up to date (incremental)."""
    from bot.answer.ingest import ingest as run_ingest
    from bot.answer.knowledge import KnowledgeError
    from bot.app import build_store

    settings = load_settings()
    store = build_store(settings)
    try:
        report = run_ingest(
            store,
            settings.knowledge_dir,
            rebuild=rebuild,
            show_progress=True,
            batch_size=settings.embed_batch,
        )
    except KnowledgeError as exc:
        console.print(
            f"[red]ingest aborted, index unchanged.[/red]\n{exc}", markup=True, highlight=False
        )
        sys.exit(1)
    if report.unchanged:
        console.print(f"index up to date: {report.total} chunks ({report.seconds:.2f}s)")
    else:
        console.print(
            f"indexed {report.total} chunks: {report.added} embedded, {report.reused} reused, "
            f"{report.removed} removed in {report.seconds:.1f}s -> {report.collection}"
        )


@click.command(name="index-status")
def index_status() -> None:
    """Exit 0 when the index exists and matches knowledge/, else 1 (used by `make run`)."""
    from bot.answer.ingest import build_chunks
    from bot.answer.store import get_all
    from bot.app import build_store

    settings = load_settings()
    store = build_store(settings)
    pointer = store.pointer()
    if pointer is None:
        console.print("no index")
        sys.exit(1)
    chunks = build_chunks(settings.knowledge_dir, strict=False)
    col = store.client.get_collection(pointer.collection, embedding_function=None)
    got = get_all(col, ["metadatas"])
    have = {i: m.get("content_hash") for i, m in zip(got["ids"], got["metadatas"], strict=True)}
    if (
        have != {c.chunk_id: c.content_hash for c in chunks}
        or pointer.embedder != store.embeddings.id
    ):
        console.print("index is stale")
        sys.exit(1)
    console.print(f"index up to date ({pointer.chunks} chunks)")


@click.command()
@click.option(
    "--knowledge-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None
)
def lint(knowledge_dir: Path | None) -> None:
    """Check every article: format, sources, length, numbers and addresses."""
    from bot.answer.knowledge import KnowledgeError, load_knowledge
    from bot.answer.lint import lint_articles

    kdir = knowledge_dir or load_settings().knowledge_dir
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


@click.command(name="kb-stats")
def kb_stats() -> None:
    """Articles and chunks per topic per language."""
    from bot.answer.chunker import chunk_articles
    from bot.answer.knowledge import load_knowledge
    from bot.taxonomy import Taxonomy

    settings = load_settings()
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
    table.add_row(
        "total (articles)",
        str(sum(a.lang == "zh" for a in articles)),
        str(sum(a.lang == "en" for a in articles)),
        str(sum(c.lang == "zh" for c in chunks)),
        str(sum(c.lang == "en" for c in chunks)),
    )
    Console(width=120).print(table)
