"""Fixtures for the batch tests: one real model per session, files under tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from creditscore.batch import BatchModel, load_model
from creditscore.bundle import ModelBundle

from .helpers import SMALL_LIGHTGBM, german_bundle, save_bundle


@pytest.fixture(scope="session")
def bundle() -> ModelBundle:
    return german_bundle(params=SMALL_LIGHTGBM)


@pytest.fixture(scope="session")
def bundle_path(bundle: ModelBundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_bundle(bundle, tmp_path_factory.mktemp("model") / "bundle")


@pytest.fixture(scope="session")
def model(bundle_path: Path) -> BatchModel:
    """The bundle folder loaded once, with its explainer (reason codes)."""
    return load_model(bundle_path, reasons=True)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'decisions.db'}"


def write_parquet(frame: pd.DataFrame, path: Path, row_group_size: int = 50_000) -> Path:
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_size
    )
    return path


def spark_missing() -> str | None:
    """Why the Spark tests cannot run here (None: they can)."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed (pip install 'creditscore[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (Spark needs Java 17: apt-get install openjdk-17-jre-headless)"
    return None


needs_spark = pytest.mark.skipif(spark_missing() is not None, reason=str(spark_missing()))
