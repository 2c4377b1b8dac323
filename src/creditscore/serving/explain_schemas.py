"""Request and response models of the explanation routes (``explain_routes``): contributions
and LIME, counterfactuals, and the fairness report with its gate."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)

from creditscore.serving.schemas import ReasonOut

#: Most labelled rows one fairness request may carry.
MAX_FAIRNESS_ROWS = 100_000


class ContributionOut(BaseModel):
    feature: str
    value: Any = None
    contribution: float = Field(description="to the model's log-odds of bad; > 0 raises the PD")
    protected: bool = Field(description="a protected attribute: never a reason")


class LimeWeightOut(BaseModel):
    feature: str
    condition: str = Field(description="the condition LIME states, e.g. 'Loan duration > 24'")
    weight: float = Field(description="the surrogate's weight on the PD")


class LimeOut(BaseModel):
    method: str
    probability_of_default: float = Field(description="the model's PD (calibrated)")
    local_probability_of_default: float = Field(description="the surrogate's PD")
    intercept: float
    r2: float = Field(description="how well the linear surrogate fits near the applicant")
    weights: list[LimeWeightOut]


class ExplanationOut(BaseModel):
    probability_of_default: float
    score: int
    risk_band: str
    decision: str
    method: str = Field(description="how contributions were computed (see the docs)")
    base_value: float = Field(description="log-odds of bad of the reference applicant")
    log_odds: float = Field(description="base_value + all contributions (uncalibrated model)")
    contributions: list[ContributionOut] = Field(description="every feature, largest first")
    reasons: list[ReasonOut]
    lime: LimeOut | None = Field(default=None, description="with ?lime=true only")
    model_name: str
    model_version: str
    policy_version: str


class ChangeOut(BaseModel):
    feature: str
    current: Any = None
    proposed: Any = None


class OptionOut(BaseModel):
    changes: list[ChangeOut]
    probability_of_default: float
    decision: str
    score: int
    cost: float = Field(
        description="normalised size of the change (percentile shift; 0.5 per category)"
    )


class CounterfactualsOut(BaseModel):
    probability_of_default: float
    decision: str
    actionable: list[str]
    options: list[OptionOut] = Field(
        description="cheapest first; empty if already approved or none found"
    )
    why: str | None = Field(
        default=None, description="when there are no options, why (always given then)"
    )


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    column: str = Field(min_length=1, max_length=256)
    bands: list[StrictFloat | StrictInt] | None = Field(
        default=None, min_length=1, max_length=20, description="band edges of a number, increasing"
    )

    @field_validator("bands")
    @classmethod
    def _increasing(cls, v: list[float] | None) -> list[float] | None:
        if v is not None:
            if not all(math.isfinite(x) for x in v):
                raise ValueError("band edges must be finite numbers")
            if any(b <= a for a, b in pairwise(v)):
                raise ValueError("band edges must strictly increase")
        return v


class FairnessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[dict[str, Any]] = Field(
        min_length=2,
        max_length=MAX_FAIRNESS_ROWS,
        description="labelled applications: model inputs, outcome and protected columns",
    )
    target: StrictStr | None = Field(
        default=None, description="outcome column (default: the model's)"
    )
    positive: StrictStr | StrictInt | StrictFloat | StrictBool | None = Field(
        default=None, description="the outcome value that marks a bad (default: the model's)"
    )
    groups: list[GroupIn] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description="protected attributes, each a column of the rows (default: the model's "
        "configuration); names must be unique",
    )
    intersections: list[tuple[StrictStr, StrictStr]] = Field(
        default_factory=list,
        max_length=5,
        description="pairs of group names also assessed together",
    )
    threshold: float | None = Field(default=None, ge=0, le=1, description="default: the policy's")
    n_boot: int | None = Field(default=None, ge=10, le=2000, description="default: 500")
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    min_group_size: int | None = Field(
        default=None, ge=1, le=100_000, description="smaller groups are not compared; default 20"
    )

    @field_validator("groups")
    @classmethod
    def _unique_names(cls, v: list[GroupIn] | None) -> list[GroupIn] | None:
        names = [g.name for g in v or ()]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"group names must be unique; {', '.join(map(repr, twice))} twice")
        return v


class GroupStatsOut(BaseModel):
    group: str
    n: int
    n_bad: int
    approval_rate: float | None
    approval_rate_ci: list[float | None]
    tpr: float | None
    tpr_ci: list[float | None]
    fpr: float | None
    fpr_ci: list[float | None]
    auc: float | None
    auc_ci: list[float | None]
    mean_pd: float | None
    bad_rate: float | None
    small: bool


class DisparityOut(BaseModel):
    value: float | None
    ci: list[float | None]
    groups: list[str]
    description: str


class AttributeOut(BaseModel):
    name: str
    column: str
    note: str
    groups: list[GroupStatsOut]
    metrics: dict[str, DisparityOut]


class GateOut(BaseModel):
    passed: bool
    mode: str
    violations: int
    reasons: list[str]
    notes: list[str]


class FairnessOut(BaseModel):
    threshold: float
    n: int
    n_boot: int
    confidence: float
    min_group_size: int
    model: dict[str, Any]
    attributes: list[AttributeOut]
    gate: GateOut
