"""Shared fixtures: real data, real models, everything under tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creditscore.config import ProjectConfig, german_config
from creditscore.datasets import load_german

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TAIWAN = SHARED_DATA / "taiwan_credit_card.csv"


@pytest.fixture(scope="session")
def german() -> pd.DataFrame:
    return load_german()


@pytest.fixture(scope="session")
def taiwan() -> pd.DataFrame:
    if not TAIWAN.is_file():
        pytest.skip(f"Taiwan data not found at {TAIWAN} (only on the project's machines)")
    return pd.read_csv(TAIWAN)


def quick_config(tmp_path: Path, candidates: list[str], **budget: object) -> ProjectConfig:
    """The German config with a tiny tuning budget, writing under tmp_path.

    The budget is a number of trials only, never seconds: a time limit would make the
    trained model depend on how busy the machine is, and tests that read the model
    (counterfactuals, schema fuzzing) flaky."""
    cfg = german_config()
    cfg.base_dir = tmp_path
    cfg.candidates = candidates
    cfg.budget = cfg.budget.model_copy(
        update={"trials": 2, "seconds": None, "cv_folds": 3, **budget}
    )
    return cfg


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """One real training run on German (logistic + LightGBM, small budget), shared by tests."""
    from creditscore.training.train import train

    tmp = tmp_path_factory.mktemp("trained")
    return train(quick_config(tmp, ["logistic", "lightgbm"], trials=3))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
