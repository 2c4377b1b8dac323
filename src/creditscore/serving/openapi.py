"""The OpenAPI document, with the request bodies of the model being served right now.

The decision and explanation routes read their bodies themselves (see
``decision_routes``), so their schemas are filled in here from the served model's generated
request model, and again after a reload. Every error response has our error body
(``ErrorOut``), FastAPI's own 422 included; and the document says which routes need a key
as the service is configured (in dev mode with no key configured, client routes need none).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from creditscore.serving.deps import ServingState
from creditscore.serving.schemas import ErrorOut, ReloadIn

ADMIN_PREFIX = "/v1/admin/"


def _batch_request(max_batch: int) -> dict[str, Any]:
    return {
        "type": "object",
        "title": "BatchRequest",
        "properties": {
            "applications": {
                "type": "array",
                "description": "each a JSON object; objects that are not valid applications "
                "are reported by index in the response's `errors`, not scored",
                "items": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/Application"},
                        {"type": "object", "title": "InvalidApplication"},
                    ]
                },
                "minItems": 1,
                "maxItems": max_batch,
            }
        },
        "required": ["applications"],
        "additionalProperties": False,
    }


def _labelled(application: dict[str, Any], target: str | None) -> dict[str, Any]:
    """An application plus its outcome: one row of POST /v1/fairness."""
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
    return labelled


def build_openapi(app: FastAPI, state: ServingState) -> dict[str, Any]:
    loaded = state.models.current
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
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
    schemas["BatchRequest"] = _batch_request(state.settings.max_batch)
    schemas["ReloadIn"] = ReloadIn.model_json_schema()
    rows = schemas.get("FairnessIn", {}).get("properties", {}).get("rows")
    if rows is not None:
        target = (loaded.bundle.metadata or {}).get("target") if loaded else None
        schemas["LabelledApplication"] = _labelled(application, target)
        rows["items"] = {"$ref": "#/components/schemas/LabelledApplication"}
    error_ref = {"$ref": "#/components/schemas/ErrorOut"}
    open_access = state.auth.open_access
    for path, item in doc.get("paths", {}).items():
        for operation in item.values():
            response = operation.get("responses", {}).get("422")
            if response is not None:  # ours and FastAPI's own: our error body
                response["content"] = {"application/json": {"schema": error_ref}}
            if open_access and not path.startswith(ADMIN_PREFIX):
                operation.pop("security", None)
                operation.get("responses", {}).pop("401", None)
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in error_schema.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas.setdefault("ErrorOut", error_schema)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return doc


def install_openapi(app: FastAPI, state: ServingState) -> None:
    """``app.openapi`` builds the document once per served model."""
    cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        loaded = state.models.current
        if "doc" not in cache or cache["loaded"] is not loaded:
            cache.update(doc=build_openapi(app, state), loaded=loaded)
        doc: dict[str, Any] = cache["doc"]
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
