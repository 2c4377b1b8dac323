"""Monitoring at scale: seconds and peak memory of ``creditscore monitor``, side by side with
Evidently's data-drift report on the same rows, and PSI parity.

Setup (once, in this process): a LightGBM model trained on Taiwan (``../shared/data/``;
skipped with a note where absent) with a small budget; current rows synthesised from
Taiwan's distributions (whole rows drawn with replacement, amounts jittered by a 5 %
log-normal factor), written as Parquet (1 M and 10 M rows, 100k-row groups); the 1 M rows
scored and logged as decisions (spread over six months) in SQLite and in PostgreSQL at
127.0.0.1:5432 (trust auth, database ``test``, a schema of this run's own, dropped after).

Cases, each in a fresh subprocess (``ru_maxrss`` is the peak of that process alone):

* ``ours parquet 1M`` / ``10M``: ``monitor`` on the Parquet file, as a user runs it (read in
  chunks, scored with the compiled model, every statistic from mergeable counts);
* ``ours sqlite 1M`` / ``ours postgres 1M``: ``monitor --current decisions``;
* ``evidently 1M``: ``Report([DataDriftPreset()])`` on the same 1 M rows against the same
  training rows (Evidently in its own venv, ``/work/venvs/evidently`` or ``--evidently``:
  it would downgrade the project's plotly), timed from reading the Parquet to the result.

PSI parity: every input's PSI from ``monitor`` against a direct computation (numpy
histogram on the profile's bins, the same floor) over the same 1 M rows.

    python benchmarks/monitoring.py [--rows 1000000] [--big 10000000] [--no-postgres]
                                    [--no-evidently] [--workdir DIR]

Prints one table and writes benchmarks/results/monitoring.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from common import RESULTS, SHARED  # benchmarks/common.py
from rich.console import Console
from rich.table import Table

TARGET = "default.payment.next.month"
CATEGORICAL = ["SEX", "EDUCATION", "MARRIAGE"]
EVIDENTLY = Path("/work/venvs/evidently/bin/python")
PG = "postgresql+psycopg://{user}@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"

EVIDENTLY_CASE = r"""
import json, resource, sys, time
start = time.perf_counter()
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
reference = pd.read_parquet(sys.argv[1])
current = pd.read_parquet(sys.argv[2])
snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
result = snapshot.dict()
seconds = time.perf_counter() - start
drifted = [m["value"] for m in result["metrics"] if "DriftedColumnsCount" in m["metric_name"]]
print(json.dumps({"seconds": seconds, "rows": len(current),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "drifted": drifted[0] if drifted else None}))
"""


# --------------------------------------------------------------------------- cases
def run_case(kind: str, target: str, bundle_path: str) -> dict[str, Any]:
    """One ``monitor`` run in this (fresh) process: seconds, peak memory, PSIs."""
    start = time.perf_counter()
    from creditscore.bundle import ModelBundle
    from creditscore.monitoring import DecisionLogSource, FileSource, run

    bundle = ModelBundle.load(bundle_path)
    if kind == "parquet":
        source: Any = FileSource(bundle, path=Path(target))
    else:
        source = DecisionLogSource(bundle, url=target, by="month")
    report = run(bundle, source)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows": report.source.rows,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cohorts": len(report.cohorts),
        "verdict": report.verdict,
        "psi": {f.feature: f.psi for f in report.overall.features},
        "score_psi": report.overall.score.psi,
    }


def subprocess_case(args: list[str], console: Console, label: str) -> dict[str, Any] | None:
    console.print(f"[dim]> {label}[/dim]")
    done = subprocess.run(args, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        console.print(f"[red]{label} failed:[/red] {done.stderr.strip().splitlines()[-3:]}")
        return None
    result = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    rows, seconds, peak = result["rows"], result["seconds"], result["peak_mb"]
    console.print(f"[dim]  {rows:,} rows, {seconds:.1f} s, {peak:.0f} MB[/dim]")
    return result


# --------------------------------------------------------------------------- setup
def train_reference(work: Path, console: Console) -> tuple[Any, pd.DataFrame]:
    from creditscore.config import ProjectConfig
    from creditscore.training.train import train

    cfg = ProjectConfig.from_dict(
        {
            "name": "taiwan-bench",
            "data": {
                "path": str(SHARED / "taiwan_credit_card.csv"),
                "target": TARGET,
                "positive": 1,
                "id_column": "ID",
                "categorical": CATEGORICAL,
            },
            "candidates": ["lightgbm"],
            "budget": {"trials": 2, "seconds": 20, "cv_folds": 2, "blend": False},
            "fairness": {"enabled": False},
        },
        base_dir=work,
    )
    console.print("[dim]> training the reference model (LightGBM, small budget)[/dim]")
    result = train(cfg)
    reference = result.dataset.X.iloc[result.splits.train].reset_index(drop=True)
    return result, reference


def synthesise(source: pd.DataFrame, path: Path, rows: int, seed: int) -> None:
    """Taiwan-like rows: whole rows drawn with replacement, amounts jittered (5 %); a file
    of a previous run with the same rows is reused."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.is_file() and pq.ParquetFile(path).metadata.num_rows == rows:
        return
    rng = np.random.default_rng(seed)
    amounts = [c for c in source.columns if c.startswith(("BILL_AMT", "PAY_AMT", "LIMIT_BAL"))]
    writer = None
    chunk = 500_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        part = source.iloc[rng.integers(0, len(source), n)].reset_index(drop=True)
        for col in amounts:
            part[col] = np.round(part[col].to_numpy(float) * rng.lognormal(0.0, 0.05, n))
        table = pa.Table.from_pandas(part, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=100_000)
    if writer is not None:
        writer.close()


def decision_rows(bundle: Any, parquet: Path) -> Any:
    """The Parquet rows as decision-log rows (tuples), scored by the bundle, in chunks."""
    import pyarrow.parquet as pq

    from creditscore.scorer import Scorer

    scorer = Scorer(bundle, reasons=False)
    policy = bundle.policy
    base = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    six_months = 182 * 86400
    total = pq.ParquetFile(parquet).metadata.num_rows
    done = 0
    for batch in pq.ParquetFile(parquet).iter_batches(batch_size=100_000):
        frame = batch.to_pandas()[bundle.features]
        for col in CATEGORICAL:
            frame[col] = frame[col].astype(str)
        p = scorer.probabilities(frame)
        inputs = frame.to_json(orient="records", lines=True).splitlines()
        when = base + (done + np.arange(len(frame))) * (six_months / total)
        stamps = pd.to_datetime(when, unit="s", utc=True).strftime("%Y-%m-%d %H:%M:%S.%f")
        points, bands, decisions = policy.points_many(p), policy.band_many(p), policy.decide_many(p)
        latency = np.random.default_rng(done).gamma(2.0, 0.4, len(frame))
        yield [
            (uuid.uuid4().hex, stamps[i], f"A{done + i}", "batch", bundle.name, "1",
             policy.version, float(p[i]), int(points[i]), str(bands[i]), str(decisions[i]),
             "[]", inputs[i], float(latency[i]))
            for i in range(len(frame))
        ]  # fmt: skip
        done += len(frame)


def fill_log(url: str, bundle: Any, parquet: Path) -> None:
    """1 M decisions through the real migrations; bulk-loaded (executemany / COPY)."""
    from creditscore.store.engine import make_engine, upgrade_schema
    from creditscore.store.tables import COLUMNS

    engine = make_engine(url)
    with engine.begin() as conn:
        upgrade_schema(conn)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "sqlite":
            marks = ", ".join("?" * len(COLUMNS))
            for rows in decision_rows(bundle, parquet):
                cur.executemany(
                    f"INSERT INTO decisions ({', '.join(COLUMNS)}) VALUES ({marks})", rows
                )
        else:
            copy = f"COPY decisions ({', '.join(COLUMNS)}) FROM STDIN"
            with cur.copy(copy) as sink:  # type: ignore[attr-defined]
                for rows in decision_rows(bundle, parquet):
                    for row in rows:
                        sink.write_row(row)
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def direct_psi(bundle: Any, parquet: Path) -> dict[str, float]:
    """Each input's PSI by hand: numpy on the profile's bins, the same floor."""
    from creditscore.features.preprocess import canonical_key
    from creditscore.monitoring.drift import PSI_FLOOR

    out = {}
    frame = pd.read_parquet(parquet, columns=bundle.features)
    for name, fp in bundle.profile.features.items():
        col = frame[name]
        n = len(col)
        if fp.kind == "numeric":
            v = col.to_numpy(float)
            present = v[~np.isnan(v)]
            counts = np.bincount(
                np.searchsorted(np.asarray(fp.edges), present, side="right"),
                minlength=len(fp.edges) + 1,
            )
            cur = np.append(counts / n, (n - len(present)) / n)
            ref = np.append(fp.shares, fp.missing_share)
        else:
            keys = col.astype(str).map(canonical_key)
            levels = [canonical_key(level) for level in fp.levels]
            counts = [int((keys == k).sum()) for k in levels]
            seen = set(levels) | {canonical_key(c) for c in bundle.schema.field(name).categories}
            other = int(keys.isin(seen - set(levels)).sum())
            unseen = n - sum(counts) - other - int(col.isna().sum())
            cur = np.asarray([*counts, other, unseen, int(col.isna().sum())]) / n
            ref = np.asarray([*fp.shares, 0.0, fp.missing_share])
        r, c = np.maximum(ref, PSI_FLOOR), np.maximum(cur, PSI_FLOOR)
        out[name] = float(np.sum((c - r) * np.log(c / r)))
    return out


# --------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=10_000_000, help="0: skip the big file")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-evidently", action="store_true")
    parser.add_argument("--evidently", type=Path, default=EVIDENTLY, help="its python")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/creditscore-bench-monitoring"))
    parser.add_argument(
        "--case", nargs=3, metavar=("KIND", "TARGET", "BUNDLE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.case:  # a subprocess measuring one case
        print(json.dumps(run_case(*args.case)))
        return

    console = Console()
    if not (SHARED / "taiwan_credit_card.csv").is_file():
        console.print(f"[yellow]skip: {SHARED / 'taiwan_credit_card.csv'} not found[/yellow]")
        return
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    for stale in ("artifacts", "decisions.db"):  # synthesised Parquet files are reused
        target = work / stale
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    result, reference = train_reference(work, console)
    bundle, bundle_path = result.bundle, str(result.bundle_path)
    taiwan = pd.read_csv(SHARED / "taiwan_credit_card.csv").drop(columns=["ID", TARGET])
    ref_path = work / "reference.parquet"
    reference.to_parquet(ref_path)
    one = work / f"current-{args.rows}.parquet"
    console.print(f"[dim]> synthesising {args.rows:,} rows[/dim]")
    synthesise(taiwan, one, args.rows, seed=1)

    me = [sys.executable, str(Path(__file__).resolve()), "--case"]
    cases: dict[str, dict[str, Any] | None] = {}
    n1 = f"{args.rows / 1e6:g}M"
    cases[f"ours parquet {n1}"] = subprocess_case(
        [*me, "parquet", str(one), bundle_path], console, f"ours parquet {n1}"
    )
    if args.big:
        big = work / f"current-{args.big}.parquet"
        console.print(f"[dim]> synthesising {args.big:,} rows[/dim]")
        synthesise(taiwan, big, args.big, seed=2)
        nb = f"{args.big / 1e6:g}M"
        cases[f"ours parquet {nb}"] = subprocess_case(
            [*me, "parquet", str(big), bundle_path], console, f"ours parquet {nb}"
        )
    sqlite_url = f"sqlite:///{work / 'decisions.db'}"
    console.print(f"[dim]> logging {args.rows:,} decisions in SQLite[/dim]")
    fill_log(sqlite_url, bundle, one)
    cases[f"ours sqlite {n1}"] = subprocess_case(
        [*me, "decisions", sqlite_url, bundle_path], console, f"ours sqlite {n1}"
    )
    if not args.no_postgres:
        cases[f"ours postgres {n1}"] = postgres_case(me, bundle, bundle_path, one, console, n1)
    if not args.no_evidently and args.evidently.is_file():
        ev = [str(args.evidently), "-c", EVIDENTLY_CASE, str(ref_path), str(one)]
        cases[f"evidently {n1}"] = subprocess_case(ev, console, f"evidently data drift {n1}")
    elif not args.no_evidently:
        console.print(f"[yellow]skip Evidently: {args.evidently} not found[/yellow]")

    ours = cases.get(f"ours parquet {n1}")
    parity = None
    if ours:
        direct = direct_psi(bundle, one)
        parity = max(abs(ours["psi"][k] - direct[k]) for k in direct)
    report(console, cases, args, parity, n1)


def postgres_case(
    me: list[str], bundle: Any, bundle_path: str, parquet: Path, console: Console, n1: str
) -> dict[str, Any] | None:
    try:
        import psycopg
    except ImportError:
        console.print("[yellow]skip PostgreSQL: psycopg is not installed[/yellow]")
        return None
    schema = f"cs_bench_{uuid.uuid4().hex[:10]}"
    conn = None
    for user in ("postgres", "root"):
        try:
            conn = psycopg.connect(
                host="127.0.0.1", port=5432, dbname="test", user=user, autocommit=True
            )
            break
        except Exception as exc:
            last = exc
    if conn is None:
        console.print(f"[yellow]skip PostgreSQL: not reachable ({last})[/yellow]")
        return None
    conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = PG.format(user=user, schema=schema)
        console.print(f"[dim]> logging {parquet.stem} decisions in PostgreSQL[/dim]")
        fill_log(url, bundle, parquet)
        return subprocess_case([*me, "decisions", url, bundle_path], console, f"ours postgres {n1}")
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


def report(
    console: Console,
    cases: dict[str, dict[str, Any] | None],
    args: Any,
    parity: float | None,
    n1: str,
) -> None:
    table = Table(title="Monitoring: seconds and peak memory (each case in its own process)")
    for col in ("case", "rows", "seconds", "rows/s", "peak MB", "vs Evidently"):
        table.add_column(col, justify="left" if col == "case" else "right")
    ev = cases.get(f"evidently {n1}")
    for name, c in cases.items():
        if c is None:
            table.add_row(name, "-", "failed", "-", "-", "-")
            continue
        ratio = (
            f"{ev['seconds'] / c['seconds']:.1f}x faster"
            if ev and not name.startswith("evidently")
            else "-"
        )
        table.add_row(
            name,
            f"{c['rows']:,}",
            f"{c['seconds']:.1f}",
            f"{c['rows'] / c['seconds']:,.0f}",
            f"{c['peak_mb']:.0f}",
            ratio,
        )
    console.print(table)
    big_key = f"ours parquet {args.big / 1e6:g}M"
    one, big = cases.get(f"ours parquet {n1}"), cases.get(big_key)
    memory_ratio = big["peak_mb"] / one["peak_mb"] if one and big else None
    if memory_ratio is not None:
        console.print(
            f"peak memory {args.big / 1e6:g}M / {n1}: {memory_ratio:.2f}x (target <= 1.5x)"
        )
    if parity is not None:
        console.print(f"PSI parity (largest |ours - direct| over every input): {parity:.2e}")
    out = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "rows": args.rows,
        "big": args.big,
        "cases": {
            k: ({kk: vv for kk, vv in v.items() if kk != "psi"} if v else None)
            for k, v in cases.items()
        },
        "memory_ratio_big_vs_1m": memory_ratio,
        "speedup_vs_evidently": (ev["seconds"] / one["seconds"]) if ev and one else None,
        "psi_parity_max_abs_diff": parity,
        "psi": one["psi"] if one else None,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "monitoring.json").write_text(json.dumps(out, indent=2) + "\n")
    console.print(f"wrote {RESULTS / 'monitoring.json'}")


if __name__ == "__main__":
    main()
