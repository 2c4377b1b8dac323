"""Explanation routes: contributions and reason codes, counterfactuals, fairness.

* ``POST /v1/explanations``: one application (the body of ``/v1/decisions``) -> its decision,
  every feature's contribution to the log-odds of bad and the reason codes;
* ``POST /v1/counterfactuals``: one application -> the cheapest changes to actionable
  features that would get it approved;
* ``POST /v1/fairness``: labelled applications with their protected attributes -> the
  fairness report at the policy threshold and the gate's verdict.

Applications are validated with the served model's generated request model, exactly as the
decision routes do, so errors name the field (422); a report that cannot be computed from
the data (one class only, a missing column) is a 422 that says why, never a 500. The heavy
work runs in the threadpool, off the event loop.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)

from creditscore.exceptions import CreditScoreError, ScoringInputError
from creditscore.explain.counterfactual import search_counterfactuals
from creditscore.explain.fairness import (
    GroupSpec,
    configured_gate,
    configured_groups,
    fairness_report,
)
from creditscore.explain.reasons import BASE_VALUE, Explainer
from creditscore.scorer import Scorer
from creditscore.serving.deps import ServingState, get_loaded_model, get_state, require_api_key
from creditscore.serving.loader import LoadedModel
from creditscore.serving.routes import ERRORS as DECISION_ERRORS
from creditscore.serving.routes import (
    JSON,
    error_doc,
    error_response,
    field_errors,
    json_response,
)
from creditscore.serving.schemas import ReasonOut, json_safe

router = APIRouter(tags=["explanations"])

MAX_FAIRNESS_ROWS = 100_000
MAX_ROW_ERRORS = 20

ERRORS: dict[int | str, dict[str, Any]] = {
    **DECISION_ERRORS,
    422: error_doc(
        "the request does not match the schema, or the data cannot be assessed; "
        "each problem names its field"
    ),
}
APPLICATION_BODY = {
    "requestBody": {
        "required": True,
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/Application"}}},
    }
}


# --------------------------------------------------------------------------- models
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
        max_length=10,
        description="protected attributes (default: the model's configuration)",
    )
    intersections: list[tuple[StrictStr, StrictStr]] = Field(default_factory=list, max_length=5)
    threshold: float | None = Field(default=None, ge=0, le=1, description="default: the policy's")
    n_boot: int | None = Field(default=None, ge=10, le=2000, description="default: 500")
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    min_group_size: int | None = Field(
        default=None, ge=1, le=100_000, description="smaller groups are not compared; default 20"
    )


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


# --------------------------------------------------------------------------- helpers
def explainer_for(scorer: Scorer) -> Explainer:
    """The Scorer's explainer (built with it); a Scorer whose explainer could not be built
    at load tries again here, so the error reaches the client's request."""
    return scorer.explainer or Explainer.from_bundle(scorer.bundle)


def _invalid(
    state: ServingState, details: list[dict[str, Any]], error: str = "invalid_request"
) -> Response:
    state.metrics.errors.labels("validation").inc()
    first = details[0]
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return error_response(422, error, f"{first['field']}: {first['message']}{more}", details)


def _application(
    state: ServingState, loaded: LoadedModel, body: bytes
) -> dict[str, Any] | Response:
    try:
        app = loaded.application_model.model_validate_json(body)
    except ValidationError as exc:
        details = field_errors(exc, private=loaded.private_fields)
        if details[0]["type"] == "json_invalid":
            state.metrics.errors.labels("invalid_json").inc()
            return error_response(400, "invalid_json", "the request body is not valid JSON")
        return _invalid(state, details)
    raw = app.__dict__
    values = {name: raw[attr] for attr, name in loaded.field_names}
    if raw.get("application_id") is not None:
        values["application_id"] = raw["application_id"]
    return values


def _scoring_error(state: ServingState, exc: ScoringInputError, prefix: str = "") -> Response:
    field = prefix + (exc.field or "body")
    return _invalid(state, [{"field": field, "message": str(exc), "type": "scoring_input"}])


def _reason(r: Any) -> dict[str, Any]:
    return {
        "code": r.code,
        "feature": r.feature,
        "text": r.text,
        "value": json_safe(r.value),
        "contribution": float(r.contribution),
    }


def _fairness_config(loaded: LoadedModel) -> dict[str, Any]:
    meta = loaded.bundle.metadata or {}
    cfg = meta.get("fairness") or {}
    return cfg if isinstance(cfg, dict) else {}


# --------------------------------------------------------------------------- routes
@router.post(
    "/v1/explanations",
    summary="Contributions and reason codes for one application",
    description="The decision, every feature's contribution to the model's log-odds of bad "
    "(positive: towards bad) and up to `k` reason codes (protected attributes are never "
    "reasons). The body is one application, as for POST /v1/decisions.",
    response_model=ExplanationOut,
    responses=ERRORS,
    openapi_extra=APPLICATION_BODY,
    dependencies=[Depends(require_api_key)],
)
async def explain(
    request: Request,
    loaded: Annotated[LoadedModel, Depends(get_loaded_model)],
    k: Annotated[int, Query(ge=0, le=50, description="how many reason codes")] = 4,
    lime: Annotated[
        bool,
        Query(
            description="also fit LIME's local linear surrogate of the PD (about 0.1-1 s; "
            "background drawn from the training profile)"
        ),
    ] = False,
) -> Response:
    state = get_state(request)
    values = _application(state, loaded, await request.body())
    if isinstance(values, Response):
        return values

    def work() -> dict[str, Any]:
        scorer = loaded.scorer
        decision = scorer.decide(values, explain=False)
        row = scorer.validate(values)
        surrogate = None
        if lime:
            from creditscore.explain.global_ import lime_explanation, profile_sample

            bundle = loaded.bundle
            surrogate = lime_explanation(bundle, row, profile_sample(bundle, 1000))
        ex = explainer_for(scorer)
        contribs = ex.explain_one(row)
        reasons = ex.reason_codes(values, contribs, k)
        base = contribs[BASE_VALUE]
        items = sorted(
            ((f, c) for f, c in contribs.items() if f != BASE_VALUE), key=lambda fc: -fc[1]
        )
        return {
            "probability_of_default": decision.probability_of_default,
            "score": decision.score,
            "risk_band": decision.risk_band,
            "decision": decision.decision,
            "method": ex.method,
            "base_value": base,
            "log_odds": base + math.fsum(c for _, c in items),
            "contributions": [
                {
                    "feature": f,
                    "value": json_safe(values.get(f)),
                    "contribution": c,
                    "protected": f in ex.sensitive,
                }
                for f, c in items
            ],
            "reasons": [_reason(r) for r in reasons],
            "lime": surrogate,
            "model_name": decision.model_name,
            "model_version": decision.model_version,
            "policy_version": decision.policy_version,
        }

    try:
        payload = await run_in_threadpool(work)
    except ScoringInputError as exc:
        return _scoring_error(state, exc)
    return json_response(json_safe(payload))


@router.post(
    "/v1/counterfactuals",
    summary="What would change the decision",
    description="For an application that is not approved: the cheapest changes to actionable "
    "features (never protected or immutable ones) that get it approved, each re-scored by "
    "the served model, with the resulting PD. The body is one application.",
    response_model=CounterfactualsOut,
    responses=ERRORS,
    openapi_extra=APPLICATION_BODY,
    dependencies=[Depends(require_api_key)],
)
async def what_if(
    request: Request,
    loaded: Annotated[LoadedModel, Depends(get_loaded_model)],
    max_options: Annotated[int, Query(ge=1, le=20)] = 5,
    max_changes: Annotated[int, Query(ge=1, le=2, description="features changed at once")] = 2,
) -> Response:
    state = get_state(request)
    values = _application(state, loaded, await request.body())
    if isinstance(values, Response):
        return values

    def work() -> dict[str, Any]:
        found = search_counterfactuals(
            loaded.scorer, values, max_changes=max_changes, max_options=max_options
        )
        return {
            "probability_of_default": found.probability_of_default,
            "decision": found.decision,
            "actionable": found.actionable,
            "options": [o.to_dict() for o in found.options],
            "why": found.why,
        }

    try:
        payload = await run_in_threadpool(work)
    except ScoringInputError as exc:
        return _scoring_error(state, exc)
    except CreditScoreError as exc:
        return _invalid(
            state,
            [{"field": "actionable", "message": str(exc), "type": "configuration"}],
            "invalid_configuration",
        )
    return json_response(json_safe(payload))


@router.post(
    "/v1/fairness",
    summary="Fairness report on labelled data",
    description="Approval rate, TPR, FPR, AUC and calibration per protected group at the "
    "policy threshold, the gaps between groups (demographic parity, equal opportunity, "
    "equalized odds, disparate impact against the four-fifths rule) with bootstrap "
    "confidence intervals, and the model's fairness gate. Rows carry the model inputs, the "
    "outcome and the protected columns.",
    response_model=FairnessOut,
    responses=ERRORS,
    dependencies=[Depends(require_api_key)],
)
async def fairness(
    request: Request,
    body: FairnessIn,
    loaded: Annotated[LoadedModel, Depends(get_loaded_model)],
) -> Response:
    state = get_state(request)
    scorer = loaded.scorer
    validated: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    for i, row in enumerate(body.rows):
        try:
            validated.append(scorer.validate(row))
        except ScoringInputError as exc:
            problems.append(
                {
                    "field": f"rows.{i}.{exc.field or 'body'}",
                    "message": str(exc),
                    "type": "scoring_input",
                }
            )
            if len(problems) >= MAX_ROW_ERRORS:
                break
    if problems:
        return _invalid(state, problems)
    config = _fairness_config(loaded)

    def work() -> dict[str, Any]:
        frame = pd.DataFrame(body.rows)
        p = scorer.probabilities(pd.DataFrame(validated, columns=loaded.bundle.schema.names))
        if body.groups is not None:
            groups = [
                GroupSpec(g.name, g.column, tuple(g.bands) if g.bands else None)
                for g in body.groups
            ]
        else:
            meta = loaded.bundle.metadata or {}
            groups = configured_groups(
                config,
                list(meta.get("sensitive", [])),
                frame,
                date_column=meta.get("date_column"),
                reference_date=str(meta.get("trained_at") or "")[:10] or None,
            )
        report = fairness_report(
            loaded.bundle,
            frame,
            groups=groups,
            intersections=[tuple(x) for x in body.intersections],  # type: ignore[misc]
            target=body.target,
            positive=body.positive,
            threshold=body.threshold,
            n_boot=body.n_boot or int(config.get("n_boot", 500)),
            seed=body.seed,
            confidence=body.confidence,
            min_group_size=body.min_group_size or int(config.get("min_group_size", 20)),
            probability_of_default=p,
        )
        out = report.to_dict()
        out["gate"] = configured_gate(report, config).to_dict()
        return out

    try:
        payload = await run_in_threadpool(work)
    except ScoringInputError as exc:
        return _scoring_error(state, exc, "rows.")
    except (CreditScoreError, ValueError) as exc:
        return _invalid(
            state, [{"field": "rows", "message": str(exc), "type": "data"}], "cannot_assess"
        )
    return json_response(json_safe(payload))
