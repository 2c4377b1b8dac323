"""Error analysis of the champion: where it is wrong, and most sure of itself when it is.

Computed on the test split (rows the model never learnt from), at the policy threshold:

- the most confident errors: the goods with the highest PD (declined, though they repaid)
  and the bads with the lowest PD (approved, though they defaulted), with their top
  features' values;
- error rates by PD decile and by bins of the top features (quantile bins for numbers,
  the commonest levels for categories), so a validator sees where the model is weak.

Typed results only; the model card renders them (``reporting/``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Examples of each kind of confident error.
N_EXAMPLES = 5
#: Bins per numeric feature and levels per categorical feature.
N_BINS = 5


@dataclass(frozen=True)
class ConfidentError:
    row: int  # position in the evaluated rows
    application_id: str | None
    pd: float
    outcome: str  # "good" or "bad"
    values: dict[str, Any]  # the top features' (cleaned) values


@dataclass(frozen=True)
class RateBin:
    label: str
    n: int
    bads: int
    mean_pd: float
    bad_rate: float
    error_rate: float  # share decided wrongly at the threshold
    false_approvals: int  # bads below the threshold
    false_declines: int  # goods at or above it


@dataclass(frozen=True)
class FeatureBins:
    feature: str
    bins: list[RateBin]


@dataclass(frozen=True)
class ErrorAnalysis:
    rows: str  # which rows, in words
    threshold: float
    n: int
    error_rate: float
    confident_goods: list[ConfidentError]  # highest-PD goods
    confident_bads: list[ConfidentError]  # lowest-PD bads
    by_decile: list[RateBin]
    by_feature: list[FeatureBins] = field(default_factory=list)


def _bin(label: str, y: np.ndarray, p: np.ndarray, threshold: float) -> RateBin:
    declined = p >= threshold
    fa = int(((y == 1) & ~declined).sum())
    fd = int(((y == 0) & declined).sum())
    n = len(y)
    return RateBin(
        label=label,
        n=n,
        bads=int(y.sum()),
        mean_pd=float(p.mean()) if n else float("nan"),
        bad_rate=float(y.mean()) if n else float("nan"),
        error_rate=(fa + fd) / n if n else float("nan"),
        false_approvals=fa,
        false_declines=fd,
    )


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _numeric_bins(
    values: np.ndarray, y: np.ndarray, p: np.ndarray, threshold: float, n_bins: int
) -> list[RateBin]:
    present = ~np.isnan(values)
    out: list[RateBin] = []
    if present.any():
        edges = np.unique(np.quantile(values[present], np.linspace(0, 1, n_bins + 1)))
        ids = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, max(len(edges) - 2, 0))
        for k in range(max(len(edges) - 1, 1)):
            sel = present & (ids == k)
            if sel.any():
                lo, hi = float(values[sel].min()), float(values[sel].max())
                label = _fmt(lo) if lo == hi else f"{_fmt(lo)} to {_fmt(hi)}"
                out.append(_bin(label, y[sel], p[sel], threshold))
    if (~present).any():
        out.append(_bin("missing", y[~present], p[~present], threshold))
    return out


def _categorical_bins(
    values: pd.Series, y: np.ndarray, p: np.ndarray, threshold: float, n_levels: int
) -> list[RateBin]:
    s = pd.Series(values).astype(object)
    missing = s.isna().to_numpy()
    counts = s[~missing].astype(str).value_counts()
    kept = list(counts.index[:n_levels])
    text = s.astype(str).to_numpy()
    out = []
    for level in kept:
        sel = ~missing & (text == level)
        out.append(_bin(str(level), y[sel], p[sel], threshold))
    other = ~missing & ~np.isin(text, kept)
    if other.any():
        out.append(_bin(f"other ({len(counts) - len(kept)} levels)", y[other], p[other], threshold))
    if missing.any():
        out.append(_bin("missing", y[missing], p[missing], threshold))
    return out


def _examples(
    order: np.ndarray,
    X: pd.DataFrame,
    p: np.ndarray,
    outcome: str,
    features: Sequence[str],
    ids: Sequence[Any] | None,
) -> list[ConfidentError]:
    out = []
    for i in order:
        values = {}
        for f in features:
            v = X[f].iloc[i]
            values[f] = None if pd.isna(v) else (v.item() if isinstance(v, np.generic) else v)
        out.append(
            ConfidentError(
                row=int(i),
                application_id=None if ids is None else str(ids[i]),
                pd=float(p[i]),
                outcome=outcome,
                values=values,
            )
        )
    return out


def error_analysis(
    X: pd.DataFrame,
    y: Any,
    p: Any,
    threshold: float,
    features: Sequence[str],
    *,
    ids: Sequence[Any] | None = None,
    rows: str = "",
    n_examples: int = N_EXAMPLES,
    n_bins: int = N_BINS,
) -> ErrorAnalysis:
    """The error analysis of PDs ``p`` on outcomes ``y`` (1 = bad), decisions at
    ``threshold`` (decline when ``p >= threshold``), binned by ``features`` of ``X``."""
    y = np.asarray(y).astype(np.int64)
    p = np.asarray(p, dtype=np.float64)
    goods, bads = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    top_goods = goods[np.argsort(-p[goods], kind="stable")][:n_examples]
    low_bads = bads[np.argsort(p[bads], kind="stable")][:n_examples]
    edges = np.unique(np.quantile(p, np.linspace(0, 1, 11)))
    decile = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    by_decile = []
    for k in range(max(len(edges) - 1, 1)):
        sel = decile == k
        if sel.any():
            label = f"{k + 1}: PD {p[sel].min():.3f} to {p[sel].max():.3f}"
            by_decile.append(_bin(label, y[sel], p[sel], threshold))
    by_feature = []
    for f in features:
        col = X[f]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            bins = _numeric_bins(col.to_numpy(dtype=np.float64), y, p, threshold, n_bins)
        else:
            bins = _categorical_bins(col, y, p, threshold, n_bins + 1)
        by_feature.append(FeatureBins(str(f), bins))
    overall = _bin("all", y, p, threshold)
    return ErrorAnalysis(
        rows=rows,
        threshold=float(threshold),
        n=len(y),
        error_rate=overall.error_rate,
        confident_goods=_examples(top_goods, X, p, "good", features, ids),
        confident_bads=_examples(low_bads, X, p, "bad", features, ids),
        by_decile=by_decile,
        by_feature=by_feature,
    )
