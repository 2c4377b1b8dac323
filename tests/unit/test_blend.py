from __future__ import annotations

import numpy as np

from creditscore.training.train import select_blend
from creditscore.training.tuning import folds


def test_greedy_selection_combines_complementary_models() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    a, b = rng.normal(size=n), rng.normal(size=n)
    y = (a + b + rng.normal(scale=0.5, size=n) > 0).astype(int)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    oof = {"sees_a": sig(a), "sees_b": sig(b), "noise": rng.random(n)}
    weights = select_blend(oof, y, folds(y, 5, 0))
    assert set(weights) == {"sees_a", "sees_b"}  # noise never helps
    assert sum(weights.values()) >= 2


def test_no_blend_when_one_model_dominates() -> None:
    rng = np.random.default_rng(1)
    n = 2000
    z = rng.normal(size=n)
    y = (z > 0).astype(int)
    oof = {"perfect": 1 / (1 + np.exp(-z)), "weak": rng.random(n)}
    assert select_blend(oof, y, folds(y, 5, 0)) == {"perfect": 1}
