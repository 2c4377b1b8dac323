"""Training orchestration: data -> candidates -> champion -> calibration -> policy -> bundle.

Plain functions, no MLflow and no printing: progress goes to an optional ``Progress``
object (the CLI draws bars with it), results come back as a ``TrainingResult``.

The champion is the candidate with the best *selection AUC*: the mean ROC-AUC over the
five CV folds of train and, as a sixth part, the validation rows (scored by the fold
models with ``final_fit: train_valid``, by the model fitted on train with ``train``). The
folds alone are what tuning maximised, so their best is partly luck; the validation rows
are out of sample for every candidate and took no part in tuning. A blend of candidates
is chosen on the same six parts. Then, by ``final_fit``:

- ``train_valid`` (default): calibration (method by cross-validated log loss) and the
  cost threshold come from cross-fitted out-of-fold PDs over train + valid: train rows
  from the selection CV's fold models, each validation row from the fold model of the part
  it is dealt to (none of them saw a validation row); the shipped model is the champion
  refitted on train + valid. No extra cross-fitting fits: the fold models are the ones
  selection already trained.
- ``train``: the champion fitted on train ships; the validation set calibrates it and
  sets the threshold.

Either way the test set (with a date column: the latest applications) is touched once,
for the figures we report, and ``TrainingResult.provenance`` says which rows every
figure comes from.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, field, replace
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
from creditscore.data.profile import PerformanceReference, build_profile, build_reference
from creditscore.data.schema import InputSchema
from creditscore.data.split import Splits, split_indices
from creditscore.evaluation.errors import ErrorAnalysis, error_analysis
from creditscore.evaluation.interactions import Interactions, interactions, save_interaction_plot
from creditscore.evaluation.metrics import (
    auc_standard_error,
    calibration_table,
    classification_metrics,
)
from creditscore.evaluation.plots import save_evaluation_plots
from creditscore.evaluation.threshold import fit_policy
from creditscore.features.preprocess import InputCleaner
from creditscore.models.catalog import Context, get_candidates
from creditscore.policy import DecisionPolicy
from creditscore.training.assess import Assessment, explain_and_check_fairness, fairness_groups
from creditscore.training.calibration import Calibration, calibrate, calibrate_responses
from creditscore.training.tuning import TuningResult, clearly_better, folds, holdout_parts, tune

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
    # pipeline with the best parameters: fitted on train with final_fit: train; with
    # train_valid unfitted (only the champion is fitted, on train + valid)
    model: Any
    fit_seconds: float
    # on the validation rows: by the model fitted on train (final_fit: train) or by the
    # selection CV's fold models (train_valid); see Provenance.candidates
    valid_auc: float
    valid_ks: float
    valid_brier: float
    # PDs of the validation rows behind valid_auc (a part of the selection)
    valid_proba: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def cv_auc_mean(self) -> float:
        return self.tuning.cv_auc_mean

    @property
    def selection_folds(self) -> list[float]:
        """The AUC of each part the champion is chosen on: the CV folds, then valid."""
        return [*self.tuning.cv_auc_folds, self.valid_auc]

    @property
    def selection_auc(self) -> float:
        return float(np.mean(self.selection_folds))

    @property
    def cv_auc_std(self) -> float:
        return self.tuning.cv_auc_std


@dataclass(frozen=True)
class Provenance:
    """Which rows every reported figure comes from (the CLI, the card and MLflow say it)."""

    final_fit: str  # train_valid | train
    fitted_on: str  # the rows the shipped model learnt from, in words
    fitted_rows: int
    selection: str
    candidates: str  # what the candidates' valid AUC / KS / Brier are
    calibration: str
    threshold: str
    development_key: str  # prefix of the development metrics' names: valid | oof_train_valid
    development: str  # what the development metrics are
    test: str
    choice: str = "the best selection AUC"  # how the champion was picked among candidates

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainingResult:
    config: ProjectConfig
    dataset: Dataset
    splits: Splits
    candidates: list[CandidateResult]
    champion: str
    calibration: Calibration
    policy: DecisionPolicy
    # the champion's metrics on the rows that set the threshold (provenance.development):
    # valid (final_fit: train) or cross-fitted out-of-fold train + valid (train_valid)
    development_metrics: dict[str, float]
    test_metrics: dict[str, float]
    calibration_table: pd.DataFrame
    bundle: ModelBundle
    bundle_path: Path
    plots: dict[str, Path]
    seconds: float
    provenance: Provenance | None = None
    fit_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    error_analysis: ErrorAnalysis | None = None  # on the test split
    interactions: Interactions | None = None  # tree champions (or a blend's tree member)
    #: explanations, protected-attribute use, proxies, fairness (training/assess.py)
    assessment: Assessment = field(default_factory=Assessment)

    @property
    def champion_result(self) -> CandidateResult:
        return next(c for c in self.candidates if c.name == self.champion)

    @property
    def valid_metrics(self) -> dict[str, float]:
        """The development metrics (kept for callers of the old name; which rows they come
        from is ``provenance.development``)."""
        return self.development_metrics


def _fit(model: Any, X: pd.DataFrame, y: np.ndarray) -> tuple[Any, float]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return model, time.perf_counter() - start


def _valid_pd(model: Any, X: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)


def _scores(y: np.ndarray, p: np.ndarray) -> tuple[float, float, float]:
    from creditscore.evaluation.metrics import ks_statistic

    return (
        float(roc_auc_score(y, p)),
        float(ks_statistic(y, p)),
        float(np.mean((p - y) ** 2)),
    )


def _fold_auc(y: np.ndarray, proba: np.ndarray, parts: list[np.ndarray]) -> list[float]:
    return [float(roc_auc_score(y[rows], proba[rows])) for rows in parts]


def select_blend(
    oof: dict[str, np.ndarray],
    y: np.ndarray,
    parts: list[np.ndarray],
    max_steps: int = BLEND_STEPS,
) -> dict[str, int]:
    """Greedy forward ensemble selection on out-of-sample PDs (Caruana et al., 2004).

    Start from the best single candidate; at each step add (with replacement) the candidate
    whose inclusion raises the mean AUC over ``parts`` (row indices: the CV folds, and the
    validation rows) of the averaged PD the most; stop when nothing helps. Returns member
    -> weight (how many times it was picked).
    """
    score = {name: float(np.mean(_fold_auc(y, p, parts))) for name, p in oof.items()}
    first = max(score, key=lambda n: score[n])
    picks = [first]
    total = oof[first].copy()
    best = score[first]
    for _ in range(max_steps):
        trials = {
            name: float(np.mean(_fold_auc(y, (total + p) / (len(picks) + 1), parts)))
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


def _weighted(arrays: list[np.ndarray], weights: list[int]) -> np.ndarray:
    """The soft vote's weighted mean (``np.average``, as ``VotingClassifier`` computes it)."""
    return np.average(np.asarray(arrays), axis=0, weights=weights)


def _blend(
    results: list[CandidateResult],
    X: pd.DataFrame,
    y: np.ndarray,
    Xv: pd.DataFrame,
    yv: np.ndarray,
    config: ProjectConfig,
) -> CandidateResult | None:
    """A weighted soft-vote blend, chosen on the selection's six parts (train's CV folds
    and valid: members' out-of-fold and validation PDs), kept only if it beats the best
    single candidate there.

    With ``final_fit: train`` it is fitted on train and scored on valid; with
    ``train_valid`` its out-of-fold and holdout PDs are the weighted means of its members'
    (the soft vote of the fold models), and it stays unfitted until it is the champion.
    """
    if len(results) < 2:
        return None
    splits = folds(y, config.budget.cv_folds, config.budget.seed)
    train_parts = [va for _, va in splits]
    parts = [*train_parts, np.arange(len(y), len(y) + len(yv))]
    by_name = {r.name: r for r in results}
    evidence = {r.name: np.concatenate([r.tuning.oof_proba, r.valid_proba]) for r in results}
    weights = select_blend(evidence, np.concatenate([y, yv]), parts)
    if len(weights) < 2:
        return None
    names, w = list(weights), [weights[n] for n in weights]
    oof = _weighted([by_name[n].tuning.oof_proba for n in names], w)
    fold_aucs = _fold_auc(y, oof, train_parts)
    members = [(n, clone(by_name[n].model)) for n in names]
    blend = VotingClassifier(members, voting="soft", weights=w)
    holdout = None
    if all(by_name[n].tuning.holdout_proba is not None for n in names):
        holdout = _weighted([by_name[n].tuning.holdout_proba for n in names], w)  # type: ignore[misc]
    tuning = TuningResult(
        name="blend",
        best_params={"members": dict(weights)},
        cv_auc_folds=fold_aucs,
        oof_proba=oof,
        n_trials=0,
        n_pruned=0,
        seconds=0.0,
        oof_response=oof,  # a soft vote has no decision_function: calibrators read its PD
        holdout_proba=holdout,
        holdout_response=holdout,
    )
    label = "Blend of " + " + ".join(f"{n}×{k}" if k > 1 else n for n, k in weights.items())
    if config.final_fit == "train":
        model, seconds = _fit(blend, X, y)
        pv = _valid_pd(model, Xv)
        auc, ks, brier = _scores(yv, pv)
        return CandidateResult("blend", label, tuning, model, seconds, auc, ks, brier, pv)
    assert holdout is not None
    auc, ks, brier = _scores(yv, holdout)
    return CandidateResult("blend", label, tuning, blend, 0.0, auc, ks, brier, holdout)


@dataclass
class _Data:
    """The validated data set cut into the three splits."""

    ds: Dataset
    splits: Splits
    Xt: pd.DataFrame
    yt: np.ndarray
    Xv: pd.DataFrame
    yv: np.ndarray
    Xs: pd.DataFrame
    ys: np.ndarray


@dataclass
class _Shipped:
    """The calibrated model that ships, and what its calibration and threshold learnt from."""

    calibration: Calibration
    fit_rows: np.ndarray  # positional rows the shipped model was fitted on
    dev_rows: np.ndarray  # positional rows of the development PDs
    dev_y: np.ndarray
    dev_pd: np.ndarray  # calibrated PDs of dev_rows, each out of sample
    provenance: Provenance


def protected_names(config: ProjectConfig) -> list[str]:
    """The sensitive columns and the derived features computed from one (allowed as an
    input with a reason): never reason codes or counterfactual levers, whatever else the
    config says."""
    from creditscore.features.derived import parse_derived

    sensitive = list(config.sensitive)
    listed = set(sensitive)
    for f in parse_derived(config.features.derived):
        if listed & {*f.numbers, *f.dates} and f.name not in listed:
            sensitive.append(f.name)
            listed.add(f.name)
    return sensitive


def context_for(config: ProjectConfig, ds: Dataset) -> Context:
    """What every candidate pipeline needs: the model's numbers (inputs, then derived
    features), categories, special codes, monotone constraints and the derived expressions."""
    return Context(
        ds.model_numeric,
        ds.categorical,
        dict(config.data.special_codes),
        dict(config.data.monotone),
        config.budget.seed,
        derived=dict(ds.derived),
        decimal_comma=list(config.data.decimal_comma),
    )


def _read(config: ProjectConfig) -> _Data:
    ds = validate(load_raw(config), config)
    if config.fairness.enabled:  # a misnamed group column fails now, not after tuning
        fairness_groups(config, ds.with_sensitive())
    splits = split_indices(ds.y, config.split, ds.dates)
    X, y = ds.X, ds.y
    return _Data(
        ds,
        splits,
        X.iloc[splits.train],
        y[splits.train],
        X.iloc[splits.valid],
        y[splits.valid],
        X.iloc[splits.test],
        y[splits.test],
    )


def _candidates(
    config: ProjectConfig, d: _Data, ctx: Context, progress: Progress
) -> list[CandidateResult]:
    """Tune every candidate by CV on train. With ``final_fit: train`` each is then fitted
    on train and scored on valid; with ``train_valid`` the fold models also score the
    validation rows dealt to them, and nothing else is fitted."""
    cross_fit = config.final_fit == "train_valid"
    holdout = (d.Xv, holdout_parts(d.yv, config.budget.cv_folds, config.budget.seed))
    results: list[CandidateResult] = []
    for cand in get_candidates(config.candidates):
        progress.candidate_start(cand.name, cand.label, config.budget.trials)

        def on_trial(n: int, best: float, name: str = cand.name) -> None:
            progress.trial_done(name, n, best)

        tuning = tune(
            cand,
            d.Xt,
            d.yt,
            ctx,
            config.budget,
            on_trial=on_trial,
            holdout=holdout if cross_fit else None,
        )
        pipeline = cand.pipeline(tuning.best_params, ctx)
        if cross_fit:
            assert tuning.holdout_proba is not None
            pv = tuning.holdout_proba
            model, seconds = pipeline, 0.0
        else:
            model, seconds = _fit(pipeline, d.Xt, d.yt)
            pv = _valid_pd(model, d.Xv)
        auc, ks, brier = _scores(d.yv, pv)
        res = CandidateResult(cand.name, cand.label, tuning, model, seconds, auc, ks, brier, pv)
        results.append(res)
        progress.candidate_end(cand.name, res)
    return results


def _rows(n: int, what: str) -> str:
    return f"{what} ({n:,} rows)"


def _ship_train(config: ProjectConfig, d: _Data, champ: CandidateResult) -> _Shipped:
    """``final_fit: train``: the champion fitted on train, calibrated and thresholded on valid."""
    cal = calibrate(champ.model, d.Xv, d.yv, config.policy.calibration, config.split.seed)
    nt, nv = len(d.yt), len(d.yv)
    prov = Provenance(
        final_fit="train",
        fitted_on=_rows(nt, "train"),
        fitted_rows=nt,
        selection=f"mean AUC over the {config.budget.cv_folds} CV folds of {_rows(nt, 'train')} "
        f"and {_rows(nv, 'valid')} (each candidate fitted on train)",
        candidates=f"each candidate fitted on train, scored on {_rows(nv, 'valid')}",
        calibration=f"method by CV log loss within {_rows(nv, 'valid')}, fitted on all of valid",
        threshold=f"cost-optimal on the calibrated PDs of {_rows(nv, 'valid')}",
        development_key="valid",
        development=f"{_rows(nv, 'valid')}: the model fitted on train, calibrated on valid",
        test=_rows(len(d.ys), "test") + (", out-of-time" if d.splits.out_of_time else ""),
    )
    pv = np.asarray(cal.model.predict_proba(d.Xv)[:, 1], dtype=np.float64)
    return _Shipped(cal, d.splits.train, d.splits.valid, d.yv, pv, prov)


def _ship_train_valid(
    config: ProjectConfig, d: _Data, champ: CandidateResult, progress: Progress
) -> _Shipped:
    """``final_fit: train_valid``: calibration and threshold from cross-fitted out-of-fold
    PDs over train + valid; the champion refitted on train + valid."""
    t = champ.tuning
    assert t.oof_response is not None
    assert t.holdout_proba is not None
    assert t.holdout_response is not None
    dev_rows = np.concatenate([d.splits.train, d.splits.valid])
    dev_y = np.concatenate([d.yt, d.yv])
    responses = np.concatenate([t.oof_response, t.holdout_response])
    proba = np.concatenate([t.oof_proba, t.holdout_proba])
    nt, nv = len(d.yt), len(d.yv)
    n = nt + nv
    progress.stage(f"Refitting {champ.label} on train + valid ({n:,} rows)")
    model, _ = _fit(clone(champ.model), d.ds.X.iloc[dev_rows], dev_y)
    rows = (
        f"out-of-fold PDs of {_rows(n, 'train + valid')}, from the fold models of the "
        "selection CV (none saw a validation row)"
    )
    cal = calibrate_responses(
        model, responses, proba, dev_y, config.policy.calibration, config.split.seed, rows=rows
    )
    folds_n = config.budget.cv_folds
    prov = Provenance(
        final_fit="train_valid",
        fitted_on=_rows(n, "train + valid"),
        fitted_rows=n,
        selection=f"mean AUC over the {folds_n} CV folds of {_rows(nt, 'train')} and "
        f"{_rows(nv, 'valid')} (scored by the fold models)",
        candidates=f"the {folds_n} fold models of the train CV, scored on {_rows(nv, 'valid')}",
        calibration=f"method by CV log loss within the {rows}; fitted on all of them",
        threshold=f"cost-optimal on the calibrated out-of-fold PDs of {_rows(n, 'train + valid')}",
        development_key="oof_train_valid",
        development=f"out-of-fold PDs of {_rows(n, 'train + valid')}, calibration cross-fitted",
        test=_rows(len(d.ys), "test") + (", out-of-time" if d.splits.out_of_time else ""),
    )
    return _Shipped(cal, dev_rows, dev_rows, dev_y, cal.cross_fitted, prov)


def _profile(
    d: _Data,
    rows: np.ndarray,
    pd_reference: np.ndarray,
    cleaner: InputCleaner | None,
    reference: PerformanceReference,
) -> Any:
    """Reference distributions for monitoring: the raw inputs of ``rows`` and their derived
    features (as the model's InputCleaner computes them), ``pd_reference`` and the
    development figures."""
    ds = d.ds
    frame = ds.X.iloc[rows]
    numeric = [*ds.numeric, *ds.extra_numeric]
    if ds.derived and cleaner is not None:
        cleaned = cleaner.transform(frame)
        frame = frame.assign(**{name: cleaned[name].to_numpy() for name in ds.derived})
        numeric += list(ds.derived)
    return build_profile(frame, numeric, ds.categorical, pd_reference, reference)


def _first_cleaner(model: Any) -> InputCleaner | None:
    """The InputCleaner of a fitted (calibrated, blended) pipeline."""
    inner = model
    for attr in ("estimator", "estimator"):  # CalibratedClassifierCV -> FrozenEstimator
        inner = getattr(inner, attr, inner)
    if isinstance(inner, VotingClassifier):
        inner = inner.estimators_[0]
    steps = getattr(inner, "steps", None)
    return steps[0][1] if steps and isinstance(steps[0][1], InputCleaner) else None


#: Candidates a credit-risk team reads coefficient by coefficient (and a validator
#: re-derives): with ``budget.prefer_transparent`` a more complex candidate must beat the
#: best of them clearly to be champion.
TRANSPARENT = ("logistic", "scorecard")


def _ranked(r: CandidateResult) -> tuple[float, float]:
    return (round(r.selection_auc, 4), r.cv_auc_mean)


def choose_champion(
    results: list[CandidateResult], prefer_transparent: bool = False
) -> tuple[CandidateResult, str]:
    """The champion and how it was chosen: the best selection AUC (ties: the better CV
    AUC); with ``prefer_transparent``, the best logistic regression or scorecard instead
    when the best candidate's lead over it is within one standard error of their paired
    part differences (folds and valid): a gain the parts cannot tell from noise does not
    pay for a model nobody can read off its coefficients."""
    best = max(results, key=_ranked)
    transparent = [r for r in results if r.name in TRANSPARENT]
    if not prefer_transparent or best.name in TRANSPARENT or not transparent:
        return best, "the best selection AUC"
    simple = max(transparent, key=_ranked)
    paired = len(best.selection_folds) == len(simple.selection_folds)
    if not paired or clearly_better(best.selection_folds, simple.selection_folds):
        return best, (
            f"the best selection AUC ({best.selection_auc - simple.selection_auc:+.4f} "
            f"over {simple.name}, more than one standard error)"
        )
    return simple, (
        f"{simple.name}, the best transparent candidate: {best.name}'s lead "
        f"({best.selection_auc - simple.selection_auc:+.4f} selection AUC) is within one "
        "standard error of their paired part differences"
    )


def train(config: ProjectConfig, progress: Progress | None = None) -> TrainingResult:
    progress = progress or _Silent()
    start = time.perf_counter()
    progress.stage("Reading and validating data")
    d = _read(config)
    ds, splits = d.ds, d.splits
    if ds.indeterminate:
        left = ", ".join(f"{k} ({n:,})" for k, n in ds.indeterminate.items())
        n_left = sum(ds.indeterminate.values())
        progress.stage(f"Left out {n_left:,} rows without a bad or good outcome: {left}")
    ctx = context_for(config, ds)
    results = _candidates(config, d, ctx, progress)

    if config.budget.blend:
        progress.stage("Trying a blend of the best candidates")
        blend = _blend(results, d.Xt, d.yt, d.Xv, d.yv, config)
        if blend is not None:
            results.append(blend)
            progress.candidate_end("blend", blend)

    champ, choice = choose_champion(results, config.budget.prefer_transparent)
    if config.final_fit == "train":
        progress.stage(f"Calibrating {champ.label} on the validation set")
        shipped = _ship_train(config, d, champ)
    else:
        shipped = _ship_train_valid(config, d, champ, progress)
        progress.stage("Calibrating on the cross-fitted PDs of train + valid")
    cal, prov = shipped.calibration, replace(shipped.provenance, choice=choice)
    policy = fit_policy(shipped.dev_y, shipped.dev_pd, config.policy, config.costs)
    ps = cal.model.predict_proba(d.Xs)[:, 1]
    development_metrics = classification_metrics(
        shipped.dev_y, shipped.dev_pd, policy.threshold, config.costs
    )
    test_metrics = classification_metrics(d.ys, ps, policy.threshold, config.costs)
    calib = calibration_table(d.ys, ps)

    progress.stage("Saving the model bundle and plots")
    trained_at = datetime.now(UTC)
    folder = config.output_path / "bundles" / f"{config.name}-{trained_at:%Y%m%dT%H%M%S%f}"
    # monitoring's reference: the inputs the shipped model learnt from (and their derived
    # features), the PDs of rows it did not learn from (the development PDs, cross-fitted
    # under train_valid, and the test split: what new applicants will look like), and the
    # test AUC with its DeLong standard error
    p_ref = np.concatenate([shipped.dev_pd, ps])
    y_ref = np.concatenate([shipped.dev_y, d.ys])
    dev = auc_standard_error(d.ys, ps)
    reference = build_reference(
        y_ref,
        p_ref,
        policy.band_many(p_ref),
        policy.decide_many(p_ref),
        [name for name, _ in policy.bands],
        None if np.isnan(dev.auc) else dev.auc,
        None if np.isnan(dev.se) else dev.se,
        len(d.ys),
        f"{prov.development}, and the test split (AUC: test split)",
    )
    bundle = ModelBundle(
        model=cal.model,
        schema=InputSchema.from_frame(
            ds.X,
            [*ds.numeric, *ds.extra_numeric],
            ds.categorical,
            ds.date_inputs,
            special_codes=config.data.special_codes,
            decimal_comma=config.data.decimal_comma,
        ),
        policy=policy,
        profile=_profile(d, shipped.fit_rows, p_ref, _first_cleaner(cal.model), reference),
        reasons=dict(config.reasons),
        metrics={
            prov.development_key: development_metrics,
            "test": test_metrics,
            "cv_auc_mean": champ.cv_auc_mean,
            "cv_auc_std": champ.cv_auc_std,
            "provenance": prov.to_dict(),
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
            "negative": list(ds.negative),
            "indeterminate": dict(ds.indeterminate),
            "id_column": config.data.id_column,
            "date_column": config.data.date_column,
            "sensitive": protected_names(config),
            "numeric": list(ds.numeric),
            "categorical": list(ds.categorical),
            "derived": dict(ds.derived),
            "splits": splits.sizes(),
            "out_of_time": splits.out_of_time,
            "final_fit": config.final_fit,
            "fitted_rows": len(shipped.fit_rows),
            "fitted_rows_hash": rows_hash(ds.X.iloc[shipped.fit_rows], d.ds.y[shipped.fit_rows]),
            "actionable": config.actionable,
            "immutable": list(config.immutable),
            "allow_sensitive_as_features": dict(config.allow_sensitive_as_features),
            "scoring": config.scoring.model_dump(mode="json"),
            "fairness": config.fairness.model_dump(mode="json"),
            "monitoring": config.monitoring.model_dump(mode="json"),
        },
    )
    bundle.save(folder)
    plots = save_evaluation_plots(d.ys, ps, policy, folder / "plots", title=f"{champ.name} (test)")
    result = TrainingResult(
        config=config,
        dataset=ds,
        splits=splits,
        candidates=results,
        champion=champ.name,
        calibration=cal,
        policy=policy,
        development_metrics=development_metrics,
        test_metrics=test_metrics,
        calibration_table=calib,
        bundle=bundle,
        bundle_path=folder,
        plots=plots,
        seconds=0.0,
        provenance=prov,
        fit_rows=shipped.fit_rows,
    )
    progress.stage("Explaining the champion and checking fairness")
    result.assessment = explain_and_check_fairness(result)
    progress.stage("Error analysis and feature interactions on the test split")
    analyse_errors(result)
    result.seconds = time.perf_counter() - start
    return result


def analyse_errors(result: TrainingResult, top: int = 3) -> None:
    """Fill ``result.error_analysis`` and ``result.interactions`` (test split, the shipped
    model, features as its InputCleaner makes them, derived ones included)."""
    ds, splits, model = result.dataset, result.splits, result.bundle.model
    X = ds.X.iloc[splits.test]
    y = ds.y[splits.test]
    p = result.bundle.predict_proba(X)
    cleaner = _first_cleaner(model)
    cleaned = cleaner.transform(X) if cleaner is not None else X
    explained = result.assessment.explanations
    ranked = [r["feature"] for r in explained.importance] if explained else []
    features = [f for f in ranked if f in cleaned.columns][:top] or list(cleaned.columns[:top])
    ids = None if ds.ids is None else list(ds.ids.iloc[splits.test])
    rows = result.provenance.test if result.provenance else f"test ({len(y)} rows)"
    result.error_analysis = error_analysis(
        cleaned, y, p, result.policy.threshold, features, ids=ids, rows=rows
    )
    try:
        found = interactions(model, X, rows=rows, seed=result.config.split.seed)
    except Exception as exc:  # an explainer that cannot read a model never stops training
        warnings.warn(f"no feature interactions: {exc}", stacklevel=2)
        found = None
    result.interactions = found
    if found is not None:
        plot = save_interaction_plot(found, result.bundle_path / "plots" / "interactions.png")
        if plot is not None:
            result.plots["interactions"] = plot


def rows_hash(X: pd.DataFrame, y: np.ndarray) -> str:
    """SHA-256 (16 hex digits) of a set of rows and their outcomes, whatever their order:
    the bundle records it for the rows the shipped model learnt from."""
    import hashlib

    per_row = pd.util.hash_pandas_object(X.astype(str), index=False).to_numpy()
    per_row = per_row ^ (np.asarray(y, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    return hashlib.sha256(np.sort(per_row).tobytes()).hexdigest()[:16]
