"""The explanation routes through the real app (httpx TestClient) on the trained bundle."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fastapi.testclient import TestClient

from creditscore.explain.engines import logit, uncalibrated

from .helpers import AUTH, application

TARGET = "creditability"


def _declined(
    client: TestClient, rows: list[dict[str, Any]], features: list[str]
) -> dict[str, Any]:
    for row in rows:
        body = application(row, features)
        if client.post("/v1/decisions", json=body, headers=AUTH).json()["decision"] == "decline":
            return body
    raise AssertionError("no declined application in the test split")


def test_explanation_adds_up_and_names_no_protected_attribute(  # type: ignore[no-untyped-def]
    client: TestClient, trained, rows: list[dict[str, Any]], features: list[str]
) -> None:
    sensitive = set(trained.bundle.metadata["sensitive"])
    pipeline = uncalibrated(trained.bundle.model)
    for row in rows[:5]:
        # protected attributes may be sent along (for the log); they never become reasons
        body = {**application(row, features), **{s: row[s] for s in sensitive}}
        r = client.post("/v1/explanations", json=body, headers=AUTH)
        assert r.status_code == 200, r.text
        e = r.json()
        decision = client.post(
            "/v1/decisions", json=application(row, features), headers=AUTH
        ).json()
        assert e["probability_of_default"] == pytest.approx(decision["probability_of_default"])
        assert e["decision"] == decision["decision"]
        assert {c["feature"] for c in e["contributions"]} == set(features)
        total = e["base_value"] + math.fsum(c["contribution"] for c in e["contributions"])
        assert total == pytest.approx(e["log_odds"], abs=1e-9)
        frame = __import__("pandas").DataFrame([application(row, features)])
        assert e["log_odds"] == pytest.approx(
            float(logit(pipeline.predict_proba(frame)[:, 1])[0]), abs=1e-6
        )
        assert 0 < len(e["reasons"]) <= 4
        assert not {x["feature"] for x in e["reasons"]} & sensitive
        top = [c for c in e["contributions"] if c["contribution"] > 0][: len(e["reasons"])]
        assert [x["feature"] for x in e["reasons"]] == [c["feature"] for c in top]


def test_explanation_options_and_errors(  # type: ignore[no-untyped-def]
    client: TestClient, rows: list[dict[str, Any]], features: list[str]
) -> None:
    body = application(rows[0], features)
    assert client.post("/v1/explanations?k=0", json=body, headers=AUTH).json()["reasons"] == []
    assert len(client.post("/v1/explanations?k=2", json=body, headers=AUTH).json()["reasons"]) <= 2
    r = client.post("/v1/explanations?k=99", json=body, headers=AUTH)
    assert r.status_code == 422
    assert "k" in r.json()["message"]
    missing = {k: v for k, v in body.items() if k != "duration_in_month"}
    r = client.post("/v1/explanations", json=missing, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "duration_in_month"
    r = client.post("/v1/explanations", json={**body, "purpose": "yacht"}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "purpose"
    assert client.post("/v1/explanations", json=body).status_code == 401
    r = client.post(
        "/v1/explanations", content=b"{nope", headers={**AUTH, "content-type": "application/json"}
    )
    assert r.status_code == 400


def test_counterfactuals_really_flip_the_decision(  # type: ignore[no-untyped-def]
    client: TestClient, trained, rows: list[dict[str, Any]], features: list[str]
) -> None:
    body = _declined(client, rows, features)
    r = client.post("/v1/counterfactuals?max_options=3", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["decision"] == "decline"
    assert not set(out["actionable"]) & set(trained.bundle.metadata["sensitive"])
    assert 1 <= len(out["options"]) <= 3
    for option in out["options"]:
        changed = {**body, **{c["feature"]: c["proposed"] for c in option["changes"]}}
        again = client.post("/v1/decisions", json=changed, headers=AUTH).json()
        assert again["decision"] == "approve"
        assert again["probability_of_default"] == pytest.approx(option["probability_of_default"])
    r = client.post("/v1/counterfactuals?max_changes=3", json=body, headers=AUTH)
    assert r.status_code == 422


def _labelled(rows: list[dict[str, Any]], trained) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    y = trained.dataset.y[trained.splits.test]
    return [{**row, TARGET: "bad" if bad else "good"} for row, bad in zip(rows, y, strict=True)]


def test_fairness_report_on_posted_data(  # type: ignore[no-untyped-def]
    client: TestClient, trained, rows: list[dict[str, Any]]
) -> None:
    body = {
        "rows": _labelled(rows, trained),
        "groups": [
            {"name": "age_group", "column": "age_in_years", "bands": [25, 35, 50]},
            {"name": "foreign_worker", "column": "foreign_worker"},
        ],
        "n_boot": 100,
    }
    r = client.post("/v1/fairness", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["n"] == len(rows)
    assert out["threshold"] == trained.bundle.policy.threshold
    assert [a["name"] for a in out["attributes"]] == ["age_group", "foreign_worker"]
    ages = out["attributes"][0]
    assert sum(g["n"] for g in ages["groups"]) == len(rows)
    assert "disparate_impact_ratio" in ages["metrics"]
    assert out["gate"]["mode"] == "warn"
    assert out["gate"]["passed"]
    # defaults: the groups configured at training (German: sex, age group, foreign worker)
    r = client.post("/v1/fairness", json={"rows": body["rows"], "n_boot": 50}, headers=AUTH)
    assert r.status_code == 200, r.text
    configured = [g["name"] for g in trained.bundle.metadata["fairness"]["groups"]]
    assert (
        [a["name"] for a in r.json()["attributes"]]
        == configured
        == [
            "sex",
            "age_group",
            "foreign_worker",
        ]
    )


def test_fairness_bad_input_is_a_4xx_naming_the_field(  # type: ignore[no-untyped-def]
    client: TestClient, trained, rows: list[dict[str, Any]]
) -> None:
    labelled = _labelled(rows, trained)
    bad = [dict(r) for r in labelled]
    bad[3]["duration_in_month"] = "long"
    r = client.post("/v1/fairness", json={"rows": bad}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "rows.3.duration_in_month"
    no_target = [{k: v for k, v in row.items() if k != TARGET} for row in labelled]
    r = client.post("/v1/fairness", json={"rows": no_target}, headers=AUTH)
    assert r.status_code == 422
    assert TARGET in r.json()["message"]
    one_class = [{**row, TARGET: "good"} for row in labelled]
    r = client.post("/v1/fairness", json={"rows": one_class, "n_boot": 20}, headers=AUTH)
    assert r.status_code in (200, 422)
    r = client.post(
        "/v1/fairness",
        json={
            "rows": labelled,
            "groups": [{"name": "a", "column": "age_in_years", "bands": [50, 25]}],
        },
        headers=AUTH,
    )
    assert r.status_code == 422
    assert "groups" in r.json()["details"][0]["field"]
    r = client.post(
        "/v1/fairness",
        json={"rows": labelled, "groups": [{"name": "x", "column": "nope"}]},
        headers=AUTH,
    )
    assert r.status_code == 422
    assert "nope" in r.json()["message"]
    assert r.json()["details"][0]["field"] == "groups.0.column"
    r = client.post("/v1/fairness", json={"rows": labelled, "n_boot": 5}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "n_boot"
    r = client.post("/v1/fairness", json={"rows": [], "extra": 1}, headers=AUTH)
    assert r.status_code == 422


def test_fairness_requests_the_rows_cannot_answer_name_the_field(  # type: ignore[no-untyped-def]
    client: TestClient, trained, rows: list[dict[str, Any]]
) -> None:
    labelled = _labelled(rows, trained)
    age = {"name": "age", "column": "age_in_years", "bands": [30]}

    def details(body: dict[str, Any]) -> list[tuple[str, str]]:
        r = client.post("/v1/fairness", json={"rows": labelled, "n_boot": 10, **body}, headers=AUTH)
        assert r.status_code == 422, r.text
        return [(d["field"], d["type"]) for d in r.json()["details"]]

    assert details({"groups": []}) == [("groups", "too_short")]
    assert details({"groups": [age, age]})[0][0] == "groups"
    assert details({"groups": [age], "intersections": [["age", "sex"]]}) == [
        ("intersections.0", "unknown_group")
    ]
    banded = {"name": "h", "column": "housing", "bands": [1]}
    assert details({"groups": [banded]}) == [("groups.0.bands", "not_numeric")]
    assert details({"groups": [age], "target": "outcome"}) == [("target", "unknown_column")]
    # the configured groups need their columns in the rows
    no_sex = [{k: v for k, v in row.items() if k != "personal_status_and_sex"} for row in labelled]
    r = client.post("/v1/fairness", json={"rows": no_sex, "n_boot": 10}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "rows"
    assert "personal_status_and_sex" in r.json()["message"]


@pytest.mark.parametrize("path", ["/v1/explanations", "/v1/counterfactuals", "/v1/fairness"])
def test_malformed_bodies_are_4xx_never_500(  # type: ignore[no-untyped-def]
    client: TestClient, rows: list[dict[str, Any]], features: list[str], path: str
) -> None:
    app_row = application(rows[0], features)
    bodies: list[Any] = [
        [],
        None,
        "text",
        {},
        {"rows": "x"},
        {"rows": [1, 2]},
        {"rows": [app_row, {**app_row, "credit_amount": None}]},
        {"rows": [{"creditability": [1]}, {"creditability": {"a": 1}}]},
        {**app_row, "credit_amount": 1e300},
        {**app_row, "credit_amount": "1000"},
        {**app_row, "purpose": None},
        {**app_row, "duration_in_month": True},
    ]
    for body in bodies:
        r = client.post(path, json=body, headers=AUTH)
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
        assert r.json()["message"]


def test_lime_on_request(  # type: ignore[no-untyped-def]
    client: TestClient, trained, rows: list[dict[str, Any]], features: list[str]
) -> None:
    body = application(rows[0], features)
    plain = client.post("/v1/explanations", json=body, headers=AUTH).json()
    assert plain["lime"] is None
    r = client.post("/v1/explanations?lime=true", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    lime = r.json()["lime"]
    assert lime["method"] == "lime"
    assert lime["probability_of_default"] == pytest.approx(plain["probability_of_default"])
    assert 0 < len(lime["weights"]) <= 6
    assert {w["feature"] for w in lime["weights"]} <= set(features)
    assert all(isinstance(w["condition"], str) and w["condition"] for w in lime["weights"])


def test_profile_sample_stays_within_what_training_saw(trained) -> None:  # type: ignore[no-untyped-def]
    from creditscore.explain.global_ import profile_sample

    frame = profile_sample(trained.bundle, 2000, seed=1)
    assert list(frame.columns) == trained.bundle.schema.names
    for spec in trained.bundle.schema.fields:
        col = frame[spec.name].dropna()
        if spec.kind == "categorical":
            assert set(col) <= set(spec.categories or [])
        else:
            assert spec.minimum <= col.min()
            assert col.max() <= spec.maximum
    # the training shares come back: the most common checking-account status stays so
    fp = trained.bundle.profile.features["status_of_existing_checking_account"]
    top = fp.levels[0]
    share = (frame["status_of_existing_checking_account"] == top).mean()
    assert share == pytest.approx(fp.shares[0], abs=0.05)
