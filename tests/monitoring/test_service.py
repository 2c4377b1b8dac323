"""Monitoring on the real service (FastAPI app through httpx, decision log on SQLite)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from creditscore.bundle import ModelBundle
from creditscore.monitoring.outcomes import load_outcomes
from creditscore.serving.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from api.helpers import AUTH, make_settings, wait_for


@pytest.fixture(scope="module")
def held_out(german_model, german: pd.DataFrame) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    rows = np.concatenate([german_model.splits.valid, german_model.splits.test])
    return german.iloc[rows].reset_index(drop=True)


def _applications(frame: pd.DataFrame, features: list[str]) -> list[dict[str, Any]]:
    return [
        {**{k: row[k] for k in features}, "application_id": f"S{i}"}
        for i, row in enumerate(frame.to_dict(orient="records"))
    ]


@pytest.fixture
def fast_gauges(german_model) -> ModelBundle:  # type: ignore[no-untyped-def]
    b = german_model.bundle
    meta = {**b.metadata, "monitoring": {**b.metadata["monitoring"], "gauge_refresh_seconds": 0.2}}
    return ModelBundle(b.model, b.schema, b.policy, b.profile, b.reasons, b.metrics, meta)


@pytest.fixture
def client(fast_gauges: ModelBundle, tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings, fast_gauges, model_version="7")) as c:
        yield c


def _decide(client: TestClient, apps: list[dict[str, Any]]) -> None:
    for s in range(0, len(apps), 100):
        r = client.post(
            "/v1/decisions/batch", json={"applications": apps[s : s + 100]}, headers=AUTH
        )
        assert r.status_code == 200, r.text
    assert client.app.state.serving.log.flush(10)  # type: ignore[attr-defined]


def test_summary_of_the_decision_log_with_outcomes(
    client: TestClient, held_out, german_model, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    features = german_model.bundle.features
    _decide(client, _applications(held_out, features))
    r = client.get("/v1/monitoring/summary", headers=AUTH)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert {"verdict", "cohorts", "score", "features", "performance", "alerts"} <= set(doc)
    assert doc["source"]["rows"] == len(held_out)
    assert doc["performance"] is None
    assert doc["estimate"]["kind"] == "estimate"
    assert doc["cohorts"][0]["operations"]["volume"] == len(held_out)
    # outcomes arrive: the summary backtests
    outcomes = tmp_path / "outcomes.csv"
    pd.DataFrame(
        {
            "application_id": [f"S{i}" for i in range(len(held_out))],
            "status": held_out["creditability"],
        }
    ).to_csv(outcomes, index=False)
    url = client.app.state.serving.log.url  # type: ignore[attr-defined]
    assert load_outcomes(
        url, outcomes, id_column="application_id", target="status", positive="bad"
    ).inserted == len(held_out)
    doc = client.get("/v1/monitoring/summary", params={"by": "all"}, headers=AUTH).json()
    perf = doc["performance"]
    assert perf["n"] == len(held_out)
    assert perf["auc"] == pytest.approx(german_model.bundle.profile.reference.auc, abs=0.1)
    assert [b["band"] for b in perf["bands"]] == [n for n, _ in german_model.policy.bands]


def test_summary_errors_are_4xx_that_say_why(client: TestClient, held_out, german_model) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/v1/monitoring/summary").status_code == 401
    _decide(client, _applications(held_out.iloc[:20], german_model.bundle.features))
    r = client.get("/v1/monitoring/summary", params={"since": "2030-01-01"}, headers=AUTH)
    assert r.status_code == 404
    assert r.json()["error"] == "no_data"
    assert "it holds 20 decisions" in r.json()["message"]
    r = client.get("/v1/monitoring/summary", params={"since": "yesterday"}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "query.since"
    r = client.get("/v1/monitoring/summary", params={"by": "branch"}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "by"
    r = client.get("/v1/monitoring/summary?by=", headers=AUTH)  # was a 500 (schemathesis)
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "query.by"


def test_a_summary_asked_for_at_start_up_waits_for_the_log_to_make_its_tables(
    fast_gauges: ModelBundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision log's writer creates the tables on its first contact, in its own
    thread; a summary asked for before that says "no decisions yet" (404), not 503."""
    import time

    from creditscore.serving.decisions import DecisionLog

    first_contact = DecisionLog._contact

    def slow_contact(self: DecisionLog) -> None:
        time.sleep(0.5)
        first_contact(self)

    monkeypatch.setattr(DecisionLog, "_contact", slow_contact)
    with TestClient(create_app(make_settings(tmp_path), fast_gauges, model_version="1")) as c:
        r = c.get("/v1/monitoring/summary", headers=AUTH)
    assert r.status_code == 404, r.text
    assert r.json()["error"] == "no_data"


def test_drift_of_posted_rows(client: TestClient, held_out, german_model) -> None:  # type: ignore[no-untyped-def]
    features = german_model.bundle.features
    rows = [{k: r[k] for k in features} for r in held_out.to_dict(orient="records")]
    same = client.post("/v1/monitoring/drift", json={"rows": rows}, headers=AUTH)
    assert same.status_code == 200, same.text
    assert same.json()["verdict"] == "green"
    assert same.json()["cohorts"][0]["cohort"] == "posted"
    shifted = [
        {**r, "purpose": "crypto" if i % 3 == 0 else "car (new)"} for i, r in enumerate(rows)
    ]
    moved = client.post("/v1/monitoring/drift", json={"rows": shifted}, headers=AUTH).json()
    purpose = next(f for f in moved["features"] if f["feature"] == "purpose")
    assert purpose["status"] == "act"
    assert purpose["unseen_rate"] == pytest.approx(100 / 300)
    assert moved["verdict"] == "red"


def test_drift_errors_name_the_row_and_field(client: TestClient, held_out, german_model) -> None:  # type: ignore[no-untyped-def]
    features = german_model.bundle.features
    row = {k: held_out.to_dict(orient="records")[0][k] for k in features}
    assert client.post("/v1/monitoring/drift", json={"rows": [row]}).status_code == 401
    gap = {k: v for k, v in row.items() if k != "credit_amount"}
    r = client.post("/v1/monitoring/drift", json={"rows": [row, gap]}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "rows.1.credit_amount"
    r = client.post(
        "/v1/monitoring/drift", json={"rows": [{**row, "credit_amount": "lots"}]}, headers=AUTH
    )
    assert r.status_code == 422
    assert "expected a finite number" in r.json()["message"]
    assert client.post("/v1/monitoring/drift", json={"rows": []}, headers=AUTH).status_code == 422
    assert client.post("/v1/monitoring/drift", json={"row": [row]}, headers=AUTH).status_code == 422
    r = client.post(
        "/v1/monitoring/drift", content=b"{", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert r.status_code == 400


def test_every_4xx_is_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    summary = paths["/v1/monitoring/summary"]["get"]["responses"]
    assert {"200", "401", "404", "422", "503"} <= set(summary)
    drift = paths["/v1/monitoring/drift"]["post"]["responses"]
    assert {"200", "400", "401", "413", "415", "422", "503"} <= set(drift)


def _gauge(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def test_gauges_are_refreshed_in_the_background(client: TestClient, held_out, german_model) -> None:  # type: ignore[no-untyped-def]
    _decide(client, _applications(held_out, german_model.bundle.features))

    def refreshed() -> str | None:
        text = client.get("/metrics").text
        n = _gauge(text, "creditscore_monitoring_window_decisions")
        return text if n == len(held_out) else None

    text = wait_for(refreshed, timeout=20)
    assert text, client.get("/metrics").text[-2000:]
    psi = _gauge(text, "creditscore_monitoring_score_psi")
    assert psi is not None
    assert 0 <= psi < 0.1
    worst = _gauge(text, "creditscore_monitoring_worst_feature_psi")
    assert worst is not None
    assert worst >= 0
    assert 'creditscore_monitoring_feature_psi{feature="purpose"}' in text
    rate = _gauge(text, "creditscore_monitoring_approval_rate")
    assert rate is not None
    assert 0 < rate < 1


def test_the_service_side_of_monitoring_imports_only_the_runtime_core() -> None:
    code = (
        "import sys; import creditscore.monitoring, creditscore.serving.monitoring_routes; "
        "heavy = ['matplotlib', 'fairlearn', 'optuna', 'shap', 'lime', 'creditscore.training', "
        "'creditscore.reporting', 'creditscore.evaluation.plots']; "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.mark.slow
def test_the_monitoring_routes_conform_to_their_openapi(
    fast_gauges: ModelBundle, tmp_path: Path
) -> None:
    """schemathesis on both routes: never a 5xx, every status code documented. (A schema-valid
    request can still be refused: dates that are not dates, rows without the inputs.)"""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

    app = create_app(make_settings(tmp_path), fast_gauges, model_version="1")
    with TestClient(app):
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [
            r.ok() for r in schema.get_all_operations() if r.ok().path.startswith("/v1/monitoring")
        ]
        assert {op.path for op in operations} == {"/v1/monitoring/summary", "/v1/monitoring/drift"}
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(
                    max_examples=25,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    derandomize=True,
                    database=None,
                )
                def check(case: Any) -> None:
                    case.call_and_validate(
                        headers=AUTH,
                        excluded_checks=[positive_data_acceptance, negative_data_rejection],
                    )

                check()
