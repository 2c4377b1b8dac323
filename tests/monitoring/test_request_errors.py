"""Failed scoring requests: recorded by the real service beside its decisions, counted per
cohort by the monitor (FastAPI app through TestClient, decision log on SQLite or
PostgreSQL)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from creditscore.config import MonitoringConfig
from creditscore.exceptions import DataError
from creditscore.monitoring import DecisionLogSource, run
from creditscore.serving.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from api.helpers import AUTH, make_settings

from .helpers import JAN_2024, decision_records

#: A made-up field name that is itself personal data: it must never reach the log.
NOSY_FIELD = "jane.doe@example.com"
#: A value sent in a field that refuses it: it must never reach the log either.
NOSY_VALUE = "ask my lawyer"


@pytest.fixture(scope="module")
def applications(german_model, german: pd.DataFrame) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    rows = np.concatenate([german_model.splits.valid, german_model.splits.test])
    frame = german.iloc[rows][german_model.bundle.features]
    return [{**r, "application_id": f"E{i}"} for i, r in enumerate(frame.to_dict("records"))]


def _post_failures(client: TestClient, apps: list[dict[str, Any]], numeric: str) -> None:
    """11 refused requests or rows (4xx), with 38 decisions."""
    for app in apps[:30]:
        assert client.post("/v1/decisions", json=app, headers=AUTH).status_code == 200
    for app in apps[30:33]:  # a required field missing
        bad = {k: v for k, v in app.items() if k != numeric}
        r = client.post("/v1/decisions", json=bad, headers=AUTH)
        assert r.status_code == 422
        assert r.json()["details"][0]["field"] == numeric
    for app in apps[33:35]:  # a value that is not a number
        r = client.post("/v1/decisions", json={**app, numeric: NOSY_VALUE}, headers=AUTH)
        assert r.status_code == 422
    r = client.post("/v1/decisions", json={**apps[35], NOSY_FIELD: 1}, headers=AUTH)
    assert r.status_code == 422  # an unknown field
    r = client.post(
        "/v1/decisions",
        content=b'{"duration_in_month": ',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert r.status_code == 400  # not JSON
    dropped = {k: v for k, v in apps[44].items() if k != numeric}
    batch = [*apps[36:44], dropped, {**apps[45], numeric: "x"}]
    r = client.post("/v1/decisions/batch", json={"applications": batch}, headers=AUTH)
    assert r.status_code == 200
    assert r.json()["n_failed"] == 2  # 8 decisions, 2 refused rows
    for query in ("explian=true", "explain=maybe"):  # ours, and FastAPI's, query checks
        r = client.post(f"/v1/decisions?{query}", json=apps[46], headers=AUTH)
        assert r.status_code == 422
        assert r.json()["details"][0]["field"].startswith("query")
    wrong_key = {"X-API-Key": "wrong"}
    assert client.post("/v1/decisions", json=apps[0], headers=wrong_key).status_code == 401


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("the scorer broke")


def _serve_two_versions(
    german_model, applications: list[dict[str, Any]], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    numeric = "duration_in_month"
    bundle = german_model.bundle
    app = create_app(settings, bundle, model_version="7")
    with TestClient(app, raise_server_exceptions=False) as client:
        _post_failures(client, applications, numeric)
        loaded = app.state.serving.models.current
        with monkeypatch.context() as m:  # a real 500: the scorer raises inside the route
            m.setattr(loaded.scorer, "decide", _boom)
            r = client.post("/v1/decisions", json=applications[50], headers=AUTH)
        assert r.status_code == 500
        assert r.json()["error"] == "internal_error"
        assert app.state.serving.log.flush(10)
    with TestClient(create_app(settings, bundle, model_version="8")) as client:
        r = client.post(
            "/v1/decisions/batch", json={"applications": applications[60:80]}, headers=AUTH
        )
        assert r.status_code == 200
        assert r.json()["n_failed"] == 0
        assert client.app.state.serving.log.flush(10)  # type: ignore[attr-defined]


def _check_counts(german_model, url: str, out: Path | None = None) -> None:  # type: ignore[no-untyped-def]
    bundle = german_model.bundle
    config = MonitoringConfig(min_rows=10)
    report = run(bundle, DecisionLogSource(bundle, by="model_version", url=url), config)
    cohorts = {c.cohort: c for c in report.cohorts}
    assert set(cohorts) == {"7", "8"}
    seven = cohorts["7"].operations.errors  # type: ignore[union-attr]
    assert (cohorts["7"].n, seven.client, seven.server, seven.total) == (38, 11, 1, 12)
    assert seven.rate == pytest.approx(12 / 50)
    assert seven.server_rate == pytest.approx(1 / 50)
    assert seven.status == "act"
    top = {(k.status_code, k.kind, k.field): k.count for k in seven.top}
    assert top[(422, "missing", "duration_in_month")] == 4  # 3 requests and 1 batch row
    assert top[(422, "float_type", "duration_in_month")] == 3
    assert top[(400, "invalid_json", None)] == 1
    assert (len(seven.top), seven.top[0].kind) == (5, "missing")  # the commonest first
    eight = cohorts["8"].operations.errors  # type: ignore[union-attr]
    assert (cohorts["8"].n, eight.total, eight.rate, eight.status) == (20, 0, 0.0, "stable")
    alerts = [a for a in report.alerts if a.item == "errors"]
    assert [(a.level, a.cohort) for a in alerts] == [("red", "7")]
    assert "12 of 50 scoring requests failed (24.0%: 11 4xx, 1 5xx" in alerts[0].message
    assert report.verdict == "red"
    pooled = report.overall.operations.errors  # type: ignore[union-attr]
    assert (pooled.client, pooled.server) == (11, 1)
    assert pooled.rate == pytest.approx(12 / 70)
    doc = report.to_dict()
    by_cohort = {c["cohort"]: c["operations"]["errors"] for c in doc["cohorts"]}
    assert (by_cohort["7"]["client"], by_cohort["7"]["server"]) == (11, 1)
    assert by_cohort["8"]["rate"] == 0.0
    if out is not None:
        from creditscore.reporting.monitoring import write_report

        html = write_report(report, out)["html"].read_text()
        cells = html[html.index("Cohorts at a glance") :]
        assert "error rate" in cells
        assert "24.0%" in cells
        assert "errors / (decisions + errors)" in cells
    # a cut failed requests cannot follow: counted for all cohorts together, and said so
    by_decision = run(bundle, DecisionLogSource(bundle, by="decision", url=url), config)
    assert all(c.operations.errors is None for c in by_decision.cohorts)  # type: ignore[union-attr]
    assert by_decision.overall.operations.errors.total == 12  # type: ignore[union-attr]
    pooled_alerts = [a for a in by_decision.alerts if a.item == "errors"]
    assert [(a.level, a.cohort) for a in pooled_alerts] == [("red", by_decision.overall.cohort)]
    assert any("counted for all cohorts together" in n for n in by_decision.notes)


def _stored(url: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM request_errors"))]
    finally:
        engine.dispose()


def test_failed_requests_are_logged_and_counted_per_cohort(
    german_model, applications, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path)
    _serve_two_versions(german_model, applications, settings, monkeypatch)
    url = settings.decision_log_url()
    rows = _stored(url)
    assert len(rows) == 12  # the 401 is not recorded
    assert sorted(r["status_code"] for r in rows) == [400] + [422] * 10 + [500]
    assert {r["field"] for r in rows if r["kind"] in ("extra", "bool_parsing")} == {
        "query.(unknown)",
        "query.explain",
    }
    assert {r["route"] for r in rows} == {"/v1/decisions", "/v1/decisions/batch"}
    batch_rows = sorted(r["item_index"] for r in rows if r["endpoint"] == "batch")
    assert batch_rows == [8, 9]
    assert {r["model_version"] for r in rows} == {"7"}
    assert all(r["latency_ms"] >= 0 for r in rows)
    text = repr(rows)
    for secret in (NOSY_VALUE, "jane.doe", "example.com", "the scorer broke"):
        assert secret not in text
    assert any(r["kind"] == "extra_forbidden" and r["field"] == "(unknown)" for r in rows)
    _check_counts(german_model, url, tmp_path / "report")


def test_a_range_where_every_request_failed_is_a_red_report(
    german_model, applications, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """No decision, only failed requests: a report (100 % errors, red, exit 1), not an error."""
    from monitoring.test_cli import cli

    settings = make_settings(tmp_path)
    app = create_app(settings, german_model.bundle, model_version="7")
    n = MonitoringConfig().min_rows  # enough requests for the error rate to get a status
    with TestClient(app) as client:
        for row in applications[:n]:
            bad = {k: v for k, v in row.items() if k != "duration_in_month"}
            assert client.post("/v1/decisions", json=bad, headers=AUTH).status_code == 422
        assert app.state.serving.log.flush(10)
    url = settings.decision_log_url()
    source = DecisionLogSource(german_model.bundle, url=url)
    report = run(german_model.bundle, source, MonitoringConfig())
    assert report.verdict == "red"
    assert report.source.rows == 0
    errors = report.overall.operations.errors  # type: ignore[union-attr]
    assert (errors.client, errors.server, errors.rate, errors.status) == (n, 0, 1.0, "act")
    assert [a.item for a in report.alerts] == ["errors"]
    assert f"{n} of {n} scoring requests failed (100.0%" in report.alerts[0].message
    assert any("only failed scoring requests" in n for n in report.notes)
    assert report.overall.score.psi is None  # nothing to compare, and nothing made up
    # a cut failed requests cannot follow (they got no decision): the pooled count's
    # cohort, the same red alert, and a report that renders
    by_decision = run(
        german_model.bundle, DecisionLogSource(german_model.bundle, by="decision", url=url)
    )
    assert [c.cohort for c in by_decision.cohorts] == ["all"]
    assert (by_decision.verdict, by_decision.exit_code) == ("red", 1)
    assert [(a.item, a.level) for a in by_decision.alerts] == [("errors", "red")]
    from creditscore.reporting.monitoring import write_report

    page = write_report(by_decision, tmp_path / "by_decision")["html"].read_text()
    assert "100.0%" in page

    out = cli(
        "monitor", "--model", str(german_model.bundle_path), "--current", "decisions",
        "--database", url, "--by", "all", "--out", str(tmp_path / "report"), cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Verdict: RED" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
    html = (tmp_path / "report" / "monitoring.html").read_text()
    assert "100.0%" in html
    assert "only failed scoring requests" in html


def test_a_503_while_no_model_is_loaded_is_recorded(
    german_model, applications, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """A scoring request refused at admission (no model loaded: 503) lands in the log as a
    server-side failure without a model version, and the monitor counts it as 5xx."""
    settings = make_settings(tmp_path)
    app = create_app(settings, german_model.bundle, model_version="7")
    with TestClient(app) as client:
        for row in applications[:5]:
            assert client.post("/v1/decisions", json=row, headers=AUTH).status_code == 200
        models = app.state.serving.models
        with monkeypatch.context() as m:  # the state between an unload and the next load
            m.setattr(models, "current", None)
            r = client.post("/v1/decisions", json=applications[5], headers=AUTH)
            assert (r.status_code, r.json()["error"]) == (503, "no_model")
            batch = {"applications": applications[6:8]}
            assert client.post("/v1/decisions/batch", json=batch, headers=AUTH).status_code == 503
        assert app.state.serving.log.flush(10)
    rows = _stored(settings.decision_log_url())
    assert [(r["status_code"], r["kind"]) for r in rows] == [(503, "no_model")] * 2
    assert {r["endpoint"] for r in rows} == {"single", "batch"}
    assert {r["model_version"] for r in rows} == {None}
    source = DecisionLogSource(german_model.bundle, by="all", url=settings.decision_log_url())
    report = run(german_model.bundle, source, MonitoringConfig(min_rows=1))
    errors = report.overall.operations.errors  # type: ignore[union-attr]
    assert (report.overall.n, errors.client, errors.server) == (5, 0, 2)
    assert errors.server_rate == pytest.approx(2 / 7)
    assert any(a.item == "errors" and a.level == "red" for a in report.alerts)


def test_an_empty_range_is_still_a_clear_error(german_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings, german_model.bundle, model_version="7")):
        pass  # creates the log's tables, logs nothing
    source = DecisionLogSource(german_model.bundle, url=settings.decision_log_url())
    with pytest.raises(DataError, match="no decision"):
        run(german_model.bundle, source, MonitoringConfig(min_rows=1))


def test_a_log_from_before_errors_were_recorded_shows_not_recorded(
    german_model, german: pd.DataFrame, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from alembic import command
    from alembic.config import Config

    from creditscore.store.engine import make_engine, migrations_path, upgrade_schema
    from creditscore.store.tables import decisions_table

    bundle = german_model.bundle
    X = german[bundle.features].iloc[:200]
    records = decision_records(X, bundle.predict_proba(X), JAN_2024, 20, policy=bundle.policy)
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_path()))
    with engine.begin() as conn:  # the schema and rows as the previous release left them
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        conn.execute(decisions_table.insert(), records)
    report = run(bundle, DecisionLogSource(bundle, by="month", url=url))
    errors = report.cohorts[0].operations.errors  # type: ignore[union-attr]
    assert (errors.recorded, errors.total, errors.rate, errors.status) == (
        False, 0, None, "insufficient",
    )  # fmt: skip
    assert report.to_dict()["cohorts"][0]["operations"]["errors"]["recorded"] is False
    assert any("errors are not recorded" in n for n in report.notes)
    with engine.begin() as conn:  # the service upgrades it when it next starts
        upgrade_schema(conn)
    with engine.connect() as conn:
        assert "request_errors" in sa.inspect(conn).get_table_names()
        kept = conn.execute(sa.select(sa.func.count()).select_from(decisions_table)).scalar()
    engine.dispose()
    assert kept == len(records)
    report = run(bundle, DecisionLogSource(bundle, by="month", url=url))
    errors = report.cohorts[0].operations.errors  # type: ignore[union-attr]
    assert (errors.recorded, errors.total, errors.rate, errors.status) == (True, 0, 0.0, "stable")


@pytest.mark.postgres
def test_failed_requests_on_postgresql(
    german_model, applications, tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, database_url=pg_url)
    _serve_two_versions(german_model, applications, settings, monkeypatch)
    assert len(_stored(pg_url)) == 12
    _check_counts(german_model, pg_url)
