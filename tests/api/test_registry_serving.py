"""Serving the registry alias: load at start, follow the alias, survive an outage."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from creditscore import registry, tracking
from creditscore.serving.app import create_app

from .conftest import TestClient
from .helpers import AUTH, application, free_port, make_settings


@pytest.mark.slow
def test_serves_the_champion_follows_the_alias_and_survives_an_outage(  # type: ignore[no-untyped-def]
    trained, tmp_path: Path, rows, features, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITSCORE_CACHE", str(tmp_path / "cache"))
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    name = f"serving-{uuid.uuid4().hex[:6]}"

    def register() -> Any:
        tracked = tracking.log_training(trained, tracking_uri=store, experiment=name)
        return registry.register_and_gate(tracked, trained, name=name)

    assert register().version == "1"
    settings = make_settings(tmp_path, tracking_uri=store, model_name=name)
    body = application(rows[0], features)
    with TestClient(create_app(settings)) as client:
        first = client.post("/v1/decisions", json=body, headers=AUTH).json()
        assert first["model_version"] == "1"
        models = client.app.state.serving.models  # type: ignore[attr-defined]
        assert client.get("/v1/model", headers=AUTH).json()["aliases"] == ["champion"]

        outcome = register()  # same model, so the gate promotes it
        assert (outcome.version, outcome.alias) == ("2", "champion")
        assert models.poll() is True  # what the poller thread does every reload_interval
        assert client.post("/v1/decisions", json=body, headers=AUTH).json()["model_version"] == "2"
        assert models.poll() is False  # alias unchanged: nothing to do

        models.tracking_uri = f"http://127.0.0.1:{free_port()}"  # the registry goes away
        assert models.poll() is False
        ready = client.get("/ready").json()
        assert ready["status"] == "degraded"
        assert ready["registry"]["status"] == "unreachable"
        again = client.post("/v1/decisions", json=body, headers=AUTH)
        assert again.status_code == 200
        assert again.json()["model_version"] == "2"
        r = client.post(
            "/v1/admin/reload",
            json={"alias": "champion"},
            headers={"X-API-Key": "admin-key-for-tests"},
        )
        assert r.status_code == 503
        assert r.json()["error"] == "registry_unreachable"
