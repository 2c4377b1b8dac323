"""Reading current data in chunks: files (CSV, Parquet) and the decision log (SQLite,
PostgreSQL), cut into cohorts; every user mistake is a DataError that names it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creditscore.exceptions import DataError
from creditscore.monitoring import DecisionLogSource, FileSource, run
from creditscore.monitoring.outcomes import load_outcomes
from creditscore.monitoring.sources import PD_COLUMN

from .helpers import JAN_2024, decision_records, taiwan_pd, with_pd, write_decisions


@pytest.fixture
def current_file(taiwan_split, tmp_path: Path) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    _, current = taiwan_split
    frame = with_pd(current.iloc[:6000], taiwan_pd(current.iloc[:6000]))
    frame["applied_on"] = pd.date_range("2024-01-01", periods=len(frame), freq="30min").strftime(
        "%Y-%m-%d %H:%M"
    )
    return frame


def _features(report) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {f.feature: (f.psi, f.missing_current, f.invalid) for f in report.overall.features}


def test_csv_and_parquet_read_in_chunks_give_the_same_result(
    taiwan_bundle, current_file, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    csv, parquet = tmp_path / "cur.csv", tmp_path / "cur.parquet"
    current_file.to_csv(csv, index=False)
    current_file.to_parquet(parquet, row_group_size=1000)
    a = run(taiwan_bundle, FileSource(taiwan_bundle, path=csv, chunk_rows=1000))
    b = run(taiwan_bundle, FileSource(taiwan_bundle, path=parquet, chunk_rows=1000))
    whole = run(taiwan_bundle, FileSource(taiwan_bundle, path=parquet, chunk_rows=100_000))
    assert a.source.rows == b.source.rows == len(current_file)
    for x, y in ((a, b), (b, whole)):
        for (k, v), (k2, v2) in zip(_features(x).items(), _features(y).items(), strict=True):
            assert k == k2
            assert v == pytest.approx(v2, rel=1e-9)
        assert x.overall.score.psi == pytest.approx(y.overall.score.psi, rel=1e-12)


def test_headers_that_differ_in_case_are_read_by_their_words(
    taiwan_bundle, current_file, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    plain, loud = tmp_path / "plain.csv", tmp_path / "loud.csv"
    current_file.to_csv(plain, index=False)
    renamed = {c: c.lower().replace("_", " ") for c in taiwan_bundle.features}
    current_file.rename(columns=renamed).to_csv(loud, index=False)
    want = run(taiwan_bundle, FileSource(taiwan_bundle, path=plain, chunk_rows=2000))
    source = FileSource(taiwan_bundle, path=loud, chunk_rows=2000)
    assert any(n.startswith("read by name: ") for n in source.notes)
    got = run(taiwan_bundle, source)
    assert _features(got) == _features(want)
    assert got.overall.score.psi == want.overall.score.psi


def test_a_csv_with_a_byte_order_mark_reads_as_without(
    taiwan_bundle, current_file, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    current_file.to_csv(plain, index=False)
    current_file.to_csv(marked, index=False, encoding="utf-8-sig")  # Excel's "CSV UTF-8"
    want = run(taiwan_bundle, FileSource(taiwan_bundle, path=plain, chunk_rows=2000))
    got = run(taiwan_bundle, FileSource(taiwan_bundle, path=marked, chunk_rows=2000))
    assert _features(got) == _features(want)


def test_a_word_deep_in_a_numeric_csv_column_is_counted_not_fatal(
    taiwan_bundle, current_file, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    frame = current_file.astype({"BILL_AMT1": object})
    frame.loc[5500, "BILL_AMT1"] = "not given"
    path = tmp_path / "cur.csv"
    frame.to_csv(path, index=False)
    report = run(taiwan_bundle, FileSource(taiwan_bundle, path=path, chunk_rows=1000))
    bill = next(f for f in report.overall.features if f.feature == "BILL_AMT1")
    assert bill.invalid == 1
    assert bill.missing_current == pytest.approx(1 / len(frame))


def test_monthly_cohorts_and_a_date_window_on_a_file(
    taiwan_bundle, current_file, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cur.parquet"
    current_file.to_parquet(path)
    report = run(
        taiwan_bundle, FileSource(taiwan_bundle, path=path, by="month", date_column="applied_on")
    )
    assert [c.cohort for c in report.cohorts] == [
        "2024-01",
        "2024-02",
        "2024-03",
        "2024-04",
        "2024-05",
    ]
    assert sum(c.n for c in report.cohorts) == len(current_file)
    assert report.cohorts[0].n == 31 * 48
    window = FileSource(
        taiwan_bundle,
        path=path,
        by="week",
        date_column="applied_on",
        since=datetime(2024, 2, 1, tzinfo=UTC),
        until=datetime(2024, 2, 15, tzinfo=UTC),
    )
    report = run(taiwan_bundle, window)
    assert report.source.rows == 14 * 48
    assert report.cohorts[0].cohort == "2024-W05"


def test_file_mistakes_are_named(taiwan_bundle, current_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cur.parquet"
    current_file.drop(columns=["PAY_0", "AGE"]).to_parquet(path)
    with pytest.raises(
        DataError, match=r"lacks 2 of the model's 23 input columns: AGE, PAY_0|PAY_0, AGE"
    ):
        FileSource(taiwan_bundle, path=path)
    current_file.to_parquet(path)
    with pytest.raises(DataError, match=r"cohort column 'branch' \(--by\) is not in"):
        FileSource(taiwan_bundle, path=path, by="branch")
    with pytest.raises(DataError, match=r"did you mean 'applied_on'"):
        FileSource(taiwan_bundle, path=path, by="month", date_column="aplied_on")
    with pytest.raises(DataError, match="--date-column"):
        FileSource(taiwan_bundle, path=path, by="month")
    empty = FileSource(
        taiwan_bundle,
        path=path,
        date_column="applied_on",
        since=datetime(2030, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(DataError, match="has no rows between 2030-01-01"):
        run(taiwan_bundle, empty)


# --------------------------------------------------------------------------- decision log
def _log(url: str, taiwan_split, n: int = 3000, ids: bool = True) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    _, current = taiwan_split
    X = current.iloc[:n].reset_index(drop=True)
    p = taiwan_pd(X)
    names = [f"app-{i}" for i in range(n)] if ids else None
    write_decisions(url, decision_records(X, p, JAN_2024, days=90, ids=names))
    return X


def test_the_decision_log_by_month_week_column_and_input(
    taiwan_bundle, taiwan_split, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'decisions.db'}"
    X = _log(url, taiwan_split)
    months = run(
        taiwan_bundle, DecisionLogSource(taiwan_bundle, url=url, by="month", chunk_rows=700)
    )
    assert [c.cohort for c in months.cohorts] == ["2024-01", "2024-02", "2024-03"]
    assert months.source.rows == len(X)
    ops = months.cohorts[0].operations
    assert ops is not None
    assert ops.volume == months.cohorts[0].n
    assert 0.1 < ops.latency_p50_ms < ops.latency_p99_ms < 10  # type: ignore[operator]
    # the same counts as reading the rows as a file
    stable = {f.feature for f in months.overall.features if f.status == "stable"}
    assert stable == set(taiwan_bundle.schema.names)
    weeks = run(taiwan_bundle, DecisionLogSource(taiwan_bundle, url=url, by="week"))
    assert weeks.cohorts[0].cohort == "2024-W01"
    assert len(weeks.cohorts) >= 13
    version = run(taiwan_bundle, DecisionLogSource(taiwan_bundle, url=url, by="model_version"))
    assert [c.cohort for c in version.cohorts] == ["1"]
    education = run(taiwan_bundle, DecisionLogSource(taiwan_bundle, url=url, by="EDUCATION"))
    assert {c.cohort for c in education.cohorts} >= {"1", "2", "3"}
    assert sum(c.n for c in education.cohorts) == len(X)


def test_decision_log_mistakes_are_named(taiwan_bundle, taiwan_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'decisions.db'}"
    with pytest.raises(DataError, match="no decision log at"):
        DecisionLogSource(taiwan_bundle, url=url)
    assert not (tmp_path / "decisions.db").exists()  # looking created nothing
    from creditscore.store.engine import make_engine

    make_engine(url).connect().close()  # an empty database
    with pytest.raises(DataError, match="has no decisions table"):
        DecisionLogSource(taiwan_bundle, url=url)
    _log(url, taiwan_split, n=500)
    with pytest.raises(DataError, match=r"cohort column 'branch' \(--by\) is neither"):
        run(taiwan_bundle, DecisionLogSource(taiwan_bundle, url=url, by="branch"))
    with pytest.raises(DataError, match=r"cohort column '' \(--by\) is neither"):  # was a KeyError
        run(taiwan_bundle, DecisionLogSource(taiwan_bundle, url=url, by=""))
    later = DecisionLogSource(
        taiwan_bundle,
        url=url,
        since=datetime(2025, 1, 1, tzinfo=UTC),
        until=datetime(2025, 2, 1, tzinfo=UTC),
    )
    with pytest.raises(
        DataError, match=r"no decisions between 2025-01-01.*it holds 500 decisions, from 2024-01"
    ):
        run(taiwan_bundle, later)


def test_a_date_window_on_the_decision_log(taiwan_bundle, taiwan_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'decisions.db'}"
    _log(url, taiwan_split, n=900)
    feb = DecisionLogSource(
        taiwan_bundle,
        url=url,
        by="month",
        since=datetime(2024, 2, 1, tzinfo=UTC),
        until=datetime(2024, 2, 1, tzinfo=UTC) + timedelta(days=29),
    )
    total = feb.total_rows()
    report = run(taiwan_bundle, feb)
    assert [c.cohort for c in report.cohorts] == ["2024-02"]
    assert report.source.rows == total
    assert 250 < total < 350


def _outcomes_file(tmp_path: Path, X: pd.DataFrame, share: float, seed: int = 0) -> Path:
    p = taiwan_pd(X)
    y = (np.random.default_rng(seed).random(len(p)) < p).astype(int)
    frame = pd.DataFrame({"application_id": [f"app-{i}" for i in range(len(X))], "bad": y})
    frame = frame.iloc[: int(share * len(frame))]
    path = tmp_path / f"outcomes-{seed}.csv"
    frame.to_csv(path, index=False)
    return path


def _read_with_outcomes(bundle, url: str, taiwan_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    X = _log(url, taiwan_split, n=3000)
    # outcomes of the first two months only: the third has not matured
    loaded = load_outcomes(
        url, _outcomes_file(tmp_path, X, 0.66), id_column="application_id", target="bad", positive=1
    )
    assert loaded.inserted == 1980
    assert loaded.unknown == 0
    report = run(bundle, DecisionLogSource(bundle, url=url, by="month", chunk_rows=1000))
    jan, _feb, mar = report.cohorts
    assert jan.performance is not None
    assert jan.performance.mature
    assert jan.performance.labelled_share == 1.0
    assert mar.performance is None or not mar.performance.mature
    assert mar.estimate.auc is not None
    pooled = report.overall.performance
    assert pooled is not None
    assert pooled.n == 1980
    assert pooled.auc == pytest.approx(pooled.auc, abs=0.0)
    assert report.to_dict()["cohorts"][2]["estimate"]["kind"] == "estimate"


def test_outcomes_are_joined_on_sqlite(taiwan_bundle, taiwan_split, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _read_with_outcomes(
        taiwan_bundle, f"sqlite:///{tmp_path / 'decisions.db'}", taiwan_split, tmp_path
    )


@pytest.mark.postgres
def test_outcomes_are_joined_on_postgresql(
    taiwan_bundle, taiwan_split, tmp_path: Path, pg_url: str
) -> None:  # type: ignore[no-untyped-def]
    _read_with_outcomes(taiwan_bundle, pg_url, taiwan_split, tmp_path)


def test_a_scored_file_is_not_scored_again(taiwan_bundle, current_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "scored.parquet"
    frame = current_file.copy()
    frame["decision"] = "approve"
    frame.to_parquet(path)
    report = run(taiwan_bundle, FileSource(taiwan_bundle, path=path))
    assert report.overall.decisions.approval_rate == 1.0  # the file's decisions, as made
    assert any(PD_COLUMN in n for n in report.notes)
