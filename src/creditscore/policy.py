"""DecisionPolicy: turns a probability of default (PD) into points, a risk band and a decision.

Runtime core: the policy is applied here; it is *fitted* (the cost-optimal threshold) by
:mod:`creditscore.evaluation.threshold` at training time. The policy is a small frozen value
object saved in every model bundle. Its scalar methods
(:meth:`DecisionPolicy.points`, :meth:`~DecisionPolicy.band`, :meth:`~DecisionPolicy.decide`)
run once per request on the serving hot path, so they use only ``math`` and ``bisect`` on
constants precomputed at construction; the ``*_many`` methods are their numpy twins for
batches and return exactly the same values element by element.

Decisions: *decline* when ``pd >= threshold + refer_margin``, *approve* when
``pd < threshold - refer_margin``, *refer* in between (with no margin: approve below the
threshold, decline at or above it).

Points: ``offset + factor * ln((1 - pd) / pd)`` with ``factor = pdo / ln 2`` and
``offset = base_points - factor * ln(base_odds)``, so odds of ``base_odds``:1 (good:bad)
score ``base_points`` and every ``pdo`` points double the odds.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from creditscore.exceptions import ConfigError, DataError

if TYPE_CHECKING:
    from creditscore.config import CostConfig, PolicyConfig

__all__ = ["APPROVE", "DECISIONS", "DECLINE", "REFER", "DecisionPolicy", "bayes"]

APPROVE = "approve"
REFER = "refer"
DECLINE = "decline"
#: Decision labels indexed by code (0 approve, 1 refer, 2 decline).
DECISIONS = (APPROVE, REFER, DECLINE)

#: PDs are clipped to [PD_EPS, 1 - PD_EPS] before taking log-odds, so 0 and 1 score finitely.
PD_EPS = 1e-9
_PD_MAX = 1.0 - PD_EPS

_FIELDS = (
    "threshold",
    "refer_margin",
    "bands",
    "base_points",
    "base_odds",
    "pdo",
    "cost_fn",
    "cost_fp",
)


def bayes(cost_fn: float, cost_fp: float) -> float:
    """The cost-optimal cut for a perfectly calibrated PD: ``c_fp / (c_fp + c_fn)``."""
    return cost_fp / (cost_fp + cost_fn)


def _as_bands(raw: Any) -> tuple[tuple[str, float], ...]:
    """Accept ``[(name, max_pd), ...]`` or ``[{"name": ..., "max_pd": ...}, ...]``."""
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        raise ConfigError(f"bands must be a list of (name, max_pd) pairs, got {raw!r}")
    out: list[tuple[str, float]] = []
    for item in raw:
        if isinstance(item, Mapping):
            name, max_pd = item.get("name"), item.get("max_pd")
        elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
            name, max_pd = item
        else:
            raise ConfigError(f"each band must be (name, max_pd), got {item!r}")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"band name must be a non-empty string, got {name!r}")
        try:
            out.append((name, float(max_pd)))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ConfigError(f"band {name!r}: max_pd must be a number, got {max_pd!r}") from None
    return tuple(out)


def _check_many(p: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(p, dtype=np.float64)
    outside = ~((arr >= 0.0) & (arr <= 1.0))
    if outside.any():
        flat = arr.ravel()
        pos = int(np.flatnonzero(outside.ravel())[0])
        raise DataError(
            f"PD must lie in [0, 1]; {int(outside.sum())} value(s) outside, "
            f"e.g. {flat[pos]!r} (position {pos})"
        )
    return arr


def _bad_pd(pd: float) -> DataError:
    return DataError(f"PD must be a number in [0, 1], got {pd!r}")


@dataclass(frozen=True)
class DecisionPolicy:
    """Cost-based threshold, refer band, risk bands and score scaling, as one versioned value.

    ``bands`` holds ``(name, max_pd)`` pairs with strictly increasing ``max_pd`` ending at
    1.0; a PD belongs to the first band whose ``max_pd`` it does not exceed.
    """

    threshold: float
    refer_margin: float
    bands: tuple[tuple[str, float], ...]
    base_points: float
    base_odds: float
    pdo: float
    cost_fn: float
    cost_fp: float

    # derived in __post_init__: constants of the hot path
    _factor: float = field(init=False, repr=False, compare=False)
    _offset: float = field(init=False, repr=False, compare=False)
    _lo: float = field(init=False, repr=False, compare=False)
    _hi: float = field(init=False, repr=False, compare=False)
    _cuts: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _names_arr: NDArray[np.object_] = field(init=False, repr=False, compare=False)
    _decisions_arr: NDArray[np.object_] = field(init=False, repr=False, compare=False)
    _version: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in _FIELDS:
            if name != "bands":
                set_(self, name, self._number(name))
        set_(self, "bands", _as_bands(self.bands))
        self._validate()

        factor = self.pdo / math.log(2.0)
        set_(self, "_factor", factor)
        set_(self, "_offset", self.base_points - factor * math.log(self.base_odds))
        # threshold -/+ margin rounded to 12 decimals, so that 0.2 - 0.05 is the 0.15 a
        # reader expects, not 0.15000000000000002; with no margin both are the threshold
        t, m = self.threshold, self.refer_margin
        set_(self, "_lo", round(t - m, 12) if m else t)
        set_(self, "_hi", round(t + m, 12) if m else t)
        set_(self, "_cuts", tuple(m for _, m in self.bands))
        set_(self, "_names", tuple(n for n, _ in self.bands))
        set_(self, "_names_arr", np.array(self._names, dtype=object))
        set_(self, "_decisions_arr", np.array(DECISIONS, dtype=object))
        payload = json.dumps(self._params(), sort_keys=True, separators=(",", ":"))
        set_(self, "_version", hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12])

    def _number(self, name: str) -> float:
        value = getattr(self, name)
        if isinstance(value, bool):
            raise ConfigError(f"policy {name} must be a number, got {value!r}")
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"policy {name} must be a number, got {value!r}") from None
        if not math.isfinite(out):
            raise ConfigError(f"policy {name} must be finite, got {value!r}")
        return out

    def _validate(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"policy threshold must lie in [0, 1], got {self.threshold}")
        if not 0.0 <= self.refer_margin < 0.5:
            raise ConfigError(f"policy refer_margin must lie in [0, 0.5), got {self.refer_margin}")
        for name in ("base_odds", "pdo", "cost_fn", "cost_fp"):
            if getattr(self, name) <= 0.0:
                raise ConfigError(f"policy {name} must be positive, got {getattr(self, name)}")
        if not self.bands:
            raise ConfigError("policy needs at least one risk band")
        cuts = [m for _, m in self.bands]
        names = [n for n, _ in self.bands]
        if any(b <= a for a, b in pairwise(cuts)) or cuts[0] <= 0.0:
            raise ConfigError(
                f"risk band max_pd must be positive and strictly increase, got {cuts}"
            )
        if cuts[-1] != 1.0:
            raise ConfigError(f"the last risk band must end at max_pd 1.0, got {cuts[-1]}")
        if len(set(names)) != len(names):
            raise ConfigError(f"risk band names must be unique, got {names}")

    # ------------------------------------------------------------------ construction
    @staticmethod
    def bayes_threshold(costs: CostConfig) -> float:
        """The cost-optimal cut for a perfectly calibrated PD: ``c_fp / (c_fp + c_fn)``."""
        return bayes(costs.false_negative, costs.false_positive)

    @classmethod
    def from_config(
        cls, threshold: float, policy: PolicyConfig, costs: CostConfig
    ) -> DecisionPolicy:
        """A policy with the given threshold and everything else from the project config."""
        return cls(
            threshold=threshold,
            refer_margin=policy.refer_margin,
            bands=tuple((b.name, b.max_pd) for b in policy.risk_bands),
            base_points=policy.scaling.base_points,
            base_odds=policy.scaling.base_odds,
            pdo=policy.scaling.pdo,
            cost_fn=costs.false_negative,
            cost_fp=costs.false_positive,
        )

    # ------------------------------------------------------------------ identity / I/O
    @property
    def version(self) -> str:
        """12 hex digits of a SHA-256 over the parameters: equal iff the parameters are."""
        return self._version

    def _params(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "refer_margin": self.refer_margin,
            "bands": [{"name": n, "max_pd": m} for n, m in self.bands],
            "base_points": self.base_points,
            "base_odds": self.base_odds,
            "pdo": self.pdo,
            "cost_fn": self.cost_fn,
            "cost_fp": self.cost_fp,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe parameters plus ``version``; ``from_dict`` restores an equal policy."""
        return {**self._params(), "version": self.version}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DecisionPolicy:
        """Inverse of :meth:`to_dict`. A stored ``version`` must match the parameters."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"policy must be a mapping, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_FIELDS) - {"version"})
        if unknown:
            raise ConfigError(f"unknown policy key(s) {unknown}; expected {list(_FIELDS)}")
        missing = [k for k in _FIELDS if k not in data]
        if missing:
            raise ConfigError(f"policy is missing key(s) {missing}")
        out = cls(**{k: data[k] for k in _FIELDS})
        stored = data.get("version")
        if stored is not None and stored != out.version:
            raise ConfigError(
                f"policy version {stored!r} does not match its parameters ({out.version!r}); "
                "was it edited by hand?"
            )
        return out

    # ------------------------------------------------------------------ scalar hot path
    def points(self, pd: float) -> int:
        """Score points of one PD (higher = safer), rounded half to even."""
        if not 0.0 <= pd <= 1.0:
            raise _bad_pd(pd)
        # conditionals, not min/max: this is the hot path and builtins calls cost ~2x here
        q = PD_EPS if pd < PD_EPS else (_PD_MAX if pd > _PD_MAX else pd)
        return round(self._offset + self._factor * math.log((1.0 - q) / q))

    def band(self, pd: float) -> str:
        """Name of the first risk band whose ``max_pd`` is at least ``pd``."""
        if not 0.0 <= pd <= 1.0:
            raise _bad_pd(pd)
        return self._names[bisect.bisect_left(self._cuts, pd)]

    def decide(self, pd: float) -> str:
        """``"approve"``, ``"refer"`` or ``"decline"`` for one PD."""
        if not 0.0 <= pd <= 1.0:
            raise _bad_pd(pd)
        if pd >= self._hi:
            return DECLINE
        if pd < self._lo:
            return APPROVE
        return REFER

    # ------------------------------------------------------------------ batches
    def points_many(self, p: ArrayLike) -> NDArray[np.int64]:
        """:meth:`points` of every PD in ``p`` (any shape), as int64."""
        q = np.clip(_check_many(p), PD_EPS, _PD_MAX)
        raw = self._offset + self._factor * np.log((1.0 - q) / q)
        out = np.rint(raw).astype(np.int64)
        # numpy's log may differ from libm's by an ulp; where that could flip the rounding
        # (a score within 1e-9 of a half point) use the scalar path, so both agree exactly
        near_half = np.abs(np.abs(raw - np.floor(raw)) - 0.5) < 1e-9
        for i in np.flatnonzero(near_half.ravel()):
            out.flat[i] = self.points(float(q.flat[i]))
        return out

    def band_many(self, p: ArrayLike) -> NDArray[np.object_]:
        """:meth:`band` of every PD in ``p``, as an object array of names."""
        return self._names_arr[self.band_codes(p)]

    def decide_many(self, p: ArrayLike) -> NDArray[np.object_]:
        """:meth:`decide` of every PD in ``p``, as an object array of decisions."""
        return self._decisions_arr[self.decision_codes(p)]

    def band_codes(self, p: ArrayLike) -> NDArray[np.intp]:
        """Each PD's risk band as its position in ``bands`` (``band_many`` without building
        a string per row: batch output makes dictionary-encoded columns of them)."""
        return np.searchsorted(self._cuts, _check_many(p), side="left")

    def decision_codes(self, p: ArrayLike) -> NDArray[np.intp]:
        """Each PD's decision as its position in :data:`DECISIONS` (0 approve, 1 refer,
        2 decline)."""
        arr = _check_many(p)
        return (arr >= self._lo).astype(np.intp) + (arr >= self._hi)

    # ------------------------------------------------------------------ display
    def summary(self) -> dict[str, Any]:
        """Everything an underwriter or validator needs to read the policy at a glance."""
        bands = []
        lower = 0.0
        for name, max_pd in self.bands:
            bands.append(
                {
                    "name": name,
                    "pd_from": lower,
                    "pd_to": max_pd,
                    "min_points": self.points(max_pd),
                }
            )
            lower = max_pd
        return {
            "version": self.version,
            "threshold": self.threshold,
            "threshold_points": self.points(self.threshold),
            "refer_margin": self.refer_margin,
            "approve_below_pd": max(self._lo, 0.0),
            "decline_from_pd": min(self._hi, 1.0),
            "refer_band": (max(self._lo, 0.0), min(self._hi, 1.0)) if self.refer_margin else None,
            "bands": bands,
            "scaling": {
                "base_points": self.base_points,
                "base_odds": self.base_odds,
                "pdo": self.pdo,
                "factor": self._factor,
                "offset": self._offset,
            },
            "bayes_threshold": bayes(self.cost_fn, self.cost_fp),
            "costs": {"false_negative": self.cost_fn, "false_positive": self.cost_fp},
        }
