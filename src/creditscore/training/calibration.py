"""Calibrate the champion: choose the method by cross-validated log loss, fit it, attach it.

The calibrator learns from held-out *responses* of the model (its ``decision_function``
when it has one, else its PD), exactly what ``CalibratedClassifierCV`` feeds it:

- ``final_fit: train``: the responses of the model fitted on train, on the validation set
  (:func:`calibrate`); the result equals
  ``CalibratedClassifierCV(FrozenEstimator(model), ensemble=False).fit(X_valid, y_valid)``.
- ``final_fit: train_valid``: cross-fitted out-of-fold responses over train + valid (each
  row scored by a model that never saw it), and the calibrator is put on top of the model
  refitted on train + valid (:func:`calibrate_responses`); the result is what
  ``CalibratedClassifierCV(model, cv=folds, ensemble=False)`` builds, without refitting
  the fold models a second time.

``auto`` picks isotonic or sigmoid by 5-fold cross-validated log loss *within* those rows
(fitting the calibrator on 4/5 and scoring the other 1/5), so the choice is not made on
the rows it is judged on; the winner is then fitted on all of them. Log loss rather than
Brier: on a small set isotonic regression happily returns PDs of exactly 0 or 1, which
Brier barely notices and log loss (rightly) punishes, since a PD of 0 is an infinite score
and a promise no lender can keep. The cross-fitted calibrated PDs of the chosen method are
kept (``Calibration.cross_fitted``): the cost threshold and the development metrics use
them, so neither is measured on rows the calibrator learnt from.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV, _CalibratedClassifier, _SigmoidCalibration
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

METHODS = ("isotonic", "sigmoid")


@dataclass(frozen=True)
class Calibration:
    method: str  # isotonic | sigmoid | none
    model: Any  # raw frame -> calibrated PD
    cv_log_loss: dict[str, float]  # method -> CV log loss ("none": uncalibrated)
    # calibrated PD of every row the method was chosen on, from a calibrator fitted
    # without that row (the "none" method: the held-out PD itself)
    cross_fitted: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rows: str = ""  # which rows it learnt from, in words


def response_kind(model: Any) -> str:
    """``decision`` when the calibrator reads ``decision_function`` (as scikit-learn's does)."""
    return "decision" if hasattr(model, "decision_function") else "proba"


def responses(model: Any, X: pd.DataFrame) -> np.ndarray:
    """What a calibrator reads from ``model`` on ``X``."""
    if response_kind(model) == "decision":
        return np.asarray(model.decision_function(X), dtype=np.float64)
    return np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)


def _calibrator(method: str, r: np.ndarray, y: np.ndarray) -> Any:
    cal: Any = IsotonicRegression(out_of_bounds="clip") if method == "isotonic" else None
    if cal is None:
        cal = _SigmoidCalibration()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal.fit(r, y.astype(np.float64))
    return cal


def _predict(cal: Any, r: np.ndarray) -> np.ndarray:
    p = np.asarray(cal.predict(r), dtype=np.float64)
    p[(p > 1.0) & (p <= 1.0 + 1e-5)] = 1.0
    return p


def choose(
    r: np.ndarray, p: np.ndarray, y: np.ndarray, method: str = "auto", seed: int = 42
) -> tuple[str, dict[str, float], np.ndarray]:
    """The method (by CV log loss on ``(r, y)``), every method's CV log loss, and the
    cross-fitted calibrated PDs of the chosen one. ``p`` is the uncalibrated PD."""
    y = np.asarray(y).astype(np.int64)
    scores = {"none": float(log_loss(y, p, labels=[0, 1]))}
    if method == "none":
        return "none", scores, np.asarray(p, dtype=np.float64)
    candidates = METHODS if method == "auto" else (method,)
    n_splits = int(min(5, np.bincount(y, minlength=2).min()))
    crossed: dict[str, np.ndarray] = {}
    if n_splits >= 2:
        splits = list(
            StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
        )
        for m in candidates:
            out = np.empty(len(y))
            losses = []
            for tr, te in splits:
                out[te] = _predict(_calibrator(m, r[tr], y[tr]), r[te])
                losses.append(log_loss(y[te], out[te], labels=[0, 1]))
            scores[m] = float(np.mean(losses))
            crossed[m] = out
    chosen = min(candidates, key=lambda m: scores.get(m, np.inf))
    if chosen not in crossed:  # too few bads to cross-validate: in-sample, and said so
        crossed[chosen] = _predict(_calibrator(chosen, r, y), r)
    return chosen, scores, crossed[chosen]


def attach(model: Any, method: str, r: np.ndarray, y: np.ndarray) -> CalibratedClassifierCV:
    """``model`` (fitted) with a ``method`` calibrator fitted on held-out responses ``r``:
    the very object ``CalibratedClassifierCV(..., ensemble=False)`` builds, so the compiled
    scorer and every explainer read it as they read any calibrated model."""
    frozen = FrozenEstimator(model)
    classes = np.asarray(model.classes_)
    cal = CalibratedClassifierCV(frozen, method=method, ensemble=False)
    cal.calibrated_classifiers_ = [
        _CalibratedClassifier(frozen, [_calibrator(method, r, y)], classes=classes, method=method)
    ]
    cal.classes_ = classes
    for attr in ("n_features_in_", "feature_names_in_"):
        if hasattr(model, attr):
            setattr(cal, attr, getattr(model, attr))
    return cal


def calibrate(
    model: Any, X: pd.DataFrame, y: np.ndarray, method: str = "auto", seed: int = 42
) -> Calibration:
    """Calibrate ``model`` (fitted on other rows) on ``(X, y)`` (``final_fit: train``)."""
    r = responses(model, X)
    p = np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)
    rows = f"the validation split ({len(y)} rows), model fitted on train"
    return calibrate_responses(model, r, p, y, method, seed, rows=rows)


def calibrate_responses(
    model: Any,
    r: np.ndarray,
    p: np.ndarray,
    y: np.ndarray,
    method: str = "auto",
    seed: int = 42,
    *,
    rows: str = "",
) -> Calibration:
    """Calibrate ``model`` from held-out responses ``r`` and PDs ``p`` of other models or
    rows (``final_fit: train_valid``: cross-fitted out-of-fold values over train + valid)."""
    y = np.asarray(y).astype(np.int64)
    chosen, scores, crossed = choose(r, p, y, method, seed)
    fitted = model if chosen == "none" else attach(model, chosen, r, y)
    return Calibration(chosen, fitted, scores, crossed, rows)
