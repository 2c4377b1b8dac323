"""``creditscore serve``: the decision API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from creditscore.cli.app import app
from creditscore.cli.common import ConfigOption, NameOption, model_name


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind (0.0.0.0 for every one)")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes")] = 1,
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="serve this bundle folder instead of the registry"),
    ] = None,
    alias: Annotated[
        str | None,
        typer.Option("--alias", help="registry alias to serve (default: champion)"),
    ] = None,
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the decision API (FastAPI on uvicorn), with an audit log of every decision.

    Routes: POST /v1/decisions and /v1/decisions/batch, /v1/explanations,
    /v1/counterfactuals, /v1/fairness; GET /v1/model, /health, /ready, /metrics; OpenAPI
    docs at /docs.

    Clients send X-API-Key: set CREDITSCORE_API_KEYS (comma-separated keys or sha256:HEX),
    and CREDITSCORE_ADMIN_KEYS for POST /v1/admin/reload; CREDITSCORE_DEV_MODE=true runs
    without keys (never in production). Every decision is logged to CREDITSCORE_DATABASE_URL
    (default: SQLite in CREDITSCORE_HOME). The registry alias is re-read every
    CREDITSCORE_RELOAD_INTERVAL seconds and a moved alias is swapped in without dropping
    requests. The registered model is --name, else CREDITSCORE_MODEL_NAME, else the `name`
    of ./creditscore.yaml (or of --config), else the German demo's.
    """
    import os

    from creditscore.serving.app import serve as run_service

    if model is None:
        # the registered model to serve: --name, else CREDITSCORE_MODEL_NAME, else the
        # project's `name` (workers read it from the environment too)
        os.environ["CREDITSCORE_MODEL_NAME"] = model_name(name, config)
    run_service(
        host=host,
        port=port,
        workers=workers,
        model_path=str(model) if model else None,
        alias=alias,
    )
