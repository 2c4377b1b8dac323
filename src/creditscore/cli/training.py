"""``creditscore train``: candidates, tuning, calibration, policy, tracking and the gate."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from creditscore.cli.app import app, console
from creditscore.cli.common import fmt, plain, print_path


class _RichProgress:
    """Draws one progress bar per candidate and prints stage lines."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.started = time.perf_counter()

    def stage(self, text: str) -> None:
        elapsed = time.perf_counter() - self.started
        self.progress.console.print(f"[dim]> {elapsed:5.0f} s[/dim]  {plain(text)}")

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
        if not self.progress.console.is_terminal:  # a log file sees no bars until the end
            seconds = result.tuning.seconds + result.fit_seconds
            trials = f"{result.tuning.n_trials} trials, " if result.tuning.n_trials else ""
            self.stage(f"{result.label}: {trials}CV AUC {result.cv_auc_mean:.4f}, {seconds:.0f} s")


def train_with_progress(cfg: Any) -> Any:
    """Train ``cfg`` with a progress bar per candidate and a line per stage."""
    from creditscore.training.train import train as run_training

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[best]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        return run_training(cfg, _RichProgress(bar))


def _one_sided_policy(
    m: dict[str, Any], threshold: float, bayes: float, cost_fn: float, cost_fp: float
) -> None:
    """Warn when the policy approves nobody (or everybody) on the test split."""
    from creditscore.evaluation.threshold import one_sided

    what = one_sided(m.get("approval_rate"), threshold, bayes, cost_fn, cost_fp)
    n = m["tn"] + m["fp"] + m["fn"] + m["tp"]
    if what is None or n == 0:
        return
    bad_rate = (m["tp"] + m["fn"]) / n
    hint = (
        "lower costs.false_negative or add inputs that separate the risk better"
        if m["approval_rate"] == 0.0
        else "raise costs.false_negative if some declines are intended"
    )
    console.print(
        f"[yellow]Warning: the policy {what}; the bad rate is {bad_rate:.1%}; {hint}.[/yellow]"
    )


def _print_training(result: Any) -> None:
    prov = result.provenance
    table = Table(title="Candidates: CV on train, then the validation set")
    for col in ("candidate", "select", "CV AUC", "valid AUC", "KS", "Brier", "trials", "s"):
        table.add_column(col, justify="left" if col == "candidate" else "right")
    for r in sorted(result.candidates, key=lambda c: c.selection_auc, reverse=True):
        champion = r.name == result.champion
        trials = f"{r.tuning.n_trials}/{r.tuning.n_pruned}p" if r.tuning.n_trials else "-"
        table.add_row(
            r.name + (" *" if champion else ""),
            f"{r.selection_auc:.4f}",
            f"{r.cv_auc_mean:.4f}",
            fmt(r.valid_auc, 4),
            fmt(r.valid_ks, 3),
            fmt(r.valid_brier, 4),
            trials + ("d" if r.tuning.kept_defaults else ""),
            f"{r.tuning.seconds + r.fit_seconds:.0f}",
            style="bold green" if champion else None,
        )
    table.caption = (
        f"* champion: {result.champion_result.label}, by {prov.choice}; trials n/Np = "
        "run/pruned, d = "
        "defaults kept (tuning gained less than one standard error); s = tuning + fitting "
        f"seconds\nselect: {prov.selection}; CV AUC: train's folds alone; valid AUC, KS, "
        f"Brier: {prov.candidates}"
    )
    console.print(table)

    m = result.test_metrics
    metrics = Table(title=f"Champion, fitted on {prov.fitted_on}, on {prov.test}")
    metrics.add_column("metric")
    metrics.add_column("value", justify="right")
    for key in (
        "roc_auc",
        "gini",
        "ks",
        "pr_auc",
        "brier",
        "log_loss",
        "rmse",
        "mae",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "specificity",
        "approval_rate",
        "bad_rate_approved",
        "expected_cost",
    ):
        metrics.add_row(key, fmt(m.get(key), 4))
    metrics.add_row(
        "confusion (tn fp fn tp)", f"{m['tn']:.0f} {m['fp']:.0f} {m['fn']:.0f} {m['tp']:.0f}"
    )
    console.print(metrics)

    pol = result.policy
    s = pol.summary()
    console.print(
        f"[bold]Policy[/bold] (version {pol.version}): decline when PD >= {pol.threshold:.4f}"
        f" (Bayes threshold {s['bayes_threshold']:.4f}), refer within ±{pol.refer_margin:.3f};"
        f" calibration: {result.calibration.method}; costs FN {pol.cost_fn:g} / FP"
        f" {pol.cost_fp:g}."
    )
    _one_sided_policy(m, pol.threshold, s["bayes_threshold"], pol.cost_fn, pol.cost_fp)
    console.print(f"  threshold: {plain(prov.threshold)}")
    console.print(f"  calibration: {plain(prov.calibration)}")
    dev = result.development_metrics
    console.print(
        f"  development ({prov.development}): ROC-AUC {fmt(dev.get('roc_auc'), 4)},"
        f" Brier {fmt(dev.get('brier'), 4)}, expected cost {fmt(dev.get('expected_cost'), 4)}"
    )
    console.print(
        "Risk bands: "
        + ", ".join(f"{n} ≤ {c:.2f}" for n, c in pol.bands)
        + f"; score {pol.base_points:g} at odds {pol.base_odds:g}:1, {pol.pdo:g} points to double."
    )
    print_path("Bundle:", result.bundle_path)
    print_path("Plots: ", result.bundle_path / "plots")
    fairness = result.assessment.fairness
    if fairness:
        gate = fairness.gate
        colour = "green" if not gate.violations else ("red" if not gate.passed else "yellow")
        console.print(
            f"[{colour}]Fairness gate ({gate.mode}): {gate.violations} violation(s)"
            f"{'' if gate.passed else ', this version cannot be promoted'}[/{colour}]"
        )
        for line in gate.reasons + gate.notes:
            console.print(f"  - {plain(line)}")
    console.print(f"Done in {result.seconds:.0f} s.")


@app.command()
def train(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="project YAML from `creditscore init` (default: ./creditscore.yaml when "
            "it exists, else the bundled German data)",
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

    Without --config: ./creditscore.yaml if present, else the bundled German data.

    Prints a table of candidates (selection AUC, CV AUC, valid AUC, KS, Brier, seconds),
    the champion's test metrics and decision policy, and where the bundle and plots are;
    each figure says which rows it comes from (``final_fit`` in the config: the shipped
    model learns from train + valid, the default, or from train only).
    Then writes the model card, logs everything to MLflow (``CREDITSCORE_TRACKING_URI``,
    default ``sqlite:///mlflow.db`` here), registers a new version and makes it champion
    only if it is not worse than the current champion on the same test rows.
    """
    from creditscore.cli.common import discover_config, project_config

    config = discover_config(config)
    cfg = project_config(config)
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
        f"Training [bold]{plain(cfg.name)}[/bold] on {plain(source)}; "
        f"candidates: {', '.join(cfg.candidates)}"
    )
    result = train_with_progress(cfg)
    _print_training(result)
    if track:
        _track(result)


def _track(result: Any) -> None:
    from creditscore import registry, tracking
    from creditscore.reporting.model_card import build_model_card

    console.print("[dim]>[/dim] Writing the model card and logging to MLflow")
    card = build_model_card(result, result.bundle_path / "model_card")
    tracked = tracking.log_training(result, card_paths=card)
    fairness = result.assessment.fairness
    outcome = registry.register_and_gate(
        tracked, result, fairness_ok=fairness.passed if fairness else None
    )
    console.print(("[green]" if outcome.promoted else "[yellow]") + plain(outcome.message()))
    print_path("Model card:", outcome.card_paths.get("html", card["html"]))
    console.print(
        f"MLflow run {tracked.run_id}: {tracked.run_url or tracking.ui_hint(tracked.tracking_uri)}"
    )
