"""Every client mistake is a 4xx with a JSON body naming the field, never a 500."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import pytest
from fastapi.testclient import TestClient

from creditscore.exceptions import ConfigError
from creditscore.serving.app import create_app

from .helpers import ADMIN, ADMIN_AUTH, AUTH, KEY, application, make_settings


@pytest.fixture
def app_row(rows: list[dict[str, Any]], features: list[str]) -> dict[str, Any]:
    return application(rows[0], features)


def _send(client: TestClient, body: str, **headers: str) -> Any:
    return client.post(
        "/v1/decisions",
        content=body.encode(),
        headers={"content-type": "application/json", **AUTH, **headers},
    )


def _json(value: Any) -> str:
    import json

    return json.dumps(value, allow_nan=True)


@pytest.mark.parametrize(
    ("change", "field", "type_"),
    [
        ({"credit_amount": "4000"}, "credit_amount", "float_type"),
        ({"credit_amount": True}, "credit_amount", "float_type"),
        ({"credit_amount": [1]}, "credit_amount", "float_type"),
        ({"credit_amount": None}, "credit_amount", "float_type"),
        ({"credit_amount": math.nan}, "credit_amount", "finite_number"),
        ({"credit_amount": math.inf}, "credit_amount", "finite_number"),
        ({"duration_in_month": -math.inf}, "duration_in_month", "finite_number"),
        ({"credit_amount": 1e300}, "credit_amount", "less_than_equal"),
        ({"purpose": "spaceship"}, "purpose", "literal_error"),
        ({"purpose": 3}, "purpose", "literal_error"),
        ({"shoe_size": 44}, "shoe_size", "extra_forbidden"),
        ({"application_id": 12}, "application_id", "string_type"),
    ],
)
def test_bad_field_is_a_422_naming_it(
    client: TestClient, app_row: dict[str, Any], change: dict[str, Any], field: str, type_: str
) -> None:
    r = _send(client, _json({**app_row, **change}))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_request"
    assert body["details"][0]["field"] == field
    assert body["details"][0]["type"] == type_
    assert body["message"].startswith(f"{field}: ")


def test_unknown_category_lists_what_is_expected(
    client: TestClient, app_row: dict[str, Any]
) -> None:
    r = _send(client, _json({**app_row, "purpose": "spaceship"}))
    message = r.json()["details"][0]["message"]
    assert "unknown category" in message
    assert "'car (new)'" in message
    assert "got 'spaceship'" in message  # the value is named
    r = _send(client, _json({**app_row, "duration_in_month": "long"}))
    assert r.json()["details"][0]["message"] == "expected a JSON number; got 'long'"


def test_missing_fields_are_each_named(client: TestClient, app_row: dict[str, Any]) -> None:
    body = {k: v for k, v in app_row.items() if k not in ("purpose", "credit_amount")}
    r = _send(client, _json(body))
    assert r.status_code == 422
    assert {(d["field"], d["type"]) for d in r.json()["details"]} == {
        ("purpose", "missing"),
        ("credit_amount", "missing"),
    }


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ("{not json", 400, "invalid_json"),
        ("", 400, "invalid_json"),
        ('{"a": 1,}', 400, "invalid_json"),
        ("[1, 2]", 422, "invalid_request"),
        ('"text"', 422, "invalid_request"),
        ("null", 422, "invalid_request"),
    ],
)
def test_malformed_bodies(client: TestClient, body: str, status: int, error: str) -> None:
    r = _send(client, body)
    assert r.status_code == status, r.text
    assert r.json()["error"] == error


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(
    client: TestClient, app_row: dict[str, Any], content_type: str | None
) -> None:
    headers = {**AUTH}
    if content_type:
        headers["content-type"] = content_type
    for path in ("/v1/decisions", "/v1/decisions/batch"):
        r = client.post(path, content=_json(app_row).encode(), headers=headers)
        assert r.status_code == 415, r.text
        assert r.json()["error"] == "unsupported_media_type"


def test_json_with_charset_is_accepted(client: TestClient, app_row: dict[str, Any]) -> None:
    r = _send(client, _json(app_row), **{"content-type": "application/json; charset=utf-8"})
    assert r.status_code == 200, r.text


def test_body_over_the_limit_is_413(trained, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(make_settings(tmp_path, max_body_bytes=2000), trained.bundle)
    with TestClient(app) as c:
        big = '{"applications": [' + ",".join(["{}"] * 2000) + "]}"
        r = c.post(
            "/v1/decisions/batch", content=big, headers={"content-type": "application/json", **AUTH}
        )
        assert r.status_code == 413
        assert r.json()["error"] == "body_too_large"

        def chunks():  # no Content-Length: the limit is enforced while reading
            for _ in range(100):
                yield b" " * 100

        r = c.post(
            "/v1/decisions", content=chunks(), headers={"content-type": "application/json", **AUTH}
        )
        assert r.status_code == 413, r.text


@pytest.mark.parametrize(
    ("body", "field", "type_"),
    [
        ({"applications": []}, "applications", "too_short"),
        ({"applications": "x"}, "applications", "list_type"),
        ({}, "applications", "missing"),
        ({"applications": [{}], "extra": 1}, "extra", "extra_forbidden"),
    ],
)
def test_batch_envelope_errors(client: TestClient, body: Any, field: str, type_: str) -> None:
    r = client.post("/v1/decisions/batch", json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert (field, type_) in {(d["field"], d["type"]) for d in r.json()["details"]}


def test_batch_items_must_be_objects_as_the_schema_says(
    client: TestClient, app_row: dict[str, Any]
) -> None:
    items = client.get("/openapi.json").json()["components"]["schemas"]["BatchRequest"]
    items = items["properties"]["applications"]["items"]["anyOf"]
    assert {"$ref": "#/components/schemas/Application"} in items
    assert all(i.get("type") == "object" or "$ref" in i for i in items)
    r = client.post(
        "/v1/decisions/batch", json={"applications": [app_row, [None, None], 3]}, headers=AUTH
    )
    assert r.status_code == 422, r.text
    got = [(d["field"], d["type"]) for d in r.json()["details"]]
    assert got == [("applications.1", "model_type"), ("applications.2", "model_type")]
    assert "expected a JSON object (one application); got [None, None]" in r.json()["message"]
    # an object that is not a valid application is reported in the 200, by index
    r = client.post("/v1/decisions/batch", json={"applications": [app_row, {}]}, headers=AUTH)
    assert r.status_code == 200
    assert r.json()["errors"][0]["index"] == 1


def test_unknown_query_parameters_are_named(client: TestClient, app_row: dict[str, Any]) -> None:
    r = client.post("/v1/decisions?explian=true", json=app_row, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["details"] == [
        {
            "field": "query.explian",
            "message": "unknown query parameter; this route takes: explain",
            "type": "extra",
        }
    ]
    assert client.get("/health?verbose=1").status_code == 422
    twice = client.post("/v1/decisions?explain=false&explain=true", json=app_row, headers=AUTH)
    assert twice.status_code == 422
    assert twice.json()["details"][0] == {
        "field": "query.explain",
        "message": "given 2 times; give it once",
        "type": "repeated",
    }
    assert client.post("/v1/decisions?explain=false", json=app_row, headers=AUTH).status_code == 200
    # the key is checked first: a stranger learns nothing about the route
    assert client.post("/v1/decisions?explian=true", json=app_row).status_code == 401


@pytest.mark.parametrize(
    "path",
    ["x" * 4000, "a\x00b", "~no-such-user-here/bundle", ".", "/"],
    ids=["too-long", "nul-byte", "unknown-home", "cwd", "root"],
)
def test_reload_of_a_path_that_cannot_be_a_bundle_is_a_404(client: TestClient, path: str) -> None:
    r = client.post("/v1/admin/reload", json={"model_path": path}, headers=ADMIN_AUTH)
    assert r.status_code == 404, r.text
    assert r.json()["error"] == "model_not_found"
    assert len(r.json()["message"]) < 600


def test_oversize_batch_is_refused_with_the_limit(trained, tmp_path, app_row) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(make_settings(tmp_path, max_batch=5), trained.bundle)) as c:
        ok = c.post("/v1/decisions/batch", json={"applications": [app_row] * 5}, headers=AUTH)
        assert ok.status_code == 200
        assert ok.json()["n_scored"] == 5
        r = c.post("/v1/decisions/batch", json={"applications": [app_row] * 6}, headers=AUTH)
        assert r.status_code == 422
        assert r.json()["details"][0]["type"] == "too_long"
        assert "at most 5 applications per batch, got 6" in r.json()["message"]


def test_batch_rows_with_nan_are_reported(client: TestClient, app_row: dict[str, Any]) -> None:
    body = (
        '{"applications": ['
        + _json(app_row)
        + ","
        + _json({**app_row, "credit_amount": math.nan})
        + "]}"
    )
    r = client.post(
        "/v1/decisions/batch", content=body, headers={"content-type": "application/json", **AUTH}
    )
    assert r.status_code == 200
    assert r.json()["n_scored"] == 1
    assert r.json()["errors"][0]["index"] == 1
    assert r.json()["errors"][0]["errors"][0]["type"] == "finite_number"


# --------------------------------------------------------------------------- auth
@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/v1/decisions"), ("post", "/v1/decisions/batch"), ("get", "/v1/model")],
)
def test_client_routes_need_a_valid_key(client: TestClient, method: str, path: str) -> None:
    call = getattr(client, method)
    kwargs = {"json": {}} if method == "post" else {}
    missing = call(path, **kwargs)
    assert missing.status_code == 401
    assert missing.json()["error"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "X-API-Key"
    wrong = call(path, headers={"X-API-Key": KEY + "x"}, **kwargs)
    assert wrong.status_code == 401
    assert KEY not in wrong.text


def test_admin_route_needs_the_admin_key(client: TestClient) -> None:
    assert client.post("/v1/admin/reload").status_code == 401
    r = client.post("/v1/admin/reload", headers=AUTH)
    assert r.status_code == 403
    assert "admin key" in r.json()["message"]
    assert client.post("/v1/admin/reload", headers={"X-API-Key": "nope"}).status_code == 401
    bad = client.post("/v1/admin/reload", json={"model_path": 3}, headers=ADMIN_AUTH)
    assert bad.status_code == 422
    assert bad.json()["details"][0]["field"] == "model_path"


def test_open_routes(client: TestClient) -> None:
    for path in ("/health", "/ready", "/metrics", "/openapi.json"):
        assert client.get(path).status_code == 200, path


def test_sha256_keys_and_dev_mode(trained, tmp_path, app_row) -> None:  # type: ignore[no-untyped-def]
    digest = hashlib.sha256(b"hashed-secret").hexdigest()
    app = create_app(make_settings(tmp_path, api_keys=f"sha256:{digest}"), trained.bundle)
    with TestClient(app) as c:
        assert (
            c.post(
                "/v1/decisions", json=app_row, headers={"X-API-Key": "hashed-secret"}
            ).status_code
            == 200
        )
        assert (
            c.post("/v1/decisions", json=app_row, headers={"X-API-Key": digest}).status_code == 401
        )
    dev = create_app(
        make_settings(tmp_path / "dev", api_keys="", admin_keys="", dev_mode=True), trained.bundle
    )
    with TestClient(dev) as c:
        assert c.post("/v1/decisions", json=app_row).status_code == 200
        # no admin key configured: the admin routes are disabled, dev mode or not
        r = c.post("/v1/admin/reload")
        assert r.status_code == 403
        assert "no CREDITSCORE_ADMIN_KEYS configured" in r.json()["message"]
        doc = c.get("/openapi.json").json()["paths"]
        assert "security" not in doc["/v1/decisions"]["post"]  # the document says it is open
        assert doc["/v1/admin/reload"]["post"]["security"] == [{"APIKeyHeader": []}]


@pytest.mark.parametrize(
    ("api_keys", "admin_keys"),
    [(KEY, ADMIN), (KEY, ""), ("", ADMIN)],
    ids=["client-and-admin-keys", "client-keys-only", "admin-keys-only"],
)
def test_dev_mode_never_lifts_configured_keys(  # type: ignore[no-untyped-def]
    trained, tmp_path, app_row, api_keys: str, admin_keys: str
) -> None:
    settings = make_settings(tmp_path, api_keys=api_keys, admin_keys=admin_keys, dev_mode=True)
    with TestClient(create_app(settings, trained.bundle)) as c:
        assert c.post("/v1/decisions", json=app_row).status_code == 401
        assert c.get("/v1/model").status_code == 401
        assert c.post("/v1/admin/reload").status_code in (401, 403)
        assert c.post("/v1/admin/reload", headers=AUTH).status_code in (401, 403)
        if admin_keys:
            again = {"model_path": str(trained.bundle_path)}
            r = c.post("/v1/admin/reload", json=again, headers=ADMIN_AUTH)
            assert r.status_code == 200, r.text
            # an admin key is a client key too
            assert c.post("/v1/decisions", json=app_row, headers=ADMIN_AUTH).status_code == 200
        if api_keys:
            assert c.post("/v1/decisions", json=app_row, headers=AUTH).status_code == 200
        doc = c.get("/openapi.json").json()["paths"]
        assert doc["/v1/decisions"]["post"]["security"] == [{"APIKeyHeader": []}]


def test_no_keys_outside_dev_mode_refuses_to_start(trained, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="no API key configured: set CREDITSCORE_API_KEYS"):
        create_app(make_settings(tmp_path, api_keys=""), trained.bundle)
    with pytest.raises(ConfigError, match="64 hex digits"):
        create_app(make_settings(tmp_path, api_keys="sha256:abc"), trained.bundle)


def test_keys_from_the_environment_are_split_and_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    from creditscore.settings import Settings

    monkeypatch.setenv("CREDITSCORE_API_KEYS", "alpha-secret, beta-secret ,sha256:" + "a" * 64)
    monkeypatch.setenv("CREDITSCORE_PII_FIELDS", "email,phone")
    s = Settings()
    assert [k.get_secret_value() for k in s.api_keys] == [
        "alpha-secret",
        "beta-secret",
        "sha256:" + "a" * 64,
    ]
    assert s.pii_fields == ["email", "phone"]
    assert "alpha-secret" not in repr(s)
    assert "beta-secret" not in str(s.model_dump())
