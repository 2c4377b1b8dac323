"""Profile: reference distributions of every input and of the PD, saved in the bundle.

Monitoring compares live data against these bins (PSI, KS) without needing the training
data. Numeric features use decile edges of the training values (plus a missing share);
categorical features use level shares (levels beyond the 50 most common pool as other).

For monitoring, each numeric feature also keeps its range and a finer histogram (up to 50
quantile bins with the mean value of each: effect sizes and KS), and the profile keeps a
:class:`PerformanceReference` (risk-band shares, decision mix, mean PD, bad rate and the
development AUC with its standard error). Bundles saved before these fields existed still
load: the fields are empty and monitoring computes what it can without them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MAX_LEVELS = 50
#: The decisions a policy makes, in the order reports list them.
DECISIONS = ("approve", "refer", "decline")
#: Quantile bins of the finer histogram of a numeric feature (effect sizes, KS).
HIST_BINS = 50


@dataclass(frozen=True)
class FeatureProfile:
    kind: str  # "numeric" or "categorical"
    edges: list[float] = field(default_factory=list)  # numeric: inner bin edges
    levels: list[str] = field(default_factory=list)  # categorical: kept levels
    shares: list[float] = field(default_factory=list)  # per bin/level, then other (cat), missing
    missing_share: float = 0.0
    mean: float | None = None
    std: float | None = None
    # for monitoring (empty in bundles saved before they existed)
    n: int = 0  # rows the profile was built on (0: unknown)
    minimum: float | None = None  # numeric: range seen
    maximum: float | None = None
    hist_edges: list[float] = field(default_factory=list)  # numeric: inner edges, finer bins
    hist_shares: list[float] = field(default_factory=list)  # share of present values per bin
    hist_means: list[float] = field(default_factory=list)  # mean value in each bin


@dataclass(frozen=True)
class PerformanceReference:
    """The development figures monitoring compares a cohort with (held-out rows)."""

    n: int  # labelled rows behind the shares and rates
    bad_rate: float
    mean_pd: float
    bands: list[str]
    band_shares: list[float]
    band_mean_pd: list[float]
    band_bad_rates: list[float | None]
    decision_shares: dict[str, float]  # approve / refer / decline
    auc: float | None  # development AUC (the test split) ...
    auc_se: float | None  # ... its DeLong standard error
    auc_rows: int
    source: str  # which rows, in words


@dataclass(frozen=True)
class Profile:
    features: dict[str, FeatureProfile]
    score: FeatureProfile
    n_rows: int
    reference: PerformanceReference | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "features": {k: asdict(v) for k, v in self.features.items()},
            "score": asdict(self.score),
            "n_rows": self.n_rows,
        }
        if self.reference is not None:
            out["reference"] = asdict(self.reference)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Profile:
        reference = raw.get("reference")
        return cls(
            features={k: FeatureProfile(**v) for k, v in raw["features"].items()},
            score=FeatureProfile(**raw["score"]),
            n_rows=int(raw["n_rows"]),
            reference=PerformanceReference(**reference) if reference else None,
        )


def numeric_profile(values: np.ndarray, bins: int = 10) -> FeatureProfile:
    v = np.asarray(values, dtype=float)
    present = v[~np.isnan(v)]
    if present.size == 0:
        return FeatureProfile("numeric", missing_share=1.0, shares=[], n=len(v))
    edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1)
    # the deciles are fine edges too, so every fine bin lies inside one decile bin
    quantiles = np.quantile(present, np.linspace(0, 1, HIST_BINS + 1)[1:-1])
    fine = np.unique(np.concatenate([quantiles, edges]))
    which = np.searchsorted(fine, present, side="right")
    fine_counts = np.bincount(which, minlength=len(fine) + 1)
    sums = np.bincount(which, weights=present, minlength=len(fine) + 1)
    lower = np.concatenate([[present.min()], fine])  # where an empty bin starts
    means = np.where(fine_counts > 0, sums / np.maximum(fine_counts, 1), lower)
    return FeatureProfile(
        "numeric",
        edges=edges.tolist(),
        shares=(counts / len(v)).tolist(),
        missing_share=float(1 - present.size / len(v)),
        mean=float(present.mean()),
        std=float(present.std()),
        n=len(v),
        minimum=float(present.min()),
        maximum=float(present.max()),
        hist_edges=fine.tolist(),
        hist_shares=(fine_counts / present.size).tolist(),
        hist_means=means.tolist(),
    )


def categorical_profile(values: pd.Series) -> FeatureProfile:
    s = pd.Series(values, dtype=object)
    n = len(s)
    counts = s.dropna().astype(str).value_counts()
    kept = counts.iloc[:MAX_LEVELS]
    other = int(counts.iloc[MAX_LEVELS:].sum())
    return FeatureProfile(
        "categorical",
        levels=[str(x) for x in kept.index],
        shares=[*(kept.to_numpy() / n).tolist(), other / n],
        missing_share=float(s.isna().mean()),
        n=n,
    )


def build_profile(
    X: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    proba: np.ndarray,
    reference: PerformanceReference | None = None,
) -> Profile:
    """Feature distributions of ``X``, the PD distribution of ``proba`` (ideally held-out
    rows: in-sample PDs of a flexible model are more extreme than live ones) and the
    development figures."""
    feats: dict[str, FeatureProfile] = {}
    for col in numeric:
        feats[col] = numeric_profile(pd.to_numeric(X[col], errors="coerce").to_numpy())
    for col in categorical:
        feats[col] = categorical_profile(X[col])
    return Profile(feats, numeric_profile(proba), len(X), reference)


def build_reference(
    y: np.ndarray,
    proba: np.ndarray,
    bands: np.ndarray,
    decisions: np.ndarray,
    band_names: list[str],
    auc: float | None,
    auc_se: float | None,
    auc_rows: int,
    source: str,
) -> PerformanceReference:
    """Band shares, decision mix, mean PD and bad rate of labelled held-out rows (``bands``
    and ``decisions`` are the policy's for ``proba``), with the development AUC."""
    y = np.asarray(y, dtype=float)
    proba = np.asarray(proba, dtype=float)
    bands = np.asarray(bands, dtype=object)
    decisions = np.asarray(decisions, dtype=object)
    n = len(y)
    shares, mean_pd, bad_rates = [], [], []
    for name in band_names:
        mask = bands == name
        k = int(mask.sum())
        shares.append(k / n if n else 0.0)
        mean_pd.append(float(proba[mask].mean()) if k else 0.0)
        bad_rates.append(float(y[mask].mean()) if k else None)
    return PerformanceReference(
        n=n,
        bad_rate=float(y.mean()) if n else 0.0,
        mean_pd=float(proba.mean()) if n else 0.0,
        bands=list(band_names),
        band_shares=shares,
        band_mean_pd=mean_pd,
        band_bad_rates=bad_rates,
        decision_shares={d: float(np.mean(decisions == d)) if n else 0.0 for d in DECISIONS},
        auc=auc,
        auc_se=auc_se,
        auc_rows=auc_rows,
        source=source,
    )
