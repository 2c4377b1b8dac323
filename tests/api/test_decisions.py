"""Happy paths of the API on a real bundle, with the decision log on SQLite."""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from creditscore.scorer import Scorer

from .helpers import AUTH, application, wait_for


def _log_rows(client: TestClient) -> list[sqlite3.Row]:
    state = client.app.state.serving  # type: ignore[attr-defined]
    assert state.log.flush(10), state.log.stats()
    path = state.settings.home / "decisions.db"
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        return con.execute("SELECT * FROM decisions ORDER BY created_at").fetchall()
    finally:
        con.close()


def test_single_decision_matches_the_scorer_and_is_logged(  # type: ignore[no-untyped-def]
    client: TestClient, trained, rows: list[dict[str, Any]], features: list[str]
) -> None:
    row = rows[0]
    r = client.post(
        "/v1/decisions", json=application(row, features, application_id="A-1"), headers=AUTH
    )
    assert r.status_code == 200, r.text
    d = r.json()
    expected = Scorer(trained.bundle).decide(row)
    assert d["probability_of_default"] == pytest.approx(expected.probability_of_default, abs=1e-12)
    assert (d["score"], d["risk_band"], d["decision"]) == (
        expected.score,
        expected.risk_band,
        expected.decision,
    )
    assert d["application_id"] == "A-1"
    assert d["model_version"] == "1"
    assert d["model_name"] == trained.bundle.name
    assert d["policy_version"] == trained.bundle.policy.version
    assert isinstance(d["reasons"], list)
    assert len(d["request_id"]) == 32
    assert r.headers["x-request-id"] == d["request_id"]

    [rec] = _log_rows(client)
    assert rec["request_id"] == d["request_id"]
    assert rec["application_id"] == "A-1"
    assert rec["decision"] == d["decision"]
    assert rec["score"] == d["score"]
    assert rec["probability_of_default"] == pytest.approx(d["probability_of_default"])
    assert rec["endpoint"] == "single"
    assert rec["latency_ms"] > 0


def test_protected_attributes_are_accepted_but_never_stored_raw(  # type: ignore[no-untyped-def]
    client: TestClient, trained, rows: list[dict[str, Any]], features: list[str]
) -> None:
    import json

    sensitive = trained.bundle.metadata["sensitive"]
    row = rows[1]
    plain = client.post("/v1/decisions", json=application(row, features), headers=AUTH).json()
    with_attrs = application(row, features, **{k: row[k] for k in sensitive})
    r = client.post("/v1/decisions", json=with_attrs, headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["probability_of_default"] == plain["probability_of_default"]
    logged = {row["request_id"]: row for row in _log_rows(client)}
    stored = json.loads(logged[r.json()["request_id"]]["inputs"])
    for k in sensitive:
        assert stored[k].startswith("hmac-sha256:"), k
        assert str(row[k]) not in stored[k]
    assert {k: stored[k] for k in features} == pytest.approx({k: row[k] for k in features})


def test_batch_scores_valid_rows_and_reports_invalid_ones_by_index(  # type: ignore[no-untyped-def]
    client: TestClient, trained, rows: list[dict[str, Any]], features: list[str]
) -> None:
    apps = [application(r, features, application_id=f"B-{i}") for i, r in enumerate(rows[:6])]
    apps[1]["credit_amount"] = "lots"
    apps[4] = {k: v for k, v in apps[4].items() if k != "purpose"}
    r = client.post("/v1/decisions/batch", json={"applications": apps}, headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["n_received"], body["n_scored"], body["n_failed"]) == (6, 4, 2)
    assert [d["index"] for d in body["decisions"]] == [0, 2, 3, 5]
    assert [d["application_id"] for d in body["decisions"]] == ["B-0", "B-2", "B-3", "B-5"]
    errors = {e["index"]: e["errors"] for e in body["errors"]}
    assert errors[1][0]["field"] == "credit_amount"
    assert "number" in errors[1][0]["message"]
    assert errors[4][0] == {
        "field": "purpose",
        "message": "required field is missing",
        "type": "missing",
    }
    # a row scored in a batch equals the same row scored alone
    p = trained.bundle.predict_proba(
        __import__("pandas").DataFrame([rows[i] for i in (0, 2, 3, 5)])
    )
    np.testing.assert_allclose(
        [d["probability_of_default"] for d in body["decisions"]], p, atol=1e-12
    )
    assert len(_log_rows(client)) == 4


def test_model_info(client: TestClient, trained) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/v1/model", headers=AUTH)
    assert r.status_code == 200
    info = r.json()
    b = trained.bundle
    assert info["name"] == b.name
    assert info["version"] == "1"
    assert info["threshold"] == b.policy.threshold
    assert [band["name"] for band in info["bands"]] == [n for n, _ in b.policy.bands]
    assert [f["name"] for f in info["schema"]] == b.features
    assert info["trained_at"] == b.metadata["trained_at"]
    assert info["metrics"]["test"]["roc_auc"] == pytest.approx(b.metrics["test"]["roc_auc"])
    assert set(info["not_model_inputs"]) == set(b.metadata["sensitive"])


def test_health_ready_and_openapi(client: TestClient, trained) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/health").json() == {"status": "ok"}
    ready = wait_for(lambda: client.get("/ready").json()["status"] == "ready")
    assert ready, client.get("/ready").json()
    doc = client.get("/openapi.json").json()
    app_schema = doc["components"]["schemas"]["Application"]
    assert app_schema["additionalProperties"] is False
    purpose = app_schema["properties"]["purpose"]
    assert purpose["enum"] == trained.bundle.schema.field("purpose").categories
    assert app_schema["properties"]["credit_amount"]["type"] == "number"
    assert set(app_schema["required"]) == set(trained.bundle.features)
    assert "X-API-Key" in str(doc["components"]["securitySchemes"])


def test_metrics_count_requests_decisions_and_errors(  # type: ignore[no-untyped-def]
    client: TestClient, rows: list[dict[str, Any]], features: list[str]
) -> None:
    for row in rows[:3]:
        assert (
            client.post("/v1/decisions", json=application(row, features), headers=AUTH).status_code
            == 200
        )
    assert client.post("/v1/decisions", json={}, headers=AUTH).status_code == 422
    assert client.post("/v1/decisions", json={}).status_code == 401
    text = client.get("/metrics").text
    assert (
        'creditscore_http_requests_total{method="POST",route="/v1/decisions",status="200"} 3.0'
        in text
    )
    assert (
        'creditscore_http_request_duration_seconds_bucket{le="0.001",route="/v1/decisions"}' in text
    )
    assert (
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("creditscore_decisions_total{")
        )
        == 3.0
    )
    assert "creditscore_probability_of_default_count 3.0" in text
    assert 'creditscore_errors_total{kind="validation"} 1.0' in text
    assert 'creditscore_errors_total{kind="unauthorized"} 1.0' in text
    assert 'creditscore_model_info{name="german-credit",policy_version=' in text
    assert "creditscore_decision_log_database_up" in text


def test_reason_codes_on_declines_and_on_request(  # type: ignore[no-untyped-def]
    client: TestClient, trained, rows: list[dict[str, Any]], features: list[str]
) -> None:
    protected = set(trained.bundle.metadata["sensitive"])
    scorer = Scorer(trained.bundle)
    declined = next(r for r in rows if scorer.decide(r).decision == "decline")
    approved = next(r for r in rows if scorer.decide(r).decision == "approve")

    d = client.post("/v1/decisions", json=application(declined, features), headers=AUTH).json()
    assert 1 <= len(d["reasons"]) <= 4
    assert not {r["feature"] for r in d["reasons"]} & protected
    assert [r["code"] for r in d["reasons"]] == [r.code for r in scorer.decide(declined).reasons]
    assert all(r["text"] and r["contribution"] > 0 for r in d["reasons"])

    body = application(approved, features)
    assert client.post("/v1/decisions", json=body, headers=AUTH).json()["reasons"] == []
    asked = client.post("/v1/decisions?explain=true", json=body, headers=AUTH).json()
    assert asked["reasons"]
    none = client.post(
        "/v1/decisions?explain=false", json=application(declined, features), headers=AUTH
    )
    assert none.json()["reasons"] == []
    bad = client.post("/v1/decisions?explain=perhaps", json=body, headers=AUTH)
    assert bad.status_code == 422
    assert "explain" in bad.text

    batch = client.post(
        "/v1/decisions/batch?explain=true",
        json={"applications": [application(r, features) for r in (declined, approved)]},
        headers=AUTH,
    ).json()
    assert batch["decisions"][0]["reasons"] == d["reasons"]
    assert batch["decisions"][1]["reasons"] == asked["reasons"]
