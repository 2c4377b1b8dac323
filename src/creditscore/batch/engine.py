"""Scoring a file: the pandas streaming engine, and the one entry point for both engines.

The pandas engine reads ``chunk_rows`` rows at a time
(:class:`~creditscore.data.ingest.TableStream`), checks them
(:class:`~creditscore.batch.validation.RowValidator`), scores them with the compiled
Scorer and appends them to the current segment of the staging folder
(:mod:`creditscore.batch.output`); the next chunk is read by a background thread
meanwhile (pyarrow releases the GIL). Memory holds a few chunks whatever the file's size.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from creditscore.batch.chunks import ChunkScorer, ScoredChunk, StartedChunk, needed_columns
from creditscore.batch.model import BatchModel, describe, load_model
from creditscore.batch.output import OutputPlan, Staging
from creditscore.batch.result import ScoringOptions, ScoringRun
from creditscore.bundle import ModelBundle
from creditscore.data.ingest import TableChunk, TablePart, TableStream
from creditscore.exceptions import ConfigError

if TYPE_CHECKING:  # SQLAlchemy is imported only when a run is recorded
    from creditscore.batch.runs import RunRecorder

__all__ = ["ENGINES", "Progress", "input_checksum", "score_file"]

ENGINES = ("pandas", "spark")
T = TypeVar("T")


class Progress(Protocol):
    """What a run reports while it works (the CLI draws a rich progress bar from it)."""

    def start(self, total_rows: int | None, total_bytes: int | None, done_rows: int) -> None: ...
    def advance(self, rows: int, bytes_read: int | None) -> None: ...
    def stage(self, text: str) -> None: ...


class _Silent:
    def start(self, total_rows: int | None, total_bytes: int | None, done_rows: int) -> None:
        pass

    def advance(self, rows: int, bytes_read: int | None) -> None:
        pass

    def stage(self, text: str) -> None:
        pass


# ---------------------------------------------------------------------------- the input
def input_checksum(parts: Sequence[TablePart]) -> str:
    """``sha256:<hex>`` of the input file; of a folder, of its files' names and digests."""
    digests = []
    for part in parts:
        with part.path.open("rb") as fh:
            digests.append((part.name, hashlib.file_digest(fh, "sha256").hexdigest()))
    if len(digests) == 1 and parts[0].name == parts[0].path.name:
        return f"sha256:{digests[0][1]}"
    listing = "".join(f"{name}\0{hexdigest}\n" for name, hexdigest in digests)
    return f"sha256:{hashlib.sha256(listing.encode()).hexdigest()}"


class _Background(threading.Thread):
    """The input's checksum, computed beside the scoring (hashlib releases the GIL)."""

    def __init__(self, parts: Sequence[TablePart]) -> None:
        super().__init__(name="creditscore-checksum", daemon=True)
        self.parts = list(parts)
        self.value: str | None = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.value = input_checksum(self.parts)
        except BaseException as exc:  # reported by result()
            self.error = exc

    def result(self) -> str:
        self.join()
        if self.error is not None:
            raise self.error
        assert self.value is not None
        return self.value


def _prefetch(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Iterate ``items`` in a background thread, ``depth`` items ahead."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def fill() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("end", None))
        except BaseException as exc:
            q.put(("error", exc))

    worker = threading.Thread(target=fill, name="creditscore-read", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while worker.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                worker.join(0.05)


def _overlapped(chunker: ChunkScorer, chunks: Iterable[TableChunk]) -> Iterator[ScoredChunk]:
    """The chunks scored, in order, with one chunk's reason-code contributions (numba,
    GIL released, on a thread of their own) computed while the previous chunk's codes
    are turned into text (Python, on this thread): on two cores that overlap is what lets
    reason codes keep pace with the reading and writing. Without reason codes it is
    :meth:`ChunkScorer.score` chunk by chunk."""
    with ThreadPoolExecutor(1, thread_name_prefix="creditscore-explain") as pool:
        pending: tuple[StartedChunk, Future[np.ndarray | None]] | None = None
        for chunk in chunks:
            started = chunker.start(chunk.data, chunk.first_row, chunk.part.name)
            future = pool.submit(started.scored.contribute)
            if pending is not None:
                yield chunker.finish(pending[0], pending[1].result())
            pending = (started, future)
        if pending is not None:
            yield chunker.finish(pending[0], pending[1].result())


class _WriteBehind:
    """Writes scored chunks into their segment on a background thread, ``depth`` chunks
    behind the scoring (pyarrow's Parquet and CSV writers release the GIL), so that
    reading, scoring and writing overlap on two cores. ``flush`` before committing a
    segment; an error in the writer is raised by the next call."""

    def __init__(self, depth: int = 1) -> None:
        self._queue: queue.Queue[tuple[Any, Any] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._aborted = False
        self._thread = threading.Thread(target=self._run, name="creditscore-write", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._error is None and not self._aborted:
                    segment, chunk = item
                    segment.write(chunk)
            except BaseException as exc:  # raised in the scoring thread
                self._error = exc
            finally:
                self._queue.task_done()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, segment: Any, chunk: Any) -> None:
        self._check()
        self._queue.put((segment, chunk))

    def flush(self) -> None:
        """Wait until every chunk handed over is written."""
        self._queue.join()
        self._check()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def close(self) -> None:
        """Write what is left and stop the thread."""
        self._stop()
        self._check()

    def abort(self) -> None:
        """Stop without writing what is left (the segment is being discarded)."""
        self._aborted = True
        self._stop()


def _identity(stream: TableStream, model: BatchModel, options: ScoringOptions) -> dict[str, Any]:
    """What a resumed run must share with the interrupted one."""
    return {
        "input": str(stream.path.resolve()),
        "files": [[p.name, p.bytes, p.path.stat().st_mtime_ns] for p in stream.parts],
        "model": [model.name, model.version, model.policy_version],
        "options": options.to_dict(),
    }


def open_input(
    path: str | Path, model: BatchModel, options: ScoringOptions
) -> tuple[TableStream, ScoringOptions]:
    """The input stream, reading only what the run needs; the id column defaults to the
    bundle's (``data.id_column`` at training) when the input has it."""
    stream = TableStream(path, chunk_rows=options.chunk_rows)
    if options.id_column is None:
        trained_id = model.bundle.metadata.get("id_column")
        if trained_id and trained_id in stream.schema.names:
            options = ScoringOptions(
                reasons=options.reasons,
                explain=options.explain,
                id_column=str(trained_id),
                keep=options.keep,
                chunk_rows=options.chunk_rows,
            )
    roles = {name: "a model input" for name in model.bundle.schema.names}
    if options.id_column:
        roles[options.id_column] = "--id-column"
    for name in options.keep:
        roles.setdefault(name, "--keep")
    categories = [f.name for f in model.bundle.schema.fields if f.kind == "categorical"]
    inputs = model.bundle.schema.names
    stream.select(needed_columns(model, options), roles, dictionary=categories, by_words=inputs)
    return stream, options


@dataclass
class _Run:
    """What the end of a run needs, whatever the engine."""

    run_id: str
    started_at: str
    started: float


def check_options(options: ScoringOptions) -> None:
    if options.reasons < 0:
        raise ConfigError(f"--reasons must be 0 or more, got {options.reasons}")
    if options.chunk_rows < 1:
        raise ConfigError(f"--chunk-rows must be at least 1, got {options.chunk_rows}")


# ---------------------------------------------------------------------------- entry point
def score_file(
    input: str | Path,
    output: str | Path,
    *,
    model: str | Path | ModelBundle | BatchModel | None = None,
    engine: str = "pandas",
    master: str | None = None,
    reasons: int = 0,
    explain: bool | None = None,
    id_column: str | None = None,
    keep: Sequence[str] = (),
    chunk_rows: int = 100_000,
    resume: bool = False,
    overwrite: bool = False,
    record: bool = True,
    database_url: str | None = None,
    tracking_uri: str | None = None,
    progress: Progress | None = None,
    checkpoint_seconds: float = 60.0,
) -> ScoringRun:
    """Score every row of ``input`` (CSV, Parquet or a folder of Parquet files) into
    ``output`` (``.parquet``, ``.csv`` or a folder of Parquet parts).

    ``model``: a bundle folder, ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, a loaded
    bundle, or None for the champion. Rows the model's schema refuses go to
    ``<output>.rejects.csv`` with their row number, field and reason; the run never stops
    for them. The output appears at ``output`` only when complete. ``record`` writes the run
    record to ``database_url`` (default: CREDITSCORE_DATABASE_URL).
    """
    if engine not in ENGINES:
        raise ConfigError(f"--engine {engine!r}: choose one of {', '.join(ENGINES)}")
    options = ScoringOptions(
        reasons=int(reasons),
        explain=explain,
        id_column=id_column or None,
        keep=tuple(dict.fromkeys(k for k in keep if k)),
        chunk_rows=int(chunk_rows),
    )
    check_options(options)
    OutputPlan.for_path(output).refuse_existing(overwrite)  # before loading anything
    progress = progress or _Silent()
    if engine == "spark":
        if resume:
            raise ConfigError(
                "--resume is for the pandas engine; a Spark run retries failed tasks itself "
                "and starts again from the input when rerun"
            )
        from creditscore.batch.spark import score_file_spark

        return score_file_spark(
            input,
            output,
            model=model,
            master=master,
            options=options,
            overwrite=overwrite,
            record=record,
            database_url=database_url,
            tracking_uri=tracking_uri,
            progress=progress,
        )
    if master is not None:
        raise ConfigError("--master is for --engine spark")
    progress.stage("Loading the model")
    loaded = load_model(model, reasons=options.reasons > 0, tracking_uri=tracking_uri)
    return _score_pandas(
        input,
        output,
        loaded,
        options,
        resume=resume,
        overwrite=overwrite,
        recorder=_recorder(database_url) if record else None,
        progress=progress,
        checkpoint_seconds=checkpoint_seconds,
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and a.samefile(b))
    except OSError:
        return False


def _score_pandas(
    input: str | Path,
    output: str | Path,
    model: BatchModel,
    options: ScoringOptions,
    *,
    resume: bool,
    overwrite: bool,
    recorder: RunRecorder | None,
    progress: Progress,
    checkpoint_seconds: float,
) -> ScoringRun:
    stream, options = open_input(input, model, options)
    plan = OutputPlan.for_path(output)
    if any(_same_file(p.path, plan.path) for p in stream.parts):
        raise ConfigError(f"output '{plan.path}' is the input; write the scores elsewhere")
    folder = stream.path.is_dir()
    chunker = ChunkScorer(model, options, stream.schema, text=stream.text, folder=folder)
    staging = Staging.open(
        plan, _identity(stream, model, options), resume=resume, overwrite=overwrite
    )
    run = _Run(staging.run_id, str(staging.state["started_at"]), time.perf_counter())
    if staging.resumed:
        staging.state["attempts"] = int(staging.state.get("attempts", 1)) + 1
        staging.save()
    checksum = _Background(stream.parts)
    try:
        if recorder is not None:
            recorder.started(
                {
                    "run_id": run.run_id,
                    "engine": "pandas",
                    "started_at": datetime.fromisoformat(run.started_at),
                    "input_path": str(stream.path.resolve()),
                    "input_bytes": stream.total_bytes,
                    "output_path": str(plan.path),
                    "rejects_path": str(plan.rejects),
                    "options": options.to_dict(),
                    **describe(model),
                }
            )
    except BaseException:
        staging.release()
        if not staging.resumed and not staging.state["segments"]:
            import shutil

            shutil.rmtree(plan.staging, ignore_errors=True)
        raise
    segment = None
    writer = _WriteBehind()
    try:
        done = staging.rows_done
        progress.stage("Scoring")
        progress.start(stream.total_rows, stream.total_bytes if stream.text else None, done)
        segment = staging.new_segment(chunker.schema, chunker.dictionary_columns)
        for scored in _overlapped(chunker, _prefetch(stream.chunks(skip_rows=done))):
            writer.write(segment, scored)
            progress.advance(scored.tally.rows, stream.bytes_read() if stream.text else None)
            if segment.age >= checkpoint_seconds:
                writer.flush()
                _note_checksum(staging, checksum)
                staging.commit(segment)
                segment = staging.new_segment(chunker.schema, chunker.dictionary_columns)
        writer.close()
        staging.commit(segment)
        segment = None
        progress.stage("Checking the input's checksum")
        digest = checksum.result()
        before = staging.state.get("checksum")
        if before and before != digest:
            raise ConfigError(
                f"input '{stream.path}' changed while it was being scored (checksum {before} "
                f"at the start, {digest} now); score it again with --overwrite"
            )
        staging.state["checksum"] = digest
        staging.save()
        progress.stage("Writing the output")
        tally = staging.tally()
        staging.finalize(chunker.schema)
    except BaseException as exc:
        writer.abort()
        if segment is not None:
            segment.discard()
        staging.release()
        if recorder is not None:
            with contextlib.suppress(Exception):  # the original error matters more
                recorder.failed(run.run_id, f"{type(exc).__name__}: {exc}")
        raise
    finished = datetime.now(UTC).isoformat()
    result = ScoringRun(
        run_id=run.run_id,
        engine="pandas",
        input_path=stream.path,
        output_path=plan.path,
        rejects_path=plan.rejects,
        input_checksum=digest,
        model_name=model.name,
        model_version=model.version,
        model_source=model.source,
        policy_version=model.policy_version,
        options=options,
        tally=tally,
        started_at=run.started_at,
        finished_at=finished,
        seconds=time.perf_counter() - run.started,
        resumed=staging.resumed,
        renamed=dict(stream.renamed),
    )
    return _record_end(result, recorder)


def _note_checksum(staging: Staging, checksum: _Background) -> None:
    """Keep the checksum in the state once known, so a resume can tell a changed input."""
    if checksum.value is not None and not staging.state.get("checksum"):
        staging.state["checksum"] = checksum.value


def _recorder(database_url: str | None) -> RunRecorder:
    from creditscore.batch.runs import RunRecorder

    return RunRecorder(database_url)


def _record_end(result: ScoringRun, recorder: RunRecorder | None) -> ScoringRun:
    if recorder is None:
        return result
    try:
        recorder.finished(result)
    except Exception as exc:  # the output is complete; say the record is missing
        return _replace(result, recorded=False, record_error=str(exc))
    finally:
        recorder.close()
    return _replace(result, recorded=True)


def _replace(run: ScoringRun, **changes: Any) -> ScoringRun:
    from dataclasses import replace

    return replace(run, **changes)
