"""Fixtures for the API tests: the real app on a real bundle, state under tmp_path."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from creditscore.bundle import ModelBundle
from creditscore.policy import DecisionPolicy
from creditscore.serving.app import create_app
from creditscore.settings import Settings

from .helpers import make_settings, pg_connect

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="session")
def rows(trained, german: pd.DataFrame) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Test-split applications as JSON-ready dicts (model inputs and protected attributes)."""
    frame = german.drop(columns=[trained.bundle.metadata["target"]]).iloc[trained.splits.test]
    return frame.to_dict(orient="records")


@pytest.fixture(scope="session")
def features(trained) -> list[str]:  # type: ignore[no-untyped-def]
    return list(trained.bundle.features)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def client(trained, settings: Settings) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings, trained.bundle, model_version="1")) as c:
        yield c


@pytest.fixture(scope="session")
def second_bundle(trained, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """The same model with another policy and version: a second, distinguishable bundle."""
    b = trained.bundle
    policy = DecisionPolicy.from_dict(
        {**b.policy.to_dict(), "threshold": min(0.9, b.policy.threshold + 0.05), "version": None}
    )
    other = ModelBundle(
        model=b.model,
        schema=b.schema,
        policy=policy,
        profile=b.profile,
        reasons=b.reasons,
        metrics=b.metrics,
        metadata={**b.metadata, "version": "second"},
    )
    return other.save(tmp_path_factory.mktemp("second") / "bundle")


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL schema for one test (dropped afterwards): (user, schema)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install creditscore[postgres])")
    conn, user = pg_connect()
    schema = f"cs_test_{uuid.uuid4().hex[:12]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield user, schema
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()
