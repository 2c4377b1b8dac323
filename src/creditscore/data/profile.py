"""Profile: reference distributions of every input and of the PD, saved in the bundle.

Monitoring compares live data against these bins (PSI, KS) without needing the training
data. Numeric features use decile edges of the training values (plus a missing share);
categorical features use level shares (levels beyond the 50 most common pool as other).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MAX_LEVELS = 50


@dataclass(frozen=True)
class FeatureProfile:
    kind: str  # "numeric" or "categorical"
    edges: list[float] = field(default_factory=list)  # numeric: inner bin edges
    levels: list[str] = field(default_factory=list)  # categorical: kept levels
    shares: list[float] = field(default_factory=list)  # per bin/level, then other (cat), missing
    missing_share: float = 0.0
    mean: float | None = None
    std: float | None = None


@dataclass(frozen=True)
class Profile:
    features: dict[str, FeatureProfile]
    score: FeatureProfile
    n_rows: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": {k: asdict(v) for k, v in self.features.items()},
            "score": asdict(self.score),
            "n_rows": self.n_rows,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Profile:
        return cls(
            features={k: FeatureProfile(**v) for k, v in raw["features"].items()},
            score=FeatureProfile(**raw["score"]),
            n_rows=int(raw["n_rows"]),
        )


def numeric_profile(values: np.ndarray, bins: int = 10) -> FeatureProfile:
    v = np.asarray(values, dtype=float)
    present = v[~np.isnan(v)]
    if present.size == 0:
        return FeatureProfile("numeric", missing_share=1.0, shares=[])
    edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1)
    return FeatureProfile(
        "numeric",
        edges=edges.tolist(),
        shares=(counts / len(v)).tolist(),
        missing_share=float(1 - present.size / len(v)),
        mean=float(present.mean()),
        std=float(present.std()),
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
    )


def build_profile(
    X: pd.DataFrame, numeric: list[str], categorical: list[str], proba: np.ndarray
) -> Profile:
    feats: dict[str, FeatureProfile] = {}
    for col in numeric:
        feats[col] = numeric_profile(pd.to_numeric(X[col], errors="coerce").to_numpy())
    for col in categorical:
        feats[col] = categorical_profile(X[col])
    return Profile(feats, numeric_profile(proba), len(X))
