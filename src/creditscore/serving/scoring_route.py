"""The route class of the decision routes: admission without FastAPI's dependency solver.

A decision route is declared as any FastAPI route (``request``, the :data:`ScoringDep`
admission and the ``explain`` query parameter), so its OpenAPI document, its security
requirement and every refusal stay FastAPI's. Solving those dependencies, though, costs more
per request than scoring an application without reason codes. :class:`ScoringRoute` admits
the common request itself, in a few dictionary lookups:

- the key is accepted (or none is needed),
- a model is loaded,
- the query string is empty or exactly ``explain=<boolean>`` (the spellings pydantic reads
  as a boolean, in any case),

and calls the endpoint with what the dependencies would have given. Any other request
(a missing or wrong key, no model yet, an unknown, repeated, encoded or invalid query
parameter) goes through FastAPI's own handler, which refuses it exactly as before and records
the refusal. The fast path only ever admits what the full path would admit, with the same
values, so the two cannot disagree on an answer.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from creditscore.serving.auth import API_KEY_HEADER
from creditscore.serving.deps import Admitted, ServingState

#: The raw query strings admitted without the dependency solver, and the ``explain`` value
#: each gives (pydantic's boolean spellings, matched regardless of case).
_TRUE = ("1", "on", "t", "true", "y", "yes")
_FALSE = ("0", "off", "f", "false", "n", "no")
_HEADER = API_KEY_HEADER.lower().encode("latin-1")
#: The endpoint parameters this route class knows how to fill.
PARAMETERS = ("request", "admitted", "explain")

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def explain_value(query: bytes) -> tuple[bool, bool | None]:
    """``(admitted, explain)`` for a raw query string; ``admitted`` is False when FastAPI's
    handler must read it."""
    if not query:
        return True, None
    name, sep, value = query.partition(b"=")
    if name != b"explain" or not sep:
        return False, None
    text = value.decode("latin-1").lower()
    if text in _TRUE:
        return True, True
    if text in _FALSE:
        return True, False
    return False, None


def presented_key(scope: Mapping[str, Any]) -> str | None:
    """The ``X-API-Key`` header as the security dependency reads it (the first one sent)."""
    for name, value in scope["headers"]:
        if name == _HEADER:
            return value.decode("latin-1")
    return None


class ScoringRoute(APIRoute):
    """A decision route: the common request is admitted inline, every other one by
    FastAPI's handler (see the module docs)."""

    def get_route_handler(self) -> Handler:
        full = super().get_route_handler()
        names = tuple(inspect.signature(self.endpoint).parameters)
        if names != PARAMETERS:
            raise TypeError(f"{self.path}: a ScoringRoute endpoint takes {PARAMETERS}, not {names}")
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            scope = request.scope
            ok, explain = explain_value(scope.get("query_string", b""))
            if ok:
                state: ServingState = request.app.state.serving
                loaded = state.models.current
                if loaded is not None and state.auth.client_denial(presented_key(scope)) is None:
                    response: Response = await endpoint(request, Admitted(state, loaded), explain)
                    return response
            return await full(request)

        return handler
