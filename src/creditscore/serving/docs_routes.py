"""The API's documentation pages, served from the package: Swagger UI at ``/docs`` and ReDoc
at ``/redoc``, with no CDN, so they work on a machine with no internet access (a bank's
network).

The JavaScript and CSS come from the ``fastapi-offline`` package, which ships Swagger UI's
and ReDoc's standalone bundles as package data; the pages are FastAPI's own
(``get_swagger_ui_html`` / ``get_redoc_html``) pointed at them. Only those files are served
(a fixed list, so no path from the request reaches the file system).
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(include_in_schema=False)

ASSETS_PREFIX = "/docs/assets"
#: The files the pages load, and their media types.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
_CACHE = {"Cache-Control": "public, max-age=86400"}


@lru_cache(maxsize=1)
def assets_folder() -> Path:
    """The folder of the bundled Swagger UI and ReDoc files."""
    return Path(str(files("fastapi_offline") / "static"))


def _urls(request: Request) -> tuple[str, str]:
    """The OpenAPI document's URL and the assets' prefix, behind any proxy prefix."""
    root = request.scope.get("root_path", "").rstrip("/")
    return f"{root}{request.app.openapi_url}", f"{root}{ASSETS_PREFIX}"


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    openapi_url, assets = _urls(request)
    return get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon.png",
        oauth2_redirect_url=None,
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    openapi_url, assets = _urls(request)
    return get_redoc_html(
        openapi_url=openapi_url,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{assets}/redoc.standalone.js",
        redoc_favicon_url=f"{assets}/favicon.png",
        with_google_fonts=False,
    )


@router.get(ASSETS_PREFIX + "/{name}")
async def asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, detail=f"no such documentation asset: {name!r}")
    return FileResponse(assets_folder() / name, media_type=media_type, headers=_CACHE)
