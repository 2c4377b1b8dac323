"""The app factory and its lifespan: the one place the service is put together.

``create_app(settings, bundle)`` builds everything cheap and checks the configuration (API
keys, database URL) at once, so a misconfigured service fails before it binds a port. It
gathers the routers of :data:`ROUTERS` (adding a router is one line there), the middleware,
the error handlers and the OpenAPI document. The lifespan loads the model if none was given
(bundle folder or registry alias), starts the decision log's writer and, when serving a
registry alias with ``reload_interval`` > 0, a poller that swaps in the new version when the
alias moves. Shutdown stops the poller and flushes the decision log.

Only the runtime core is imported here: the explanation routes import their offline
machinery (fairness, LIME) when a request needs it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool

from creditscore import __version__
from creditscore.bundle import ModelBundle
from creditscore.serving import (
    decision_routes,
    docs_routes,
    explain_routes,
    model_routes,
    monitoring_routes,
    operations_routes,
)
from creditscore.serving.auth import AuthConfig
from creditscore.serving.decisions import DecisionLog
from creditscore.serving.deps import ServingState
from creditscore.serving.errors import install_error_handlers
from creditscore.serving.loader import LoadedModel, ModelManager, build_loaded, default_model_name
from creditscore.serving.metrics import ServiceMetrics
from creditscore.serving.middleware import ServingMiddleware
from creditscore.serving.openapi import install_openapi
from creditscore.settings import Settings, get_settings

log = logging.getLogger("creditscore.serving")

#: Every router of the service, in the order the docs list them.
ROUTERS: tuple[APIRouter, ...] = (
    decision_routes.router,
    model_routes.router,
    explain_routes.router,
    operations_routes.router,
    monitoring_routes.router,
    docs_routes.router,
)


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
    app = FastAPI(
        title="creditscore",
        version=__version__,
        description="Credit decisions from the served model: probability of default, score "
        "points, risk band and approve / refer / decline, each stored in the decision log. "
        "Send the API key in the X-API-Key header.",
        lifespan=lifespan,
        docs_url=None,  # served from the package by docs_routes, not from a CDN
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
    install_error_handlers(app, metrics)
    app.add_middleware(ServingMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    for router in ROUTERS:
        app.include_router(router)
    install_openapi(app, state)
    return app


def _factory() -> FastAPI:
    """Entry point of each uvicorn worker process (settings from the environment)."""
    app = create_app()
    app.state.serving.models.freezes_heap = True
    return app


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
        state.models.freezes_heap = True
        state.models.set(loaded)
        uvicorn.run(app, **common)
