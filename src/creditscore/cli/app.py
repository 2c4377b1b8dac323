"""The Typer application and the consoles every command module prints to."""

from __future__ import annotations

from typing import Annotated

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
    # Markdown: help paragraphs are filled to the terminal (not broken where the
    # docstring breaks), `code` is shown as code, and [brackets] are text, not styles
    rich_markup_mode="markdown",
)
console = Console()
err_console = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        from creditscore import __version__

        console.print(f"creditscore {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Every command reads ./creditscore.yaml when it exists (``--config`` reads another);
    without one, the bundled German credit demo."""
