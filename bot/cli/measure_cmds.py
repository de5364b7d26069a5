"""`antiscam bench` and `antiscam eval`: measure speed and quality, write reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from bot.cli.common import console, load_settings


@click.command()
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
    from bot.bench.run import parse_sizes, run

    try:
        size_list = parse_sizes(sizes)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--sizes") from exc
    load_settings()
    click.echo(json.dumps(run(out_path, questions, size_list), ensure_ascii=False, indent=2))


@click.command(name="eval")
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

    settings = load_settings()
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
