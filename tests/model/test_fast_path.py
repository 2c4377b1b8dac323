"""The Scorer's compiled hot path returns the pipeline's probabilities, alone and in batches.

Every candidate of the catalog (and a soft-voting blend of all of them) is trained with its
defaults on German and on a 5,000-row sample of Taiwan, wrapped in both calibrations as
training does, and scored row by row (``decide``) and as frames (``score_frame``) on every
test row, on messy copies of them (missing values, other case and spacing, unseen
categories) and with special codes; the result must equal the pipeline's to 1e-6 (in
practice it is equal to the last bit or within a few ulps).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import pickle
import subprocess
import sys
import textwrap
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import ExtraTreesClassifier, VotingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from creditscore import bundle as bundle_module
from creditscore.bundle import ModelBundle
from creditscore.compiled import NotCompilableError, compile_model, logit, verify
from creditscore.compiled import trees as compiled_trees
from creditscore.config import ProjectConfig, german_config
from creditscore.data.ingest import load_raw, validate
from creditscore.data.profile import build_profile
from creditscore.data.schema import InputSchema
from creditscore.data.split import split_indices
from creditscore.exceptions import BundleError, ScoringInputError
from creditscore.init import infer_config, render_yaml
from creditscore.models.catalog import CATALOG, Context
from creditscore.policy import DecisionPolicy
from creditscore.reasons import BASE_VALUE
from creditscore.scorer import Scorer

PARITY = 1e-6  # the contract: compiled PD within 1e-6 of the pipeline's
CANDIDATES = [*CATALOG, "blend"]
METHODS = ["isotonic", "sigmoid"]
TAIWAN_ROWS = 5_000
# Defaults, except a shorter MLP epoch budget (early stopping usually ends sooner anyway)
# and one thread per model: these tests share two busy cores.
FAST_PARAMS: dict[str, dict[str, Any]] = {"mlp": {"max_epochs": 25}}
POLICY = DecisionPolicy(
    threshold=0.25,
    refer_margin=0.02,
    bands=(("LOW", 0.05), ("MEDIUM", 0.15), ("HIGH", 0.35), ("CRITICAL", 1.0)),
    base_points=600,
    base_odds=50,
    pdo=20,
    cost_fn=10,
    cost_fp=1,
)


@dataclass
class Trained:
    """One data set, its splits and every candidate fitted on its training rows."""

    name: str
    X: pd.DataFrame
    y: np.ndarray
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    numeric: list[str]
    categorical: list[str]
    schema: InputSchema
    models: dict[str, Any] = field(default_factory=dict)
    scorers: dict[tuple[str, str], Scorer] = field(default_factory=dict)

    @property
    def test_rows(self) -> pd.DataFrame:
        return self.X.iloc[self.test]

    def scorer(self, candidate: str, method: str) -> Scorer:
        """Scorer of the candidate calibrated on the validation rows (built once)."""
        key = (candidate, method)
        if key not in self.scorers:
            model = calibrated(
                self.models[candidate], method, self.X.iloc[self.valid], self.y[self.valid]
            )
            self.scorers[key] = Scorer(bundle(model, self, candidate), model_version=method)
        return self.scorers[key]


def calibrated(model: Any, method: str, X: pd.DataFrame, y: np.ndarray) -> CalibratedClassifierCV:
    # what training.calibration does with the chosen method
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CalibratedClassifierCV(
            FrozenEstimator(model), method=method, ensemble=False, cv=5
        ).fit(X, y)


def bundle(model: Any, data: Trained, name: str) -> ModelBundle:
    train_pd = model.predict_proba(data.X.iloc[data.train])[:, 1]
    profile = build_profile(data.X.iloc[data.train], data.numeric, data.categorical, train_pd)
    return ModelBundle(model, data.schema, POLICY, profile, metadata={"name": name})


def fit_all(
    name: str,
    cfg: ProjectConfig,
    special: dict[str, list[Any]] | None = None,
    only: list[str] | None = None,
) -> Trained:
    ds = validate(load_raw(cfg), cfg)
    splits = split_indices(ds.y, cfg.split, ds.dates)
    special_codes = dict(cfg.data.special_codes) if special is None else special
    ctx = Context(
        ds.numeric, ds.categorical, special_codes, dict(cfg.data.monotone), seed=42, n_jobs=1
    )
    names = only or list(CATALOG)
    # a weighted soft vote, as training builds it (weights: how often a member was picked)
    blend = VotingClassifier(
        [(n, CATALOG[n].pipeline(FAST_PARAMS.get(n), ctx)) for n in names],
        voting="soft",
        weights=[1 + i % 3 for i in range(len(names))],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        blend.fit(ds.X.iloc[splits.train], ds.y[splits.train])
    data = Trained(
        name,
        ds.X,
        ds.y,
        splits.train,
        splits.valid,
        splits.test,
        list(ds.numeric),
        list(ds.categorical),
        InputSchema.from_frame(ds.X, ds.numeric, ds.categorical),
    )
    data.models = dict(zip(names, blend.estimators_, strict=True))
    data.models["blend"] = blend
    return data


@pytest.fixture(scope="module")
def german_fit() -> Trained:
    return fit_all("german", german_config())


@pytest.fixture(scope="module")
def taiwan_fit(taiwan: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    folder = tmp_path_factory.mktemp("taiwan")
    sample = taiwan.sample(TAIWAN_ROWS, random_state=0)
    path = folder / "taiwan.csv"
    sample.to_csv(path, index=False)
    inference = infer_config(
        sample, "default.payment.next.month", None, data_path=str(path), name="taiwan"
    )
    (folder / "taiwan.yaml").write_text(render_yaml(inference))
    return fit_all("taiwan", ProjectConfig.from_yaml(folder / "taiwan.yaml"))


@pytest.fixture(params=["german", "taiwan"])
def trained(request: pytest.FixtureRequest) -> Trained:
    return request.getfixturevalue(f"{request.param}_fit")


# ------------------------------------------------------------------------------ helpers
def pipeline_pd(scorer: Scorer, frame: pd.DataFrame) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unseen categories in messy frames
        return scorer.bundle.predict_proba(frame)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def messy(frame: pd.DataFrame, data: Trained, seed: int, unseen: bool) -> pd.DataFrame:
    """The rows as clients send them: gaps, other case and spacing, unseen categories."""
    rng = np.random.default_rng(seed)
    out = frame.astype(object).copy()
    for col in out.columns:
        values = out[col].to_numpy(dtype=object, copy=True)
        for i in range(len(values)):
            r = rng.random()
            if r < 0.10:
                values[i] = None if col in data.categorical else np.nan
            elif col in data.categorical and isinstance(values[i], str):
                if r < 0.25:
                    values[i] = values[i].upper()
                elif r < 0.40:
                    values[i] = "  " + values[i].replace(" ", "  ") + " "
                elif unseen and r < 0.47:
                    values[i] = "a category nobody has seen"
        out[col] = values
    return out


def assert_parity(scorer: Scorer, frame: pd.DataFrame, *, single: bool = True) -> float:
    """Batch (and single) compiled PDs equal the pipeline's; returns the largest difference."""
    want = pipeline_pd(scorer, frame)
    batch = scorer.score_frame(frame)["probability_of_default"].to_numpy()
    worst = float(np.max(np.abs(batch - want)))
    assert worst <= PARITY, f"{scorer.fast_path_detail}: batch differs by {worst:.3g}"
    if single:
        alone = np.array([scorer.decide(r).probability_of_default for r in records(frame)])
        single_worst = float(np.max(np.abs(alone - want)))
        assert single_worst <= PARITY, (
            f"{scorer.fast_path_detail}: single differs by {single_worst:.3g}"
        )
        # a row scored alone equals the same row in a batch, to the bit
        np.testing.assert_array_equal(alone, batch)
        worst = max(worst, single_worst)
    return worst


# ------------------------------------------------------------------------------ parity
@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("candidate", CANDIDATES)
def test_compiled_scores_equal_the_pipeline_on_every_test_row(
    trained: Trained, candidate: str, method: str
) -> None:
    scorer = trained.scorer(candidate, method)
    assert scorer.fast_path == "compiled", scorer.fast_path_detail
    assert assert_parity(scorer, trained.test_rows) <= 1e-12

    rows = trained.test_rows
    batch_only = messy(rows, trained, seed=1, unseen=True)  # unseen categories: batch only
    assert_parity(scorer, batch_only, single=False)
    both = messy(rows, trained, seed=2, unseen=False)
    assert_parity(scorer, both)


@pytest.mark.slow
def test_an_unweighted_blend_is_the_plain_mean(german_fit: Trained) -> None:
    plain = copy.copy(german_fit.models["blend"])  # the same fitted members, no weights
    plain.weights = None
    model = calibrated(
        plain, "sigmoid", german_fit.X.iloc[german_fit.valid], german_fit.y[german_fit.valid]
    )
    scorer = Scorer(bundle(model, german_fit, "plain-blend"))
    assert scorer.fast_path == "compiled", scorer.fast_path_detail
    assert assert_parity(scorer, german_fit.test_rows) <= 1e-12


@pytest.mark.slow
def test_single_batch_and_decide_many_agree(german_fit: Trained) -> None:
    scorer = german_fit.scorer("blend", "isotonic")
    rows = records(german_fit.test_rows)
    alone = [scorer.decide(r) for r in rows]
    small = scorer.decide_many(rows[:10])  # scored one by one
    large = scorer.decide_many(rows)  # scored as a frame
    frame = scorer.score_frame(german_fit.test_rows)
    p = [d.probability_of_default for d in alone]
    assert [d.probability_of_default for d in large] == p
    assert [d.probability_of_default for d in small] == p[:10]
    assert [d.decision for d in large] == [d.decision for d in alone] == frame["decision"].tolist()
    assert [d.score for d in alone] == frame["score"].tolist()
    assert [d.risk_band for d in alone] == frame["risk_band"].tolist()


@pytest.mark.slow
@pytest.mark.parametrize("candidate", ["random_forest", "xgboost", "lightgbm"])
def test_level_by_level_layout_equals_bit_vectors(
    german_fit: Trained, candidate: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = calibrated(
        german_fit.models[candidate],
        "isotonic",
        german_fit.X.iloc[german_fit.valid],
        german_fit.y[german_fit.valid],
    )
    vectors = compile_model(model, german_fit.schema)
    monkeypatch.setattr(compiled_trees.Trees, "MAX_LEAVES", 0)  # no tree fits a bit vector
    levels = compile_model(model, german_fit.schema)
    assert "bit vectors" in vectors.description
    assert "level by level" in levels.description
    frame = messy(german_fit.test_rows, german_fit, seed=3, unseen=True)
    np.testing.assert_array_equal(levels.predict_frame(frame), vectors.predict_frame(frame))
    want = pipeline_pd(german_fit.scorer(candidate, "isotonic"), frame)
    np.testing.assert_allclose(levels.predict_frame(frame), want, rtol=0, atol=1e-12)


@pytest.mark.slow
def test_large_frames_are_scored_in_parallel_chunks_with_the_same_result(
    german_fit: Trained,
) -> None:
    scorer = german_fit.scorer("lightgbm", "sigmoid")
    big = pd.concat([german_fit.test_rows] * 200, ignore_index=True)  # 30,000 rows: chunked
    whole = scorer.score_frame(big)["probability_of_default"].to_numpy()
    np.testing.assert_array_equal(
        whole, np.tile(scorer.score_frame(german_fit.test_rows)["probability_of_default"], 200)
    )


@pytest.mark.slow
def test_special_codes_are_missing_values_in_both_paths() -> None:
    special: dict[str, list[Any]] = {
        "credit_amount": [0],
        "savings_account_and_bonds": ["unknown/ no savings account"],
    }
    data = fit_all(
        "german-special",
        german_config(),
        special=special,
        only=["logistic", "lightgbm", "scorecard"],
    )
    rows = data.test_rows.copy()
    rows.loc[rows.index[::3], "credit_amount"] = 0
    rows.loc[rows.index[1::3], "savings_account_and_bonds"] = "unknown/ no savings account"
    for candidate in ["logistic", "lightgbm", "scorecard", "blend"]:
        scorer = data.scorer(candidate, "isotonic")
        assert scorer.fast_path == "compiled", scorer.fast_path_detail
        assert_parity(scorer, rows)
        # the special code scores exactly like a missing value
        gap = rows.copy()
        gap.loc[gap.index[::3], "credit_amount"] = np.nan
        gap.loc[gap.index[1::3], "savings_account_and_bonds"] = None
        np.testing.assert_array_equal(scorer.probabilities(gap), scorer.probabilities(rows))


@pytest.mark.slow
def test_scoring_from_many_threads_gives_the_same_decisions(german_fit: Trained) -> None:
    scorer = german_fit.scorer("catboost", "isotonic")
    rows = records(german_fit.test_rows)
    expected = [scorer.decide(r).probability_of_default for r in rows]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda r: scorer.decide(r).probability_of_default, rows * 4))
    assert results == expected * 4


# ------------------------------------------------------------------------------ contributions
# contributions (with the base) vs the log-odds: XGBoost sums its margin in float32; a blend
# with an XGBoost member inherits some of it
ADDS_UP = {"xgboost": 1e-5, "blend": 1e-6}
REASON_PARTS = ("code", "feature", "text", "contribution")


def log_odds_truth(model: Any, candidate: str, frame: pd.DataFrame) -> np.ndarray:
    """The uncalibrated model's log-odds of bad, from the fitted estimator itself."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unseen categories in messy frames
        if candidate in ("logistic", "scorecard"):
            return np.asarray(model.decision_function(frame), dtype=np.float64)
        if candidate == "lightgbm":
            return np.asarray(model.predict(frame, raw_score=True), dtype=np.float64)
        if candidate == "xgboost":
            return np.asarray(model.predict(frame, output_margin=True), dtype=np.float64)
        if candidate == "catboost":
            raw = model.predict(frame, prediction_type="RawFormulaVal")
            return np.asarray(raw, dtype=np.float64)
        return logit(model.predict_proba(frame)[:, 1])


@pytest.mark.slow
@pytest.mark.parametrize("candidate", CANDIDATES)
def test_contributions_add_up_to_the_log_odds_on_every_test_row(
    trained: Trained, candidate: str
) -> None:
    scorer = trained.scorer(candidate, "isotonic")
    ex = scorer.explainer
    assert ex is not None
    assert scorer.fast_path == "compiled"
    assert ex.features == trained.schema.names  # today the model's features are the fields
    rows = trained.test_rows
    for frame in (rows, messy(rows, trained, seed=4, unseen=True)):
        C = ex.contributions(frame)
        total = C.sum(axis=1).to_numpy()
        tol = ADDS_UP.get(candidate, 1e-9)
        np.testing.assert_allclose(total, ex.log_odds(frame), rtol=0, atol=tol)
        truth = log_odds_truth(trained.models[candidate], candidate, frame)
        np.testing.assert_allclose(total, truth, rtol=0, atol=tol)
        assert np.ptp(C[BASE_VALUE]) == 0  # one base value (the reference) for everyone
        assert (C[ex.features].abs().max() > 1e-6).sum() >= 3


@pytest.mark.slow
@pytest.mark.parametrize("candidate", CANDIDATES)
def test_contributions_of_a_row_alone_equal_the_row_in_a_batch(
    trained: Trained, candidate: str
) -> None:
    scorer = trained.scorer(candidate, "sigmoid")
    ex = scorer.explainer
    assert ex is not None
    rows = trained.test_rows
    C = ex.contributions(rows)
    names = trained.schema.names
    for i, application in enumerate(records(rows)):
        valid = scorer.validate(application)
        alone, base = ex.explain_values([valid[n] for n in names])
        np.testing.assert_array_equal(alone, C.iloc[i][ex.features].to_numpy(dtype=np.float64))
        assert base == C[BASE_VALUE].iloc[i]
        one = ex.explain_one(valid)
        assert one == {**dict(zip(ex.features, alone.tolist(), strict=True)), BASE_VALUE: base}


@pytest.mark.parametrize("candidate", ["random_forest", "xgboost", "catboost", "blend"])
def test_one_rows_trees_split_between_two_threads_give_the_batchs_bits(
    german_fit: Trained, candidate: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One application's trees walked half by the caller and half by the helper thread
    (forced here: the test models are below the size where it pays) equal the batch."""
    from creditscore.compiled import base, contributions

    scorer = german_fit.scorer(candidate, "sigmoid")
    ex = scorer.explainer
    assert ex is not None
    monkeypatch.setattr(contributions, "SPLIT_MIN_COST", 0)
    rows = german_fit.test_rows.iloc[:60]
    C = ex.contributions(rows)[list(ex.features)].to_numpy(dtype=np.float64)
    names = german_fit.schema.names
    for split in (True, False):  # the helper thread, and the caller running both halves
        monkeypatch.setattr(base, "SPLIT_ONE_ROW", split)
        for i, application in enumerate(records(rows)):
            valid = scorer.validate(application)
            alone, _ = ex.explain_values([valid[n] for n in names])
            np.testing.assert_array_equal(alone, C[i])


@pytest.mark.slow
@pytest.mark.parametrize("candidate", ["lightgbm", "mlp", "blend"])
def test_contributions_of_large_frames_in_parallel_chunks_are_the_same(
    german_fit: Trained, candidate: str
) -> None:
    from creditscore.compiled.base import PARALLEL_ROWS

    ex = german_fit.scorer(candidate, "isotonic").explainer
    assert ex is not None
    rows = german_fit.test_rows
    big = pd.concat([rows] * (PARALLEL_ROWS // len(rows) + 1), ignore_index=True)
    whole = ex.contributions(big).to_numpy()
    np.testing.assert_array_equal(
        whole, np.tile(ex.contributions(rows).to_numpy(), (len(big) // len(rows), 1))
    )


def reason_tuples(frame: pd.DataFrame, i: int, k: int) -> list[tuple[Any, ...]]:
    """Row ``i``'s reasons from score_frame's columns; checks the empty slots are empty."""
    out = []
    for slot in range(1, k + 1):
        cells = [frame[f"reason_{slot}_{part}"].iloc[i] for part in REASON_PARTS]
        if pd.isna(cells[0]):
            assert all(pd.isna(c) for c in cells), cells
            continue
        assert not out or not pd.isna(frame[f"reason_{slot - 1}_code"].iloc[i])
        out.append((str(cells[0]), str(cells[1]), str(cells[2]), float(cells[3])))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("candidate", CANDIDATES)
def test_score_frame_reason_columns_are_decides_codes_row_by_row(
    trained: Trained, candidate: str
) -> None:
    scorer = trained.scorer(candidate, "isotonic")
    rows = trained.test_rows
    applications = records(rows)
    columns = [f"reason_{s}_{p}" for s in range(1, 5) for p in REASON_PARTS]
    seen = set()
    outs = {}
    for explain in (None, True, False):
        out = outs[explain] = scorer.score_frame(rows, reasons=4, explain=explain)
        assert list(out.columns) == [
            "probability_of_default", "score", "risk_band", "decision", *columns,
        ]  # fmt: skip
        assert out.index.equals(rows.index)
        for i, application in enumerate(applications):
            d = scorer.decide(application, explain=explain)
            assert d.decision == out["decision"].iloc[i]
            want = [(r.code, r.feature, r.text, r.contribution) for r in d.reasons]
            assert reason_tuples(out, i, 4) == want
            if explain is None:  # by default: declines and referrals only
                assert not want or d.decision != "approve"
            seen.add((explain, bool(want)))
    assert (True, True) in seen  # explain=True: every row has reasons
    assert (False, True) not in seen  # explain=False: none
    two = scorer.score_frame(rows, reasons=2, explain=True)
    assert [c for c in two.columns if c.startswith("reason_")] == columns[:8]
    for col in columns[:8]:
        assert two[col].astype(object).equals(outs[True][col].astype(object)), col


def test_score_frame_reason_codes_read_other_spellings_as_the_schema_level(
    small_german: Trained,
) -> None:
    scorer = Scorer(bundle(small_german.models["logistic"], small_german, "lr"))
    rows = small_german.test_rows.iloc[:40]
    clean = scorer.score_frame(rows, reasons=4, explain=True)
    shouted = rows.copy()
    for col in small_german.categorical:
        shouted[col] = ["  " + str(v).upper() + " " for v in shouted[col]]
    loud = scorer.score_frame(shouted, reasons=4, explain=True)
    for col in clean.columns:
        assert clean[col].astype(object).equals(loud[col].astype(object)), col
    assert clean["reason_1_code"].notna().all()


# ------------------------------------------------------------------------------ fallback
@pytest.fixture(scope="module")
def small_german() -> Trained:
    """German with a small logistic regression and a small extra-trees forest."""
    cfg = german_config()
    ds = validate(load_raw(cfg), cfg)
    splits = split_indices(ds.y, cfg.split, ds.dates)
    ctx = Context(ds.numeric, ds.categorical, {}, {}, seed=0, n_jobs=1)
    data = Trained(
        "german",
        ds.X,
        ds.y,
        splits.train,
        splits.valid,
        splits.test,
        list(ds.numeric),
        list(ds.categorical),
        InputSchema.from_frame(ds.X, ds.numeric, ds.categorical),
    )
    Xt, yt = ds.X.iloc[splits.train], ds.y[splits.train]
    data.models["logistic"] = CATALOG["logistic"].pipeline(None, ctx).fit(Xt, yt)
    extra = CATALOG["random_forest"].pipeline(None, ctx)
    extra.steps[-1] = ("model", ExtraTreesClassifier(n_estimators=20, max_depth=5, random_state=0))
    data.models["extra_trees"] = extra.fit(Xt, yt)
    return data


def test_an_uncompilable_model_falls_back_to_the_pipeline(small_german: Trained) -> None:
    scorer = small_german.scorer("extra_trees", "isotonic")
    assert scorer.fast_path == "pipeline"
    assert "ExtraTreesClassifier" in scorer.fast_path_detail
    rows = small_german.test_rows.iloc[:20]
    want = pipeline_pd(scorer, rows)
    np.testing.assert_array_equal(scorer.score_frame(rows)["probability_of_default"], want)
    np.testing.assert_allclose(
        [scorer.decide(r).probability_of_default for r in records(rows)], want, atol=1e-15
    )


def test_verification_refuses_a_compiled_model_that_disagrees(small_german: Trained) -> None:
    model = small_german.models["logistic"]
    other = calibrated(
        model,
        "isotonic",
        small_german.X.iloc[small_german.valid],
        small_german.y[small_german.valid],
    )
    compiled = compile_model(model, small_german.schema)
    assert verify(compiled, model, small_german.schema) <= 1e-12
    with pytest.raises(NotCompilableError, match="differs from the pipeline"):
        verify(compiled, other, small_german.schema)


def test_the_pipeline_path_can_be_chosen(small_german: Trained) -> None:
    plain = Scorer(bundle(small_german.models["logistic"], small_german, "lr"), compile=False)
    fast = Scorer(bundle(small_german.models["logistic"], small_german, "lr"))
    assert (plain.fast_path, fast.fast_path) == ("pipeline", "compiled")
    rows = records(small_german.test_rows.iloc[:25])
    np.testing.assert_allclose(
        [plain.decide(r).probability_of_default for r in rows],
        [fast.decide(r).probability_of_default for r in rows],
        rtol=0,
        atol=1e-15,
    )


# ------------------------------------------------------------------------------ validation
def test_validation_normalises_as_before(small_german: Trained) -> None:
    scorer = Scorer(bundle(small_german.models["logistic"], small_german, "lr"))
    row = records(small_german.test_rows.iloc[:1])[0]
    spelled = {
        **row,
        "duration_in_month": "24",
        "credit_amount": np.int64(1500),
        "purpose": "  " + str(row["purpose"]).upper() + " ",
        "job": None,
        "present_residence_since": float("nan"),
    }
    got = scorer.validate(spelled)
    assert got["duration_in_month"] == 24.0
    assert got["credit_amount"] == 1500.0
    assert got["purpose"] == row["purpose"]
    assert got["job"] is None
    assert math.isnan(got["present_residence_since"])
    assert list(got) == small_german.schema.names
    p = scorer.decide(spelled).probability_of_default
    frame = pd.DataFrame([got])
    assert p == pytest.approx(float(scorer.bundle.predict_proba(frame)[0]), abs=1e-15)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"credit_amount": 10**400}, "expected a finite number"),
        ({"credit_amount": -math.inf}, "expected a finite number"),
        ({"credit_amount": [1]}, "expected a number"),
        ({"purpose": 3}, "unknown category '3'"),
    ],
)
def test_validation_errors_name_the_field(
    small_german: Trained, change: dict[str, Any], message: str
) -> None:
    scorer = Scorer(bundle(small_german.models["logistic"], small_german, "lr"))
    row = records(small_german.test_rows.iloc[:1])[0]
    with pytest.raises(ScoringInputError, match=message) as info:
        scorer.decide({**row, **change})
    assert info.value.field == next(iter(change))


def test_infinity_in_a_frame_is_refused_by_name(small_german: Trained) -> None:
    scorer = Scorer(bundle(small_german.models["logistic"], small_german, "lr"))
    frame = small_german.test_rows.iloc[:5].copy()
    frame["credit_amount"] = frame["credit_amount"].astype(float)
    frame.iloc[3, frame.columns.get_loc("credit_amount")] = np.inf
    with pytest.raises(
        ScoringInputError, match=r"column 'credit_amount' has 1 infinite value\(s\).*row 3"
    ):
        scorer.score_frame(frame)


def test_an_empty_frame_scores_to_an_empty_result(small_german: Trained) -> None:
    scorer = Scorer(bundle(small_german.models["logistic"], small_german, "lr"))
    out = scorer.score_frame(small_german.test_rows.iloc[:0])
    assert len(out) == 0
    assert list(out.columns) == [
        "probability_of_default",
        "score",
        "risk_band",
        "decision",
    ]


def test_a_pipeline_with_unexpected_steps_is_not_compiled(small_german: Trained) -> None:
    model = small_german.models["logistic"]
    bare = Pipeline(model.steps[1:])  # no InputCleaner
    with pytest.raises(NotCompilableError, match="unexpected pipeline steps"):
        compile_model(bare, small_german.schema, check=False)


def test_categories_beyond_one_word_use_the_general_bitset() -> None:
    """LightGBM category sets with codes above 62 take the kernels' general bitset path."""
    rng = np.random.default_rng(0)
    n, levels = 4000, 120
    codes = rng.integers(0, levels, n)
    X = pd.DataFrame(
        {
            "amount": rng.normal(size=n).round(2),
            "branch": np.array([f"branch {c:03d}" for c in codes], dtype=object),
        }
    )
    y = ((codes % 7 == 0) ^ (rng.random(n) < 0.15)).astype(int)
    ctx = Context(["amount"], ["branch"], {}, {}, seed=0, n_jobs=1)
    params = {"min_data_per_group": 5, "cat_smooth": 1.0, "n_estimators": 60}
    model = CATALOG["lightgbm"].pipeline(params, ctx).fit(X.iloc[:3000], y[:3000])
    schema = InputSchema.from_frame(X, ["amount"], ["branch"])
    compiled = compile_model(model, schema)  # verified against the pipeline on probes
    rows = X.iloc[3000:].copy()
    rows.loc[rows.index[::11], "branch"] = "branch 999"  # unseen
    want = model.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(compiled.predict_frame(rows), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("leaves", [15, 31, 63])
def test_binned_bit_vectors_equal_the_float_kernels_to_the_bit(
    leaves: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Numeric-only LightGBM runs on threshold ranks (16-, 32- or 64-bit leaf words): the
    same bits as the float64 bit vectors and the level walk, on values at, just beside and
    far from every threshold, missing (both default directions), infinite and signed 0."""
    rng = np.random.default_rng(leaves)
    n = 6000
    X = pd.DataFrame({f"x{j}": rng.normal(size=n).round(1 + j % 3) for j in range(5)})
    X.loc[rng.random(n) < 0.2, "x0"] = np.nan  # learnt direction for missing values
    y = ((X["x1"] + X["x2"] * X["x3"] > 0.3) ^ (rng.random(n) < 0.1)).astype(int)
    y[X["x0"].isna().to_numpy() & (rng.random(n) < 0.7)] = 1
    names = list(X.columns)
    ctx = Context(names, [], {}, {}, seed=0, n_jobs=1)
    params = {"num_leaves": leaves, "n_estimators": 40, "min_child_samples": 5}
    model = CATALOG["lightgbm"].pipeline(params, ctx).fit(X, y)
    schema = InputSchema.from_frame(X, names, [])
    binned = compile_model(model, schema)  # verified against the pipeline on probes
    assert "binned bit vectors" in binned.description
    monkeypatch.setattr(compiled_trees, "binned_splits", lambda *_: None)
    vectors = compile_model(model, schema)
    assert "binned" not in vectors.description
    assert "bit vectors" in vectors.description
    monkeypatch.setattr(compiled_trees.Trees, "MAX_LEAVES", 0)
    levels = compile_model(model, schema)
    assert "level by level" in levels.description

    booster = model.steps[-1][1].booster_.dump_model()
    thresholds: dict[int, list[float]] = {}

    def walk(node: dict[str, Any]) -> None:
        if "threshold" in node:
            thresholds.setdefault(int(node["split_feature"]), []).append(node["threshold"])
            walk(node["left_child"])
            walk(node["right_child"])

    for tree in booster["tree_info"]:
        walk(tree["tree_structure"])
    rows = X.sample(4000, replace=True, random_state=1).reset_index(drop=True)
    for j, ts in thresholds.items():
        col = rows.columns[j]
        at = rng.choice(np.asarray(ts), len(rows))
        pick = rng.random(len(rows))
        nudged = np.nextafter(at, np.where(rng.random(len(rows)) < 0.5, -np.inf, np.inf))
        values = rows[col].to_numpy().copy()
        values = np.where(pick < 0.3, at, np.where(pick < 0.5, nudged, values))
        values[pick > 0.95] = np.nan
        values[(pick > 0.93) & (pick <= 0.95)] = rng.choice([np.inf, -np.inf, 0.0, -0.0])
        rows[col] = values
    got = binned.predict_frame(rows)
    np.testing.assert_array_equal(got.view(np.int64), vectors.predict_frame(rows).view(np.int64))
    np.testing.assert_array_equal(got.view(np.int64), levels.predict_frame(rows).view(np.int64))
    # against LightGBM itself: not on infinities (validation refuses them), nor on values
    # beside LightGBM's zero threshold (1e-35): its predictor reads |x| <= 1e-35 as 0, the
    # compiled kernels (every layout, as before) compare the value itself
    values = rows.to_numpy()
    tiny = ((np.abs(values) <= 1e-34) & (values != 0)).any(axis=1)
    plain = ~np.isinf(values).any(axis=1) & ~tiny
    want = model.predict_proba(rows[plain])[:, 1]
    np.testing.assert_allclose(got[plain], want, rtol=0, atol=1e-12)


# ------------------------------------------------------------------ saved compiled form
def _saved(data: Trained, candidate: str, folder: Path) -> ModelBundle:
    """The candidate (isotonic) saved as a bundle and loaded again."""
    model = calibrated(
        data.models[candidate], "isotonic", data.X.iloc[data.valid], data.y[data.valid]
    )
    bundle(model, data, candidate).save(folder)
    return ModelBundle.load(folder)


@pytest.mark.slow
@pytest.mark.parametrize("candidate", CANDIDATES)
def test_a_loaded_bundle_scores_and_explains_with_its_saved_compiled_form(
    german_fit: Trained, candidate: str, tmp_path: Path
) -> None:
    loaded = _saved(german_fit, candidate, tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "bundle.json").read_text())
    assert manifest["compiled"] == {"saved": True, "reason": None}
    scorer = Scorer(loaded)
    assert scorer.fast_path == "compiled", scorer.fast_path_detail
    assert "saved compiled form" in scorer.fast_path_detail
    assert loaded.__dict__["model"] is bundle_module._NOT_LOADED  # the pipeline never read
    rows = german_fit.test_rows
    fresh = Scorer(bundle(loaded.model, german_fit, candidate))  # compiled from the pipeline
    assert "compiled from the pipeline" in fresh.fast_path_detail
    pd.testing.assert_frame_equal(
        scorer.score_frame(rows, reasons=4), fresh.score_frame(rows, reasons=4)
    )
    assert assert_parity(scorer, rows) <= 1e-12
    assert_parity(scorer, messy(rows, german_fit, seed=1, unseen=True), single=False)


def _rewrite_compiled(folder: Path, saved: Any) -> None:
    """Replace compiled.pkl and its checksum, as a bundle written by other code would be."""
    path = folder / "compiled.pkl"
    path.write_bytes(pickle.dumps(saved))
    manifest = json.loads((folder / "bundle.json").read_text())
    manifest["checksums"]["compiled.pkl"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "bundle.json").write_text(json.dumps(manifest))


def _other(saved: Any, how: str) -> Any:
    if how == "wrong answers":
        wrong = dataclasses.replace(saved.answers, valid=saved.answers.valid + 0.01)
        return dataclasses.replace(saved, answers=wrong)
    if how == "other code":
        return dataclasses.replace(saved, fingerprint="another version")
    return {"not": "a compiled model"}


@pytest.mark.parametrize(
    ("how", "note"),
    [
        ("wrong answers", "not used (compiled model differs from the pipeline"),
        ("other code", "not used (saved compiled model is from another creditscore"),
        ("foreign object", "not used (saved compiled model is from another creditscore"),
    ],
)
def test_a_saved_compiled_form_that_cannot_be_used_is_compiled_again(
    how: str, note: str, small_german: Trained, tmp_path: Path
) -> None:
    folder = tmp_path / "b"
    _saved(small_german, "logistic", folder)
    saved = pickle.loads((folder / "compiled.pkl").read_bytes())
    _rewrite_compiled(folder, _other(saved, how))
    scorer = Scorer(ModelBundle.load(folder))
    assert scorer.fast_path == "compiled"
    assert note in scorer.fast_path_detail
    assert_parity(scorer, small_german.test_rows.iloc[:50])


def test_an_altered_compiled_file_is_refused(small_german: Trained, tmp_path: Path) -> None:
    folder = tmp_path / "b"
    _saved(small_german, "logistic", folder)
    path = folder / "compiled.pkl"
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(BundleError, match=r"compiled\.pkl does not match its checksum"):
        ModelBundle.load(folder)
    path.unlink()  # half-copied
    with pytest.raises(BundleError, match=r"compiled\.pkl is listed in bundle\.json but missing"):
        ModelBundle.load(folder)


def test_a_model_with_no_compiled_form_saves_none_and_loads(
    small_german: Trained, tmp_path: Path
) -> None:
    folder = tmp_path / "b"
    loaded = _saved(small_german, "extra_trees", folder)
    assert not (folder / "compiled.pkl").exists()
    manifest = json.loads((folder / "bundle.json").read_text())
    assert manifest["compiled"]["saved"] is False
    assert "ExtraTreesClassifier" in manifest["compiled"]["reason"]
    scorer = Scorer(loaded)
    assert scorer.fast_path == "pipeline"
    rows = small_german.test_rows.iloc[:20]
    np.testing.assert_array_equal(
        scorer.score_frame(rows)["probability_of_default"], pipeline_pd(scorer, rows)
    )


@pytest.mark.slow
def test_a_loaded_bundle_scores_in_a_process_that_never_imports_scikit_learn(
    german_fit: Trained, tmp_path: Path
) -> None:
    """The blend (every model library) loaded and scored with reason codes in a fresh
    interpreter: the same answers, and no scikit-learn, model library or joblib loaded."""
    folder = tmp_path / "b"
    loaded = _saved(german_fit, "blend", folder)
    rows = german_fit.test_rows.iloc[:40]
    rows.to_pickle(tmp_path / "rows.pkl")
    want = Scorer(bundle(loaded.model, german_fit, "blend")).score_frame(rows, reasons=4)
    code = textwrap.dedent(
        f"""
        import sys, pandas as pd
        from creditscore.bundle import ModelBundle
        from creditscore.scorer import Scorer
        scorer = Scorer(ModelBundle.load({str(folder)!r}))
        rows = pd.read_pickle({str(tmp_path / "rows.pkl")!r})
        scorer.score_frame(rows, reasons=4).to_pickle({str(tmp_path / "got.pkl")!r})
        scorer.decide(rows.iloc[0].to_dict())
        libs = ("sklearn", "lightgbm", "xgboost", "catboost", "torch", "skorch", "joblib",
                "optbinning", "scipy.stats")
        print("LOADED=" + ",".join(m for m in libs if m in sys.modules))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "LOADED="
    pd.testing.assert_frame_equal(pd.read_pickle(tmp_path / "got.pkl"), want)
