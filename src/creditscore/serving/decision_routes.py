"""The decision routes: one application, and a batch.

They read the raw body and validate it with the *current* model's generated request model in
one pydantic-core call (``model_validate_json``), so a reload that changes the schema changes
validation with it, and the hot path has no per-request pandas, no FastAPI body machinery
and no response-model re-validation: responses are built as plain dicts and serialised once.
Their OpenAPI request bodies are filled in from the served model (``serving.openapi``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pydantic_core
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from creditscore.exceptions import ScoringInputError
from creditscore.formatting import jsonable
from creditscore.scorer import Decision
from creditscore.serving.decisions import build_record
from creditscore.serving.deps import Admitted, ScoringDep, ServingState
from creditscore.serving.loader import LoadedModel
from creditscore.serving.request_errors import (
    batch_row_records,
    record_exception,
    record_response,
)
from creditscore.serving.responses import (
    BODY_ERRORS,
    CLIENT_ERRORS,
    JSON,
    MESSAGES,
    bad_json,
    error_responses,
    field_errors,
    invalid,
    json_response,
    problem,
    shown,
    validation_failure,
)
from creditscore.serving.schemas import BatchOut, DecisionOut
from creditscore.serving.scoring_route import ScoringRoute

router = APIRouter(tags=["decisions"], route_class=ScoringRoute)

#: The ``explain`` query parameter of the decision routes.
EXPLAIN = Query(
    default=None,
    description="Reason codes: omitted gives up to 4 to declines and referrals, `true` to "
    "every decision, `false` to none.",
)
#: Batches at least this long are scored in a worker thread, off the event loop.
THREADPOOL_BATCH = 32
#: The batch route's template (its refused rows are recorded under it).
BATCH_ROUTE = "/v1/decisions/batch"
#: The errors of a decision route.
ERRORS = error_responses(*BODY_ERRORS, *CLIENT_ERRORS)


def request_body(component: str) -> dict[str, Any]:
    """``openapi_extra`` of a route that reads its body itself: the body's schema component
    (filled in from the served model)."""
    ref = {"$ref": f"#/components/schemas/{component}"}
    return {"requestBody": {"required": True, "content": {JSON: {"schema": ref}}}}


def decision_payload(d: Decision) -> dict[str, Any]:
    return {
        "request_id": d.request_id,
        "application_id": d.application_id,
        "probability_of_default": d.probability_of_default,
        "score": d.score,
        "risk_band": d.risk_band,
        "decision": d.decision,
        "reasons": [
            {
                "code": str(r.code),
                "feature": str(r.feature),
                "text": str(r.text),
                "value": jsonable(r.value),
                "contribution": float(r.contribution),
            }
            for r in d.reasons
        ]
        if d.reasons
        else [],
        "model_name": d.model_name,
        "model_version": d.model_version,
        "policy_version": d.policy_version,
        "warnings": [
            {"field": w.field, "code": w.code, "message": w.message, "value": w.value}
            for w in d.warnings
        ],
    }


def application_values(loaded: LoadedModel, application: BaseModel) -> dict[str, Any]:
    """A validated application as {field name: value} (plus ``application_id`` if sent)."""
    raw = application.__dict__
    values = {name: raw[attr] for attr, name in loaded.field_names}
    if raw["application_id"] is not None:
        values["application_id"] = raw["application_id"]
    return values


def _inputs(values: dict[str, Any]) -> dict[str, Any]:
    if "application_id" in values:
        return {k: v for k, v in values.items() if k != "application_id"}
    return values


def scoring_problem(exc: ScoringInputError, prefix: str = "") -> dict[str, Any]:
    return problem(prefix + (exc.field or "body"), str(exc), "scoring_input")


async def recorded(request: Request, admitted: Admitted, decide: Any, *args: Any) -> Response:
    """Run a decision route's body ``decide(request, state, loaded, start, *args)`` and put
    its failure, if any, in the decision log's request_errors table: an error response it
    built, or an exception (re-raised for the error handlers to answer)."""
    start = time.perf_counter()
    state, loaded = admitted.state, admitted.model
    try:
        response: Response = await decide(request, state, loaded, start, *args)
    except Exception as exc:
        record_exception(state, request, loaded, exc, (time.perf_counter() - start) * 1000.0)
        raise
    if response.status_code >= 400:
        record_response(state, request, loaded, response, (time.perf_counter() - start) * 1000.0)
    return response


# --------------------------------------------------------------------------- one
@router.post(
    "/v1/decisions",
    summary="Decide on one application",
    description="Probability of default, score points, risk band and approve / refer / "
    "decline for one application, whose fields are the model's inputs (see GET /v1/model). "
    "Every decision is stored in the decision log.",
    response_model=DecisionOut,
    responses=ERRORS,
    openapi_extra=request_body("Application"),
)
async def create_decision(
    request: Request, admitted: ScoringDep, explain: bool | None = EXPLAIN
) -> Response:
    return await recorded(request, admitted, _decide_one, explain)


async def _decide_one(
    request: Request,
    state: ServingState,
    loaded: LoadedModel,
    start: float,
    explain: bool | None,
) -> Response:
    body = await request.body()
    try:
        application = loaded.application_model.model_validate_json(body)
    except ValidationError as exc:
        return validation_failure(state.metrics, exc, loaded.private_fields)
    values = application_values(loaded, application)
    try:
        decision = loaded.scorer.decide(values, explain=explain)
    except ScoringInputError as exc:
        return invalid(state.metrics, [scoring_problem(exc)])
    payload = decision_payload(decision)
    state.metrics.observe_decision(
        decision.decision, decision.risk_band, decision.probability_of_default
    )
    if decision.warnings:
        state.metrics.observe_warnings(decision.warnings)
    if state.log is not None:
        state.log.submit(
            build_record(
                payload,
                _inputs(values),
                loaded.private_fields,
                state.pii_key,
                "single",
                (time.perf_counter() - start) * 1000.0,
            )
        )
    return json_response(payload, headers={"X-Request-ID": decision.request_id})


# --------------------------------------------------------------------------- batch
def _score_batch(
    state: ServingState,
    loaded: LoadedModel,
    rows: list[dict[str, Any]],
    start: float,
    explain: bool | None = None,
) -> dict[str, Any]:
    model = loaded.application_model
    valid: list[tuple[int, dict[str, Any]]] = []
    errors: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        try:
            valid.append((i, application_values(loaded, model.model_validate(row))))
        except ValidationError as exc:
            errors.append({"index": i, "errors": field_errors(exc, private=loaded.private_fields)})
    decisions: list[tuple[int, dict[str, Any], Decision]] = []
    if valid:
        try:
            scored = loaded.scorer.decide_many([v for _, v in valid], explain=explain)
            decisions = [(i, v, d) for (i, v), d in zip(valid, scored, strict=True)]
        except ScoringInputError:  # isolate the offending rows
            for i, v in valid:
                try:
                    decisions.append((i, v, loaded.scorer.decide(v, explain=explain)))
                except ScoringInputError as exc:
                    errors.append({"index": i, "errors": [scoring_problem(exc)]})
            errors.sort(key=lambda e: e["index"])
    latency_ms = (time.perf_counter() - start) * 1000.0
    now = datetime.now(UTC).isoformat()
    out = []
    records = []
    observe = state.metrics.observe_decision
    private, key = loaded.private_fields, state.pii_key
    for i, values, d in decisions:
        payload = decision_payload(d)
        observe(d.decision, d.risk_band, d.probability_of_default)
        if d.warnings:
            state.metrics.observe_warnings(d.warnings)
        records.append(
            build_record(payload, _inputs(values), private, key, "batch", latency_ms, now)
        )
        payload["index"] = i
        out.append(payload)
    if errors:
        state.metrics.errors.labels("validation").inc(len(errors))
        records += batch_row_records(BATCH_ROUTE, errors, loaded, latency_ms, now)
    if state.log is not None and records:
        state.log.submit_many(records)
    return {
        "decisions": out,
        "errors": errors,
        "n_received": len(rows),
        "n_scored": len(out),
        "n_failed": len(errors),
    }


#: At most this many envelope problems are listed (a batch of 1000 numbers is one mistake).
MAX_ENVELOPE_PROBLEMS = 20


def envelope_problems(raw: Any, limit: int) -> list[dict[str, Any]]:
    """What is wrong with a batch's envelope, as the BatchRequest schema says it: an object
    whose only field ``applications`` is an array of 1 to ``limit`` JSON objects."""
    if not isinstance(raw, dict):
        return [problem("body", f"{MESSAGES['model_type']}; got {shown(raw)}", "model_type")]
    problems = [
        problem(str(k), "unknown field: the only field is 'applications'", "extra_forbidden")
        for k in raw
        if k != "applications"
    ]
    rows = raw.get("applications")
    first: list[dict[str, Any]] = []
    if rows is None:
        first = [problem("applications", MESSAGES["missing"], "missing")]
    elif not isinstance(rows, list):
        first = [
            problem("applications", f"{MESSAGES['list_type']}; got {shown(rows)}", "list_type")
        ]
    elif not rows:
        first = [problem("applications", "expected at least 1 application", "too_short")]
    elif len(rows) > limit:
        message = f"at most {limit} applications per batch, got {len(rows)}; split it"
        first = [problem("applications", message, "too_long")]
    else:
        first = [
            problem(
                f"applications.{i}",
                f"expected a JSON object (one application); got {shown(row)}",
                "model_type",
            )
            for i, row in enumerate(rows)
            if not isinstance(row, dict)
        ]
    return (first + problems)[:MAX_ENVELOPE_PROBLEMS]


@router.post(
    BATCH_ROUTE,
    summary="Decide on a batch of applications",
    description="Up to CREDITSCORE_MAX_BATCH applications, each a JSON object. Objects that "
    "are not valid applications are reported by index in `errors` and the valid ones are "
    "scored (HTTP 200 either way); a malformed envelope (not an object, no `applications` "
    "array, too many, an item that is not an object) is a 422 naming the field.",
    response_model=BatchOut,
    responses=ERRORS,
    openapi_extra=request_body("BatchRequest"),
)
async def create_decisions_batch(
    request: Request, admitted: ScoringDep, explain: bool | None = EXPLAIN
) -> Response:
    return await recorded(request, admitted, _decide_batch, explain)


async def _decide_batch(
    request: Request,
    state: ServingState,
    loaded: LoadedModel,
    start: float,
    explain: bool | None,
) -> Response:
    body = await request.body()
    try:
        raw = pydantic_core.from_json(body)
    except ValueError as exc:
        return bad_json(state.metrics, str(exc))
    problems = envelope_problems(raw, state.settings.max_batch)
    if problems:
        return invalid(state.metrics, problems)
    rows: list[dict[str, Any]] = raw["applications"]
    if len(rows) >= THREADPOOL_BATCH:
        result = await run_in_threadpool(_score_batch, state, loaded, rows, start, explain)
    else:
        result = _score_batch(state, loaded, rows, start, explain)
    return json_response(result)
