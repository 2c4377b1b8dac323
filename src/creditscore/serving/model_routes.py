"""The model being served: what it is (``GET /v1/model``) and swapping another in
(``POST /v1/admin/reload``, admin key)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from creditscore.exceptions import (
    BundleNotFoundError,
    CreditScoreError,
    RegistryError,
    RegistryUnavailableError,
)
from creditscore.serving.deps import AdminDep, ClientDep
from creditscore.serving.responses import (
    BODY_ERRORS,
    CLIENT_ERRORS,
    JSON,
    error_response,
    error_responses,
    invalid,
    json_response,
    problem,
    validation_failure,
)
from creditscore.serving.schemas import ModelOut, ReloadIn, ReloadOut

log = logging.getLogger("creditscore.serving")

router = APIRouter()


@router.get(
    "/v1/model",
    tags=["model"],
    summary="The model being served",
    description="Name, version, aliases, training time, metrics, threshold, risk bands, "
    "score scaling and the input schema.",
    response_model=ModelOut,
    responses=error_responses(*CLIENT_ERRORS),
)
async def get_model(admitted: ClientDep) -> Response:
    return json_response(admitted.model.info)


@router.post(
    "/v1/admin/reload",
    tags=["admin"],
    summary="Load a model now and swap it in",
    description="With no body: reload from the current source (the bundle folder, or the "
    "registry alias). `model_path` loads a bundle folder on the server; `alias` a registry "
    "alias (not both). In-flight requests finish on the old model. No bundle at the path, "
    "or no such alias, is a 404; a broken, untrusted or incompatible bundle is refused "
    "(409) and the old model keeps serving; an unreachable registry is a 503.",
    response_model=ReloadOut,
    responses=error_responses(
        *BODY_ERRORS,
        401,
        403,
        404,
        409,
        503,
        texts={
            404: "no bundle at model_path, or no such alias (or registry) to load",
            409: "the bundle was refused (broken, untrusted or incompatible); the current "
            "model keeps serving",
            503: "the registry could not be reached; the current model keeps serving",
        },
    ),
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/ReloadIn"}}},
        }
    },
)
async def reload_model(request: Request, state: AdminDep) -> Response:
    body = await request.body()
    try:
        wanted = ReloadIn.model_validate_json(body) if body.strip() else ReloadIn()
    except ValidationError as exc:
        return validation_failure(state.metrics, exc)
    if wanted.model_path and wanted.alias:
        return invalid(
            state.metrics, [problem("alias", "give model_path or alias, not both", "conflict")]
        )
    try:
        previous, loaded = await run_in_threadpool(
            state.models.reload, wanted.model_path, wanted.alias
        )
    except RegistryUnavailableError as exc:
        state.metrics.reloads.labels("registry_unreachable").inc()
        return error_response(503, "registry_unreachable", str(exc))
    except (BundleNotFoundError, RegistryError) as exc:
        state.metrics.reloads.labels("not_found").inc()
        return error_response(404, "model_not_found", str(exc))
    except CreditScoreError as exc:
        state.metrics.reloads.labels("refused").inc()
        log.error("reload refused: %s", exc)
        return error_response(409, "model_refused", str(exc))
    state.metrics.reloads.labels("ok").inc()
    return json_response(
        {
            "reloaded": True,
            "previous_version": previous.version if previous else None,
            "version": loaded.version,
            "source": loaded.source,
        }
    )
