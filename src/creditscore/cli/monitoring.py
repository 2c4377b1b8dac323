"""``monitor``, ``outcomes`` and ``retrain``: is the model still working, and a new one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from creditscore.cli.app import app, console
from creditscore.cli.common import (
    ConfigOption,
    ModelOption,
    NameOption,
    VersionOption,
    fmt,
    plain,
)

DECISIONS = "decisions"
COLOURS = {"green": "green", "yellow": "yellow", "red": "bold red", "grey": "dim"}
STATUS_COLOURS = {"stable": "green", "watch": "yellow", "act": "bold red", "insufficient": "dim"}

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="decision log URL (default: CREDITSCORE_DATABASE_URL, else SQLite in "
        "CREDITSCORE_HOME)",
    ),
]


def _database(url: str | None) -> str:
    from creditscore.settings import get_settings

    return url or get_settings().decision_log_url()


def _scoring_run(path: Path, database: str | None) -> dict[str, Any] | None:
    """The completed ``creditscore score`` run that wrote ``path``, when ``path`` is such
    an output (its ``model_name`` and PD columns say so) and the run store has its record."""
    from creditscore.batch.output import looks_scored

    if not path.is_file() or not looks_scored(path):
        return None
    from creditscore.batch.runs import find_runs

    try:
        runs = find_runs(_database(database), output_path=str(path.expanduser().resolve()))
    except Exception:  # no run store here: the file is monitored as it is
        return None
    done = [r for r in runs if r.get("status") == "completed"]
    return done[0] if done else None


def _model_option(source: str) -> str:
    """The --model value of a run record's ``model_source`` (``path:DIR``,
    ``models:/NAME/VERSION`` or ``models:/NAME/VERSION (alias A)``)."""
    if source.startswith("path:"):
        return source[len("path:") :]
    return source.split(" (alias", 1)[0]


def _written_by(current: str, scored: dict[str, Any]) -> str:
    """The note saying whose output ``current`` is and what is monitored instead."""
    from creditscore.batch.engine import input_checksum
    from creditscore.data.ingest import TableStream
    from creditscore.exceptions import DataFileError

    source = Path(str(scored["input_path"]))
    if not source.exists():
        raise DataFileError(
            f"{current} was written by creditscore score (run {scored['run_id']}) from "
            f"{source}, which is gone; monitor the input file itself with --current FILE"
        )
    when = str(scored.get("finished_at") or "")[:16].replace("T", " ")
    note = (
        f"{current} is the output of creditscore score run {scored['run_id']} ({when}): "
        f"monitoring its input {source} with the model that scored it"
    )
    recorded = scored.get("input_checksum")
    if recorded and input_checksum(TableStream(source).parts) != recorded:
        note += " (the input has changed since that run: its checksum differs)"
    return note


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _light(light: str, text: str | None = None) -> str:
    return f"[{COLOURS.get(light, 'white')}]{text or light}[/]"


@app.command()
def monitor(
    current: Annotated[
        str,
        typer.Option(
            "--current",
            help="a CSV or Parquet file of applications (raw inputs, or a scored file with "
            "probability_of_default), the output of creditscore score (the run's input is "
            "monitored, with the model that scored it), or 'decisions' for the decision log",
        ),
    ] = DECISIONS,
    model: ModelOption = None,
    version: VersionOption = None,
    since: Annotated[
        str | None, typer.Option(help="first day (YYYY-MM-DD or ISO date-time) to include")
    ] = None,
    until: Annotated[str | None, typer.Option(help="last day to include (inclusive)")] = None,
    by: Annotated[
        str | None,
        typer.Option(
            help="cohorts: month, week, all, or a column (default: month for the decision "
            "log and files with a date; all otherwise)"
        ),
    ] = None,
    date_column: Annotated[
        str | None,
        typer.Option(help="a file's date column (default: the model's data.date_column)"),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(help="a file's outcome column (default: the model's target, if present)"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="folder for the HTML report and its JSON"),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="write the JSON result here ('-': stdout)")
    ] = None,
    database: DatabaseOption = None,
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """Drift, stability and performance of the model on current data, by cohort.

    Per cohort: PSI of the score and of every input (< 0.1 stable, 0.1-0.25
    watch, >= 0.25 act), an effect size per input (normed Wasserstein for
    numbers, Jensen-Shannon for categories; KS / chi-square p-values shown,
    never used alone), missing-rate change, out-of-range and unseen-category
    rates, approval / refer / decline rates and mean PD; from the decision
    log also volume, latency and failed requests (4xx / 5xx and the error
    rate, errors / (decisions + errors)). Once outcomes are loaded (creditscore
    outcomes): AUC with its change against development, Gini, KS, Brier, and
    backtesting by risk band (Jeffreys, binomial, Hosmer-Lemeshow) as
    traffic lights; cohorts still waiting for outcomes get a label-free
    estimate (CBPE), marked as such.

    The model: --model takes a bundle folder, models:/NAME/VERSION or
    models:/NAME@ALIAS, as score --model does; without it, --version of
    --name, else its champion.

    Exit code: 1 when a red alert fires, 0 otherwise (for schedulers); 2 on
    bad input. Thresholds: the monitoring section of --config, else those
    the model was trained with.

    Example: creditscore monitor --current decisions --since 2026-01-01
    --out monitoring/
    """
    from creditscore.cli.common import load_bundle, project_config
    from creditscore.monitoring import DecisionLogSource, FileSource, run
    from creditscore.monitoring.sources import parse_when

    scored = None if current == DECISIONS else _scoring_run(Path(current), database)
    if scored is not None:  # creditscore score's output: monitor its input, as scored
        if model is None and version is None:
            model = _model_option(str(scored["model_source"]))
        written_by = _written_by(current, scored)
        current = str(scored["input_path"])
    bundle, label = load_bundle(version, model, name, config)
    thresholds = project_config(config).monitoring if config else None
    chunk_rows = (thresholds or _bundle_thresholds(bundle)).chunk_rows
    start, end = parse_when(since, "--since"), parse_when(until, "--until", end=True)
    source: Any
    if current == DECISIONS:
        source = DecisionLogSource(
            bundle, by=by or "month", since=start, until=end, chunk_rows=chunk_rows,
            url=_database(database),
        )  # fmt: skip
    else:
        meta = bundle.metadata or {}
        default_by = "month" if (date_column or meta.get("date_column")) else "all"
        source = FileSource(
            bundle, by=by or default_by, since=start, until=end, chunk_rows=chunk_rows,
            path=Path(current), date_column=date_column, target=target,
        )  # fmt: skip
    if scored is not None:
        source.notes.insert(0, written_by)
        console.print(plain(written_by))
    console.print(
        f"Monitoring [bold]{plain(bundle.name)}[/bold] {plain(label)} on "
        f"{plain(source.description)} (cohorts: {plain(source.by)})"
    )
    total = source.total_rows()
    with Progress(
        TextColumn("reading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("rows", total=total)
        report = run(
            bundle,
            source,
            thresholds,
            model_version=label,
            on_chunk=lambda n: bar.update(task, advance=n),
        )
    _print_report(report)
    payload = report.to_dict()
    if out is not None:
        from creditscore.reporting.monitoring import write_report

        paths = write_report(report, out)
        console.print(
            f"Report: [bold]{plain(paths['html'])}[/bold]  (JSON: {plain(paths['json'])})"
        )
    if json_path is not None:
        text = json.dumps(payload, indent=2, allow_nan=False)
        if str(json_path) == "-":
            typer.echo(text)
        else:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(text + "\n", encoding="utf-8")
            console.print(f"JSON: [bold]{plain(json_path)}[/bold]")
    raise typer.Exit(report.exit_code)


def _bundle_thresholds(bundle: Any) -> Any:
    from creditscore.monitoring import monitoring_config

    return monitoring_config(bundle)


def _errors_text(e: Any) -> str:
    """A cohort's failed requests: '12 (2.1%)' coloured by status; '-' when they cannot be
    cut by this cohort, 'not recorded' for a log from before they were."""
    if e is None:
        return "-"
    if not e.recorded:
        return "[dim]not recorded[/]"
    colour = STATUS_COLOURS.get(e.status, "white")
    return f"[{colour}]{e.total:,} ({_pct(e.rate)})[/]"


def _print_report(report: Any) -> None:
    table = Table(title="Cohorts", title_justify="left")
    ops = any(c.operations is not None for c in report.cohorts)
    cols = ["cohort", "rows", "score PSI", "approve", "mean PD", "bad rate", "AUC"]
    for col in [*cols, *(["errors"] if ops else []), "verdict"]:
        table.add_column(col, justify="left" if col in ("cohort", "verdict") else "right")
    estimated = False
    for c in [*report.cohorts, *([report.overall] if len(report.cohorts) > 1 else [])]:
        perf = c.performance
        if perf is not None and perf.mature:
            bad, auc = _pct(perf.bad_rate), fmt(perf.auc, 3)
        else:
            bad, auc = f"~{_pct(c.estimate.bad_rate)}", f"~{fmt(c.estimate.auc, 3)}"
            estimated = True
        pooled = c is report.overall
        verdict = "-" if pooled else c.verdict
        errors = [_errors_text(c.operations.errors if c.operations else None)] if ops else []
        table.add_row(
            "all" if pooled else plain(c.cohort),
            f"{c.n:,}",
            f"[{STATUS_COLOURS.get(c.score.status, 'white')}]{fmt(c.score.psi, 3)}[/]",
            _pct(c.decisions.approval_rate),
            fmt(c.score.mean_pd, 3),
            bad,
            auc,
            *errors,
            _light(verdict) if verdict != "-" else "-",
            style="dim" if pooled else None,
        )
    if estimated:
        table.caption = "~ estimated from the PDs (no mature outcomes yet: CBPE)"
    console.print(table)

    worst: dict[str, Any] = {}
    rank = {"insufficient": -1, "stable": 0, "watch": 1, "act": 2}
    for c in report.cohorts:
        for f in c.features:
            best = worst.get(f.feature)
            key = (rank[f.status], f.psi or 0.0)
            if best is None or key > (rank[best[1].status], best[1].psi or 0.0):
                worst[f.feature] = (c.cohort, f)
    moved = sorted(worst.values(), key=lambda cf: (-rank[cf[1].status], -(cf[1].psi or 0.0)))
    inputs = Table(title="Inputs (worst cohort of each)", title_justify="left")
    for col in ("input", "cohort", "PSI", "effect", "p", "missing", "status"):
        inputs.add_column(col, justify="left" if col in ("input", "cohort", "status") else "right")
    shown = [cf for cf in moved if cf[1].status in ("watch", "act")] or moved[:5]
    for cohort, f in shown[:15]:
        p = "<0.001" if f.p_value is not None and f.p_value < 0.001 else fmt(f.p_value, 3)
        inputs.add_row(
            plain(f.feature),
            plain(cohort),
            fmt(f.psi, 3),
            fmt(f.effect_size, 3),
            p,
            _pct(f.missing_current),
            f"[{STATUS_COLOURS[f.status]}]{f.status}[/]",
        )
    stable = sum(1 for _, f in moved if f.status == "stable")
    inputs.caption = f"{stable} of {len(moved)} inputs stable in every cohort"
    console.print(inputs)

    for a in report.alerts[:12]:
        console.print(
            f"{_light(a.level, a.level.upper())} " + plain(f"{a.cohort} · {a.item}: {a.message}")
        )
    if len(report.alerts) > 12:
        console.print(f"... and {len(report.alerts) - 12} more alerts (see the report)")
    for note in report.notes:
        console.print(f"[dim]note: {plain(note)}[/dim]")
    console.print(
        "Verdict: " + _light(report.verdict, report.verdict.upper())
        + f" ({sum(a.level == 'red' for a in report.alerts)} red, "
        f"{sum(a.level == 'yellow' for a in report.alerts)} yellow alerts)"
    )  # fmt: skip


@app.command()
def outcomes(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of observed outcomes")],
    id_column: Annotated[
        str | None,
        typer.Option(help="column with the application id (default: the model's id column)"),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(help="column with the outcome (default: the model's target)"),
    ] = None,
    positive: Annotated[
        str | None,
        typer.Option(help="the outcome value that marks a bad (default: the model's)"),
    ] = None,
    allow_unknown: Annotated[
        bool,
        typer.Option(
            "--allow-unknown",
            help="load the ids the decision log knows even if some are unknown",
        ),
    ] = False,
    model: ModelOption = None,
    version: VersionOption = None,
    database: DatabaseOption = None,
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """Store observed outcomes (good / bad) of decided applications in the decision log.

    Linked to decisions by application id. Loading the same file twice
    changes nothing; a corrected label replaces the old one, which is kept
    with the time of the correction. Ids the decision log does not know are
    counted and shown, and then nothing is loaded unless --allow-unknown.
    `monitor` uses the outcomes for AUC and backtesting.

    Example: creditscore outcomes defaults-2026-06.csv --id-column
    application_id
    """
    from creditscore.exceptions import ConfigError
    from creditscore.monitoring.outcomes import load_outcomes

    meta: dict[str, Any] = {}
    if model is not None or version is not None or target is None or id_column is None:
        from creditscore.cli.common import load_bundle

        try:
            bundle, _ = load_bundle(version, model, name, config)
            meta = bundle.metadata or {}
        except Exception:
            if model is not None or version is not None:
                raise
    id_col = id_column or meta.get("id_column") or "application_id"
    target_col = target or meta.get("target")
    if not target_col:
        raise ConfigError("name the outcome column with --target (no model to take it from)")
    from creditscore.outcome import Outcome

    loaded = load_outcomes(
        _database(database),
        file,
        id_column=id_col,
        target=target_col,
        positive=Outcome.from_meta(meta, positive),
        allow_unknown=allow_unknown,
    )
    console.print(
        f"Outcomes from [bold]{plain(file)}[/bold]: {loaded.rows:,} rows; "
        f"{loaded.inserted:,} new, {loaded.corrected:,} corrected, "
        f"{loaded.unchanged:,} unchanged, {loaded.skipped:,} without an outcome yet"
    )
    if loaded.unknown:
        shown = plain(", ".join(loaded.unknown_examples))
        console.print(
            f"[yellow]{loaded.unknown:,} ids are not in the decision log (e.g. {shown}): "
            "not loaded[/yellow]"
        )


@app.command()
def retrain(
    data: Annotated[
        Path, typer.Option("--data", "-d", help="newer labelled applications (CSV or Parquet)")
    ],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="the project YAML (default: the bundled German config)"
        ),
    ] = None,
    trials: Annotated[int | None, typer.Option(help="override budget.trials per candidate")] = None,
    seconds: Annotated[
        float | None, typer.Option(help="override budget.seconds per candidate")
    ] = None,
) -> None:
    """Train a challenger on newer labelled data and let the registry's gate decide.

    The project's config with data.path set to --data: the same candidates,
    tuning, calibration and policy as `train`; the new version is
    registered, and it becomes champion only if it is not worse than the
    current champion on the same test rows (and passes the fairness gate
    where it blocks). For cron or a Kubernetes CronJob: exit 0 whether or
    not it was promoted (`creditscore models` shows the outcome), 2 on bad
    input.
    """
    from creditscore.cli.common import project_config
    from creditscore.cli.training import _print_training, _track, train_with_progress
    from creditscore.exceptions import DataFileError

    if not data.is_file():
        raise DataFileError(f"data file '{data}' not found; check the path")
    cfg = project_config(config)
    if config is None:
        cfg.base_dir = Path.cwd()
    cfg.data.path = str(data.expanduser().resolve())
    if trials is not None or seconds is not None:
        cfg.budget = cfg.budget.model_copy(
            update={k: v for k, v in {"trials": trials, "seconds": seconds}.items() if v}
        )
    console.print(f"Retraining [bold]{plain(cfg.name)}[/bold] on {plain(data)} as a challenger")
    result = train_with_progress(cfg)
    _print_training(result)
    _track(result)
