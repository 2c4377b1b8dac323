"""Fuzz the API through its own OpenAPI document with every schemathesis check.

The reduced run of ``benchmarks/fuzz_api.py`` (which fuzzes the real service over HTTP with
the CLI, coverage phase included): every operation, positive (schema-valid) and negative
(schema-violating) examples, a small example budget, sent in process through ASGI with the
admin key (a client key too, so every route is reached). Every check of schemathesis runs
(no 5xx, documented statuses, content types and headers, response schemas, bad data
rejected, good data accepted, authentication enforced, ...), with the one exception the
project's ``schemathesis.toml`` states and explains. (Driven from a plain test rather than
``schema.parametrize``, whose lazy-fixture form does not run on this pytest.)
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from creditscore.serving.app import create_app

from .helpers import ADMIN_AUTH, make_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EXAMPLES = 12
CONFIG = Path(__file__).resolve().parents[2] / "schemathesis.toml"
OPERATIONS = {
    "/v1/decisions",
    "/v1/decisions/batch",
    "/v1/model",
    "/v1/admin/reload",
    "/health",
    "/ready",
    "/metrics",
    "/v1/explanations",
    "/v1/counterfactuals",
    "/v1/fairness",
}


def _check(operation: Any, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=ADMIN_AUTH)

    run()


@pytest.mark.slow
def test_api_conforms_to_its_openapi(trained, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings_ = make_settings(tmp_path, max_batch=20)
    app = create_app(settings_, trained.bundle, model_version="1")
    with TestClient(app):  # runs the lifespan: decision log writer on
        schema = schemathesis.openapi.from_asgi(
            "/openapi.json", app, config=SchemathesisConfig.from_path(CONFIG)
        )
        operations = [r.ok() for r in schema.get_all_operations()]
        assert {op.path for op in operations} == OPERATIONS
        for operation in operations:
            _check(operation, GenerationMode.POSITIVE)
            if operation.method.upper() == "POST":  # GETs take no input to negate
                _check(operation, GenerationMode.NEGATIVE)
        text = app.state.serving.metrics.render(None).decode()
    assert 'creditscore_errors_total{kind="internal"}' not in text
