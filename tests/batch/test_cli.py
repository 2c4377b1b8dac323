"""``creditscore score`` as a user runs it: a real subprocess, real files, a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from creditscore.batch import find_runs
from creditscore.store.engine import make_engine, upgrade_schema
from creditscore.store.tables import SCORING_RUNS_TABLE, TABLE_NAME, VERSION_TABLE, metadata

from .conftest import write_parquet
from .helpers import ID, portfolio

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run(*args: str, cwd: Path, db: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC, "CREDITSCORE_DATABASE_URL": db, "COLUMNS": "80"}
    return subprocess.run(
        [sys.executable, "-m", "creditscore.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_score_command(bundle_path: Path, tmp_path: Path, db_url: str) -> None:
    frame = portfolio(3_000)
    frame.loc[7, "purpose"] = "spaceship"
    write_parquet(frame, tmp_path / "book.parquet")
    args = ["score", "book.parquet", "scored.parquet", "--model", str(bundle_path)]
    more = ["--reasons", "2", "--id-column", ID, "--keep", "age_in_years", "--chunk-rows", "700"]
    done = run(*args, *more, cwd=tmp_path, db=db_url)
    assert done.returncode == 0, done.stderr
    for line in ("rows read", "3,000", "rejected", "1 (0.0%)", "approve", "mean PD", "seconds"):
        assert line in done.stdout
    assert "Scoring" in done.stderr
    assert "rows" in done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    got = pd.read_parquet(tmp_path / "scored.parquet")
    assert len(got) == 2_999
    assert list(got.columns[:3]) == [ID, "age_in_years", "probability_of_default"]
    rejects = pd.read_csv(tmp_path / "scored.rejects.csv")
    assert rejects[["row", "field", "value"]].values.tolist() == [[8, "purpose", "spaceship"]]
    [record] = find_runs(db_url)
    assert record["status"] == "completed"
    assert record["rows_rejected"] == 1
    assert record["run_id"] in done.stdout

    again = run(*args, cwd=tmp_path, db=db_url)  # a rerun: one line, exit 2
    assert again.returncode == 2
    said = " ".join(again.stderr.split())
    assert "error: output" in said
    assert "already exists (a finished run); pass --overwrite" in said
    assert "Traceback" not in again.stderr
    bad = run("score", "book.parquet", "x.parquet", "--engine", "dask", cwd=tmp_path, db=db_url)
    assert bad.returncode == 2
    assert "choose pandas or spark" in bad.stderr


def test_monitor_on_a_scored_file_monitors_its_input_with_the_model_that_scored_it(
    bundle_path: Path, tmp_path: Path, db_url: str
) -> None:
    write_parquet(portfolio(2_000, seed=2), tmp_path / "book.parquet")
    done = run("score", "book.parquet", "scored.parquet", "--model", str(bundle_path),
               cwd=tmp_path, db=db_url)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [record] = find_runs(db_url)
    watched = run("monitor", "--current", "scored.parquet", "--json", "report.json",
                  cwd=tmp_path, db=db_url)  # fmt: skip
    assert watched.returncode in (0, 1), watched.stderr  # 1: a red alert, not a failure
    said = "".join(watched.stdout.split())  # rich folds long paths at any character
    assert f"scored.parquetistheoutputofcreditscorescorerun{record['run_id']}" in said
    assert f"monitoringitsinput{tmp_path / 'book.parquet'}" in said
    assert "Traceback" not in watched.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["source"]["rows"] == 2_000


def test_help_lists_every_option(tmp_path: Path, db_url: str) -> None:
    out = run("score", "--help", cwd=tmp_path, db=db_url).stdout
    for option in (
        "--model",
        "--engine",
        "--master",
        "--reasons",
        "--id-column",
        "--keep",
        "--chunk-rows",
        "--resume",
        "--overwrite",
        "--explain-all",
    ):
        assert option in out
    assert "score" in run("--help", cwd=tmp_path, db=db_url).stdout


def test_migrations_create_the_run_table_as_declared(tmp_path: Path) -> None:
    """``upgrade heads`` on an empty database gives exactly the tables the code declares."""
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    with engine.begin() as conn:
        upgrade_schema(conn)
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        assert {TABLE_NAME, SCORING_RUNS_TABLE, VERSION_TABLE} <= names
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        diffs = [d for d in compare_metadata(context, metadata) if VERSION_TABLE not in str(d)]
        assert diffs == []
    engine.dispose()


def test_batch_imports_nothing_offline(tmp_path: Path, db_url: str) -> None:
    """The batch process imports the runtime core only (PySpark only for --engine spark)."""
    code = (
        "import sys, creditscore.batch, creditscore.batch.spark, creditscore.cli.scoring\n"
        "heavy = ('matplotlib', 'shap', 'optuna', 'fairlearn', 'pyspark', 'mlflow',\n"
        "         'creditscore.training', 'creditscore.evaluation.plots')\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
