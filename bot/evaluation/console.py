"""Terminal output of an eval run: the headline metrics table and the gate lines (rich).

Only formatting: it reads the metrics dict and the gate checks and prints them; it does not
compute metrics, decide pass/fail or set exit codes (the CLI does).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from bot.evaluation.gate import GateCheck, lookup


def _fmt(value: Any) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def headline(metrics: dict[str, Any], rows: list[tuple[str, str, bool]]) -> Table:
    changes = (metrics.get("baseline") or {}).get("changes") or {}
    table = Table(title="antiscam eval")
    table.add_column("metric")
    table.add_column("value", justify="right")
    if changes:
        table.add_column("change", justify="right")
    for label, path, higher in rows:
        value = lookup(metrics, path)
        cells = [label, _fmt(value)]
        if changes:
            delta = (changes.get(path) or {}).get("delta")
            if delta is None or abs(delta) < 1e-9:
                cells.append("" if delta is None else "±0")
            else:
                color = "green" if (delta > 0) == higher else "red"
                cells.append(f"[{color}]{delta:+.4g}[/{color}]")
        table.add_row(*cells)
    return table


def print_run(
    console: Console,
    metrics: dict[str, Any],
    rows: list[tuple[str, str, bool]],
    checks: list[GateCheck] | None,
) -> None:
    console.print(headline(metrics, rows))
    for note in metrics.get("notes", []):
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    for check in checks or []:
        color = {"ok": "green", "FAIL": "red"}.get(check.status, "yellow")
        console.print(f"[{color}]{check.describe()}[/{color}]", highlight=False)
