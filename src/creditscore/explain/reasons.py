"""Reason codes: which of an applicant's characteristics pushed the model towards "bad".

:class:`Explainer` computes per-applicant contributions to the uncalibrated model's log-odds
of bad for every candidate type (see :mod:`creditscore.explain.engines` for the method per
model and which ones sum exactly), and turns the largest positive ones into
:class:`ReasonCode` values: a stable code, a sentence for the applicant, their value and the
contribution. A protected attribute (the bundle's ``sensitive`` list) is never a reason,
even when it was explicitly allowed as a model input.

Typical use (what the Scorer does for declines and referrals)::

    explainer = Explainer.from_bundle(bundle)          # once, at load time
    reasons = explainer.reasons(validated_row, k=4)    # per application, ~1 ms
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from creditscore.data.profile import FeatureProfile, Profile
from creditscore.data.schema import FieldSpec, InputSchema
from creditscore.exceptions import ScoringInputError
from creditscore.explain.engines import (
    Engine,
    build_engine,
    columns_of,
    columns_of_row,
    is_missing,
)

__all__ = [
    "BASE_VALUE",
    "Explainer",
    "ReasonCode",
    "feature_label",
    "level_shares",
    "reason_code_id",
    "typical_values",
]

#: Column of :meth:`Explainer.contributions` holding the base (average) log-odds.
BASE_VALUE = "base_value"
#: Contributions at or below this are not reasons (numerical noise, not a push to bad).
MIN_CONTRIBUTION = 1e-9
_RANK_DECIMALS = 9


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


def _format_number(x: float, integer: bool) -> str:
    if integer or float(x).is_integer():
        return f"{round(x):,}".replace(",", " ") if abs(x) >= 10_000 else str(round(x))
    return f"{x:.4g}"


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
        shown = str(value) if x is None else _format_number(x, spec.integer)
        compare = ""
        if x is not None and t is not None and x != t:
            word = "above" if x > t else "below"
            compare = f" ({word} the typical {_format_number(t, spec.integer)})"
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


# ------------------------------------------------------------------------------ explainer
class Explainer:
    """Contributions and reason codes for one bundle. Immutable and thread-safe once built."""

    def __init__(
        self,
        engine: Engine,
        schema: InputSchema,
        *,
        sensitive: Sequence[str] = (),
        reasons: Mapping[str, str] | None = None,
        typical: Mapping[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.schema = schema
        self.features = list(schema.names)
        if BASE_VALUE in self.features:
            raise ValueError(f"a feature may not be called {BASE_VALUE!r}")
        self.sensitive = frozenset(sensitive)
        self.reasons_text = dict(reasons or {})
        self.typical = dict(typical or {})
        self._specs = {f.name: f for f in schema.fields}
        # candidates for reasons, in schema order (the tie-break)
        self._eligible = [(i, f) for i, f in enumerate(self.features) if f not in self.sensitive]

    @classmethod
    def from_bundle(
        cls, bundle: Any, *, method: str = "auto", n_permutations: int = 10, seed: int = 0
    ) -> Explainer:
        """Build once per loaded bundle (milliseconds, a second for the permutation engine)."""
        schema: InputSchema = bundle.schema
        profile: Profile | None = getattr(bundle, "profile", None)
        typical = typical_values(schema, profile)
        engine = build_engine(
            bundle.model,
            schema.names,
            schema,
            typical,
            level_shares(profile),
            method=method,
            n_permutations=n_permutations,
            seed=seed,
        )
        metadata = getattr(bundle, "metadata", {}) or {}
        return cls(
            engine,
            schema,
            sensitive=list(metadata.get("sensitive", [])),
            reasons=getattr(bundle, "reasons", {}) or {},
            typical=typical,
        )

    @property
    def method(self) -> str:
        return self.engine.method

    # ------------------------------------------------------------------ numbers
    def _columns(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise ScoringInputError(f"input lacks columns {missing}", field=missing[0])
        return columns_of(frame, self.features)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows x features contributions to the log-odds of bad, plus ``base_value``.

        Each row sums (with ``base_value``) to :meth:`log_odds` of that row.
        """
        C, base = self.engine.contributions(self._columns(frame), len(frame))
        out = pd.DataFrame(C, columns=self.features, index=frame.index)
        out[BASE_VALUE] = base
        return out

    def explain_one(self, row: Mapping[str, Any]) -> dict[str, float]:
        """One application's contributions, without pandas (the serving path)."""
        C, base = self.engine.contributions(columns_of_row(row, self.features), 1)
        out = dict(zip(self.features, C[0].tolist(), strict=True))
        out[BASE_VALUE] = float(base[0])
        return out

    def log_odds(self, frame: pd.DataFrame) -> np.ndarray:
        """The uncalibrated model's log-odds of bad (what contributions add up to)."""
        return self.engine.log_odds(self._columns(frame), len(frame))

    def proba(self, frame: pd.DataFrame) -> np.ndarray:
        """The uncalibrated model's PD."""
        return self.engine.proba(self._columns(frame), len(frame))

    # ------------------------------------------------------------------ reasons
    def reason_codes(
        self, row_values: Mapping[str, Any], contribs: Mapping[str, Any] | pd.Series, k: int = 4
    ) -> list[ReasonCode]:
        """The ``k`` largest positive contributions of non-protected features, as reasons.

        Ties (to 1e-9) go to the feature listed first in the schema, so the same row gives
        the same codes alone or in any batch.
        """
        if k <= 0:
            return []
        ranked: list[tuple[float, int, str, float]] = []
        for i, f in self._eligible:
            c = float(contribs[f])
            if c > MIN_CONTRIBUTION:
                ranked.append((-round(c, _RANK_DECIMALS), i, f, c))
        ranked.sort()
        out = []
        for _, _, f, c in ranked[:k]:
            spec = self._specs[f]
            value = row_values.get(f)
            typical = self.typical.get(f)
            out.append(
                ReasonCode(
                    code=reason_code_id(f, spec, value, typical),
                    feature=f,
                    text=_sentence(f, spec, value, typical, self.reasons_text),
                    value=None if is_missing(value) else _plain(value),
                    contribution=c,
                )
            )
        return out

    def reasons(self, row: Mapping[str, Any], k: int = 4) -> list[ReasonCode]:
        """Reason codes for one application (validated by the Scorer or raw)."""
        return self.reason_codes(row, self.explain_one(row), k)

    def reasons_for_values(self, values: Sequence[Any], k: int = 4) -> list[ReasonCode]:
        """Reason codes for one application given as values in schema order (what
        ``Scorer._values`` produces), the cheapest call for the decision path."""
        row = dict(zip(self.features, values, strict=True))
        return self.reason_codes(row, self.explain_one(row), k)

    def reasons_many(self, frame: pd.DataFrame, k: int = 4) -> list[list[ReasonCode]]:
        contribs = self.contributions(frame)
        records = frame[self.features].to_dict("records")
        return [
            self.reason_codes(row, c, k)
            for row, c in zip(records, contribs.to_dict("records"), strict=True)
        ]


def _plain(value: Any) -> Any:
    """JSON-friendly scalar (numpy types to Python)."""
    if isinstance(value, np.generic):
        return value.item()
    return value
