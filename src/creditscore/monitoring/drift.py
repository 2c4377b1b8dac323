"""Drift calculators: counts of a cohort against the reference -> typed results.

* PSI over the reference bins (deciles plus missing; categories plus other, unseen and
  missing), each share floored at ``PSI_FLOOR`` so an empty bin stays finite; bands
  < 0.10 stable, 0.10-0.25 watch, >= 0.25 act (Siddiqi; optbinning's ScorecardMonitoring);
  for an input it is the characteristic stability index (CSI).
* An effect size that does not grow with n: the Wasserstein distance between the
  reference and current histograms (each bin at its mean value) divided by the reference
  standard deviation, for numbers; the Jensen-Shannon distance (base 2, in [0, 1]) of the
  level shares, for categories (Evidently's and NannyML's defaults, threshold 0.1).
* A test beside each: two-sample KS (asymptotic, on the binned CDFs) for numbers and a
  chi-square test of homogeneity for categories and for the PSI bins. A p-value is shown
  and gates a size past its threshold; it never flags anything alone.
* Missing-rate change (chi-square on the 2x2 table), the share of numbers outside the
  training range and the share of categories never seen in training.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, kstwo, wasserstein_distance

from creditscore.config import MonitoringConfig
from creditscore.monitoring.counts import (
    LATENCY_EDGES,
    CategoricalCounts,
    NumericCounts,
    ScoreCounts,
)
from creditscore.monitoring.reference import FeatureReference, Reference
from creditscore.monitoring.results import (
    BandMix,
    Bin,
    DecisionMix,
    FeatureDrift,
    Operations,
    RequestErrors,
    ScoreDrift,
)
from creditscore.monitoring.thresholds import (
    INSUFFICIENT,
    STABLE,
    gated,
    size_status,
    worst_status,
)

#: Smallest share a PSI term uses (an empty bin would make PSI infinite).
PSI_FLOOR = 1e-4


# --------------------------------------------------------------------------- statistics
def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index sum((c - r) ln(c / r)) over shares, floored at PSI_FLOOR."""
    r = np.maximum(np.asarray(reference, dtype=float), PSI_FLOOR)
    c = np.maximum(np.asarray(current, dtype=float), PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def homogeneity_p(reference_counts: ArrayLike, current_counts: ArrayLike) -> float | None:
    """Chi-square test that two count vectors share one distribution (scipy)."""
    table = np.vstack([np.asarray(reference_counts, float), np.asarray(current_counts, float)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) <= 0).any():
        return None if (table.sum(axis=1) <= 0).any() else 1.0
    return float(chi2_contingency(table).pvalue)


def ks_binned(
    ref_shares: np.ndarray, cur_counts: np.ndarray, n_ref: float
) -> tuple[float, float | None]:
    """KS distance between binned CDFs and its asymptotic p-value (scipy's ``kstwo`` at the
    effective sample size n m / (n + m)). Binning can only shrink the distance, so the test
    is conservative."""
    n_cur = float(np.sum(cur_counts))
    if n_cur <= 0 or n_ref <= 0:
        return float("nan"), None
    d = float(np.max(np.abs(np.cumsum(ref_shares) - np.cumsum(cur_counts) / n_cur)))
    en = n_ref * n_cur / (n_ref + n_cur)
    return d, float(kstwo.sf(d, max(1, round(en))))


def _shares(counts: np.ndarray) -> np.ndarray:
    total = float(np.sum(counts))
    return np.asarray(counts, dtype=float) / total if total > 0 else np.zeros(len(counts))


def _bins(labels: list[str], ref: np.ndarray, counts: np.ndarray) -> list[Bin]:
    cur = _shares(counts)
    return [
        Bin(label, float(r), float(c), int(k))
        for label, r, c, k in zip(labels, ref, cur, counts, strict=True)
    ]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


# --------------------------------------------------------------------------- features
def feature_drift(
    ref: FeatureReference,
    counts: NumericCounts | CategoricalCounts,
    config: MonitoringConfig,
) -> FeatureDrift:
    n = counts.n
    cur_psi = _shares(counts.psi)
    value = psi(ref.psi_shares, cur_psi) if n else None
    psi_p = homogeneity_p(ref.psi_shares * ref.n, counts.psi) if n else None
    missing_cur = counts.missing / n if n else 0.0
    missing_p = (
        homogeneity_p(
            [ref.missing_share * ref.n, (1 - ref.missing_share) * ref.n],
            [counts.missing, n - counts.missing],
        )
        if n
        else None
    )
    out_of_range = unseen = None
    examples: list[str] = []
    invalid = 0
    if isinstance(counts, NumericCounts):
        present = n - counts.missing
        n_ref_present = ref.n * (1 - ref.missing_share)
        _, p_value = ks_binned(ref.hist_shares, counts.hist_n, n_ref_present)
        effect = _wasserstein_normed(ref, counts) if present else None
        if present and (ref.minimum is not None or ref.maximum is not None):
            out_of_range = (counts.below + counts.above) / present
        method, test, invalid = "wasserstein_normed", "ks", counts.invalid
    else:
        kept = counts.psi[:-1]  # present values: kept levels, other seen, unseen
        ref_present = ref.psi_shares[:-1]
        present = int(kept.sum())
        effect = (
            float(jensenshannon(_shares(ref_present), _shares(kept), base=2)) if present else None
        )
        p_value = homogeneity_p(ref_present * ref.n, kept) if present else None
        unseen = counts.unseen / present if present else None
        examples = [f"{value_} ({k})" for value_, k in counts.unseen_examples]
        method, test = "jensen_shannon", "chi2"
    status, reasons = _feature_status(
        ref,
        n,
        value,
        psi_p,
        effect,
        p_value,
        missing_cur,
        missing_p,
        out_of_range,
        unseen,
        config,
        method,
    )
    return FeatureDrift(
        feature=ref.name,
        kind=ref.kind,
        n=n,
        psi=value,
        psi_p_value=psi_p,
        effect_size=effect,
        effect_method=method,
        p_value=p_value,
        test=test,
        missing_reference=ref.missing_share,
        missing_current=missing_cur,
        missing_p_value=missing_p,
        out_of_range_rate=out_of_range,
        unseen_rate=unseen,
        unseen_examples=examples,
        invalid=invalid,
        status=status,
        reasons=reasons,
        bins=_bins(ref.psi_labels, ref.psi_shares, counts.psi),
    )


def _wasserstein_normed(ref: FeatureReference, counts: NumericCounts) -> float | None:
    weights = counts.hist_n.astype(float)
    if weights.sum() <= 0 or ref.hist_shares.sum() <= 0:
        return None
    locations = np.where(
        weights > 0, counts.hist_sum / np.maximum(weights, 1.0), ref.hist_locations
    )
    distance = float(wasserstein_distance(ref.hist_locations, locations, ref.hist_shares, weights))
    scale = ref.std if ref.std and ref.std > 0 else None
    if scale is None:  # a constant in training: any move is a full move
        return 0.0 if distance == 0 else math.inf
    return distance / scale


def _feature_status(
    ref: FeatureReference,
    n: int,
    value: float | None,
    psi_p: float | None,
    effect: float | None,
    p_value: float | None,
    missing: float,
    missing_p: float | None,
    out_of_range: float | None,
    unseen: float | None,
    c: MonitoringConfig,
    method: str,
) -> tuple[str, list[str]]:
    if n < c.min_rows:
        return INSUFFICIENT, [f"only {n} rows (monitoring.min_rows is {c.min_rows})"]
    a = c.drift_alpha
    checks: list[tuple[str, str]] = []
    s = gated(size_status(value, c.psi_watch, c.psi_act), psi_p, a)
    checks.append((s, f"PSI {value:.3f}" if value is not None else "PSI n/a"))
    name = "normed Wasserstein" if method == "wasserstein_normed" else "Jensen-Shannon"
    if effect is not None:
        s = gated(size_status(effect, c.effect_watch, c.effect_act), p_value, a)
        checks.append((s, f"{name} {effect:.3f}"))
    change = missing - ref.missing_share
    s = gated(size_status(abs(change), c.missing_watch, c.missing_act), missing_p, a)
    checks.append((s, f"missing {_pct(missing)} (was {_pct(ref.missing_share)})"))
    if out_of_range is not None:
        s = size_status(out_of_range, c.out_of_range_watch, c.out_of_range_act)
        checks.append((s, f"{_pct(out_of_range)} outside the training range"))
    if unseen is not None:
        s = size_status(unseen, c.unseen_watch, c.unseen_act)
        checks.append((s, f"{_pct(unseen)} categories never seen in training"))
    status = worst_status(s for s, _ in checks)
    return status, [text for s, text in checks if s != STABLE]


# --------------------------------------------------------------------------- score
def score_drift(reference: Reference, counts: ScoreCounts, config: MonitoringConfig) -> ScoreDrift:
    n = counts.n
    value = psi(reference.score_shares, _shares(counts.psi)) if n else None
    p = homogeneity_p(reference.score_shares * reference.score_n, counts.psi) if n else None
    if n < config.min_rows:
        status = INSUFFICIENT
    else:
        status = gated(size_status(value, config.psi_watch, config.psi_act), p, config.drift_alpha)
    return ScoreDrift(
        n=n,
        psi=value,
        p_value=p,
        status=status,
        mean_pd=counts.sum_pd / n if n else None,
        mean_pd_reference=reference.performance.mean_pd
        if reference.performance is not None
        else reference.score_mean,
        bins=_bins(reference.score_labels, reference.score_shares, counts.psi),
    )


def decision_mix(
    reference: Reference, counts: ScoreCounts, config: MonitoringConfig
) -> DecisionMix:
    n = counts.n
    decided = counts.decisions.astype(float)
    total = decided.sum()
    rates = decided / total if total > 0 else np.full(3, np.nan)
    perf = reference.performance
    ref_rates = (
        np.asarray([perf.decision_shares.get(d, 0.0) for d in ("approve", "refer", "decline")])
        if perf is not None
        else None
    )
    p = status = None
    if ref_rates is not None and total > 0 and perf is not None:
        p = homogeneity_p(ref_rates * perf.n, decided)
        change = abs(float(rates[0] - ref_rates[0]))
        if n < config.min_rows:
            status = INSUFFICIENT
        else:
            status = gated(
                size_status(change, config.approval_watch, config.approval_act),
                p,
                config.drift_alpha,
            )
    bands = []
    for i, name in enumerate(reference.band_names):
        k = float(counts.band_n[i])
        bands.append(
            BandMix(
                band=name,
                share=k / n if n else 0.0,
                share_reference=perf.band_shares[i] if perf is not None else None,
                mean_pd=float(counts.band_pd[i] / k) if k else None,
                approve=int(counts.band_decisions[i, 0]),
                refer=int(counts.band_decisions[i, 1]),
                decline=int(counts.band_decisions[i, 2]),
            )
        )

    def rate(i: int) -> float | None:
        return float(rates[i]) if total > 0 else None

    def ref_rate(i: int) -> float | None:
        return float(ref_rates[i]) if ref_rates is not None else None

    return DecisionMix(
        n=n,
        approval_rate=rate(0),
        refer_rate=rate(1),
        decline_rate=rate(2),
        approval_rate_reference=ref_rate(0),
        refer_rate_reference=ref_rate(1),
        decline_rate_reference=ref_rate(2),
        p_value=p,
        status=status or INSUFFICIENT,
        bands=bands,
    )


def operations(counts: ScoreCounts, errors: RequestErrors | None = None) -> Operations | None:
    """Volume and latency percentiles of logged decisions, with the failed requests."""
    if not counts.has_latency and errors is None:
        return None
    hist = counts.latency
    total = int(hist.sum())

    def quantile(q: float) -> float | None:
        if total == 0:
            return None
        i = int(np.searchsorted(np.cumsum(hist), q * total, side="left"))
        lo = LATENCY_EDGES[i - 1] if i > 0 else LATENCY_EDGES[0] / 10
        hi = LATENCY_EDGES[i] if i < len(LATENCY_EDGES) else LATENCY_EDGES[-1]
        return float(math.sqrt(lo * hi))  # the bin's geometric middle (6 % wide)

    return Operations(
        volume=counts.n,
        latency_p50_ms=quantile(0.50),
        latency_p95_ms=quantile(0.95),
        latency_p99_ms=quantile(0.99),
        errors=errors,
    )
