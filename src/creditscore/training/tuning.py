"""Optuna tuning of one candidate by stratified K-fold cross-validated ROC-AUC on train.

The candidate's defaults are always trial 0, and they are kept unless the best trial beats
them by more than one standard error of the paired fold differences (mean of best - default
over the folds against its standard error): with 20 trials on a few hundred rows the best
CV AUC is partly luck of the folds, and a gain within that noise is not worth shipping
parameters tuned to it. Trials report their running mean AUC after each fold and a
median pruner stops hopeless ones early. With a trial budget (and no time limit hit) a
study is reproducible for a given seed; a seconds budget makes the trial count depend on
the machine's speed.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from creditscore.config import BudgetConfig
from creditscore.exceptions import ModelError
from creditscore.models.catalog import Candidate, Context, Params


@dataclass
class TuningResult:
    name: str
    best_params: Params
    cv_auc_folds: list[float]
    oof_proba: np.ndarray  # out-of-fold PD of the best trial, aligned with the train rows
    n_trials: int
    n_pruned: int
    seconds: float
    trials: list[dict[str, Any]] = field(default_factory=list)
    # what a calibrator reads (decision_function or PD), out of fold, on the train rows
    oof_response: np.ndarray | None = None
    # the best trial's fold models on the holdout rows (the validation split with
    # final_fit: train_valid): row i scored by the fold model of its part, PD and response
    holdout_proba: np.ndarray | None = None
    holdout_response: np.ndarray | None = None
    # the defaults' fold AUCs (trial 0), and whether they were kept: the best trial's
    # gain over them was within one standard error (see :func:`clearly_better`)
    default_auc_folds: list[float] | None = None
    kept_defaults: bool = False

    @property
    def cv_auc_mean(self) -> float:
        return float(np.mean(self.cv_auc_folds))

    @property
    def cv_auc_std(self) -> float:
        return float(np.std(self.cv_auc_folds))


def folds(y: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(
        StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    )


@dataclass
class CrossValidation:
    """Fold AUCs and out-of-fold values of one configuration."""

    aucs: list[float]
    oof: np.ndarray  # PD, aligned with the rows cross-validated
    oof_response: np.ndarray  # what a calibrator reads (decision_function or PD)
    holdout_proba: np.ndarray | None = None  # holdout rows, by the fold model of their part
    holdout_response: np.ndarray | None = None


def holdout_parts(y: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Deal holdout rows to the folds, stratified: part ``k`` is scored by fold model ``k``,
    so every holdout row gets the PD of exactly one model, as every train row does."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(y)), y))
    parts = np.empty(len(y), dtype=np.int64)
    parts[order] = np.arange(len(y)) % n_folds
    return parts


def cross_validate(
    estimator: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    on_fold: Callable[[int, float], None] | None = None,
    holdout: tuple[pd.DataFrame, np.ndarray] | None = None,
) -> CrossValidation:
    """Fold AUCs and out-of-fold values. ``on_fold(i, running_mean)`` may raise to stop.

    ``holdout = (X_h, parts)``: fold model ``i`` also scores the holdout rows whose part is
    ``i`` (see :func:`holdout_parts`), at the cost of a prediction, not a fit.
    """
    from creditscore.training.calibration import response_kind

    oof = np.full(len(y), np.nan)
    oof_r = np.full(len(y), np.nan)
    h_proba = h_resp = None
    if holdout is not None:
        h_proba = np.full(len(holdout[1]), np.nan)
        h_resp = np.full(len(holdout[1]), np.nan)
    aucs: list[float] = []
    for i, (tr, va) in enumerate(splits):
        model = clone(estimator)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X.iloc[tr], y[tr])
            decision = response_kind(model) == "decision"
            proba = model.predict_proba(X.iloc[va])[:, 1]
            oof[va] = proba
            oof_r[va] = model.decision_function(X.iloc[va]) if decision else proba
            if holdout is not None and h_proba is not None and h_resp is not None:
                mine = np.flatnonzero(holdout[1] == i)
                if len(mine):
                    Xh = holdout[0].iloc[mine]
                    h_proba[mine] = model.predict_proba(Xh)[:, 1]
                    h_resp[mine] = model.decision_function(Xh) if decision else h_proba[mine]
        aucs.append(float(roc_auc_score(y[va], proba)))
        if on_fold is not None:
            on_fold(i, float(np.mean(aucs)))
    return CrossValidation(aucs, oof, oof_r, h_proba, h_resp)


def clearly_better(a: list[float], b: list[float]) -> bool:
    """Whether ``a``'s AUCs beat ``b``'s by more than one standard error of the paired
    differences (the same folds, so fold-to-fold difficulty cancels): the best trial over
    the defaults, a complex champion over a transparent one."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if len(diff) < 2:
        return bool(diff.mean() > 0)
    se = float(np.std(diff, ddof=1) / np.sqrt(len(diff)))
    return bool(diff.mean() > se)


def tune(
    candidate: Candidate,
    X: pd.DataFrame,
    y: np.ndarray,
    ctx: Context,
    budget: BudgetConfig,
    *,
    on_trial: Callable[[int, float], None] | None = None,
    holdout: tuple[pd.DataFrame, np.ndarray] | None = None,
) -> TuningResult:
    """Search the candidate's space; ``on_trial(n_done, best_auc)`` drives a progress bar.

    ``holdout = (X_h, parts)`` (see :func:`cross_validate`): the best trial's fold models'
    PDs on those rows come back too (``final_fit: train_valid`` cross-fits with them).
    """
    splits = folds(y, budget.cv_folds, budget.seed)
    best: dict[str, Any] = {"auc": -np.inf, "cv": None}
    default: dict[str, CrossValidation] = {}

    def objective(trial: optuna.Trial) -> float:
        params = candidate.suggest(trial)

        def report(i: int, running: float) -> None:
            trial.report(running, i)
            if trial.should_prune():
                raise optuna.TrialPruned()

        cv = cross_validate(candidate.pipeline(params, ctx), X, y, splits, report, holdout)
        mean = float(np.mean(cv.aucs))
        if trial.number == 0:
            default["cv"] = cv
        if mean > best["auc"]:
            best.update(auc=mean, cv=cv)
        return mean

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=budget.seed, n_startup_trials=8),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        study_name=candidate.name,
    )
    study.enqueue_trial(dict(candidate.defaults))

    def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if on_trial is not None:
            done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
            on_trial(len(study.trials), study.best_value if done else float("nan"))

    start = time.perf_counter()
    study.optimize(
        objective,
        n_trials=budget.trials,
        timeout=budget.seconds,
        callbacks=[callback],
        catch=(ValueError, RuntimeError, ArithmeticError),
    )
    seconds = time.perf_counter() - start
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
        reason = failed[0].system_attrs.get("fail_reason", "unknown") if failed else "no trial ran"
        raise ModelError(
            f"candidate {candidate.name!r}: every trial failed ({reason}); check the data "
            f"(enough rows of each class, no constant inputs) or drop it from `candidates`"
        )
    cv: CrossValidation = best["cv"]
    params = {**candidate.defaults, **study.best_params}
    kept = False
    base = default.get("cv")
    if base is not None and base is not cv and not clearly_better(cv.aucs, base.aucs):
        cv, params, kept = base, dict(candidate.defaults), True
    return TuningResult(
        name=candidate.name,
        best_params=params,
        cv_auc_folds=list(cv.aucs),
        oof_proba=cv.oof,
        oof_response=cv.oof_response,
        holdout_proba=cv.holdout_proba,
        holdout_response=cv.holdout_response,
        default_auc_folds=list(base.aucs) if base is not None else None,
        kept_defaults=kept,
        n_trials=len(study.trials),
        n_pruned=sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
        seconds=seconds,
        trials=[
            {"number": t.number, "state": t.state.name, "value": t.value, "params": t.params}
            for t in study.trials
        ],
    )
