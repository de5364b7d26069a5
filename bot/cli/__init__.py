"""The `antiscam` command line (`bot.cli.main.main`)."""

from bot.cli.main import main

__all__ = ["main"]
