"""The pandas engine, the Spark engine and the scikit-learn pipeline agree on every row of
a 100k-row file: PD to 1e-9, the same scores, bands and decisions, the same reason codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creditscore.batch import BatchModel, score_file
from creditscore.bundle import ModelBundle
from creditscore.scorer import Scorer

from .conftest import needs_spark, write_parquet
from .helpers import ID, portfolio

ROWS = 100_000
REASONS = 4


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = portfolio(ROWS, seed=11)
    rng = np.random.default_rng(5)
    shout = rng.choice(ROWS, 1_000, replace=False)  # spelling variants: same category
    frame.loc[shout, "purpose"] = "  " + frame.loc[shout, "purpose"].str.upper()
    frame.loc[rng.choice(ROWS, 500, replace=False), "credit_amount"] = np.nan
    return write_parquet(frame, tmp_path_factory.mktemp("book") / "book.parquet", 20_000)


@pytest.fixture(scope="module")
def reference(book: Path, bundle: ModelBundle) -> pd.DataFrame:
    """One decision per application, as the API makes them, through the plain pipeline."""
    frame = pd.read_parquet(book)
    pipeline = Scorer(bundle, model_version="7", compile=False)
    names = list(frame.columns)
    columns = [  # the API's JSON has None, not NaN
        [None if isinstance(v, float) and v != v else v for v in frame[c].tolist()] for c in names
    ]
    records = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    decisions = pipeline.decide_many(records)
    direct = bundle.model.predict_proba(frame[bundle.features])[:, 1]
    out = pd.DataFrame(
        {
            ID: frame[ID],
            "probability_of_default": [d.probability_of_default for d in decisions],
            "score": [d.score for d in decisions],
            "risk_band": [d.risk_band for d in decisions],
            "decision": [d.decision for d in decisions],
        }
    )
    np.testing.assert_array_equal(out["probability_of_default"], direct)
    for i in range(1, REASONS + 1):
        for part in ("code", "feature", "text", "contribution"):
            out[f"reason_{i}_{part}"] = [
                getattr(d.reasons[i - 1], part) if len(d.reasons) >= i else None for d in decisions
            ]
    return out.set_index(ID)


def texts(column: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) else str(v) for v in column]


def check_same(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    got = got.set_index(ID).loc[ref.index]
    assert len(got) == ROWS
    gap = np.abs(got["probability_of_default"] - ref["probability_of_default"]).max()
    assert gap <= 1e-9
    for col in ("score", "risk_band", "decision"):
        assert got[col].tolist() == ref[col].tolist(), col
    assert (ref["decision"] != "approve").sum() > 10_000  # many rows have reason codes
    for i in range(1, REASONS + 1):
        for part in ("code", "feature", "text"):
            col = f"reason_{i}_{part}"
            assert texts(got[col]) == texts(ref[col]), col
        col = f"reason_{i}_contribution"
        np.testing.assert_allclose(
            got[col].to_numpy(dtype=float),
            ref[col].astype(float).to_numpy(),
            rtol=0,
            atol=1e-9,
        )


@pytest.mark.slow
def test_pandas_engine_agrees_with_the_pipeline(
    book: Path, reference: pd.DataFrame, model: BatchModel, tmp_path: Path
) -> None:
    out = tmp_path / "scored.parquet"
    run = score_file(book, out, model=model, reasons=REASONS, id_column=ID, record=False)
    assert run.tally.scored == ROWS
    check_same(pd.read_parquet(out), reference)


@pytest.mark.slow
@pytest.mark.spark
@needs_spark
def test_spark_engine_agrees_with_the_pipeline(
    book: Path, reference: pd.DataFrame, bundle_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scored.parquet"
    run = score_file(
        book,
        out,
        model=bundle_path,
        engine="spark",
        master="local[2]",
        reasons=REASONS,
        id_column=ID,
        record=False,
    )
    assert run.engine == "spark"
    assert run.tally.scored == ROWS
    check_same(pd.read_parquet(out), reference)


@pytest.mark.slow
@pytest.mark.spark
@needs_spark
def test_spark_engine_reads_csv_and_folders_as_pandas_does(
    bundle_path: Path, tmp_path: Path
) -> None:
    """Rejects with the same row numbers, from CSV blocks and Parquet files; the same text
    conventions (empty cells, "NA"); the same output, id or no id."""
    frame = portfolio(6_000, seed=4).astype({"credit_amount": object})
    frame.loc[[10, 4_000, 5_999], "credit_amount"] = ["ten", "inf", "1,5"]
    frame.loc[20, "purpose"] = "moon base"
    frame.loc[30, "credit_amount"] = "NA"  # missing in a CSV
    frame.loc[31, "duration_in_month"] = None  # an empty cell
    csv = tmp_path / "book.csv"
    frame.to_csv(csv, index=False)
    folder = tmp_path / "book"
    folder.mkdir()
    plain = portfolio(3_000, seed=6).drop(columns=[ID])
    plain.loc[2_500, "purpose"] = "yacht"
    write_parquet(plain.iloc[:1_000], folder / "a.parquet", 300)
    write_parquet(plain.iloc[1_000:], folder / "b.parquet", 700)
    for case, (src, id_column) in enumerate(((csv, ID), (folder, None))):
        outs = {}
        for engine in ("pandas", "spark"):
            out = tmp_path / f"out{case}-{engine}.csv"
            run = score_file(
                src,
                out,
                model=bundle_path,
                engine=engine,
                id_column=id_column,
                reasons=1,
                chunk_rows=1_000,
                record=False,
            )
            outs[engine] = (pd.read_csv(out), pd.read_csv(run.rejects_path))
        key = [ID] if id_column else ["file", "row"]
        mine, theirs = (outs[e][0].sort_values(key).reset_index(drop=True) for e in outs)
        pd.testing.assert_frame_equal(mine, theirs)
        rejects = [outs[e][1].sort_values(["file", "row"]).reset_index(drop=True) for e in outs]
        pd.testing.assert_frame_equal(*rejects)
        expected = [11, 21, 4_001, 6_000] if id_column else [1_501]
        assert rejects[0]["row"].tolist() == expected


@pytest.mark.spark
@needs_spark
def test_spark_engine_reads_headers_by_their_words_as_pandas_does(
    bundle_path: Path, tmp_path: Path
) -> None:
    frame = portfolio(1_500, seed=8).drop(columns=[ID])
    loud = frame.rename(columns={c: c.upper().replace("_", " ") for c in frame.columns})
    csv = tmp_path / "loud.csv"
    loud.to_csv(csv, index=False)
    parquet = write_parquet(loud, tmp_path / "loud.parquet", 500)
    for src in (csv, parquet):
        outs = {}
        for engine in ("pandas", "spark"):
            out = tmp_path / f"{src.suffix[1:]}-{engine}.parquet"
            run = score_file(src, out, model=bundle_path, engine=engine, reasons=1, record=False)
            assert run.renamed["credit_amount"] == "CREDIT AMOUNT"
            outs[engine] = pd.read_parquet(out).sort_values("row").reset_index(drop=True)
        pd.testing.assert_frame_equal(outs["pandas"], outs["spark"])
