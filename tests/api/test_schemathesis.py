"""Fuzz the API through its own OpenAPI document: no 5xx, no response off the schema.

Every operation gets bounded positive (schema-valid) and negative (schema-violating)
examples from schemathesis, sent in process through ASGI with a valid key. (Driven from a
plain test rather than ``schema.parametrize``, whose lazy-fixture form does not run on this
pytest.)
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from creditscore.serving.app import create_app

from .helpers import AUTH, make_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EXAMPLES = 30
#: Every route but the admin reload (loading arbitrary paths), which has its own tests.
FUZZED = {
    "/v1/decisions",
    "/v1/decisions/batch",
    "/v1/model",
    "/health",
    "/ready",
    "/metrics",
    "/v1/explanations",
    "/v1/counterfactuals",
    "/v1/fairness",
}


def _check(operation: Any, mode: GenerationMode) -> None:
    excluded = []
    if operation.path == "/v1/fairness":
        # Schema-valid reports can still be meaningless (groups naming columns the rows do
        # not have, one outcome class only): those are 422s naming the problem, which the
        # schema cannot express. No 5xx and schema-conforming responses are still checked.
        excluded.append(positive_data_acceptance)
    if mode is GenerationMode.NEGATIVE:
        # Negative cases may negate the key header (which we put back) or add unknown query
        # parameters (ignored, as HTTP APIs do), so "was it rejected" is not meaningful here;
        # 5xx and response-schema checks still apply, and tests/api/test_bad_input.py checks
        # the rejection of every kind of bad body.
        excluded.append(negative_data_rejection)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=AUTH, excluded_checks=excluded)

    run()


@pytest.mark.slow
def test_api_conforms_to_its_openapi(trained, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(make_settings(tmp_path, max_batch=20), trained.bundle, model_version="1")
    with TestClient(app):  # runs the lifespan: decision log writer on
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [r.ok() for r in schema.get_all_operations()]
        paths = {op.path for op in operations}
        assert paths >= FUZZED
        for operation in operations:
            if operation.path not in FUZZED:
                continue
            _check(operation, GenerationMode.POSITIVE)
            if operation.method.upper() == "POST":  # GETs take no input to negate
                _check(operation, GenerationMode.NEGATIVE)
        text = app.state.serving.metrics.render(None).decode()
    assert 'creditscore_errors_total{kind="internal"}' not in text
