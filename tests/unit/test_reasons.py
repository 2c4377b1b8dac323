"""Contributions and reason codes, on real models fitted to the German data."""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier

from creditscore.bundle import ModelBundle
from creditscore.compiled import logit, uncalibrated
from creditscore.data.profile import build_profile
from creditscore.data.schema import InputSchema
from creditscore.models.catalog import CATALOG, Context
from creditscore.policy import DecisionPolicy
from creditscore.reasons import BASE_VALUE, Explainer, ReasonCode, reason_code_id

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
    # the same values as the permutation engine before the compiled MLP (its formula below)
    reference = pd.DataFrame([ex.typical])[list(X.columns)]
    old = _old_permutation_shapley(pipe, rows.iloc[:20], reference, list(X.columns))
    np.testing.assert_allclose(C[list(X.columns)].iloc[:20], old, rtol=0, atol=1e-9)


def _old_permutation_shapley(
    pipe: Any, rows: pd.DataFrame, reference: pd.DataFrame, features: list[str]
) -> np.ndarray:
    """The former engine's antithetic permutation Shapley values of ``logit p`` against the
    reference: 10 orders drawn with seed 0 (numpy's default_rng), each also reversed; a
    coalition takes its features' encoded columns from the row, the rest from the reference;
    the model's own ``predict_proba`` scores every coalition."""
    owners = _owners(pipe, features)
    a = len(features)
    rng = np.random.default_rng(0)
    perms = [rng.permutation(a) for _ in range(10)]
    orders = perms + [p[::-1] for p in perms]
    Zr = np.asarray(pipe[:-1].transform(reference), dtype=np.float64)
    out = np.zeros((len(rows), a))
    for i in range(len(rows)):
        Z = np.asarray(pipe[:-1].transform(rows.iloc[[i]]), dtype=np.float64)
        masks = []
        for order in orders:
            inside = np.zeros(a, dtype=bool)
            masks.append(inside.copy())
            for f in order:
                inside[f] = True
                masks.append(inside.copy())
        M = np.asarray(masks)[:, owners]
        v = logit(pipe[-1].predict_proba(np.where(M, Z, Zr))[:, 1]).reshape(len(orders), a + 1)
        for s, order in enumerate(orders):
            out[i, order] += np.diff(v[s])
    return out / len(orders)


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
    assert set(out.plots) == {"shap_beeswarm", "partial_dependence"}
    assert all(p.is_file() and p.stat().st_size > 1000 for p in out.plots.values())
    assert "Loan duration" in {r["label"] for r in out.importance}
    assert out.rows == 150
    shares = [r["share"] for r in out.importance]
    assert shares == sorted(shares, reverse=True)
    assert abs(sum(shares) - 1) < 1e-9
    assert out.importance[0]["feature"] == "status_of_existing_checking_account"

    lime = lime_explanation(bundle, X.iloc[800].to_dict(), X.iloc[:700], num_samples=500)
    assert lime["probability_of_default"] == pytest.approx(bundle.predict_proba(X.iloc[[800]])[0])
    assert 1 <= len(lime["weights"]) <= 6
    assert all(w["feature"] in X.columns for w in lime["weights"])


# ------------------------------------------------------------------------------ references
def _owners(pipe: Any, features: list[str]) -> np.ndarray:
    """Feature (position in ``features``) of each column the pipeline's preprocessing makes,
    read from its output names: the feature, its missing indicator or one of its levels."""
    prep = pipe[1]
    ct = prep[0] if hasattr(prep, "steps") else prep  # the MLP's ends in a float32 step
    out = []
    for name in ct.get_feature_names_out():
        match = [
            i
            for i, f in enumerate(features)
            if name in (f, f"missingindicator_{f}") or str(name).startswith(f + "_")
        ]
        assert match, name
        out.append(max(match, key=lambda i: len(features[i])))
    return np.asarray(out)


def _by_feature(values: np.ndarray, owners: np.ndarray, n_features: int) -> np.ndarray:
    out = np.zeros((values.shape[0], n_features))
    np.add.at(out.T, owners, values.T)
    return out


def _float32(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


@pytest.mark.parametrize("name", ["random_forest", "xgboost", "catboost"])
def test_tree_contributions_equal_shaps_interventional_values(
    name: str, pipes: dict[str, Any], data: Any
) -> None:
    """Ours: baseline Shapley values against the typical applicant on the compiled trees;
    shap's ``TreeExplainer(model, data=reference, feature_perturbation="interventional")``
    on the encoded rows plays the same game, column by column."""
    shap = pytest.importorskip("shap")
    from creditscore.compiled import to_log_odds
    from creditscore.compiled.trees import floor32

    X, _, numeric, categorical = data
    X = X.copy()
    X.loc[X.index[::7], "credit_amount"] = np.nan  # missing values take their learnt side
    pipe = pipes[name]
    ex = Explainer.from_bundle(_bundle(pipe, X, numeric, categorical, SENSITIVE))
    rows = X.iloc[700:900]
    reference = pd.DataFrame([ex.typical])[list(X.columns)]
    model = pipe[-1]
    if name == "random_forest":
        # the trees compare float32 inputs with float64 thresholds; shap rounds thresholds to
        # float32. Thresholds snapped to the float32 below them decide every float32 input
        # the same way, for both.
        model = copy.deepcopy(model)
        for est in model.estimators_:
            t = est.tree_
            t.threshold[:] = np.where(t.children_left >= 0, floor32(t.threshold), t.threshold)
        np.testing.assert_array_equal(
            model.predict_proba(pipe[:-1].transform(rows)), pipe.predict_proba(rows)
        )
    Z, Zr = _float32(pipe[:-1].transform(rows)), _float32(pipe[:-1].transform(reference))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.TreeExplainer(
            model, data=Zr, feature_perturbation="interventional", model_output="raw"
        )
        values = np.asarray(explainer.shap_values(Z, check_additivity=False))
    values = values[..., -1] if values.ndim == 3 else values
    features = list(X.columns)
    expected = _by_feature(values, _owners(pipe, features), len(features))
    if name == "random_forest":  # probabilities, mapped to log-odds as ours are
        expected, _ = to_log_odds(expected, np.full(len(rows), pipe.predict_proba(reference)[0, 1]))
    ours = ex.contributions(rows)[features].to_numpy()
    np.testing.assert_allclose(ours, expected, rtol=0, atol=2e-7)  # shap sums in float32
    assert np.abs(ours).max() > 0.05


def _exact_shapley(value: Any, x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Shapley values of ``S -> value(x on S, r elsewhere)`` by enumerating every coalition
    of the columns where ``x`` and ``r`` differ."""
    differ = [j for j in range(len(x)) if not (x[j] == r[j] or (np.isnan(x[j]) and np.isnan(r[j])))]
    m = len(differ)
    subsets = np.arange(2**m)
    rows = np.repeat(r[None, :], 2**m, axis=0)
    for b, j in enumerate(differ):
        on = (subsets >> b) & 1 == 1
        rows[on, j] = x[j]
    v = value(rows)
    size = np.array([bin(s).count("1") for s in subsets])
    phi = np.zeros(len(x))
    for b, j in enumerate(differ):
        without = subsets[(subsets >> b) & 1 == 0]
        k = size[without]
        w = np.array([math.factorial(i) * math.factorial(m - i - 1) for i in k]) / math.factorial(m)
        phi[j] = float(np.sum(w * (v[without | (1 << b)] - v[without])))
    return phi


@pytest.mark.parametrize("columns", ["all", "numbers only", "zero as missing"])
def test_lightgbm_contributions_are_exact_shapley_values(
    columns: str, pipes: dict[str, Any], data: Any
) -> None:
    """With native categorical splits (which shap's tree parser does not read) and with
    numbers only, both on the plain array walk, and with zero-as-missing splits (the node
    record walk), checked against the definition: every coalition scored by LightGBM
    itself."""
    X, y, numeric, categorical = data
    pipe = pipes["lightgbm"]
    if columns == "numbers only":
        X, categorical = X[numeric], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ctx = Context(numeric, [], seed=0, n_jobs=1)
            pipe = CATALOG["lightgbm"].pipeline(None, ctx).fit(X.iloc[:700], y[:700])
    elif columns == "zero as missing":
        pipe = clone(pipe)
        pipe[-1].set_params(zero_as_missing=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipe.fit(X.iloc[:700], y[:700])
    ex = Explainer.from_bundle(_bundle(pipe, X, numeric, categorical, SENSITIVE))
    game = ex.engine._game
    assert (game.thresholds is not None) == (columns != "zero as missing")
    if columns == "all":  # category sets on the array walk
        assert bool(np.any(game.thresholds[4] & 4))
    reference = pd.DataFrame([ex.typical])[list(X.columns)]
    Zr = np.asarray(pipe[:-1].transform(reference), dtype=np.float64)[0]
    booster = pipe[-1].booster_
    names = [str(n) for n in pipe[1].get_feature_names_out()]
    checked = 0
    for i in range(700, 1000):
        row = X.iloc[[i]]
        Z = np.asarray(pipe[:-1].transform(row), dtype=np.float64)[0]
        if int(np.sum(Zr != Z)) > 12:  # keep the enumeration small
            continue
        exact = _exact_shapley(lambda M: booster.predict(M, raw_score=True), Z, Zr)
        ours = ex.contributions(row).iloc[0]
        np.testing.assert_allclose([ours[n] for n in names], exact, rtol=0, atol=1e-10)
        checked += 1
        if checked == 8:
            break
    assert checked >= 4


def test_blend_contributions_combine_the_members_on_the_probability_scale(
    pipes: dict[str, Any], data: Any
) -> None:
    """A soft vote's contributions: each member's, times (p_m - p_m(base)) / (z_m - b_m),
    averaged with the weights, mapped to the blend's log-odds."""
    from creditscore.compiled import to_log_odds

    X, y, numeric, categorical = data
    members = [("logistic", pipes["logistic"]), ("xgboost", pipes["xgboost"])]
    blend = VotingClassifier([(n, clone(p)) for n, p in members], voting="soft", weights=[1, 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        blend.fit(X.iloc[:700], y[:700])
    rows = X.iloc[700:800]
    ex = Explainer.from_bundle(_bundle(blend, X, numeric, categorical, SENSITIVE))
    psi, p0 = np.zeros((len(rows), len(X.columns))), np.zeros(len(rows))
    for fitted, w in zip(blend.estimators_, [0.25, 0.75], strict=True):
        member = Explainer.from_bundle(_bundle(fitted, X, numeric, categorical, SENSITIVE))
        C = member.contributions(rows)
        b = C[BASE_VALUE].to_numpy()
        C = C[list(X.columns)].to_numpy()
        z = C.sum(axis=1) + b
        p, pb = 1 / (1 + np.exp(-z)), 1 / (1 + np.exp(-b))
        psi += w * C * ((p - pb) / (z - b))[:, None]
        p0 += w * pb
    expected, base = to_log_odds(psi, p0)
    got = ex.contributions(rows)
    np.testing.assert_allclose(got[list(X.columns)], expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got[BASE_VALUE], base, rtol=0, atol=1e-12)


def test_a_model_without_a_compiled_form_is_explained_through_the_pipeline(
    pipes: dict[str, Any], data: Any
) -> None:
    """Extra trees have no compiled form: permutation Shapley values on the raw inputs,
    scored by the pipeline, still add up to its log-odds."""
    from sklearn.ensemble import ExtraTreesClassifier

    X, y, numeric, categorical = data
    pipe = clone(pipes["random_forest"])
    pipe.steps[-1] = ("model", ExtraTreesClassifier(n_estimators=20, max_depth=5, random_state=0))
    pipe.fit(X.iloc[:700], y[:700])
    ex = Explainer.from_bundle(_bundle(pipe, X, numeric, categorical, SENSITIVE))
    assert ex.method == "permutation"
    assert "no compiled form" in ex.description
    rows = X.iloc[700:720]
    C = ex.contributions(rows)
    np.testing.assert_allclose(C.sum(axis=1), logit(pipe.predict_proba(rows)[:, 1]), atol=1e-9)
    row = rows.iloc[3].to_dict()
    assert ex.reasons(row) == ex.reason_codes(row, C.iloc[3])


def test_frame_texts_of_numbers_are_the_one_value_texts(pipes: dict[str, Any], data: Any) -> None:
    """The batch texts (Arrow, numba-formatted numbers) of every numeric reason feature,
    missing values and the typical value included, are the texts ``decide`` gives."""
    X, _, numeric, categorical = data
    ex = Explainer.from_bundle(_bundle(pipes["lightgbm"], X, numeric, categorical, SENSITIVE))
    checked = 0
    for pieces in ex._pieces:
        if not pieces.numeric:
            continue
        typical = [] if pieces.t is None else [pieces.t]
        x = np.array([1.0, np.nan, 12_345.0, 9_999.6, 2.5, -3.0, *typical, np.nan])
        (codes, index), texts = pieces.many_numbers(x)
        got = list(zip([codes[i] for i in index], texts.to_pylist(), strict=True))
        assert got == [pieces.one(None if np.isnan(v) else v) for v in x]
        checked += 1
    assert checked == len(numeric)
