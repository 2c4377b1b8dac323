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
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    false_positive_rate,
    mean_prediction,
    selection_rate,
    true_positive_rate,
)
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score

from creditscore.evaluation.plots import new_figure, render_pngs
from creditscore.exceptions import DataError

__all__ = [
    "DEFAULT_AGE_BANDS",
    "AttributeReport",
    "Disparity",
    "FairnessReport",
    "GateResult",
    "GroupSpec",
    "GroupStats",
    "configured_gate",
    "configured_groups",
    "default_groups",
    "evaluate_gate",
    "fairness_from_predictions",
    "fairness_report",
    "fairness_report_for",
    "fairness_section",
    "german_groups",
    "group_labels",
    "groups_from_config",
]

DEFAULT_AGE_BANDS: tuple[float, ...] = (25, 35, 50)
MISSING_GROUP = "missing"
_AGE_NAME = re.compile(r"(^|_)(age|ages|age_in_years|age_years)($|_)", re.IGNORECASE)


# ------------------------------------------------------------------------------ groups
@dataclass(frozen=True)
class GroupSpec:
    """How to read one protected attribute from a column.

    ``bands``: band edges for a number, e.g. ``(25, 35, 50)`` -> ``<25, 25-34, 35-49, 50+``.
    ``pattern``: a regular expression; the group is its first capture group (or the whole
    match), e.g. ``^(male|female)`` reads sex from German's "female : divorced/married".
    """

    name: str
    column: str
    bands: tuple[float, ...] | None = None
    pattern: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "column": self.column,
            "bands": list(self.bands) if self.bands else None,
            "pattern": self.pattern,
        }


def groups_from_config(raw: Sequence[Mapping[str, Any]]) -> list[GroupSpec]:
    """``fairness.groups`` of the project config (or bundle metadata) as GroupSpecs."""
    out = []
    for g in raw:
        bands = g.get("bands")
        out.append(
            GroupSpec(
                str(g["name"]),
                str(g.get("column") or g["name"]),
                tuple(float(b) for b in bands) if bands else None,
                g.get("pattern"),
            )
        )
    return out


def german_groups() -> list[GroupSpec]:
    """Sex, age group and foreign worker, as the German credit data encodes them."""
    return [
        GroupSpec("sex", "personal_status_and_sex", pattern=r"^\s*(male|female)\b"),
        GroupSpec("age_group", "age_in_years", bands=DEFAULT_AGE_BANDS),
        GroupSpec("foreign_worker", "foreign_worker"),
    ]


def default_groups(sensitive: Sequence[str], frame: pd.DataFrame | None = None) -> list[GroupSpec]:
    """One group per sensitive column: ages in the usual bands, other numbers in quartiles."""
    out = []
    for col in sensitive:
        values = frame[col] if frame is not None and col in frame.columns else None
        numeric = values is not None and pd.api.types.is_numeric_dtype(values)
        if numeric and _AGE_NAME.search(col):
            out.append(GroupSpec(col, col, bands=DEFAULT_AGE_BANDS))
        elif numeric and values is not None and values.nunique() > 10:
            q = np.unique(np.nanquantile(values.to_numpy(dtype=float), [0.25, 0.5, 0.75]))
            out.append(GroupSpec(col, col, bands=tuple(float(x) for x in q)))
        else:
            out.append(GroupSpec(col, col))
    return out


def _edge(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def band_names(edges: Sequence[float], integer: bool = True) -> list[str]:
    """``(25, 35, 50)`` -> ``['<25', '25-34', '35-49', '50+']`` (``[25, 35)`` if not integer)."""
    e = [float(x) for x in edges]
    names = [f"<{_edge(e[0])}"]
    for lo, hi in pairwise(e):
        if integer and lo.is_integer() and hi.is_integer():
            names.append(f"{_edge(lo)}-{_edge(hi - 1)}")
        else:
            names.append(f"[{_edge(lo)}, {_edge(hi)})")
    names.append(f"{_edge(e[-1])}+")
    return names


def group_labels(frame: pd.DataFrame, spec: GroupSpec) -> pd.Series:
    """The group of every row (missing values form their own group)."""
    if spec.column not in frame.columns:
        raise DataError(
            f"fairness group {spec.name!r} needs column {spec.column!r}, which the data lacks"
        )
    s = frame[spec.column]
    if spec.bands:
        edges = sorted(float(b) for b in spec.bands)
        x = pd.to_numeric(s, errors="coerce")
        bad = int((x.isna() & s.notna()).sum())
        if bad:
            raise DataError(
                f"fairness group {spec.name!r}: column {spec.column!r} has {bad} non-numeric "
                "values but is banded"
            )
        present = x.dropna()
        integer = bool(len(present) == 0 or np.all(np.mod(present, 1) == 0))
        names = np.asarray(band_names(edges, integer), dtype=object)
        idx = np.searchsorted(np.asarray(edges), x.fillna(0).to_numpy(dtype=float), side="right")
        out = pd.Series(names[idx], index=frame.index, dtype=object)
        return out.where(x.notna(), MISSING_GROUP)
    text = s.astype(object).where(s.notna(), None)
    if spec.pattern:
        rx = re.compile(spec.pattern, re.IGNORECASE)

        def pick(v: Any) -> Any:
            if v is None:
                return MISSING_GROUP
            m = rx.search(str(v))
            if not m:
                return "other"
            return (m.group(1) if m.groups() else m.group(0)).strip().lower()

        return pd.Series([pick(v) for v in text], index=frame.index, dtype=object)
    return pd.Series(
        [MISSING_GROUP if v is None else str(v) for v in text], index=frame.index, dtype=object
    )


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
    name: str
    column: str
    groups: list[GroupStats]
    metrics: dict[str, Disparity]
    note: str = ""

    @property
    def disparate_impact(self) -> float | None:
        d = self.metrics.get("disparate_impact_ratio")
        return None if d is None else d.value


@dataclass
class FairnessReport:
    threshold: float
    n: int
    n_boot: int
    confidence: float
    min_group_size: int
    attributes: list[AttributeReport]
    model: dict[str, Any] = field(default_factory=dict)

    def attribute(self, name: str) -> AttributeReport:
        for a in self.attributes:
            if a.name == name:
                return a
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(
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
                        "groups": [vars(g) for g in a.groups],
                        "metrics": {k: vars(d) for k, d in a.metrics.items()},
                    }
                    for a in self.attributes
                ],
            }
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ------------------------------------------------------------------------------ metrics
def _safe_auc(y_true: Any, y_score: Any) -> float:
    y = np.asarray(y_true)
    if y.min() == y.max():
        return math.nan
    return float(roc_auc_score(y, y_score))


def _bad_rate(y_true: Any, y_pred: Any) -> float:
    return float(np.mean(np.asarray(y_true)))


def _weighted_auc(W: np.ndarray, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC-AUC of (y, p) under each row of bootstrap counts ``W`` (ties count one half)."""
    levels, inv = np.unique(p, return_inverse=True)
    onehot = np.zeros((len(p), len(levels)))
    onehot[np.arange(len(p)), inv] = 1.0
    bad = W @ (onehot * y[:, None])  # B x U: bad weight at each PD level
    good = W @ (onehot * (1 - y)[:, None])
    goods_below = np.cumsum(good, axis=1) - good
    n_bad, n_good = bad.sum(axis=1), good.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (bad * (goods_below + 0.5 * good)).sum(axis=1) / (n_bad * n_good)
    return np.where((n_bad > 0) & (n_good > 0), auc, np.nan)


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
                "auc": _weighted_auc(W, y[idx], pg),
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
) -> FairnessReport:
    """The report from outcomes (1 = bad), PDs and a frame of group labels (one column per
    attribute). Approved means ``PD < threshold``. ``orders`` lists an attribute's groups
    in display order (e.g. age bands); others are shown largest first."""
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
    return FairnessReport(float(threshold), len(p), n_boot, confidence, min_group_size, attrs)


def _outcomes(frame: pd.DataFrame, target: str, positive: Any) -> np.ndarray:
    if target not in frame.columns:
        raise DataError(f"the data lacks the outcome column {target!r}")
    s = frame[target]
    if s.isna().any():
        first = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise DataError(
            f"column {target!r} has {int(s.isna().sum())} missing outcomes (row {first})"
        )
    if pd.api.types.is_numeric_dtype(s) and not isinstance(positive, str):
        y = s.to_numpy(dtype=float) == float(positive)
    else:
        y = s.astype(str).str.strip().str.casefold().to_numpy() == str(positive).strip().casefold()
    return y.astype(int)


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
        positive = meta.get("positive") if positive is None else positive
        if not target or positive is None:
            raise DataError("name the outcome column and its bad value (target, positive)")
        y = _outcomes(frame, target, positive)
    specs = list(groups) if groups is not None else default_groups(meta.get("sensitive", []), frame)
    if not specs:
        raise DataError("no protected attributes to assess: configure fairness groups")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise DataError(f"fairness group names must be unique, got {names}")
    labels = pd.DataFrame({s.name: group_labels(frame, s).to_numpy() for s in specs})
    columns = {s.name: s.column for s in specs}
    orders = {s.name: [*band_names(sorted(s.bands)), MISSING_GROUP] for s in specs if s.bands}
    for a, b in intersections:
        for part in (a, b):
            if part not in labels.columns:
                raise DataError(f"intersection names unknown group {part!r}; groups are {names}")
        key = f"{a} x {b}"
        labels[key] = labels[a].astype(str) + " & " + labels[b].astype(str)
        columns[key] = f"{columns[a]} x {columns[b]}"
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
    )
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
    frame = pd.concat(
        [ds.X.iloc[idx].reset_index(drop=True), ds.sensitive.iloc[idx].reset_index(drop=True)],
        axis=1,
    )
    return fairness_report(
        result.bundle,
        frame,
        groups=groups,
        intersections=intersections,
        outcomes=np.asarray(ds.y)[idx],
        **kwargs,
    )


# ------------------------------------------------------------------------------ gate
@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: list[str]
    mode: str = "warn"
    violations: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "mode": self.mode,
            "violations": self.violations,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
        }


def configured_groups(
    settings: Mapping[str, Any], sensitive: Sequence[str], frame: pd.DataFrame | None = None
) -> list[GroupSpec]:
    """The groups of a fairness configuration (``ProjectConfig.fairness`` as saved in the
    bundle's metadata), or one per sensitive column when none are configured."""
    raw = settings.get("groups")
    return groups_from_config(raw) if raw else default_groups(sensitive, frame)


def configured_gate(report: FairnessReport, settings: Mapping[str, Any]) -> GateResult:
    """:func:`evaluate_gate` with the limits of a fairness configuration (defaults: warn,
    the four-fifths rule, no equal-opportunity limit)."""
    max_eo = settings.get("max_equal_opportunity_difference")
    return evaluate_gate(
        report,
        settings.get("mode", "warn"),
        float(settings.get("min_disparate_impact", 0.8)),
        max_equal_opportunity_difference=None if max_eo is None else float(max_eo),
        require_significance=bool(settings.get("require_significance", False)),
    )


def evaluate_gate(
    report: FairnessReport,
    mode: Literal["warn", "block"] = "warn",
    min_disparate_impact: float = 0.8,
    *,
    max_equal_opportunity_difference: float | None = None,
    require_significance: bool = False,
) -> GateResult:
    """Check the report against the four-fifths rule (and optionally an equal-opportunity gap).

    ``block`` fails on any violation; ``warn`` passes but lists them. With
    ``require_significance`` a violation counts only when the whole confidence interval is on
    the wrong side of the limit (small validation sets otherwise block on noise).
    """
    if mode not in ("warn", "block"):
        raise ValueError(f"mode must be 'warn' or 'block', got {mode!r}")
    reasons: list[str] = []
    notes: list[str] = []
    for a in report.attributes:
        if a.note:
            notes.append(f"{a.name}: {a.note}")
            continue
        di = a.metrics.get("disparate_impact_ratio")
        if di is not None and math.isfinite(di.value):
            bound = di.ci[1] if require_significance else di.value
            if math.isfinite(bound) and bound < min_disparate_impact:
                lo, hi = di.groups
                reasons.append(
                    f"{a.name}: disparate impact ratio {di.value:.2f} "
                    f"(95% CI {di.ci[0]:.2f}-{di.ci[1]:.2f}; approval of {lo!r} over {hi!r}) "
                    f"is below {min_disparate_impact:.2f}"
                )
        eo = a.metrics.get("equal_opportunity_difference")
        if (
            max_equal_opportunity_difference is not None
            and eo is not None
            and math.isfinite(eo.value)
        ):
            bound = eo.ci[0] if require_significance else eo.value
            if math.isfinite(bound) and bound > max_equal_opportunity_difference:
                limit = max_equal_opportunity_difference
                reasons.append(
                    f"{a.name}: equal opportunity difference {eo.value:.2f} "
                    f"({eo.groups[0]!r} vs {eo.groups[1]!r}) exceeds {limit:.2f}"
                )
    passed = not reasons or mode == "warn"
    return GateResult(passed, reasons, mode, len(reasons), notes)


# ------------------------------------------------------------------------------ model card
def _fmt(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _fmt_ci(ci: Interval) -> str:
    return "" if not all(math.isfinite(v) for v in ci) else f" [{ci[0]:.3f}, {ci[1]:.3f}]"


def _errorbars(ax: Any, groups: list[GroupStats], key: str, x: np.ndarray, **kw: Any) -> None:
    """Points with CI bars; hollow markers for groups too small to be compared."""
    values = np.array([getattr(g, key) for g in groups], dtype=float)
    cis = np.array([getattr(g, f"{key}_ci") for g in groups], dtype=float)
    err = np.vstack([values - cis[:, 0], cis[:, 1] - values])
    err = np.where(np.isfinite(err), np.clip(err, 0, None), 0.0)
    small = np.array([g.small for g in groups])
    label = kw.pop("label", None)
    color = kw.pop("color", None)
    for mask, face in ((~small, color), (small, "white")):
        if mask.any():
            ax.errorbar(
                x[mask],
                values[mask],
                yerr=err[:, mask],
                fmt="o",
                capsize=4,
                color=color,
                markerfacecolor=face,
                label=label,
                **kw,
            )
            label = None


def _axis(ax: Any, a: AttributeReport, x: np.ndarray) -> None:
    labels = [f"{g.group}\n(n={g.n})" for g in a.groups]
    rotate = len(a.groups) > 4
    ax.set_xticks(
        x, labels, fontsize=7, rotation=45 if rotate else 0, ha="right" if rotate else "center"
    )
    ax.set_xlim(-0.6, len(a.groups) - 0.4)
    ax.set_ylim(-0.03, 1.05)
    ax.set_title(a.name, fontsize=9)


def _plots(report: FairnessReport) -> dict[str, Figure]:
    attrs = report.attributes
    k = max(1, len(attrs))
    approval = new_figure(3.2 * k, 3.8)
    rates = new_figure(3.2 * k, 3.8)
    for i, a in enumerate(attrs):
        x = np.arange(len(a.groups), dtype=float)
        ax = approval.add_subplot(1, k, i + 1)
        _errorbars(ax, a.groups, "approval_rate", x, color="#1f77b4")
        best = max((g.approval_rate for g in a.groups if not g.small), default=math.nan)
        if math.isfinite(best):
            ax.axhline(0.8 * best, ls="--", color="#d62728", lw=1, label="4/5 of highest")
            ax.legend(fontsize=7, loc="upper right")
        _axis(ax, a, x)
        ax.set_ylabel("approval rate" if i == 0 else "")
        ax2 = rates.add_subplot(1, k, i + 1)
        _errorbars(ax2, a.groups, "tpr", x - 0.1, color="#2ca02c", label="TPR (approved | good)")
        _errorbars(ax2, a.groups, "fpr", x + 0.1, color="#d62728", label="FPR (approved | bad)")
        _axis(ax2, a, x)
        if i == 0:
            ax2.legend(fontsize=7, loc="upper right")
    note = f"{report.confidence:.0%} CI; hollow: under {report.min_group_size} applicants"
    approval.suptitle(f"Approval rate by group (PD < {report.threshold:.3f}); {note}", fontsize=10)
    rates.suptitle(f"Approval among good (TPR) and bad (FPR) applicants; {note}", fontsize=10)
    return {"fairness_approval": approval, "fairness_tpr_fpr": rates}


def fairness_section(report: FairnessReport, out_dir: str | Path | None = None) -> dict[str, Any]:
    """The model card's fairness section: ``html`` (images embedded), ``markdown`` and
    ``plots`` (name -> PNG path, when ``out_dir`` is given)."""
    images, plots = render_pngs(_plots(report), out_dir)
    md = [
        f"### Fairness at the policy threshold (PD < {report.threshold:.3f} approves)",
        "",
        f"{report.n} labelled applications; {report.confidence:.0%} bootstrap intervals "
        f"({report.n_boot} resamples, stratified by group); groups under "
        f"{report.min_group_size} applicants are shown but not compared.",
        "",
    ]
    h = [
        f"<h3>Fairness at the policy threshold (PD &lt; {report.threshold:.3f} approves)</h3>",
        f"<p>{report.n} labelled applications; {report.confidence:.0%} bootstrap intervals "
        f"({report.n_boot} resamples, stratified by group); groups under "
        f"{report.min_group_size} applicants are shown but not compared.</p>",
    ]
    head = ["group", "n", "bad rate", "mean PD", "approval", "TPR", "FPR", "AUC"]
    for a in report.attributes:
        md += [
            f"#### {a.name} (`{a.column}`)",
            "",
            "| " + " | ".join(head) + " |",
            "|" + "---|" * len(head),
        ]
        h += [
            f"<h4>{html.escape(a.name)} (<code>{html.escape(a.column)}</code>)</h4>",
            "<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>",
        ]
        for g in a.groups:
            cells = [
                g.group + (" (small)" if g.small else ""),
                str(g.n),
                _fmt(g.bad_rate),
                _fmt(g.mean_pd),
                _fmt(g.approval_rate) + _fmt_ci(g.approval_rate_ci),
                _fmt(g.tpr) + _fmt_ci(g.tpr_ci),
                _fmt(g.fpr) + _fmt_ci(g.fpr_ci),
                _fmt(g.auc) + _fmt_ci(g.auc_ci),
            ]
            md.append("| " + " | ".join(cells) + " |")
            h.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        h.append("</table>")
        md.append("")
        if a.note:
            md += [f"*{a.note}*", ""]
            h.append(f"<p><em>{html.escape(a.note)}</em></p>")
        else:
            items = []
            for key, d in a.metrics.items():
                flag = ""
                if key == "disparate_impact_ratio":
                    flag = " (passes the 4/5 rule)" if d.value >= 0.8 else " (**below 0.8**)"
                items.append(
                    f"{key.replace('_', ' ')}: {_fmt(d.value)}{_fmt_ci(d.ci)} "
                    f"({d.groups[0]} vs {d.groups[1]}){flag}"
                )
            md += [f"- {i}" for i in items] + [""]
            h.append(
                "<ul>"
                + "".join(f"<li>{html.escape(i.replace('**', ''))}</li>" for i in items)
                + "</ul>"
            )
    for name, png in images.items():
        b64 = base64.b64encode(png).decode("ascii")
        h.append(f'<img alt="{name}" src="data:image/png;base64,{b64}"/>')
        md.append(f"![{name}]({plots[name].name if name in plots else name + '.png'})")
    return {"html": "\n".join(h), "markdown": "\n".join(md), "plots": plots}
