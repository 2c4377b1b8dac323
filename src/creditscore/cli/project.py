"""``creditscore init``: inspect a data file and write the project config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from creditscore.cli.app import app, console


@app.command()
def init(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="CSV, TSV, Parquet or Excel (.xlsx, first sheet) file of past applications "
            "(or give it with --data)",
            show_default=False,
            metavar="FILE",
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", "-d", help="the same file, as an option", show_default=False),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            "-t",
            help="column holding the good/bad outcome (default: the one column named like "
            "an outcome, such as default, bad, status or target)",
            show_default=False,
        ),
    ] = None,
    positive: Annotated[
        list[str] | None,
        typer.Option(
            "--positive",
            "-p",
            help="value of the target that marks a bad (default: inferred); repeat it for "
            "each bad value of a target with more than two (a loan status)",
        ),
    ] = None,
    negative: Annotated[
        list[str] | None,
        typer.Option(
            "--negative",
            "-n",
            help="value of the target that marks a good; repeat it for each. A row with a "
            "value in neither list is indeterminate and left out of training (default: "
            "every value that is not a bad)",
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="where to write the config")
    ] = Path("creditscore.yaml"),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing config")] = False,
) -> None:
    """Inspect a data file and write a commented creditscore.yaml.

    Every column gets a role and the reason, printed here and written beside it in the YAML:
    ids, dates, constant, empty, unusable and high-cardinality columns and likely outcome
    leakage are excluded; protected attributes (sex, race and ethnicity, age, marital and
    family status, religion, national origin, public assistance, disability; named in
    English, German, French or Spanish, as one 0/1 column per group, as a date of birth, or
    found by their values) are sensitive: never inputs, reasons or counterfactual levers.
    Every input gets its type (numbers written for people, such as '13.95%', '$1,200' or
    '1.234,56', are numbers); text codes in numbers ('n/a') and sentinels (-999) are
    proposed as special codes; inputs that predict a protected attribute are flagged as
    possible proxies; inputs are proposed as actionable or immutable for counterfactuals.
    CSV delimiters (, ; tab |) are detected.

    A target with more than two values, such as a loan status, needs `--positive` for each
    value that marks a bad, e.g. `--positive "Charged Off" --positive "Default"`;
    `--negative "Fully Paid"` then names the goods, and rows with any other value
    ("Current") are indeterminate: left out of training.
    """
    from creditscore.cli.common import plain, print_path
    from creditscore.exceptions import ConfigError
    from creditscore.init import init_project

    if file is not None and data is not None and file != data:
        raise ConfigError(f"two data files given ({file} and --data {data}): give one")
    data = file or data
    if data is None:
        raise ConfigError(
            "give the file of past applications: creditscore init applications.csv "
            "[--target COLUMN]"
        )

    with console.status(f"Reading {plain(data.name)} and looking at every column ..."):
        inference = init_project(
            data, target, positive or None, output, negative=negative or None, force=force
        )
    table = Table(title=f"Columns of {plain(data.name)}", show_lines=False, expand=True)
    longest = max((len(c) for c, _, _ in inference.rows()), default=6)
    table.add_column("column", overflow="fold", min_width=min(longest, 24))
    table.add_column("role", no_wrap=True)
    table.add_column("why", overflow="fold", ratio=1)
    styles = {
        "numeric": "green",
        "categorical": "green",
        "target": "bold cyan",
        "sensitive": "magenta",
    }
    for column, role, reason in inference.rows():
        style = styles.get(role, "yellow")
        table.add_row(plain(column), f"[{style}]{role}[/{style}]", plain(reason))
    console.print(table)
    strong = inference.proxies.strong if inference.proxies else []
    if strong:
        console.print(
            f"[yellow]{len(strong)} possible proxy(ies) of protected attributes[/yellow] "
            "(kept as inputs, flagged in the YAML and the model card): "
            + plain("; ".join(f"{p.feature} -> {p.text()}" for p in strong))
        )
    for note in inference.notes:
        console.print(f"[yellow]Note:[/yellow] {plain(note)}")
    print_path("Wrote", output)
    here = output.resolve() == (Path.cwd() / "creditscore.yaml").resolve()
    command = "creditscore train" if here else f"creditscore train --config {output}"
    console.print(f"Review it, then run: {command}", soft_wrap=True)
