"""Performance metrics of a probability-of-default (PD) model.

Conventions everywhere in this module: ``y`` is 0/1 with 1 = bad (default); ``p`` is the
predicted PD. A *positive prediction* is a predicted bad, i.e. a decline: an applicant is
declined when ``p >= threshold`` and approved when ``p < threshold``.

Everything scikit-learn provides comes from scikit-learn; only the KS statistic, the
calibration table and the cost curve are computed here, each in O(n log n) by sorting.
Degenerate data never raises: metrics that need both classes (ROC-AUC, PR-AUC, Gini, KS)
are ``nan`` when ``y`` holds one class only, and rates whose denominator is empty are 0.0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    mean_absolute_error,
    precision_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

from creditscore.config import CostConfig
from creditscore.exceptions import DataError

__all__ = [
    "auc",
    "bootstrap_auc_interval",
    "calibration_table",
    "classification_metrics",
    "cost_curve",
    "gini",
    "ks_curve",
    "ks_statistic",
    "weighted_auc",
]

#: Largest number of thresholds ``cost_curve`` evaluates by default before using a grid.
DEFAULT_GRID = 501


# --------------------------------------------------------------------------- validation
def _first_bad(mask: NDArray[np.bool_], values: NDArray[Any]) -> str:
    pos = int(np.flatnonzero(mask)[0])
    value = values[pos]
    shown = value.item() if isinstance(value, np.generic) else value
    return f"{int(mask.sum())} value(s), e.g. {shown!r} (position {pos})"


def check_labels_and_pd(y: ArrayLike, p: ArrayLike) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    """Validate ``y`` (0/1) and ``p`` (PD in [0, 1]) and return them as 1-D numpy arrays.

    Raises :class:`~creditscore.exceptions.DataError` (a ``ValueError``) naming how many
    values are wrong and showing one, so the caller can find the problem.
    """
    y_arr = np.asarray(y)
    p_arr = np.asarray(p)
    if p_arr.ndim == 2 and p_arr.shape[1] == 2:
        raise DataError(
            f"p must be 1-D probabilities of default, got shape {p_arr.shape}; "
            "pass predict_proba(X)[:, 1]"
        )
    if y_arr.ndim != 1 or p_arr.ndim != 1:
        raise DataError(f"y and p must be 1-D, got shapes {y_arr.shape} and {p_arr.shape}")
    if len(y_arr) != len(p_arr):
        raise DataError(f"y has {len(y_arr)} values but p has {len(p_arr)}; they must match")
    if len(y_arr) == 0:
        raise DataError("y and p are empty; need at least one row")
    try:
        p_f = p_arr.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"p must be numeric probabilities, got dtype {p_arr.dtype}, e.g. {p_arr[0]!r}"
        ) from None
    outside = ~((p_f >= 0.0) & (p_f <= 1.0))  # also catches NaN
    if outside.any():
        raise DataError(f"p must lie in [0, 1]; {_first_bad(outside, p_arr)} outside")
    if y_arr.dtype == np.bool_:
        return y_arr.astype(np.int8), p_f
    try:
        y_f = y_arr.astype(np.float64)
    except (TypeError, ValueError):
        y_f = np.full(len(y_arr), np.nan)
    not_binary = ~((y_f == 0.0) | (y_f == 1.0))
    if not_binary.any():
        raise DataError(f"y must be 0/1 (1 = bad); {_first_bad(not_binary, y_arr)} are not")
    return y_f.astype(np.int8), p_f


def _both_classes(y: NDArray[np.int8]) -> bool:
    n_bad = int(y.sum())
    return 0 < n_bad < len(y)


# --------------------------------------------------------------------------- ranking
def ks_curve(y: ArrayLike, p: ArrayLike) -> pd.DataFrame:
    """Cumulative share of goods and bads with PD at or below each distinct PD.

    Columns ``pd``, ``cum_good``, ``cum_bad``, ``gap`` (= cum_good - cum_bad). A share is 0
    throughout for a class that is absent.
    """
    y_arr, p_arr = check_labels_and_pd(y, p)
    order = np.argsort(p_arr, kind="mergesort")
    p_sorted = p_arr[order]
    bad_sorted = y_arr[order].astype(np.int64)
    cum_bad = np.cumsum(bad_sorted)
    cum_good = np.arange(1, len(p_sorted) + 1) - cum_bad
    # keep the last row of each run of equal PDs: ties move together
    last = np.r_[p_sorted[1:] != p_sorted[:-1], True]
    n_bad = int(cum_bad[-1])
    n_good = len(p_sorted) - n_bad
    share_bad = cum_bad[last] / n_bad if n_bad else np.zeros(int(last.sum()))
    share_good = cum_good[last] / n_good if n_good else np.zeros(int(last.sum()))
    return pd.DataFrame(
        {
            "pd": p_sorted[last],
            "cum_good": share_good,
            "cum_bad": share_bad,
            "gap": share_good - share_bad,
        }
    )


def ks_statistic(y: ArrayLike, p: ArrayLike) -> float:
    """Kolmogorov-Smirnov separation: the largest gap between the cumulative PD
    distributions of goods and bads, ``max_t F_good(t) - F_bad(t)``.

    This equals ``max(tpr - fpr)`` over the ROC curve, and scipy's
    ``ks_2samp(p_good, p_bad, alternative="greater")``. It is direction-aware: a model that
    ranks bads *below* goods scores near 0, not near 1. ``nan`` when ``y`` has one class.
    """
    y_arr, _ = check_labels_and_pd(y, p)
    if not _both_classes(y_arr):
        return float("nan")
    return float(max(0.0, ks_curve(y, p)["gap"].max()))


def gini(y: ArrayLike, p: ArrayLike) -> float:
    """Gini coefficient (accuracy ratio) ``2 * AUC - 1``; ``nan`` when ``y`` has one class."""
    y_arr, p_arr = check_labels_and_pd(y, p)
    if not _both_classes(y_arr):
        return float("nan")
    return float(2.0 * roc_auc_score(y_arr, p_arr) - 1.0)


# --------------------------------------------------------------------------- ROC-AUC by ranks
def auc(y: ArrayLike, score: ArrayLike) -> float:
    """ROC-AUC by ranks (Mann-Whitney, ties count one half), ``nan`` with one class.

    The one AUC of the project for plain label/score pairs (any score, not only PDs); equal
    to ``sklearn.metrics.roc_auc_score`` and cheap enough for every column of a wide table.
    """
    from scipy.stats import rankdata

    y_arr = np.asarray(y).astype(bool)
    n_pos = int(y_arr.sum())
    n_neg = len(y_arr) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(score, dtype=np.float64))
    return float((ranks[y_arr].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def weighted_auc(W: ArrayLike, y: ArrayLike, p: ArrayLike) -> NDArray[np.float64]:
    """ROC-AUC of ``(y, p)`` under each row of case weights ``W`` (rows x cases), e.g.
    bootstrap counts; ties count one half, ``nan`` where a row weighs one class only.

    Sorted once, summed per distinct score: memory rows x cases, never cases x levels.
    """
    W_arr = np.atleast_2d(np.asarray(W, dtype=np.float64))
    y_arr = np.asarray(y, dtype=np.float64)
    p_arr = np.asarray(p, dtype=np.float64)
    order = np.argsort(p_arr, kind="stable")
    sorted_p = p_arr[order]
    starts = np.flatnonzero(np.r_[True, sorted_p[1:] != sorted_p[:-1]])
    Ws = W_arr[:, order]
    ys = y_arr[order]
    bad = np.add.reduceat(Ws * ys, starts, axis=1)  # rows x levels
    good = np.add.reduceat(Ws * (1.0 - ys), starts, axis=1)
    goods_below = np.cumsum(good, axis=1) - good
    n_bad, n_good = bad.sum(axis=1), good.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (bad * (goods_below + 0.5 * good)).sum(axis=1) / (n_bad * n_good)
    return np.where((n_bad > 0) & (n_good > 0), out, np.nan)


def bootstrap_auc_interval(
    y: ArrayLike, p: ArrayLike, n_boot: int = 300, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float] | None:
    """Percentile interval of the ROC-AUC over ``n_boot`` bootstrap resamples of the rows
    (all resamples at once, as multinomial counts); None when fewer than half of the
    resamples hold both classes."""
    y_arr = np.asarray(y)
    n = len(y_arr)
    if n == 0:
        return None
    rng = np.random.default_rng(seed)
    W = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    aucs = weighted_auc(W, y_arr, p)
    ok = aucs[np.isfinite(aucs)]
    if ok.size < n_boot // 2:
        return None
    a = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(ok, [a, 1.0 - a])
    return float(lo), float(hi)


# --------------------------------------------------------------------------- at a threshold
def classification_metrics(
    y: ArrayLike, p: ArrayLike, threshold: float, costs: CostConfig
) -> dict[str, float]:
    """All headline metrics of ``p`` on ``y``, with decisions at ``threshold``.

    Declined (predicted bad) means ``p >= threshold``. Keys: accuracy, precision, recall,
    f1, specificity, roc_auc, pr_auc, gini, ks, brier, log_loss, rmse and mae (of the PD
    against the 0/1 outcome: RMSE is the square root of Brier, MAE the mean absolute
    miss, which a large error moves less), expected_cost (per
    applicant, ``(fn * c_fn + fp * c_fp) / n``), approval_rate, bad_rate_approved, tn, fp,
    fn, tp (ints), n, bad_rate.

    Degenerate cases never raise: with one class in ``y`` the ranking metrics (roc_auc,
    pr_auc, gini, ks) are ``nan``; precision, recall, f1 and specificity are 0.0 when their
    denominator is empty; bad_rate_approved is 0.0 when nobody is approved.
    """
    y_arr, p_arr = check_labels_and_pd(y, p)
    if not 0.0 <= threshold <= 1.0:
        raise DataError(f"threshold must lie in [0, 1], got {threshold!r}")
    declined = (p_arr >= threshold).astype(np.int8)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y_arr, declined, labels=[0, 1]).ravel())
    n = len(y_arr)
    approved = tn + fn
    both = _both_classes(y_arr)
    nan = float("nan")
    return {
        "accuracy": float(accuracy_score(y_arr, declined)),
        "precision": float(precision_score(y_arr, declined, zero_division=0.0)),
        "recall": float(recall_score(y_arr, declined, zero_division=0.0)),
        "f1": float(f1_score(y_arr, declined, zero_division=0.0)),
        "specificity": tn / (tn + fp) if tn + fp else 0.0,
        "roc_auc": float(roc_auc_score(y_arr, p_arr)) if both else nan,
        "pr_auc": float(average_precision_score(y_arr, p_arr)) if both else nan,
        "gini": gini(y_arr, p_arr),
        "ks": ks_statistic(y_arr, p_arr),
        "brier": float(brier_score_loss(y_arr, p_arr, pos_label=1)),
        "log_loss": float(log_loss(y_arr, p_arr, labels=[0, 1])),
        "rmse": float(root_mean_squared_error(y_arr, p_arr)),
        "mae": float(mean_absolute_error(y_arr, p_arr)),
        "expected_cost": (fn * costs.false_negative + fp * costs.false_positive) / n,
        "approval_rate": approved / n,
        "bad_rate_approved": fn / approved if approved else 0.0,
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
        "n": n,
        "bad_rate": (tp + fn) / n,
    }


# --------------------------------------------------------------------------- calibration
def calibration_table(y: ArrayLike, p: ArrayLike, bins: int = 10) -> pd.DataFrame:
    """Observed bad rate against mean PD by PD quantile bins (deciles by default).

    Bin edges are PD quantiles; duplicate edges (ties, e.g. many equal PDs) are merged, so
    there may be fewer than ``bins`` rows, and empty bins are dropped. Bins are right-closed
    like ``pd.qcut``, and the assignment is the one of
    ``sklearn.calibration.calibration_curve(strategy="quantile")``, whose ``prob_pred`` /
    ``prob_true`` equal the ``mean_pd`` / ``observed_bad_rate`` columns.

    Columns: bin (1 = lowest PD), n, pd_min, pd_max, mean_pd, observed_bad_rate, bads.
    """
    if int(bins) < 1:
        raise DataError(f"bins must be at least 1, got {bins!r}")
    y_arr, p_arr = check_labels_and_pd(y, p)
    edges = np.unique(np.percentile(p_arr, np.linspace(0.0, 100.0, int(bins) + 1)))
    ids = np.searchsorted(edges[1:-1], p_arr, side="left")
    frame = pd.DataFrame({"bin": ids, "p": p_arr, "y": y_arr})
    table = frame.groupby("bin", sort=True).agg(
        n=("p", "size"),
        pd_min=("p", "min"),
        pd_max=("p", "max"),
        mean_pd=("p", "mean"),
        observed_bad_rate=("y", "mean"),
        bads=("y", "sum"),
    )
    table = table.reset_index(drop=True)
    table.insert(0, "bin", np.arange(1, len(table) + 1))
    table["bads"] = table["bads"].astype(np.int64)
    return table


# --------------------------------------------------------------------------- costs
def _default_thresholds(p_sorted: NDArray[np.float64]) -> NDArray[np.float64]:
    cuts = np.unique(np.concatenate([[0.0, 1.0], p_sorted]))
    if len(cuts) > DEFAULT_GRID:
        return np.linspace(0.0, 1.0, DEFAULT_GRID)
    return cuts


def cost_curve(
    y: ArrayLike,
    p: ArrayLike,
    costs: CostConfig,
    thresholds: ArrayLike | None = None,
) -> pd.DataFrame:
    """Expected cost per applicant, approval rate and bad rate among approved, by threshold.

    Declined means ``p >= threshold``. Default thresholds: the distinct PDs plus 0 and 1,
    or an evenly spaced grid of 501 points over [0, 1] when there are more. One sort and a
    binary search per threshold: O((n + m) log n) for m thresholds.
    Columns: threshold, expected_cost, approval_rate, bad_rate_approved (0.0 when nobody is
    approved).
    """
    y_arr, p_arr = check_labels_and_pd(y, p)
    order = np.argsort(p_arr, kind="mergesort")
    p_sorted = p_arr[order]
    cum_bad = np.r_[0, np.cumsum(y_arr[order].astype(np.int64))]
    if thresholds is None:
        t = _default_thresholds(p_sorted)
    else:
        t = np.asarray(thresholds, dtype=np.float64).ravel()
        if np.isnan(t).any():
            raise DataError("thresholds contain NaN")
    n = len(p_sorted)
    n_bad = int(cum_bad[-1])
    n_good = n - n_bad
    approved = np.searchsorted(p_sorted, t, side="left")  # count with p < t
    fn = cum_bad[approved]
    fp = n_good - (approved - fn)
    bad_rate_approved = np.where(approved > 0, fn / np.maximum(approved, 1), 0.0)
    return pd.DataFrame(
        {
            "threshold": t,
            "expected_cost": (fn * costs.false_negative + fp * costs.false_positive) / n,
            "approval_rate": approved / n,
            "bad_rate_approved": bad_rate_approved,
        }
    )
