"""Contributions and reason codes, on real models fitted to the German data."""

from __future__ import annotations

import dataclasses
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier

from creditscore.bundle import ModelBundle
from creditscore.data.profile import build_profile
from creditscore.data.schema import InputSchema
from creditscore.explain.engines import logit, uncalibrated
from creditscore.explain.reasons import BASE_VALUE, Explainer, ReasonCode, reason_code_id
from creditscore.models.catalog import CATALOG, Context
from creditscore.policy import DecisionPolicy

TARGET = "creditability"
SENSITIVE = ["personal_status_and_sex", "age_in_years", "foreign_worker"]
REASONS = {"duration_in_month": "Loan duration", "credit_amount": "Loan amount"}


def _policy() -> DecisionPolicy:
    return DecisionPolicy(0.3, 0.0, (("LOW", 0.1), ("HIGH", 1.0)), 600, 50, 20, 10, 1)


def _bundle(
    model: Any, X: pd.DataFrame, numeric: list[str], categorical: list[str], sensitive: list[str]
) -> ModelBundle:
    p = model.predict_proba(X)[:, 1]
    return ModelBundle(
        model=model,
        schema=InputSchema.from_frame(X, numeric, categorical),
        policy=_policy(),
        profile=build_profile(X, numeric, categorical, p),
        reasons=dict(REASONS),
        metadata={"name": "test", "sensitive": sensitive, "target": TARGET, "positive": "bad"},
    )


@pytest.fixture(scope="module")
def data(german: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, list[str], list[str]]:
    X = german.drop(columns=[TARGET, *SENSITIVE])
    y = (german[TARGET] == "bad").to_numpy(dtype=int)
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    return X, y, numeric, categorical


@pytest.fixture(scope="module")
def pipes(data: Any) -> dict[str, Any]:
    X, y, numeric, categorical = data
    ctx = Context(numeric, categorical, seed=0, n_jobs=1)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ["logistic", "scorecard", "random_forest", "xgboost", "lightgbm", "catboost"]:
            params = {"n_estimators": 60} if name == "random_forest" else None
            out[name] = CATALOG[name].pipeline(params, ctx).fit(X.iloc[:700], y[:700])
    return out


def _truth(name: str, pipe: Any, X: pd.DataFrame) -> np.ndarray:
    """The model's own log-odds of bad, from the fitted pipeline itself."""
    if name in ("logistic", "scorecard"):
        return np.asarray(pipe.decision_function(X), dtype=float)
    if name == "lightgbm":
        return np.asarray(pipe.predict(X, raw_score=True), dtype=float)
    if name == "catboost":
        return np.asarray(pipe.predict(X, prediction_type="RawFormulaVal"), dtype=float)
    return logit(pipe.predict_proba(X)[:, 1])


# xgboost computes contributions and margins in float32
TOLERANCE = {"xgboost": 1e-5}


@pytest.mark.parametrize(
    "name", ["logistic", "scorecard", "random_forest", "xgboost", "lightgbm", "catboost"]
)
def test_contributions_sum_to_the_models_log_odds(
    name: str, pipes: dict[str, Any], data: Any
) -> None:
    X, _, numeric, categorical = data
    ex = Explainer.from_bundle(_bundle(pipes[name], X, numeric, categorical, SENSITIVE))
    C = ex.contributions(X)
    assert list(C.columns) == [*X.columns, BASE_VALUE]
    total = C.sum(axis=1).to_numpy()
    truth = _truth(name, pipes[name], X)
    tol = TOLERANCE.get(name, 1e-6)
    np.testing.assert_allclose(total, truth, rtol=0, atol=tol)
    np.testing.assert_allclose(ex.log_odds(X), truth, rtol=0, atol=tol)
    assert np.ptp(C[BASE_VALUE]) < 1e-9  # one base value for everyone
    assert (C.drop(columns=BASE_VALUE).abs().sum() > 0).sum() >= 3


def test_logistic_contributions_are_coefficient_times_centred_value(
    pipes: dict[str, Any], data: Any
) -> None:
    X, _, numeric, categorical = data
    pipe = pipes["logistic"]
    ex = Explainer.from_bundle(_bundle(pipe, X, numeric, categorical, SENSITIVE))
    C = ex.contributions(X)
    coef = pipe[-1].coef_.ravel()
    Z = pipe[:-1].transform(X)
    names = list(pipe[1].get_feature_names_out())
    j = names.index("duration_in_month")
    np.testing.assert_allclose(C["duration_in_month"], coef[j] * Z[:, j], atol=1e-12)
    # a category is centred on the Profile's level shares (here: all of X)
    assert abs(C["status_of_existing_checking_account"].mean()) < 1e-9


def test_scorecard_contributions_are_its_points_per_characteristic(
    pipes: dict[str, Any], data: Any
) -> None:
    X, _, numeric, categorical = data
    pipe = pipes["scorecard"]
    ex = Explainer.from_bundle(_bundle(pipe, X, numeric, categorical, SENSITIVE))
    C = ex.contributions(X)
    card = pipe[-1].contributions(pipe[0].transform(X))
    for f in card.columns:
        np.testing.assert_allclose(C[f], card[f], atol=1e-12)
    dropped = [f for f in X.columns if f not in card.columns]
    assert (C[dropped] == 0).all().all()


def test_blend_and_calibrated_bundle(pipes: dict[str, Any], data: Any) -> None:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    X, y, numeric, categorical = data
    blend = VotingClassifier(
        [("logistic", clone(pipes["logistic"])), ("lightgbm", clone(pipes["lightgbm"]))],
        voting="soft",
        weights=[1, 2],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        blend.fit(X.iloc[:700], y[:700])
        calibrated = CalibratedClassifierCV(
            FrozenEstimator(blend), method="sigmoid", ensemble=False, cv=5
        )
        calibrated.fit(X.iloc[700:], y[700:])
    assert uncalibrated(calibrated) is blend
    ex = Explainer.from_bundle(_bundle(calibrated, X, numeric, categorical, SENSITIVE))
    assert ex.method == "blend"
    C = ex.contributions(X)
    truth = logit(blend.predict_proba(X)[:, 1])
    np.testing.assert_allclose(C.sum(axis=1), truth, atol=1e-9)


def test_trained_bundle_unwraps_to_the_champion_pipeline(trained) -> None:  # type: ignore[no-untyped-def]
    inner, champion = uncalibrated(trained.bundle.model), trained.champion_result.model
    # final_fit train_valid ships the champion refitted on train + valid: same estimator,
    # same parameters, fitted anew
    assert type(inner) is type(champion)
    assert inner.get_params(deep=False).keys() == champion.get_params(deep=False).keys()
    ex = Explainer.from_bundle(trained.bundle)
    X = trained.dataset.X.iloc[trained.splits.test]
    C = ex.contributions(X)
    truth = logit(inner.predict_proba(X)[:, 1])
    np.testing.assert_allclose(C.sum(axis=1), truth, atol=1e-6)


def test_permutation_engine_is_exact_for_an_additive_model(
    pipes: dict[str, Any], data: Any
) -> None:
    """For logistic regression, permutation Shapley against the typical applicant must give
    each feature's own effect exactly: linear contribution(x) - linear contribution(ref)."""
    X, _, numeric, categorical = data
    bundle = _bundle(pipes["logistic"], X, numeric, categorical, SENSITIVE)
    linear = Explainer.from_bundle(bundle)
    perm = Explainer.from_bundle(bundle, method="permutation", n_permutations=3)
    assert perm.method == "permutation"
    rows = X.iloc[:40]
    got = perm.contributions(rows)
    lin = linear.contributions(rows)
    ref = linear.contributions(pd.DataFrame([linear.typical])[X.columns])
    expected = lin[list(X.columns)] - ref[list(X.columns)].to_numpy()
    np.testing.assert_allclose(got[list(X.columns)], expected, atol=1e-9)
    np.testing.assert_allclose(got.sum(axis=1), linear.log_odds(rows), atol=1e-9)


@pytest.mark.slow
def test_mlp_contributions_sum_and_are_stable(data: Any) -> None:
    pytest.importorskip("skorch")
    X, y, numeric, categorical = data
    ctx = Context(numeric, categorical, seed=0, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = CATALOG["mlp"].pipeline({"max_epochs": 15}, ctx).fit(X.iloc[:700], y[:700])
    ex = Explainer.from_bundle(_bundle(pipe, X, numeric, categorical, SENSITIVE))
    assert ex.method == "permutation"
    rows = X.iloc[700:760]
    C = ex.contributions(rows)
    np.testing.assert_allclose(C.sum(axis=1), logit(pipe.predict_proba(rows)[:, 1]), atol=1e-9)
    for i in range(0, 60, 15):
        row = rows.iloc[i].to_dict()
        assert ex.reasons(row) == ex.reason_codes(row, C.iloc[i])


@pytest.mark.parametrize("name", ["logistic", "scorecard", "lightgbm", "random_forest"])
def test_a_row_alone_and_in_a_batch_gives_identical_codes(
    name: str, pipes: dict[str, Any], data: Any
) -> None:
    X, _, numeric, categorical = data
    ex = Explainer.from_bundle(_bundle(pipes[name], X, numeric, categorical, SENSITIVE))
    batch = X.iloc[700:900]
    C = ex.contributions(batch)
    many = ex.reasons_many(batch)
    for i in range(0, len(batch), 7):
        row = batch.iloc[i].to_dict()
        alone = ex.explain_one(row)
        np.testing.assert_allclose(
            [alone[c] for c in C.columns], C.iloc[i].to_numpy(), rtol=0, atol=1e-12
        )
        codes = ex.reasons(row)
        assert codes == ex.reason_codes(row, C.iloc[i]) == many[i]
        assert codes == ex.reasons_for_values([row[f] for f in ex.features])
        assert 1 <= len(codes) <= 4
        assert all(r.contribution > 0 for r in codes)
        assert [r.contribution for r in codes] == sorted(
            (r.contribution for r in codes), reverse=True
        )


def test_protected_attributes_are_never_reasons(german: pd.DataFrame) -> None:
    """Even when a protected attribute is (explicitly allowed as) a model input and pushes
    hard towards bad, it is not named as a reason."""
    X = german.drop(columns=[TARGET, "personal_status_and_sex"])
    y = (german[TARGET] == "bad").to_numpy(dtype=int)
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    protected = ["age_in_years", "foreign_worker"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = CATALOG["lightgbm"].pipeline(None, Context(numeric, categorical, n_jobs=1)).fit(X, y)
    ex = Explainer.from_bundle(_bundle(pipe, X, numeric, categorical, protected))
    C = ex.contributions(X)
    top = C.drop(columns=BASE_VALUE).idxmax(axis=1)
    assert top.isin(protected).sum() > 0, "the test needs rows where a protected input leads"
    for i in range(len(X)):
        codes = ex.reason_codes(X.iloc[i].to_dict(), C.iloc[i], k=len(X.columns))
        assert not {r.feature for r in codes} & set(protected)
        assert not any(re.match(r"RC_(AGE_IN_YEARS|FOREIGN_WORKER)_", r.code) for r in codes)


def test_codes_and_texts(pipes: dict[str, Any], data: Any) -> None:
    X, _, numeric, categorical = data
    ex = Explainer.from_bundle(_bundle(pipes["lightgbm"], X, numeric, categorical, SENSITIVE))
    seen: dict[str, set[str]] = {}
    for reasons in ex.reasons_many(X.iloc[:300]):
        for r in reasons:
            assert re.fullmatch(r"RC_[A-Z0-9_]+", r.code), r.code
            assert len(r.code) <= 75
            seen.setdefault(r.code, set()).add(r.text if r.feature in categorical else r.feature)
            if r.feature == "duration_in_month":
                assert re.fullmatch(
                    r"Loan duration: \d+( \((above|below) the typical \d+\))?", r.text
                )
            if r.feature == "status_of_existing_checking_account":
                assert r.text == f"Status of existing checking account: {r.value}"
    # one code, one meaning: a categorical code always comes with the same sentence
    assert all(len(v) == 1 for v in seen.values())
    spec = ex.schema.field("duration_in_month")
    assert reason_code_id("duration_in_month", spec, None, 18.0) == "RC_DURATION_IN_MONTH_MISSING"
    assert reason_code_id("duration_in_month", spec, 48.0, 18.0) == "RC_DURATION_IN_MONTH_HIGH"
    spec = ex.schema.field("status_of_existing_checking_account")
    assert (
        reason_code_id("status_of_existing_checking_account", spec, "... < 0 DM", None)
        == "RC_STATUS_OF_EXISTING_CHECKING_ACCOUNT_LT_0_DM"
    )


def test_reason_text_templates_and_the_scorer_contract(pipes: dict[str, Any], data: Any) -> None:
    X, _, numeric, categorical = data
    bundle = _bundle(pipes["logistic"], X, numeric, categorical, SENSITIVE)
    bundle.reasons["duration_in_month"] = "The loan runs for {value} months"
    ex = Explainer.from_bundle(bundle)
    row = X.iloc[0].to_dict() | {"duration_in_month": 60}
    texts = {r.feature: r.text for r in ex.reasons(row, k=17)}
    assert texts["duration_in_month"] == "The loan runs for 60 months"
    from creditscore import scorer

    ours = [f.name for f in dataclasses.fields(ReasonCode)]
    assert ours == ["code", "feature", "text", "value", "contribution"]
    assert ours == [f.name for f in dataclasses.fields(scorer.ReasonCode)]


def test_missing_values_special_codes_and_unseen_levels() -> None:
    """The fast encoders reproduce the pipelines where German never goes: NaN, special
    codes, unseen categories and other spellings of known ones."""
    rng = np.random.default_rng(0)
    n = 1200
    dpd = rng.choice([0, 0, 0, 15, 30, 60, 90, -999], size=n).astype(float)
    income = np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(8, 0.5, n))
    housing = np.where(
        rng.random(n) < 0.05,
        None,
        rng.choice(["own", "rent", "free", "rare"], n, p=[0.5, 0.4, 0.098, 0.002]),
    )
    logit_ = -2 + 0.02 * np.where(dpd < 0, 0, dpd) + (housing == "rent") * 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit_))).astype(int)
    X = pd.DataFrame(
        {"days_past_due": dpd, "income": income, "housing": pd.Series(housing, dtype=object)}
    )
    ctx = Context(
        ["days_past_due", "income"],
        ["housing"],
        special_codes={"days_past_due": [-999]},
        seed=0,
        n_jobs=1,
    )
    probe = pd.DataFrame(
        {
            "days_past_due": [np.nan, -999.0, 45.0, 1e6, 0.0],
            "income": [np.nan, 100.0, 5000.0, 3.0, np.nan],
            "housing": pd.Series(["RENT ", None, "castle", "own", "rare"], dtype=object),
        }
    )
    for name in ["logistic", "scorecard", "lightgbm", "xgboost", "catboost"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipe = CATALOG[name].pipeline(None, ctx).fit(X, y)
        ex = Explainer.from_bundle(_bundle(pipe, X, ["days_past_due", "income"], ["housing"], []))
        both = pd.concat([X.iloc[:50], probe], ignore_index=True)
        np.testing.assert_allclose(
            ex.contributions(both).sum(axis=1),
            _truth(name, pipe, both),
            atol=TOLERANCE.get(name, 1e-6),
        )


@pytest.mark.slow
def test_global_explanations_and_lime(pipes: dict[str, Any], data: Any, tmp_path: Any) -> None:
    import matplotlib.pyplot as plt

    from creditscore.explain.global_ import global_explanations, lime_explanation

    X, _, numeric, categorical = data
    bundle = _bundle(pipes["lightgbm"], X, numeric, categorical, SENSITIVE)
    before = plt.get_fignums()
    out = global_explanations(bundle, X.iloc[:700], tmp_path, max_rows=150, top=2)
    assert plt.get_fignums() == before  # no pyplot state leaks
    assert set(out["plots"]) == {"shap_beeswarm", "partial_dependence"}
    assert all(p.is_file() and p.stat().st_size > 1000 for p in out["plots"].values())
    assert out["html"].count("data:image/png;base64,") == 2
    assert "| Loan duration |" in out["markdown"]
    shares = [r["share"] for r in out["importance"]]
    assert shares == sorted(shares, reverse=True)
    assert abs(sum(shares) - 1) < 1e-9
    assert out["importance"][0]["feature"] == "status_of_existing_checking_account"

    lime = lime_explanation(bundle, X.iloc[800].to_dict(), X.iloc[:700], num_samples=500)
    assert lime["probability_of_default"] == pytest.approx(bundle.predict_proba(X.iloc[[800]])[0])
    assert 1 <= len(lime["weights"]) <= 6
    assert all(w["feature"] in X.columns for w in lime["weights"])


def test_forest_kernel_gives_shaps_baseline_shapley_values(data: Any) -> None:
    """Our numba kernel plays shap's interventional game with one background row."""
    import shap

    from creditscore.explain.engines import encode_pipeline
    from creditscore.explain.forest_shap import ForestArrays, supported

    X, y, numeric, categorical = data
    X = X.copy()
    X.loc[X.index[::7], "credit_amount"] = np.nan  # missing values take the learnt side
    # on ordinal codes and raw numbers (float32 numbers all): shap rounds the forest's
    # float64 thresholds to float32, which moves a standardised value lying between the two
    # to the other side than scikit-learn (and our kernel) send it
    ordinal = dataclasses.replace(CATALOG["random_forest"], family="ordinal")
    ctx = Context(numeric, categorical, seed=0, n_jobs=1)
    pipe = ordinal.pipeline({"n_estimators": 60}, ctx).fit(X.iloc[:700], y[:700])
    model = encode_pipeline(pipe, InputSchema.from_frame(X, numeric, categorical))
    assert supported(model.estimator)
    enc = model.encoder
    Z = enc.encode({f: X[f].to_numpy(dtype=object) for f in enc.features}, len(X))[:200]
    ref = np.nanmedian(Z, axis=0)[None, :]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.TreeExplainer(
            model.estimator, data=ref, feature_perturbation="interventional", model_output="raw"
        )
        expected = np.asarray(explainer.shap_values(Z, check_additivity=False))[..., -1]
    ours = ForestArrays(model.estimator).shapley(Z, ref[0])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-7)
    p = model.estimator.predict_proba(Z)[:, 1]
    p_ref = model.estimator.predict_proba(ref)[0, 1]
    np.testing.assert_allclose(ours.sum(axis=1), p - p_ref, rtol=0, atol=1e-12)
