"""The app's exception handlers: every error leaves as our one error body.

``HTTPException``s keep their status and headers: ours carry ``detail={"error": code,
"message": text, "details": [...]}``, Starlette's own (404, 405, 413) a string. A request
FastAPI failed to validate is a 422 naming each field (or a 400 for a body that is not
JSON); anything else is a 500 whose details stay in the server log. A decision route's
parameters FastAPI refused are recorded in the decision log's request errors here (the
route's own failures are recorded by the route).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from creditscore.serving.metrics import ServiceMetrics
from creditscore.serving.request_errors import record_response
from creditscore.serving.responses import MESSAGES, error_response, invalid, problem, shown

log = logging.getLogger("creditscore.serving")

_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    503: "unavailable",
}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for e in exc.errors():
        loc = [p for p in e.get("loc", ()) if p != "body"]
        kind = str(e.get("type", "value_error"))
        message = MESSAGES.get(kind, str(e.get("msg", "invalid value")))
        if kind not in ("missing", "extra_forbidden") and "input" in e:
            value = e["input"]
            if not isinstance(value, dict | list):
                message += f"; got {shown(value)}"
        details.append(problem(".".join(str(p) for p in loc) or "body", message, kind))
    return details


def install_error_handlers(app: FastAPI, metrics: ServiceMetrics) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        details: list[dict[str, Any]] = []
        if isinstance(exc.detail, dict):
            code, message = str(exc.detail["error"]), str(exc.detail["message"])
            details = list(exc.detail.get("details", []))
        else:
            code = _ERROR_CODES.get(exc.status_code, "http_error")
            message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 413:
            limit = request.app.state.serving.settings.max_body_bytes
            message = f"the request body is larger than {limit} bytes"
        metrics.errors.labels("validation" if exc.status_code == 422 else code).inc()
        headers = getattr(exc, "headers", None)
        return error_response(exc.status_code, code, message, details, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = _validation_details(exc)
        if details and details[0]["type"] == "json_invalid":
            metrics.errors.labels("invalid_json").inc()
            response = error_response(400, "invalid_json", "the request body is not valid JSON")
        else:
            fallback = [problem("body", "invalid request", "value_error")]
            response = invalid(metrics, details or fallback)
        state = request.app.state.serving
        record_response(state, request, state.models.current, response, 0.0)
        return response

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        metrics.errors.labels("internal").inc()
        log.error(
            "internal error on %s %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
            exc_info=exc,
        )
        return error_response(
            500, "internal_error", "internal error; the server log has the details"
        )
