"""FastAPI dependencies shared by every router (ours and the explanation routes).

All are ``async`` so FastAPI runs them inline rather than in its threadpool. The model
dependencies resolve through :func:`get_loaded_model`, which FastAPI caches per request, so
one request always sees one model even if a reload lands while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from creditscore.bundle import ModelBundle
from creditscore.scorer import Scorer
from creditscore.serving.auth import AuthConfig
from creditscore.serving.decisions import DecisionLog
from creditscore.serving.loader import LoadedModel, ModelManager
from creditscore.serving.metrics import ServiceMetrics
from creditscore.settings import Settings

API_KEY_HEADER = "X-API-Key"
api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Client key (CREDITSCORE_API_KEYS); admin routes need an admin key.",
)


@dataclass
class ServingState:
    """Everything the app holds, in ``app.state.serving``."""

    settings: Settings
    auth: AuthConfig
    models: ModelManager
    metrics: ServiceMetrics
    log: DecisionLog | None = None
    pii_key: bytes | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def get_state(request: Request) -> ServingState:
    state: ServingState = request.app.state.serving
    return state


async def get_loaded_model(request: Request) -> LoadedModel:
    loaded = get_state(request).models.current
    if loaded is None:
        raise HTTPException(503, detail="no model is loaded yet")
    return loaded


#: The model of this request (one per request, even across a reload).
CurrentModel = Annotated[LoadedModel, Depends(get_loaded_model)]
PresentedKey = Annotated[str | None, Security(api_key_header)]


async def get_scorer(loaded: CurrentModel) -> Scorer:
    return loaded.scorer


async def get_bundle(loaded: CurrentModel) -> ModelBundle:
    return loaded.bundle


async def get_model_info(loaded: CurrentModel) -> dict[str, Any]:
    """What GET /v1/model returns: name, version, aliases, metrics, policy, schema."""
    return loaded.info


async def get_decision_log(request: Request) -> DecisionLog | None:
    return get_state(request).log


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, detail=message, headers={"WWW-Authenticate": API_KEY_HEADER})


def check_client_key(auth: AuthConfig, key: str | None) -> HTTPException | None:
    """Why a client key is refused (a 401 to raise or return), or None when it is fine.

    The decision routes call this inline rather than through ``Depends`` (it is their hot
    path); every other route uses :func:`require_api_key`.
    """
    if auth.open_access:
        return None
    if not key:
        return _unauthorized(f"missing API key: send it in the {API_KEY_HEADER} header")
    if not (auth.clients.accepts(key) or auth.admin.accepts(key)):
        return _unauthorized("invalid API key")
    return None


async def require_api_key(request: Request, key: PresentedKey) -> None:
    """Client routes: a client key (an admin key is accepted too)."""
    denied = check_client_key(get_state(request).auth, key)
    if denied is not None:
        raise denied


async def require_admin_key(request: Request, key: PresentedKey) -> None:
    """Admin routes: an admin key (CREDITSCORE_ADMIN_KEYS)."""
    auth = get_state(request).auth
    if auth.open_admin:
        return
    if not key:
        raise _unauthorized(f"missing admin key: send it in the {API_KEY_HEADER} header")
    if auth.admin.accepts(key):
        return
    if auth.clients.accepts(key):
        raise HTTPException(403, detail="this route needs an admin key (CREDITSCORE_ADMIN_KEYS)")
    if not auth.admin:
        raise HTTPException(
            403, detail="admin routes are disabled: no CREDITSCORE_ADMIN_KEYS configured"
        )
    raise _unauthorized("invalid admin key")
