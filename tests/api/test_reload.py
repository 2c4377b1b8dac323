"""Model reloads: atomic swap under load, refusal of broken bundles, registry absent."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from creditscore.serving.app import create_app
from creditscore.serving.loader import load_path

from .helpers import ADMIN_AUTH, AUTH, application, make_settings


async def _hammer_while_reloading(
    app: Any, body: dict[str, Any], target: Path, clients: int = 6
) -> tuple[list[int], Counter[str], dict[str, Any]]:
    statuses: list[int] = []
    versions: Counter[str] = Counter()
    swapped = asyncio.Event()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            async def worker() -> None:
                after = 0
                while after < 15:  # keep going until well after the swap
                    r = await client.post("/v1/decisions", json=body, headers=AUTH)
                    statuses.append(r.status_code)
                    if r.status_code == 200:
                        versions[r.json()["model_version"]] += 1
                    after += swapped.is_set()
                    await asyncio.sleep(0)  # in-process transport: let the others run

            async def reload() -> dict[str, Any]:
                await asyncio.sleep(0.2)
                r = await client.post(
                    "/v1/admin/reload", json={"model_path": str(target)}, headers=ADMIN_AUTH
                )
                swapped.set()
                return {"status": r.status_code, **r.json()}

            *_, result = await asyncio.gather(*(worker() for _ in range(clients)), reload())
    return statuses, versions, result


@pytest.mark.slow
def test_reload_under_load_drops_no_request(  # type: ignore[no-untyped-def]
    trained, second_bundle: Path, tmp_path: Path, rows, features
) -> None:
    settings = make_settings(tmp_path, model_path=trained.bundle_path)
    app = create_app(settings)  # loads the path in the lifespan
    body = application(rows[0], features)
    statuses, versions, result = asyncio.run(_hammer_while_reloading(app, body, second_bundle))
    assert result["status"] == 200, result
    assert result["version"] == "second"
    assert result["previous_version"] == trained.bundle_path.name
    assert set(statuses) == {200}, Counter(statuses)
    assert set(versions) == {trained.bundle_path.name, "second"}, versions
    assert versions["second"] >= 6 * 15


def test_broken_bundle_is_refused_and_the_old_one_keeps_serving(  # type: ignore[no-untyped-def]
    trained, tmp_path: Path, rows, features
) -> None:
    from fastapi.testclient import TestClient

    broken = tmp_path / "broken"
    shutil.copytree(trained.bundle_path, broken)
    with (broken / "model.joblib").open("ab") as fh:
        fh.write(b"tampered")
    app = create_app(make_settings(tmp_path), trained.bundle, model_version="1")
    with TestClient(app) as c:
        r = c.post("/v1/admin/reload", json={"model_path": str(broken)}, headers=ADMIN_AUTH)
        assert r.status_code == 409, r.text
        assert r.json()["error"] == "model_refused"
        assert "does not match its checksum" in r.json()["message"]
        d = c.post("/v1/decisions", json=application(rows[0], features), headers=AUTH)
        assert d.status_code == 200
        assert d.json()["model_version"] == "1"
        ready = c.get("/ready").json()
        assert ready["model"]["version"] == "1"
        assert "checksum" in ready["model"]["last_error"]
        assert 'creditscore_model_reloads_total{result="refused"} 1.0' in c.get("/metrics").text


def test_incompatible_library_versions_are_refused(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    from creditscore.exceptions import BundleError

    old = tmp_path / "old"
    shutil.copytree(trained.bundle_path, old)
    manifest = json.loads((old / "bundle.json").read_text())
    manifest["metadata"]["library_versions"]["scikit-learn"] = "0.20.0"
    (old / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"scikit-learn 0\.20\.0"):
        load_path(old)


def test_a_model_that_cannot_score_is_refused(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from creditscore.bundle import ModelBundle
    from creditscore.exceptions import BundleError

    class Broken:
        def predict_proba(self, X: Any) -> Any:
            raise RuntimeError("boom")

    b = trained.bundle
    bad = ModelBundle(Broken(), b.schema, b.policy, b.profile, b.reasons, b.metrics, b.metadata)
    with pytest.raises(BundleError, match="failed to score a test application"):
        create_app(make_settings(tmp_path), bad)


def test_serving_an_alias_without_a_registry_is_a_clear_error(tmp_path: Path) -> None:
    from creditscore.exceptions import CreditScoreError

    settings = make_settings(tmp_path, tracking_uri=f"sqlite:///{tmp_path / 'none.db'}")
    app = create_app(settings)
    with pytest.raises(CreditScoreError, match="registry"):
        app.state.serving.models.load()


def test_reloading_what_is_not_there_is_a_404_and_the_old_model_keeps_serving(  # type: ignore[no-untyped-def]
    trained, tmp_path: Path, rows, features
) -> None:
    from fastapi.testclient import TestClient

    settings = make_settings(tmp_path, tracking_uri=f"sqlite:///{tmp_path / 'none.db'}")
    (tmp_path / "empty").mkdir()
    app = create_app(settings, trained.bundle, model_version="1")
    with TestClient(app) as c:
        for body, named in (
            ({"model_path": str(tmp_path / "nowhere")}, "no such folder"),
            ({"model_path": str(tmp_path / "empty")}, "no bundle.json in it"),
            ({"alias": "shadow"}, "no model registry at"),
        ):
            r = c.post("/v1/admin/reload", json=body, headers=ADMIN_AUTH)
            assert r.status_code == 404, r.text
            assert r.json()["error"] == "model_not_found"
            assert named in r.json()["message"]
        both = c.post(
            "/v1/admin/reload", json={"model_path": "x", "alias": "y"}, headers=ADMIN_AUTH
        )
        assert both.status_code == 422
        assert both.json()["details"][0]["field"] == "alias"
        d = c.post("/v1/decisions", json=application(rows[0], features), headers=AUTH)
        assert d.json()["model_version"] == "1"
        assert 'creditscore_model_reloads_total{result="not_found"} 3.0' in c.get("/metrics").text


def test_the_served_process_freezes_its_heap_at_each_swap(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``serve`` sets ``freezes_heap``: after each swap the objects alive (the model
    among them) are out of the collector's generations, and the previous model is gone."""
    import gc
    import weakref

    app = create_app(make_settings(tmp_path), trained.bundle)
    models = app.state.serving.models
    models.freezes_heap = True
    first = models.current
    gone = weakref.ref(first.scorer)
    try:
        models.set(load_path(trained.bundle_path))
        assert gc.get_freeze_count() > 1000
        del first
        assert gone() is None  # the previous model was not frozen with the rest
    finally:
        gc.unfreeze()
