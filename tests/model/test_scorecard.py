"""WoEScorecard: sklearn contract, German credit smoke test, points and contributions."""

from __future__ import annotations

import math
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

from creditscore.datasets import GERMAN_POSITIVE, GERMAN_TARGET, load_german
from creditscore.exceptions import ConfigError, DataError
from creditscore.models.scorecard import WoEScorecard

PROTECTED = ["personal_status_and_sex", "age_in_years", "foreign_worker"]


@parametrize_with_checks([WoEScorecard()])
def test_sklearn_contract(estimator, check) -> None:
    # Every check passes: numpy input is binned as numeric columns x0..xn.
    check(estimator)


@pytest.fixture(scope="module")
def german_split() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    data = load_german()
    y = (data.pop(GERMAN_TARGET) == GERMAN_POSITIVE).astype(int).to_numpy()
    X = data.drop(columns=PROTECTED)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    return X_train, X_test, y_train, y_test


@pytest.fixture(scope="module")
def fitted(german_split) -> WoEScorecard:
    X_train, _, y_train, _ = german_split
    return WoEScorecard().fit(X_train, y_train)


def test_ranks_german_applicants(fitted: WoEScorecard, german_split) -> None:
    _, X_test, _, y_test = german_split
    auc = roc_auc_score(y_test, fitted.predict_proba(X_test)[:, 1])
    assert auc > 0.72
    assert set(fitted.selected_features_) <= set(fitted.feature_names_in_)
    assert "status_of_existing_checking_account" in fitted.selected_features_
    assert fitted.categorical_features_  # strings inferred as categories


def test_contributions_sum_to_decision_function(fitted: WoEScorecard, german_split) -> None:
    _, X_test, _, _ = german_split
    contrib = fitted.contributions(X_test)
    assert list(contrib.columns) == fitted.selected_features_
    assert contrib.index.equals(X_test.index)
    decision = fitted.decision_function(X_test)
    np.testing.assert_allclose(contrib.sum(axis=1) + fitted.intercept_, decision, atol=1e-12)
    # ... and the decision function is the fitted regression's, on optbinning's WoE.
    woe = fitted.binning_process_.transform(X_test, metric="woe")
    np.testing.assert_allclose(fitted.estimator_.decision_function(woe), decision, atol=1e-9)
    p_bad = fitted.predict_proba(X_test)[:, 1]
    np.testing.assert_allclose(p_bad, 1 / (1 + np.exp(-decision)), rtol=1e-12)


def _points_from_table(model: WoEScorecard, X: pd.DataFrame) -> np.ndarray:
    """Score each row by looking its bins up in points_table_ (how a scorecard is read)."""
    ids = model.bin_ids(X)
    table = model.points_table_.set_index(["variable", "bin_id"])["points"]
    total = np.full(len(X), model.points_constant_)
    for name in model.selected_features_:
        n_bins = int((model.points_table_["variable"] == name).sum())
        # An unseen category (-1) is read on the Missing row, the last one.
        rows = [(name, int(i) if i >= 0 else n_bins - 1) for i in ids[name]]
        total += table.loc[rows].to_numpy()
    return total


def test_points_table_sums_to_points(fitted: WoEScorecard, german_split) -> None:
    _, X_test, _, _ = german_split
    table = fitted.points_table_
    assert list(table.columns[:3]) == ["variable", "bin_id", "bin"]
    assert {"woe", "coefficient", "points"} <= set(table.columns)
    assert table.groupby("variable")["points"].min().abs().max() < 1e-9  # worst bin: 0
    np.testing.assert_allclose(_points_from_table(fitted, X_test), fitted.points(X_test))
    # optbinning's own Scorecard arrives at the same points.
    np.testing.assert_allclose(fitted.scorecard_.score(X_test), fitted.points(X_test))


def test_points_follow_base_points_base_odds_and_pdo(fitted: WoEScorecard, german_split) -> None:
    _, X_test, _, _ = german_split
    p_bad = fitted.predict_proba(X_test)[:, 1]
    odds_good = (1 - p_bad) / p_bad
    expected = 600 + 20 / math.log(2) * (np.log(odds_good) - math.log(50))
    np.testing.assert_allclose(fitted.points(X_test), expected, rtol=1e-9)
    # Higher score, lower risk.
    order = np.argsort(fitted.points(X_test))
    assert np.all(np.diff(p_bad[order]) <= 1e-12)


def test_woe_is_monotone_for_duration(fitted: WoEScorecard) -> None:
    table = fitted.points_table_
    rows = table[(table["variable"] == "duration_in_month") & (table["count"] > 0)]
    rows = rows[~rows["bin"].isin(["Special", "Missing"])]
    assert len(rows) >= 3
    steps = np.diff(rows["woe"].to_numpy())
    assert np.all(steps <= 0) or np.all(steps >= 0)
    # Longer loans are riskier: WoE (log good:bad relative to average) falls.
    assert rows["woe"].iloc[0] > rows["woe"].iloc[-1]


def test_row_alone_equals_row_in_batch(fitted: WoEScorecard, german_split) -> None:
    _, X_test, _, _ = german_split
    rows = X_test.iloc[:60]
    alone = np.vstack([fitted.predict_proba(rows.iloc[[i]]) for i in range(len(rows))])
    np.testing.assert_array_equal(alone, fitted.predict_proba(rows))


def test_pickle_round_trip(fitted: WoEScorecard, german_split, tmp_path: Path) -> None:
    _, X_test, _, _ = german_split
    path = tmp_path / "scorecard.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X_test), fitted.predict_proba(X_test))
    np.testing.assert_array_equal(loaded.points(X_test), fitted.points(X_test))
    pd.testing.assert_frame_equal(loaded.contributions(X_test), fitted.contributions(X_test))
    pd.testing.assert_frame_equal(loaded.points_table_, fitted.points_table_)


@pytest.mark.parametrize(
    "params",
    [
        {"max_n_bins": 3, "min_bin_size": 0.15, "C": 0.01},
        {"max_n_bins": 10, "min_bin_size": 0.02, "C": 10.0, "max_n_prebins": 40},
        {"monotonic": False, "max_n_bins": None, "min_iv": 0.0},
    ],
)
def test_tuning_ranges_fit(params: dict, german_split) -> None:
    X_train, X_test, y_train, y_test = german_split
    model = WoEScorecard(**params).fit(X_train, y_train)
    assert roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]) > 0.7
    max_bins = params["max_n_bins"]
    if max_bins is not None:
        clean = model.points_table_[~model.points_table_["bin"].isin(["Special", "Missing"])]
        assert clean.groupby("variable").size().max() <= max_bins


def test_keeps_the_strongest_variable_when_none_reaches_min_iv(german_split) -> None:
    X_train, _, y_train, _ = german_split
    model = WoEScorecard(min_iv=10.0).fit(X_train, y_train)
    summary = model.binning_process_.summary()
    best = summary.sort_values("iv", ascending=False)["name"].iloc[0]
    assert model.selected_features_ == [best]


def _synthetic(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    dpd = rng.choice([0, 0, 0, 10, 30, 60, 90], n).astype(float)
    dpd[rng.random(n) < 0.1] = np.nan
    income = rng.lognormal(8, 0.5, n)
    income[rng.random(n) < 0.05] = -999.0  # special code: "not declared"
    housing = rng.choice(["own", "rent", "free", None], n, p=[0.5, 0.3, 0.15, 0.05])
    logit = -1.5 + 0.02 * np.nan_to_num(dpd, nan=40) + 0.6 * (housing == "rent")
    logit -= 0.5 * np.log(np.clip(income, 100, None) / 3000)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"dpd": dpd, "income": income, "housing": housing})
    return frame, y


def test_missing_special_and_unseen_values_score_neutral() -> None:
    X, y = _synthetic()
    model = WoEScorecard(special_codes=[-999.0]).fit(X, y)
    assert model.categorical_features_ == ["housing"]
    probe = pd.DataFrame(
        {"dpd": [np.nan, 30.0], "income": [-999.0, 2000.0], "housing": ["castle", None]}
    )
    contrib = model.contributions(probe)
    assert np.isfinite(model.predict_proba(probe)).all()
    assert (contrib.iloc[0] == 0).all()  # missing dpd, special income, unseen category
    assert contrib.loc[1, "housing"] == 0  # missing category
    np.testing.assert_allclose(_points_from_table(model, probe), model.points(probe))


def test_monotone_constraint_direction() -> None:
    X, y = _synthetic()
    model = WoEScorecard(monotone={"dpd": "increasing"}, monotonic=False).fit(X, y)
    grid = pd.DataFrame({"dpd": np.arange(0, 121, 5.0), "income": 3000.0, "housing": "own"})
    p_bad = model.predict_proba(grid)[:, 1]
    assert np.all(np.diff(p_bad) >= -1e-12)
    assert p_bad[-1] > p_bad[0]


def test_numpy_input_gets_positional_names(rng: np.random.Generator) -> None:
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=400) > 0).astype(int)
    model = WoEScorecard().fit(X, y)
    assert not hasattr(model, "feature_names_in_")
    assert "x0" in model.selected_features_
    assert model.contributions(X).shape == (400, len(model.selected_features_))


def test_string_labels_keep_sklearn_class_order(german_split) -> None:
    X_train, X_test, y_train, _ = german_split
    labels = np.where(y_train == 1, "bad", "good")
    model = WoEScorecard().fit(X_train, labels)
    assert list(model.classes_) == ["bad", "good"]  # classes_[1] = "good" is the event here
    assert set(model.predict(X_test)) <= {"bad", "good"}


def test_clear_errors(german_split) -> None:
    X_train, _, y_train, _ = german_split
    with pytest.raises(DataError, match="both classes"):
        WoEScorecard().fit(X_train, np.zeros(len(X_train), dtype=int))
    with pytest.raises(DataError, match="Only binary"):
        WoEScorecard().fit(X_train, np.arange(len(X_train)) % 3)
    with pytest.raises(ConfigError, match="min_bin_size"):
        WoEScorecard(min_bin_size=0.8).fit(X_train, y_train)
    with pytest.raises(DataError, match="not_a_column"):
        WoEScorecard(categorical_features=["not_a_column"]).fit(X_train, y_train)
    with pytest.raises(DataError, match="not a numeric column"):
        WoEScorecard(monotone={"purpose": "increasing"}).fit(X_train, y_train)
    empty = X_train.assign(duration_in_month=np.nan)
    with pytest.raises(DataError, match="duration_in_month"):
        WoEScorecard().fit(empty, y_train)


def test_clone_keeps_params_only() -> None:
    model = WoEScorecard(max_n_bins=4, C=0.5, monotone={"a": "increasing"})
    copy = clone(model)
    assert copy.get_params() == model.get_params()
