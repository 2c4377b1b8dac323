"""Error analysis and feature interactions: typed results that say the right thing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditscore.evaluation.errors import error_analysis
from creditscore.evaluation.interactions import interactions, save_interaction_plot
from creditscore.models.catalog import CATALOG, Context


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "c": rng.normal(size=n),
            "kind": rng.choice(["x", "y", "z"], n),
        }
    )
    z = 2.0 * X["a"] * X["b"] + 0.3 * X["c"] - 1.0  # a strong a x b interaction
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return X, y.to_numpy()


def test_error_analysis_finds_the_most_confident_errors_and_bins_everything(table) -> None:  # type: ignore[no-untyped-def]
    X, y = table
    p = 1 / (1 + np.exp(-(0.8 * X["a"].to_numpy() + 0.5 * y - 1.0)))
    ea = error_analysis(X, y, p, 0.3, ["a", "kind"], rows="test", n_examples=3)
    goods, bads = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    assert [e.row for e in ea.confident_goods] == list(goods[np.argsort(-p[goods])][:3])
    assert [e.row for e in ea.confident_bads] == list(bads[np.argsort(p[bads])][:3])
    assert all(e.outcome == "good" and e.pd >= 0.3 for e in ea.confident_goods)
    assert set(ea.confident_goods[0].values) == {"a", "kind"}
    assert sum(b.n for b in ea.by_decile) == len(y) == ea.n
    for feature in ea.by_feature:
        assert sum(b.n for b in feature.bins) == len(y)
    declined = p >= 0.3
    wrong = int(((y == 1) & ~declined).sum() + ((y == 0) & declined).sum())
    assert ea.error_rate == pytest.approx(wrong / len(y))
    assert sum(b.false_approvals + b.false_declines for b in ea.by_decile) == wrong
    assert sorted(b.label for b in ea.by_feature[1].bins) == ["x", "y", "z"]


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "catboost"])
def test_the_planted_interaction_is_the_strongest_pair(table, name: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    X, y = table
    ctx = Context(["a", "b", "c"], ["kind"], seed=0, n_jobs=1)
    model = CATALOG[name].pipeline(None, ctx).fit(X, y)
    result = interactions(model, X.iloc[:200], rows="test")
    assert result is not None
    assert {result.pairs[0].a, result.pairs[0].b} == {"a", "b"}
    assert result.pairs[0].strength > 2 * result.pairs[1].strength
    assert save_interaction_plot(result, tmp_path / "i.png").read_bytes()[:4] == b"\x89PNG"


def test_no_interactions_for_a_linear_model(table) -> None:  # type: ignore[no-untyped-def]
    X, y = table
    ctx = Context(["a", "b", "c"], ["kind"], seed=0, n_jobs=1)
    assert interactions(CATALOG["logistic"].pipeline(None, ctx).fit(X, y), X) is None
