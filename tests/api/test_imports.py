"""What the serving process imports, checked in a fresh interpreter (a subprocess), since
this test session has long imported everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def modules_after(code: str, watched: list[str], tmp_path: Path) -> list[str]:
    """Which of ``watched`` (modules or packages) are in ``sys.modules`` after running
    ``code`` in a new interpreter with this tree first on the path."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json as _json, sys as _sys
        _watched = {watched!r}
        _hits = sorted(
            w for w in _watched
            if any(m == w or m.startswith(w + ".") for m in _sys.modules)
        )
        print("MODULES=" + _json.dumps(_hits))
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "PYTHONWARNINGS": "ignore",
        "CREDITSCORE_CACHE": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    line = [x for x in done.stdout.splitlines() if x.startswith("MODULES=")][-1]
    return list(json.loads(line.removeprefix("MODULES=")))


def test_importing_the_registry_loads_no_scoring_code(tmp_path: Path) -> None:
    hits = modules_after(
        "import creditscore.registry",
        ["creditscore.scorer", "creditscore.compiled", "numba", "creditscore.training"],
        tmp_path,
    )
    assert hits == []


#: What `creditscore serve` must never load: the offline machinery.
OFFLINE = [
    "matplotlib",
    "fairlearn",
    "optuna",
    "shap",
    "lime",
    "creditscore.training",
    "creditscore.evaluation.plots",
    "creditscore.reporting",
    "creditscore.explain.fairness",
    "creditscore.explain.global_",
]

#: What unpickling a fitted pipeline imports (a Scorer on a saved compiled form needs none).
MODEL_LIBRARIES = ["lightgbm", "xgboost", "catboost", "torch", "skorch", "optbinning"]


def test_serve_loads_only_the_runtime_core(  # type: ignore[no-untyped-def]
    trained, rows, features, tmp_path: Path
) -> None:
    """What ``creditscore serve --model BUNDLE`` does, in a fresh interpreter: import the
    CLI, create the app from settings, load the bundle in the lifespan, answer a decision
    with reason codes and the docs pages. None of the offline machinery is imported, no
    MLflow either (a bundle folder needs no registry), and no model library: the bundle's
    saved compiled form scores without unpickling the pipeline.
    """
    body = {k: rows[0][k] for k in features}
    code = f"""
        import creditscore.cli  # what the `creditscore` command imports first
        from fastapi.testclient import TestClient
        from creditscore.serving.app import create_app
        from creditscore.settings import Settings

        settings = Settings(
            home={str(tmp_path)!r}, api_keys="k", admin_keys="a", reload_interval=0,
            model_path={str(trained.bundle_path)!r},
        )
        with TestClient(create_app(settings)) as client:
            r = client.post(
                "/v1/decisions?explain=true", json={body!r}, headers={{"X-API-Key": "k"}}
            )
            assert r.status_code == 200, r.text
            assert r.json()["reasons"], r.text
            for page in ("/openapi.json", "/docs", "/redoc", "/ready"):
                assert client.get(page).status_code == 200, page
    """
    hits = modules_after(code, [*OFFLINE, "mlflow", *MODEL_LIBRARIES], tmp_path)
    assert hits == []
