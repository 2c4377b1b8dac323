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
    weights = select_blend(oof, y, [va for _, va in folds(y, 5, 0)])
    assert set(weights) == {"sees_a", "sees_b"}  # noise never helps
    assert sum(weights.values()) >= 2


def test_no_blend_when_one_model_dominates() -> None:
    rng = np.random.default_rng(1)
    n = 2000
    z = rng.normal(size=n)
    y = (z > 0).astype(int)
    oof = {"perfect": 1 / (1 + np.exp(-z)), "weak": rng.random(n)}
    assert select_blend(oof, y, [va for _, va in folds(y, 5, 0)]) == {"perfect": 1}


def test_tuning_must_beat_the_defaults_by_more_than_the_fold_noise() -> None:
    from creditscore.training.tuning import clearly_better

    default = [0.70, 0.80, 0.75, 0.78, 0.72]
    # the same gain on every fold: the folds agree, tuning pays
    assert clearly_better([a + 0.01 for a in default], default)
    # a larger mean gain that comes from one lucky fold: within the noise, it does not
    assert not clearly_better([0.70, 0.80, 0.83, 0.77, 0.71], default)
    assert not clearly_better(default, default)
