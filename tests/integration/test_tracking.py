"""Tracking on a real MLflow store (SQLite under tmp_path): one parent run per training, a
nested run per candidate, and the bundle as a pyfunc model that predicts like our Scorer."""

from __future__ import annotations

import socket
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from creditscore import tracking
from creditscore.scorer import Scorer
from creditscore.training.train import TrainingResult


def test_tracking_uri_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDITSCORE_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert tracking.tracking_uri() == f"sqlite:///{tmp_path.as_posix()}/mlflow.db"
    assert tracking.sqlite_path(tracking.tracking_uri()) == tmp_path / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    assert tracking.tracking_uri() == "http://mlflow.example:5000"
    monkeypatch.setenv("CREDITSCORE_TRACKING_URI", "postgresql://db/mlflow")
    assert tracking.tracking_uri() == "postgresql://db/mlflow"
    assert tracking.tracking_uri("sqlite:///other.db") == "sqlite:///other.db"
    assert tracking.sqlite_path("sqlite:///other.db") == Path("other.db")
    assert tracking.sqlite_path("http://x") is None


@pytest.fixture(scope="module")
def logged(
    trained: TrainingResult, tmp_path_factory: pytest.TempPathFactory
) -> tuple[tracking.TrackedRun, str]:
    tmp = tmp_path_factory.mktemp("tracking")
    card = tmp / "card"
    card.mkdir()
    (card / "model_card.html").write_text("<html>card</html>")
    (card / "model_card.md").write_text("# card")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    tracked = tracking.log_training(
        trained,
        card_paths={"html": card / "model_card.html", "markdown": card / "model_card.md"},
        tracking_uri=uri,
    )
    return tracked, uri


def _artifacts(c: MlflowClient, run_id: str, path: str | None = None) -> set[str]:
    return {a.path for a in c.list_artifacts(run_id, path)}


@pytest.mark.slow
def test_parent_run_holds_config_data_metrics_and_artifacts(
    trained: TrainingResult, logged
) -> None:  # type: ignore[no-untyped-def]
    tracked, uri = logged
    c = MlflowClient(uri)
    run = c.get_run(tracked.run_id)
    p, m, tags = run.data.params, run.data.metrics, run.data.tags
    assert run.info.status == "FINISHED"
    assert tracked.experiment_name == "german-credit"
    assert p["budget.trials"] == "3"
    assert p["budget.cv_folds"] == "3"
    assert p["name"] == "german-credit"
    assert p["dataset.hash"] == trained.dataset.data_hash
    assert p["champion"] == trained.champion
    assert m["dataset_rows"] == 1000
    assert m["dataset_bad_rate"] == pytest.approx(0.3)
    assert (m["split_train_rows"], m["split_valid_rows"], m["split_test_rows"]) == (700, 150, 150)
    assert m["test_roc_auc"] == pytest.approx(trained.test_metrics["roc_auc"])
    # named by their rows: final_fit train_valid -> out-of-fold over train + valid
    assert m["oof_train_valid_brier"] == pytest.approx(trained.development_metrics["brier"])
    assert "valid_brier" not in m
    assert m["champion_fitted_rows"] == 850
    assert tags["lib.scikit-learn"]
    assert tags["lib.mlflow"]
    assert tags["mlflow.user"]
    assert len(tags["creditscore.code_commit"]) == 40  # the code is a git checkout
    top = _artifacts(c, tracked.run_id)
    assert {
        "config.yaml",
        "candidates.csv",
        "calibration_table.csv",
        "policy.json",
        "plots",
        "model",
        "model_card",
        "fairness.json",
        "explanations",
    } <= top
    extra = set(trained.assessment.explanations.plots)
    assert extra >= {"shap_beeswarm"}  # fairness figures are drawn by the model card
    assert {Path(a).name for a in _artifacts(c, tracked.run_id, "plots")} == {
        f"{n}.png" for n in (*trained.plots, *extra)
    }
    assert "fairness_age_group_disparate_impact_ratio" in m
    assert _artifacts(c, tracked.run_id, "model_card") == {
        "model_card/model_card.html",
        "model_card/model_card.md",
    }


@pytest.mark.slow
def test_one_nested_run_per_candidate(trained: TrainingResult, logged) -> None:  # type: ignore[no-untyped-def]
    tracked, uri = logged
    c = MlflowClient(uri)
    nested = c.search_runs(
        [tracked.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{tracked.run_id}'"
    )
    by_name = {r.info.run_name: r for r in nested}
    assert set(by_name) == {cand.name for cand in trained.candidates} == set(tracked.candidate_runs)
    for cand in trained.candidates:
        run = by_name[cand.name]
        history = c.get_metric_history(run.info.run_id, "cv_auc_fold")
        assert [h.step for h in history] == list(range(len(cand.tuning.cv_auc_folds)))
        assert [h.value for h in history] == pytest.approx(cand.tuning.cv_auc_folds)
        assert run.data.metrics["cv_auc_mean"] == pytest.approx(cand.cv_auc_mean)
        assert run.data.metrics["valid_roc_auc"] == pytest.approx(cand.valid_auc)
        assert run.data.metrics["fit_seconds"] == pytest.approx(cand.fit_seconds)
        assert run.data.tags["creditscore.champion"] == str(cand.name == trained.champion).lower()
        if cand.tuning.trials:
            assert run.data.metrics["optuna_trials"] == cand.tuning.n_trials
            assert run.data.metrics["optuna_pruned"] == cand.tuning.n_pruned
            assert "optuna_trials.csv" in _artifacts(c, run.info.run_id)
            assert set(cand.tuning.best_params) <= set(run.data.params)


@pytest.mark.slow
def test_logged_pyfunc_predicts_like_the_scorer(
    trained: TrainingResult,
    logged,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    tracked, uri = logged
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    X = trained.dataset.X.iloc[trained.splits.test]
    info = mlflow.models.get_model_info(tracked.model_uri)
    assert info.signature.inputs.input_names() == trained.bundle.features
    assert info.signature.outputs.input_names() == [
        "probability_of_default",
        "score",
        "risk_band",
        "decision",
    ]
    assert info.saved_input_example_info is not None
    served = mlflow.pyfunc.load_model(tracked.model_uri).predict(X)
    expected = Scorer(trained.bundle).score_frame(X)
    np.testing.assert_array_equal(
        served["probability_of_default"].to_numpy(), expected["probability_of_default"].to_numpy()
    )
    assert served.equals(expected)
    # Integers arriving as floats (a gap in a column does that) are still accepted.
    as_float = X.astype(
        {f.name: float for f in trained.bundle.schema.fields if f.kind == "numeric"}
    )
    served_float = mlflow.pyfunc.load_model(tracked.model_uri).predict(as_float)
    assert (
        served_float["probability_of_default"].tolist()
        == expected["probability_of_default"].tolist()
    )


def test_logging_is_quiet_and_a_dead_server_is_a_clear_error(
    trained: TrainingResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    tracked = tracking.log_training(
        trained, tracking_uri=f"sqlite:///{tmp_path / 'm.db'}", experiment="quiet"
    )
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert tracked.seconds < 60
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with pytest.raises(tracking.TrackingError, match="cannot reach the MLflow tracking store"):
        tracking.log_training(trained, tracking_uri=f"http://127.0.0.1:{port}")
