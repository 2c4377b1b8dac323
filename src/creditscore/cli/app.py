"""The Typer application and the consoles every command module prints to."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="creditscore",
    help=(
        "Credit scoring from a table of past applications with good/bad outcomes: "
        "infer a project config, train and tune candidate models, pick and calibrate a "
        "champion, set a cost-based decision policy, govern versions in MLflow, serve "
        "decisions with reason codes, explain them and check fairness."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
