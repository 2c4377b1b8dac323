"""The ``creditscore`` command line: the only place commands are defined."""

from __future__ import annotations

import os
import sys
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
        "champion, and set a cost-based decision policy."
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

    def stage(self, text: str) -> None:
        self.progress.console.print(f"[dim]>[/dim] {text}")

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
