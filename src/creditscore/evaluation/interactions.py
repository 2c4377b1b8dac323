"""The strongest feature interactions of a tree champion (or of a blend's tree member).

XGBoost and LightGBM: SHAP interaction values (TreeSHAP; XGBoost computes them itself),
on the log-odds the trees add up, for a sample of ``MAX_ROWS`` test rows; the interaction of two
*features* is the sum over their encoded columns (one-hot levels, missing indicators) of
the pairwise values (Shapley values add up over a grouping), and its strength is the mean
absolute value of that sum, both orders counted. CatBoost: its own pairwise interaction
score (``get_feature_importance(type="Interaction")``, in % of the total), summed the same
way. The random forest: SHAP interaction values too (slower: fewer rows).

A typed result (:class:`Interactions`) and a separate bar plot; the card renders them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier, VotingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

#: Rows of the test split used: interaction values cost as many SHAP computations as there
#: are encoded columns (about 20 s for 150 German rows of the default XGBoost on two busy
#: cores), so a sample; LightGBM and CatBoost are cheaper and are preferred in a blend.
MAX_ROWS = 60
FOREST_ROWS = 30
TOP_PAIRS = 8
#: Members of a blend tried in this order (cheapest first).
PREFERENCE = ("lightgbm", "catboost", "xgboost", "random_forest")


@dataclass(frozen=True)
class Interaction:
    a: str
    b: str
    strength: float


@dataclass(frozen=True)
class Interactions:
    model: str  # which fitted model, e.g. "xgboost (blend member, weight 1 of 3)"
    method: str
    unit: str
    rows: str
    pairs: list[Interaction] = field(default_factory=list)


def _unwrap(model: Any) -> Any:
    if isinstance(model, CalibratedClassifierCV):
        model = model.calibrated_classifiers_[0].estimator
    if isinstance(model, FrozenEstimator):
        model = model.estimator
    return model


def _kind(est: Any) -> str | None:
    name = type(est).__module__ + "." + type(est).__name__
    if name.startswith("xgboost"):
        return "xgboost"
    if name.startswith("lightgbm"):
        return "lightgbm"
    if name.startswith("catboost"):
        return "catboost"
    if isinstance(est, RandomForestClassifier):
        return "random_forest"
    return None


def tree_member(model: Any) -> tuple[Pipeline, str, str] | None:
    """The tree pipeline to explain: the champion itself, or a blend's member (by
    ``PREFERENCE``); with its kind and a description."""
    inner = _unwrap(model)
    if isinstance(inner, Pipeline):
        kind = _kind(inner.steps[-1][1])
        return (inner, kind, kind) if kind else None
    if isinstance(inner, VotingClassifier):
        weights = list(inner.weights or [1] * len(inner.estimators_))
        members = {
            _kind(p.steps[-1][1]): (p, w)
            for p, w in zip(inner.estimators_, weights, strict=True)
            if isinstance(p, Pipeline)
        }
        for kind in PREFERENCE:
            if kind in members:
                pipe, w = members[kind]
                return pipe, kind, f"{kind} (blend member, weight {w} of {sum(weights)})"
    return None


def _owners(prep: Any, numeric: list[str], categorical: list[str], width: int) -> list[str]:
    """The feature each encoded column comes from (the family preprocessing's layout)."""
    ct = prep.steps[0][1] if isinstance(prep, Pipeline) else prep
    blocks = {name: (trans, list(cols)) for name, trans, cols in ct.transformers_}
    owners: list[str] = []
    num, num_cols = blocks.get("num", (None, []))
    if num_cols:
        owners += num_cols
        if isinstance(num, Pipeline):
            imp = num.steps[0][1]
            indicator = getattr(imp, "indicator_", None)
            if indicator is not None:
                owners += [num_cols[j] for j in indicator.features_]
    cat, cat_cols = blocks.get("cat", (None, []))
    if cat_cols:
        last = cat.steps[-1][1] if isinstance(cat, Pipeline) else cat
        sizes = getattr(last, "_n_features_outs", None)
        if sizes is None:  # ordinal codes: one column per feature
            sizes = [1] * len(cat_cols)
        for col, size in zip(cat_cols, sizes, strict=True):
            owners += [col] * int(size)
    if len(owners) != width:
        raise ValueError(f"{width} encoded columns but {len(owners)} known owners")
    return owners


def _group(values: np.ndarray, owners: list[str]) -> tuple[list[str], np.ndarray]:
    """Mean |pairwise| of per-row matrices ``values`` (n, M, M), summed into features."""
    names = list(dict.fromkeys(owners))
    index = np.array([names.index(o) for o in owners])
    G = np.zeros((len(names), len(owners)))
    G[index, np.arange(len(owners))] = 1.0
    grouped = np.einsum("fi,nij,gj->nfg", G, values, G, optimize=True)
    return names, np.abs(grouped + np.transpose(grouped, (0, 2, 1))).mean(axis=0) / 2.0


def _pairs(names: list[str], matrix: np.ndarray, top: int) -> list[Interaction]:
    out = [
        Interaction(names[i], names[j], float(matrix[i, j]))
        for i in range(len(names))
        for j in range(i + 1, len(names))
    ]
    out.sort(key=lambda r: -r.strength)
    return [r for r in out[:top] if r.strength > 0]


def interactions(
    model: Any, X: pd.DataFrame, *, rows: str = "", top: int = TOP_PAIRS, seed: int = 0
) -> Interactions | None:
    """The strongest pairs of ``model`` (a fitted champion) on raw rows ``X``; None when
    the model has no tree part."""
    found = tree_member(model)
    if found is None:
        return None
    pipe, kind, label = found
    limit = FOREST_ROWS if kind == "random_forest" else MAX_ROWS
    if len(X) > limit:
        X = X.sample(limit, random_state=seed)
    clean, prep, est = (s[1] for s in pipe.steps)
    cleaned = clean.transform(X)
    enc = cleaned if prep in (None, "passthrough") else prep.transform(cleaned)
    enc = np.asarray(enc, dtype=np.float64)
    cleaner_numeric = [c for c in cleaned.columns if c not in clean.categorical]
    owners = _owners(prep, cleaner_numeric, list(clean.categorical), enc.shape[1])
    used = f"{len(X)} rows of {rows}" if rows else f"{len(X)} rows"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "catboost":
            from catboost import Pool

            raw = est.get_feature_importance(Pool(enc), type="Interaction")
            M = enc.shape[1]
            per = np.zeros((1, M, M))
            for i, j, score in raw:
                per[0, int(i), int(j)] = per[0, int(j), int(i)] = float(score) / 2.0
            names, matrix = _group(per, owners)
            return Interactions(
                label,
                "CatBoost pairwise interaction score",
                "% of total",
                used,
                _pairs(names, matrix, top),
            )
        if kind == "xgboost":
            import xgboost

            values = est.get_booster().predict(xgboost.DMatrix(enc), pred_interactions=True)
            values = np.asarray(values, dtype=np.float64)[:, :-1, :-1]  # drop the bias
        else:
            import shap

            values = np.asarray(shap.TreeExplainer(est).shap_interaction_values(enc))
            if values.ndim == 4:  # one matrix per class: keep the bad class
                values = values[..., 1] if values.shape[-1] == 2 else values[1]
        off = ~np.eye(values.shape[1], dtype=bool)
        values = values * off  # main effects sit on the diagonal
    names, matrix = _group(values, owners)
    unit = (
        "mean |SHAP interaction| (probability)"
        if kind == "random_forest"
        else ("mean |SHAP interaction| (log-odds)")
    )
    return Interactions(
        label, "SHAP interaction values (TreeSHAP)", unit, used, _pairs(names, matrix, top)
    )


def save_interaction_plot(result: Interactions, path: str | Path) -> Path | None:
    """A horizontal bar chart of the top pairs (PNG)."""
    if not result.pairs:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = list(reversed(result.pairs))
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(pairs) + 1.4))
    ax.barh([f"{p.a} × {p.b}" for p in pairs], [p.strength for p in pairs], color="#4c72b0")
    ax.set_xlabel(result.unit)
    ax.set_title(f"Strongest interactions: {result.model}", fontsize=10)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
