"""Permutation importance of a fitted model: the drop in ROC-AUC when a feature is shuffled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.utils import check_random_state

if TYPE_CHECKING:
    from creditscore.training.train import TrainingResult

#: Shuffles per feature.
REPEATS = 5


@dataclass(frozen=True)
class FeatureImportance:
    feature: str
    mean: float  # mean drop in ROC-AUC over the repeats
    std: float


def permutation_importance_batched(
    model: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    n_repeats: int = REPEATS,
    random_state: int = 0,
    max_rows: int = 400_000,
) -> np.ndarray:
    """ROC-AUC permutation importances, shape ``(n_features, n_repeats)``.

    The same permutations and scores as ``sklearn.inspection.permutation_importance(model,
    X, y, scoring="roc_auc", n_repeats=..., random_state=...)`` (its seeding and its
    cumulative reshuffling of each column), but the permuted copies are scored in a few
    large ``predict_proba`` calls instead of one call per feature and repeat. A pipeline
    pays tens of milliseconds per call whatever the rows (column transformers, a blend
    of three models): for the demo champion on German's 150 validation rows this took
    the importance from 25 s to under 2 s, with identical numbers (a test checks it).
    """
    rs = check_random_state(random_state)
    seed = rs.randint(np.iinfo(np.int32).max + 1)
    n, columns = len(X), list(X.columns)
    y = np.asarray(y)
    base = float(roc_auc_score(y, model.predict_proba(X)[:, 1]))
    per_chunk = max(1, max_rows // max(1, n * n_repeats))
    out = np.empty((len(columns), n_repeats))
    for start in range(0, len(columns), per_chunk):
        chunk = columns[start : start + per_chunk]
        copies = []
        for col in chunk:
            col_rs = check_random_state(seed)
            idx = np.arange(n)
            values = X[col].to_numpy()
            for _ in range(n_repeats):
                col_rs.shuffle(idx)
                values = values[idx]
                permuted = X.copy()
                permuted[col] = values
                copies.append(permuted)
        proba = model.predict_proba(pd.concat(copies, ignore_index=True))[:, 1]
        scores = [roc_auc_score(y, block) for block in proba.reshape(len(copies), n)]
        out[start : start + len(chunk)] = base - np.reshape(scores, (len(chunk), n_repeats))
    return out


def importance_rows_of(result: TrainingResult) -> tuple[np.ndarray, str]:
    """Rows the shipped model did not learn from: valid with ``final_fit: train``, test
    with ``train_valid`` (the refitted model saw the validation rows)."""
    if result.config.final_fit == "train":
        return result.splits.valid, "validation"
    return result.splits.test, "test"


def feature_importance(result: TrainingResult, n_repeats: int = REPEATS) -> list[FeatureImportance]:
    """Permutation importance on rows the shipped model did not learn from (see
    :func:`importance_rows_of`), ROC-AUC scorer, largest first."""
    idx, _ = importance_rows_of(result)
    X = result.dataset.X.iloc[idx][result.bundle.features]
    imp = permutation_importance_batched(
        result.bundle.model,
        X,
        result.dataset.y[idx],
        n_repeats=n_repeats,
        random_state=result.config.split.seed,
    )
    rows = [
        FeatureImportance(str(f), float(m), float(s))
        for f, m, s in zip(X.columns, imp.mean(axis=1), imp.std(axis=1), strict=True)
    ]
    return sorted(rows, key=lambda r: r.mean, reverse=True)
