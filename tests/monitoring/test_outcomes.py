"""Loading outcomes: idempotent, corrections kept with their time, unknown ids refused."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from creditscore.exceptions import DataError
from creditscore.monitoring.outcomes import load_outcomes
from creditscore.store.engine import make_engine
from creditscore.store.tables import outcomes_table

from .helpers import JAN_2024, decision_records, taiwan_pd, write_decisions


def _table(url: str) -> list[tuple]:  # type: ignore[type-arg]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [
                tuple(r) for r in conn.execute(sa.select(outcomes_table).order_by("application_id"))
            ]
    finally:
        engine.dispose()


@pytest.fixture
def log_url(taiwan_split, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'decisions.db'}"
    _, current = taiwan_split
    X = current.iloc[:300]
    write_decisions(
        url, decision_records(X, taiwan_pd(X), JAN_2024, 30, ids=[f"A{i}" for i in range(300)])
    )
    return url


def _file(tmp_path: Path, rows: dict[str, object], name: str = "outcomes.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame({"application_id": list(rows), "status": list(rows.values())}).to_csv(
        path, index=False
    )
    return path


def _load(url: str, path: Path, **kw: object):  # type: ignore[no-untyped-def]
    return load_outcomes(
        url, path, id_column="application_id", target="status", positive="bad", **kw
    )


def test_loading_the_same_file_twice_changes_nothing(log_url: str, tmp_path: Path) -> None:
    path = _file(tmp_path, {f"A{i}": ("bad" if i % 5 == 0 else "good") for i in range(200)})
    first = _load(log_url, path)
    assert (first.inserted, first.unchanged, first.corrected) == (200, 0, 0)
    before = _table(log_url)
    second = _load(log_url, path)
    assert (second.inserted, second.unchanged, second.corrected) == (0, 200, 0)
    assert _table(log_url) == before
    assert sum(r[1] for r in before) == 40


def test_a_corrected_label_replaces_the_old_one_with_a_record_of_when(
    log_url: str, tmp_path: Path
) -> None:
    _load(log_url, _file(tmp_path, {"A1": "good", "A2": "good"}))
    fixed = _load(log_url, _file(tmp_path, {"A1": "bad", "A2": "good"}, "fixed.csv"))
    assert (fixed.corrected, fixed.unchanged) == (1, 1)
    rows = {r[0]: r for r in _table(log_url)}
    cols = [c.name for c in outcomes_table.columns]
    a1 = dict(zip(cols, rows["A1"], strict=True))
    assert a1["bad"] == 1
    assert a1["previous_bad"] == 0
    assert a1["corrections"] == 1
    assert a1["corrected_at"] is not None
    assert a1["label"] == "bad"
    assert a1["source"].endswith("fixed.csv")
    a2 = dict(zip(cols, rows["A2"], strict=True))
    assert a2["corrected_at"] is None
    assert a2["corrections"] == 0


def test_unknown_ids_are_counted_with_examples_and_nothing_is_loaded(
    log_url: str, tmp_path: Path
) -> None:
    path = _file(tmp_path, {"A1": "bad", "Z9": "good", "Z8": "bad", "A2": "good"})
    with pytest.raises(
        DataError,
        match=r"2 of 4 application ids are not in the decision log \(e.g. 'Z9', 'Z8'\); "
        "nothing was loaded",
    ):
        _load(log_url, path)
    assert _table(log_url) == []
    partial = _load(log_url, path, allow_unknown=True)
    assert partial.inserted == 2
    assert partial.unknown == 2
    assert partial.unknown_examples == ["Z9", "Z8"]


def test_outcome_file_mistakes_are_named(log_url: str, tmp_path: Path) -> None:
    path = _file(tmp_path, {"A1": "bad", "A2": "maybe", "A3": "good"})
    with pytest.raises(DataError, match="more than two values"):
        _load(log_url, path)
    with pytest.raises(DataError, match="has no column 'id'"):
        load_outcomes(log_url, path, id_column="id", target="status", positive="bad")
    twice = tmp_path / "twice.csv"
    pd.DataFrame({"application_id": ["A1", "A1"], "status": ["bad", "good"]}).to_csv(
        twice, index=False
    )
    with pytest.raises(DataError, match="appears twice with different outcomes"):
        _load(log_url, twice)
    assert _table(log_url) == []


def test_rows_without_an_outcome_yet_are_skipped(log_url: str, tmp_path: Path) -> None:
    path = tmp_path / "partial.csv"
    pd.DataFrame({"application_id": ["A1", "A2", "A3"], "status": ["bad", None, "good"]}).to_csv(
        path, index=False
    )
    loaded = _load(log_url, path)
    assert (loaded.inserted, loaded.skipped) == (2, 1)


@pytest.mark.postgres
def test_outcomes_on_postgresql(taiwan_split, tmp_path: Path, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    _, current = taiwan_split
    X = current.iloc[:100]
    write_decisions(
        pg_url, decision_records(X, taiwan_pd(X), JAN_2024, 10, ids=[f"A{i}" for i in range(100)])
    )
    path = _file(tmp_path, {f"A{i}": "bad" if i % 3 else "good" for i in range(100)})
    assert _load(pg_url, path).inserted == 100
    assert _load(pg_url, path).unchanged == 100
    assert len(_table(pg_url)) == 100
