"""The dependencies of every route, declared once as ``Annotated`` aliases.

* :data:`StateDep`: the app's :class:`ServingState`;
* :data:`ClientDep`: a client route's admission: the key is checked (401) and the model this
  request runs on is read once (503 while none is loaded), so a request finishes on the
  model it started with, whatever a reload does meanwhile;
* :data:`AdminDep`: an admin route's admission (401 / 403), giving the state.

The key dependencies are ``Security`` ones, so the OpenAPI document says which routes need
a key. All are ``async`` so FastAPI runs them inline, not in its threadpool; a client route
pays for one dependency call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from creditscore.serving.auth import API_KEY_HEADER, AuthConfig
from creditscore.serving.decisions import DecisionLog
from creditscore.serving.loader import LoadedModel, ModelManager
from creditscore.serving.metrics import ServiceMetrics
from creditscore.settings import Settings

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Client key (CREDITSCORE_API_KEYS); admin routes need an admin key "
    "(CREDITSCORE_ADMIN_KEYS).",
)
PresentedKey = Annotated[str | None, Security(api_key_header)]


@dataclass
class ServingState:
    """Everything the app holds, in ``app.state.serving``."""

    settings: Settings
    auth: AuthConfig
    models: ModelManager
    metrics: ServiceMetrics
    log: DecisionLog | None = None
    pii_key: bytes | None = None


@dataclass(frozen=True, slots=True)
class Admitted:
    """A client request let in: the state, and the model it runs on."""

    state: ServingState
    model: LoadedModel


def _refused(denial: tuple[int, str]) -> HTTPException:
    status, message = denial
    code = "unauthorized" if status == 401 else "forbidden"
    headers = {"WWW-Authenticate": API_KEY_HEADER} if status == 401 else None
    return HTTPException(status, detail={"error": code, "message": message}, headers=headers)


async def get_state(request: Request) -> ServingState:
    state: ServingState = request.app.state.serving
    return state


async def admit_client(request: Request, key: PresentedKey) -> Admitted:
    state: ServingState = request.app.state.serving
    denial = state.auth.client_denial(key)
    if denial is not None:
        raise _refused(denial)
    loaded = state.models.current
    if loaded is None:
        raise HTTPException(
            503, detail={"error": "no_model", "message": "no model is loaded yet; see GET /ready"}
        )
    return Admitted(state, loaded)


async def admit_admin(request: Request, key: PresentedKey) -> ServingState:
    state: ServingState = request.app.state.serving
    denial = state.auth.admin_denial(key)
    if denial is not None:
        raise _refused(denial)
    return state


StateDep = Annotated[ServingState, Depends(get_state)]
ClientDep = Annotated[Admitted, Depends(admit_client)]
AdminDep = Annotated[ServingState, Depends(admit_admin)]
