"""Single-column statistics ``init`` needs for leakage and proxies: the ROC-AUC of one
column, out-of-fold category rates (so a category column is scored without memorising),
Cramér's V."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["FOLDS", "column_score", "cramers_v", "oof_rate", "rank_auc"]

FOLDS = 5


def rank_auc(y: np.ndarray, score: np.ndarray) -> float:
    """The project's one ROC-AUC (:func:`creditscore.evaluation.metrics.auc`), 0.5 where
    ``y`` has one class, folded so that 1.0 is perfect separation in either direction."""
    from creditscore.evaluation.metrics import auc

    value = auc(y, score)
    return 0.5 if math.isnan(value) else max(value, 1.0 - value)


def oof_rate(codes: np.ndarray, y: np.ndarray, seed: int = 0) -> np.ndarray:
    """Out-of-fold share of ``y == 1`` per category: a category seen only in the held-out
    fold gets the prior, so an id-like, high-cardinality column scores ~0.5, not 1.0."""
    n = len(y)
    rng = np.random.default_rng(seed)
    folds = rng.permutation(n) % FOLDS
    n_cat = int(codes.max()) + 1 if n else 0
    out = np.empty(n, dtype=float)
    yf = np.asarray(y, dtype=float)
    for k in range(FOLDS):
        test = folds == k
        train = ~test
        prior = float(yf[train].mean()) if train.any() else 0.5
        cnt = np.bincount(codes[train], minlength=n_cat)
        bad = np.bincount(codes[train], weights=yf[train], minlength=n_cat)
        rate = np.where(cnt > 0, (bad + prior) / (cnt + 1.0), prior)
        out[test] = rate[codes[test]]
    return out


def column_score(s: pd.Series, numeric: bool) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(a number per row to rank, category codes): numbers as they are with missing below
    every value; categories (and missing as one) as codes for :func:`oof_rate`."""
    if numeric:
        values = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        if np.isnan(values).all():
            return None, None
        fill = np.nanmin(values) - 1.0
        return np.where(np.isnan(values), fill, values), None
    codes, _ = pd.factorize(s.astype(object), use_na_sentinel=False)
    return None, np.asarray(codes, dtype=np.int64)


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Bias-corrected Cramér's V of two code arrays (Bergsma 2013): 0 independent, 1 one
    determines the other."""
    table = pd.crosstab(a, b).to_numpy(dtype=float)
    n = table.sum()
    r, k = table.shape
    if n == 0 or r < 2 or k < 2:
        return 0.0
    expected = table.sum(axis=1, keepdims=True) @ table.sum(axis=0, keepdims=True) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        chi2 = float(np.nansum((table - expected) ** 2 / expected))
    phi2 = chi2 / n
    phi2c = max(0.0, phi2 - (k - 1) * (r - 1) / max(n - 1, 1))
    rc = r - (r - 1) ** 2 / max(n - 1, 1)
    kc = k - (k - 1) ** 2 / max(n - 1, 1)
    denom = min(kc - 1, rc - 1)
    return float(np.sqrt(phi2c / denom)) if denom > 0 else 0.0
