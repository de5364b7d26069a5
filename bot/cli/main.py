"""The `antiscam` command: one click group, its commands grouped by concern in sibling modules
(`knowledge_cmds`, `answer_cmds`, `measure_cmds`, `web_cmds`)."""

from __future__ import annotations

import click

from bot.cli.answer_cmds import ask, batch, chat, check, warm
from bot.cli.knowledge_cmds import index_status, ingest, kb_stats, lint
from bot.cli.measure_cmds import bench, eval_command
from bot.cli.web_cmds import feedback_group, serve


@click.group()
def main() -> None:
    """AntiScam Assistant (反诈助手): offline fraud-awareness answers with citations."""


for command in (ingest, index_status, ask, check, chat, batch, warm, lint, kb_stats, bench):
    main.add_command(command)
main.add_command(eval_command)
main.add_command(serve)
main.add_command(feedback_group)
