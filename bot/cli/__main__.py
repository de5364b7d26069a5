"""`python -m bot.cli ...` runs the `antiscam` command."""

from bot.cli.main import main

main()
