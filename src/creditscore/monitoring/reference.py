"""What monitoring compares with, read from a bundle alone (no training data needed).

:class:`Reference` turns the bundle's Profile, input schema and policy into bins: the PSI
bins of every input (training deciles plus a missing bin; categories: the kept levels, the
other levels seen in training, unseen, missing), the finer histogram behind effect sizes and
KS, the PD bins of the score, the risk bands and the development figures. A bundle saved
before the Profile carried the monitoring fields still works: what it lacks is derived from
the deciles or left out, and :attr:`Reference.notes` says which.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from creditscore.data.profile import FeatureProfile, PerformanceReference
from creditscore.features.spelling import canonical_key

OTHER, UNSEEN, MISSING = "(other seen)", "(unseen)", "(missing)"


@dataclass(frozen=True)
class FeatureReference:
    name: str
    kind: str  # numeric | categorical
    n: int  # reference rows
    missing_share: float
    psi_shares: np.ndarray  # every PSI bin, the missing bin last; sums to 1
    psi_labels: list[str]
    # numeric
    psi_edges: np.ndarray = field(default_factory=lambda: np.empty(0))
    hist_edges: np.ndarray = field(default_factory=lambda: np.empty(0))
    hist_shares: np.ndarray = field(default_factory=lambda: np.empty(0))  # of present values
    hist_locations: np.ndarray = field(default_factory=lambda: np.empty(0))
    std: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    psi_of_hist: np.ndarray | None = None  # PSI bin of each fine bin, when the bins nest
    # categorical: canonical spelling -> kept level index; every level seen in training
    level_index: dict[str, int] = field(default_factory=dict)
    seen: frozenset[str] = frozenset()
    legacy: bool = False  # built from a bundle without the monitoring fields

    @property
    def n_levels(self) -> int:
        return len(self.psi_labels) - 3  # kept levels, then other, unseen, missing


@dataclass(frozen=True)
class Reference:
    features: list[FeatureReference]
    score_edges: np.ndarray  # inner PD edges of the score bins
    score_shares: np.ndarray
    score_labels: list[str]
    score_n: int
    score_mean: float | None
    band_names: list[str]
    band_cuts: np.ndarray  # max PD of each band
    performance: PerformanceReference | None
    notes: list[str]

    @classmethod
    def from_bundle(cls, bundle: Any) -> Reference:
        profile, schema, policy = bundle.profile, bundle.schema, bundle.policy
        notes: list[str] = []
        feats: list[FeatureReference] = []
        legacy = False
        for spec in schema.fields:
            fp = profile.features.get(spec.name)
            if fp is None:
                notes.append(f"{spec.name}: not in the bundle's profile, not monitored")
                continue
            if fp.kind == "numeric":
                ref = _numeric(spec.name, fp, profile.n_rows, spec.minimum, spec.maximum)
            else:
                ref = _categorical(spec.name, fp, profile.n_rows, spec.categories or [])
            legacy = legacy or ref.legacy
            feats.append(ref)
        if legacy:
            notes.append(
                "the bundle's profile predates the monitoring fields: effect sizes and KS "
                "use the training deciles (coarser); retrain to get the finer reference"
            )
        performance = getattr(profile, "reference", None)
        if performance is None:
            notes.append(
                "the bundle has no development figures (risk-band shares, decision mix, "
                "AUC): decision mix and AUC change are not tested; retrain to add them"
            )
        score = profile.score
        edges = np.asarray(score.edges, dtype=float)
        shares = np.asarray(score.shares, dtype=float)
        total = shares.sum()
        shares = shares / total if total > 0 else shares
        cuts = [0.0, *edges.tolist(), 1.0]
        labels = [
            f"PD {lo:.3f}-{hi:.3f} ({policy.points(hi)}-{policy.points(lo)} pts)"
            for lo, hi in itertools.pairwise(cuts)
        ]
        return cls(
            features=feats,
            score_edges=edges,
            score_shares=shares,
            score_labels=labels,
            score_n=score.n or profile.n_rows,
            score_mean=score.mean,
            band_names=[name for name, _ in policy.bands],
            band_cuts=np.asarray([cut for _, cut in policy.bands], dtype=float),
            performance=performance,
            notes=notes,
        )


def _edge_labels(edges: np.ndarray) -> list[str]:
    if not len(edges):
        return ["all values", MISSING]
    out = [f"< {edges[0]:.4g}"]
    out += [f"{lo:.4g} to < {hi:.4g}" for lo, hi in itertools.pairwise(edges)]
    out.append(f">= {edges[-1]:.4g}")
    return [*out, MISSING]


def _numeric(
    name: str, fp: FeatureProfile, n_rows: int, lo: float | None, hi: float | None
) -> FeatureReference:
    edges = np.asarray(fp.edges, dtype=float)
    psi_shares = np.asarray([*fp.shares, fp.missing_share], dtype=float)
    if len(psi_shares) == 1:  # a column that was entirely missing in training
        psi_shares = np.asarray([0.0, 1.0])
    legacy = not fp.hist_edges and not fp.hist_shares
    if legacy:
        hist_edges = edges
        present = max(1.0 - fp.missing_share, 1e-12)
        hist_shares = np.asarray(fp.shares, dtype=float) / present
        locations = _midpoints(edges, lo, hi)
    else:
        hist_edges = np.asarray(fp.hist_edges, dtype=float)
        hist_shares = np.asarray(fp.hist_shares, dtype=float)
        locations = np.asarray(fp.hist_means, dtype=float)
    return FeatureReference(
        name=name,
        kind="numeric",
        psi_of_hist=_nesting(edges, hist_edges),
        n=fp.n or n_rows,
        missing_share=fp.missing_share,
        psi_shares=psi_shares,
        psi_labels=_edge_labels(edges),
        psi_edges=edges,
        hist_edges=hist_edges,
        hist_shares=hist_shares,
        hist_locations=locations,
        std=fp.std,
        minimum=fp.minimum if fp.minimum is not None else lo,
        maximum=fp.maximum if fp.maximum is not None else hi,
        legacy=legacy,
    )


def _nesting(psi_edges: np.ndarray, hist_edges: np.ndarray) -> np.ndarray | None:
    """When every PSI edge is also a fine edge (deciles among the 2 % quantiles), each fine
    bin lies inside one PSI bin: one search per value gives both bins."""
    if not len(psi_edges) or not np.isin(psi_edges, hist_edges).all():
        return None
    lower = np.concatenate([[-np.inf], hist_edges])  # fine bin j holds [lower[j], edge j)
    return np.searchsorted(psi_edges, lower, side="right")


def _midpoints(edges: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    """Where the values of each decile bin sit, roughly (old bundles kept no bin means)."""
    if not len(edges):
        return np.asarray([lo if lo is not None else 0.0])
    first = lo if lo is not None and lo < edges[0] else edges[0]
    last = hi if hi is not None and hi > edges[-1] else edges[-1]
    bounds = np.concatenate([[first], edges, [last]])
    return (bounds[:-1] + bounds[1:]) / 2.0


def _categorical(
    name: str, fp: FeatureProfile, n_rows: int, categories: list[str]
) -> FeatureReference:
    index: dict[str, int] = {}
    for i, level in enumerate(fp.levels):
        index.setdefault(canonical_key(str(level)), i)
    seen = frozenset(canonical_key(str(c)) for c in [*categories, *fp.levels])
    kept = list(fp.shares[: len(fp.levels)])
    other = float(fp.shares[len(fp.levels)]) if len(fp.shares) > len(fp.levels) else 0.0
    shares = np.asarray([*kept, other, 0.0, fp.missing_share], dtype=float)
    return FeatureReference(
        name=name,
        kind="categorical",
        n=fp.n or n_rows,
        missing_share=fp.missing_share,
        psi_shares=shares,
        psi_labels=[*(str(level) for level in fp.levels), OTHER, UNSEEN, MISSING],
        level_index=index,
        seen=seen,
        legacy=False,
    )
