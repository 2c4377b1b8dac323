"""Reason codes: which of an applicant's characteristics pushed the model towards "bad".

:class:`Explainer` takes per-applicant contributions to the uncalibrated model's log-odds of
bad from the compiled model (:meth:`creditscore.compiled.CompiledModel.contributions`: exact
for the logistic and the scorecard, baseline Shapley values against the typical applicant
for the trees and the MLP, combined for blends) and turns the largest positive ones into
:class:`ReasonCode` values: a stable code, a sentence for the applicant, their value and the
contribution. A protected attribute (the bundle's ``sensitive`` list) is never a reason,
even when it was explicitly allowed as a model input.

Typical use (what the Scorer does for declines and referrals)::

    explainer = Explainer.from_bundle(bundle)               # once, at load time
    reasons = explainer.reasons_for_values(values, k=4)     # per application, microseconds

For batches, :meth:`Explainer.reason_columns` gives the same codes and texts as columns,
without a Python loop per row: the code and sentence of every (feature, level) and
(feature, high/low/missing) are built once, a number is formatted once per distinct value,
and the columns are pandas Categoricals.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from creditscore.compiled import (
    CompiledModel,
    Contributions,
    NotCompilableError,
    PipelineContributions,
)
from creditscore.compiled.inputs import Frame
from creditscore.compiled.shapley import top_contributions as _top_contributions
from creditscore.data.profile import FeatureProfile, Profile
from creditscore.data.schema import FieldSpec, InputSchema
from creditscore.exceptions import ScoringInputError
from creditscore.features.spelling import canonical_key
from creditscore.reason_texts import format_number, number_texts, slot_column, texts

if TYPE_CHECKING:
    from creditscore.bundle import ModelBundle

__all__ = [
    "BASE_VALUE",
    "Explainer",
    "ReasonCode",
    "feature_label",
    "is_missing",
    "level_shares",
    "reason_code_id",
    "typical_values",
]

#: Column of :meth:`Explainer.contributions` holding the base (average) log-odds.
BASE_VALUE = "base_value"
#: Contributions at or below this are not reasons (numerical noise, not a push to bad).
MIN_CONTRIBUTION = 1e-9
#: Contributions are ranked rounded to 1e-9 (ties go to the feature listed first).
_RANK_SCALE = 1e9
#: Most distinct texts of unseen category spellings kept per feature (batch scoring).
_MAX_CACHED = 10_000


@dataclass(frozen=True)
class ReasonCode:
    """One reason an application scored as it did (pushed towards "bad")."""

    code: str
    feature: str
    text: str
    value: Any
    contribution: float  # to the model's log-odds of bad; > 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The parts of one reason slot in a batch result, in column order.
REASON_PARTS = ("code", "feature", "text", "contribution")


def reason_column_names(k: int) -> list[str]:
    """The batch result's reason columns for ``k`` slots, in order: ``reason_1_code``,
    ``reason_1_feature``, ``reason_1_text``, ``reason_1_contribution``, ``reason_2_code``..."""
    return [f"reason_{i}_{part}" for i in range(1, k + 1) for part in REASON_PARTS]


def is_missing(v: Any) -> bool:
    """None, NaN or a pandas missing value (strings never are)."""
    if v is None:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    if isinstance(v, str):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


# ------------------------------------------------------------------------------ texts
_SYMBOLS = (
    ("<=", " le "),
    (">=", " ge "),
    ("<", " lt "),
    (">", " gt "),
    ("=", " eq "),
    ("%", " pct "),
    ("&", " and "),
    ("+", " plus "),
)


@functools.lru_cache(maxsize=4096)
def _slug(text: str, limit: int) -> str:
    s = str(text)
    for symbol, word in _SYMBOLS:
        s = s.replace(symbol, word)
    s = re.sub(r"[^0-9A-Za-z]+", "_", s).strip("_").upper() or "EMPTY"
    if len(s) > limit:
        digest = hashlib.sha1(str(text).encode("utf-8")).hexdigest()[:6].upper()
        s = s[: limit - 7].rstrip("_") + "_" + digest
    return s


def feature_label(feature: str, reasons: Mapping[str, str] | None = None) -> str:
    """The configured text for a feature, else its name made readable."""
    if reasons and reasons.get(feature):
        return str(reasons[feature])
    return _default_label(feature)


@functools.lru_cache(maxsize=4096)
def _default_label(feature: str) -> str:
    words = re.sub(r"[_\-.]+", " ", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", feature)).strip()
    return (words[:1].upper() + words[1:].lower()) if words else feature


def _number(value: Any) -> float | None:
    if is_missing(value) or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def reason_code_id(feature: str, spec: FieldSpec, value: Any, typical: Any) -> str:
    """``RC_<FEATURE>_<VALUE BIN>``: the level for categories; HIGH / LOW (against the typical
    training value) or MISSING for numbers. Stable across applicants and model versions."""
    head = "RC_" + _slug(feature, 40)
    if is_missing(value):
        return head + "_MISSING"
    if spec.kind == "categorical":
        return head + "_" + _slug(str(value), 28)
    x, t = _number(value), _number(typical)
    if x is None:
        return head + "_INVALID"
    if t is None or x == t:
        return head + "_TYPICAL"
    return head + ("_HIGH" if x > t else "_LOW")


def _sentence(
    feature: str, spec: FieldSpec, value: Any, typical: Any, reasons: Mapping[str, str]
) -> str:
    label = feature_label(feature, reasons)
    if is_missing(value):
        shown, compare = "not provided", ""
    elif spec.kind == "categorical":
        shown, compare = str(value), ""
    else:
        x, t = _number(value), _number(typical)
        shown = str(value) if x is None else format_number(x, spec.integer)
        compare = ""
        if x is not None and t is not None and x != t:
            word = "above" if x > t else "below"
            compare = f" ({word} the typical {format_number(t, spec.integer)})"
    template = reasons.get(feature, "")
    if "{value}" in template:
        try:
            return template.format(value=shown, typical=typical, feature=feature)
        except (KeyError, IndexError, ValueError):
            pass
    return f"{label}: {shown}{compare}"


# ------------------------------------------------------------------------------ profile
def _profile_median(fp: FeatureProfile) -> float | None:
    """The training median, read back from the profile's decile edges and shares."""
    if not fp.edges:
        return fp.mean
    present = 1.0 - fp.missing_share
    if present <= 0:
        return fp.mean
    below = np.cumsum(np.asarray(fp.shares[: len(fp.edges)], dtype=float)) / present
    return float(fp.edges[int(np.argmin(np.abs(below - 0.5)))])


def typical_values(schema: InputSchema, profile: Profile | None) -> dict[str, Any]:
    """A typical applicant: training median of each number, most common level of each category."""
    out: dict[str, Any] = {}
    feats = profile.features if profile is not None else {}
    for spec in schema.fields:
        fp = feats.get(spec.name)
        if spec.kind == "categorical":
            levels = (fp.levels if fp is not None else []) or list(spec.categories or [])
            out[spec.name] = levels[0] if levels else None
            continue
        value = _profile_median(fp) if fp is not None else None
        if value is None and spec.minimum is not None and spec.maximum is not None:
            value = (spec.minimum + spec.maximum) / 2.0
        if value is not None and spec.integer:
            value = float(round(value))
        out[spec.name] = value
    return out


def level_shares(profile: Profile | None) -> dict[str, dict[Any, float]]:
    """Training share of each level (``None``: missing) of every categorical feature."""
    out: dict[str, dict[Any, float]] = {}
    if profile is None:
        return out
    for name, fp in profile.features.items():
        if fp.kind != "categorical" or not fp.levels:
            continue
        shares: dict[Any, float] = dict(zip(fp.levels, fp.shares[: len(fp.levels)], strict=True))
        if fp.missing_share:
            shares[None] = fp.missing_share
        out[name] = shares
    return out


def _reference(schema: InputSchema, typical: Mapping[str, Any]) -> list[Any]:
    """The typical applicant as validated values in schema order."""
    out: list[Any] = []
    for spec in schema.fields:
        v = typical.get(spec.name)
        if spec.kind == "numeric":
            out.append(math.nan if v is None else float(v))
        else:
            out.append(None if v is None else str(v))
    return out


def _plain(value: Any) -> Any:
    """JSON-friendly scalar (numpy types to Python)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


# ------------------------------------------------------------------------------ pieces
_MISSING, _TYPICAL, _HIGH, _LOW = range(4)
_SENTINEL = "\x00value\x00"


class _Pieces:
    """One feature's reason codes and sentences, built once: per level for a category, per
    state (missing / typical / high / low) plus the number for a number."""

    def __init__(
        self, name: str, spec: FieldSpec, typical: Any, reasons: Mapping[str, str]
    ) -> None:
        self.name, self.spec, self.typical, self.reasons = name, spec, typical, reasons
        self.numeric = spec.kind != "categorical"
        if self.numeric:
            t = _number(typical)
            self.t = t
            probes = {
                _MISSING: None,
                _TYPICAL: t if t is not None else 0.0,
                _HIGH: (t + abs(t) + 1.0) if t is not None else 0.0,
                _LOW: (t - abs(t) - 1.0) if t is not None else 0.0,
            }
            self.codes = [reason_code_id(name, spec, probes[s], typical) for s in range(4)]
            self.missing_text = _sentence(name, spec, None, typical, reasons)
            self.pre: str | None
            self.post: list[str] | None
            self.pre, self.post = self._number_pieces()
            return
        # categories: the schema's levels, then missing; other spellings are added on use
        self.levels: list[str | None] = [*(spec.categories or []), None]
        self.index: dict[Any, int] = {v: i for i, v in enumerate(self.levels)}
        self.level_codes = [reason_code_id(name, spec, v, typical) for v in self.levels]
        self.level_texts = [_sentence(name, spec, v, typical, reasons) for v in self.levels]
        self.spelling = {canonical_key(c): c for c in (spec.categories or [])}
        self._lock = threading.Lock()

    def _number_pieces(self) -> tuple[str, list[str]] | tuple[None, None]:
        """Text = ``pre + formatted number + post[state]``, checked against the sentence."""
        spec, name, t = self.spec, self.name, self.t
        template = self.reasons.get(name, "")
        pre: str = ""
        post: list[str] = []
        if "{value}" in template:
            try:
                parts = template.format(value=_SENTINEL, typical=self.typical, feature=name)
            except (KeyError, IndexError, ValueError):
                parts = None
            if parts is not None:
                if parts.count(_SENTINEL) != 1:
                    return None, None  # the value twice (or transformed): format row by row
                pre, after = parts.split(_SENTINEL)
                post = [after] * 4
            else:
                template = ""
        if "{value}" not in template:
            pre = f"{feature_label(name, self.reasons)}: "
            shown_t = format_number(t, spec.integer) if t is not None else ""
            post = ["", "", f" (above the typical {shown_t})", f" (below the typical {shown_t})"]
        for x in (1.0, 2.5, -3.0, 12345.0, *(() if t is None else (t, t + 1.0, t - 1.0))):
            state = self.state(x)
            text = pre + format_number(x, spec.integer) + post[state]
            if text != _sentence(name, spec, x, self.typical, self.reasons):
                return None, None
        return pre, post

    def state(self, x: float) -> int:
        if x != x:
            return _MISSING
        t = self.t
        if t is None or x == t:
            return _TYPICAL
        return _HIGH if x > t else _LOW

    def one(self, value: Any) -> tuple[str, str]:
        """(code, text) of one validated value."""
        if self.numeric:
            x = math.nan if value is None else float(value)
            state = self.state(x)
            if state == _MISSING:
                return self.codes[_MISSING], self.missing_text
            if self.pre is None:
                return self.codes[state], _sentence(
                    self.name, self.spec, x, self.typical, self.reasons
                )
            assert self.post is not None
            return self.codes[state], self.pre + format_number(x, self.spec.integer) + (
                self.post[state]
            )
        i = self.level(value)
        return self.level_codes[i], self.level_texts[i]

    def many_numbers(self, x: np.ndarray) -> tuple[tuple[list[str], np.ndarray], pa.Array]:
        """:meth:`one` of each float in ``x`` (validated numbers, NaN for missing): the
        codes as (distinct codes, index per value) and the texts as an Arrow array, with
        the states found by numpy and the numbers written by :func:`number_texts`."""
        if self.pre is None:  # a template that shows the value twice: value by value
            uniq, inverse = np.unique(x, return_inverse=True)  # NaNs last, once
            pairs = [self.one(v) for v in uniq.tolist()]
            text = pa.array([t for _, t in pairs], pa.large_string())
            return _distinct_ids([c for c, _ in pairs], inverse), pc.take(text, inverse)
        t = self.t
        missing = np.isnan(x)
        if t is None:
            state = np.full(len(x), _TYPICAL)
        else:
            state = np.where(x == t, _TYPICAL, np.where(x > t, _HIGH, _LOW))
        state[missing] = _MISSING
        assert self.post is not None
        shown = texts(self.pre, number_texts(np.where(missing, 0.0, x), self.spec.integer),
                      self.post, state)  # fmt: skip
        if missing.any():
            shown = pc.if_else(pa.array(missing), self.missing_text, shown)
        used = np.unique(state)
        return ([self.codes[u] for u in used.tolist()], np.searchsorted(used, state)), shown

    def level(self, value: Any) -> int:
        """Index of a category value in ``levels`` (another spelling of a level is that
        level; an unseen value gets an entry of its own)."""
        i = self.index.get(value)
        if i is not None:
            return i
        if is_missing(value):
            return self.index[None]
        text = str(value)
        known = self.spelling.get(canonical_key(text))
        if known is not None:
            i = self.index[known]
            self.index[value] = i
            return i
        with self._lock:
            i = self.index.get(text, -1)
            if i < 0:
                if len(self.levels) >= _MAX_CACHED:
                    return -1  # not cached: the caller formats this value itself
                code = reason_code_id(self.name, self.spec, text, self.typical)
                sentence = _sentence(self.name, self.spec, text, self.typical, self.reasons)
                self.level_codes.append(code)
                self.level_texts.append(sentence)
                i = len(self.levels)
                self.levels.append(text)  # last: readers index levels only below its length
                self.index[text] = i
            self.index[value] = i
        return i


# ------------------------------------------------------------------------------ explainer
class Explainer:
    """Contributions and reason codes for one bundle. Immutable and thread-safe once built
    (apart from caches of texts, which only grow).

    :attr:`features` are the contribution columns: the model's features (the cleaner's
    output columns), looked up by name, today the schema's fields. A feature the cleaner
    derives from other inputs (issue 13) would be a column of its own; its reason text then
    needs its value, which the cleaner computes (``_value_pos`` is -1 for it: shown as
    missing until then).
    """

    def __init__(
        self,
        contributions: Contributions,
        schema: InputSchema,
        *,
        sensitive: Sequence[str] = (),
        reasons: Mapping[str, str] | None = None,
        typical: Mapping[str, Any] | None = None,
    ) -> None:
        self.engine = contributions
        self.schema = schema
        #: contribution columns: the model's features (its cleaners' outputs), by name
        self.features = list(contributions.features)
        if BASE_VALUE in self.features:
            raise ValueError(f"a feature may not be called {BASE_VALUE!r}")
        self.sensitive = frozenset(sensitive)
        self.reasons_text = dict(reasons or {})
        self.typical = dict(typical or {})
        specs = {f.name: f for f in schema.fields}
        # a feature that is not an input field (derived by the cleaner) reads as a number
        self._specs = {f: specs.get(f) or FieldSpec(f, "numeric", True) for f in self.features}
        self._names = list(schema.names)
        position = {name: i for i, name in enumerate(self._names)}
        # candidates for reasons, in feature order (the tie-break)
        self._eligible = [f for f in self.features if f not in self.sensitive]
        self._eligible_idx = np.asarray(
            [self.features.index(f) for f in self._eligible], dtype=np.intp
        )
        self._eligible_columns = self._eligible_idx.tolist()
        self._value_pos = [position.get(f, -1) for f in self._eligible]
        self._pieces = [
            _Pieces(f, self._specs[f], self.typical.get(f), self.reasons_text)
            for f in self._eligible
        ]

    @classmethod
    def from_bundle(
        cls,
        bundle: ModelBundle,
        *,
        method: str = "auto",
        n_permutations: int = 10,
        seed: int = 0,
        compiled: CompiledModel | None = None,
    ) -> Explainer:
        """Build once per loaded bundle (milliseconds; about a second the first time numba
        compiles in a process). ``compiled``: the bundle's compiled model if already built."""
        schema: InputSchema = bundle.schema
        profile: Profile | None = bundle.profile
        typical = typical_values(schema, profile)
        reference = _reference(schema, typical)
        contributions: Contributions
        if compiled is None:
            try:
                compiled = bundle.compiled()
            except NotCompilableError:
                compiled = None
        if compiled is not None:
            contributions = compiled.contributions(
                reference,
                level_shares(profile),
                method=method,
                n_permutations=n_permutations,
                seed=seed,
            )
        else:
            contributions = PipelineContributions(
                bundle.model, schema, reference, n_permutations=n_permutations, seed=seed
            )
        metadata = bundle.metadata or {}
        return cls(
            contributions,
            schema,
            sensitive=list(metadata.get("sensitive", [])),
            reasons=bundle.reasons or {},
            typical=typical,
        )

    @property
    def method(self) -> str:
        return self.engine.method

    @property
    def description(self) -> str:
        """The contribution method in a sentence (model card, docs)."""
        return self.engine.description

    # ------------------------------------------------------------------ numbers
    def _check(self, frame: pd.DataFrame) -> None:
        missing = [f for f in self._names if f not in frame.columns]
        if missing:
            raise ScoringInputError(f"input lacks columns {missing}", field=missing[0])

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows x features contributions to the log-odds of bad, plus ``base_value``.

        Each row sums (with ``base_value``) to :meth:`log_odds` of that row.
        """
        self._check(frame)
        C, base = self.engine.frame(frame)
        out = pd.DataFrame(C, columns=self.features, index=frame.index)
        out[BASE_VALUE] = base
        return out

    def explain_values(self, values: Sequence[Any]) -> tuple[np.ndarray, float]:
        """One validated application (values in schema order, ``Scorer._values``): its
        contributions (in :attr:`features` order) and the base value. No pandas."""
        return self.engine.one(values)

    def _validated(self, row: Mapping[str, Any]) -> list[Any] | None:
        """``row`` as validated values, if it already is one (else None)."""
        out: list[Any] = []
        for spec in self.schema.fields:
            v = row.get(spec.name)
            if spec.kind == "numeric":
                if v is None:
                    out.append(math.nan)
                elif isinstance(v, float | int | np.integer | np.floating) and not isinstance(
                    v, bool
                ):
                    out.append(float(v))
                else:
                    return None
            elif v is None or (isinstance(v, float) and v != v):
                out.append(None)
            elif isinstance(v, str) and v in (spec.categories or ()):
                out.append(v)
            else:
                return None
        return out

    def explain_one(self, row: Mapping[str, Any]) -> dict[str, float]:
        """One application's contributions (validated by the Scorer or raw), plus
        ``base_value``; a validated one takes the path without pandas."""
        values = self._validated(row)
        if values is not None:
            C, base = self.engine.one(values)
        else:
            frame = pd.DataFrame([{f: row.get(f) for f in self._names}], columns=self._names)
            Cs, bases = self.engine.frame(frame)
            C, base = Cs[0], float(bases[0])
        out = dict(zip(self.features, C.tolist(), strict=True))
        out[BASE_VALUE] = float(base)
        return out

    def log_odds(self, frame: pd.DataFrame) -> np.ndarray:
        """The uncalibrated model's log-odds of bad (what contributions add up to)."""
        self._check(frame)
        return self.engine.log_odds(frame)

    def proba(self, frame: pd.DataFrame) -> np.ndarray:
        """The uncalibrated model's PD."""
        self._check(frame)
        return self.engine.proba(frame)

    # ------------------------------------------------------------------ ranking
    def _top(self, C: np.ndarray, k: int) -> np.ndarray:
        """Per row, the positions in ``_eligible`` of the ``k`` largest contributions above
        MIN_CONTRIBUTION (ties, to 1e-9, to the feature listed first); -1 past the last."""
        order = np.empty((C.shape[0], min(k, len(self._eligible))), dtype=np.int64)
        if not C.flags.c_contiguous:
            C = np.ascontiguousarray(C)
        _top_contributions(
            C, self._eligible_idx, MIN_CONTRIBUTION, _RANK_SCALE, order.shape[1], order
        )
        return order

    def _codes_for(self, C: np.ndarray, k: int, make: Any) -> list[list[ReasonCode]]:
        """Per row of ``C``, ``make(row, eligible position, feature, contribution)`` for its
        top ``k`` reasons."""
        if k <= 0 or not self._eligible:
            return [[] for _ in range(C.shape[0])]
        order = self._top(C, k).tolist()
        columns = self._eligible_columns
        out = []
        for i, row in enumerate(order):
            codes = []
            for e in row:
                if e < 0:
                    break
                codes.append(make(i, e, self._eligible[e], float(C[i, columns[e]])))
            out.append(codes)
        return out

    # ------------------------------------------------------------------ reasons
    def _code(self, e: int, value: Any, contribution: float) -> ReasonCode:
        """A reason from a validated value, with the feature's prebuilt pieces."""
        code, text = self._pieces[e].one(value)
        return ReasonCode(
            code=code,
            feature=self._eligible[e],
            text=text,
            value=None if is_missing(value) else _plain(value),
            contribution=contribution,
        )

    def reason_codes(
        self, row_values: Mapping[str, Any], contribs: Mapping[str, Any] | pd.Series, k: int = 4
    ) -> list[ReasonCode]:
        """The ``k`` largest positive contributions of non-protected features, as reasons,
        for any row (validated or raw) and its contributions.

        Ties (to 1e-9) go to the feature listed first, so the same row gives the same codes
        alone or in any batch.
        """
        C = np.asarray([[float(contribs[f]) for f in self.features]], dtype=np.float64)

        def make(_: int, e: int, f: str, c: float) -> ReasonCode:
            spec, value, typical = self._specs[f], row_values.get(f), self.typical.get(f)
            return ReasonCode(
                code=reason_code_id(f, spec, value, typical),
                feature=f,
                text=_sentence(f, spec, value, typical, self.reasons_text),
                value=None if is_missing(value) else _plain(value),
                contribution=c,
            )

        return self._codes_for(C, k, make)[0]

    def reasons(self, row: Mapping[str, Any], k: int = 4) -> list[ReasonCode]:
        """Reason codes for one application (validated by the Scorer or raw)."""
        return self.reason_codes(row, self.explain_one(row), k)

    def reasons_for_values(self, values: Sequence[Any], k: int = 4) -> list[ReasonCode]:
        """Reason codes for one application given as values in schema order (what
        ``Scorer._values`` produces), the cheapest call for the decision path."""
        C, _ = self.engine.one(values)
        pos = self._value_pos
        return self._codes_for(
            C.reshape(1, -1),
            k,
            lambda _, e, f, c: self._code(e, values[pos[e]] if pos[e] >= 0 else None, c),
        )[0]

    def reasons_many(self, frame: pd.DataFrame, k: int = 4) -> list[list[ReasonCode]]:
        """Reason codes for every row of a frame (the same as :meth:`reasons` row by row)."""
        self._check(frame)
        C, _ = self.engine.frame(frame)
        table = _Values(frame, self)
        return self._codes_for(C, k, lambda i, e, f, c: self._code(e, table.value(i, e, f), c))

    def contributions_of(self, frame: pd.DataFrame, rows: np.ndarray | None = None) -> np.ndarray:
        """The contributions :meth:`reason_columns` needs: of the rows in ``rows``
        (positions; default all) of a raw frame. The numba part of reason codes, which
        releases the GIL: batch scoring computes the next chunk's while it turns this
        chunk's into text."""
        self._check(frame)
        n = len(frame)
        picked = np.arange(n) if rows is None else np.asarray(rows, dtype=np.intp)
        if not len(picked) or not self._eligible:
            return np.zeros((len(picked), len(self.features)))
        C, _ = self.engine.frame(frame if len(picked) == n else frame.iloc[picked])
        return C

    def reason_columns(
        self,
        frame: pd.DataFrame,
        rows: np.ndarray | None = None,
        k: int = 4,
        *,
        contributions: np.ndarray | None = None,
    ) -> dict[str, Any]:
        """Reason codes of a raw frame as columns, ``reason_{i}_code`` and ``_feature``
        (pandas Categoricals), ``_text`` (pandas strings, in Arrow) and ``_contribution``
        (float), for ``i`` in 1..k; only the rows in ``rows`` (positions; default all)
        are explained, the others and the unused slots are empty (missing / NaN). The
        same codes and texts as :meth:`reasons_for_values` on each row, without a Python
        loop per row.
        ``contributions``: :meth:`contributions_of` the same rows, if already computed."""
        self._check(frame)
        n = len(frame)
        picked = np.arange(n) if rows is None else np.asarray(rows, dtype=np.intp)
        columns: dict[str, Any] = {}
        feature_cats = list(self._eligible)
        if k <= 0:
            return columns
        m = len(picked)
        if m and self._eligible:
            sub = frame if m == n else frame.iloc[picked]
            C = self.engine.frame(sub)[0] if contributions is None else contributions
            if C.shape != (m, len(self.features)):
                raise ValueError(
                    f"contributions of shape {C.shape} for {m} rows and "
                    f"{len(self.features)} features"
                )
            order = self._top(C, k)
            values = _Values(sub, self)
        for slot in range(k):
            feat = np.full(n, -1, dtype=np.int64)
            contribution = np.full(n, np.nan)
            code_ids = np.full(n, -1, dtype=np.int64)
            code_cats: dict[str, int] = {}
            text_parts: list[tuple[np.ndarray, pa.Array]] = []
            if m and self._eligible and slot < order.shape[1]:
                e_all = order[:, slot]
                feat[picked] = e_all
                for e in np.unique(e_all[e_all >= 0]):
                    sel = np.flatnonzero(e_all == e)
                    target = picked[sel]
                    contribution[target] = C[sel, self._eligible_idx[e]]
                    codes, shown = values.pieces(int(e), sel)
                    code_ids[target] = _intern(codes, code_cats)
                    text_parts.append((target, shown))
            name = f"reason_{slot + 1}"
            columns[f"{name}_code"] = pd.Categorical.from_codes(code_ids, list(code_cats))
            columns[f"{name}_feature"] = pd.Categorical.from_codes(feat, feature_cats)
            columns[f"{name}_text"] = slot_column(n, text_parts)
            columns[f"{name}_contribution"] = contribution
        return columns


def _intern(strings: tuple[list[str], np.ndarray], table: dict[str, int]) -> np.ndarray:
    """Ids in ``table`` (extended as needed) of ``uniques[inverse]``."""
    uniques, inverse = strings
    ids = np.asarray([table.setdefault(s, len(table)) for s in uniques], dtype=np.int64)
    out: np.ndarray = ids[inverse]
    return out


class _Values:
    """The reason features' values of a raw frame, as the Scorer validates them: numbers
    as floats (non-numbers missing), categories as their schema level (other spellings
    mapped, unseen values kept as text)."""

    def __init__(self, frame: pd.DataFrame, ex: Explainer) -> None:
        self.frame = Frame(frame)
        self.ex = ex
        self._levels: dict[int, np.ndarray] = {}

    def _numbers(self, e: int) -> np.ndarray:
        f = self.ex._eligible[e]
        if f not in self.frame.frame.columns:
            return np.full(self.frame.n, np.nan)
        return self.frame.number(f, self.ex._specs[f].decimal)

    def levels(self, e: int) -> np.ndarray:
        """Row -> index in the feature's ``_Pieces.levels``."""
        if e not in self._levels:
            pieces = self.ex._pieces[e]
            f = self.ex._eligible[e]
            if f not in self.frame.frame.columns:
                self._levels[e] = np.full(self.frame.n, pieces.index[None], dtype=np.int64)
            else:
                idx, uniques = self.frame.factorized(f)
                table = np.asarray(
                    [pieces.level(u) for u in uniques] + [pieces.index[None]], dtype=np.int64
                )
                self._levels[e] = table[idx]
        return self._levels[e]

    def value(self, i: int, e: int, f: str) -> Any:
        pieces = self.ex._pieces[e]
        if pieces.numeric:
            x = float(self._numbers(e)[i])
            return None if x != x else x
        j = int(self.levels(e)[i])
        if j < 0:  # an unseen spelling beyond the cache
            return str(self.frame.frame[f].iloc[i])
        return pieces.levels[j]

    def pieces(self, e: int, rows: np.ndarray) -> tuple[tuple[list[str], np.ndarray], pa.Array]:
        """The codes of ``rows`` for feature ``e`` as (distinct codes, index per row), and
        their texts as an Arrow array (one per row)."""
        pieces = self.ex._pieces[e]
        if not pieces.numeric:
            lv = self.levels(e)[rows]
            if (lv < 0).any():  # beyond the cache: row by row
                pairs = [pieces.one(self.value(int(r), e, pieces.name)) for r in rows]
                codes = _distinct_ids([c for c, _ in pairs], np.arange(len(pairs)))
                return codes, pa.array([t for _, t in pairs], pa.large_string())
            uniq, inverse = np.unique(lv, return_inverse=True)
            chosen = uniq.tolist()
            shown = pa.array([pieces.level_texts[j] for j in chosen], pa.large_string())
            return ([pieces.level_codes[j] for j in chosen], inverse), pc.take(shown, inverse)
        return pieces.many_numbers(self._numbers(e)[rows])


def _distinct_ids(strings: list[str], inverse: np.ndarray) -> tuple[list[str], np.ndarray]:
    """``strings[inverse]`` with repeated strings merged (several values, one text)."""
    first: dict[str, int] = {}
    remap = np.asarray([first.setdefault(s, len(first)) for s in strings], dtype=np.int64)
    return list(first), remap[inverse]
