"""Scorer: from a bundle, one application or a frame of them -> Decisions.

Probabilities are exactly the bundle pipeline's; the policy turns each into score points, a
risk band and approve / refer / decline. Applications are checked against the bundle's
input schema first, so a client's mistake is a ``ScoringInputError`` naming the field.

The hot path: at construction the bundle's model is compiled once
(:mod:`creditscore.compiled`: lookups, arrays and numba tree kernels, proved equal to the
pipeline on probe rows), so one decision costs tens of microseconds instead of the
pipeline's milliseconds. A model that cannot be compiled exactly is scored by the pipeline;
``Scorer.fast_path`` says which path is in use and ``fast_path_detail`` why.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from creditscore.bundle import ModelBundle
from creditscore.compiled import CompiledModel, NotCompilableError
from creditscore.data.schema import FieldSpec
from creditscore.exceptions import ScoringInputError
from creditscore.features.derived import date_day
from creditscore.features.numbers import parse_number
from creditscore.features.spelling import canonical_key
from creditscore.policy import DECISIONS
from creditscore.reasons import Explainer, ReasonCode

logger = logging.getLogger(__name__)

#: ``decide_many`` scores up to this many applications one by one (no frame to build).
SMALL_BATCH = 64
#: Reason codes on a decision (lenders give the main reasons; four is customary).
MAX_REASONS = 4
_INF = math.inf
OutOfRange = Literal["warn", "refuse"]
_SCORE_NAMES = ("probability_of_default", "score", "risk_band", "decision")


@dataclass(frozen=True)
class InputWarning:
    """Something about an application that did not stop its scoring but should be seen:
    ``out_of_range``, a number outside the range seen in training (the model extrapolates
    flat there). The value is left out for a protected attribute."""

    field: str
    code: str
    message: str
    value: float | None = None


@dataclass(frozen=True)
class Decision:
    probability_of_default: float
    score: int
    risk_band: str
    decision: str
    model_name: str
    model_version: str
    policy_version: str
    request_id: str
    reasons: list[ReasonCode] = field(default_factory=list)
    application_id: str | None = None
    warnings: list[InputWarning] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Scorer:
    """Scores applications with a loaded bundle. Thread-safe: it holds no mutable state.

    ``compile=False`` keeps the plain pipeline (for comparisons); otherwise the model is
    compiled and checked once here, which takes from a few tens of milliseconds to about
    a second (numba's first compilation in a process).

    Reason codes (up to ``MAX_REASONS``) come with every decline and referral, and with
    every decision when ``decide(..., explain=True)``; ``explain=False`` skips them.
    ``reasons=False`` builds no explainer at all (no reason codes, faster start). They
    come from the compiled model's contributions (:mod:`creditscore.reasons`); batches get
    the same codes as columns from ``score_frame(frame, reasons=k)``.
    """

    def __init__(
        self,
        bundle: ModelBundle,
        model_version: str = "local",
        *,
        compile: bool = True,
        reasons: bool = True,
        out_of_range: OutOfRange | None = None,
    ) -> None:
        self.bundle = bundle
        self.model_version = str(model_version)
        self.policy = bundle.policy
        self._fields = bundle.schema.fields
        self._names = bundle.schema.names
        meta = getattr(bundle, "metadata", None) or {}
        scoring = meta.get("scoring") or {}
        #: "warn": score a number outside the training range and say so in
        #: ``Decision.warnings``; "refuse": a ScoringInputError naming the field.
        self.out_of_range: OutOfRange = out_of_range or scoring.get("out_of_range", "warn")
        if self.out_of_range not in ("warn", "refuse"):
            raise ValueError(f"out_of_range must be 'warn' or 'refuse', got {self.out_of_range!r}")
        private = set(map(str, meta.get("sensitive") or ()))
        # (position, spec, lowest, highest, show the value?) of every number with a range
        self._ranges = tuple(
            (i, f, float(f.minimum), float(f.maximum), f.name not in private)
            for i, f in enumerate(self._fields)
            if f.kind == "numeric" and f.minimum is not None and f.maximum is not None
        )
        self._levels = {
            f.name: {canonical_key(c): c for c in (f.categories or [])}
            for f in self._fields
            if f.kind == "categorical"
        }
        # (spec, numeric?, exact spelling -> validated value, lowest, highest seen) per field,
        # in schema order
        self._plan = tuple(
            (
                f,
                f.kind == "numeric",
                {}
                if f.kind == "numeric"
                else {c: self._levels[f.name][canonical_key(c)] for c in (f.categories or [])},
                -_INF if f.minimum is None else float(f.minimum),
                _INF if f.maximum is None else float(f.maximum),
            )
            for f in self._fields
        )
        self._compiled: CompiledModel | None = None
        self.fast_path = "pipeline"
        self.fast_path_detail = "compilation disabled"
        if compile:
            try:
                self._compiled = bundle.compiled()
            except NotCompilableError as exc:
                self.fast_path_detail = f"not compiled: {exc}"
                logger.warning("scoring %s with the sklearn pipeline: %s", bundle.name, exc)
            else:
                self.fast_path = "compiled"
                self.fast_path_detail = f"{self._compiled.description}; {bundle.compiled_note}"
        self.explainer: Explainer | None = None
        if reasons:
            try:
                self.explainer = Explainer.from_bundle(bundle, compiled=self._compiled)
            except Exception as exc:  # a model that cannot be explained still scores
                logger.warning("no reason codes for %s: %s", bundle.name, exc)

    # ------------------------------------------------------------------ validation
    def _check_value(self, spec: FieldSpec, value: Any) -> Any:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None if spec.kind == "categorical" else math.nan
        if spec.kind == "date":  # read only by derived features
            if math.isnan(date_day(value)):
                raise ScoringInputError(
                    f"field {spec.name!r}: expected an ISO date such as '2024-01-31', "
                    f"got {value!r}",
                    field=spec.name,
                )
            return value
        if isinstance(value, str) and spec.is_special(value):  # e.g. 'n/a': missing
            return None if spec.kind == "categorical" else math.nan
        if spec.kind == "numeric":
            if isinstance(value, bool) or not isinstance(value, int | float | np.number | str):
                raise ScoringInputError(
                    f"field {spec.name!r}: expected a number, got {value!r}", field=spec.name
                )
            if isinstance(value, str):  # '3000', '13.95%', '$1,200' (data.numbers)
                if not value.strip():  # blank: missing, as in training
                    return math.nan
                parsed = parse_number(value, spec.decimal)
                if parsed is None:
                    try:
                        infinite = math.isinf(float(value))
                    except ValueError:
                        infinite = False
                    expected = "a finite number" if infinite else "a number"
                    raise ScoringInputError(
                        f"field {spec.name!r}: expected {expected}, got {value!r}",
                        field=spec.name,
                    )
                return parsed
            try:
                number = float(value)
            except OverflowError:
                number = _INF
            if math.isinf(number):
                raise ScoringInputError(
                    f"field {spec.name!r}: expected a finite number, got {value!r}", field=spec.name
                )
            return number
        text = str(value)
        levels = self._levels[spec.name]
        if canonical_key(text) not in levels:
            shown = sorted(levels.values())
            raise ScoringInputError(
                f"field {spec.name!r}: unknown category {text!r}; expected one of {shown[:20]}",
                field=spec.name,
            )
        return levels[canonical_key(text)]

    def _values(self, application: Mapping[str, Any]) -> list[Any]:
        """``validate`` as a list in schema order; the common cases skip the general checks."""
        return self._checked_values(application)[0]

    def _checked_values(self, application: Mapping[str, Any]) -> tuple[list[Any], bool]:
        """(``_values``, whether a number may be outside its training range: then
        :meth:`_range_warnings` looks closer)."""
        out: list[Any] = []
        append = out.append
        outside = False
        for spec, numeric, exact, lo, hi in self._plan:
            name = spec.name
            if name not in application:
                raise ScoringInputError(f"field {name!r} is missing", field=name)
            value = application[name]
            kind = type(value)
            if numeric:
                if kind is float and value - value == 0.0:  # finite (NaN and inf fail)
                    append(value)
                    if not lo <= value <= hi:
                        outside = True
                    continue
                if kind is int and -(2**53) <= value <= 2**53:
                    append(float(value))
                    if not lo <= value <= hi:
                        outside = True
                    continue
                outside = True  # the general path: let the range check look
            elif kind is str:
                hit = exact.get(value)
                if hit is not None:
                    append(hit)
                    continue
            append(self._check_value(spec, value))
        return out, outside

    def _range_warnings(self, values: list[Any]) -> list[InputWarning]:
        """Numbers outside the range seen in training (special codes and missing are not):
        warnings, or a ScoringInputError when this scorer refuses them."""
        out: list[InputWarning] = []
        for i, spec, lo, hi, shown in self._ranges:
            v = values[i]
            if lo <= v <= hi or v != v or spec.is_special(v):
                continue
            seen = f"seen in training: {lo:g} to {hi:g}"
            what = f"{v:g}" if shown else "the value (a protected attribute)"
            if self.out_of_range == "refuse":
                raise ScoringInputError(
                    f"field {spec.name!r}: {what} is outside the range {seen}; this model "
                    "refuses such values (scoring.out_of_range: refuse in the project config)",
                    field=spec.name,
                )
            out.append(
                InputWarning(
                    spec.name,
                    "out_of_range",
                    f"{spec.name}: {what} is outside the range {seen}; scored as the nearest "
                    "value the model knows",
                    float(v) if shown else None,
                )
            )
        return out

    def validate(self, application: Mapping[str, Any]) -> dict[str, Any]:
        """The application's model inputs, checked and normalised; raises on any problem."""
        return dict(zip(self._names, self._values(application), strict=True))

    # ------------------------------------------------------------------ scoring
    def probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        """PD of every row of a raw application frame (the pipeline's numbers)."""
        if self._compiled is not None:
            return self._compiled.predict_frame(frame)
        return self.bundle.predict_proba(frame)

    def _probability(self, values: list[Any]) -> float:
        if self._compiled is not None:
            return self._compiled.predict_one(values)
        row = pd.DataFrame([values], columns=self._names)
        return float(self.bundle.predict_proba(row)[0])

    def _decision(
        self,
        p: float,
        application_id: Any = None,
        reasons: list[ReasonCode] | None = None,
        warnings: list[InputWarning] | None = None,
    ) -> Decision:
        policy = self.policy
        return Decision(
            probability_of_default=p,
            score=policy.points(p),
            risk_band=policy.band(p),
            decision=policy.decide(p),
            model_name=self.bundle.name,
            model_version=self.model_version,
            policy_version=policy.version,
            request_id=uuid.uuid4().hex,
            reasons=reasons or [],
            application_id=None if application_id is None else str(application_id),
            warnings=warnings or [],
        )

    def _wants_reasons(self, p: float, explain: bool | None) -> bool:
        if self.explainer is None or explain is False:
            return False
        return explain is True or self.policy.decide(p) != "approve"

    def decide(self, application: Mapping[str, Any], *, explain: bool | None = None) -> Decision:
        """One decision. ``explain``: None gives reason codes to declines and referrals,
        True to every decision, False to none."""
        values, outside = self._checked_values(application)
        warnings = self._range_warnings(values) if outside else []
        p = self._probability(values)
        reasons = None
        if self.explainer is not None and self._wants_reasons(p, explain):
            reasons = self.explainer.reasons_for_values(values, MAX_REASONS)
        return self._decision(p, application.get("application_id"), reasons, warnings)

    def decide_many(
        self, applications: Sequence[Mapping[str, Any]], *, explain: bool | None = None
    ) -> list[Decision]:
        """Decisions for many applications; the same numbers and reason codes as
        ``decide`` on each one alone."""
        checked = [self._checked_values(a) for a in applications]
        rows = [values for values, _ in checked]
        warnings = [self._range_warnings(v) if outside else [] for v, outside in checked]
        if self._compiled is not None and len(rows) <= SMALL_BATCH:
            proba = [self._compiled.predict_one(r) for r in rows]
        else:
            proba = list(self.probabilities(pd.DataFrame(rows, columns=self._names)))
        reasons: dict[int, list[ReasonCode]] = {}
        explainer = self.explainer
        if explainer is not None:
            wanted = [i for i, p in enumerate(proba) if self._wants_reasons(float(p), explain)]
            if len(wanted) <= SMALL_BATCH:
                reasons = {i: explainer.reasons_for_values(rows[i], MAX_REASONS) for i in wanted}
            else:
                frame = pd.DataFrame([rows[i] for i in wanted], columns=self._names)
                reasons = dict(zip(wanted, explainer.reasons_many(frame, MAX_REASONS), strict=True))
        return [
            self._decision(float(p), a.get("application_id"), reasons.get(i), warnings[i])
            for i, (p, a) in enumerate(zip(proba, applications, strict=True))
        ]

    def score_frame(
        self, frame: pd.DataFrame, *, reasons: int = 0, explain: bool | None = None
    ) -> pd.DataFrame:
        """Batch form: a raw application frame's id-free result columns, vectorised.

        Columns ``probability_of_default``, ``score``, ``risk_band`` and ``decision``, and,
        with ``reasons > 0``, ``reason_{i}_code``, ``reason_{i}_feature``,
        ``reason_{i}_text`` (pandas Categoricals) and ``reason_{i}_contribution`` (float)
        for ``i`` in 1..``reasons``. ``explain`` picks the rows that get reason codes as
        :meth:`decide` does: None declines and referrals, True every row, False none;
        other rows, and slots beyond a row's reasons, are empty (missing, NaN). A row's
        codes and texts are the ones :meth:`decide` gives it. The index is the frame's.
        Contract used by batch scoring; raises ``ScoringInputError`` naming a missing or
        infinite column.
        """
        columns = self.score_columns(frame, reasons=reasons, explain=explain)
        for name in ("risk_band", "decision"):  # Categoricals -> arrays of the names
            columns[name] = np.asarray(columns[name], dtype=object)
        out = pd.DataFrame(
            {name: columns.pop(name) for name in _SCORE_NAMES},
            index=frame.index,
        )
        for name, values in columns.items():
            out[name] = values if not isinstance(values, pd.Series) else values.to_numpy()
        return out

    def score_columns(
        self, frame: pd.DataFrame, *, reasons: int = 0, explain: bool | None = None
    ) -> dict[str, Any]:
        """:meth:`score_frame`'s columns, without the frame: ``probability_of_default``
        (float64) and ``score`` (int64) as numpy arrays, ``risk_band`` and ``decision`` as
        pandas Categoricals (the policy's band names and ``approve``, ``refer``,
        ``decline``, all of them categories, so that the codes are the policy's own), the
        reason columns as :meth:`score_frame` has them. What batch scoring turns into Arrow
        columns without building a string per row."""
        scored = self.scored_columns(frame, reasons=reasons, explain=explain)
        return scored.finish(scored.contribute())

    def scored_columns(
        self, frame: pd.DataFrame, *, reasons: int = 0, explain: bool | None = None
    ) -> ScoredColumns:
        """:meth:`score_columns` in steps: the scores now; the reason codes'
        contributions (:meth:`ScoredColumns.contribute`, numba with the GIL released) and
        their columns (:meth:`ScoredColumns.finish`) when the caller chooses, so that
        batch scoring can overlap one chunk's contributions with another's text."""
        missing = [c for c in self._names if c not in frame.columns]
        if missing:
            raise ScoringInputError(f"input lacks columns {missing}", field=missing[0])
        self._check_finite(frame)
        p = self.probabilities(frame)
        policy = self.policy
        decisions = policy.decision_codes(p)
        out: dict[str, Any] = {
            "probability_of_default": p,
            "score": policy.points_many(p),
            "risk_band": pd.Categorical.from_codes(
                policy.band_codes(p), categories=list(policy._names)
            ),
            "decision": pd.Categorical.from_codes(decisions, categories=list(DECISIONS)),
        }
        rows = np.zeros(0, dtype=np.intp)
        if reasons > 0 and self.explainer is not None and explain is not False:
            # every row, or the referrals and declines
            rows = np.arange(len(frame)) if explain is True else np.flatnonzero(decisions != 0)
        return ScoredColumns(frame, out, rows, reasons, self.explainer)

    def _check_finite(self, frame: pd.DataFrame) -> None:
        """Infinity is refused in a frame as in one application (most pipelines raise on it)."""
        for spec in self._fields:
            if spec.kind != "numeric":
                continue
            col = frame[spec.name]
            if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iub":
                continue
            if isinstance(col.dtype, np.dtype) and col.dtype.kind == "f":
                values = col.to_numpy()
            else:
                values = pd.to_numeric(col, errors="coerce").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
            bad = np.isinf(values)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise ScoringInputError(
                    f"column {spec.name!r} has {int(bad.sum())} infinite value(s), "
                    f"e.g. {float(values[row])!r} (row {row}); expected finite numbers",
                    field=spec.name,
                )


@dataclass
class ScoredColumns:
    """A frame's score columns (``columns``), and its reason codes still to make: for the
    ``rows`` (positions) that get them, ``reasons`` per row, by ``explainer``."""

    frame: pd.DataFrame
    columns: dict[str, Any]
    rows: np.ndarray
    reasons: int
    explainer: Explainer | None

    def contribute(self) -> np.ndarray | None:
        """The contributions behind the reason codes (None when there are none to make)."""
        if self.reasons <= 0 or self.explainer is None:
            return None
        return self.explainer.contributions_of(self.frame, self.rows)

    def finish(self, contributions: np.ndarray | None) -> dict[str, Any]:
        """Every column: the scores and the reason columns (from :meth:`contribute`)."""
        if self.reasons <= 0:
            return self.columns
        if self.explainer is None:
            reason_columns = _empty_reasons(len(self.frame), self.reasons)
        else:
            reason_columns = self.explainer.reason_columns(
                self.frame, self.rows, self.reasons, contributions=contributions
            )
        return {**self.columns, **reason_columns}


def _empty_reasons(n: int, k: int) -> dict[str, Any]:
    """Reason columns with no reasons (a Scorer without an explainer)."""
    out: dict[str, Any] = {}
    for slot in range(1, k + 1):
        for part in ("code", "feature", "text"):
            out[f"reason_{slot}_{part}"] = pd.Categorical.from_codes(np.full(n, -1), [])
        out[f"reason_{slot}_contribution"] = np.full(n, np.nan)
    return out
