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
            date = c.date.rstrip(".")
            click.echo(f"[{c.n}] {c.title} — {c.publisher}, {date}. {c.url}")


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


@main.command(name="index-status")
def index_status() -> None:
    """Exit 0 when the index exists and matches knowledge/, else 1 (used by `make run`)."""
    from bot.app import build_store
    from bot.ingest import build_chunks
    from bot.store import get_all

    settings = _settings()
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
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print verdict, flags and citations as JSON.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None)
def check(text: str, as_json: bool, lang: str | None) -> None:
    """Check a suspicious message: verdict, red flags quoted from it, cited evidence."""
    from bot.app import build_app
    from bot.responder import Responder

    answer = Responder(build_app(_settings())).respond(text, lang=lang, task="check")
    if as_json:
        data = _answer_dict(answer)
        data["check"] = answer.extra.get("check")
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        _print_answer(answer)


@main.command()
def chat() -> None:
    """Interactive chat in the terminal (empty line or Ctrl-D to quit)."""
    from bot.app import build_app
    from bot.responder import Responder

    responder = Responder(build_app(_settings()))
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
        _print_answer(answer)
        history += [
            {"role": "user", "content": message},
            {"role": "assistant", "content": answer.text},
        ]


@main.command()
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

    responder = Responder(build_app(_settings()))
    lines = in_path.read_text(encoding="utf-8").splitlines()

    def respond(row: dict):
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


@main.command()
@click.option(
    "--knowledge-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None
)
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
    table.add_row(
        "total (articles)",
        str(sum(a.lang == "zh" for a in articles)),
        str(sum(a.lang == "en" for a in articles)),
        str(sum(c.lang == "zh" for c in chunks)),
        str(sum(c.lang == "en" for c in chunks)),
    )
    Console(width=120).print(table)


@main.command()
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("eval/reports/bench.json"),
    show_default=True,
    help="Where the JSON goes; the growth plot goes next to it with .png.",
)
@click.option(
    "--questions", default=120, show_default=True, help="How many eval questions to time."
)
@click.option(
    "--sizes",
    default="1000,10000,100000",
    show_default=True,
    help="Corpus sizes (chunks) for the growth runs, comma-separated; '' skips them.",
)
def bench(out_path: Path, questions: int, sizes: str) -> None:
    """Benchmark ingest, answers, retrievers and growth; JSON to --out and stdout, plot beside."""
    from bot.bench import parse_sizes, run

    try:
        size_list = parse_sizes(sizes)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--sizes") from exc
    _settings()
    click.echo(json.dumps(run(out_path, questions, size_list), ensure_ascii=False, indent=2))


@main.command(name="eval")
@click.argument("more_datasets", nargs=-1, metavar="")
@click.option(
    "--datasets",
    "datasets",
    multiple=True,
    metavar="NAME ...",
    help="Datasets to run (default: all), e.g. --datasets questions urgent eval-dev/harmful_requests.",
)
@click.option(
    "--generator",
    type=click.Choice(["extractive", "openai"]),
    default=None,
    help="Override BOT_GENERATOR.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("eval/reports/latest"),
    show_default=True,
    help="Where metrics.json, cases.jsonl and report.html go.",
)
@click.option(
    "--baseline",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A previous metrics.json to compare with.",
)
@click.option(
    "--check",
    "check_floors",
    is_flag=True,
    help="Exit 1 when a metric is below its floor in eval/thresholds.yaml.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Only the first N rows of each dataset.",
)
@click.option(
    "--judge",
    is_flag=True,
    help="Also score answers with an LLM judge (needs an OpenAI-compatible endpoint).",
)
@click.option(
    "--thresholds",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Floors file (default eval/thresholds.yaml).",
)
def eval_command(
    more_datasets: tuple[str, ...],
    datasets: tuple[str, ...],
    generator: str | None,
    out_dir: Path,
    baseline: Path | None,
    check_floors: bool,
    limit: int | None,
    judge: bool,
    thresholds: Path | None,
) -> None:
    """Measure retrieval, answers, safety, checks and latency over eval/datasets; write a report."""
    from bot.app import build_app
    from bot.evaluation import gate
    from bot.evaluation import judge as llm_judge
    from bot.evaluation.console import print_run
    from bot.evaluation.datasets import resolve_names
    from bot.evaluation.runner import HEADLINE, run_eval, write_outputs

    settings = _settings()
    if generator:
        settings = settings.model_copy(update={"generator": generator})
    try:
        names = resolve_names([*datasets, *more_datasets])
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--datasets") from exc
    judge_model = None
    if judge and llm_judge.endpoint_configured(settings):
        judge_model = llm_judge.make_judge_model(settings)
    base = json.loads(baseline.read_text(encoding="utf-8")) if baseline else None
    run = run_eval(build_app(settings), names, limit, base, judge_model, console)
    if judge and judge_model is None:
        run.metrics["judge"] = {
            "skipped": "no OpenAI-compatible endpoint configured (OPENAI_BASE_URL / OPENAI_API_KEY)"
        }
    checks = gate.evaluate(run.metrics, gate.load_thresholds(thresholds or gate.THRESHOLDS_PATH))
    run.metrics["gate"] = [
        {"metric": c.metric, "op": c.op, "bound": c.bound, "value": c.value, "status": c.status}
        for c in checks
    ]
    paths = write_outputs(out_dir, run.metrics, run.results, checks)
    print_run(Console(width=120), run.metrics, HEADLINE, checks)
    click.echo(f"wrote {paths['metrics']}, {paths['cases']}, {paths['report']}")
    failed = [c for c in checks if c.failed]
    if check_floors and failed:
        click.echo(
            f"FAILED: {len(failed)} metric(s) below their floor: "
            + ", ".join(c.metric for c in failed),
            err=True,
        )
        sys.exit(1)


@main.command()
@click.option("--host", default=None, help="Bind address (default BOT_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default BOT_PORT, 7860).")
def serve(host: str | None, port: int | None) -> None:
    """Start the web server: Gradio UI at /, JSON/SSE API at /api, widget at /widget.js."""
    import os

    # The bundled e5 engine's OpenMP threads spin while waiting; on small or shared CPUs that
    # makes each query ~30x slower. Passive waiting must be set before the engine loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # Concurrent requests: one single-threaded e5 copy per core beats one copy using every core.
    os.environ.setdefault("BOT_EMBED_THREADS", "1")
    os.environ.setdefault("BOT_EMBED_COPIES", str(min(os.cpu_count() or 1, 4)))
    import uvicorn

    from bot.app import build_app
    from bot.web.server import create_app
    from bot.web.settings import WebSettings

    settings = _settings()
    web = WebSettings.from_env()
    app = create_app(build_app(settings), web)
    try:  # load the index, embedder, triage and the check's examples now, not on a request
        app.state.service.responder.respond("贷款前先交保证金是诈骗吗？")
        app.state.service.responder.respond("放款前请先缴纳保证金", task="check")
    except Exception as exc:  # noqa: BLE001 - the server starts anyway and answers 503
        console.print(f"[yellow]index not ready: {exc}[/yellow]", markup=True, highlight=False)
    uvicorn.run(
        app,
        host=host or web.host,
        port=port or web.port,
        proxy_headers=True,
        forwarded_allow_ips=web.forwarded_allow_ips,
        log_level="info",
    )


@main.group(name="feedback")
def feedback_group() -> None:
    """Feedback collected by the web server."""


@feedback_group.command(name="export")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write JSONL here (default: standard output).",
)
@click.option(
    "--rating", type=click.Choice(["down", "up", "all"]), default="down", show_default=True
)
def feedback_export(out_path: Path | None, rating: str) -> None:
    """Rated answers as eval cases (JSONL rows `antiscam batch` accepts), PII already redacted."""
    from bot.web.settings import WebSettings
    from bot.web.storage import Storage

    storage = Storage(WebSettings.from_env().database_url_for(_settings().data_dir))
    rows = storage.export_cases(None if rating == "all" else rating)
    out = out_path.open("w", encoding="utf-8") if out_path else sys.stdout
    count = 0
    try:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if out_path:
            out.close()
    console.print(f"exported {count} case(s)" + (f" to {out_path}" if out_path else ""))


if __name__ == "__main__":
    main()
