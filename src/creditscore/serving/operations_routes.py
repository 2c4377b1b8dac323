"""Routes for whoever runs the service: liveness, readiness and Prometheus metrics (no key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from creditscore.formatting import jsonable
from creditscore.serving.deps import StateDep
from creditscore.serving.metrics import CONTENT_TYPE
from creditscore.serving.responses import QUERY_ERRORS, error_responses, json_response
from creditscore.serving.schemas import HealthOut, ReadyOut

router = APIRouter(tags=["operations"])
ERRORS = error_responses(
    *QUERY_ERRORS, texts={422: "an unknown query parameter (the route takes none)"}
)


@router.get(
    "/health", summary="Liveness: the process answers", response_model=HealthOut, responses=ERRORS
)
async def health(state: StateDep) -> Response:
    return json_response({"status": "ok"})


@router.get(
    "/ready",
    summary="Readiness: a model is loaded (degraded while the registry or database is down)",
    description="200 with status `ready`, or `degraded` when the decision database is "
    "unreachable or records are waiting in the spool, or the registry is unreachable "
    "(decisions keep flowing either way); 503 with `not_ready` while no model is loaded.",
    response_model=ReadyOut,
    responses={**ERRORS, 503: {"model": ReadyOut, "description": "no model loaded"}},
)
async def ready(state: StateDep) -> Response:
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
    return json_response(jsonable(payload), 503 if status == "not_ready" else 200)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={**ERRORS, 200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(state: StateDep) -> Response:
    return Response(state.metrics.render(state.log), media_type=CONTENT_TYPE)
