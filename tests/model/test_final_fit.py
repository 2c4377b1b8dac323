"""final_fit: the shipped model learns from train + valid (default) or train only, and never
from the test rows; calibration and threshold come from rows the model did not learn from.

Checked on the fitted pipeline itself: the rows its scaler counted, and category levels that
occur only in the validation rows or only in the test rows (a level the InputCleaner
learnt is a level it saw).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from creditscore.config import ProjectConfig, german_config
from creditscore.data.ingest import validate
from creditscore.data.split import split_indices
from creditscore.scorer import Scorer
from creditscore.training.calibration import calibrate
from creditscore.training.train import TrainingResult, rows_hash, train
from creditscore.training.tuning import holdout_parts

VALID_ONLY, TEST_ONLY = "seen only in valid", "seen only in test"


def _marked_config(
    tmp_path: Path, german: pd.DataFrame, final_fit: str, *, out_of_time: bool = False
) -> tuple[ProjectConfig, pd.DataFrame]:
    """German with a ``purpose`` level only the validation rows have and one only the test
    rows have (and, for the out-of-time split, an application date)."""
    cfg = german_config()
    df = german.copy()
    if out_of_time:
        days = np.random.default_rng(1).permutation(len(df))
        df["application_date"] = (pd.Timestamp("2020-01-01") + pd.to_timedelta(days, "D")).astype(
            str
        )
        cfg.data.date_column = "application_date"
    ds = validate(df, cfg)
    splits = split_indices(ds.y, cfg.split, ds.dates)
    df.loc[df.index[splits.valid], "purpose"] = VALID_ONLY
    df.loc[df.index[splits.test], "purpose"] = TEST_ONLY
    path = tmp_path / "german_marked.csv"
    df.to_csv(path, index=False)
    cfg.data.path = str(path)
    cfg.base_dir = tmp_path
    cfg.output_dir = str(tmp_path / "artifacts")
    cfg.candidates = ["logistic"]
    cfg.final_fit = final_fit  # type: ignore[assignment]
    cfg.budget = cfg.budget.model_copy(
        update={"trials": 1, "seconds": 30, "cv_folds": 3, "blend": False}
    )
    cfg.fairness = cfg.fairness.model_copy(update={"n_boot": 20})
    return cfg, df


def _pipeline(result: TrainingResult):  # type: ignore[no-untyped-def]
    model = result.bundle.model
    if isinstance(model, CalibratedClassifierCV):
        model = model.calibrated_classifiers_[0].estimator
    if isinstance(model, FrozenEstimator):
        model = model.estimator
    return model


def _seen(result: TrainingResult) -> tuple[int, set[str]]:
    """Rows the shipped pipeline's scaler counted, and the purposes its cleaner learnt."""
    pipe = _pipeline(result)
    scaler = pipe.named_steps["prep"].named_transformers_["num"].named_steps["scale"]
    purposes = set(pipe.named_steps["clean"].spellings_["purpose"].values())
    return int(scaler.n_samples_seen_), purposes


@pytest.fixture(scope="module")
def both(german: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = {}
    for mode in ("train_valid", "train"):
        cfg, df = _marked_config(tmp_path_factory.mktemp(mode), german, mode)
        out[mode] = (train(cfg), df)
    return out


def test_train_valid_refit_saw_the_validation_rows_and_never_the_test_rows(both) -> None:  # type: ignore[no-untyped-def]
    result, _ = both["train_valid"]
    sizes = result.splits.sizes()
    n, purposes = _seen(result)
    assert n == sizes["train"] + sizes["valid"] == len(result.fit_rows) == 850
    assert VALID_ONLY in purposes
    assert TEST_ONLY not in purposes
    assert set(result.fit_rows) == set(result.splits.train) | set(result.splits.valid)
    assert not set(result.fit_rows) & set(result.splits.test)
    ds = result.dataset
    meta = result.bundle.metadata
    assert meta["final_fit"] == "train_valid"
    assert meta["fitted_rows"] == 850
    assert meta["fitted_rows_hash"] == rows_hash(ds.X.iloc[result.fit_rows], ds.y[result.fit_rows])
    everything = np.arange(ds.n_rows)
    assert meta["fitted_rows_hash"] != rows_hash(ds.X.iloc[everything], ds.y[everything])


def test_train_valid_calibrates_and_thresholds_on_cross_fitted_pds(both) -> None:  # type: ignore[no-untyped-def]
    result, _ = both["train_valid"]
    prov = result.provenance
    assert prov is not None
    assert prov.development_key == "oof_train_valid"
    assert "train + valid (850 rows)" in prov.fitted_on
    assert "out-of-fold" in prov.threshold
    assert "out-of-fold" in prov.calibration
    assert result.development_metrics["n"] == 850
    assert result.test_metrics["n"] == 150
    assert len(result.calibration.cross_fitted) == 850
    assert "oof_train_valid" in result.bundle.metrics
    assert "valid" not in result.bundle.metrics
    assert result.bundle.metrics["provenance"]["final_fit"] == "train_valid"
    # the candidate's valid AUC comes from the fold models (none fitted on valid)
    champ = result.champion_result
    assert champ.tuning.holdout_proba is not None
    assert len(champ.tuning.holdout_proba) == 150
    assert champ.fit_seconds == 0.0


def test_train_fits_on_train_and_calibrates_on_valid(both) -> None:  # type: ignore[no-untyped-def]
    result, _ = both["train"]
    n, purposes = _seen(result)
    assert n == result.splits.sizes()["train"] == len(result.fit_rows) == 700
    assert VALID_ONLY not in purposes
    assert TEST_ONLY not in purposes
    prov = result.provenance
    assert prov is not None
    assert prov.development_key == "valid"
    assert result.development_metrics["n"] == 150
    assert result.bundle.metadata["final_fit"] == "train"
    assert "valid" in result.bundle.metrics


def test_both_ways_the_shipped_model_compiles_and_scores_like_the_pipeline(both) -> None:  # type: ignore[no-untyped-def]
    for result, df in both.values():
        scorer = Scorer(result.bundle)
        assert scorer.fast_path == "compiled", scorer.fast_path_detail
        X = df.drop(columns=["creditability"]).iloc[result.splits.test]
        np.testing.assert_allclose(
            scorer.probabilities(X), result.bundle.predict_proba(X), rtol=0, atol=1e-9
        )


def test_out_of_time_refit_never_sees_the_test_period(german: pd.DataFrame, tmp_path: Path) -> None:
    cfg, df = _marked_config(tmp_path, german, "train_valid", out_of_time=True)
    result = train(cfg)
    assert result.splits.out_of_time
    dates = pd.to_datetime(df["application_date"])
    first_test = dates.iloc[result.splits.test].min()
    assert (dates.iloc[result.fit_rows] < first_test).all()
    _, purposes = _seen(result)
    assert VALID_ONLY in purposes
    assert TEST_ONLY not in purposes
    assert "out-of-time" in result.provenance.test  # type: ignore[union-attr]


def test_train_mode_calibration_equals_scikit_learns(german: pd.DataFrame) -> None:
    """Calibrating from responses builds what CalibratedClassifierCV(FrozenEstimator) builds."""
    from creditscore.models.catalog import CATALOG, Context

    df = german.sample(600, random_state=3).reset_index(drop=True)
    y = (df.pop("creditability") == "bad").astype(int).to_numpy()
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    ctx = Context(numeric, [c for c in df.columns if c not in numeric], seed=0, n_jobs=1)
    model = CATALOG["logistic"].pipeline(None, ctx).fit(df.iloc[:300], y[:300])
    X, yv = df.iloc[300:], y[300:]
    for method in ("sigmoid", "isotonic"):
        ours = calibrate(model, X, yv, method=method).model
        theirs = CalibratedClassifierCV(FrozenEstimator(model), method=method, ensemble=False)
        theirs.fit(X, yv)
        np.testing.assert_allclose(
            ours.predict_proba(df)[:, 1], theirs.predict_proba(df)[:, 1], rtol=0, atol=1e-12
        )


def test_holdout_parts_are_stratified_and_cover_every_row() -> None:
    y = np.array([0] * 40 + [1] * 11)
    parts = holdout_parts(y, 5, seed=0)
    assert sorted(set(parts)) == [0, 1, 2, 3, 4]
    for k in range(5):
        assert 2 <= (y[parts == k] == 1).sum() <= 3  # bads dealt evenly
    assert np.array_equal(parts, holdout_parts(y, 5, seed=0))
