"""Registry end to end on real parts: MLflow on SQLite under tmp_path, and a real MLflow
tracking server backed by PostgreSQL (marker ``postgres``; skipped where none is up).

One flow per backend: three trainings on German -> three versions (the first becomes
champion, a better second replaces it, a deliberately weak third is refused as challenger
with the reason stored), then a manual promotion and two rollbacks, each recording who and
why; and ``mlflow.pyfunc.load_model("models:/NAME@champion")`` predicts exactly what our
Scorer does on every test row.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest

from conftest import quick_config
from creditscore import registry, tracking
from creditscore.registry import RegistryError, RegistryUnavailableError
from creditscore.reporting.model_card import build_model_card
from creditscore.scorer import Scorer
from creditscore.training.train import TrainingResult, train

NAME = "german-credit"
PG = {"host": "127.0.0.1", "port": 5432, "dbname": "test", "connect_timeout": 3}


# --------------------------------------------------------------------------- trainings
@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TrainingResult]:
    """Three cheap logistic trainings: ``first`` without the strongest column (checking
    account status), ``second`` with every column, ``weak`` with two near-useless ones."""
    tmp = tmp_path_factory.mktemp("registry-trainings")
    first = quick_config(tmp / "first", ["logistic"], trials=1, cv_folds=2)
    first.data.exclude = ["status_of_existing_checking_account"]
    weak = quick_config(tmp / "weak", ["logistic"], trials=1, cv_folds=2)
    weak.data.features = ["telephone", "number_of_people_being_liable_to_provide_maintenance_for"]
    second = quick_config(tmp / "second", ["logistic"], trials=1, cv_folds=2)
    return {"first": train(first), "second": train(second), "weak": train(weak)}


# --------------------------------------------------------------------------- backends
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_connect(dbname: str = "test"):  # type: ignore[no-untyped-def]
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed ([postgres] extra)")
    errors = []
    for user in ("postgres", "root"):
        try:
            return psycopg.connect(**{**PG, "dbname": dbname}, user=user, autocommit=True), user
        except psycopg.OperationalError as exc:
            errors.append(f"{user}: {str(exc).strip().splitlines()[0]}")
    pytest.skip(f"no PostgreSQL on 127.0.0.1:5432 ({'; '.join(errors)})")


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on a free loopback port, backend store in a fresh PostgreSQL database."""
    admin, user = _pg_connect()
    db = f"mlflow_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{db}"')
    tmp = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("mlflow")),
            "server",
            "--backend-store-uri",
            f"postgresql+psycopg://{user}@127.0.0.1:5432/{db}",
            "--artifacts-destination",
            str(tmp / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # no background job runner (a dozen huey processes we do not need)
        env={
            **os.environ,
            "MLFLOW_TRACKING_URI": "",
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        },
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{uri}/health", timeout=2) as resp,
            ):
                if resp.status == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "mlflow server did not start:\n" + (tmp / "server.log").read_text()[-3000:]
                )
            time.sleep(0.5)
        yield uri
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.close()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow]),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mlflow.db'}"
    return str(request.getfixturevalue("mlflow_server"))


# --------------------------------------------------------------------------- the flow
def _test_rows(result: TrainingResult):  # type: ignore[no-untyped-def]
    return result.dataset.X.iloc[result.splits.test]


@pytest.mark.slow
def test_gate_promote_rollback_and_pyfunc(
    store: str,
    runs: dict[str, TrainingResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CREDITSCORE_USER", "trainer")
    monkeypatch.setenv("CREDITSCORE_CACHE", str(tmp_path / "cache"))
    name = f"{NAME}-{uuid.uuid4().hex[:6]}"  # the server is shared by the module

    def register(key: str, card: bool = False) -> registry.PromotionOutcome:
        result = runs[key]
        paths = build_model_card(result, tmp_path / f"card-{key}") if card else None
        tracked = tracking.log_training(
            result, card_paths=paths, tracking_uri=store, experiment=name
        )
        return registry.register_and_gate(tracked, result, name=name)

    # 1. the first version becomes champion
    first = register("first")
    assert (first.version, first.alias, first.promoted) == ("1", "champion", True)
    assert first.reason == "first version of this model"
    assert first.user == "trainer"

    # 2. a better second training, compared on the same test rows, replaces it
    second = register("second")
    assert (second.version, second.alias, second.previous_champion) == ("2", "champion", "1")
    assert second.comparison["rows"] == len(runs["second"].splits.test)
    assert second.comparison["auc_new"] == pytest.approx(runs["second"].test_metrics["roc_auc"])
    assert second.comparison["auc_new"] > second.comparison["auc_champion"]

    # 3. a deliberately weak model is refused with the reason recorded
    weak = register("weak", card=True)
    assert (weak.version, weak.alias, weak.promoted) == ("3", "challenger", False)
    assert "AUC" in weak.reason
    assert "worse than champion v2" in weak.reason
    assert weak.comparison["auc_new"] < weak.comparison["auc_champion"] - 0.1
    # The champion was scored on the same rows, with the columns the weak config dropped.
    assert weak.comparison["auc_champion"] == pytest.approx(runs["second"].test_metrics["roc_auc"])
    rows = {r.version: r for r in registry.list_versions(name, tracking_uri=store)}
    assert rows["2"].aliases == ["champion"]
    assert rows["3"].aliases == ["challenger"]
    assert rows["3"].gate == "refused"
    assert rows["3"].gate_reason == weak.reason
    assert rows["2"].promoted_by == "trainer"
    assert rows["1"].test_auc is not None
    # The re-rendered card of the refused version carries the gate's decision.
    card_html = weak.card_paths["html"].read_text()
    assert "challenger" in card_html
    assert "worse than champion v2" in card_html

    # MLflow stayed quiet: nothing on the terminal while logging and gating.
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")

    # 4. pyfunc from the registry == our Scorer, on every test row
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", store)
    X = _test_rows(runs["second"])
    served = mlflow.pyfunc.load_model(f"models:/{name}@champion").predict(X)
    loaded = registry.load_bundle(name, tracking_uri=store)
    assert (loaded.version, loaded.alias) == ("2", "champion")
    expected = Scorer(loaded.bundle).score_frame(X)
    np.testing.assert_array_equal(
        served["probability_of_default"].to_numpy(), expected["probability_of_default"].to_numpy()
    )
    assert served.equals(expected)  # scores, bands and decisions too
    # ... and the pipeline's own numbers (the Scorer may take a compiled fast path)
    np.testing.assert_allclose(
        served["probability_of_default"], runs["second"].bundle.predict_proba(X), rtol=0, atol=1e-12
    )
    assert registry.alias_version(name, "champion", tracking_uri=store) == "2"
    assert registry.alias_version(name, "no-such-alias", tracking_uri=store) is None

    # 5. a validator promotes the challenger by hand ...
    promoted = registry.promote(
        name, "3", "validator override for the test", "alice", tracking_uri=store
    )
    assert promoted.previous_champion == "2"
    rows = {r.version: r for r in registry.list_versions(name, tracking_uri=store)}
    assert rows["3"].aliases == ["champion"]
    assert rows["2"].aliases == []
    assert (rows["3"].promoted_by, rows["3"].promotion_reason) == (
        "alice",
        "validator override for the test",
    )

    # 6. ... and rollbacks restore the previous champions, in order
    assert registry.rollback(name, "weak model went live", "bob", tracking_uri=store) == "2"
    assert registry.alias_version(name, tracking_uri=store) == "2"
    assert registry.rollback(name, "back to the first", "carol", tracking_uri=store) == "1"
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        registry.rollback(name, "again", "dave", tracking_uri=store)
    rows = {r.version: r for r in registry.list_versions(name, tracking_uri=store)}
    assert rows["1"].aliases == ["champion"]
    assert (rows["1"].promoted_by, rows["1"].promotion_reason) == ("carol", "back to the first")
    history = registry.promotion_history(name, tracking_uri=store)
    assert [(e["action"], e["version"], e["by"]) for e in history] == [
        ("gate", "1", "trainer"),
        ("gate", "2", "trainer"),
        ("refused", "3", "trainer"),
        ("promote", "3", "alice"),
        ("rollback", "2", "bob"),
        ("rollback", "1", "carol"),
    ]

    # 7. the card of any version can be written again from the registry
    card = registry.render_model_card_for_version(
        name, "3", tmp_path / "report", tracking_uri=store
    )
    text = card["html"].read_text()
    assert "version 3" in text
    assert "alice" in text
    assert "weak model went live" in text

    # 8. clear errors
    with pytest.raises(RegistryError, match="no version 99"):
        registry.promote(name, "99", "typo", "alice", tracking_uri=store)
    with pytest.raises(RegistryError, match="already the champion"):
        registry.promote(name, "1", "again", "alice", tracking_uri=store)
    with pytest.raises(RegistryError, match="give a reason"):
        registry.promote(name, "2", "  ", "alice", tracking_uri=store)
    with pytest.raises(RegistryError, match="no registered model 'nope'"):
        registry.load_bundle("nope", tracking_uri=store)
    with pytest.raises(RegistryError, match="no version with alias 'shadow'"):
        registry.load_bundle(name, "shadow", tracking_uri=store)

    # 9. a better model whose blocking fairness gate failed is not promoted
    tracked = tracking.log_training(runs["second"], tracking_uri=store, experiment=name)
    unfair = registry.register_and_gate(tracked, runs["second"], name=name, fairness_ok=False)
    assert (unfair.version, unfair.alias, unfair.promoted) == ("4", "challenger", False)
    assert "fairness gate failed" in unfair.reason
    assert registry.alias_version(name, tracking_uri=store) == "1"


def test_unreachable_registry_fails_fast(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{_free_port()}"
    start = time.perf_counter()
    with pytest.raises(RegistryUnavailableError, match="cannot be reached"):
        registry.alias_version(NAME, "champion", tracking_uri=down)
    assert time.perf_counter() - start < 10
    with pytest.raises(RegistryError, match="no model registry at"):
        registry.list_versions(NAME, tracking_uri=f"sqlite:///{tmp_path / 'absent.db'}")
    assert not (tmp_path / "absent.db").exists()
