"""Tuning keeps the catalog's defaults unless the best trial beats them beyond the noise of
the folds (German, the real catalog candidates)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from creditscore.config import BudgetConfig
from creditscore.datasets import GERMAN_POSITIVE, GERMAN_TARGET, load_german
from creditscore.models.catalog import CATALOG, Context
from creditscore.training.tuning import clearly_better, tune


@pytest.fixture(scope="module")
def german_xy():  # type: ignore[no-untyped-def]
    df = load_german()
    y = (df[GERMAN_TARGET] == GERMAN_POSITIVE).to_numpy().astype(int)
    X = df.drop(columns=[GERMAN_TARGET])
    numeric = [c for c in X.columns if X[c].dtype.kind in "if"]
    ctx = Context(numeric, [c for c in X.columns if c not in numeric])
    return X, y, ctx


def test_bad_defaults_are_replaced_when_tuning_clearly_pays(german_xy) -> None:  # type: ignore[no-untyped-def]
    X, y, ctx = german_xy
    starved = dataclasses.replace(CATALOG["logistic"], defaults={"C": 1e-3})
    result = tune(starved, X, y, ctx, BudgetConfig(trials=8, seconds=None))
    assert not result.kept_defaults
    assert result.best_params["C"] != 1e-3
    assert result.default_auc_folds is not None
    assert clearly_better(result.cv_auc_folds, result.default_auc_folds)
    assert result.cv_auc_mean > np.mean(result.default_auc_folds)


def test_the_shipped_parameters_are_the_ones_whose_folds_are_reported(german_xy) -> None:  # type: ignore[no-untyped-def]
    X, y, ctx = german_xy
    result = tune(CATALOG["random_forest"], X, y, ctx, BudgetConfig(trials=6, seconds=None))
    assert result.default_auc_folds is not None
    if result.kept_defaults:  # a gain within the fold noise: the defaults, and their folds
        assert result.best_params == dict(CATALOG["random_forest"].defaults)
        assert result.cv_auc_folds == result.default_auc_folds
    else:
        assert result.cv_auc_folds == result.default_auc_folds or clearly_better(
            result.cv_auc_folds, result.default_auc_folds
        )
    assert len(result.oof_proba) == len(y)
    assert not np.isnan(result.oof_proba).any()
