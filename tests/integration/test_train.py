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
    # the interaction plot comes with a tree model in the champion
    assert ("interactions" in r.plots) == (r.interactions is not None)
    assert set(r.plots) - {"interactions"} == {
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


def test_decisions_carry_reason_codes_for_declines_and_referrals(
    trained, german: pd.DataFrame
) -> None:  # type: ignore[no-untyped-def]
    scorer = Scorer(trained.bundle)
    assert scorer.explainer is not None
    X = german.drop(columns=["creditability"]).iloc[trained.splits.test]
    rows = X.to_dict(orient="records")
    default = [scorer.decide(r) for r in rows]
    protected = {"personal_status_and_sex", "age_in_years", "foreign_worker"}
    assert {d.decision for d in default} >= {"approve", "decline"}
    for d in default:
        if d.decision == "approve":
            assert d.reasons == []
        else:
            assert 1 <= len(d.reasons) <= 4
            assert not {r.feature for r in d.reasons} & protected
            assert all(r.contribution > 0 for r in d.reasons)
            contributions = [r.contribution for r in d.reasons]
            assert contributions == sorted(contributions, reverse=True)
    # explain=True: every decision; explain=False: none
    assert all(scorer.decide(r, explain=True).reasons for r in rows[:20])
    assert not any(scorer.decide(r, explain=False).reasons for r in rows[:20])
    # a batch (small and large) gives each row the codes it gets alone
    for batch in (scorer.decide_many(rows[:10]), scorer.decide_many(rows)):
        for alone, inside in zip(default, batch, strict=False):
            assert [r.code for r in alone.reasons] == [r.code for r in inside.reasons]
            assert [r.contribution for r in alone.reasons] == pytest.approx(
                [r.contribution for r in inside.reasons], abs=1e-9
            )
    # no explainer at all
    assert not any(d.reasons for d in Scorer(trained.bundle, reasons=False).decide_many(rows))


def test_training_explains_the_champion_and_checks_fairness(trained) -> None:  # type: ignore[no-untyped-def]
    from creditscore.reporting.fairness import verdict_lines

    ex = trained.assessment.explanations
    assert ex.importance[0]["mean_abs_contribution"] > 0
    assert {"shap_beeswarm", "partial_dependence"} <= set(ex.plots)
    fair = trained.assessment.fairness
    assert [a.name for a in fair.report.attributes] == [
        "sex",
        "age_group",
        "foreign_worker",
    ]
    assert fair.gate.mode == "warn"
    assert fair.passed is True  # warn never blocks
    assert verdict_lines(fair.gate.to_dict())[0].text.startswith("Fairness gate (warn)")
    meta = trained.bundle.metadata
    assert meta["fairness"]["groups"][0]["name"] == "sex"
    assert "credit_amount" in meta["actionable"]


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


def test_a_blocking_fairness_gate_fails_on_a_violation(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from creditscore.reporting.fairness import verdict_lines
    from creditscore.training.assess import explain_and_check_fairness

    cfg = trained.config.model_copy(deep=True)
    cfg.fairness = cfg.fairness.model_copy(
        update={"mode": "block", "min_disparate_impact": 1.0, "n_boot": 50}
    )
    result = replace(trained, config=cfg, bundle_path=tmp_path)
    fairness = explain_and_check_fairness(result).fairness
    assert fairness is not None
    gate = fairness.gate
    assert gate.mode == "block"
    assert gate.violations >= 1  # no two groups are approved at exactly the same rate
    assert fairness.passed is False
    assert "cannot be promoted" in verdict_lines(gate.to_dict())[0].text


# --------------------------------------------------------------------------- derived features
DERIVED = {
    "credit_per_month": "credit_amount / duration_in_month",
    "log_amount": "log1p(credit_amount)",
    "months_open": "days_between(application_date, account_opened) / 30",
    "long_loan": "duration_in_month > 24",
}


@pytest.fixture(scope="module")
def derived_run(german: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """German with two date columns and four derived features (one monotone, one with a
    reason text), trained with a small budget."""
    from conftest import quick_config
    from creditscore.training.train import train

    tmp = tmp_path_factory.mktemp("derived")
    rng = np.random.default_rng(3)
    df = german.copy()
    applied = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 700, len(df)), "D")
    opened = applied - pd.to_timedelta(rng.integers(30, 4000, len(df)), "D")
    df["application_date"] = applied.strftime("%Y-%m-%d")
    df["account_opened"] = opened.strftime("%Y-%m-%d")
    df.loc[df.index[::17], "account_opened"] = None  # a missing date -> a missing feature
    path = tmp / "german_dates.csv"
    df.to_csv(path, index=False)
    cfg = quick_config(tmp, ["logistic", "lightgbm"], trials=1)
    cfg.data.path = str(path)
    cfg.data.date_column = "application_date"
    cfg.data.exclude = ["account_opened"]
    cfg.data.monotone = {"credit_per_month": "increasing"}
    cfg.features.derived = dict(DERIVED)
    cfg.reasons = {**cfg.reasons, "credit_per_month": "Loan amount per month"}
    cfg.fairness = cfg.fairness.model_copy(update={"n_boot": 20})
    return train(cfg), df


def test_derived_features_are_features_like_any_other(derived_run) -> None:  # type: ignore[no-untyped-def]
    result, _ = derived_run
    bundle = result.bundle
    kinds = {f.name: f.kind for f in bundle.schema.fields}
    assert kinds["application_date"] == kinds["account_opened"] == "date"
    assert not set(DERIVED) & set(kinds)  # computed, never sent
    assert set(DERIVED) <= set(bundle.profile.features)
    assert bundle.metadata["derived"] == DERIVED
    lgbm = next(c for c in result.candidates if c.name == "lightgbm")
    est = lgbm.model.named_steps["model"]
    numeric = [*result.dataset.numeric, *DERIVED]
    assert est.monotone_constraints[numeric.index("credit_per_month")] == 1
    cleaned = lgbm.model.named_steps["clean"].fit(result.dataset.X).transform(result.dataset.X)
    X = result.dataset.X
    np.testing.assert_allclose(
        cleaned["credit_per_month"], X["credit_amount"] / X["duration_in_month"], rtol=1e-15
    )
    assert cleaned["months_open"].isna().sum() == X["account_opened"].isna().sum() > 0


def test_a_derived_feature_scores_the_same_in_pipeline_scorer_api_and_pyfunc(
    derived_run, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import mlflow.pyfunc

    from api.helpers import AUTH, make_settings
    from creditscore.pyfunc import save_pyfunc
    from creditscore.serving.app import create_app
    from creditscore.tracking import signature_for

    result, df = derived_run
    bundle = result.bundle
    X = df.drop(columns=["creditability"]).iloc[result.splits.test]
    want = bundle.predict_proba(X)
    scorer = Scorer(bundle)
    assert scorer.fast_path == "compiled", scorer.fast_path_detail
    np.testing.assert_allclose(scorer.probabilities(X), want, rtol=0, atol=1e-9)
    rows = X[bundle.features].astype(object).where(X[bundle.features].notna(), None)
    apps = rows.to_dict(orient="records")
    singles = [scorer.decide(a).probability_of_default for a in apps]
    np.testing.assert_allclose(singles, want, rtol=0, atol=1e-9)
    # the bundle as saved: its compiled form (derived features included) loads and agrees
    saved = Scorer(ModelBundle.load(result.bundle_path))
    assert "saved compiled form" in saved.fast_path_detail, saved.fast_path_detail
    np.testing.assert_array_equal(saved.probabilities(X), scorer.probabilities(X))
    assert [saved.decide(a).probability_of_default for a in apps] == singles

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    with TestClient(create_app(make_settings(tmp_path), bundle, model_version="1")) as client:
        got = []
        for app in apps[:40]:
            r = client.post("/v1/decisions", json=app, headers=AUTH)
            assert r.status_code == 200, r.text
            got.append(r.json()["probability_of_default"])
        bad = client.post("/v1/decisions", json={**apps[0], "account_opened": "soon"}, headers=AUTH)
        assert bad.status_code == 422
        assert "account_opened" in bad.text
    np.testing.assert_allclose(got, want[:40], rtol=0, atol=1e-9)

    model_dir = save_pyfunc(
        result.bundle_path, tmp_path / "pyfunc", signature=signature_for(result), input_example=None
    )
    served = mlflow.pyfunc.load_model(str(model_dir)).predict(X[bundle.features])
    np.testing.assert_allclose(served["probability_of_default"], want, rtol=0, atol=1e-9)


def test_derived_features_are_players_of_the_reason_codes(derived_run) -> None:  # type: ignore[no-untyped-def]
    """A derived feature is a contribution column like any input: contributions add up to
    the model's log-odds for one application and for a frame alike, and it can be a
    reason code with its configured text."""
    result, df = derived_run
    bundle = result.bundle
    scorer = Scorer(bundle)
    ex = scorer.explainer
    assert ex is not None
    assert set(DERIVED) <= set(ex.features)
    X = df.drop(columns=["creditability"]).iloc[result.splits.test][bundle.features]
    C = ex.contributions(X)
    np.testing.assert_allclose(C.sum(axis=1), ex.log_odds(X), rtol=0, atol=1e-6)
    rows = X.astype(object).where(X.notna(), None).to_dict(orient="records")
    for i, app in enumerate(rows[:25]):
        one, base = ex.explain_values(scorer._values(app))
        np.testing.assert_allclose(one, C.iloc[i][ex.features].to_numpy(), rtol=0, atol=1e-9)
        assert base == pytest.approx(C.iloc[i]["base_value"], abs=1e-9)
    reasons = [r for app in rows for r in scorer.decide(app, explain=True).reasons]
    derived_reasons = [r for r in reasons if r.feature in DERIVED]
    assert derived_reasons, "no derived feature was ever a reason"
    texts = {r.text.split(":")[0] for r in derived_reasons if r.feature == "credit_per_month"}
    assert texts <= {"Loan amount per month"}
