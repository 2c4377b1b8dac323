"""The dependencies of every route, declared once as ``Annotated`` aliases.

* :data:`StateDep`: the app's :class:`ServingState`;
* :data:`ClientDep`: a client route's admission: the key is checked (401) and the model this
  request runs on is read once (503 while none is loaded), so a request finishes on the
  model it started with, whatever a reload does meanwhile;
* :data:`ScoringDep`: a decision route's admission, as :data:`ClientDep`, with a refusal
  after the key was accepted (a query parameter it does not take, no model yet) recorded
  in the decision log's request errors;
* :data:`AdminDep`: an admin route's admission (401 / 403), giving the state.

Each also refuses query parameters the route does not take, or that are given twice (422
naming them), so a typo such as ``?explian=true`` is an error rather than a silently ignored
option, and ``?explain=false&explain=true`` is not quietly read as its last value.

The key dependencies are ``Security`` ones, so the OpenAPI document says which routes need
a key. All are ``async`` so FastAPI runs them inline, not in its threadpool; a client route
pays for one dependency call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from creditscore.serving.auth import API_KEY_HEADER, AuthConfig
from creditscore.serving.decisions import DecisionLog
from creditscore.serving.loader import LoadedModel, ModelManager
from creditscore.serving.metrics import ServiceMetrics
from creditscore.serving.request_errors import record_exception
from creditscore.serving.responses import problem
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


_QUERY_NAMES: dict[int, frozenset[str]] = {}


def _query_names(route: Any) -> frozenset[str]:
    """The query parameters a route takes (its own and its dependencies')."""
    names = _QUERY_NAMES.get(id(route))
    if names is None:
        found: set[str] = set()
        stack = [getattr(route, "dependant", None)]
        while stack:
            dependant = stack.pop()
            if dependant is not None:
                found.update(p.alias for p in dependant.query_params)
                stack.extend(dependant.dependencies)
        names = _QUERY_NAMES[id(route)] = frozenset(found)
    return names


def refuse_unknown_query(request: Request) -> None:
    """422 naming the query parameters this route does not take, or takes once but got
    several times (free when there are none)."""
    if not request.scope.get("query_string"):
        return
    allowed = _query_names(request.scope.get("route"))
    counts: dict[str, int] = {}
    for name, _ in request.query_params.multi_items():
        counts[name] = counts.get(name, 0) + 1
    takes = ", ".join(sorted(allowed)) or "none"
    details = [
        problem(f"query.{k}", f"unknown query parameter; this route takes: {takes}", "extra")
        if k not in allowed
        else problem(f"query.{k}", f"given {n} times; give it once", "repeated")
        for k, n in counts.items()
        if k not in allowed or n > 1
    ][:20]
    if details:
        first = details[0]
        raise HTTPException(
            422,
            detail={
                "error": "invalid_request",
                "message": f"{first['field']}: {first['message']}",
                "details": details,
            },
        )


async def get_state(request: Request) -> ServingState:
    refuse_unknown_query(request)
    state: ServingState = request.app.state.serving
    return state


async def admit_client(request: Request, key: PresentedKey) -> Admitted:
    state: ServingState = request.app.state.serving
    denial = state.auth.client_denial(key)
    if denial is not None:
        raise _refused(denial)
    refuse_unknown_query(request)
    loaded = state.models.current
    if loaded is None:
        raise HTTPException(
            503, detail={"error": "no_model", "message": "no model is loaded yet; see GET /ready"}
        )
    return Admitted(state, loaded)


async def admit_scoring(request: Request, key: PresentedKey) -> Admitted:
    start = time.perf_counter()
    try:
        return await admit_client(request, key)
    except HTTPException as exc:
        state: ServingState = request.app.state.serving
        latency_ms = (time.perf_counter() - start) * 1000.0
        record_exception(state, request, state.models.current, exc, latency_ms)
        raise


async def admit_admin(request: Request, key: PresentedKey) -> ServingState:
    state: ServingState = request.app.state.serving
    denial = state.auth.admin_denial(key)
    if denial is not None:
        raise _refused(denial)
    refuse_unknown_query(request)
    return state


StateDep = Annotated[ServingState, Depends(get_state)]
ClientDep = Annotated[Admitted, Depends(admit_client)]
ScoringDep = Annotated[Admitted, Depends(admit_scoring)]
AdminDep = Annotated[ServingState, Depends(admit_admin)]
