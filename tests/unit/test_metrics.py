"""Metrics against scikit-learn / scipy where they have them, and against hand counts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from creditscore.config import CostConfig
from creditscore.evaluation.metrics import (
    calibration_table,
    classification_metrics,
    cost_curve,
    gini,
    ks_curve,
    ks_statistic,
)

# Hand example (6 rows), sorted by PD:
#   p:    0.1  0.2  0.3  0.4  0.6  0.8
#   y:     0    0    1    0    1    1        goods {0.1, 0.2, 0.4}, bads {0.3, 0.6, 0.8}
# Cumulative share with PD <= u (goods, bads) and gap:
#   u=0.1 (1/3, 0) 1/3 | u=0.2 (2/3, 0) 2/3 | u=0.3 (2/3, 1/3) 1/3
#   u=0.4 (1, 1/3) 2/3 | u=0.6 (1, 2/3) 1/3 | u=0.8 (1, 1) 0          -> KS = 2/3
# AUC: of the 9 (bad, good) pairs the bad has the higher PD in 2 + 3 + 3 = 8 -> 8/9,
# Gini = 2 * 8/9 - 1 = 7/9.
# At threshold 0.5 (decline PD >= 0.5): declined 0.6, 0.8 (both bad) -> tp 2, fp 0;
# approved 0.1, 0.2, 0.3, 0.4 -> fn 1 (0.3), tn 3. Costs FN 10, FP 1:
# expected cost (1*10 + 0*1) / 6 = 10/6; approval rate 4/6; bad rate approved 1/4.
Y6 = np.array([0, 0, 1, 0, 1, 1])
P6 = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.8])
COSTS = CostConfig(false_negative=10.0, false_positive=1.0)


def _data(
    n: int = 2000, seed: int = 0, decimals: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = 1.0 / (1.0 + np.exp(-(1.5 * x - 1.0)))
    y = (rng.random(n) < p).astype(int)
    if decimals is not None:
        p = np.round(p, decimals)
    return y, p


# --------------------------------------------------------------------------- KS / Gini
def test_ks_and_gini_on_hand_example() -> None:
    assert ks_statistic(Y6, P6) == pytest.approx(2 / 3)
    assert gini(Y6, P6) == pytest.approx(7 / 9)
    curve = ks_curve(Y6, P6)
    assert curve["gap"].round(12).tolist() == pytest.approx([1 / 3, 2 / 3, 1 / 3, 2 / 3, 1 / 3, 0])


@pytest.mark.parametrize("decimals", [None, 2, 1])
def test_ks_matches_roc_and_scipy(decimals: int | None) -> None:
    y, p = _data(decimals=decimals)
    fpr, tpr, _ = roc_curve(y, p)
    ks = ks_statistic(y, p)
    assert ks == pytest.approx(float(np.max(tpr - fpr)), abs=1e-12)
    ref = ks_2samp(p[y == 0], p[y == 1], alternative="greater", method="asymp").statistic
    assert ks == pytest.approx(float(ref), abs=1e-12)
    assert gini(y, p) == pytest.approx(2 * roc_auc_score(y, p) - 1)


def test_ks_is_direction_aware() -> None:
    # a model that ranks perfectly backwards separates nothing useful
    # reversed PDs: bads now lead the cumulative curves everywhere, so no positive gap
    assert ks_statistic(Y6, 1 - P6) == 0.0
    assert ks_statistic([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert ks_statistic([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0


def test_ks_with_all_equal_pd_is_zero() -> None:
    assert ks_statistic([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]) == 0.0


# --------------------------------------------------------------------------- classification
def test_classification_metrics_hand_example() -> None:
    m = classification_metrics(Y6, P6, 0.5, COSTS)
    assert (m["tn"], m["fp"], m["fn"], m["tp"], m["n"]) == (3, 0, 1, 2, 6)
    assert m["expected_cost"] == pytest.approx(10 / 6)
    assert m["approval_rate"] == pytest.approx(4 / 6)
    assert m["bad_rate_approved"] == pytest.approx(1 / 4)
    assert m["bad_rate"] == pytest.approx(0.5)
    assert m["precision"] == 1.0
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["specificity"] == 1.0
    assert m["ks"] == pytest.approx(2 / 3)
    assert m["gini"] == pytest.approx(7 / 9)
    assert m["roc_auc"] == pytest.approx(8 / 9)


@pytest.mark.parametrize("threshold", [0.0, 0.1, 0.27, 0.5, 0.9, 1.0])
def test_classification_metrics_match_sklearn(threshold: float) -> None:
    y, p = _data(seed=1)
    m = classification_metrics(y, p, threshold, COSTS)
    pred = (p >= threshold).astype(int)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(precision_score(y, pred, zero_division=0.0))
    assert m["recall"] == pytest.approx(recall_score(y, pred))
    assert m["f1"] == pytest.approx(f1_score(y, pred, zero_division=0.0))
    assert m["specificity"] == pytest.approx(recall_score(y, pred, pos_label=0))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p))
    assert m["brier"] == pytest.approx(brier_score_loss(y, p))
    assert m["log_loss"] == pytest.approx(log_loss(y, p))
    fn = int(((pred == 0) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    assert (m["fn"], m["fp"]) == (fn, fp)
    assert m["tn"] + m["fp"] + m["fn"] + m["tp"] == len(y)
    assert m["expected_cost"] == pytest.approx((10 * fn + fp) / len(y))
    assert m["approval_rate"] == pytest.approx(float(np.mean(p < threshold)))


def test_rmse_and_mae_of_the_pd_hand_example_and_scikit_learn() -> None:
    # misses |y - p|: 0.1 0.2 0.7 0.4 0.4 0.2 -> MAE 2.0 / 6; squares sum to 0.90 -> RMSE
    m = classification_metrics(Y6, P6, 0.5, COSTS)
    assert m["mae"] == pytest.approx(1 / 3)
    assert m["rmse"] == pytest.approx(math.sqrt(0.15))
    y, p = _data(seed=2)
    m = classification_metrics(y, p, 0.3, COSTS)
    assert m["rmse"] == pytest.approx(math.sqrt(mean_squared_error(y, p)), rel=1e-12)
    assert m["rmse"] == pytest.approx(math.sqrt(m["brier"]), rel=1e-12)
    assert m["mae"] == pytest.approx(mean_absolute_error(y, p), rel=1e-12)
    assert m["mae"] == pytest.approx(float(np.mean(np.abs(y - p))), rel=1e-12)


def test_no_approvals_and_single_class_do_not_raise() -> None:
    m = classification_metrics(Y6, P6, 0.0, COSTS)  # everyone declined
    assert m["approval_rate"] == 0.0
    assert m["bad_rate_approved"] == 0.0
    assert m["expected_cost"] == pytest.approx(3 / 6)

    goods = classification_metrics([0, 0, 0], [0.1, 0.5, 0.9], 0.5, COSTS)
    for key in ("roc_auc", "pr_auc", "gini", "ks"):
        assert math.isnan(goods[key]), key
    assert goods["recall"] == 0.0
    assert goods["precision"] == 0.0
    assert goods["specificity"] == pytest.approx(1 / 3)
    assert goods["bad_rate"] == 0.0
    assert math.isfinite(goods["log_loss"])

    bads = classification_metrics([1, 1], [0.2, 0.7], 0.5, COSTS)
    assert math.isnan(bads["roc_auc"])
    assert bads["specificity"] == 0.0
    assert bads["recall"] == 0.5


def test_accepts_bool_and_pandas() -> None:
    m1 = classification_metrics(pd.Series(Y6.astype(bool)), pd.Series(P6), 0.5, COSTS)
    m2 = classification_metrics(Y6.tolist(), P6.tolist(), 0.5, COSTS)
    assert m1 == m2


@pytest.mark.parametrize(
    ("y", "p", "match"),
    [
        ([0, 1, 0], [0.1, 0.2], "y has 3 values but p has 2"),
        ([0, 1, 0], [0.1, 1.5, -0.2], r"2 value\(s\), e\.g\. 1\.5 \(position 1\)"),
        ([0, 1, 0], [0.1, float("nan"), 0.3], r"1 value\(s\), e\.g\. nan \(position 1\)"),
        ([0, 2, 1], [0.1, 0.2, 0.3], r"0/1.*1 value\(s\), e\.g\. 2 \(position 1\)"),
        (["good", "bad"], [0.1, 0.2], r"0/1.*2 value\(s\), e\.g\. 'good'"),
        ([], [], "empty"),
        ([0, 1], [[0.9, 0.1], [0.2, 0.8]], r"predict_proba\(X\)\[:, 1\]"),
    ],
)
def test_invalid_input_names_count_and_example(y: list, p: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        classification_metrics(y, p, 0.5, COSTS)


def test_threshold_out_of_range() -> None:
    with pytest.raises(ValueError, match="threshold"):
        classification_metrics(Y6, P6, 1.5, COSTS)


# --------------------------------------------------------------------------- calibration
@pytest.mark.parametrize("decimals", [None, 2])
def test_calibration_table_matches_sklearn(decimals: int | None) -> None:
    y, p = _data(seed=2, decimals=decimals)
    table = calibration_table(y, p, bins=10)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="quantile")
    assert list(table.columns) == [
        "bin",
        "n",
        "pd_min",
        "pd_max",
        "mean_pd",
        "observed_bad_rate",
        "bads",
    ]
    np.testing.assert_allclose(table["mean_pd"], prob_pred)
    np.testing.assert_allclose(table["observed_bad_rate"], prob_true)
    assert table["n"].sum() == len(y)
    assert table["bads"].sum() == y.sum()
    assert table["bin"].tolist() == list(range(1, len(table) + 1))
    assert (table["pd_max"].to_numpy()[:-1] < table["pd_min"].to_numpy()[1:]).all()


def test_calibration_table_merges_duplicate_edges() -> None:
    # 70% of PDs equal: quantile edges collapse, ties stay in one bin
    p = np.array([0.1] * 7 + [0.5, 0.6, 0.9])
    y = np.array([0, 0, 0, 0, 0, 0, 1, 0, 1, 1])
    table = calibration_table(y, p, bins=10)
    assert table["n"].tolist() == [7, 1, 1, 1]
    assert table["pd_max"].iloc[0] == 0.1
    assert table["observed_bad_rate"].iloc[0] == pytest.approx(1 / 7)
    one = calibration_table([0, 1, 1], [0.3, 0.3, 0.3])
    assert one["n"].tolist() == [3]
    assert one["bads"].tolist() == [2]


# --------------------------------------------------------------------------- cost curve
def test_cost_curve_hand_example() -> None:
    curve = cost_curve(Y6, P6, COSTS, thresholds=[0.0, 0.25, 0.35, 0.5, 1.0])
    # decline p >= t: t=0 all -> fp 3; t=0.25 -> fp 1 (0.4); t=0.35 -> fn 1 (0.3), fp 1;
    # t=0.5 -> fn 1; t=1 approve all -> fn 3
    assert curve["expected_cost"].tolist() == pytest.approx([3 / 6, 1 / 6, 11 / 6, 10 / 6, 30 / 6])
    assert curve["approval_rate"].tolist() == pytest.approx([0, 2 / 6, 3 / 6, 4 / 6, 1])
    assert curve["bad_rate_approved"].tolist() == pytest.approx([0, 0, 1 / 3, 1 / 4, 1 / 2])


def test_cost_curve_matches_classification_metrics() -> None:
    y, p = _data(n=500, seed=3, decimals=3)
    thresholds = np.array([0.0, 0.05, 0.1, 0.1234, 0.3, p[17], 0.77, 1.0])
    curve = cost_curve(y, p, COSTS, thresholds=thresholds)
    for row in curve.itertuples():
        m = classification_metrics(y, p, row.threshold, COSTS)
        assert row.expected_cost == pytest.approx(m["expected_cost"])
        assert row.approval_rate == pytest.approx(m["approval_rate"])
        assert row.bad_rate_approved == pytest.approx(m["bad_rate_approved"])


def test_cost_curve_default_thresholds() -> None:
    small = cost_curve(Y6, P6, COSTS)
    assert small["threshold"].tolist() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0]
    y, p = _data(n=3000)
    big = cost_curve(y, p, COSTS)
    assert len(big) == 501
    np.testing.assert_allclose(big["threshold"], np.linspace(0, 1, 501))
    assert big["approval_rate"].is_monotonic_increasing
