"""The pandas engine on real files: columns, rejects, atomic output, resume, run records."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from creditscore.batch import BatchModel, find_runs, score_file, score_frame
from creditscore.exceptions import ConfigError, DataError

from .conftest import write_parquet
from .helpers import ID, portfolio

REASON_PARTS = ("code", "feature", "text", "contribution")


def reason_columns(k: int) -> list[str]:
    return [f"reason_{i}_{p}" for i in range(1, k + 1) for p in REASON_PARTS]


class Interrupt:
    """A progress listener that stops the run after ``after`` chunks, as Ctrl-C would."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.seen = 0

    def start(self, total_rows: int | None, total_bytes: int | None, done_rows: int) -> None:
        pass

    def stage(self, text: str) -> None:
        pass

    def advance(self, rows: int, bytes_read: int | None) -> None:
        self.seen += 1
        if self.seen >= self.after:
            raise KeyboardInterrupt


def test_output_columns(model: BatchModel, tmp_path: Path, db_url: str) -> None:
    frame = portfolio(3_000)
    src = write_parquet(frame, tmp_path / "book.parquet", row_group_size=700)
    out = tmp_path / "scored.parquet"
    run = score_file(
        src,
        out,
        model=model,
        reasons=2,
        id_column=ID,
        keep=["age_in_years", "purpose"],
        chunk_rows=1_000,
        database_url=db_url,
    )
    got = pd.read_parquet(out)
    assert list(got.columns) == [
        ID,
        "age_in_years",
        "purpose",
        "probability_of_default",
        "score",
        "risk_band",
        "decision",
        *reason_columns(2),
        "model_name",
        "model_version",
        "policy_version",
    ]
    assert got[ID].tolist() == frame[ID].tolist()  # input order
    assert got["age_in_years"].tolist() == frame["age_in_years"].tolist()
    assert set(got["model_name"]) == {"german-batch"}
    assert set(got["model_version"]) == {"7"}
    assert set(got["policy_version"]) == {model.policy_version}
    needs = got["decision"] != "approve"
    assert got.loc[needs, "reason_1_code"].str.startswith("RC_").all()
    assert (got.loc[needs, "reason_1_contribution"] > 0).all()
    assert got.loc[~needs, reason_columns(2)].isna().all().all()
    assert run.tally.scored == 3_000
    assert run.tally.rejected == 0
    assert sum(run.tally.decisions.values()) == 3_000
    assert run.tally.mean_pd == pytest.approx(got["probability_of_default"].mean())
    rejects = pd.read_csv(run.rejects_path)
    assert list(rejects.columns) == ["file", "row", "id", "field", "value", "reason"]
    assert rejects.empty
    # three chunks, each one's contributions computed while the one before is put into
    # words: the same codes, texts and contributions as the frame scored in one piece
    whole = score_frame(frame, model, reasons=2, id_column=ID).scored.reset_index(drop=True)
    for col in reason_columns(2):
        if col.endswith("_contribution"):
            np.testing.assert_array_equal(got[col].to_numpy(), whole[col].to_numpy())
        else:
            assert got[col].astype(object).tolist() == whole[col].astype(object).tolist(), col

    # every row explained, on request: approvals too, each with the codes decide() gives
    # it (none where no feature raises the risk above the typical applicant's)
    head = frame.head(50)
    every = score_frame(head, model, reasons=1, explain=True, id_column=ID).scored
    codes = every["reason_1_code"]
    assert codes[every["decision"] == "approve"].notna().any()
    for i, row in enumerate(head.drop(columns=[ID]).to_dict("records")):
        wanted = model.scorer.decide(row, explain=True).reasons[:1]
        assert ([] if pd.isna(codes.iloc[i]) else [codes.iloc[i]]) == [r.code for r in wanted]


def test_csv_in_and_out_without_an_id(model: BatchModel, tmp_path: Path, db_url: str) -> None:
    frame = portfolio(2_500).drop(columns=[ID])
    src = tmp_path / "book.csv"
    frame.to_csv(src, index=False)
    out = tmp_path / "scored.csv"
    score_file(src, out, model=model, chunk_rows=600, database_url=db_url)
    got = pd.read_csv(out)
    assert got["row"].tolist() == list(range(1, 2_501))  # no id: the input row number
    direct = model.scorer.score_frame(frame[model.bundle.features])
    np.testing.assert_allclose(
        got["probability_of_default"], direct["probability_of_default"], rtol=0, atol=1e-15
    )
    assert got["decision"].tolist() == direct["decision"].tolist()


def test_text_far_down_a_numeric_column(model: BatchModel, tmp_path: Path, db_url: str) -> None:
    """Row 200,000 of a CSV has text in a number: it is rejected, every other row scored
    (pyarrow's type inference from the first block alone would stop the read)."""
    n = 200_010
    frame = portfolio(n)
    amounts = frame["credit_amount"].astype(str).to_numpy(dtype=object)
    amounts[199_999] = "twelve hundred"  # the 200,000th data row
    frame["credit_amount"] = amounts
    src = tmp_path / "book.csv"
    frame.to_csv(src, index=False)
    with pytest.raises(pa.ArrowInvalid, match="twelve hundred"):  # a reader inferring types
        pcsv.open_csv(src, read_options=pcsv.ReadOptions(block_size=1 << 20)).read_all()

    out = tmp_path / "scored.parquet"
    run = score_file(src, out, model=model, id_column=ID, database_url=db_url)
    assert run.tally.rows == n
    assert run.tally.scored == n - 1
    assert run.tally.rejected == 1
    rejects = pd.read_csv(run.rejects_path)
    assert rejects.to_dict("records") == [
        {
            "file": "book.csv",
            "row": 200_000,
            "id": frame[ID].iloc[199_999],
            "field": "credit_amount",
            "value": "twelve hundred",
            "reason": "field 'credit_amount': expected a number, got 'twelve hundred'",
        }
    ]
    got = pd.read_parquet(out, columns=[ID])
    assert len(got) == n - 1
    assert frame[ID].iloc[199_999] not in set(got[ID])


def test_rerun_asks_and_overwrite_replaces(model: BatchModel, tmp_path: Path, db_url: str) -> None:
    src = write_parquet(portfolio(500), tmp_path / "book.parquet")
    out = tmp_path / "scored.parquet"
    score_file(src, out, model=model, database_url=db_url)
    first = out.stat().st_mtime_ns
    with pytest.raises(ConfigError, match=r"already exists.*--overwrite"):
        score_file(src, out, model=model, database_url=db_url)
    assert out.stat().st_mtime_ns == first
    score_file(src, out, model=model, overwrite=True, database_url=db_url)
    assert out.stat().st_mtime_ns != first
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "book.parquet",
        "decisions.db",
        "scored.parquet",
        "scored.rejects.csv",
    ]


def test_interrupted_run_resumes(model: BatchModel, tmp_path: Path, db_url: str) -> None:
    frame = portfolio(5_000)
    frame.loc[4_321, "purpose"] = "time travel"
    src = write_parquet(frame, tmp_path / "book.parquet", row_group_size=1_000)
    out = tmp_path / "scored.parquet"
    options = {"model": model, "reasons": 1, "id_column": ID, "chunk_rows": 500}
    with pytest.raises(KeyboardInterrupt):
        score_file(
            src, out, database_url=db_url, checkpoint_seconds=0, progress=Interrupt(4), **options
        )
    assert not out.exists()
    assert not out.with_name("scored.rejects.csv").exists()
    [record] = find_runs(db_url)
    assert record["status"] == "failed"
    assert "KeyboardInterrupt" in record["error"]
    with pytest.raises(ConfigError, match=r"stopped after 1,500 input rows.*--resume"):
        score_file(src, out, database_url=db_url, **options)
    with pytest.raises(ConfigError, match="reasons"):  # resuming with other options
        score_file(src, out, database_url=db_url, resume=True, **{**options, "reasons": 2})

    run = score_file(src, out, database_url=db_url, resume=True, **options)
    assert run.resumed
    assert run.tally.rows == 5_000
    assert run.tally.rejected == 1
    clean = tmp_path / "clean.parquet"
    score_file(src, clean, database_url=db_url, **options)
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(clean))
    rejects = pd.read_csv(run.rejects_path)
    assert rejects["row"].tolist() == [4_322]
    runs = {r["output_path"]: r for r in find_runs(db_url)}
    resumed = runs[str(out)]
    assert resumed["status"] == "completed"
    assert resumed["attempts"] == 2
    assert resumed["rows_read"] == 5_000
    assert resumed["rows_rejected"] == 1


def test_run_record(model: BatchModel, tmp_path: Path, db_url: str) -> None:
    frame = portfolio(1_200)
    frame.loc[10, "credit_amount"] = -1  # numbers outside the training range still score
    src = write_parquet(frame, tmp_path / "book.parquet")
    out = tmp_path / "scored.parquet"
    run = score_file(src, out, model=model, database_url=db_url)
    assert run.recorded
    [record] = find_runs(db_url, output_path=str(out))
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    assert record["input_checksum"] == f"sha256:{digest}" == run.input_checksum
    assert record["status"] == "completed"
    assert record["engine"] == "pandas"
    assert record["model_name"] == "german-batch"
    assert record["model_version"] == "7"
    assert record["policy_version"] == model.policy_version
    assert record["rows_read"] == record["rows_scored"] == 1_200
    counts = (record["approved"], record["referred"], record["declined"])
    assert counts == tuple(run.tally.decisions[d] for d in ("approve", "refer", "decline"))
    assert record["mean_pd"] == pytest.approx(run.tally.mean_pd)
    assert record["started_at"] <= record["finished_at"]
    assert record["input_path"] == str(src)
    assert record["rejects_path"] == str(run.rejects_path)


def test_folder_of_parquet_in_folder_out(model: BatchModel, tmp_path: Path, db_url: str) -> None:
    src = tmp_path / "book"
    (src / "region=north").mkdir(parents=True)
    parts = [portfolio(700, seed=s).drop(columns=[ID]) for s in range(3)]
    parts[2] = parts[2].astype({"duration_in_month": float})  # types may differ by file
    parts[2].loc[5, "duration_in_month"] = np.inf
    write_parquet(parts[0], src / "part-0.parquet")
    write_parquet(parts[1], src / "region=north" / "part-1.parquet")
    write_parquet(parts[2], src / "part-2.parquet")
    (src / "_SUCCESS").write_text("")  # what Spark leaves: ignored
    out = tmp_path / "scored"
    run = score_file(src, out, model=model, chunk_rows=300, database_url=db_url)
    assert sorted(p.name for p in out.iterdir()) == ["part-00000.parquet"]
    got = pd.read_parquet(out)
    assert got["file"].unique().tolist() == [
        "part-0.parquet",
        "part-2.parquet",
        "region=north/part-1.parquet",
    ]
    assert len(got) == 2_099
    assert run.tally.rejected == 1
    rejects = pd.read_csv(tmp_path / "scored.rejects.csv")
    assert rejects[["file", "row", "field"]].values.tolist() == [
        ["part-2.parquet", 6, "duration_in_month"]
    ]
    assert "finite" in rejects["reason"].iloc[0]


def test_mistakes_name_the_column(model: BatchModel, tmp_path: Path, db_url: str) -> None:
    frame = portfolio(50).rename(columns={"credit_amount": "credit_amt"})
    src = write_parquet(frame, tmp_path / "book.parquet")
    with pytest.raises(DataError, match=r"no column 'credit_amount' \(a model input\)"):
        score_file(src, tmp_path / "out.parquet", model=model, database_url=db_url)
    good = write_parquet(portfolio(50).assign(score=1), tmp_path / "good.parquet")
    with pytest.raises(DataError, match=r"no column 'acct' \(--id-column\)$"):
        score_file(good, tmp_path / "o.parquet", model=model, id_column="acct", record=False)
    with pytest.raises(ConfigError, match=r"unsupported type '\.xlsx'"):
        score_file(good, tmp_path / "out.xlsx", model=model, database_url=db_url)
    with pytest.raises(ConfigError, match="already has a column 'score'"):
        score_file(good, tmp_path / "o2.parquet", model=model, keep=["score"], record=False)
    assert not list(tmp_path.glob(".*.partial"))  # nothing left behind by a refused run


def test_score_frame(model: BatchModel) -> None:
    frame = portfolio(40).set_index(pd.Index(range(100, 140)))
    frame = frame.astype({"credit_amount": object})
    frame.loc[105, "credit_amount"] = "n/a"
    result = score_frame(frame, model, reasons=1, id_column=ID)
    assert len(result.scored) == 39
    assert 105 not in result.scored.index
    assert result.scored.index.tolist() == [i for i in range(100, 140) if i != 105]
    assert result.rejects[["row", "field", "value"]].values.tolist() == [
        [6, "credit_amount", "n/a"]
    ]
    one = model.scorer.decide(frame.loc[110].to_dict())
    assert result.scored.loc[110, "probability_of_default"] == one.probability_of_default
    assert result.scored.loc[110, "decision"] == one.decision


def test_a_failing_writer_stops_the_run_and_leaves_no_output(
    model: BatchModel, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are written on a background thread; its error is the run's error."""
    from creditscore.batch import output

    src = write_parquet(portfolio(3_000), tmp_path / "book.parquet", row_group_size=500)
    out = tmp_path / "scored.parquet"
    real = output.Segment.write
    calls = []

    def write(self: output.Segment, chunk: object) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        real(self, chunk)  # type: ignore[arg-type]

    monkeypatch.setattr(output.Segment, "write", write)
    with pytest.raises(OSError, match="disk full"):
        score_file(src, out, model=model, id_column=ID, chunk_rows=500, database_url=db_url)
    assert not out.exists()
    [record] = find_runs(db_url)
    assert record["status"] == "failed"
    assert "disk full" in record["error"]
    monkeypatch.setattr(output.Segment, "write", real)
    run = score_file(
        src, out, model=model, id_column=ID, chunk_rows=500, overwrite=True, database_url=db_url
    )
    assert run.tally.scored == 3_000


def test_a_failing_reason_code_step_stops_the_run_and_leaves_no_output(
    model: BatchModel, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Contributions are computed on a thread of their own; its error is the run's error."""
    from creditscore.scorer import ScoredColumns

    src = write_parquet(portfolio(3_000), tmp_path / "book.parquet", row_group_size=500)
    out = tmp_path / "scored.parquet"
    real = ScoredColumns.contribute
    calls = []

    def contribute(self: ScoredColumns) -> np.ndarray | None:
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("no room for contributions")
        return real(self)

    monkeypatch.setattr(ScoredColumns, "contribute", contribute)
    options = {"model": model, "reasons": 2, "id_column": ID, "chunk_rows": 500}
    with pytest.raises(MemoryError, match="no room"):
        score_file(src, out, database_url=db_url, **options)  # type: ignore[arg-type]
    assert not out.exists()
    [record] = find_runs(db_url)
    assert record["status"] == "failed"
    monkeypatch.setattr(ScoredColumns, "contribute", real)
    run = score_file(src, out, overwrite=True, database_url=db_url, **options)  # type: ignore[arg-type]
    assert run.tally.scored == 3_000


def test_parquet_output_reads_back_as_plain_columns(model: BatchModel, tmp_path: Path) -> None:
    """Text columns are plain strings for every reader; unique-valued columns (the id,
    the PD) are written without a dictionary page, the others with one; joined segments
    keep that choice."""
    import pyarrow.parquet as pq

    src = write_parquet(portfolio(2_000), tmp_path / "book.parquet", row_group_size=500)
    for name, seconds in (("one.parquet", 60.0), ("joined.parquet", 0.0)):
        out = tmp_path / name
        score_file(
            src,
            out,
            model=model,
            id_column=ID,
            chunk_rows=500,
            checkpoint_seconds=seconds,
            record=False,
        )
        table = pq.read_table(out)
        for col in ("risk_band", "decision", "model_name", "model_version", "policy_version"):
            assert table.schema.field(col).type == pa.string(), col
        group = pq.ParquetFile(out).metadata.row_group(0)
        paged = {
            group.column(i).path_in_schema: group.column(i).has_dictionary_page
            for i in range(group.num_columns)
        }
        assert not paged[ID]
        assert not paged["probability_of_default"]
        assert paged["risk_band"]
        assert paged["decision"]
        assert paged["score"]


def shouted(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the headers another system would export: CREDIT AMOUNT, ..."""
    return frame.rename(columns={c: c.upper().replace("_", " ") for c in frame.columns})


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_headers_that_differ_in_case_and_punctuation_are_read_by_their_words(
    model: BatchModel, tmp_path: Path, kind: str
) -> None:
    frame = portfolio(2_000, seed=9).drop(columns=[ID])
    plain_src = write_parquet(frame, tmp_path / "plain.parquet", 500)
    want = pd.read_parquet(
        score_file(
            plain_src, tmp_path / "want.parquet", model=model, reasons=2, record=False
        ).output_path
    )
    loud = shouted(frame).rename(columns={"DURATION IN MONTH": "durationInMonth"})
    if kind == "csv":
        src = tmp_path / "loud.csv"
        loud.to_csv(src, index=False)
    else:
        src = write_parquet(loud, tmp_path / "loud.parquet", 500)
    run = score_file(src, tmp_path / "got.parquet", model=model, reasons=2, record=False)
    assert run.renamed["credit_amount"] == "CREDIT AMOUNT"
    assert run.renamed["duration_in_month"] == "durationInMonth"
    assert run.tally.rejected == 0
    pd.testing.assert_frame_equal(pd.read_parquet(run.output_path), want)


def test_headers_are_not_guessed_when_two_share_the_words(
    model: BatchModel, tmp_path: Path
) -> None:
    frame = shouted(portfolio(200, seed=3))
    frame["Credit-Amount"] = frame["CREDIT AMOUNT"]
    src = write_parquet(frame, tmp_path / "twice.parquet")
    with pytest.raises(DataError, match="no column 'credit_amount'"):
        score_file(src, tmp_path / "out.parquet", model=model, record=False)


def test_a_frame_s_headers_are_read_by_their_words_too(model: BatchModel) -> None:
    frame = portfolio(300, seed=5).drop(columns=[ID])
    want = score_frame(frame, model=model, reasons=1)
    got = score_frame(shouted(frame), model=model, reasons=1)
    assert got.renamed["purpose"] == "PURPOSE"
    pd.testing.assert_frame_equal(got.scored, want.scored)
