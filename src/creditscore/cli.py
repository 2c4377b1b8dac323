"""The ``creditscore`` command line: the only place commands are defined."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from creditscore.exceptions import CreditScoreError

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


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.{digits}f}"
    return str(value)


# --------------------------------------------------------------------------- init
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


# --------------------------------------------------------------------------- train
class _RichProgress:
    """Draws one progress bar per candidate and prints stage lines."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.started = time.perf_counter()

    def stage(self, text: str) -> None:
        elapsed = time.perf_counter() - self.started
        self.progress.console.print(f"[dim]> {elapsed:5.0f} s[/dim]  {text}")

    def candidate_start(self, name: str, label: str, total: int | None) -> None:
        self.tasks[name] = self.progress.add_task(f"{label:<22}", total=total, best="")

    def trial_done(self, name: str, n_done: int, best_auc: float) -> None:
        self.progress.update(self.tasks[name], completed=n_done, best=f"CV AUC {best_auc:.4f}")

    def candidate_end(self, name: str, result: Any) -> None:
        task = self.tasks.get(name)
        if task is not None:
            self.progress.update(
                task, total=result.tuning.n_trials, completed=result.tuning.n_trials
            )


def _print_training(result: Any) -> None:
    table = Table(title="Candidates: CV on train, then the validation set")
    for col in ("candidate", "CV AUC", "±", "valid AUC", "KS", "Brier", "trials", "fit s"):
        table.add_column(col, justify="left" if col == "candidate" else "right")
    for r in sorted(result.candidates, key=lambda c: c.cv_auc_mean, reverse=True):
        champion = r.name == result.champion
        table.add_row(
            r.name + (" *" if champion else ""),
            f"{r.cv_auc_mean:.4f}",
            f"{r.cv_auc_std:.3f}",
            _fmt(r.valid_auc, 4),
            _fmt(r.valid_ks, 3),
            _fmt(r.valid_brier, 4),
            f"{r.tuning.n_trials}/{r.tuning.n_pruned}p" if r.tuning.n_trials else "-",
            f"{r.fit_seconds:.2f}",
            style="bold green" if champion else None,
        )
    table.caption = f"* champion: {result.champion_result.label}; trials n/Np = run/pruned"
    console.print(table)

    m = result.test_metrics
    metrics = Table(
        title=f"Champion on the test set ({result.splits.sizes()['test']} rows"
        + (", out-of-time" if result.splits.out_of_time else "")
        + ")"
    )
    metrics.add_column("metric")
    metrics.add_column("value", justify="right")
    for key in (
        "roc_auc",
        "gini",
        "ks",
        "pr_auc",
        "brier",
        "log_loss",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "specificity",
        "approval_rate",
        "bad_rate_approved",
        "expected_cost",
    ):
        metrics.add_row(key, _fmt(m.get(key), 4))
    metrics.add_row(
        "confusion (tn fp fn tp)", f"{m['tn']:.0f} {m['fp']:.0f} {m['fn']:.0f} {m['tp']:.0f}"
    )
    console.print(metrics)

    pol = result.policy
    s = pol.summary()
    console.print(
        f"[bold]Policy[/bold] (version {pol.version}): decline when PD >= {pol.threshold:.4f}"
        f" (cost-optimal on valid; Bayes threshold {s['bayes_threshold']:.4f}),"
        f" refer within ±{pol.refer_margin:.3f}; calibration: {result.calibration.method};"
        f" costs FN {pol.cost_fn:g} / FP {pol.cost_fp:g}."
    )
    console.print(
        "Risk bands: "
        + ", ".join(f"{n} ≤ {c:.2f}" for n, c in pol.bands)
        + f"; score {pol.base_points:g} at odds {pol.base_odds:g}:1, {pol.pdo:g} points to double."
    )
    console.print(f"Bundle: [bold]{result.bundle_path}[/bold]")
    console.print(
        f"Plots:  [bold]{result.bundle_path / 'plots'}[/bold] ({', '.join(sorted(result.plots))})"
    )
    fairness = result.extras.get("fairness")
    if fairness:
        gate = fairness["gate"]
        colour = "green" if not gate["violations"] else ("red" if not gate["passed"] else "yellow")
        console.print(
            f"[{colour}]Fairness gate ({gate['mode']}): {gate['violations']} violation(s)"
            f"{'' if gate['passed'] else ', this version cannot be promoted'}[/{colour}]"
        )
        for line in gate["reasons"] + gate["notes"]:
            console.print(f"  - {line}")
    console.print(f"Done in {result.seconds:.0f} s.")


@app.command()
def train(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="project YAML from `creditscore init` (default: bundled German data)",
        ),
    ] = None,
    trials: Annotated[int | None, typer.Option(help="override budget.trials per candidate")] = None,
    seconds: Annotated[
        float | None, typer.Option(help="override budget.seconds per candidate")
    ] = None,
    candidates: Annotated[
        str | None, typer.Option(help="comma-separated candidates to run, overriding the config")
    ] = None,
    track: Annotated[
        bool,
        typer.Option(
            "--track/--no-track",
            help="log the run to MLflow, register the model and apply the champion gate",
        ),
    ] = True,
) -> None:
    """Train, tune and compare the candidates; calibrate the champion; set the policy.

    Prints a table of candidates (CV AUC mean ± std, valid AUC, KS, Brier, fit seconds),
    the champion's test metrics and decision policy, and where the bundle and plots are.
    Then writes the model card, logs everything to MLflow (``CREDITSCORE_TRACKING_URI``,
    default ``sqlite:///mlflow.db`` here), registers a new version and makes it champion
    only if it is not worse than the current champion on the same test rows.
    """
    from creditscore.config import ProjectConfig, german_config
    from creditscore.training.train import train as run_training

    cfg = ProjectConfig.from_yaml(config) if config else german_config()
    if config is None:
        cfg.base_dir = Path.cwd()
    if trials is not None or seconds is not None:
        budget = cfg.budget.model_copy(
            update={
                k: v for k, v in {"trials": trials, "seconds": seconds}.items() if v is not None
            }
        )
        cfg.budget = budget
    if candidates:
        cfg.candidates = [c.strip() for c in candidates.split(",") if c.strip()]
    source = config or "bundled German credit data"
    console.print(
        f"Training [bold]{cfg.name}[/bold] on {source}; candidates: {', '.join(cfg.candidates)}"
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[best]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        result = run_training(cfg, _RichProgress(bar))
    _print_training(result)
    if track:
        _track(result)


def _track(result: Any) -> None:
    from creditscore import registry, tracking
    from creditscore.evaluation.report import build_model_card

    console.print("[dim]>[/dim] Writing the model card and logging to MLflow")
    card = build_model_card(result, result.bundle_path / "model_card")
    tracked = tracking.log_training(result, card_paths=card)
    fairness = result.extras.get("fairness") or {}
    outcome = registry.register_and_gate(tracked, result, fairness_ok=fairness.get("passed"))
    console.print(("[green]" if outcome.promoted else "[yellow]") + outcome.message())
    console.print(f"Model card: [bold]{outcome.card_paths.get('html', card['html'])}[/bold]")
    console.print(
        f"MLflow run {tracked.run_id}: {tracked.run_url or tracking.ui_hint(tracked.tracking_uri)}"
    )


# --------------------------------------------------------------------------- registry
NameOption = Annotated[
    str | None,
    typer.Option("--name", "-n", help="registered model name (default: from --config or German)"),
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="project YAML whose `name` to use")
]


def _model_name(name: str | None, config: Path | None) -> str:
    from creditscore.config import ProjectConfig, german_config
    from creditscore.settings import get_settings

    if name:
        return name
    if get_settings().model_name:
        return str(get_settings().model_name)
    return (ProjectConfig.from_yaml(config) if config else german_config()).name


@app.command()
def models(name: NameOption = None, config: ConfigOption = None) -> None:
    """List the registered versions: aliases, key test metrics, gate, who promoted and why."""
    from creditscore import registry

    table = Table(title=f"Versions of {_model_name(name, config)}")
    for col in ("version", "aliases", "created", "model", "test AUC", "Brier", "gate", "by", "why"):
        table.add_column(col)
    for r in reversed(registry.list_versions(_model_name(name, config))):
        table.add_row(
            r.version,
            ", ".join(r.aliases) or "-",
            f"{r.created:%Y-%m-%d %H:%M}",
            r.candidate or "-",
            _fmt(r.test_auc, 4),
            _fmt(r.test_brier, 4),
            r.gate or "-",
            r.promoted_by or "-",
            r.promotion_reason or r.gate_reason or "-",
        )
    console.print(table)


@app.command()
def promote(
    version: Annotated[str, typer.Argument(help="version number to make champion")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="why (stored with the version)")],
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """Make VERSION the champion by hand, recording who and why (CREDITSCORE_USER or login)."""
    from creditscore import registry

    o = registry.promote(_model_name(name, config), version, reason)
    console.print(
        f"{o.name} v{o.version} is champion (was v{o.previous_champion or '-'}), by {o.user}"
    )


@app.command()
def rollback(
    reason: Annotated[str, typer.Option("--reason", "-r", help="why (stored with the version)")],
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """Give the champion alias back to the previous champion, recording who and why."""
    from creditscore import registry

    version = registry.rollback(_model_name(name, config), reason)
    console.print(f"champion is back to v{version}")


@app.command()
def report(
    version: Annotated[str, typer.Argument(help="registered version")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="folder for the HTML and Markdown")
    ] = Path("model_card"),
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """Write the model card of a registered version again (HTML and Markdown)."""
    from creditscore import registry

    paths = registry.render_model_card_for_version(_model_name(name, config), version, out)
    console.print(f"Model card: {paths['html']}  (Markdown: {paths['markdown']})")


# --------------------------------------------------------------------------- serving
@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind (0.0.0.0 for every one)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes")] = 1,
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="serve this bundle folder instead of the registry"),
    ] = None,
    alias: Annotated[
        str | None,
        typer.Option("--alias", help="registry alias to serve (default: champion)"),
    ] = None,
) -> None:
    """Run the decision API (FastAPI on uvicorn), with an audit log of every decision.

    Routes: POST /v1/decisions and /v1/decisions/batch, /v1/explanations,
    /v1/counterfactuals, /v1/fairness; GET /v1/model, /health, /ready, /metrics; OpenAPI
    docs at /docs.

    Clients send X-API-Key: set CREDITSCORE_API_KEYS (comma-separated keys or sha256:<hex>),
    and CREDITSCORE_ADMIN_KEYS for POST /v1/admin/reload; CREDITSCORE_DEV_MODE=true runs
    without keys (never in production). Every decision is logged to CREDITSCORE_DATABASE_URL
    (default: SQLite in CREDITSCORE_HOME). The registry alias is re-read every
    CREDITSCORE_RELOAD_INTERVAL seconds and a moved alias is swapped in without dropping
    requests.
    """
    from creditscore.serving.app import serve as run_service

    run_service(
        host=host,
        port=port,
        workers=workers,
        model_path=str(model) if model else None,
        alias=alias,
    )


# --------------------------------------------------------------------------- explain
ModelPathOption = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="a bundle folder instead of a registered version"),
]


def _load_bundle(
    version: str | None, model: Path | None, name: str | None, config: Path | None
) -> tuple[Any, str]:
    """(bundle, version label): a bundle folder, a registered version, or the champion."""
    from creditscore.bundle import ModelBundle

    if model is not None:
        return ModelBundle.load(model), f"bundle {model}"
    from creditscore import registry

    loaded = registry.load_bundle(_model_name(name, config), version=version)
    return loaded.bundle, f"v{loaded.version}" + (f" ({loaded.alias})" if loaded.alias else "")


def _project(config: Path | None) -> Any:
    from creditscore.config import ProjectConfig, german_config

    return ProjectConfig.from_yaml(config) if config else german_config()


def _application(source: str | None, row: int | None, config: Path | None) -> dict[str, Any]:
    """One application: a JSON file, '-' for standard input, or row N of the project data."""
    import json

    from creditscore.exceptions import ConfigError

    if (source is None) == (row is None):
        raise ConfigError("give an application as a JSON file (or - for stdin), or --row N")
    if row is not None:
        from creditscore.data.ingest import load_raw

        cfg = _project(config)
        frame = load_raw(cfg)
        if not 0 <= row < len(frame):
            raise ConfigError(f"--row {row}: the data has rows 0 to {len(frame) - 1}")
        record = frame.iloc[row].to_dict()
        return {k: (None if v != v else v) for k, v in record.items()}  # NaN -> None
    assert source is not None
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: expected one JSON object (field -> value)")
    return value


ApplicationArg = Annotated[
    str | None, typer.Argument(help="application as a JSON object in a file, or - for stdin")
]
RowOption = Annotated[
    int | None, typer.Option("--row", help="use row N (from 0) of the project's data instead")
]
VersionOption = Annotated[
    str | None, typer.Option("--version", "-v", help="registered version (default: champion)")
]


def _value(value: Any) -> str:
    """An applicant's value as they wrote it: 48, not 48.000."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _fmt(value, 4) if isinstance(value, float) else _fmt(value)


def _print_decision(d: Any, label: str) -> None:
    colour = {"approve": "green", "refer": "yellow", "decline": "red"}.get(d.decision, "white")
    console.print(
        f"[bold {colour}]{d.decision.upper()}[/bold {colour}]  PD {d.probability_of_default:.3f}"
        f"  score {d.score}  band {d.risk_band}  ({d.model_name} {label})"
    )


@app.command()
def explain(
    application: ApplicationArg = None,
    row: RowOption = None,
    version: VersionOption = None,
    model: ModelPathOption = None,
    top: Annotated[int, typer.Option(help="contributions to list")] = 10,
    lime: Annotated[bool, typer.Option("--lime", help="also fit LIME's local surrogate")] = False,
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """Why one application scored as it did: its decision, reason codes and contributions.

    Every feature's contribution to the log-odds of bad (positive: towards bad); protected
    attributes are shown but never reasons.

    Example: creditscore explain --row 3   (row 3 of the bundled German data, champion model)
    """
    from creditscore.explain.reasons import BASE_VALUE
    from creditscore.scorer import MAX_REASONS, Scorer

    bundle, label = _load_bundle(version, model, name, config)
    values = _application(application, row, config)
    scorer = Scorer(bundle, model_version=label)
    decision = scorer.decide(values, explain=True)
    _print_decision(decision, label)
    if scorer.explainer is None:
        raise typer.Exit(0)
    ex = scorer.explainer
    contribs = ex.explain_one(scorer.validate(values))
    table = Table(title=f"Reason codes (up to {MAX_REASONS}; method: {ex.method})")
    table.add_column("code", overflow="fold")
    table.add_column("reason")
    table.add_column("contribution", justify="right")
    for r in decision.reasons:
        table.add_row(r.code, r.text, f"{r.contribution:+.3f}")
    console.print(table)
    items = sorted(
        ((f, c) for f, c in contribs.items() if f != BASE_VALUE), key=lambda fc: -abs(fc[1])
    )
    table = Table(title=f"Contributions (base log-odds {contribs[BASE_VALUE]:+.3f})")
    for col in ("feature", "value", "contribution", ""):
        table.add_column(col)
    for f, c in items[:top]:
        note = "protected: never a reason" if f in ex.sensitive else ""
        table.add_row(f, _value(values.get(f)), f"{c:+.3f}", note)
    console.print(table)
    if lime:
        from creditscore.data.ingest import load_raw
        from creditscore.explain.global_ import lime_explanation

        background = load_raw(_project(config))
        out = lime_explanation(bundle, scorer.validate(values), background)
        table = Table(
            title=f"LIME (surrogate PD {out['local_probability_of_default']:.3f}, "
            f"R^2 {out['r2']:.2f})"
        )
        for col in ("condition", "weight on PD"):
            table.add_column(col)
        for w in out["weights"]:
            table.add_row(str(w["condition"]), f"{w['weight']:+.4f}")
        console.print(table)


@app.command()
def whatif(
    application: ApplicationArg = None,
    row: RowOption = None,
    version: VersionOption = None,
    model: ModelPathOption = None,
    options: Annotated[int, typer.Option(help="most options to show")] = 5,
    max_changes: Annotated[int, typer.Option(min=1, max=2, help="features changed at once")] = 2,
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """What would change the decision: the cheapest changes that would get it approved.

    Only actionable features change (the config's `actionable` list; never protected or
    immutable ones such as age); each option was re-scored by the model.

    Example: creditscore whatif --row 1
    """
    from creditscore.explain.counterfactual import counterfactuals
    from creditscore.scorer import Scorer

    bundle, label = _load_bundle(version, model, name, config)
    values = _application(application, row, config)
    scorer = Scorer(bundle, model_version=label, reasons=False)
    decision = scorer.decide(values)
    _print_decision(decision, label)
    if decision.decision == "approve":
        console.print("Already approved: nothing to change.")
        return
    found = counterfactuals(
        scorer,
        values,
        actionable=(bundle.metadata or {}).get("actionable"),
        max_changes=max_changes,
        max_options=options,
    )
    if not found:
        console.print(
            "[yellow]No change of one or two actionable features within the training "
            "range gets this application approved.[/yellow]"
        )
        return
    table = Table(title="Changes that would get this application approved (cheapest first)")
    for col in ("changes", "new PD", "score", "cost"):
        table.add_column(col)
    for o in found:
        changes = "; ".join(
            f"{c.feature}: {_value(c.current)} -> {_value(c.proposed)}" for c in o.changes
        )
        table.add_row(changes, f"{o.probability_of_default:.3f}", str(o.score), f"{o.cost:.2f}")
    console.print(table)


@app.command()
def fairness(
    version: Annotated[
        str | None, typer.Argument(help="registered version (default: the champion)")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            "-d",
            help="labelled CSV/Parquet with the model inputs, the outcome and the protected "
            "columns (default: the test split of the project's data)",
        ),
    ] = None,
    model: ModelPathOption = None,
    intersect: Annotated[
        list[str] | None,
        typer.Option("--intersect", help="two group names joined by a comma, e.g. sex,age_group"),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="folder for the report (Markdown, HTML, plots)")
    ] = Path("fairness_report"),
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """Group fairness of a model's decisions at its policy threshold, with the gate.

    Approval rate, TPR, FPR, AUC and mean PD against bad rate per group; demographic
    parity, equal opportunity, equalized odds and the disparate impact ratio (4/5 rule),
    with bootstrap intervals. Exits 1 when a blocking gate fails.
    """
    import json

    import pandas as pd

    from creditscore.exceptions import ConfigError
    from creditscore.explain.fairness import (
        configured_gate,
        configured_groups,
        fairness_report,
        fairness_section,
    )

    bundle, label = _load_bundle(version, model, name, config)
    meta = bundle.metadata or {}
    settings = meta.get("fairness") or {}
    if data is not None:
        from creditscore.data.ingest import read_table

        frame = read_table(data)
        source = str(data)
    else:
        from creditscore.data.ingest import load_raw, validate
        from creditscore.data.split import split_indices

        cfg = _project(config)
        ds = validate(load_raw(cfg), cfg)
        idx = split_indices(ds.y, cfg.split, ds.dates).test
        frame = pd.concat([ds.X, ds.sensitive], axis=1).iloc[idx].reset_index(drop=True)
        frame[meta.get("target", cfg.data.target)] = ds.y[idx]
        meta = {**meta, "positive": 1}
        source = f"test split of {cfg.data_path or 'the bundled German data'} ({len(idx)} rows)"
        if meta.get("data_hash") and meta["data_hash"] != ds.data_hash:
            console.print("[yellow]The data differ from what this model was trained on.[/yellow]")
    groups = configured_groups(settings, meta.get("sensitive", []), frame)
    pairs = []
    for item in intersect or []:
        parts = [p.strip() for p in item.split(",")]
        if len(parts) != 2:
            raise ConfigError(f"--intersect {item!r}: expected two group names joined by a comma")
        pairs.append((parts[0], parts[1]))
    report = fairness_report(
        bundle,
        frame,
        groups=groups,
        intersections=pairs,
        target=meta.get("target"),
        positive=meta.get("positive"),
        n_boot=int(settings.get("n_boot", 500)),
        min_group_size=int(settings.get("min_group_size", 20)),
    )
    console.print(f"Fairness of {bundle.name} {label} on {source}")
    for a in report.attributes:
        table = Table(title=f"{a.name} ({a.column})")
        for col in ("group", "n", "bad rate", "mean PD", "approval", "TPR", "FPR", "AUC"):
            table.add_column(col)
        for g in a.groups:
            table.add_row(
                g.group + (" (small)" if g.small else ""),
                str(g.n),
                *(_fmt(v) for v in (g.bad_rate, g.mean_pd, g.approval_rate, g.tpr, g.fpr, g.auc)),
            )
        console.print(table)
        if a.note:
            console.print(f"  [dim]{a.note}[/dim]")
        for key, d in a.metrics.items():
            console.print(
                f"  {key.replace('_', ' ')}: {_fmt(d.value)} [{_fmt(d.ci[0])}, {_fmt(d.ci[1])}]"
                f" ({d.groups[0]} vs {d.groups[1]})"
            )
    gate = configured_gate(report, settings)
    for reason in gate.reasons:
        console.print(f"[yellow]gate ({gate.mode}):[/yellow] {reason}")
    if not gate.reasons:
        console.print(f"[green]gate ({gate.mode}): no violation[/green]")
    section = fairness_section(report, out)
    (out / "fairness.md").write_text(section["markdown"], encoding="utf-8")
    (out / "fairness.html").write_text(
        f"<!doctype html><meta charset='utf-8'><title>Fairness</title>{section['html']}",
        encoding="utf-8",
    )
    (out / "fairness.json").write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    console.print(f"Report: {out / 'fairness.html'} (Markdown, JSON and plots beside it)")
    if not gate.passed:
        raise typer.Exit(1)


def main() -> None:
    """Entry point: user mistakes print one clear message and exit 2, never a traceback."""
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    try:
        app()
    except CreditScoreError as exc:
        err_console.print(f"[bold red]error:[/bold red] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
