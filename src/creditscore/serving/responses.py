"""Responses every router builds: JSON bodies, the one error body, field errors, and the
OpenAPI documentation of each error status.

Every error the service sends has the same body (:class:`~creditscore.serving.schemas.ErrorOut`):
a machine-readable ``error`` code, a ``message`` that names the field, the value and what
was expected, and ``details`` (one entry per problem).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi.responses import Response
from pydantic import ValidationError

from creditscore.serving.metrics import ServiceMetrics
from creditscore.serving.schemas import ErrorOut

JSON = "application/json"

#: What each error status means, as the OpenAPI document says it (a route may refine it).
ERROR_TEXTS: dict[int, str] = {
    400: "the body is not valid JSON",
    401: "missing or invalid API key (send it in the X-API-Key header)",
    403: "the key may not use this route: admin routes need an admin key, and are disabled "
    "while no CREDITSCORE_ADMIN_KEYS are configured",
    404: "not found",
    409: "refused in the server's current state",
    413: "the body is larger than CREDITSCORE_MAX_BODY_BYTES",
    415: "the body is not JSON: send it with Content-Type: application/json",
    422: "the request does not match the schema (body or query parameters); each problem "
    "names its field, the value sent and what is expected",
    503: "no model is loaded yet (see GET /ready)",
}
#: The errors of any route that reads a JSON body.
BODY_ERRORS = (400, 413, 415, 422)
#: The errors of any client route: its key, its query parameters, the model it needs.
CLIENT_ERRORS = (401, 422, 503)
#: What a route that takes no key and no body can still answer: an unknown query parameter.
QUERY_ERRORS = (422,)
_UNAUTHORIZED_HEADERS = {
    "WWW-Authenticate": {
        "description": "the header the key goes in (X-API-Key)",
        "schema": {"type": "string"},
    }
}


def error_responses(*statuses: int, texts: Mapping[int, str] | None = None) -> dict[int | str, Any]:
    """The ``responses=`` of a route: each status with our error body and its meaning."""
    out: dict[int | str, Any] = {}
    for status in sorted(set(statuses)):
        doc: dict[str, Any] = {
            "model": ErrorOut,
            "description": (texts or {}).get(status, ERROR_TEXTS[status]),
        }
        if status == 401:
            doc["headers"] = _UNAUTHORIZED_HEADERS
        out[status] = doc
    return out


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


def problem(field: str, message: str, kind: str) -> dict[str, Any]:
    """One entry of an error's ``details``."""
    return {"field": field, "message": message, "type": kind}


def invalid(
    metrics: ServiceMetrics, details: list[dict[str, Any]], error: str = "invalid_request"
) -> Response:
    """422 naming the first problem (and how many more) in the message, all in details."""
    metrics.errors.labels("validation").inc()
    first = details[0]
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return error_response(422, error, f"{first['field']}: {first['message']}{more}", details)


def bad_json(metrics: ServiceMetrics, reason: str) -> Response:
    metrics.errors.labels("invalid_json").inc()
    return error_response(400, "invalid_json", f"the request body is not valid JSON: {reason}")


MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field: not an input of this model (see GET /v1/model)",
    "finite_number": "expected a finite number (not NaN or infinity)",
    "float_type": "expected a JSON number",
    "float_parsing": "expected a JSON number",
    "string_type": "expected a JSON string",
    "model_type": "expected a JSON object",
    "model_attributes_type": "expected a JSON object",
    "dict_type": "expected a JSON object",
    "list_type": "expected a JSON array",
}


def shown(value: Any) -> str:
    """A value the client sent, as an error message quotes it (shortened)."""
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
        message = MESSAGES.get(kind, e["msg"])
        if kind == "literal_error":
            message = "unknown category: " + e["msg"].replace("Input should be", "expected")
        name = str(e["loc"][-1]) if e["loc"] else ""
        quoted = kind not in ("missing", "extra_forbidden") and name not in private
        if quoted and "input" in e and not isinstance(e["input"], dict | list):
            message += f"; got {shown(e['input'])}"
        out.append(problem(".".join(str(p) for p in loc) or "body", message, kind))
    return out


def validation_failure(
    metrics: ServiceMetrics, exc: ValidationError, private: frozenset[str] = frozenset()
) -> Response:
    """The response to a body that failed validation: 400 if it is not JSON at all, else
    422 naming every problem."""
    details = field_errors(exc, private=private)
    if details[0]["type"] == "json_invalid":
        return bad_json(metrics, exc.errors(include_url=False)[0]["msg"])
    return invalid(metrics, details)
