"""Fixtures of the monitoring tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from creditscore.bundle import ModelBundle

from .helpers import TAIWAN_CATEGORICAL, german_pd, reference_bundle, taiwan_inputs, taiwan_pd


@pytest.fixture(scope="session")
def taiwan_split(taiwan: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Taiwan's inputs shuffled, then 15,000 rows as the reference and the rest as 'current'
    (the file's row order is not random: its two halves differ, PAY_AMT3's PSI is 0.11)."""
    X = taiwan_inputs(taiwan).sample(frac=1.0, random_state=0)
    return X.iloc[:15_000].reset_index(drop=True), X.iloc[15_000:].reset_index(drop=True)


@pytest.fixture(scope="session")
def taiwan_bundle(taiwan_split: tuple[pd.DataFrame, pd.DataFrame]) -> ModelBundle:
    ref, _ = taiwan_split
    p = taiwan_pd(ref)
    y = (np.random.default_rng(7).random(len(p)) < p).astype(int)
    return reference_bundle(ref, TAIWAN_CATEGORICAL, p, y)


@pytest.fixture(scope="session")
def german_split(german: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    X = german.drop(columns=["creditability"]).sample(frac=1.0, random_state=0)
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    return X.iloc[:600].reset_index(drop=True), X.iloc[600:].reset_index(drop=True), categorical


@pytest.fixture(scope="session")
def german_bundle(german_split: tuple[pd.DataFrame, pd.DataFrame, list[str]]) -> ModelBundle:
    ref, _, categorical = german_split
    p = german_pd(ref)
    return reference_bundle(ref, categorical, p)


@pytest.fixture(scope="session")
def german_model(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A real training run on German, as small as it gets (logistic, one trial): a bundle
    on disk with the monitoring reference, for the CLI and service tests."""
    from creditscore.config import german_config
    from creditscore.training.train import train

    cfg = german_config()
    cfg.base_dir = tmp_path_factory.mktemp("german-model")
    cfg.candidates = ["logistic"]
    cfg.budget = cfg.budget.model_copy(
        update={"trials": 1, "seconds": 10, "cv_folds": 2, "blend": False}
    )
    cfg.fairness = cfg.fairness.model_copy(update={"enabled": False})
    return train(cfg)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL on a fresh schema of this test's own (dropped afterwards)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install creditscore[postgres])")
    from api.helpers import pg_connect
    from api.helpers import pg_url as make_url

    conn, user = pg_connect()
    schema = f"cs_mon_{uuid.uuid4().hex[:12]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield make_url(user, schema)
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()
