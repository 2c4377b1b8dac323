"""Explanation routes: contributions and reason codes, counterfactuals, fairness.

* ``POST /v1/explanations``: one application (the body of ``/v1/decisions``) -> its decision,
  every feature's contribution to the log-odds of bad and the reason codes;
* ``POST /v1/counterfactuals``: one application -> the cheapest changes to actionable
  features that would get it approved;
* ``POST /v1/fairness``: labelled applications with their protected attributes -> the
  fairness report at the policy threshold and the gate's verdict.

Applications are validated with the served model's generated request model, exactly as the
decision routes do, so errors name the field (422); a report that cannot be computed from
the data (a group naming a column the rows lack, an intersection of unknown groups) is a
422 that says why, never a 500. The heavy work runs in the threadpool, off the event loop.

The offline machinery (fairness statistics with fairlearn, LIME, the counterfactual
search) is imported inside the handlers, on the first request that needs it, so the
service itself starts with the runtime core only.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from creditscore.exceptions import CreditScoreError, ScoringInputError
from creditscore.formatting import jsonable
from creditscore.reasons import BASE_VALUE, Explainer
from creditscore.scorer import Scorer
from creditscore.serving.decision_routes import (
    application_values,
    request_body,
    scoring_problem,
)
from creditscore.serving.deps import ClientDep
from creditscore.serving.explain_schemas import (
    CounterfactualsOut,
    ExplanationOut,
    FairnessIn,
    FairnessOut,
)
from creditscore.serving.loader import LoadedModel
from creditscore.serving.metrics import ServiceMetrics
from creditscore.serving.responses import (
    BODY_ERRORS,
    CLIENT_ERRORS,
    error_responses,
    invalid,
    json_response,
    problem,
    validation_failure,
)

router = APIRouter(tags=["explanations"])

MAX_ROW_ERRORS = 20

ERRORS = error_responses(*BODY_ERRORS, *CLIENT_ERRORS)
FAIRNESS_ERRORS = error_responses(
    *BODY_ERRORS,
    *CLIENT_ERRORS,
    texts={
        422: "the request does not match the schema, or the rows cannot be assessed as asked "
        "(a group names a column the rows lack or bands a column that is not a number, an "
        "intersection names an unknown group, the outcome column is missing): each problem "
        "names its field and value"
    },
)
APPLICATION_BODY = request_body("Application")


# --------------------------------------------------------------------------- helpers
def explainer_for(scorer: Scorer) -> Explainer:
    """The Scorer's explainer (built with it); a Scorer whose explainer could not be built
    at load tries again here, so the error reaches the client's request."""
    return scorer.explainer or Explainer.from_bundle(scorer.bundle)


def _application(
    metrics: ServiceMetrics, loaded: LoadedModel, body: bytes
) -> dict[str, Any] | Response:
    try:
        application = loaded.application_model.model_validate_json(body)
    except ValidationError as exc:
        return validation_failure(metrics, exc, loaded.private_fields)
    return application_values(loaded, application)


def _reason(r: Any) -> dict[str, Any]:
    return {
        "code": r.code,
        "feature": r.feature,
        "text": r.text,
        "value": jsonable(r.value),
        "contribution": float(r.contribution),
    }


def assessment_problems(
    frame: pd.DataFrame,
    groups: list[Any],
    intersections: list[tuple[str, str]],
    target: str | None,
    configured: bool,
) -> list[dict[str, Any]]:
    """What the rows cannot give that the request asks for, each naming its field (for the
    model's configured groups, ``rows``): a group on a column no row has, bands on a column
    that is not numbers, an intersection of groups that are not assessed, an outcome column
    no row has. (Values of protected columns are never quoted.)"""
    columns = [str(c) for c in frame.columns]
    have = ", ".join(repr(c) for c in columns[:12]) + (", ..." if len(columns) > 12 else "")
    out = []
    for i, g in enumerate(groups):
        absent = [c for c in g.source_columns if c not in frame.columns]
        if absent:
            out.append(
                problem(
                    "rows" if configured else f"groups.{i}.column",
                    f"no row has column {absent[0]!r} (group {g.name!r}); the rows have {have}",
                    "unknown_column",
                )
            )
        elif g.bands and not g.birth:  # a date of birth is banded by the age it gives
            values = frame[g.column]
            numbers = pd.to_numeric(values, errors="coerce")
            bad = int((numbers.isna() & values.notna()).sum())
            if bad:
                out.append(
                    problem(
                        "rows" if configured else f"groups.{i}.bands",
                        f"column {g.column!r} has {bad} values that are not numbers; only a "
                        "numeric column can be banded",
                        "not_numeric",
                    )
                )
    names = [g.name for g in groups]
    for i, pair in enumerate(intersections):
        unknown = [part for part in pair if part not in names]
        if unknown:
            out.append(
                problem(
                    f"intersections.{i}",
                    f"names no assessed group: {', '.join(map(repr, unknown))}; the groups "
                    f"are {', '.join(map(repr, names))}",
                    "unknown_group",
                )
            )
    if target is not None and target not in frame.columns:
        out.append(problem("target", f"no row has the outcome column {target!r}", "unknown_column"))
    return out


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
)
async def explain(
    request: Request,
    admitted: ClientDep,
    k: Annotated[int, Query(ge=0, le=50, description="how many reason codes")] = 4,
    lime: Annotated[
        bool,
        Query(
            description="also fit LIME's local linear surrogate of the PD (about 0.1-1 s; "
            "background drawn from the training profile)"
        ),
    ] = False,
) -> Response:
    metrics, loaded = admitted.state.metrics, admitted.model
    values = _application(metrics, loaded, await request.body())
    if isinstance(values, Response):
        return values

    def work() -> dict[str, Any]:
        scorer = loaded.scorer
        decision = scorer.decide(values, explain=False)
        row = scorer.validate(values)
        surrogate = None
        if lime:  # LIME and its background sample: offline machinery, loaded on first use
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
                    "value": jsonable(values.get(f)),
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
        return invalid(metrics, [scoring_problem(exc)])
    return json_response(jsonable(payload))


@router.post(
    "/v1/counterfactuals",
    summary="What would change the decision",
    description="For an application that is not approved: the cheapest changes to actionable "
    "features (never protected or immutable ones) that get it approved, each re-scored by "
    "the served model, with the resulting PD. The body is one application.",
    response_model=CounterfactualsOut,
    responses=ERRORS,
    openapi_extra=APPLICATION_BODY,
)
async def what_if(
    request: Request,
    admitted: ClientDep,
    max_options: Annotated[int, Query(ge=1, le=20)] = 5,
    max_changes: Annotated[int, Query(ge=1, le=2, description="features changed at once")] = 2,
) -> Response:
    metrics, loaded = admitted.state.metrics, admitted.model
    values = _application(metrics, loaded, await request.body())
    if isinstance(values, Response):
        return values

    def work() -> dict[str, Any]:
        from creditscore.explain.counterfactual import search_counterfactuals

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
        return invalid(metrics, [scoring_problem(exc)])
    except CreditScoreError as exc:
        return invalid(
            metrics,
            [problem("actionable", str(exc), "configuration")],
            "invalid_configuration",
        )
    return json_response(jsonable(payload))


@router.post(
    "/v1/fairness",
    summary="Fairness report on labelled data",
    description="Approval rate, TPR, FPR, AUC and calibration per protected group at the "
    "policy threshold, the gaps between groups (demographic parity, equal opportunity, "
    "equalized odds, disparate impact against the four-fifths rule) with bootstrap "
    "confidence intervals, and the model's fairness gate. Rows carry the model inputs, the "
    "outcome and the protected columns.",
    response_model=FairnessOut,
    responses=FAIRNESS_ERRORS,
)
async def fairness(body: FairnessIn, admitted: ClientDep) -> Response:
    metrics, loaded = admitted.state.metrics, admitted.model
    scorer = loaded.scorer
    validated: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    for i, row in enumerate(body.rows):
        try:
            validated.append(scorer.validate(row))
        except ScoringInputError as exc:
            problems.append(scoring_problem(exc, f"rows.{i}."))
            if len(problems) >= MAX_ROW_ERRORS:
                break
    if problems:
        return invalid(metrics, problems)
    config = _fairness_config(loaded)

    def work() -> dict[str, Any] | list[dict[str, Any]]:
        # fairlearn and the report's statistics: offline machinery, loaded on first use
        from creditscore.explain.fairness import (
            GroupSpec,
            configured_gate,
            configured_groups,
            fairness_report,
        )

        frame = pd.DataFrame(body.rows)
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
        target = body.target or (loaded.bundle.metadata or {}).get("target")
        problems = assessment_problems(
            frame, groups, list(body.intersections), target, configured=body.groups is None
        )
        if problems:
            return problems
        p = scorer.probabilities(pd.DataFrame(validated, columns=loaded.bundle.schema.names))
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
        return invalid(metrics, [scoring_problem(exc, "rows.")])
    except (CreditScoreError, ValueError) as exc:
        return invalid(metrics, [problem("rows", str(exc), "data")], "cannot_assess")
    if isinstance(payload, list):
        return invalid(metrics, payload, "cannot_assess")
    return json_response(jsonable(payload))
