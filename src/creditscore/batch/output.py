"""Atomic output: a run writes into a hidden staging folder and renames into place at the end.

``OUT`` ending in ``.parquet``/``.pq`` is one Parquet file, ``.csv`` one CSV file, any other
name a folder of Parquet parts (what Spark writes, and what a cluster job should ask for).
The rejects go to ``<OUT without suffix>.rejects.csv`` beside it.

While it runs, everything lives in ``.<OUT name>.partial/`` next to ``OUT``:

    state.json          what is being scored (input files, model, options) and the
                        committed segments, rewritten atomically after each commit
    lock                held (flock) by the running process
    part-00000.parquet  committed segments of the output (or part-00000.csv)
    rejects-00000.csv   and of the rejects
    *.tmp               the segment being written (discarded by a resume)

A segment is committed (closed, fsynced, renamed, recorded in ``state.json``) every
``checkpoint_seconds`` and at the end. Only then are the segments joined into ``OUT``
(one segment is renamed, several are copied into one file) and the staging folder removed,
so a killed run never leaves a file at ``OUT`` that looks complete; ``--resume`` continues
after the last committed segment, ``--overwrite`` starts again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from creditscore.batch.chunks import MODEL_COLUMNS, REJECT_SCHEMA, SCORE_COLUMNS, ScoredChunk
from creditscore.batch.result import Tally
from creditscore.exceptions import ConfigError, DataFileError

__all__ = ["OutputPlan", "Segment", "Staging", "parquet_writer"]

STATE_VERSION = 1
_PARQUET = (".parquet", ".pq")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


@dataclass(frozen=True)
class OutputPlan:
    """Where a run's output, rejects and staging folder go."""

    path: Path
    kind: str  # parquet | csv | folder

    @classmethod
    def for_path(cls, out: str | Path) -> OutputPlan:
        path = Path(out).expanduser().absolute()
        name = path.name.lower()
        if name.endswith(_PARQUET):
            kind = "parquet"
        elif name.endswith(".csv"):
            kind = "csv"
        elif path.suffix:
            raise ConfigError(
                f"output '{path}': unsupported type {path.suffix!r}; use .parquet or .csv for "
                "one file, or a name without a suffix for a folder of Parquet parts"
            )
        else:
            kind = "folder"
        if not path.parent.is_dir():
            raise DataFileError(f"output folder '{path.parent}' does not exist; create it first")
        return cls(path, kind)

    def refuse_existing(self, overwrite: bool) -> None:
        """A finished output is replaced only on request (checked before any work)."""
        if self.path.exists() and not overwrite:
            raise ConfigError(
                f"output '{self.path}' already exists (a finished run); pass --overwrite to "
                "replace it, or choose another name"
            )

    @property
    def rejects(self) -> Path:
        stem = self.path.name if self.kind == "folder" else self.path.stem
        return self.path.with_name(f"{stem}.rejects.csv")

    @property
    def staging(self) -> Path:
        return self.path.with_name(f".{self.path.name}.partial")

    @property
    def part_suffix(self) -> str:
        return ".csv" if self.kind == "csv" else ".parquet"


class Segment:
    """One segment being written: part of the output and of the rejects. CSV segments have
    no header line, so that joining them is copying bytes."""

    def __init__(
        self,
        folder: Path,
        stem: str,
        schema: pa.Schema,
        kind: str,
        dictionary: Sequence[str] | None = None,
    ) -> None:
        self.kind = kind
        suffix = ".csv" if kind == "csv" else ".parquet"
        self.data_name = f"part-{stem}{suffix}"
        self.rejects_name = f"rejects-{stem}.csv"
        self._data_tmp = folder / (self.data_name + ".tmp")
        self._rejects_tmp = folder / (self.rejects_name + ".tmp")
        self.folder = folder
        self.tally = Tally()
        self.opened = time.monotonic()
        no_header = pcsv.WriteOptions(include_header=False)
        self._data: Any
        if kind == "csv":
            self._data = pcsv.CSVWriter(str(self._data_tmp), schema, write_options=no_header)
        else:
            self._data = parquet_writer(self._data_tmp, schema, dictionary)
        self._rejects = pcsv.CSVWriter(
            str(self._rejects_tmp), REJECT_SCHEMA, write_options=no_header
        )

    def write(self, chunk: ScoredChunk) -> None:
        if chunk.table.num_rows:
            self._data.write_table(chunk.table)
        if chunk.rejects.num_rows:
            self._rejects.write_table(chunk.rejects)
        self.tally.add(chunk.tally)

    @property
    def age(self) -> float:
        return time.monotonic() - self.opened

    def close(self) -> None:
        self._data.close()
        self._rejects.close()
        for tmp, final in (
            (self._data_tmp, self.data_name),
            (self._rejects_tmp, self.rejects_name),
        ):
            with tmp.open("rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, self.folder / final)

    def discard(self) -> None:
        for writer in (self._data, self._rejects):
            with contextlib.suppress(Exception):
                writer.close()
        for tmp in (self._data_tmp, self._rejects_tmp):
            tmp.unlink(missing_ok=True)


@dataclass
class Staging:
    """The staging folder of one run and its committed state."""

    plan: OutputPlan
    state: dict[str, Any]
    resumed: bool
    _lock_fd: int = field(default=-1, repr=False)

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls, plan: OutputPlan, identity: dict[str, Any], *, resume: bool, overwrite: bool
    ) -> Staging:
        """The staging folder for a new run, or the interrupted one to resume.

        ``identity`` says what is being scored (input files, model, options); a run is
        resumed only with the same identity.
        """
        plan.refuse_existing(overwrite)
        folder = plan.staging
        if folder.exists():
            fd = cls._lock(folder)
            try:
                state = cls._read_state(folder)
                if resume and state is not None:
                    cls._check_same(plan, state, identity)
                    return cls(plan, state, resumed=True, _lock_fd=fd)
                if not overwrite and not resume:
                    done = state.get("rows_done", 0) if state else 0
                    since = f", started {state['started_at'][:19]}" if state else ""
                    raise ConfigError(
                        f"a previous run into '{plan.path}' stopped after {done:,} input rows"
                        f"{since}; pass --resume to continue it or --overwrite to start again"
                    )
                shutil.rmtree(folder)
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        folder.mkdir()
        fd = cls._lock(folder)
        state = {
            "state_version": STATE_VERSION,
            "run_id": uuid.uuid4().hex,
            "started_at": datetime.now(UTC).isoformat(),
            "identity": identity,
            "kind": plan.kind,
            "segments": [],
            "rows_done": 0,
            "checksum": None,
            "attempts": 1,
        }
        staging = cls(plan, state, resumed=False, _lock_fd=fd)
        staging.save()
        return staging

    @staticmethod
    def _lock(folder: Path) -> int:
        fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(
                f"another run is writing '{folder.name.removeprefix('.').removesuffix('.partial')}'"
                f" right now (its staging folder {folder} is locked); wait for it to finish"
            ) from None
        return fd

    @staticmethod
    def _read_state(folder: Path) -> dict[str, Any] | None:
        try:
            state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(state, dict) or state.get("state_version") != STATE_VERSION:
            return None
        return state

    @staticmethod
    def _check_same(plan: OutputPlan, state: dict[str, Any], identity: dict[str, Any]) -> None:
        before = state.get("identity", {})
        changed = [
            k for k in sorted(set(before) | set(identity)) if before.get(k) != identity.get(k)
        ]
        if state.get("kind") != plan.kind:
            changed.append("output type")
        if changed:
            raise ConfigError(
                f"cannot resume the run into '{plan.path}': {', '.join(changed)} changed since "
                f"it started ({_difference(before, identity, changed)}); pass --overwrite to "
                "start again"
            )

    # ------------------------------------------------------------------ state
    @property
    def run_id(self) -> str:
        return str(self.state["run_id"])

    @property
    def rows_done(self) -> int:
        return int(self.state["rows_done"])

    def tally(self) -> Tally:
        total = Tally()
        for seg in self.state["segments"]:
            total.add(Tally.from_dict(seg["tally"]))
        return total

    def save(self) -> None:
        _write_json(self.plan.staging / "state.json", self.state)

    def new_segment(self, schema: pa.Schema, dictionary: Sequence[str] | None = None) -> Segment:
        for stale in self.plan.staging.glob("*.tmp"):
            stale.unlink()
        stem = f"{len(self.state['segments']):05d}"
        return Segment(self.plan.staging, stem, schema, self.plan.kind, dictionary)

    def commit(self, segment: Segment) -> None:
        segment.close()
        self.add(segment.data_name, segment.rejects_name, segment.tally)

    def add(self, data: str, rejects: str, tally: Tally) -> None:
        """Record a closed segment (files in the staging folder) as committed."""
        self.state["segments"].append({"data": data, "rejects": rejects, "tally": tally.to_dict()})
        self.state["rows_done"] = self.rows_done + tally.rows
        self.save()

    # ------------------------------------------------------------------ the end
    def finalize(self, schema: pa.Schema) -> None:
        """Join the committed segments into the output and rejects (``schema``: the
        output's, for a CSV header); remove the staging folder."""
        folder, plan = self.plan.staging, self.plan
        segments = self.state["segments"]
        self._join_rejects([folder / s["rejects"] for s in segments])
        parts = [folder / s["data"] for s in segments]
        if plan.kind == "folder":
            target = folder / "output"
            target.mkdir(exist_ok=True)
            for i, p in enumerate(parts):
                os.replace(p, target / f"part-{i:05d}.parquet")
            _replace_tree(target, plan.path)
        elif plan.kind == "parquet" and len(parts) == 1:
            os.replace(parts[0], plan.path)
        else:
            joined = folder / ("joined" + plan.part_suffix)
            if plan.kind == "csv":
                _join_csv(parts, joined, header_from=schema)
            else:
                _join_parquet(parts, joined)
            os.replace(joined, plan.path)
        _fsync_dir(plan.path.parent)
        self.release()
        shutil.rmtree(folder, ignore_errors=True)

    def _join_rejects(self, parts: list[Path]) -> None:
        out = self.plan.staging / "rejects.csv"
        _join_csv(parts, out, header_from=REJECT_SCHEMA)
        os.replace(out, self.plan.rejects)

    def release(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1


def _difference(before: dict[str, Any], now: dict[str, Any], keys: list[str]) -> str:
    shown = []
    for k in keys[:3]:
        if k in now or k in before:
            shown.append(f"{k}: was {before.get(k)!r}, now {now.get(k)!r}")
    text = "; ".join(shown)
    return text if len(text) < 400 else text[:400] + "..."


def _csv_header(schema: pa.Schema) -> bytes:
    sink = pa.BufferOutputStream()
    with pcsv.CSVWriter(sink, schema) as writer:
        writer.write_table(schema.empty_table())
    return bytes(sink.getvalue().to_pybytes())


def _join_csv(parts: list[Path], out: Path, *, header_from: pa.Schema | None) -> None:
    """Header-less CSV segments -> one CSV file with a header (bytes copied, no parsing)."""
    with out.open("wb") as dst:
        if header_from is not None:
            dst.write(_csv_header(header_from))
        for p in parts:
            with p.open("rb") as src:
                shutil.copyfileobj(src, dst, 8 << 20)
        dst.flush()
        os.fsync(dst.fileno())


def looks_scored(path: Path) -> bool:
    """Whether the file at ``path`` has the columns ``creditscore score`` writes (a PD
    and the model's name), read from its schema or header line alone."""
    try:
        if path.name.lower().endswith((".parquet", ".pq")):
            names = pq.read_schema(path).names
        else:
            with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
                names = [n.strip().strip('"') for n in fh.readline().split(",")]
    except (OSError, pa.ArrowException):
        return False
    return SCORE_COLUMNS[0][0] in names and MODEL_COLUMNS[0] in names


def parquet_writer(
    path: Path, schema: pa.Schema, dictionary: Sequence[str] | None = None
) -> pq.ParquetWriter:
    """The output's Parquet writer: snappy, dictionary pages for the ``dictionary`` columns
    only (None: every column). Columns of (nearly) unique values (ids, row numbers, PDs)
    gain nothing from a dictionary: the writer would hash every value, fill a dictionary
    page and fall back to plain pages anyway."""
    use: bool | list[str] = True if dictionary is None else list(dictionary)
    return pq.ParquetWriter(str(path), schema, compression="snappy", use_dictionary=use)


def _dictionary_columns(part: Path) -> list[str]:
    """Columns written with a dictionary page in ``part`` (the first row group says)."""
    meta = pq.ParquetFile(part).metadata
    if meta.num_row_groups == 0:
        return []
    group = meta.row_group(0)
    return [
        group.column(i).path_in_schema
        for i in range(group.num_columns)
        if group.column(i).has_dictionary_page
    ]


def _join_parquet(parts: list[Path], out: Path) -> None:
    """Parquet segments -> one file, row group by row group (bounded memory), with the
    segments' dictionary choice."""
    schema = pq.ParquetFile(parts[0]).schema_arrow
    dictionary = _dictionary_columns(parts[0])
    with parquet_writer(out, schema, dictionary) as writer:
        for p in parts:
            pf = pq.ParquetFile(p)
            for i in range(pf.metadata.num_row_groups):
                writer.write_table(pf.read_row_group(i))
    with out.open("rb+") as fh:
        os.fsync(fh.fileno())


def _replace_tree(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``; an old ``target`` is moved aside first, then removed."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
