"""Fairness of the decisions across protected groups, with bootstrap confidence intervals.

Everything is measured at the policy threshold on labelled data (e.g. the test split), in
the applicant's favourable-outcome framing that the fairness literature on lending uses:
the favourable decision is *approve* (PD below the threshold; referrals count as not
declined only if their PD is below it) and the "positive" applicant is a *good* one. So:

* ``approval_rate``  P(approved)                      - demographic parity compares these;
* ``tpr``            P(approved | good)               - equal opportunity compares these;
* ``fpr``            P(approved | bad)                - with ``tpr``: equalized odds;
* ``auc``            ranking quality of the PD within the group;
* ``mean_pd`` against ``bad_rate``: is the PD calibrated within the group.

Point estimates come from fairlearn's ``MetricFrame``. Confidence intervals are percentile
bootstrap intervals over ``n_boot`` resamples stratified by group (group sizes fixed, so no
resample loses a group), computed with one matrix product per group rather than a loop.
For a gap between groups the interval is that of the gap between the two groups that define
the point estimate (e.g. highest minus lowest approval rate), not of a max-minus-min taken
anew in each resample, which is biased upwards and can exclude its own point estimate.

Groups smaller than ``min_group_size`` are reported but left out of the gaps: a rate over
a handful of applicants says little, and one such group would decide the gate alone.

Typed results only; the model card and the CLI render them (:mod:`creditscore.reporting`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from creditscore.evaluation.metrics import auc, weighted_auc
from creditscore.exceptions import DataError
from creditscore.explain.fairness.groups import (
    GroupSpec,
    TooManyGroupsError,
    default_groups,
    read_groups,
)
from creditscore.formatting import jsonable
from creditscore.outcome import BAD, INDETERMINATE, MISSING, Outcome

__all__ = [
    "AttributeReport",
    "Disparity",
    "FairnessReport",
    "GroupStats",
    "SkippedAttribute",
    "fairness_from_predictions",
    "fairness_report",
    "fairness_report_for",
    "training_frame",
]

# ------------------------------------------------------------------------------ results
Interval = tuple[float, float]


@dataclass
class GroupStats:
    group: str
    n: int
    n_bad: int
    approval_rate: float
    approval_rate_ci: Interval
    tpr: float
    tpr_ci: Interval
    fpr: float
    fpr_ci: Interval
    auc: float
    auc_ci: Interval
    mean_pd: float
    bad_rate: float
    small: bool


@dataclass
class Disparity:
    value: float
    ci: Interval
    groups: tuple[str, str]  # (higher, lower) for differences; (lower, higher) for ratios
    description: str


@dataclass
class AttributeReport:
    """One attribute's groups and the gaps between them; ``how`` says how its groups were
    made from the column(s) and ``normalised`` which spellings were merged into one group."""

    name: str
    column: str
    groups: list[GroupStats]
    metrics: dict[str, Disparity]
    note: str = ""
    how: str = ""
    normalised: list[str] = field(default_factory=list)

    @property
    def disparate_impact(self) -> float | None:
        d = self.metrics.get("disparate_impact_ratio")
        return None if d is None else d.value


@dataclass(frozen=True)
class SkippedAttribute:
    """A protected attribute that could not be assessed, and what would make it so."""

    name: str
    column: str
    reason: str


@dataclass
class FairnessReport:
    threshold: float
    n: int
    n_boot: int
    confidence: float
    min_group_size: int
    attributes: list[AttributeReport]
    model: dict[str, Any] = field(default_factory=dict)
    skipped: list[SkippedAttribute] = field(default_factory=list)

    def attribute(self, name: str) -> AttributeReport:
        for a in self.attributes:
            if a.name == name:
                return a
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = jsonable(
            {
                "threshold": self.threshold,
                "n": self.n,
                "n_boot": self.n_boot,
                "confidence": self.confidence,
                "min_group_size": self.min_group_size,
                "model": self.model,
                "attributes": [
                    {
                        "name": a.name,
                        "column": a.column,
                        "note": a.note,
                        "how": a.how,
                        "normalised": list(a.normalised),
                        "groups": [vars(g) for g in a.groups],
                        "metrics": {k: vars(d) for k, d in a.metrics.items()},
                    }
                    for a in self.attributes
                ],
                "skipped": [vars(s) for s in self.skipped],
            }
        )
        return out


# ------------------------------------------------------------------------------ metrics
def _safe_auc(y_true: Any, y_score: Any) -> float:
    return auc(y_true, y_score)


def _bad_rate(y_true: Any, y_pred: Any) -> float:
    return float(np.mean(np.asarray(y_true)))


def _interval(samples: np.ndarray, confidence: float) -> Interval:
    s = samples[np.isfinite(samples)]
    if s.size == 0:
        return (math.nan, math.nan)
    a = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(s, [a, 1.0 - a])
    return (float(lo), float(hi))


def _attribute(
    name: str,
    column: str,
    labels: pd.Series,
    y: np.ndarray,
    p: np.ndarray,
    approved: np.ndarray,
    *,
    rng: np.random.Generator,
    n_boot: int,
    confidence: float,
    min_group_size: int,
    order: Sequence[str] = (),
) -> AttributeReport:
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_positive_rate,
        mean_prediction,
        selection_rate,
        true_positive_rate,
    )

    good = 1 - y
    lab = labels.to_numpy(dtype=object)
    mf = MetricFrame(
        metrics={
            "n": count,
            "approval_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
        },
        y_true=good,
        y_pred=approved.astype(int),
        sensitive_features=pd.Series(lab, name=name),
    )
    mf_pd = MetricFrame(
        metrics={"auc": _safe_auc, "mean_pd": mean_prediction, "bad_rate": _bad_rate},
        y_true=y,
        y_pred=p,
        sensitive_features=pd.Series(lab, name=name),
    )
    table = pd.concat([mf.by_group, mf_pd.by_group], axis=1)
    # bootstrap: resample within each group, one (n_boot x n_g) count matrix per group
    boot: dict[str, dict[str, np.ndarray]] = {}
    stats: list[GroupStats] = []
    for g in table.index:
        idx = np.flatnonzero(lab == g)
        n_g = len(idx)
        W = rng.multinomial(n_g, np.full(n_g, 1.0 / n_g), size=n_boot).astype(float)
        yg, ag, pg = y[idx].astype(float), approved[idx].astype(float), p[idx]
        goods, bads = W @ (1 - yg), W @ yg
        with np.errstate(invalid="ignore", divide="ignore"):
            b = {
                "approval_rate": (W @ ag) / n_g,
                "tpr": np.where(goods > 0, (W @ (ag * (1 - yg))) / goods, np.nan),
                "fpr": np.where(bads > 0, (W @ (ag * yg)) / bads, np.nan),
                "auc": weighted_auc(W, y[idx], pg),
            }
        boot[str(g)] = b
        row = table.loc[g]
        stats.append(
            GroupStats(
                group=str(g),
                n=int(row["n"]),
                n_bad=int(y[idx].sum()),
                approval_rate=float(row["approval_rate"]),
                approval_rate_ci=_interval(b["approval_rate"], confidence),
                tpr=float(row["tpr"]) if (1 - y[idx]).sum() else math.nan,
                tpr_ci=_interval(b["tpr"], confidence),
                fpr=float(row["fpr"]) if y[idx].sum() else math.nan,
                fpr_ci=_interval(b["fpr"], confidence),
                auc=float(row["auc"]),
                auc_ci=_interval(b["auc"], confidence),
                mean_pd=float(row["mean_pd"]),
                bad_rate=float(row["bad_rate"]),
                small=n_g < min_group_size,
            )
        )
    rank = {g: i for i, g in enumerate(order)}
    stats.sort(key=lambda s: (rank.get(s.group, len(rank)), -s.n, s.group))
    large = [s for s in stats if not s.small]
    metrics: dict[str, Disparity] = {}
    note = ""
    if len(large) < 2:
        note = (
            f"fewer than two groups with at least {min_group_size} applicants: gaps between "
            "groups are not assessed"
        )
    else:
        metrics = _disparities(large, boot, confidence)
    return AttributeReport(name, column, stats, metrics, note)


def _gap(
    groups: list[GroupStats], boot: dict[str, dict[str, np.ndarray]], key: str, confidence: float
) -> tuple[float, Interval, tuple[str, str]]:
    valued = [g for g in groups if math.isfinite(getattr(g, key))]
    if len(valued) < 2:
        return math.nan, (math.nan, math.nan), ("", "")
    hi = max(valued, key=lambda g: getattr(g, key))
    lo = min(valued, key=lambda g: getattr(g, key))
    samples = boot[hi.group][key] - boot[lo.group][key]
    return (
        float(getattr(hi, key) - getattr(lo, key)),
        _interval(samples, confidence),
        (hi.group, lo.group),
    )


def _disparities(
    groups: list[GroupStats], boot: dict[str, dict[str, np.ndarray]], confidence: float
) -> dict[str, Disparity]:
    out: dict[str, Disparity] = {}
    v, ci, pair = _gap(groups, boot, "approval_rate", confidence)
    out["demographic_parity_difference"] = Disparity(
        v, ci, pair, "highest minus lowest approval rate"
    )
    hi = next(g for g in groups if g.group == pair[0])
    lo = next(g for g in groups if g.group == pair[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio_samples = boot[lo.group]["approval_rate"] / boot[hi.group]["approval_rate"]
    ratio = lo.approval_rate / hi.approval_rate if hi.approval_rate > 0 else math.nan
    ratio_ci = _interval(ratio_samples, confidence)
    out["demographic_parity_ratio"] = Disparity(
        ratio, ratio_ci, (lo.group, hi.group), "lowest over highest approval rate"
    )
    out["disparate_impact_ratio"] = Disparity(
        ratio,
        ratio_ci,
        (lo.group, hi.group),
        "lowest over highest approval rate; the four-fifths rule asks for at least 0.8",
    )
    v, ci, pair = _gap(groups, boot, "tpr", confidence)
    out["equal_opportunity_difference"] = Disparity(
        v, ci, pair, "gap in approval rate among good applicants (TPR)"
    )
    fv, fci, fpair = _gap(groups, boot, "fpr", confidence)
    if not math.isfinite(v) or (math.isfinite(fv) and fv > v):
        v, ci, pair = fv, fci, fpair
        which = "FPR: approval rate among bad applicants"
    else:
        which = "TPR: approval rate among good applicants"
    out["equalized_odds_difference"] = Disparity(
        v, ci, pair, f"larger of the TPR and FPR gaps (here {which})"
    )
    return out


def fairness_from_predictions(
    y: Any,
    probability_of_default: Any,
    groups: pd.DataFrame,
    threshold: float,
    *,
    n_boot: int = 500,
    seed: int = 0,
    confidence: float = 0.95,
    min_group_size: int = 20,
    columns: Mapping[str, str] | None = None,
    orders: Mapping[str, Sequence[str]] | None = None,
    notes: Mapping[str, tuple[str, Sequence[str]]] | None = None,
) -> FairnessReport:
    """The report from outcomes (1 = bad), PDs and a frame of group labels (one column per
    attribute). Approved means ``PD < threshold``. ``orders`` lists an attribute's groups
    in display order (e.g. age bands); others are shown largest first. ``notes``: per
    attribute, (how its groups were made, the spellings merged)."""
    y_arr = np.asarray(y).astype(int)
    p = np.asarray(probability_of_default, dtype=float)
    if y_arr.ndim != 1 or len(y_arr) != len(p) or len(p) != len(groups):
        raise DataError(
            f"outcomes ({len(y_arr)}), PDs ({len(p)}) and groups ({len(groups)}) differ in length"
        )
    if len(p) == 0:
        raise DataError("no rows to assess")
    if not set(np.unique(y_arr)) <= {0, 1}:
        raise DataError("outcomes must be 0 (good) or 1 (bad)")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise DataError("PDs must be finite numbers in [0, 1]")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if n_boot < 10:
        raise ValueError(f"n_boot must be at least 10, got {n_boot}")
    rng = np.random.default_rng(seed)
    approved = p < threshold
    attrs = [
        _attribute(
            str(name),
            (columns or {}).get(str(name), str(name)),
            groups[name].reset_index(drop=True).astype(object),
            y_arr,
            p,
            approved,
            rng=rng,
            n_boot=n_boot,
            confidence=confidence,
            min_group_size=min_group_size,
            order=(orders or {}).get(str(name), ()),
        )
        for name in groups.columns
    ]
    for a in attrs:
        how, merged = (notes or {}).get(a.name, ("", ()))
        a.how, a.normalised = how, list(merged)
    return FairnessReport(float(threshold), len(p), n_boot, confidence, min_group_size, attrs)


def _outcomes(frame: pd.DataFrame, target: str, outcome: Outcome) -> np.ndarray:
    if target not in frame.columns:
        raise DataError(f"the data lacks the outcome column {target!r}")
    codes = outcome.codes(frame[target])
    for code, what in ((MISSING, "missing outcomes"), (INDETERMINATE, "indeterminate outcomes")):
        unknown = codes == code
        if unknown.any():
            first = int(np.flatnonzero(unknown)[0])
            shown = (
                "" if code == MISSING else f", neither {outcome.bad_text} nor {outcome.good_text}"
            )
            raise DataError(
                f"column {target!r} has {int(unknown.sum())} {what}{shown} (row {first + 1}); "
                "fairness needs a known outcome on every row"
            )
    return (codes == BAD).astype(int)


def fairness_report(
    bundle: Any,
    frame: pd.DataFrame,
    *,
    groups: Sequence[GroupSpec] | None = None,
    intersections: Sequence[tuple[str, str]] = (),
    target: str | None = None,
    positive: Any = None,
    threshold: float | None = None,
    n_boot: int = 500,
    seed: int = 0,
    confidence: float = 0.95,
    min_group_size: int = 20,
    probability_of_default: Any = None,
    outcomes: Any = None,
) -> FairnessReport:
    """Fairness of ``bundle``'s decisions on labelled ``frame`` (model inputs, outcome and the
    protected columns). ``groups`` defaults to the bundle's sensitive columns; the outcome
    column and the bad value default to the bundle's ``target`` / ``positive``; ``outcomes``
    (1 = bad) replaces the outcome column, and ``probability_of_default`` the model's PDs."""
    meta = getattr(bundle, "metadata", {}) or {}
    if outcomes is not None:
        y = np.asarray(outcomes).astype(int)
    else:
        target = target or meta.get("target")
        if not target or (positive is None and meta.get("positive") is None):
            raise DataError("name the outcome column and its bad value (target, positive)")
        y = _outcomes(frame, target, Outcome.from_meta(meta, positive))
    specs = (
        list(groups)
        if groups is not None
        else default_groups(
            meta.get("sensitive", []),
            frame,
            date_column=meta.get("date_column"),
            reference_date=meta.get("trained_at"),
        )
    )
    if not specs:
        raise DataError("no protected attributes to assess: configure fairness groups")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise DataError(f"fairness group names must be unique, got {names}")
    read: dict[str, Any] = {}
    skipped: list[SkippedAttribute] = []
    for spec in specs:
        try:
            read[spec.name] = read_groups(frame, spec)
        except TooManyGroupsError as exc:
            if not spec.inferred:
                raise
            skipped.append(SkippedAttribute(spec.name, spec.shown_column, str(exc)))
    kept = [s for s in specs if s.name in read]
    labels = pd.DataFrame(
        {s.name: read[s.name].labels.to_numpy() for s in kept}, index=range(len(frame))
    )
    columns = {s.name: s.shown_column for s in kept}
    orders: dict[str, Sequence[str]] = {
        s.name: read[s.name].order for s in kept if read[s.name].order
    }
    notes = {s.name: (read[s.name].how, read[s.name].normalised) for s in kept}
    for a, b in intersections:
        for part in (a, b):
            if part not in labels.columns:
                raise DataError(f"intersection names unknown group {part!r}; groups are {names}")
        key = f"{a} x {b}"
        labels[key] = labels[a].astype(str) + " & " + labels[b].astype(str)
        columns[key] = f"{columns[a]} x {columns[b]}"
        notes[key] = (f"{a} and {b} together", ())
    if probability_of_default is None:
        missing = [f for f in bundle.features if f not in frame.columns]
        if missing:
            raise DataError(f"the data lacks model inputs {missing}")
        p = bundle.predict_proba(frame)
    else:
        p = np.asarray(probability_of_default, dtype=float)
    report = fairness_from_predictions(
        y,
        p,
        labels,
        bundle.policy.threshold if threshold is None else threshold,
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
        min_group_size=min_group_size,
        columns=columns,
        orders=orders,
        notes=notes,
    )
    report.skipped = skipped
    report.model = {
        "name": meta.get("name"),
        "candidate": meta.get("candidate"),
        "policy_version": getattr(bundle.policy, "version", None),
    }
    return report


def fairness_report_for(
    result: Any,
    groups: Sequence[GroupSpec] | None = None,
    *,
    split: str = "test",
    intersections: Sequence[tuple[str, str]] = (),
    **kwargs: Any,
) -> FairnessReport:
    """The report of a ``TrainingResult``'s bundle on one of its splits (default: test)."""
    ds, idx = result.dataset, getattr(result.splits, split)
    frame = training_frame(result, idx)
    return fairness_report(
        result.bundle,
        frame,
        groups=groups,
        intersections=intersections,
        outcomes=np.asarray(ds.y)[idx],
        **kwargs,
    )


def training_frame(result: Any, idx: Any = None) -> pd.DataFrame:
    """Model inputs, protected columns and the application date (for ages from dates of
    birth) of a ``TrainingResult``'s rows ``idx`` (all rows by default), index 0..n-1."""
    ds = result.dataset
    rows = np.arange(ds.n_rows) if idx is None else np.asarray(idx)
    frame = ds.with_sensitive().iloc[rows].reset_index(drop=True)
    date_column = result.config.data.date_column
    if date_column and ds.dates is not None and date_column not in frame.columns:
        frame[date_column] = ds.dates.iloc[rows].reset_index(drop=True)
    return frame
