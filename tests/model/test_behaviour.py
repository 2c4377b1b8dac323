"""Behavioural tests: properties a credit model must have."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from creditscore.models.catalog import CATALOG, Context


def delinquency_data(n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    dpd = rng.choice([0, 0, 0, 0, 15, 30, 60, 90, 120], size=n).astype(float)
    income = rng.lognormal(8, 0.5, n)
    housing = rng.choice(["own", "rent", "free"], n)
    logit = -2.0 + 0.025 * dpd - 0.3 * np.log(income / 3000) + (housing == "rent") * 0.4
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"days_past_due": dpd, "income": income, "housing": housing}), y


# The forest (sklearn allows monotonic_cst only without missing values) and the MLP cannot
# promise monotonicity, so they are not held to it.
MONOTONE = ["logistic", "scorecard", "xgboost", "lightgbm", "catboost"]


@pytest.mark.parametrize("name", MONOTONE)
def test_pd_never_falls_as_days_past_due_rise(name: str) -> None:
    X, y = delinquency_data()
    ctx = Context(
        ["days_past_due", "income"],
        ["housing"],
        monotone={"days_past_due": "increasing"},
        seed=0,
        n_jobs=1,
    )
    pipe = CATALOG[name].pipeline(None, ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
    grid = np.arange(0, 151, 5, dtype=float)
    for _, row in X.sample(40, random_state=1).iterrows():
        probe = pd.DataFrame([row] * len(grid)).assign(days_past_due=grid)
        p = pipe.predict_proba(probe)[:, 1]
        assert np.all(np.diff(p) >= -1e-9), f"{name}: PD falls as days past due rise: {p}"
    low = X.assign(days_past_due=0.0)
    high = X.assign(days_past_due=120.0)
    assert pipe.predict_proba(high)[:, 1].mean() > pipe.predict_proba(low)[:, 1].mean()
