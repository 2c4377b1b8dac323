"""``creditscore score``: a whole portfolio from a file, on this machine or on Spark."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from creditscore.cli.app import app, console, err_console
from creditscore.cli.common import ConfigOption, ModelOption, NameOption, fmt, plain


class _Bar:
    """The run's progress as a rich bar: rows, rows/s and time left."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]} rows  {task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=err_console,
            transient=False,
        )
        self.task: Any = None
        self.rows = self.resumed_at = 0
        self.began = time.perf_counter()
        self.by_bytes = False

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def stage(self, text: str) -> None:
        text = plain(text)  # a stage can name the Spark master: local[2]
        if self.task is None:
            err_console.print(f"[dim]{text} ...[/dim]")
        else:
            self.progress.update(self.task, description=text)

    def start(self, total_rows: int | None, total_bytes: int | None, done_rows: int) -> None:
        self.by_bytes = total_rows is None
        total = total_bytes if self.by_bytes else total_rows
        self.rows = self.resumed_at = done_rows
        self.began = time.perf_counter()
        self.task = self.progress.add_task(
            "Scoring",
            total=total,
            completed=0 if self.by_bytes else done_rows,
            rows=f"{done_rows:,}",
            rate="",
        )

    def advance(self, rows: int, bytes_read: int | None) -> None:
        self.rows += rows
        elapsed = max(time.perf_counter() - self.began, 1e-9)
        rate = f"{(self.rows - self.resumed_at) / elapsed:,.0f}/s"
        rows_text = f"{self.rows:,}"
        if self.by_bytes and bytes_read is not None:
            self.progress.update(self.task, completed=bytes_read, rows=rows_text, rate=rate)
        else:
            self.progress.update(self.task, advance=rows, rows=rows_text, rate=rate)


def _share(n: int, total: int) -> str:
    return f"{n:,} ({n / total:.1%})" if total else f"{n:,}"


def _summary(run: Any) -> None:
    from rich.table import Table

    t = run.tally
    table = Table(title="Scored", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("rows read", f"{t.rows:,}")
    table.add_row("scored", f"{t.scored:,}")
    rejected = _share(t.rejected, t.rows)
    if t.rejected:
        rejected += f", {t.problems:,} problems in {run.rejects_path.name}"
    table.add_row("rejected", rejected)
    for decision in ("approve", "refer", "decline"):
        table.add_row(decision, _share(t.decisions.get(decision, 0), t.scored))
    table.add_row("mean PD", fmt(t.mean_pd, 4))
    rate = f" ({run.rows_per_second:,.0f} rows/s)" if run.seconds > 0 else ""
    table.add_row("seconds", f"{run.seconds:,.1f}{rate}")
    if run.renamed:
        from creditscore.data.names import read_as

        table.add_row("read by name", plain(read_as(run.renamed)))
    table.add_row("model", plain(f"{run.model_name} {run.model_version} ({run.model_source})"))
    table.add_row("output", plain(run.output_path))
    table.add_row("rejects", plain(run.rejects_path))
    table.add_row("run record", run.run_id if run.recorded else "not written (see above)")
    console.print(table)


@app.command()
def score(
    input: Annotated[
        Path, typer.Argument(help="applications: CSV, Parquet, or a folder of Parquet files")
    ],
    output: Annotated[
        Path,
        typer.Argument(
            help="where the scores go: .parquet or .csv (one file), or a name without a "
            "suffix (a folder of Parquet parts)"
        ),
    ],
    model: ModelOption = None,
    engine: Annotated[
        str, typer.Option("--engine", help="pandas (this machine) or spark")
    ] = "pandas",
    master: Annotated[
        str | None,
        typer.Option(
            "--master",
            help="Spark master URL (default: CREDITSCORE_SPARK_MASTER, else local[2]; "
            "spark-submit's own master when run under spark-submit)",
        ),
    ] = None,
    reasons: Annotated[
        int,
        typer.Option("--reasons", min=0, help="reason codes per row, as columns (0: none)"),
    ] = 0,
    explain_all: Annotated[
        bool,
        typer.Option(
            "--explain-all", help="reason codes for every row, not only declines and referrals"
        ),
    ] = False,
    id_column: Annotated[
        str | None,
        typer.Option(
            "--id-column",
            help="input column copied to the output as the row's id (default: the model's "
            "id column when the input has it; else the input row number)",
        ),
    ] = None,
    keep: Annotated[
        str | None,
        typer.Option("--keep", help="other input columns to copy to the output: COL,COL,..."),
    ] = None,
    chunk_rows: Annotated[
        int,
        typer.Option(
            "--chunk-rows", min=1, help="rows read and scored at a time (bounds the memory)"
        ),
    ] = 100_000,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="continue an interrupted run into OUTPUT (pandas engine)"),
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="replace OUTPUT, or an interrupted run's leftovers"),
    ] = False,
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """Score every application in INPUT into OUTPUT, streaming with bounded memory.

    Each output row has the id (or row number) and --keep columns, probability_of_default,
    score, risk_band, decision, --reasons reason codes (reason_1_code, reason_1_feature,
    reason_1_text, reason_1_contribution, ...), model_name, model_version and
    policy_version. A row the model's input schema refuses never stops the run: it goes to
    OUTPUT's .rejects.csv with its row number, the field and the reason. A model input
    missing under its own name is read from the one column with the same words (CREDIT
    AMOUNT or creditAmount for credit_amount).

    OUTPUT appears only when the run is complete (it is written under a hidden .partial
    name first); rerunning into it asks for --resume or --overwrite. Every run is recorded
    (input checksum, model version, counts, start and end) in the decision-log database,
    CREDITSCORE_DATABASE_URL (default: SQLite in CREDITSCORE_HOME).

    --engine spark runs the same scoring on Apache Spark (pip install creditscore[spark]):
    the model is loaded once per executor from the registry or a bundle folder on shared
    storage.
    """
    from creditscore.batch import score_file
    from creditscore.cli.common import model_name
    from creditscore.exceptions import ConfigError

    if engine not in ("pandas", "spark"):
        raise ConfigError(f"--engine {engine!r}: choose pandas or spark")
    kept = [c.strip() for c in (keep or "").split(",") if c.strip()]
    ref: str | None = model
    if ref is None:
        ref = f"models:/{model_name(name, config)}@champion"
    with _Bar() as bar:
        run = score_file(
            input,
            output,
            model=ref,
            engine=engine,
            master=master,
            reasons=reasons,
            explain=True if explain_all else None,
            id_column=id_column,
            keep=kept,
            chunk_rows=chunk_rows,
            resume=resume,
            overwrite=overwrite,
            progress=bar,
        )
    if not run.recorded:
        err_console.print(
            f"[yellow]warning:[/yellow] the run record was not written "
            f"({plain(run.record_error)}); "
            "the output is complete"
        )
    _summary(run)
