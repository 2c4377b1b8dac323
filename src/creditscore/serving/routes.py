"""The HTTP routes: decisions (single and batch), model info, health, readiness, metrics,
and the admin reload.

The decision routes read the raw body and validate it with the *current* model's generated
request model in one pydantic-core call (``model_validate_json``), so a reload that changes
the schema changes validation with it, and the hot path has no per-request pandas, no
FastAPI body machinery and no response-model re-validation: responses are built as plain
dicts and serialised once with ``json.dumps``. Their OpenAPI request bodies are filled in
from the current model by ``app.custom_openapi``.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import pydantic_core
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from creditscore.exceptions import CreditScoreError, ScoringInputError
from creditscore.scorer import Decision
from creditscore.serving.decisions import build_record
from creditscore.serving.deps import (
    API_KEY_HEADER,
    ServingState,
    check_client_key,
    require_admin_key,
    require_api_key,
)
from creditscore.serving.loader import LoadedModel, RegistryUnavailableError
from creditscore.serving.metrics import CONTENT_TYPE
from creditscore.serving.schemas import (
    BatchOut,
    DecisionOut,
    ErrorOut,
    HealthOut,
    ModelOut,
    ReadyOut,
    ReloadIn,
    ReloadOut,
    json_safe,
)

log = logging.getLogger("creditscore.serving")

router = APIRouter()

JSON = "application/json"
#: The ``explain`` query parameter of the decision routes.
EXPLAIN = Query(
    default=None,
    description="Reason codes: omitted gives up to 4 to declines and referrals, `true` to "
    "every decision, `false` to none.",
)
#: Batches at least this long are scored in a worker thread, off the event loop.
THREADPOOL_BATCH = 32


def error_doc(status: str, model: type[BaseModel] = ErrorOut) -> dict[str, Any]:
    return {"model": model, "description": status}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: error_doc("invalid JSON"),
    401: error_doc("missing or invalid API key"),
    413: error_doc("request body too large"),
    415: error_doc("content type is not application/json"),
    422: error_doc("the request does not match the schema; each problem names its field"),
    503: error_doc("no model loaded"),
}
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {401: ERRORS[401]}


def _body_ref(component: str) -> dict[str, Any]:
    """OpenAPI of a decision route: its body (filled in from the served model) and its key,
    which the route checks inline (see ``deps.check_client_key``)."""
    ref = {"$ref": f"#/components/schemas/{component}"}
    return {
        "requestBody": {"required": True, "content": {JSON: {"schema": ref}}},
        "security": [{"APIKeyHeader": []}],
    }


def _denied(state: ServingState, exc: HTTPException) -> Response:
    state.metrics.errors.labels("unauthorized").inc()
    return error_response(
        exc.status_code, "unauthorized", str(exc.detail), headers=dict(exc.headers or {})
    )


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def error_response(
    status: int,
    error: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return json_response(
        {"error": error, "message": message, "details": details or []}, status, headers
    )


_MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field: not an input of this model (see GET /v1/model)",
    "finite_number": "expected a finite number (not NaN or infinity)",
    "float_type": "expected a JSON number",
    "float_parsing": "expected a JSON number",
    "string_type": "expected a JSON string",
    "model_type": "expected a JSON object",
    "model_attributes_type": "expected a JSON object",
    "list_type": "expected a JSON array",
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def field_errors(
    exc: ValidationError, prefix: tuple[Any, ...] = (), private: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """Pydantic errors as {field, message, type}. The message names the value the client
    sent (shortened), except for protected and PII fields, whose values are never echoed."""
    out = []
    for e in exc.errors(include_url=False, include_context=False):
        loc = (*prefix, *e["loc"])
        kind = e["type"]
        message = _MESSAGES.get(kind, e["msg"])
        if kind == "literal_error":
            message = "unknown category: " + e["msg"].replace("Input should be", "expected")
        name = str(e["loc"][-1]) if e["loc"] else ""
        shown = kind not in ("missing", "extra_forbidden") and name not in private
        if shown and "input" in e and not isinstance(e["input"], dict | list):
            message += f"; got {_shown(e['input'])}"
        out.append(
            {"field": ".".join(str(p) for p in loc) or "body", "message": message, "type": kind}
        )
    return out


def _invalid(state: ServingState, details: list[dict[str, Any]]) -> Response:
    state.metrics.errors.labels("validation").inc()
    first = details[0]
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return error_response(
        422, "invalid_request", f"{first['field']}: {first['message']}{more}", details
    )


def _bad_json(state: ServingState, reason: str) -> Response:
    state.metrics.errors.labels("invalid_json").inc()
    return error_response(400, "invalid_json", f"the request body is not valid JSON: {reason}")


def _no_model(state: ServingState) -> Response:
    state.metrics.errors.labels("no_model").inc()
    return error_response(503, "no_model", "no model is loaded yet; see GET /ready")


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
                "value": json_safe(r.value),
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


def _admit(state: ServingState, request: Request) -> LoadedModel | Response:
    """The key check and the model snapshot of a decision route: the model is read once,
    so the request finishes on the model it started with, whatever a reload does."""
    denied = check_client_key(state.auth, request.headers.get(API_KEY_HEADER))
    if denied is not None:
        return _denied(state, denied)
    loaded = state.models.current
    if loaded is None:
        return _no_model(state)
    return loaded


def _values(loaded: LoadedModel, application: BaseModel) -> dict[str, Any]:
    raw = application.__dict__
    values = {name: raw[attr] for attr, name in loaded.field_names}
    if raw["application_id"] is not None:
        values["application_id"] = raw["application_id"]
    return values


def _inputs(values: dict[str, Any]) -> dict[str, Any]:
    if "application_id" in values:
        return {k: v for k, v in values.items() if k != "application_id"}
    return values


# --------------------------------------------------------------------------- decisions
@router.post(
    "/v1/decisions",
    tags=["decisions"],
    summary="Decide on one application",
    description="Probability of default, score points, risk band and approve / refer / "
    "decline for one application, whose fields are the model's inputs (see GET /v1/model). "
    "Every decision is stored in the decision log.",
    response_model=DecisionOut,
    responses=ERRORS,
    openapi_extra=_body_ref("Application"),
)
async def create_decision(request: Request, explain: bool | None = EXPLAIN) -> Response:
    start = time.perf_counter()
    state: ServingState = request.app.state.serving
    admitted = _admit(state, request)
    if isinstance(admitted, Response):
        return admitted
    loaded = admitted
    body = await request.body()
    try:
        application = loaded.application_model.model_validate_json(body)
    except ValidationError as exc:
        details = field_errors(exc, private=loaded.private_fields)
        if details[0]["type"] == "json_invalid":
            return _bad_json(state, exc.errors(include_url=False)[0]["msg"])
        return _invalid(state, details)
    values = _values(loaded, application)
    try:
        decision = loaded.scorer.decide(values, explain=explain)
    except ScoringInputError as exc:
        field = exc.field or "body"
        return _invalid(state, [{"field": field, "message": str(exc), "type": "scoring_input"}])
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


def _score_batch(
    state: ServingState,
    loaded: LoadedModel,
    rows: list[Any],
    start: float,
    explain: bool | None = None,
) -> dict[str, Any]:
    model = loaded.application_model
    valid: list[tuple[int, dict[str, Any]]] = []
    errors: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        try:
            valid.append((i, _values(loaded, model.model_validate(row))))
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
                    errors.append(
                        {
                            "index": i,
                            "errors": [
                                {
                                    "field": exc.field or "body",
                                    "message": str(exc),
                                    "type": "scoring_input",
                                }
                            ],
                        }
                    )
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
    if state.log is not None and records:
        state.log.submit_many(records)
    if errors:
        state.metrics.errors.labels("validation").inc(len(errors))
    return {
        "decisions": out,
        "errors": errors,
        "n_received": len(rows),
        "n_scored": len(out),
        "n_failed": len(errors),
    }


@router.post(
    "/v1/decisions/batch",
    tags=["decisions"],
    summary="Decide on a batch of applications",
    description="Up to CREDITSCORE_MAX_BATCH applications. Invalid applications are "
    "reported by index in `errors` and the valid ones are scored (HTTP 200 either way); a "
    "malformed envelope (not an object, no `applications` list, too many) is a 4xx.",
    response_model=BatchOut,
    responses=ERRORS,
    openapi_extra=_body_ref("BatchRequest"),
)
async def create_decisions_batch(request: Request, explain: bool | None = EXPLAIN) -> Response:
    start = time.perf_counter()
    state: ServingState = request.app.state.serving
    admitted = _admit(state, request)
    if isinstance(admitted, Response):
        return admitted
    loaded = admitted
    body = await request.body()
    try:
        raw = pydantic_core.from_json(body)
    except ValueError as exc:
        return _bad_json(state, str(exc))
    if not isinstance(raw, dict):
        return _invalid(
            state, [{"field": "body", "message": _MESSAGES["model_type"], "type": "model_type"}]
        )
    problems = [
        {
            "field": k,
            "message": "unknown field: the only field is 'applications'",
            "type": "extra_forbidden",
        }
        for k in raw
        if k != "applications"
    ]
    rows = raw.get("applications")
    limit = state.settings.max_batch
    if rows is None:
        problems.insert(
            0, {"field": "applications", "message": _MESSAGES["missing"], "type": "missing"}
        )
    elif not isinstance(rows, list):
        problems.insert(
            0, {"field": "applications", "message": _MESSAGES["list_type"], "type": "list_type"}
        )
    elif not rows:
        problems.insert(
            0,
            {
                "field": "applications",
                "message": "expected at least 1 application",
                "type": "too_short",
            },
        )
    elif len(rows) > limit:
        problems.insert(
            0,
            {
                "field": "applications",
                "message": f"at most {limit} applications per batch, got {len(rows)}; split it",
                "type": "too_long",
            },
        )
    if problems:
        return _invalid(state, problems)
    assert isinstance(rows, list)
    if len(rows) >= THREADPOOL_BATCH:
        result = await run_in_threadpool(_score_batch, state, loaded, rows, start, explain)
    else:
        result = _score_batch(state, loaded, rows, start, explain)
    return json_response(result)


# --------------------------------------------------------------------------- model
@router.get(
    "/v1/model",
    tags=["model"],
    summary="The model being served",
    description="Name, version, aliases, training time, metrics, threshold, risk bands, "
    "score scaling and the input schema.",
    response_model=ModelOut,
    responses={**AUTH_ERRORS, 503: ERRORS[503]},
    dependencies=[Depends(require_api_key)],
)
async def get_model(request: Request) -> Response:
    state: ServingState = request.app.state.serving
    loaded = state.models.current
    if loaded is None:
        return _no_model(state)
    return json_response(loaded.info)


@router.post(
    "/v1/admin/reload",
    tags=["admin"],
    summary="Load a model now and swap it in",
    description="With no body: reload from the current source (the bundle folder, or the "
    "registry alias). `model_path` loads a bundle folder on the server; `alias` a registry "
    "alias. In-flight requests finish on the old model. A broken or incompatible bundle is "
    "refused (422) and the old model keeps serving; an unreachable registry gives 503.",
    response_model=ReloadOut,
    responses={
        **ERRORS,
        403: error_doc("an admin key is needed"),
        422: error_doc("invalid request, or the bundle was refused"),
        503: error_doc("the registry could not be reached"),
    },
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/ReloadIn"}}},
        }
    },
    dependencies=[Depends(require_admin_key)],
)
async def reload_model(request: Request) -> Response:
    state: ServingState = request.app.state.serving
    body = await request.body()
    try:
        wanted = ReloadIn.model_validate_json(body) if body.strip() else ReloadIn()
    except ValidationError as exc:
        details = field_errors(exc)
        if details[0]["type"] == "json_invalid":
            return _bad_json(state, exc.errors(include_url=False)[0]["msg"])
        return _invalid(state, details)
    if wanted.model_path and wanted.alias:
        return _invalid(
            state,
            [
                {
                    "field": "alias",
                    "message": "give model_path or alias, not both",
                    "type": "conflict",
                }
            ],
        )
    try:
        previous, loaded = await run_in_threadpool(
            state.models.reload, wanted.model_path, wanted.alias
        )
    except RegistryUnavailableError as exc:
        state.metrics.reloads.labels("registry_unreachable").inc()
        return error_response(503, "registry_unreachable", str(exc))
    except CreditScoreError as exc:
        state.metrics.reloads.labels("refused").inc()
        log.error("reload refused: %s", exc)
        return error_response(422, "model_refused", str(exc))
    state.metrics.reloads.labels("ok").inc()
    return json_response(
        {
            "reloaded": True,
            "previous_version": previous.version if previous else None,
            "version": loaded.version,
            "source": loaded.source,
        }
    )


# --------------------------------------------------------------------------- operations
@router.get(
    "/health",
    tags=["operations"],
    summary="Liveness: the process answers",
    response_model=HealthOut,
)
async def health() -> Response:
    return json_response({"status": "ok"})


@router.get(
    "/ready",
    tags=["operations"],
    summary="Readiness: a model is loaded (degraded while the registry or database is down)",
    description="200 with status `ready`, or `degraded` when the decision database is "
    "unreachable or records are waiting in the spool, or the registry is unreachable "
    "(decisions keep flowing either way); 503 with `not_ready` while no model is loaded.",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "no model loaded"}},
)
async def ready(request: Request) -> Response:
    state: ServingState = request.app.state.serving
    loaded = state.models.current
    model: dict[str, Any] = {"loaded": loaded is not None, "last_error": state.models.last_error}
    if loaded is not None:
        model.update(name=loaded.bundle.name, version=loaded.version, source=loaded.source)
    registry = state.models.registry.to_dict()
    log_status = state.log.status() if state.log is not None else {"status": "disabled"}
    if loaded is None:
        status = "not_ready"
    elif log_status["status"] == "degraded" or registry["status"] == "unreachable":
        status = "degraded"
    else:
        status = "ready"
    payload = {"status": status, "model": model, "registry": registry, "decision_log": log_status}
    return json_response(json_safe(payload), 503 if status == "not_ready" else 200)


@router.get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    state: ServingState = request.app.state.serving
    return Response(state.metrics.render(state.log), media_type=CONTENT_TYPE)
