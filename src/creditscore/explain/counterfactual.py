"""What would change the decision: the smallest changes to actionable features that turn a
declined (or referred) application into an approval.

The search is exhaustive over a small, explicit space, scored in batches through the Scorer
(so the answer is the served model's, calibration and policy included):

* one feature at a time: every other level of a category; for a number, a grid over the
  training range (bundle schema) on both sides of the applicant's value, then a bisection
  between the last grid value that did not approve and the first that did, so the change is
  the smallest the grid can find rather than the next grid step;
* two features at a time: every pair of risk-reducing candidate values of two different
  features, keeping only pairs where neither change alone approves.

Options are ranked by a normalised cost: for a number, how far the change moves the
applicant through the training distribution (percentile shift, from the bundle's Profile);
for a category, ``categorical_cost`` (0.5: half the distribution). Every option returned was
re-scored with ``Scorer.decide`` on the changed application and approves.

Protected attributes (the bundle's ``sensitive`` list) and immutable characteristics (age,
sex, nationality, ... by name) are never changed, even when listed as actionable; nor are
the inputs the config lists as ``immutable`` (the past: delinquencies, defaults; time-based
facts: years at the employer). Without an ``actionable`` list, history-like names
(``num_``, ``past_``, ``delinq``, ``arrears``, ``default``, ``bankrupt``, ``months_since``,
...) are immutable too (:func:`immutable_reason`, which ``init`` also uses to propose the
lists). An empty answer always says why (:attr:`CounterfactualResult.why`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from creditscore.data.profile import FeatureProfile
from creditscore.data.schema import FieldSpec
from creditscore.exceptions import ConfigError

__all__ = [
    "IMMUTABLE_PATTERN",
    "Change",
    "CounterfactualOption",
    "CounterfactualResult",
    "actionable_features",
    "counterfactuals",
    "immutable_reason",
    "search_counterfactuals",
]

APPROVE = "approve"
#: Names of characteristics an applicant cannot (or must not be asked to) change.
IMMUTABLE_PATTERN = re.compile(
    r"(^|_)(age|sex|gender|birth|dob|foreign|nationality|citizen|marital|personal_status|"
    r"race|ethnic|religion|disab|pregnan)",
    re.IGNORECASE,
)
#: Name parts of the past: what happened cannot be changed by applying differently.
HISTORY_PATTERN = re.compile(
    r"(^|_)(num|past|prev|previous|prior|ever|hist|history|times)(_|$)|"
    r"delinq|arrear|default|bankrupt|chargeoff|charge_off|charged_off|collection|derog|"
    r"judgment|judgement|foreclos|repossess|write_?off|written_off|dpd|late_pay|missed|"
    r"inquir|enquir|months_since|mths_since|days_since|years_since|since_last",
    re.IGNORECASE,
)
#: Time spent somewhere: changes only with time.
TIME_PATTERN = re.compile(
    r"(^|_)(since|tenure|seniority|vintage)(_|$)|"
    r"(years|yrs|months|mths|time)_(at|in|with|employed|on)(_|$)|"
    r"(employ\w*|job|residence|address|resid\w*|relationship|customer|account)_"
    r"(years|yrs|months|mths|length|duration|time|since)|"
    r"(years|yrs|months|mths)_(employ\w*|job|residence|address|resid\w*|relationship|customer)",
    re.IGNORECASE,
)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name)).replace(".", "_").replace(" ", "_")


def immutable_reason(name: str) -> str | None:
    """Why an input named ``name`` is not something a counterfactual may ask to change:
    a personal characteristic, the past, or time spent; None when it may be actionable."""
    from creditscore.explain.fairness.protected import protected_by_name

    snake = _snake(name)
    found = protected_by_name(name)
    if found is not None:
        return f"a personal characteristic ({found.attribute})"
    if re.search(r"(^|_)age(_|$)", snake, re.IGNORECASE):
        return "changes only with time (an age)"
    if IMMUTABLE_PATTERN.search(snake):
        return "a personal characteristic"
    m = HISTORY_PATTERN.search(snake)
    if m:
        return f"the past: a history-like name ({m.group(0).strip('_')!r})"
    m = TIME_PATTERN.search(snake)
    if m:
        return f"changes only with time ({m.group(0).strip('_')!r})"
    return None


@dataclass(frozen=True)
class Change:
    feature: str
    current: Any
    proposed: Any


@dataclass(frozen=True)
class CounterfactualOption:
    changes: tuple[Change, ...]
    probability_of_default: float
    decision: str
    score: int
    cost: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": [
                {"feature": c.feature, "current": c.current, "proposed": c.proposed}
                for c in self.changes
            ],
            "probability_of_default": self.probability_of_default,
            "decision": self.decision,
            "score": self.score,
            "cost": self.cost,
        }


def actionable_features(
    features: Sequence[str],
    sensitive: Sequence[str] = (),
    actionable: Sequence[str] | None = None,
    immutable: Sequence[str] = (),
) -> list[str]:
    """The features a counterfactual may change, in schema order.

    ``actionable`` names them explicitly (unknown names are errors); protected, immutable
    (the ``immutable`` list) and characteristic ones are refused with an error naming them.
    With no list, every feature that is none of these and not history-like by name.
    """
    blocked = set(sensitive)
    fixed = set(immutable)
    if actionable is None:
        return [
            f
            for f in features
            if f not in blocked and f not in fixed and immutable_reason(f) is None
        ]
    unknown = [a for a in actionable if a not in features]
    if unknown:
        raise ConfigError(
            f"actionable features {unknown} are not model inputs; inputs are {list(features)} "
            "(fix `actionable` in the project config)"
        )
    refused = [a for a in actionable if a in blocked or a in fixed or IMMUTABLE_PATTERN.search(a)]
    if refused:
        raise ConfigError(
            f"actionable features {refused} are protected or immutable; a counterfactual may "
            "not ask an applicant to change them (remove them from `actionable`)"
        )
    wanted = set(actionable)
    return [f for f in features if f in wanted]


@dataclass(frozen=True)
class CounterfactualResult:
    """The options found (cheapest first) and, when there are none, why."""

    decision: str
    probability_of_default: float
    actionable: list[str]
    options: list[CounterfactualOption]
    why: str | None = None


# ------------------------------------------------------------------------------ costs
@dataclass
class _Cdf:
    """Training CDF of a number, piecewise linear through the profile's decile edges."""

    xs: np.ndarray
    fs: np.ndarray

    @classmethod
    def build(cls, spec: FieldSpec, fp: FeatureProfile | None) -> _Cdf:
        lo = spec.minimum if spec.minimum is not None else 0.0
        hi = spec.maximum if spec.maximum is not None else lo + 1.0
        if fp is None or not fp.edges or fp.missing_share >= 1.0:
            return cls(np.array([lo, max(hi, lo + 1e-9)]), np.array([0.0, 1.0]))
        present = 1.0 - fp.missing_share
        cum = np.cumsum(np.asarray(fp.shares[: len(fp.edges)], dtype=float)) / present
        xs, fs = [lo], [0.0]
        for e, c in zip(fp.edges, cum, strict=True):
            if e > xs[-1]:
                xs.append(float(e))
                fs.append(float(min(max(c, fs[-1]), 1.0)))
        if hi > xs[-1]:
            xs.append(float(hi))
            fs.append(1.0)
        return cls(np.asarray(xs), np.asarray(fs))

    def __call__(self, x: float) -> float:
        return float(np.interp(x, self.xs, self.fs))


@dataclass
class _Candidate:
    feature: str
    value: Any
    cost: float
    pd: float = math.nan
    approves: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------ search
def _python(value: Any, spec: FieldSpec) -> Any:
    if spec.kind == "categorical":
        return value
    v = float(value)
    return round(v) if spec.integer else v


def _numeric_grid(spec: FieldSpec, current: float, steps: int) -> list[float]:
    lo, hi = spec.minimum, spec.maximum
    if lo is None or hi is None or hi <= lo:
        return []
    if math.isnan(current):
        grid = np.linspace(lo, hi, 2 * steps)
    else:
        c = min(max(current, lo), hi)
        grid = np.concatenate(
            [np.linspace(c, lo, steps + 1)[1:], np.linspace(c, hi, steps + 1)[1:]]
        )
    if spec.integer:
        grid = np.round(grid)
    values = sorted({float(v) for v in grid if math.isnan(current) or v != current})
    return values


class _Search:
    def __init__(
        self, scorer: Any, row: dict[str, Any], features: list[str], categorical_cost: float
    ) -> None:
        self.scorer = scorer
        self.row = row
        self.names = list(scorer.bundle.schema.names)
        self.specs = {f.name: f for f in scorer.bundle.schema.fields}
        profile = getattr(scorer.bundle, "profile", None)
        feats = profile.features if profile is not None else {}
        self.cdf = {
            f: _Cdf.build(self.specs[f], feats.get(f))
            for f in features
            if self.specs[f].kind == "numeric"
        }
        self.categorical_cost = categorical_cost

    def cost(self, feature: str, value: Any) -> float:
        if self.specs[feature].kind == "categorical":
            return self.categorical_cost
        current = self.row[feature]
        cdf = self.cdf[feature]
        if current is None or (isinstance(current, float) and math.isnan(current)):
            return 0.5  # filling in a missing number: half the distribution, at most
        return abs(cdf(float(value)) - cdf(float(current)))

    def score(self, changes: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """PD and 'approves' of the row with each change set applied (one batch)."""
        if not changes:
            return np.zeros(0), np.zeros(0, bool)
        data = {f: [self.row[f]] * len(changes) for f in self.names}
        for i, ch in enumerate(changes):
            for f, v in ch.items():
                data[f][i] = v
        frame = pd.DataFrame(
            {
                f: pd.Series(values, dtype=object if self.specs[f].kind == "categorical" else float)
                for f, values in data.items()
            }
        )
        p = np.asarray(self.scorer.probabilities(frame), dtype=float)
        decisions = self.scorer.policy.decide_many(p)
        return p, np.asarray(decisions == APPROVE)


def counterfactuals(
    scorer: Any,
    application: Mapping[str, Any],
    *,
    actionable: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CounterfactualOption]:
    """The options of :func:`search_counterfactuals` (an empty list says nothing about why:
    use that function's ``why``)."""
    return search_counterfactuals(scorer, application, actionable=actionable, **kwargs).options


def search_counterfactuals(
    scorer: Any,
    application: Mapping[str, Any],
    *,
    actionable: Sequence[str] | None = None,
    immutable: Sequence[str] | None = None,
    max_changes: int = 2,
    max_options: int = 5,
    steps: int = 10,
    categorical_cost: float = 0.5,
    bisect_iterations: int = 12,
    pair_values: int = 8,
) -> CounterfactualResult:
    """Cheapest changes to actionable features that make ``scorer`` approve ``application``.

    Up to ``max_options`` options, cheapest first, one per set of changed features; with
    none, ``why`` says why (already approved, nothing actionable, or no change of one or two
    actionable features within the training range approves). ``actionable`` and
    ``immutable`` default to the bundle's (the project config's) lists.
    """
    if max_changes not in (1, 2):
        raise ValueError(f"max_changes must be 1 or 2, got {max_changes}")
    bundle = scorer.bundle
    meta = getattr(bundle, "metadata", {}) or {}
    sensitive = list(meta.get("sensitive", []))
    fixed = list(meta.get("immutable") or []) if immutable is None else list(immutable)
    if actionable is None and meta.get("actionable") is not None:
        actionable = [a for a in meta["actionable"] if a not in fixed]
    features = actionable_features(bundle.schema.names, sensitive, actionable, fixed)
    row = scorer.validate(application)
    first = scorer.decide(application, explain=False)
    p0 = float(first.probability_of_default)

    def result(options: list[CounterfactualOption], why: str | None) -> CounterfactualResult:
        return CounterfactualResult(first.decision, p0, features, options, why)

    if first.decision == APPROVE:
        return result([], "already approved: nothing to change")
    if not features:
        return result(
            [],
            "no input is actionable: every one is protected, immutable or history; list the "
            "inputs an applicant can change under `actionable` in the project config",
        )
    search = _Search(scorer, row, features, categorical_cost)

    # ---- one feature: every candidate value, scored in one batch
    singles: list[_Candidate] = []
    for f in features:
        spec = search.specs[f]
        if spec.kind == "categorical":
            values: list[Any] = [c for c in (spec.categories or []) if c != row[f]]
        else:
            values = _numeric_grid(spec, float(row[f]), steps)
        singles += [_Candidate(f, v, search.cost(f, v)) for v in values]
    p, ok = search.score([{c.feature: c.value} for c in singles])
    for c, pi, oi in zip(singles, p, ok, strict=True):
        c.pd, c.approves = float(pi), bool(oi)

    found = _refine_numeric(search, singles, bisect_iterations)
    found += [c for c in singles if c.approves and search.specs[c.feature].kind == "categorical"]
    options: list[tuple[float, tuple[tuple[str, Any], ...]]] = [
        (c.cost, ((c.feature, c.value),)) for c in found
    ]

    # ---- two features: risk-reducing values of two different features
    if max_changes == 2:
        base_pd = first.probability_of_default
        pool: dict[str, list[_Candidate]] = {}
        for c in singles:
            # values that approve alone are options already (cheaper after bisection)
            if c.approves or not c.pd < base_pd:
                continue
            pool.setdefault(c.feature, []).append(c)
        for f, cands in pool.items():
            cands.sort(key=lambda c: c.cost)
            if len(cands) > pair_values:
                pick = np.unique(np.linspace(0, len(cands) - 1, pair_values).round().astype(int))
                pool[f] = [cands[i] for i in pick]
        names = sorted(pool, key=features.index)
        pairs = [
            (a, b)
            for i, fa in enumerate(names)
            for fb in names[i + 1 :]
            for a in pool[fa]
            for b in pool[fb]
        ]
        p, ok = search.score([{a.feature: a.value, b.feature: b.value} for a, b in pairs])
        best: dict[tuple[str, str], tuple[float, tuple[tuple[str, Any], ...]]] = {}
        for (a, b), oi in zip(pairs, ok, strict=True):
            if not oi:
                continue
            pair = (a.feature, b.feature)
            cost = a.cost + b.cost
            if pair not in best or cost < best[pair][0]:
                best[pair] = (cost, ((a.feature, a.value), (b.feature, b.value)))
        options += list(best.values())

    # ---- cheapest per feature set, verified through the Scorer
    options.sort(key=lambda o: (round(o[0], 12), len(o[1])))
    out: list[CounterfactualOption] = []
    seen: set[frozenset[str]] = set()
    for cost, changes in options:
        key = frozenset(f for f, _ in changes)
        if key in seen:
            continue
        seen.add(key)
        proposed = {f: _python(v, search.specs[f]) for f, v in changes}
        decision = scorer.decide({**application, **proposed}, explain=False)
        if decision.decision != APPROVE:
            continue
        out.append(
            CounterfactualOption(
                changes=tuple(Change(f, _plain(row[f]), proposed[f]) for f, _ in changes),
                probability_of_default=float(decision.probability_of_default),
                decision=decision.decision,
                score=int(decision.score),
                cost=float(cost),
            )
        )
        if len(out) >= max_options:
            break
    if not out:
        threshold = float(scorer.policy.threshold)
        shown = ", ".join(features[:8]) + (
            f" and {len(features) - 8} more" if len(features) > 8 else ""
        )
        return result(
            [],
            f"no change of {'one or two' if max_changes == 2 else 'one'} of the "
            f"{len(features)} actionable inputs ({shown}) within the ranges seen in training "
            f"gets this application approved (its PD {p0:.3f} would have to fall below the "
            f"threshold {threshold:.3f})",
        )
    return result(out, None)


def _refine_numeric(
    search: _Search, singles: list[_Candidate], iterations: int
) -> list[_Candidate]:
    """For each number and direction, bisect between the nearest approving grid value and the
    grid value before it, all features at once (one batch per iteration)."""
    brackets: list[list[Any]] = []  # [feature, lo (not approving), hi (approving), integer]
    for f in {c.feature for c in singles if search.specs[c.feature].kind == "numeric"}:
        spec = search.specs[f]
        current = float(search.row[f])
        grid = sorted((c for c in singles if c.feature == f), key=lambda c: float(c.value))
        if math.isnan(current):
            approving = [c for c in grid if c.approves]
            if approving:
                brackets.append([f, approving[0].value, approving[0].value, spec.integer])
            continue
        for side in (1.0, -1.0):
            path = sorted(
                (c for c in grid if (float(c.value) - current) * side > 0),
                key=lambda c: abs(float(c.value) - current),
            )
            previous = current
            for c in path:
                if c.approves:
                    brackets.append([f, previous, float(c.value), spec.integer])
                    break
                previous = float(c.value)
    for _ in range(iterations):
        probes, live = [], []
        for b in brackets:
            lo, hi, integer = b[1], b[2], b[3]
            mid = (lo + hi) / 2.0
            if integer:
                mid = float(math.floor(mid) if hi > lo else math.ceil(mid))
                if mid in (lo, hi):
                    continue
            elif abs(hi - lo) <= 1e-9 * max(1.0, abs(hi)):
                continue
            probes.append({b[0]: mid})
            live.append((b, mid))
        if not probes:
            break
        _, ok = search.score(probes)
        for (b, mid), oi in zip(live, ok, strict=True):
            if oi:
                b[2] = mid
            else:
                b[1] = mid
    out = []
    for f, _, hi, _ in brackets:
        out.append(_Candidate(f, hi, search.cost(f, hi), approves=True))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
