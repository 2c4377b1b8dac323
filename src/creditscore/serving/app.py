"""The app factory and its lifespan.

``create_app(settings, bundle)`` builds everything cheap and checks the configuration (API
keys, database URL) at once, so a misconfigured service fails before it binds a port. The
lifespan loads the model if none was given (bundle folder or registry alias), starts the
decision log's writer and, when serving a registry alias with ``reload_interval`` > 0, a
poller that swaps in the new version when the alias moves. Shutdown stops the poller and
flushes the decision log.

One lean ASGI middleware does what every request needs: refuse a body that is not JSON
(415) and record request count and latency by route template. FastAPI's own
``max_body_size`` answers 413.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditscore.bundle import ModelBundle
from creditscore.serving import monitoring_routes, routes
from creditscore.serving.auth import AuthConfig
from creditscore.serving.decisions import DecisionLog
from creditscore.serving.deps import ServingState
from creditscore.serving.loader import LoadedModel, ModelManager, build_loaded, default_model_name
from creditscore.serving.metrics import ServiceMetrics
from creditscore.serving.schemas import ErrorOut, ReloadIn
from creditscore.settings import Settings, get_settings

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
_BODY_METHODS = {"POST", "PUT", "PATCH"}
_UNSUPPORTED = json.dumps(
    {
        "error": "unsupported_media_type",
        "message": "send the body as JSON with the header Content-Type: application/json",
        "details": [],
    }
).encode()


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


class BodyTooLarge(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(413, "request body too large")


def _error_bytes(error: str, message: str) -> bytes:
    return json.dumps({"error": error, "message": message, "details": []}).encode()


class ServingMiddleware:
    """415 for a non-JSON body, 413 for one over the size limit; request count and latency
    by route template."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self._too_large = _error_bytes(
            "body_too_large", f"the request body is larger than {max_body_bytes} bytes"
        )

    async def _refuse(self, send: Send, status: int, kind: str, body: bytes) -> None:
        self.metrics.errors.labels(kind).inc()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        method = scope["method"]
        status = 500
        if method in _BODY_METHODS:
            content_type = None
            length = -1  # unknown: chunked
            chunked = False
            for name, value in scope["headers"]:
                if name == b"content-type":
                    content_type = value
                elif name == b"content-length":
                    length = int(value) if value.strip().isdigit() else -1
                elif name == b"transfer-encoding":
                    chunked = True
            if (length > 0 or chunked) and (content_type is None or not _is_json(content_type)):
                await self._refuse(send, 415, "unsupported_media_type", _UNSUPPORTED)
                self._observe(scope, method, 415, start)
                return
            if length > self.max_body_bytes:
                await self._refuse(send, 413, "body_too_large", self._too_large)
                self._observe(scope, method, 413, start)
                return
            if chunked and length < 0:
                receive = self._limited(receive)

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._observe(scope, method, status, start)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body_bytes:
                raise BodyTooLarge
            return message

        return limited

    def _observe(self, scope: Scope, method: str, status: int, start: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        self.metrics.observe_request(method, path, status, time.perf_counter() - start)


# --------------------------------------------------------------------------- errors
def _install_error_handlers(app: FastAPI, metrics: ServiceMetrics) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _ERROR_CODES.get(exc.status_code, "http_error")
        metrics.errors.labels(code).inc()
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 413:
            limit = request.app.state.serving.settings.max_body_bytes
            message = f"the request body is larger than {limit} bytes"
        return routes.error_response(
            exc.status_code, code, message, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = []
        for e in exc.errors():
            loc = [p for p in e.get("loc", ()) if p != "body"]
            details.append(
                {
                    "field": ".".join(str(p) for p in loc) or "body",
                    "message": str(e.get("msg", "invalid value")),
                    "type": str(e.get("type", "value_error")),
                }
            )
        if details and details[0]["type"] == "json_invalid":
            metrics.errors.labels("invalid_json").inc()
            return routes.error_response(400, "invalid_json", "the request body is not valid JSON")
        metrics.errors.labels("validation").inc()
        first = details[0] if details else {"field": "body", "message": "invalid request"}
        return routes.error_response(
            422, "invalid_request", f"{first['field']}: {first['message']}", details
        )

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
        return routes.error_response(
            500, "internal_error", "internal error; the server log has the details"
        )


# --------------------------------------------------------------------------- OpenAPI
def _install_openapi(app: FastAPI, state: ServingState) -> None:
    """The OpenAPI document, with request bodies from the model being served right now."""
    cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        loaded = state.models.current
        if "doc" in cache and cache["loaded"] is loaded:
            return cache["doc"]
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        if loaded is not None:
            application = loaded.application_model.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            schemas.update(application.pop("$defs", {}))
        else:
            application = {"type": "object", "title": "Application"}
        schemas["Application"] = application
        schemas["BatchRequest"] = {
            "type": "object",
            "title": "BatchRequest",
            "properties": {
                "applications": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Application"},
                    "minItems": 1,
                    "maxItems": state.settings.max_batch,
                }
            },
            "required": ["applications"],
            "additionalProperties": False,
        }
        schemas["ReloadIn"] = ReloadIn.model_json_schema()
        fairness_in = schemas.get("FairnessIn", {}).get("properties", {}).get("rows")
        if fairness_in is not None:  # labelled rows: an application plus its outcome
            target = (loaded.bundle.metadata or {}).get("target") if loaded else None
            labelled = {
                **application,
                "title": "LabelledApplication",
                "additionalProperties": True,
                "properties": dict(application.get("properties", {})),
            }
            if target:
                labelled["properties"][target] = {
                    "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
                    "description": "the outcome (the model's bad value marks a default)",
                }
                labelled["required"] = [*application.get("required", []), target]
            schemas["LabelledApplication"] = labelled
            fairness_in["items"] = {"$ref": "#/components/schemas/LabelledApplication"}
        # every 422 (ours and any router's) has our error body, not FastAPI's default
        error_ref = {"$ref": "#/components/schemas/ErrorOut"}
        for item in doc.get("paths", {}).values():
            for operation in item.values():
                response = operation.get("responses", {}).get("422")
                if response is not None:
                    response["content"] = {"application/json": {"schema": error_ref}}
        error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in error_schema.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
        schemas.setdefault("ErrorOut", error_schema)
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        cache.update(doc=doc, loaded=loaded)
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


# --------------------------------------------------------------------------- factory
@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServingState = app.state.serving
    settings = state.settings
    if state.models.current is None:
        loaded = await run_in_threadpool(state.models.load)
        state.models.set(loaded)
    if state.log is not None:
        state.log.start()
    stop = threading.Event()
    poller = None
    current = state.models.current
    if settings.reload_interval > 0 and current is not None and current.from_registry:
        poller = threading.Thread(
            target=state.models.poll_forever,
            args=(settings.reload_interval, stop),
            name="model-poller",
            daemon=True,
        )
        poller.start()
    try:
        yield
    finally:
        stop.set()
        if poller is not None:
            poller.join(5)
        if state.log is not None:
            await run_in_threadpool(state.log.close)


def create_app(
    settings: Settings | None = None,
    bundle: ModelBundle | None = None,
    *,
    model_version: str | None = None,
    loaded: LoadedModel | None = None,
) -> FastAPI:
    """The scoring service. ``bundle`` (or a ready ``loaded`` model) skips loading at start;
    otherwise the lifespan loads ``settings.model_path`` or the registry alias."""
    settings = settings or get_settings()
    auth = AuthConfig.from_settings(settings.api_keys, settings.admin_keys, settings.dev_mode)
    if not settings.dev_mode and not settings.pii_key:
        log.warning(
            "CREDITSCORE_PII_KEY is not set: protected and PII fields are dropped from the "
            "decision log instead of being stored as keyed hashes"
        )
    metrics = ServiceMetrics()
    models = ModelManager(
        model_name=settings.model_name or default_model_name(),
        alias=settings.model_alias,
        tracking_uri=settings.tracking_uri,
        model_path=settings.model_path,
        pii_fields=tuple(settings.pii_fields),
        on_swap=None,
    )
    decision_log = DecisionLog(
        settings.decision_log_url(),
        settings.decision_spool_path(),
        queue_size=settings.log_queue_size,
        batch_size=settings.log_batch_size,
        flush_interval=settings.log_flush_interval,
        retry_interval=settings.log_retry_interval,
    )
    state = ServingState(
        settings=settings,
        auth=auth,
        models=models,
        metrics=metrics,
        log=decision_log,
        pii_key=settings.pii_key.get_secret_value().encode() if settings.pii_key else None,
    )
    from creditscore import __version__

    app = FastAPI(
        title="creditscore",
        version=__version__,
        description="Credit decisions from the served model: probability of default, score "
        "points, risk band and approve / refer / decline, each stored in the decision log. "
        "Send the API key in the X-API-Key header.",
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.serving = state
    models.on_swap = metrics.set_model
    if loaded is None and bundle is not None:
        version = model_version or str(bundle.metadata.get("version") or "local")
        loaded = build_loaded(
            bundle, version, f"memory:{bundle.name}", pii_fields=tuple(settings.pii_fields)
        )
    if loaded is not None:
        models.set(loaded)
    _install_error_handlers(app, metrics)
    app.add_middleware(ServingMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    app.include_router(routes.router)
    app.include_router(monitoring_routes.router)
    _include_optional_routers(app)
    _install_openapi(app, state)
    return app


def _include_optional_routers(app: FastAPI) -> None:
    import importlib

    try:
        explain_routes = importlib.import_module("creditscore.serving.explain_routes")
    except ModuleNotFoundError as exc:
        if exc.name != "creditscore.serving.explain_routes":
            raise
        return
    app.include_router(explain_routes.router)


def _factory() -> FastAPI:
    """Entry point of each uvicorn worker process (settings from the environment)."""
    return create_app()


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    model_path: str | None = None,
    alias: str | None = None,
    settings: Settings | None = None,
) -> None:
    """Run the service with uvicorn (what ``creditscore serve`` calls).

    Everything is checked before a port is bound: keys, database URL, and the model itself
    is loaded once here, so a bad bundle or an unreachable registry is one clear error.
    With several workers each process loads its own copy, configured through the
    environment (``CREDITSCORE_MODEL_PATH`` / ``CREDITSCORE_MODEL_ALIAS``).
    """
    import os

    import uvicorn

    if model_path and alias:
        from creditscore.exceptions import ConfigError

        raise ConfigError("give --model PATH or --alias NAME, not both")
    if model_path:
        os.environ["CREDITSCORE_MODEL_PATH"] = str(model_path)
    if alias:
        os.environ["CREDITSCORE_MODEL_ALIAS"] = alias
        os.environ.pop("CREDITSCORE_MODEL_PATH", None)
    if settings is None:
        get_settings.cache_clear()
        settings = get_settings()
    if model_path or alias:
        settings = settings.model_copy(
            update={
                "model_path": Path(model_path).resolve() if model_path else None,
                "model_alias": alias or settings.model_alias,
            }
        )
    app = create_app(settings)  # checks keys and database URL
    state: ServingState = app.state.serving
    loaded = state.models.load()  # a bad model fails here, with its message
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": settings.access_log,
        "log_level": "info",
        "timeout_graceful_shutdown": 30,
        "timeout_keep_alive": 30,
    }
    if workers > 1:
        uvicorn.run("creditscore.serving.app:_factory", factory=True, workers=workers, **common)
    else:
        state.models.set(loaded)
        uvicorn.run(app, **common)
