"""The Spark engine: the same chunk scorer, on every executor, inside ``mapInArrow``.

Spark reads the input and splits it across tasks; each task hands its Arrow batches to the
:class:`~creditscore.batch.chunks.ChunkScorer` the pandas engine uses (``mapInArrow`` is
``mapInPandas`` without the round trip through pandas: our core takes Arrow), and writes
its scored rows and rejects with the same segment writer, into the run's staging folder.
The model is loaded once per Python worker (Spark reuses workers across tasks) from
the registry (``models:/NAME/VERSION``, the alias pinned to a version on the driver) or a
bundle folder on storage every node mounts. Only the tasks that succeeded are kept (their
files are named by partition and attempt, and the driver collects which ones finished),
then the driver joins them into ``OUT`` exactly as the pandas engine does. So both engines
write the same columns, types, rejects and run record.

Row numbers for the rejects (and the ``row`` column without an id): Parquet gives each
row's index in its file (``_metadata.row_index``); for CSV, a first quick pass counts the
rows of each file block, and each task numbers its block's rows from that offset.

The input and the output are paths on a filesystem the driver and every executor see (a
local disk for ``local[N]``; NFS, GPFS or a FUSE mount such as /dbfs on a cluster).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pyarrow as pa

from creditscore.batch.chunks import ChunkScorer
from creditscore.batch.engine import (
    Progress,
    _Background,
    _identity,
    _record_end,
    _same_file,
    open_input,
)
from creditscore.batch.model import BatchModel, ModelRef, describe, load_model
from creditscore.batch.output import OutputPlan, Segment, Staging
from creditscore.batch.result import ScoringOptions, ScoringRun, Tally
from creditscore.batch.runs import RunRecorder
from creditscore.bundle import ModelBundle
from creditscore.exceptions import ConfigError

__all__ = ["DEFAULT_MASTER", "score_file_spark", "spark_session"]

DEFAULT_MASTER = "local[2]"
_FILE, _ROW, _BLOCK = "_creditscore_file", "_creditscore_row", "_creditscore_block"
_TASKS = "tasks"
_RESULT = pa.schema(
    [
        ("partition", pa.int64()),
        ("attempt", pa.int64()),
        ("data", pa.string()),
        ("rejects", pa.string()),
        ("tally", pa.string()),
    ]
)
#: Models loaded in this Python worker, by where they come from (one load per worker).
_LOADED: dict[tuple[ModelRef, bool], BatchModel] = {}


def _require_pyspark() -> Any:
    try:
        import pyspark
    except ImportError:
        raise ConfigError(
            "the Spark engine needs PySpark: pip install 'creditscore[spark]' (and Java 17)"
        ) from None
    return pyspark


def spark_session(master: str | None = None, *, chunk_rows: int = 100_000) -> Any:
    """The Spark session to score with: ``master``, else CREDITSCORE_SPARK_MASTER, else
    the one spark-submit started, else ``local[2]``."""
    _require_pyspark()
    from pyspark.sql import SparkSession

    from creditscore.settings import get_settings

    # PySpark warns about pandas 3 at every Arrow call; mapInArrow never goes through pandas
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )
    master = master or get_settings().spark_master
    active = SparkSession.getActiveSession()
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    builder = SparkSession.builder.appName("creditscore score").config(
        "spark.ui.showConsoleProgress", "false"
    )
    if master is None and active is None and not under_submit:
        master = DEFAULT_MASTER
    if master is not None:
        builder = builder.master(master)
        if master.startswith("local"):  # this machine only: loopback, this Python, no UI
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            builder = (
                builder.config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
            )
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # no Java, a master that does not answer
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"could not start Spark (master {master or 'from spark-submit'}): {first}"
        ) from None
    spark.sparkContext.setLogLevel("ERROR")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(chunk_rows))
    return spark


# ---------------------------------------------------------------------------- executors
def _executor_model(ref: ModelRef, reasons: bool) -> BatchModel:
    key = (ref, reasons)
    if key not in _LOADED:
        _LOADED[key] = load_model(ref, reasons=reasons)
    return _LOADED[key]


def _relative(uri: str, root: str, folder: bool) -> str:
    path = unquote(urlparse(uri).path) if "://" in uri or uri.startswith("file:") else uri
    if not folder:
        return Path(path).name
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return Path(path).name


class _Numbering:
    """0-based row numbers within each file for a task's CSV rows, from block offsets."""

    def __init__(self, offsets: dict[tuple[str, int], int]) -> None:
        self.offsets = offsets
        self.seen: dict[tuple[str, int], int] = {}

    def rows(self, files: np.ndarray, blocks: np.ndarray) -> np.ndarray:
        out = np.empty(len(files), dtype=np.int64)
        n = len(files)
        start = 0
        while start < n:
            key = (str(files[start]), int(blocks[start]))
            end = start + 1
            while end < n and blocks[end] == blocks[start] and files[end] == files[start]:
                end += 1
            done = self.seen.get(key, 0)
            out[start:end] = self.offsets.get(key, 0) + done + np.arange(end - start)
            self.seen[key] = done + end - start
            start = end
        return out


def _task_function(
    ref: ModelRef,
    options: ScoringOptions,
    input_schema: pa.Schema,
    *,
    text: bool,
    folder: bool,
    root: str,
    tasks_dir: str,
    kind: str,
    offsets: dict[tuple[str, int], int] | None,
) -> Any:
    """The function every task runs on its partition's Arrow batches."""

    def score_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        partition = ctx.partitionId() if ctx is not None else 0
        attempt = ctx.attemptNumber() if ctx is not None else 0
        model = _executor_model(ref, options.reasons > 0)
        chunker = ChunkScorer(model, options, input_schema, text=text, folder=folder)
        segment = Segment(
            Path(tasks_dir),
            f"{partition:05d}-{attempt}",
            chunker.schema,
            kind,
            chunker.dictionary_columns,
        )
        numbering = _Numbering(offsets or {})
        names: dict[str, str] = {}
        try:
            for batch in batches:
                table = pa.Table.from_batches([batch])
                uris = table.column(_FILE).to_numpy(zero_copy_only=False)
                files = np.empty(len(uris), dtype=object)
                for i, uri in enumerate(uris):
                    name = names.get(uri)
                    if name is None:
                        name = names[uri] = _relative(str(uri), root, folder)
                    files[i] = name
                if offsets is None:
                    rows = table.column(_ROW).to_numpy(zero_copy_only=False).astype(np.int64)
                else:
                    blocks = table.column(_BLOCK).to_numpy(zero_copy_only=False)
                    rows = numbering.rows(files, blocks)
                segment.write(chunker.score(table, 0, "", rows=rows, files=files))
            segment.close()
        except BaseException:
            segment.discard()
            raise
        yield pa.RecordBatch.from_pylist(
            [
                {
                    "partition": partition,
                    "attempt": attempt,
                    "data": segment.data_name,
                    "rejects": segment.rejects_name,
                    "tally": json.dumps(segment.tally.to_dict()),
                }
            ],
            schema=_RESULT,
        )

    return score_partition


# ---------------------------------------------------------------------------- driver
def _read(spark: Any, stream: Any) -> Any:
    """The input as a Spark frame of the needed columns, plus each row's file and row."""
    from pyspark.sql import functions as F  # noqa: N812 (PySpark's own convention)
    from pyspark.sql.types import StringType, StructField, StructType

    path = str(stream.path.resolve())
    # a CSV is read with the stream's schema, names already as selected; Parquet with its own
    columns = [F.col(f"`{c}`") for c in stream.columns]
    if stream.kind == "parquet":
        columns = [F.col(f"`{stream.source(c)}`").alias(c) for c in stream.columns]
        df = spark.read.parquet(path)
        extra = [
            F.col("_metadata.file_path").alias(_FILE),
            F.col("_metadata.row_index").alias(_ROW),
        ]
        return df.select(*columns, *extra)
    schema = StructType([StructField(n, StringType(), True) for n in stream.schema.names])
    df = (
        spark.read.option("header", "true")
        .option("sep", getattr(stream, "delimiter", ","))
        .option("quote", '"')
        .option("escape", '"')
        .option("mode", "FAILFAST")
        .option("nullValue", "")
        .schema(schema)
        .csv(path)
    )
    extra = [F.input_file_name().alias(_FILE), F.input_file_block_start().alias(_BLOCK)]
    return df.select(*columns, *extra)


def _block_offsets(df: Any) -> dict[tuple[str, int], int]:
    """Rows before each CSV block of each file (a count per block: one quick pass)."""
    from pyspark.sql import functions as F  # noqa: N812 (PySpark's own convention)

    counts = df.groupBy(_FILE, _BLOCK).agg(F.count(F.lit(1)).alias("n")).collect()
    offsets: dict[tuple[str, int], int] = {}
    running: dict[str, int] = {}
    for row in sorted(counts, key=lambda r: (r[_FILE], r[_BLOCK])):
        before = running.get(row[_FILE], 0)
        offsets[(row[_FILE], int(row[_BLOCK]))] = before
        running[row[_FILE]] = before + int(row["n"])
    return offsets


def score_file_spark(
    input: str | Path,
    output: str | Path,
    *,
    model: str | Path | ModelBundle | BatchModel | None,
    master: str | None,
    options: ScoringOptions,
    overwrite: bool,
    record: bool,
    database_url: str | None,
    tracking_uri: str | None,
    progress: Progress,
) -> ScoringRun:
    """:func:`creditscore.batch.score_file` with ``engine="spark"``."""
    _require_pyspark()
    from pyspark.sql.pandas.types import to_arrow_schema

    progress.stage("Loading the model")
    loaded = load_model(model, reasons=options.reasons > 0, tracking_uri=tracking_uri)
    if loaded.ref is None:
        raise ConfigError(
            "the Spark engine's executors load the model themselves: give a bundle folder "
            "or models:/NAME/VERSION, not a bundle in memory"
        )
    stream, options = open_input(input, loaded, options)
    plan = OutputPlan.for_path(output)
    if any(_same_file(p.path, plan.path) for p in stream.parts):
        raise ConfigError(f"output '{plan.path}' is the input; write the scores elsewhere")
    recorder = RunRecorder(database_url) if record else None
    identity = {**_identity(stream, loaded, options), "engine": "spark"}
    staging = Staging.open(plan, identity, resume=False, overwrite=overwrite)
    started_at, began = str(staging.state["started_at"]), time.perf_counter()
    checksum = _Background(stream.parts)
    try:
        if recorder is not None:
            recorder.started(
                {
                    "run_id": staging.run_id,
                    "engine": "spark",
                    "started_at": datetime.fromisoformat(started_at),
                    "input_path": str(stream.path.resolve()),
                    "input_bytes": stream.total_bytes,
                    "output_path": str(plan.path),
                    "rejects_path": str(plan.rejects),
                    "options": options.to_dict(),
                    **describe(loaded),
                }
            )
        progress.stage(f"Starting Spark ({master or 'default master'})")
        spark = spark_session(master, chunk_rows=options.chunk_rows)
        df = _read(spark, stream)
        offsets = _block_offsets(df) if stream.kind == "csv" else None
        input_schema = to_arrow_schema(df.schema)
        folder = stream.path.is_dir()
        chunker = ChunkScorer(loaded, options, input_schema, text=stream.text, folder=folder)
        tasks = plan.staging / _TASKS
        tasks.mkdir(exist_ok=True)
        assert loaded.ref is not None
        function = _task_function(
            loaded.ref,
            options,
            input_schema,
            text=stream.text,
            folder=folder,
            root=str(stream.path.resolve()),
            tasks_dir=str(tasks),
            kind=plan.kind,
            offsets=offsets,
        )
        progress.stage(f"Scoring on Spark ({spark.sparkContext.master})")
        progress.start(stream.total_rows, stream.total_bytes if stream.text else None, 0)
        results = df.mapInArrow(function, _spark_schema()).collect()
        for row in sorted(results, key=lambda r: r["partition"]):
            tally = Tally.from_dict(json.loads(row["tally"]))
            for name in (row["data"], row["rejects"]):
                os.replace(tasks / name, plan.staging / name)
            staging.add(row["data"], row["rejects"], tally)
            progress.advance(tally.rows, None)
        progress.stage("Checking the input's checksum")
        digest = checksum.result()
        staging.state["checksum"] = digest
        staging.save()
        progress.stage("Writing the output")
        tally = staging.tally()
        staging.finalize(chunker.schema)
    except BaseException as exc:
        staging.release()
        if recorder is not None:
            with contextlib.suppress(Exception):
                recorder.failed(staging.run_id, f"{type(exc).__name__}: {exc}")
        raise
    result = ScoringRun(
        run_id=staging.run_id,
        engine="spark",
        input_path=stream.path,
        output_path=plan.path,
        rejects_path=plan.rejects,
        input_checksum=digest,
        model_name=loaded.name,
        model_version=loaded.version,
        model_source=loaded.source,
        policy_version=loaded.policy_version,
        options=options,
        tally=tally,
        started_at=started_at,
        finished_at=datetime.now(UTC).isoformat(),
        seconds=time.perf_counter() - began,
        renamed=dict(stream.renamed),
    )
    return _record_end(result, recorder)


def _spark_schema() -> Any:
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    return StructType(
        [
            StructField("partition", LongType()),
            StructField("attempt", LongType()),
            StructField("data", StringType()),
            StructField("rejects", StringType()),
            StructField("tally", StringType()),
        ]
    )
