"""The decision routes admit the common request without FastAPI's dependency solver, and
every other request exactly as FastAPI would (the same answer, the same record)."""

from __future__ import annotations

from typing import Any

import fastapi.routing
import pytest
from fastapi.testclient import TestClient

from creditscore.serving.scoring_route import explain_value, presented_key

from .helpers import AUTH, application


@pytest.fixture
def solver_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the calls of FastAPI's dependency solver by the route handlers."""
    calls: list[int] = []
    real = fastapi.routing.solve_dependencies

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    return calls


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", (True, None)),
        (b"explain=true", (True, True)),
        (b"explain=TRUE", (True, True)),
        (b"explain=Yes", (True, True)),
        (b"explain=1", (True, True)),
        (b"explain=off", (True, False)),
        (b"explain=f", (True, False)),
        (b"explain=", (False, None)),
        (b"explain", (False, None)),
        (b"explain=maybe", (False, None)),
        (b"explain=%74rue", (False, None)),  # encoded: FastAPI decodes it
        (b"explain=true&explain=false", (False, None)),
        (b"explian=true", (False, None)),
        (b"explain=true&", (False, None)),
    ],
)
def test_explain_value_admits_only_plain_booleans(
    query: bytes, expected: tuple[bool, bool | None]
) -> None:
    assert explain_value(query) == expected


def test_presented_key_is_the_first_header_of_that_name() -> None:
    scope = {"headers": [(b"x-api-key", b"one"), (b"x-api-key", b"two")]}
    assert presented_key(scope) == "one"
    assert presented_key({"headers": [(b"accept", b"*/*")]}) is None


def test_common_requests_skip_the_solver_and_match_it(
    client: TestClient,
    rows: list[dict[str, Any]],
    features: list[str],
    solver_calls: list[int],
) -> None:
    body = application(rows[0], features)
    answers = {}
    for query in ("", "?explain=true", "?explain=FALSE"):
        r = client.post("/v1/decisions" + query, json=body, headers=AUTH)
        assert r.status_code == 200, r.text
        answers[query] = r.json()
    assert solver_calls == []
    # the same requests through FastAPI's handler: an encoded value makes it take them
    encoded_forms = {"?explain=true": "?explain=%74rue", "?explain=FALSE": "?explain=%46ALSE"}
    for query, encoded in encoded_forms.items():
        r = client.post("/v1/decisions" + encoded, json=body, headers=AUTH)
        assert r.status_code == 200, r.text
        fast, full = answers[query], r.json()
        for d in (fast, full):
            del d["request_id"]
        assert fast == full
    assert len(solver_calls) == 2
    assert answers["?explain=true"]["reasons"]
    assert answers["?explain=FALSE"]["reasons"] == []
    r = client.post("/v1/decisions/batch?explain=true", json={"applications": [body]}, headers=AUTH)
    assert r.status_code == 200
    assert r.json()["decisions"][0]["reasons"]
    assert len(solver_calls) == 2


@pytest.mark.parametrize(
    ("query", "headers", "status"),
    [
        ("", {}, 401),
        ("", {"X-API-Key": "wrong"}, 401),
        ("?explain=maybe", AUTH, 422),
        ("?explain=true&explain=false", AUTH, 422),
        ("?explian=true", AUTH, 422),
    ],
)
def test_refusals_go_through_fastapi(
    client: TestClient,
    rows: list[dict[str, Any]],
    features: list[str],
    solver_calls: list[int],
    query: str,
    headers: dict[str, str],
    status: int,
) -> None:
    r = client.post("/v1/decisions" + query, json=application(rows[0], features), headers=headers)
    assert r.status_code == status, r.text
    assert solver_calls, "a refusal must be FastAPI's own"
    assert r.json()["error"] in {"unauthorized", "invalid_request"}


def test_no_model_yet_is_a_503_from_fastapi(
    client: TestClient,
    rows: list[dict[str, Any]],
    features: list[str],
    solver_calls: list[int],
) -> None:
    client.app.state.serving.models.current = None  # type: ignore[attr-defined]
    r = client.post("/v1/decisions", json=application(rows[0], features), headers=AUTH)
    assert r.status_code == 503
    assert r.json()["error"] == "no_model"
    assert solver_calls
