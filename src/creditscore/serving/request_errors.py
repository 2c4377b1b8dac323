"""Request-error records: the scoring requests the service refused or failed, for the log.

The decision log keeps only decisions, so an error rate needs the failures too. Every
failed request of a decision route (``/v1/decisions``, ``/v1/decisions/batch``) by a
client whose key was accepted becomes one record, and so does every refused row of a batch
(answered inside a 200, each row is an application that got no decision): a body that is
not JSON (400), a missing or invalid field or query parameter (422), no model loaded yet
(503), an error of ours (500). Requests refused before the key is checked (401, 403, and the
middleware's 413 / 415) are not recorded, so that whoever lacks a key cannot fill the
table; they are counted in ``creditscore_errors_total`` on ``/metrics``.

A record holds the time, route, status, error code, the first problem's type and field
name, how many problems, the batch row, the model and the time spent. Never the body, and
never the message (messages quote the value sent): a field's *name* is kept only when it
is one the model knows, so a client's made-up key (which could itself be personal data)
is stored as ``(unknown)``. Records go through :meth:`DecisionLog.submit`, the same queue,
spool and writer as decisions, so the request path never waits for the database.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException
from fastapi.responses import Response
from starlette.requests import Request

from creditscore.serving.decisions import RECORD_KEY
from creditscore.store.tables import REQUEST_ERRORS_TABLE

if TYPE_CHECKING:
    from creditscore.serving.deps import ServingState
    from creditscore.serving.loader import LoadedModel

#: The routes whose failures are recorded, and the decision log's ``endpoint`` of each.
ENDPOINTS = {"/v1/decisions": "single", "/v1/decisions/batch": "batch"}
UNKNOWN_FIELD = "(unknown)"
#: Names of the request envelope and the routes' query parameters, always safe to keep.
_ENVELOPE = frozenset({"body", "query", "explain", "applications", "application_id"})


def scoring_route(request: Request) -> str | None:
    """The route template of a decision route, else None (its failures are not recorded)."""
    path = getattr(request.scope.get("route"), "path", None)
    return path if path in ENDPOINTS else None


def safe_field(field: str | None, loaded: LoadedModel | None) -> str | None:
    """A problem's field with every part the model does not know replaced: ``duration``,
    ``applications.3``, ``query.(unknown)``."""
    if not field:
        return None
    known = _ENVELOPE | {name for _, name in loaded.field_names} if loaded else _ENVELOPE
    parts: list[str] = []
    for part in field.split("."):
        kept = part if part.isdigit() or part in known else UNKNOWN_FIELD
        if kept != UNKNOWN_FIELD or not parts or parts[-1] != UNKNOWN_FIELD:
            parts.append(kept)  # a made-up name with dots in it is one unknown part
    return ".".join(parts)[:200]


def build_error_record(
    route: str,
    status: int,
    error: str,
    problems: list[dict[str, Any]],
    loaded: LoadedModel | None,
    latency_ms: float,
    *,
    item_index: int | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """One request_errors record; ``problems`` are the error body's ``details`` (the first
    one's type and field are kept, with how many there were)."""
    first = problems[0] if problems else {}
    return {
        RECORD_KEY: REQUEST_ERRORS_TABLE,
        "error_id": uuid.uuid4().hex,
        "created_at": created_at or datetime.now(UTC).isoformat(),
        "route": route,
        "endpoint": ENDPOINTS.get(route, "single"),
        "status_code": int(status),
        "error": error[:64],
        "kind": str(first.get("type") or error)[:64],
        "field": safe_field(first.get("field"), loaded),
        "problems": max(len(problems), 1),
        "item_index": item_index,
        "model_name": loaded.bundle.name if loaded else None,
        "model_version": loaded.version if loaded else None,
        "policy_version": str(loaded.bundle.policy.version) if loaded else None,
        "latency_ms": round(max(latency_ms, 0.0), 4),
    }


def record_response(
    state: ServingState,
    request: Request,
    loaded: LoadedModel | None,
    response: Response,
    latency_ms: float,
) -> None:
    """Record an error response (status >= 400) a decision route built itself."""
    route = scoring_route(request)
    if state.log is None or route is None or response.status_code < 400:
        return
    try:
        body = json.loads(bytes(response.body))
    except ValueError:
        body = {}
    details = list(body.get("details") or [])
    state.log.submit(
        build_error_record(
            route,
            response.status_code,
            str(body.get("error") or "error"),
            details,
            loaded,
            latency_ms,
        )
    )


def record_exception(
    state: ServingState,
    request: Request,
    loaded: LoadedModel | None,
    exc: BaseException,
    latency_ms: float,
) -> None:
    """Record an exception leaving a decision route or its admission: an HTTPException keeps
    its status and code (a refused key is not recorded), anything else is the 500 the error
    handler answers, its kind the exception's class."""
    route = scoring_route(request)
    if state.log is None or route is None:
        return
    if isinstance(exc, HTTPException):
        if exc.status_code in (401, 403):
            return
        detail: dict[str, Any] = exc.detail if isinstance(exc.detail, dict) else {}
        error = str(detail.get("error") or "http_error")
        details = list(detail.get("details") or [])
        record = build_error_record(route, exc.status_code, error, details, loaded, latency_ms)
    else:
        problem = {"type": type(exc).__name__}
        record = build_error_record(route, 500, "internal_error", [problem], loaded, latency_ms)
    state.log.submit(record)


def batch_row_records(
    route: str,
    errors: list[dict[str, Any]],
    loaded: LoadedModel,
    latency_ms: float,
    created_at: str,
) -> list[dict[str, Any]]:
    """One record per refused row of a batch (``errors`` as the batch answer lists them)."""
    return [
        build_error_record(
            route,
            422,
            "invalid_application",
            e["errors"],
            loaded,
            latency_ms,
            item_index=int(e["index"]),
            created_at=created_at,
        )
        for e in errors
    ]
