"""`antiscam serve` and `antiscam feedback export`: the web server and what it collected."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.cli.common import console, load_settings


@click.command()
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
    # Concurrent requests' query embeddings share one engine call (bot/answer/batching.py).
    os.environ.setdefault("BOT_EMBED_BATCH_WINDOW_MS", "3")
    import uvicorn

    from bot.app import build_app
    from bot.web.server import create_app
    from bot.web.settings import WebSettings

    settings = load_settings()
    web = WebSettings.from_env()
    deps = build_app(settings)
    app = create_app(deps, web)
    try:  # load the index, embedder, triage and the check's examples now, not on a request
        warm = getattr(deps.embeddings, "warm", None)
        if warm is not None:  # every e5 copy, not only the one the first answer uses
            warm()
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


@click.group(name="feedback")
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

    storage = Storage(WebSettings.from_env().database_url_for(load_settings().data_dir))
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
