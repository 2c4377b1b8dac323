"""Scorer: from a bundle, one application or a frame of them -> Decisions.

Probabilities are exactly the bundle pipeline's; the policy turns each into score points, a
risk band and approve / refer / decline. Applications are checked against the bundle's
input schema first, so a client's mistake is a ``ScoringInputError`` naming the field.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from creditscore.bundle import ModelBundle
from creditscore.data.schema import FieldSpec
from creditscore.exceptions import ScoringInputError


@dataclass(frozen=True)
class ReasonCode:
    code: str
    feature: str
    text: str
    value: Any
    contribution: float


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _canonical(value: str) -> str:
    return " ".join(value.split()).casefold()


class Scorer:
    """Scores applications with a loaded bundle. Thread-safe: it holds no mutable state."""

    def __init__(self, bundle: ModelBundle, model_version: str = "local") -> None:
        self.bundle = bundle
        self.model_version = str(model_version)
        self.policy = bundle.policy
        self._fields = bundle.schema.fields
        self._names = bundle.schema.names
        self._levels = {
            f.name: {_canonical(c): c for c in (f.categories or [])}
            for f in self._fields
            if f.kind == "categorical"
        }

    # ------------------------------------------------------------------ validation
    def _check_value(self, spec: FieldSpec, value: Any) -> Any:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None if spec.kind == "categorical" else math.nan
        if spec.kind == "numeric":
            if isinstance(value, bool) or not isinstance(value, int | float | np.number | str):
                raise ScoringInputError(
                    f"field {spec.name!r}: expected a number, got {value!r}", field=spec.name
                )
            try:
                number = float(value)
            except ValueError:
                raise ScoringInputError(
                    f"field {spec.name!r}: expected a number, got {value!r}", field=spec.name
                ) from None
            if math.isinf(number):
                raise ScoringInputError(
                    f"field {spec.name!r}: expected a finite number, got {value!r}", field=spec.name
                )
            return number
        text = str(value)
        levels = self._levels[spec.name]
        if _canonical(text) not in levels:
            shown = sorted(levels.values())
            raise ScoringInputError(
                f"field {spec.name!r}: unknown category {text!r}; expected one of {shown[:20]}",
                field=spec.name,
            )
        return levels[_canonical(text)]

    def validate(self, application: Mapping[str, Any]) -> dict[str, Any]:
        """The application's model inputs, checked and normalised; raises on any problem."""
        row: dict[str, Any] = {}
        for spec in self._fields:
            if spec.name not in application:
                raise ScoringInputError(f"field {spec.name!r} is missing", field=spec.name)
            row[spec.name] = self._check_value(spec, application[spec.name])
        return row

    # ------------------------------------------------------------------ scoring
    def probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        return self.bundle.predict_proba(frame)

    def _decision(self, p: float, application_id: Any = None) -> Decision:
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
            application_id=None if application_id is None else str(application_id),
        )

    def decide(self, application: Mapping[str, Any]) -> Decision:
        row = self.validate(application)
        p = float(self.probabilities(pd.DataFrame([row], columns=self._names))[0])
        return self._decision(p, application.get("application_id"))

    def decide_many(self, applications: Sequence[Mapping[str, Any]]) -> list[Decision]:
        rows = [self.validate(a) for a in applications]
        proba = self.probabilities(pd.DataFrame(rows, columns=self._names))
        return [
            self._decision(float(p), a.get("application_id"))
            for p, a in zip(proba, applications, strict=True)
        ]

    def score_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Batch form: the input frame's id-free result columns, vectorised."""
        missing = [c for c in self._names if c not in frame.columns]
        if missing:
            raise ScoringInputError(f"input lacks columns {missing}", field=missing[0])
        p = self.probabilities(frame)
        policy = self.policy
        return pd.DataFrame(
            {
                "probability_of_default": p,
                "score": policy.points_many(p),
                "risk_band": policy.band_many(p),
                "decision": policy.decide_many(p),
            },
            index=frame.index,
        )
