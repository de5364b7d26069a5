"""knowledge/ -> validated articles -> chunks -> the live index, incrementally.

Validation (format and lint) runs first; any problem aborts before the store is touched, so
a bad article changes nothing. Unchanged chunks are not re-embedded; removed articles leave
the index. Shows a progress bar when asked. Retrieval and answering are elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot.answer.chunker import chunk_articles
from bot.answer.knowledge import KnowledgeError, load_knowledge
from bot.answer.lint import lint_articles
from bot.answer.store import KnowledgeStore, SyncReport
from bot.records import Chunk
from bot.taxonomy import Taxonomy


def build_chunks(knowledge_dir: Path, strict: bool = True) -> list[Chunk]:
    """Load, validate and chunk the knowledge base; raise KnowledgeError on any problem."""
    taxonomy = Taxonomy.load(Path(knowledge_dir) / "taxonomy.yaml")
    articles = load_knowledge(knowledge_dir, taxonomy)
    if strict:
        problems = lint_articles(articles, knowledge_dir)
        if problems:
            raise KnowledgeError(problems)
    return chunk_articles(articles)


def ingest(
    store: KnowledgeStore,
    knowledge_dir: Path,
    rebuild: bool = False,
    show_progress: bool = False,
    batch_size: int = 32,
) -> SyncReport:
    chunks = build_chunks(knowledge_dir)
    if not show_progress:
        return store.sync(chunks, rebuild=rebuild, batch_size=batch_size)
    with Progress(
        TextColumn("[bold]ingest[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task("chunks", total=len(chunks))
        report = store.sync(
            chunks, rebuild=rebuild, batch_size=batch_size, progress=lambda n: bar.advance(task, n)
        )
        bar.update(task, completed=len(chunks))
    return report
