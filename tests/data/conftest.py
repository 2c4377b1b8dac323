"""Shared fixtures for the data tests: real files and small awkward tables built here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from creditscore.config import ProjectConfig
from creditscore.datasets import load_german

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
TAIWAN_CSV = SHARED_DATA / "taiwan_credit_card.csv"
TAIWAN_TARGET = "default.payment.next.month"


def make_config(tmp_path: Path | None = None, **data: Any) -> ProjectConfig:
    """A ProjectConfig with the given ``data`` keys (and top-level ``sensitive``)."""
    sensitive = data.pop("sensitive", [])
    allow = data.pop("allow_sensitive_as_features", [])
    raw = {"data": data, "sensitive": sensitive, "allow_sensitive_as_features": allow}
    return ProjectConfig.from_dict(raw, base_dir=tmp_path)


@pytest.fixture(scope="session")
def german() -> pd.DataFrame:
    return load_german()


@pytest.fixture
def german_df(german: pd.DataFrame) -> pd.DataFrame:
    return german.copy()


@pytest.fixture
def taiwan_csv() -> Path:
    if not TAIWAN_CSV.is_file():
        pytest.skip(f"Taiwan credit data not found at {TAIWAN_CSV} (../shared/data is absent)")
    return TAIWAN_CSV


def awkward_frame(n: int = 400, seed: int = 7) -> pd.DataFrame:
    """A table with the usual troubles of real application data.

    The outcome depends on income and duration (so there is signal but no leak); the
    other columns are each one kind of trouble that ``init`` must notice.
    """
    rng = np.random.default_rng(seed)
    income = rng.normal(3000, 800, n).round(0)
    duration = rng.integers(6, 60, n)
    logit = -1.0 - 0.0008 * (income - 3000) + 0.03 * (duration - 30)
    bad = rng.random(n) < 1 / (1 + np.exp(-logit))
    status = np.where(bad, "bad", "good")
    income_with_gaps = income.copy()
    income_with_gaps[rng.choice(n, 20, replace=False)] = np.nan
    housing = rng.choice(np.array(["own", "rent", "free"], dtype=object), n)
    housing[:3] = ["Rent", " rent", "OWN"]  # typos: case and spaces
    dates = pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "app_id": [f"A{i:05d}" for i in rng.permutation(n)],
            "row_no": np.arange(1, n + 1),
            "income": income_with_gaps,
            "duration": duration,
            "housing": housing,
            "applied": dates,
            "country": "DE",
            "notes": np.full(n, np.nan),
            "collections_flag": np.where(bad, 1.0, 0.0) + rng.normal(0, 0.01, n),
            "outcome_text": np.where(bad, "charged off", "paid"),
            "noise_code": [f"C{v}" for v in rng.integers(0, n, n)],
            "status": status,
        }
    )


@pytest.fixture
def awkward() -> pd.DataFrame:
    return awkward_frame()
