"""Training end to end on real data: result, bundle round trip, Scorer, behaviour."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creditscore.bundle import ModelBundle
from creditscore.exceptions import BundleError, ScoringInputError
from creditscore.scorer import Scorer


def test_training_result_is_complete(trained) -> None:  # type: ignore[no-untyped-def]
    r = trained
    assert {c.name for c in r.candidates} >= {"logistic", "lightgbm"}
    assert r.champion in {c.name for c in r.candidates}
    for c in r.candidates:
        assert 0.6 < c.cv_auc_mean < 1
        assert len(c.tuning.cv_auc_folds) == 3
    assert r.splits.sizes() == {"train": 700, "valid": 150, "test": 150}
    for key in (
        "roc_auc",
        "gini",
        "ks",
        "brier",
        "log_loss",
        "pr_auc",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "specificity",
        "expected_cost",
        "approval_rate",
        "bad_rate_approved",
    ):
        assert np.isfinite(r.test_metrics[key]), key
    assert r.test_metrics["roc_auc"] > 0.7
    assert r.test_metrics["gini"] == pytest.approx(2 * r.test_metrics["roc_auc"] - 1)
    assert r.calibration.method in {"isotonic", "sigmoid"}
    assert 0 < r.policy.threshold < 1
    assert len(r.calibration_table) >= 5
    assert set(r.plots) == {
        "roc",
        "pr",
        "calibration",
        "ks",
        "score_distribution",
        "cost_threshold",
    }
    for path in r.plots.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Protected attributes never reach the model.
    assert not set(r.bundle.features) & {
        "personal_status_and_sex",
        "age_in_years",
        "foreign_worker",
    }


def test_bundle_round_trip_gives_identical_probabilities(trained, german: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    loaded = ModelBundle.load(trained.bundle_path)
    X = german.drop(columns=["creditability"])
    np.testing.assert_array_equal(loaded.predict_proba(X), trained.bundle.predict_proba(X))
    assert loaded.policy == trained.bundle.policy
    assert loaded.schema == trained.bundle.schema
    assert loaded.metadata["data_hash"] == trained.dataset.data_hash
    assert "scikit-learn" in loaded.metadata["library_versions"]


def test_altered_or_foreign_bundle_is_refused(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained.bundle_path, copy)
    with (copy / "model.joblib").open("ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(BundleError, match="checksum"):
        ModelBundle.load(copy)
    shutil.copytree(trained.bundle_path, tmp_path / "writable")
    os.chmod(tmp_path / "writable" / "model.joblib", 0o666)
    with pytest.raises(BundleError, match="writable by group or others"):
        ModelBundle.load(tmp_path / "writable")
    with pytest.raises(BundleError, match="not a model bundle"):
        ModelBundle.load(tmp_path)


def test_scorer_single_equals_batch_and_pipeline(trained, german: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    scorer = Scorer(trained.bundle, model_version="7")
    X = german.drop(columns=["creditability"]).iloc[trained.splits.test]
    rows = X.to_dict(orient="records")
    singles = [scorer.decide(r) for r in rows]
    batch = scorer.decide_many(rows)
    frame = scorer.score_frame(X)
    pipeline = trained.bundle.predict_proba(X)
    np.testing.assert_allclose(
        [d.probability_of_default for d in singles], pipeline, rtol=0, atol=1e-12
    )
    assert [d.probability_of_default for d in batch] == pytest.approx(pipeline, abs=1e-12)
    assert (
        [d.decision for d in singles] == [d.decision for d in batch] == frame["decision"].tolist()
    )
    assert [d.score for d in singles] == frame["score"].tolist()
    d = singles[0]
    assert d.model_version == "7"
    assert d.policy_version == trained.policy.version
    assert d.decision in {"approve", "refer", "decline"}
    assert len(d.request_id) == 32


def test_changing_ids_or_protected_fields_does_not_change_the_score(
    trained, german: pd.DataFrame
) -> None:  # type: ignore[no-untyped-def]
    scorer = Scorer(trained.bundle)
    row = german.drop(columns=["creditability"]).iloc[0].to_dict()
    base = scorer.decide({**row, "application_id": "A-1"}).probability_of_default
    assert scorer.decide({**row, "application_id": "B-999"}).probability_of_default == base
    other = {
        **row,
        "age_in_years": 99,
        "personal_status_and_sex": "female : single",
        "foreign_worker": "no",
    }
    assert scorer.decide(other).probability_of_default == base


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"credit_amount": "lots"}, "field 'credit_amount': expected a number, got 'lots'"),
        ({"credit_amount": float("inf")}, "expected a finite number"),
        ({"credit_amount": True}, "expected a number"),
        ({"purpose": "spaceship"}, "field 'purpose': unknown category 'spaceship'"),
    ],
)
def test_scorer_rejects_bad_fields_by_name(
    trained, german: pd.DataFrame, change: dict, message: str
) -> None:  # type: ignore[no-untyped-def]
    row = german.drop(columns=["creditability"]).iloc[0].to_dict()
    with pytest.raises(ScoringInputError) as info:
        Scorer(trained.bundle).decide({**row, **change})
    assert message in str(info.value)
    assert info.value.field == next(iter(change))


def test_scorer_reports_a_missing_field(trained, german: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    row = german.drop(columns=["creditability", "duration_in_month"]).iloc[0].to_dict()
    with pytest.raises(ScoringInputError, match="field 'duration_in_month' is missing"):
        Scorer(trained.bundle).decide(row)
