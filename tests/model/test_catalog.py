"""Every candidate builds, fits and scores small real data, including awkward rows."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from creditscore.exceptions import ConfigError
from creditscore.models.catalog import CATALOG, Context, get_candidates

SENSITIVE = ["personal_status_and_sex", "age_in_years", "foreign_worker"]


@pytest.fixture(scope="module")
def small(german: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, Context]:
    df = german.sample(400, random_state=0).reset_index(drop=True)
    y = (df.pop("creditability") == "bad").astype(int).to_numpy()
    X = df.drop(columns=SENSITIVE)
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    return X, y, Context(numeric, categorical, seed=0, n_jobs=1)


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_candidate_fits_and_scores_awkward_rows(name: str, small) -> None:  # type: ignore[no-untyped-def]
    X, y, ctx = small
    cand = CATALOG[name]
    pipe = cand.pipeline(None, ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
    p = pipe.predict_proba(X)[:, 1]
    assert p.shape == (len(X),)
    assert np.all((p >= 0) & (p <= 1))
    assert roc_auc_score(y, p) > 0.7
    odd = X.head(3).copy()
    odd.loc[0, "credit_amount"] = np.nan  # missing number
    odd.loc[1, "purpose"] = "spaceship"  # category never seen in training
    odd.loc[2, "housing"] = "  OWN "  # spelling differing by case and spaces
    q = pipe.predict_proba(odd)[:, 1]
    assert np.all(np.isfinite(q))
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_allclose(restored.predict_proba(X.head(20)), pipe.predict_proba(X.head(20)))


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_search_space_samples_buildable_params(name: str, small) -> None:  # type: ignore[no-untyped-def]
    _X, _, ctx = small
    cand = CATALOG[name]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(3):
        trial = study.ask()
        cand.pipeline(cand.suggest(trial), ctx)  # every sampled combination must construct
        study.tell(trial, 0.5)
    # The defaults lie inside the search space, so trial 0 of tuning is the untuned model.
    assert cand.suggest(optuna.trial.FixedTrial(cand.defaults)) == cand.defaults


def test_unknown_candidate_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown candidate\(s\) \['lgbm'\].*available"):
        get_candidates(["logistic", "lgbm"])
