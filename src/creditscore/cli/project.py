"""``creditscore init``: inspect a data file and write the project config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from creditscore.cli.app import app, console


@app.command()
def init(
    data: Annotated[
        Path, typer.Option("--data", "-d", help="CSV or Parquet file of past applications")
    ],
    target: Annotated[
        str, typer.Option("--target", "-t", help="column holding the good/bad outcome")
    ],
    positive: Annotated[
        str | None,
        typer.Option(
            "--positive", "-p", help="value of the target that marks a bad (default: inferred)"
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="where to write the config")
    ] = Path("creditscore.yaml"),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing config")] = False,
) -> None:
    """Inspect a data file and write a commented creditscore.yaml.

    Finds numeric and categorical columns; excludes id-like, constant and all-missing
    columns and likely outcome leakage; lists protected attributes (sex, age, marital
    status, race, ethnicity, nationality, religion) as sensitive so they are never model
    inputs. Every exclusion is one line in the YAML that you can read and delete.
    """
    from creditscore.data.infer import init_project

    inference = init_project(data, target, positive, output, force=force)
    table = Table(title=f"Columns of {data.name}", show_lines=False)
    table.add_column("column")
    table.add_column("role")
    table.add_column("why")
    styles = {
        "numeric": "green",
        "categorical": "green",
        "target": "bold cyan",
        "sensitive": "magenta",
    }
    for column, role, reason in inference.rows():
        style = styles.get(role, "yellow")
        table.add_row(column, f"[{style}]{role}[/{style}]", reason)
    console.print(table)
    console.print(
        f"Wrote [bold]{output}[/bold]. Review it, then run: creditscore train --config {output}"
    )
