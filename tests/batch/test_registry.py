"""Scoring a registered version: the alias is pinned to a version and named in the output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from creditscore.batch import score_file
from creditscore.bundle import ModelBundle
from creditscore.exceptions import CreditScoreError

from .conftest import write_parquet
from .helpers import ID, portfolio, register_bundle


@pytest.mark.slow
def test_scores_the_champion_of_the_registry(
    bundle: ModelBundle, bundle_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITSCORE_CACHE", str(tmp_path / "cache"))
    example = portfolio(3)[bundle.features]
    uri = register_bundle(bundle, bundle_path, tmp_path, "german-batch", example)

    src = write_parquet(portfolio(2_000), tmp_path / "book.parquet")
    out = tmp_path / "scored.parquet"
    done = score_file(
        src,
        out,
        model="models:/german-batch@champion",
        tracking_uri=uri,
        id_column=ID,
        record=False,
    )
    assert done.model_version == "1"
    assert done.model_source == "models:/german-batch/1 (alias champion)"
    got = pd.read_parquet(out)
    assert set(got["model_version"]) == {"1"}
    local = tmp_path / "local.parquet"
    score_file(src, local, model=bundle_path, id_column=ID, record=False)
    mine = pd.read_parquet(local)
    pd.testing.assert_series_equal(got["probability_of_default"], mine["probability_of_default"])
    with pytest.raises(CreditScoreError, match="nope"):
        score_file(src, tmp_path / "x.parquet", model="models:/nope@champion", tracking_uri=uri)
