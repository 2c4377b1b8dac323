"""Batch scoring end to end (read Parquet, score, write Parquet): our engines vs their peers.

A LightGBM (the catalog's defaults) is trained on Taiwan's training split, calibrated on
its validation split and given a cost-based policy, as ``creditscore train`` would; then
1 M and 10 M synthetic applications are drawn from Taiwan's rows (each row resampled, its
amounts jittered by up to 5 %, so rows repeat Taiwan's joint distribution without being
copies) and written as Parquet in row groups of 200k. Side by side, each in a fresh
process so that its peak memory is its own (resident memory of the process and all its
children, Spark's JVM and Python workers included, sampled every 50 ms):

* ``ours pandas``: ``creditscore.batch.score_file`` (no reason codes; and, on
  ``--reasons-rows`` rows, with 4 reason codes on declines and referrals, the Scorer's own
  ``score_frame(..., reasons=4)``);
* ``sklearn pipeline``: the bundle's fitted pipeline ``predict_proba`` and the policy, on
  the same 100k-row chunks read with ``iter_batches`` and written with ``ParquetWriter``;
* ``mlflow.pyfunc``: the same bundle saved as an MLflow pyfunc model, ``predict`` on the
  same chunks;
* ``ours spark``: ``score_file(engine="spark", master="local[2]")``;
* ``spark_udf``: ``mlflow.pyfunc.spark_udf`` on the pyfunc model, ``local[2]``, with Spark's
  defaults, the result written with ``df.write.parquet``.

The Spark session is started before the clock starts (both Spark rows pay the same start);
everything else (loading the model, reading, scoring, writing) is inside the time.

    python benchmarks/batch.py [--sizes 1000000,10000000] [--reasons-rows 1000000]
                               [--big-engines "ours pandas,..."] [--no-spark] [--work DIR]

Prints one table and writes benchmarks/results/batch.json. The files are kept in
``--work`` (default: a folder under the system's temporary directory) for reruns.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from common import RESULTS, SHARED, taiwan_config  # benchmarks/common.py
from rich.console import Console
from rich.table import Table

console = Console(width=120)
CHUNK = 100_000
TARGET_ROWS_PER_S = 500_000
TARGET_WITH_REASONS = 100_000
ENGINES = ("ours pandas", "sklearn pipeline", "mlflow.pyfunc", "ours spark", "spark_udf")


# ---------------------------------------------------------------------------- setup
def train_taiwan(work: Path) -> tuple[Path, Path, list[str], str]:
    """(bundle folder, pyfunc folder, input columns, id column), trained once per --work
    and per version of the compiled code (a bundle saved by other code would be compiled
    on every load, which is not what a user's freshly saved bundle costs)."""
    from creditscore.compiled.saved import fingerprint

    bundle_dir, pyfunc_dir = work / "bundle", work / "pyfunc"
    meta = work / "model.json"
    if bundle_dir.is_dir() and pyfunc_dir.is_dir() and meta.is_file():
        info = json.loads(meta.read_text())
        if info.get("fingerprint") == fingerprint():
            return bundle_dir, pyfunc_dir, info["columns"], info["id"]
    from creditscore.bundle import ModelBundle
    from creditscore.data.ingest import load_raw, validate
    from creditscore.data.profile import build_profile
    from creditscore.data.schema import InputSchema
    from creditscore.data.split import split_indices
    from creditscore.evaluation.threshold import fit_policy
    from creditscore.models.catalog import CATALOG, Context
    from creditscore.pyfunc import save_pyfunc
    from creditscore.tracking import signature_for
    from creditscore.training.calibration import calibrate

    cfg = taiwan_config(work / "config", console)
    if cfg is None:
        raise SystemExit(f"this benchmark needs {SHARED / 'taiwan_credit_card.csv'}")
    raw = load_raw(cfg)
    ds = validate(raw, cfg)
    sp = split_indices(ds.y, cfg.split, ds.dates)
    ctx = Context(ds.numeric, ds.categorical, dict(cfg.data.special_codes), {}, 0)
    X, y = ds.X, ds.y
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CATALOG["lightgbm"].pipeline(None, ctx).fit(X.iloc[sp.train], y[sp.train])
        cal = calibrate(model, X.iloc[sp.valid], y[sp.valid], "auto", 0)
    policy = fit_policy(
        y[sp.valid], cal.model.predict_proba(X.iloc[sp.valid])[:, 1], cfg.policy, cfg.costs
    )
    bundle = ModelBundle(
        cal.model,
        InputSchema.from_frame(X, ds.numeric, ds.categorical),
        policy,
        build_profile(
            X.iloc[sp.train],
            ds.numeric,
            ds.categorical,
            cal.model.predict_proba(X.iloc[sp.train])[:, 1],
        ),
        metadata={
            "name": "taiwan",
            "version": "1",
            "id_column": cfg.data.id_column,
            "sensitive": list(cfg.sensitive),
        },
    )
    shutil.rmtree(bundle_dir, ignore_errors=True)
    shutil.rmtree(pyfunc_dir, ignore_errors=True)
    bundle.save(bundle_dir)
    for p in [bundle_dir, *bundle_dir.rglob("*")]:
        p.chmod(p.stat().st_mode & 0o755)
    save_pyfunc(
        bundle_dir,
        pyfunc_dir,
        signature=signature_for(SimpleNamespace(bundle=bundle)),  # type: ignore[arg-type]
        input_example=X.head(5),
    )
    console.print(
        f"trained LightGBM on Taiwan in {time.perf_counter() - t:.0f}s "
        f"({len(ds.numeric)} numeric, {len(ds.categorical)} categorical inputs)"
    )
    columns = [str(c) for c in raw.columns if c != cfg.data.target]
    meta.write_text(
        json.dumps({"columns": columns, "id": cfg.data.id_column, "fingerprint": fingerprint()})
    )
    return bundle_dir, pyfunc_dir, columns, str(cfg.data.id_column)


def synthetic(work: Path, rows: int, columns: list[str], id_column: str) -> Path:
    """``rows`` applications drawn from Taiwan's rows, written in row groups of 200k."""
    path = work / f"taiwan-{rows}.parquet"
    if path.is_file() and pq.ParquetFile(path).metadata.num_rows == rows:
        return path
    import pandas as pd

    source = pd.read_csv(SHARED / "taiwan_credit_card.csv")[columns]
    amounts = [c for c in columns if c.startswith(("LIMIT_BAL", "BILL_AMT", "PAY_AMT"))]
    rng = np.random.default_rng(rows)
    tmp = path.with_suffix(".tmp")
    writer = None
    for start in range(0, rows, 200_000):
        n = min(200_000, rows - start)
        block = source.iloc[rng.integers(0, len(source), n)].reset_index(drop=True)
        for col in amounts:
            block[col] = np.round(block[col] * rng.uniform(0.95, 1.05, n))
        block[id_column] = np.arange(start + 1, start + n + 1)
        table = pa.Table.from_pandas(block, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    tmp.rename(path)
    return path


# ---------------------------------------------------------------------------- children
def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Runs in the child process: one engine, one file; returns rows and seconds."""
    src, out, bundle_dir, pyfunc_dir = (
        Path(args.input),
        Path(args.output),
        args.bundle,
        args.pyfunc,
    )
    engine, id_column = args.measure, args.id
    spark = None
    if engine in ("ours spark", "spark_udf"):
        from creditscore.batch.spark import spark_session

        spark = spark_session("local[2]")
        if engine == "spark_udf":  # a user's session: Spark's default Arrow batch size
            spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    start = time.perf_counter()
    if engine in ("ours pandas", "ours spark"):
        from creditscore.batch import score_file

        run = score_file(
            src,
            out,
            model=bundle_dir,
            engine="spark" if engine == "ours spark" else "pandas",
            master="local[2]" if engine == "ours spark" else None,
            reasons=args.reasons,
            id_column=id_column,
            record=False,
        )
        rows = run.tally.scored
    elif engine in ("sklearn pipeline", "mlflow.pyfunc"):
        rows = _chunked_peer(engine, src, out, bundle_dir, pyfunc_dir, id_column)
    else:
        rows = _spark_udf(spark, src, out, pyfunc_dir, id_column)
    return {"rows": rows, "seconds": time.perf_counter() - start}


def _chunked_peer(
    engine: str, src: Path, out: Path, bundle_dir: str, pyfunc_dir: str, id_column: str
) -> int:
    """The pipeline (or pyfunc model) on 100k-row chunks, read and written as we do."""
    from creditscore.bundle import ModelBundle

    bundle = ModelBundle.load(bundle_dir)
    features = bundle.features
    if engine == "mlflow.pyfunc":
        import mlflow.pyfunc

        pyfunc = mlflow.pyfunc.load_model(pyfunc_dir)
    writer, rows = None, 0
    reader = pq.ParquetFile(src, pre_buffer=False)  # as ours: memory flat in the file's size
    for batch in reader.iter_batches(CHUNK, columns=[id_column, *features]):
        frame = batch.to_pandas()
        if engine == "sklearn pipeline":
            p = bundle.model.predict_proba(frame[features])[:, 1]
            policy = bundle.policy
            result = {
                "probability_of_default": p,
                "score": policy.points_many(p),
                "risk_band": policy.band_many(p),
                "decision": policy.decide_many(p),
            }
        else:
            predicted = pyfunc.predict(frame[features])
            result = {c: predicted[c].to_numpy() for c in predicted.columns}
        table = pa.table({id_column: frame[id_column].to_numpy(), **result})
        if writer is None:
            writer = pq.ParquetWriter(out, table.schema)
        writer.write_table(table)
        rows += len(frame)
    assert writer is not None
    writer.close()
    return rows


def _spark_udf(spark: Any, src: Path, out: Path, pyfunc_dir: str, id_column: str) -> int:
    import mlflow.pyfunc
    from pyspark.sql import functions as F  # noqa: N812 (PySpark's own convention)

    schema = "probability_of_default double, score long, risk_band string, decision string"
    from creditscore.bundle import ModelBundle

    udf = mlflow.pyfunc.spark_udf(spark, pyfunc_dir, result_type=schema, env_manager="local")
    inputs = ModelBundle.load(Path(pyfunc_dir).parent / "bundle").features
    df = spark.read.parquet(str(src))
    scored = df.select(F.col(id_column), udf(*[F.col(c) for c in inputs]).alias("p"))
    scored.select(id_column, "p.*").write.mode("overwrite").parquet(str(out))
    return int(sum(pq.ParquetFile(f).metadata.num_rows for f in out.glob("*.parquet")))


# ---------------------------------------------------------------------------- parent
def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def run_child(engine: str, src: Path, out: Path, args: argparse.Namespace, **extra: Any) -> dict:
    staging = out.with_name(f".{out.name}.partial")  # left by an interrupted benchmark
    for old in (out, staging):
        if old.is_dir():
            shutil.rmtree(old)
        elif old.exists():
            old.unlink()
    for stale in out.parent.glob(f"{out.stem}.rejects.csv"):
        stale.unlink()
    cmd = [
        sys.executable,
        __file__,
        "--measure",
        engine,
        "--input",
        str(src),
        "--output",
        str(out),
        "--bundle",
        str(args.bundle),
        "--pyfunc",
        str(args.pyfunc),
        "--id",
        args.id,
        "--reasons",
        str(extra.get("reasons", 0)),
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    child = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(child.pid))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = child.communicate()
    stop.set()
    sampler.join()
    if child.returncode != 0:
        console.print(f"[red]{engine} failed[/red]: {stderr[-1500:]}")
        return {"engine": engine, "error": stderr[-1500:]}
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(
        engine=engine,
        reasons=extra.get("reasons", 0),
        rows_per_s=result["rows"] / result["seconds"],
        peak_mb=peak / 2**20,
    )
    console.print(
        f"  {engine:<18} {result['rows']:>11,} rows  {result['rows_per_s']:>11,.0f} rows/s  "
        f"peak {result['peak_mb']:,.0f} MB" + (" (4 reason codes)" if result["reasons"] else "")
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument(
        "--reasons-rows",
        type=int,
        default=1_000_000,
        help="rows of the run with 4 reason codes on declines and referrals (0: none)",
    )
    parser.add_argument(
        "--big-engines",
        default=",".join(ENGINES),
        help="engines run at sizes above 1 M (the slow peers take long at 10 M)",
    )
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "creditscore-bench"))
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--bundle", help=argparse.SUPPRESS)
    parser.add_argument("--pyfunc", help=argparse.SUPPRESS)
    parser.add_argument("--id", help=argparse.SUPPRESS)
    parser.add_argument("--reasons", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args)))
        return

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    bundle_dir, pyfunc_dir, columns, id_column = train_taiwan(work)
    args.bundle, args.pyfunc, args.id = bundle_dir, pyfunc_dir, id_column
    sizes = [int(s) for s in args.sizes.split(",")]
    spark_ok = not args.no_spark and shutil.which("java") is not None
    results = []
    for n in sizes:
        t = time.perf_counter()
        src = synthetic(work, n, columns, id_column)
        console.print(
            f"[bold]{n:,} rows[/bold] ({src.stat().st_size / 2**20:,.0f} MB Parquet, "
            f"made in {time.perf_counter() - t:.0f}s)"
        )
        big = [e.strip() for e in args.big_engines.split(",")]
        engines = [e for e in ENGINES if (spark_ok or "spark" not in e)]
        engines = [e for e in engines if n <= 1_000_000 or e in big]
        for engine in engines:
            suffix = "" if engine == "spark_udf" else ".parquet"  # Spark writes a folder
            out = work / f"out-{engine.replace(' ', '-').replace('.', '-')}-{n}{suffix}"
            results.append({"size": n, **run_child(engine, src, out, args)})
    if args.reasons_rows:
        n = args.reasons_rows
        src = synthetic(work, n, columns, id_column)
        console.print(f"[bold]{n:,} rows, 4 reason codes[/bold] (declines and referrals)")
        out = work / f"out-ours-reasons-{n}.parquet"
        results.append({"size": n, **run_child("ours pandas", src, out, args, reasons=4)})

    table = Table(title="Batch scoring, read + score + write Parquet (2 cores, one run)")
    for col in ("rows", "engine", "reasons", "rows/s", "peak MB", "vs peer"):
        table.add_column(col, justify="right" if col != "engine" else "left")
    for r in results:
        if "error" in r:
            table.add_row(f"{r['size']:,}", r["engine"], "", "failed", "", "")
            continue
        peer = {"ours pandas": "sklearn pipeline", "ours spark": "spark_udf"}.get(r["engine"])
        ratio = ""
        if peer and not r["reasons"]:
            other = next(
                (x for x in results if x["size"] == r["size"] and x["engine"] == peer), None
            )
            if other and "rows_per_s" in other:
                ratio = f"{r['rows_per_s'] / other['rows_per_s']:.1f}x {peer}"
        table.add_row(
            f"{r['size']:,}",
            r["engine"],
            str(r["reasons"]),
            f"{r['rows_per_s']:,.0f}",
            f"{r['peak_mb']:,.0f}",
            ratio,
        )
    console.print(table)
    ours = [r for r in results if r.get("engine") == "ours pandas" and not r.get("reasons")]
    if len(ours) >= 2 and all("peak_mb" in r for r in ours):
        console.print(
            f"peak memory of our pandas engine: {ours[0]['peak_mb']:,.0f} MB at "
            f"{ours[0]['size']:,} rows, {ours[-1]['peak_mb']:,.0f} MB at {ours[-1]['size']:,}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "batch.json"
    out.write_text(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "targets": {
                    "rows_per_s": TARGET_ROWS_PER_S,
                    "rows_per_s_with_4_reasons": TARGET_WITH_REASONS,
                    "vs_pipeline": 5,
                    "vs_spark_udf": 2,
                },
                "chunk_rows": CHUNK,
                "results": results,
            },
            indent=2,
        )
    )
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()
