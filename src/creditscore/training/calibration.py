"""Calibrate the chosen model on the validation set.

``auto`` picks isotonic or sigmoid by 5-fold cross-validated log loss *within* the
validation set (fitting the calibrator on 4/5 and scoring the other 1/5), so the choice is
not made on the same rows it is judged on; the winner is then fitted on all of valid.
Log loss rather than Brier: on a small validation set isotonic regression happily returns
PDs of exactly 0 or 1, which Brier barely notices and log loss (rightly) punishes, since a
PD of 0 is an infinite score and a promise no lender can keep.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

METHODS = ("isotonic", "sigmoid")


@dataclass(frozen=True)
class Calibration:
    method: str  # isotonic | sigmoid | none
    model: Any  # raw frame -> calibrated PD
    cv_log_loss: dict[str, float]  # method -> CV log loss on valid ("none": uncalibrated)


def _calibrated(model: Any, method: str) -> CalibratedClassifierCV:
    return CalibratedClassifierCV(FrozenEstimator(model), method=method, ensemble=False, cv=5)


def calibrate(
    model: Any, X: pd.DataFrame, y: np.ndarray, method: str = "auto", seed: int = 42
) -> Calibration:
    raw = model.predict_proba(X)[:, 1]
    scores = {"none": float(log_loss(y, raw, labels=[0, 1]))}
    if method == "none":
        return Calibration("none", model, scores)
    candidates = METHODS if method == "auto" else (method,)
    n_splits = int(min(5, np.bincount(y).min()))
    for m in candidates:
        if n_splits < 2:
            break
        losses = []
        for tr, te in StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(X, y):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cal = _calibrated(model, m).fit(X.iloc[tr], y[tr])
            losses.append(log_loss(y[te], cal.predict_proba(X.iloc[te])[:, 1], labels=[0, 1]))
        scores[m] = float(np.mean(losses))
    chosen = min(candidates, key=lambda m: scores.get(m, np.inf))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = _calibrated(model, chosen).fit(X, y)
    return Calibration(chosen, fitted, scores)
