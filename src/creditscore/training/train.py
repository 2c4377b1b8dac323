"""Training orchestration: data -> candidates -> champion -> calibration -> policy -> bundle.

Plain functions, no MLflow and no printing: progress goes to an optional ``Progress``
object (the CLI draws bars with it), results come back as a ``TrainingResult``.

The champion is the candidate with the best mean cross-validated ROC-AUC on train (five
folds over 70 % of the data are a steadier judge than one 15 % validation set); the
validation set then calibrates it and sets the cost threshold, and the test set, touched
once, gives the figures we report.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier
from sklearn.metrics import roc_auc_score

from creditscore.bundle import ModelBundle
from creditscore.config import ProjectConfig
from creditscore.data.ingest import Dataset, load_raw, validate
from creditscore.data.profile import build_profile
from creditscore.data.schema import InputSchema
from creditscore.data.split import Splits, split_indices
from creditscore.evaluation.metrics import calibration_table, classification_metrics
from creditscore.evaluation.plots import save_evaluation_plots
from creditscore.evaluation.threshold import fit_policy
from creditscore.models.catalog import Context, get_candidates
from creditscore.policy import DecisionPolicy
from creditscore.training.assess import explain_and_check_fairness, fairness_groups
from creditscore.training.calibration import Calibration, calibrate
from creditscore.training.tuning import TuningResult, folds, tune

BLEND_STEPS = 10


class Progress(Protocol):
    def stage(self, text: str) -> None: ...
    def candidate_start(self, name: str, label: str, total: int | None) -> None: ...
    def trial_done(self, name: str, n_done: int, best_auc: float) -> None: ...
    def candidate_end(self, name: str, result: CandidateResult) -> None: ...


class _Silent:
    def stage(self, text: str) -> None:
        pass

    def candidate_start(self, name: str, label: str, total: int | None) -> None:
        pass

    def trial_done(self, name: str, n_done: int, best_auc: float) -> None:
        pass

    def candidate_end(self, name: str, result: CandidateResult) -> None:
        pass


@dataclass
class CandidateResult:
    name: str
    label: str
    tuning: TuningResult
    model: Any  # pipeline fitted on train with the best parameters
    fit_seconds: float
    valid_auc: float
    valid_ks: float
    valid_brier: float

    @property
    def cv_auc_mean(self) -> float:
        return self.tuning.cv_auc_mean

    @property
    def cv_auc_std(self) -> float:
        return self.tuning.cv_auc_std


@dataclass
class TrainingResult:
    config: ProjectConfig
    dataset: Dataset
    splits: Splits
    candidates: list[CandidateResult]
    champion: str
    calibration: Calibration
    policy: DecisionPolicy
    valid_metrics: dict[str, float]
    test_metrics: dict[str, float]
    calibration_table: pd.DataFrame
    bundle: ModelBundle
    bundle_path: Path
    plots: dict[str, Path]
    seconds: float
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def champion_result(self) -> CandidateResult:
        return next(c for c in self.candidates if c.name == self.champion)


def _fit(model: Any, X: pd.DataFrame, y: np.ndarray) -> tuple[Any, float]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return model, time.perf_counter() - start


def _valid_scores(model: Any, X: pd.DataFrame, y: np.ndarray) -> tuple[float, float, float]:
    from creditscore.evaluation.metrics import ks_statistic

    p = model.predict_proba(X)[:, 1]
    return (
        float(roc_auc_score(y, p)),
        float(ks_statistic(y, p)),
        float(np.mean((p - y) ** 2)),
    )


def _fold_auc(
    y: np.ndarray, proba: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]]
) -> list[float]:
    return [float(roc_auc_score(y[va], proba[va])) for _, va in splits]


def select_blend(
    oof: dict[str, np.ndarray],
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    max_steps: int = BLEND_STEPS,
) -> dict[str, int]:
    """Greedy forward ensemble selection on out-of-fold PDs (Caruana et al., 2004).

    Start from the best single candidate; at each step add (with replacement) the candidate
    whose inclusion raises the mean fold AUC of the averaged PD the most; stop when nothing
    helps. Returns member -> weight (how many times it was picked).
    """
    score = {name: float(np.mean(_fold_auc(y, p, splits))) for name, p in oof.items()}
    first = max(score, key=lambda n: score[n])
    picks = [first]
    total = oof[first].copy()
    best = score[first]
    for _ in range(max_steps):
        trials = {
            name: float(np.mean(_fold_auc(y, (total + p) / (len(picks) + 1), splits)))
            for name, p in oof.items()
        }
        name = max(trials, key=lambda n: trials[n])
        if trials[name] <= best + 1e-5:
            break
        picks.append(name)
        total += oof[name]
        best = trials[name]
    weights: dict[str, int] = {}
    for name in picks:
        weights[name] = weights.get(name, 0) + 1
    return weights


def _blend(
    results: list[CandidateResult],
    X: pd.DataFrame,
    y: np.ndarray,
    Xv: pd.DataFrame,
    yv: np.ndarray,
    config: ProjectConfig,
) -> CandidateResult | None:
    """A weighted soft-vote blend, kept only if it beats the best single candidate on CV."""
    if len(results) < 2:
        return None
    splits = folds(y, config.budget.cv_folds, config.budget.seed)
    by_name = {r.name: r for r in results}
    weights = select_blend({r.name: r.tuning.oof_proba for r in results}, y, splits)
    if len(weights) < 2:
        return None
    total = sum(weights.values())
    oof = np.sum([by_name[n].tuning.oof_proba * w for n, w in weights.items()], axis=0) / total
    fold_aucs = _fold_auc(y, oof, splits)
    members = [(n, clone(by_name[n].model)) for n in weights]
    blend = VotingClassifier(members, voting="soft", weights=[weights[n] for n, _ in members])
    model, seconds = _fit(blend, X, y)
    tuning = TuningResult(
        name="blend",
        best_params={"members": dict(weights)},
        cv_auc_folds=fold_aucs,
        oof_proba=oof,
        n_trials=0,
        n_pruned=0,
        seconds=0.0,
    )
    auc, ks, brier = _valid_scores(model, Xv, yv)
    label = "Blend of " + " + ".join(f"{n}×{w}" if w > 1 else n for n, w in weights.items())
    return CandidateResult("blend", label, tuning, model, seconds, auc, ks, brier)


def train(config: ProjectConfig, progress: Progress | None = None) -> TrainingResult:
    progress = progress or _Silent()
    start = time.perf_counter()
    progress.stage("Reading and validating data")
    ds = validate(load_raw(config), config)
    if config.fairness.enabled:  # a misnamed group column fails now, not after tuning
        fairness_groups(config, ds.with_sensitive())
    splits = split_indices(ds.y, config.split, ds.dates)
    X, y = ds.X, ds.y
    Xt, yt = X.iloc[splits.train], y[splits.train]
    Xv, yv = X.iloc[splits.valid], y[splits.valid]
    Xs, ys = X.iloc[splits.test], y[splits.test]
    ctx = Context(
        ds.numeric,
        ds.categorical,
        dict(config.data.special_codes),
        dict(config.data.monotone),
        config.budget.seed,
    )

    results: list[CandidateResult] = []
    for cand in get_candidates(config.candidates):
        progress.candidate_start(cand.name, cand.label, config.budget.trials)

        def on_trial(n: int, best: float, name: str = cand.name) -> None:
            progress.trial_done(name, n, best)

        tuning = tune(cand, Xt, yt, ctx, config.budget, on_trial=on_trial)
        model, seconds = _fit(cand.pipeline(tuning.best_params, ctx), Xt, yt)
        auc, ks, brier = _valid_scores(model, Xv, yv)
        res = CandidateResult(cand.name, cand.label, tuning, model, seconds, auc, ks, brier)
        results.append(res)
        progress.candidate_end(cand.name, res)

    if config.budget.blend:
        progress.stage("Trying a blend of the best candidates")
        blend = _blend(results, Xt, yt, Xv, yv, config)
        if blend is not None:
            results.append(blend)
            progress.candidate_end("blend", blend)

    champ = max(results, key=lambda r: (round(r.cv_auc_mean, 4), r.valid_auc))
    progress.stage(f"Calibrating {champ.label} on the validation set")
    cal = calibrate(champ.model, Xv, yv, config.policy.calibration, config.split.seed)
    pv = cal.model.predict_proba(Xv)[:, 1]
    policy = fit_policy(yv, pv, config.policy, config.costs)
    ps = cal.model.predict_proba(Xs)[:, 1]
    valid_metrics = classification_metrics(yv, pv, policy.threshold, config.costs)
    test_metrics = classification_metrics(ys, ps, policy.threshold, config.costs)
    calib = calibration_table(ys, ps)

    progress.stage("Saving the model bundle and plots")
    trained_at = datetime.now(UTC)
    folder = config.output_path / "bundles" / f"{config.name}-{trained_at:%Y%m%dT%H%M%S%f}"
    pt = cal.model.predict_proba(Xt)[:, 1]
    bundle = ModelBundle(
        model=cal.model,
        schema=InputSchema.from_frame(X, ds.numeric, ds.categorical, config.data.special_codes),
        policy=policy,
        profile=build_profile(Xt, ds.numeric, ds.categorical, pt),
        reasons=dict(config.reasons),
        metrics={
            "valid": valid_metrics,
            "test": test_metrics,
            "cv_auc_mean": champ.cv_auc_mean,
            "cv_auc_std": champ.cv_auc_std,
        },
        metadata={
            "name": config.name,
            "candidate": champ.name,
            "label": champ.label,
            "params": champ.tuning.best_params,
            "calibration": cal.method,
            "trained_at": trained_at.isoformat(),
            "data_hash": ds.data_hash,
            "rows": ds.n_rows,
            "bad_rate": ds.bad_rate,
            "target": ds.target,
            "positive": ds.positive,
            "id_column": config.data.id_column,
            "sensitive": list(config.sensitive),
            "numeric": list(ds.numeric),
            "categorical": list(ds.categorical),
            "splits": splits.sizes(),
            "out_of_time": splits.out_of_time,
            "actionable": config.actionable,
            "immutable": list(config.immutable),
            "allow_sensitive_as_features": dict(config.allow_sensitive_as_features),
            "date_column": config.data.date_column,
            "scoring": config.scoring.model_dump(mode="json"),
            "fairness": config.fairness.model_dump(mode="json"),
        },
    )
    bundle.save(folder)
    plots = save_evaluation_plots(ys, ps, policy, folder / "plots", title=f"{champ.name} (test)")
    result = TrainingResult(
        config=config,
        dataset=ds,
        splits=splits,
        candidates=results,
        champion=champ.name,
        calibration=cal,
        policy=policy,
        valid_metrics=valid_metrics,
        test_metrics=test_metrics,
        calibration_table=calib,
        bundle=bundle,
        bundle_path=folder,
        plots=plots,
        seconds=0.0,
    )
    progress.stage("Explaining the champion and checking fairness")
    explain_and_check_fairness(result)
    result.seconds = time.perf_counter() - start
    return result
