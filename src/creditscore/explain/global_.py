"""Global explanations for the model card, and LIME as an alternative local explanation.

* importance: mean |contribution| per feature over a sample of applications, on the
  log-odds scale of the uncalibrated model: the compiled model's contributions, the same
  as the reason codes' (:mod:`creditscore.compiled.contributions`; shap computes nothing
  here);
* a beeswarm plot of those contributions (``shap.plots.beeswarm``, for its drawing only);
* partial dependence of the calibrated PD on the top features (scikit-learn's
  ``PartialDependenceDisplay`` on the bundle's model, so the y axis is the PD the policy
  uses);
* :func:`lime_explanation`: LIME's local linear surrogate for one applicant, on request.

Figures are standalone matplotlib ``Figure`` objects on an Agg canvas: nothing touches
pyplot's global state, so nothing leaks in a long training run or the server.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from creditscore.evaluation.plots import new_figure, render_pngs
from creditscore.features.numbers import parse_numbers
from creditscore.reasons import BASE_VALUE, Explainer, feature_label, is_missing

__all__ = ["GlobalExplanation", "global_explanations", "lime_explanation"]


@dataclass(frozen=True)
class GlobalExplanation:
    """What drives the model over a sample of applications: ``importance`` (one row per
    feature, most important first: ``feature``, ``label``, ``mean_abs_contribution``,
    ``share``, ``mean_contribution``, ``protected``), the PNG ``images`` by name
    (``shap_beeswarm``, ``partial_dependence``) and the files they were written to
    (``plots``; none without an ``out_dir``), the contribution ``method`` and its
    ``description``, over ``rows`` applications."""

    importance: list[dict[str, Any]]
    images: dict[str, bytes]
    plots: dict[str, Path]
    method: str
    description: str
    rows: int

    @property
    def intro(self) -> str:
        return (
            f"Mean absolute contribution to the log-odds of bad over {self.rows} training "
            f"applications; method: {self.description}."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "importance": self.importance,
            "plots": {k: str(v) for k, v in self.plots.items()},
            "method": self.method,
            "description": self.description,
            "rows": self.rows,
        }


def _bundle_and_sample(
    result_or_bundle: Any, X_sample: pd.DataFrame | None, max_rows: int, seed: int
) -> tuple[Any, pd.DataFrame]:
    bundle = getattr(result_or_bundle, "bundle", result_or_bundle)
    if X_sample is None:
        dataset, splits = (
            getattr(result_or_bundle, "dataset", None),
            getattr(result_or_bundle, "splits", None),
        )
        if dataset is None or splits is None:
            raise ValueError("pass X_sample (applications to explain) with a bundle")
        X_sample = dataset.X.iloc[splits.train]
    X = X_sample[bundle.features]
    if len(X) > max_rows:
        X = X.sample(max_rows, random_state=seed)
    return bundle, X


def _beeswarm(
    contribs: pd.DataFrame, X: pd.DataFrame, bundle: Any, features: list[str], labels: list[str]
) -> Figure:
    with warnings.catch_warnings():  # shap's import warns about matplotlib
        warnings.simplefilter("ignore")
        import shap

    numeric = {f.name for f in bundle.schema.fields if f.kind == "numeric"}
    data = np.column_stack(
        [
            pd.to_numeric(X[f], errors="coerce").to_numpy(dtype=float)
            if f in numeric
            else np.full(len(X), np.nan)  # categories (and derived features): grey dots
            for f in features
        ]
    )
    expl = shap.Explanation(
        values=contribs[features].to_numpy(),
        base_values=contribs[BASE_VALUE].to_numpy(),
        data=data,
        feature_names=labels,
    )
    n_show = min(12, len(features))
    fig = new_figure(8.0, 0.45 * n_show + 1.8)
    ax = fig.add_subplot()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shap.plots.beeswarm(expl, max_display=n_show, ax=ax, show=False, plot_size=None)
    ax.set_xlabel("contribution to log-odds of bad (grey: categories)", fontsize=10)
    return fig


def _partial_dependence(bundle: Any, X: pd.DataFrame, top: list[str]) -> Figure | None:
    from sklearn.inspection import PartialDependenceDisplay

    if not top:
        return None
    cats = [f.name for f in bundle.schema.fields if f.kind == "categorical" and f.name in top]
    k = len(top)
    cols = min(2, k)
    rows = math.ceil(k / cols)
    fig = new_figure(5.0 * cols, 3.6 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    frame = X.copy()
    for spec in bundle.schema.fields:
        if spec.kind == "categorical":  # sklearn's grid wants objects, not pandas' strings
            frame[spec.name] = frame[spec.name].astype(object)
        else:  # and refuses integer columns (rounding of the grid)
            frame[spec.name] = pd.to_numeric(frame[spec.name], errors="coerce").astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        PartialDependenceDisplay.from_estimator(
            bundle.model,
            frame,
            features=top,
            categorical_features=cats or None,
            response_method="predict_proba",
            kind="average",
            grid_resolution=20,
            ax=axes[:k],
        )
    for ax in axes[:k]:
        ax.set_ylabel("PD (calibrated)")
        texts = [t.get_text() for t in ax.get_xticklabels()]
        if any(len(t) > 26 for t in texts):
            short = [t if len(t) <= 26 else t[:24] + "…" for t in texts]
            ax.set_xticks(ax.get_xticks(), short)
        for label in ax.get_xticklabels():
            label.set_rotation(30)
            label.set_horizontalalignment("right")
            label.set_fontsize(7)
    for ax in axes[k:]:
        ax.set_visible(False)
    return fig


def global_explanations(
    result_or_bundle: Any,
    X_sample: pd.DataFrame | None = None,
    out_dir: str | Path | None = None,
    *,
    top: int = 4,
    max_rows: int = 500,
    seed: int = 0,
    explainer: Explainer | None = None,
) -> GlobalExplanation:
    """Importance table, beeswarm and partial dependence plots, for the model card.

    ``result_or_bundle``: a ``TrainingResult`` (``X_sample`` then defaults to a sample of
    its training rows and ``out_dir`` to the bundle's ``plots`` folder) or a bundle.
    The plots are written to ``out_dir`` (PNG); the model card lays the result out.
    """
    bundle, X = _bundle_and_sample(result_or_bundle, X_sample, max_rows, seed)
    if out_dir is None and getattr(result_or_bundle, "bundle_path", None) is not None:
        out_dir = Path(result_or_bundle.bundle_path) / "plots"
    ex = explainer or Explainer.from_bundle(bundle)
    contribs = ex.contributions(X)
    features = list(ex.features)  # the model's features (contribution columns)
    values = contribs[features]
    mean_abs = values.abs().mean()
    total = float(mean_abs.sum()) or 1.0
    order = list(mean_abs.sort_values(ascending=False, kind="stable").index)
    importance = [
        {
            "feature": f,
            "label": feature_label(f, bundle.reasons),
            "mean_abs_contribution": float(mean_abs[f]),
            "share": float(mean_abs[f] / total),
            "mean_contribution": float(values[f].mean()),
            "protected": f in ex.sensitive,
        }
        for f in order
    ]
    labels = [feature_label(f, bundle.reasons) for f in features]
    figures: dict[str, Figure] = {"shap_beeswarm": _beeswarm(contribs, X, bundle, features, labels)}
    inputs = set(bundle.features)  # partial dependence varies an input column
    pdp = _partial_dependence(
        bundle, X, [f for f in order if mean_abs[f] > 0 and f in inputs][:top]
    )
    if pdp is not None:
        figures["partial_dependence"] = pdp
    images, plots = render_pngs(figures, out_dir)
    return GlobalExplanation(
        importance=importance,
        images=images,
        plots=plots,
        method=ex.method,
        description=ex.description,
        rows=len(X),
    )


# ------------------------------------------------------------------------------ LIME
def profile_sample(bundle: Any, n: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Synthetic applications drawn from the bundle's Profile (training distributions):
    LIME's background where the training rows are not at hand (the service). Numbers are
    drawn uniformly within their decile bins (outer bins end at the training range),
    categories by their training shares; missing values as often as in training."""
    rng = np.random.default_rng(seed)
    profile = bundle.profile
    out: dict[str, Any] = {}
    for spec in bundle.schema.fields:
        fp = profile.features.get(spec.name) if profile is not None else None
        if spec.kind == "categorical":
            levels = list(spec.categories or [])
            shares = np.ones(len(levels))
            if fp is not None and fp.levels:
                known = dict(zip(fp.levels, fp.shares, strict=False))
                shares = np.asarray([known.get(lv, 0.0) for lv in levels]) + 1e-9
            values: list[Any] = list(rng.choice(levels, size=n, p=shares / shares.sum()))
        else:
            lo = spec.minimum if spec.minimum is not None else 0.0
            hi = spec.maximum if spec.maximum is not None else lo + 1.0
            inner = [e for e in (fp.edges if fp else []) if lo < e < hi]
            edges = [lo, *inner, hi]
            weights = np.ones(len(edges) - 1)
            if fp is not None and len(inner) == len(fp.edges) and len(fp.shares) == len(weights):
                weights = np.asarray(fp.shares, dtype=float) + 1e-9
            k = rng.choice(len(edges) - 1, size=n, p=weights / weights.sum())
            left, right = np.asarray(edges[:-1])[k], np.asarray(edges[1:])[k]
            x = left + rng.random(n) * (right - left)
            values = list(np.round(x) if spec.integer else x)
        if fp is not None and fp.missing_share > 0 and spec.nullable:
            for i in np.flatnonzero(rng.random(n) < fp.missing_share):
                values[i] = None
        out[spec.name] = values
    return pd.DataFrame(out)


def lime_explanation(
    bundle: Any,
    row: Mapping[str, Any],
    X_background: pd.DataFrame,
    *,
    num_features: int = 6,
    num_samples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """LIME's local surrogate of the calibrated PD around one application.

    Categories are label-encoded for LIME (missing as its own level), numbers are
    discretised into quartiles of ``X_background``; the model sees decoded applications.
    Returns the model's PD, the surrogate's PD, its R^2 and the weights (feature, the
    condition LIME states, weight on the PD).
    """
    from lime.lime_tabular import LimeTabularExplainer

    features = list(bundle.features)
    specs = {f.name: f for f in bundle.schema.fields}
    levels: dict[str, list[Any]] = {}
    for f in features:
        if specs[f].kind == "categorical":
            levels[f] = [*list(specs[f].categories or []), None]

    def numbers(values: pd.Series, f: str) -> np.ndarray:
        return parse_numbers(values, specs[f].decimal)[0]  # '13.95%' as training read it

    medians = {
        f: float(np.nanmedian(numbers(X_background[f], f))) for f in features if f not in levels
    }

    def encode(frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(features)))
        for j, f in enumerate(features):
            if f in levels:
                index = {lv: i for i, lv in enumerate(levels[f])}
                out[:, j] = [
                    index.get(None if is_missing(v) else str(v), len(levels[f]) - 1)
                    for v in frame[f]
                ]
            else:
                x = numbers(frame[f], f)
                out[:, j] = np.where(np.isnan(x), medians[f], x)
        return out

    def decode(arr: np.ndarray) -> pd.DataFrame:
        data: dict[str, Any] = {}
        for j, f in enumerate(features):
            if f in levels:
                lv = levels[f]
                codes = np.clip(np.rint(arr[:, j]).astype(int), 0, len(lv) - 1)
                data[f] = pd.Series([lv[c] for c in codes], dtype=object)
            else:
                data[f] = arr[:, j]
        return pd.DataFrame(data)

    def predict(arr: np.ndarray) -> np.ndarray:
        p = bundle.predict_proba(decode(np.atleast_2d(arr)))
        return np.column_stack([1.0 - p, p])

    train = encode(X_background[features])
    cat_idx = [j for j, f in enumerate(features) if f in levels]
    explainer = LimeTabularExplainer(
        train,
        mode="classification",
        feature_names=[feature_label(f, bundle.reasons) for f in features],
        categorical_features=cat_idx,
        categorical_names={
            j: [str(v) if v is not None else "missing" for v in levels[features[j]]]
            for j in cat_idx
        },
        class_names=["good", "bad"],
        discretize_continuous=True,
        random_state=seed,
    )
    x = encode(pd.DataFrame([{f: row.get(f) for f in features}]))[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exp = explainer.explain_instance(
            x, predict, labels=(1,), num_features=num_features, num_samples=num_samples
        )
    weights = [
        {"feature": features[j], "condition": cond, "weight": float(w)}
        for (j, w), (cond, _) in zip(exp.as_map()[1], exp.as_list(label=1), strict=True)
    ]
    return {
        "method": "lime",
        "probability_of_default": float(predict(x)[0, 1]),
        "local_probability_of_default": float(np.ravel(exp.local_pred)[0]),
        "intercept": float(exp.intercept[1]),
        "r2": float(exp.score),
        "weights": weights,
    }
