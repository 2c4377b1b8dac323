"""Where current rows come from, read in chunks: a CSV or Parquet file, the decision log
(SQLite or PostgreSQL), or rows already in memory (the service's POST /v1/monitoring/drift).

Each source yields :class:`~creditscore.monitoring.counts.Chunk` objects of at most
``chunk_rows`` rows, with the cohort label of every row:

* ``month`` / ``week``: the period of the decision time (the log) or of a date column (a
  file: ``date_column``, else the bundle's ``data.date_column``), e.g. ``2024-05`` or
  ``2024-W19``;
* any other word: a column (a file's, a decision-log column such as ``model_version``, or a
  field of the logged inputs);
* ``all``: one cohort.

Files are read with pyarrow (Parquet row groups through ``iter_batches``; CSV through the
streaming reader with the model's columns read as text and converted here, so a stray word
200,000 rows down is counted as invalid instead of stopping the run). The decision log is
read with SQLAlchemy in server-side chunks (``yield_per``), the logged inputs parsed by
pyarrow's JSON reader, outcomes joined from the ``outcomes`` table by application id.
Every mistake a user can make (a missing column, a cohort column that does not exist, a date
range with no data) is a :class:`~creditscore.exceptions.DataError` that names it.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from creditscore.data.ingest import (
    _CSV_SUFFIXES,
    _PARQUET_SUFFIXES,
    _TSV_SUFFIXES,
    parse_dates,
    sniff_delimiter,
)
from creditscore.data.names import read_as, same_words
from creditscore.exceptions import DataError, DataFileError
from creditscore.monitoring.counts import Chunk, as_float, as_levels, level_text
from creditscore.monitoring.request_errors import ErrorChunk
from creditscore.outcome import Outcome, factorized_keys

PERIODS = ("month", "week")
ALL = "all"
PD_COLUMN = "probability_of_default"
#: Decision-log columns a run can be cut by (besides the periods and input fields).
LOG_COLUMNS = ("endpoint", "model_name", "model_version", "policy_version", "risk_band", "decision")
#: Cohorts a failed request can be placed in (it has no decision, band or inputs).
ERROR_COHORTS = (ALL, *PERIODS, "endpoint", "model_name", "model_version", "policy_version")


def parse_when(value: str | datetime | None, name: str, *, end: bool = False) -> datetime | None:
    """``--since`` / ``--until`` as an aware UTC datetime; a bare date ending a range means
    the whole of that day."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        when = value
        date_only = False
    else:
        text = str(value).strip()
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise DataError(
                f"{name} {text!r} is not a date; use YYYY-MM-DD or an ISO date-time"
            ) from None
        date_only = len(text) <= 10
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if end and date_only:
        when += timedelta(days=1)
    return when


def period_labels(when: pd.Series, by: str) -> np.ndarray:
    """``2024-05`` (month) or ``2024-W19`` (ISO week) of each timestamp; NaT -> (no date)."""
    if by == "month":
        labels = when.dt.strftime("%Y-%m")
    else:
        iso = when.dt.isocalendar()
        labels = iso["year"].astype("string") + "-W" + iso["week"].astype("string").str.zfill(2)
    return labels.astype(object).where(when.notna(), "(no date)").to_numpy(dtype=object)


def _did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.6)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def _shown(columns: list[str], limit: int = 12) -> str:
    more = f", ... ({len(columns)} in all)" if len(columns) > limit else ""
    return ", ".join(columns[:limit]) + more


def outcome_codes(values: pd.Series, outcome: Outcome, column: str) -> np.ndarray:
    """A label column as 1 (bad), 0 (good) or NaN (not known yet: missing, or a value the
    model's outcome leaves out as indeterminate)."""
    idx, keys = factorized_keys(values)
    uniques = list(dict.fromkeys(keys))
    shown = ", ".join(map(repr, uniques[:6]))
    absent_bad, _ = outcome.absent(values)
    if len(absent_bad) == len(outcome.bad) and len(uniques) > 1:
        raise DataError(
            f"outcome column {column!r}: the bad value {outcome.bad_text} never occurs among "
            f"its values {shown}; give the value that marks a bad (--positive)"
        )
    codes = outcome.as_float(values)
    goods = {keys[i] for i in np.unique(idx[codes == 0])}
    if not outcome.good and len(goods) > 1:
        raise DataError(
            f"outcome column {column!r} has more than two values ({shown}); it needs the "
            f"bad value {outcome.bad_text} and one other"
        )
    return codes


@dataclass
class Source:
    """What every source shares: how it is described and cut into cohorts."""

    bundle: Any
    by: str = ALL
    since: datetime | None = None
    until: datetime | None = None
    chunk_rows: int = 100_000
    kind: str = "rows"
    description: str = ""
    notes: list[str] = field(default_factory=list)
    scorer: Any = None  # a ready Scorer of ``bundle`` (the service's), else built when needed

    def total_rows(self) -> int | None:
        return None

    def chunks(self) -> Iterator[Chunk]:
        raise NotImplementedError

    @property
    def errors_recorded(self) -> bool | None:
        """Whether failed requests were recorded (None: this source has none to record)."""
        return None

    def error_chunks(self) -> Iterator[ErrorChunk]:
        """Failed requests, with their cohort label (only a decision log has them)."""
        return iter(())

    def empty_message(self) -> str:
        return f"no rows to monitor in {self.description}"

    @property
    def features(self) -> list[str]:
        return list(self.bundle.schema.names)

    def _scorer(self) -> Any:
        if self.scorer is None:
            from creditscore.scorer import Scorer

            self.scorer = Scorer(self.bundle, reasons=False)
        return self.scorer

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """PDs of raw rows with the bundle's compiled scorer (numbers coerced first)."""
        inputs = pd.DataFrame(index=frame.index)
        for spec in self.bundle.schema.fields:
            col = frame[spec.name] if spec.name in frame.columns else None
            if spec.kind == "numeric":
                v = as_float(col, len(frame), spec.decimal)[0]
                inputs[spec.name] = np.where(np.isinf(v), np.nan, v)
            else:
                inputs[spec.name] = as_levels(col, len(frame))
        return np.asarray(self._scorer().probabilities(inputs), dtype=float)


# --------------------------------------------------------------------------- frames
@dataclass
class FrameSource(Source):
    """Rows in memory (posted to the service): scored by the bundle, one cohort."""

    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    label: str = "posted"

    def __post_init__(self) -> None:
        self.kind = "rows"
        self.description = self.description or f"{len(self.frame)} posted rows"

    def total_rows(self) -> int | None:
        return len(self.frame)

    def chunks(self) -> Iterator[Chunk]:
        for start in range(0, len(self.frame), self.chunk_rows):
            part = self.frame.iloc[start : start + self.chunk_rows]
            p = part[PD_COLUMN].to_numpy(float) if PD_COLUMN in part else self.score(part)
            yield Chunk(part, p, np.full(len(part), self.label, dtype=object))


# --------------------------------------------------------------------------- files
@dataclass
class FileSource(Source):
    """A CSV or Parquet file of applications (raw inputs, or a scored file with PDs)."""

    path: Path = Path()
    date_column: str | None = None
    target: str | None = None
    positive: Any = None

    def __post_init__(self) -> None:
        self.path = Path(self.path).expanduser()
        self.kind = "file"
        self.description = str(self.path)
        name = self.path.name.lower()
        if not self.path.is_file():
            raise DataFileError(f"current data file '{self.path}' not found; check the path")
        if name.endswith(_PARQUET_SUFFIXES):
            self._format = "parquet"
        elif name.endswith(_CSV_SUFFIXES + _TSV_SUFFIXES):
            self._format = "csv"
        else:
            raise DataFileError(
                f"current data file '{self.path}' is neither CSV nor Parquet "
                f"(use .csv, .tsv, .parquet); or use --current decisions for the decision log"
            )
        self.columns = self._read_columns()
        # model inputs under other spellings (CREDIT AMOUNT for credit_amount), as `score`
        self._renamed = same_words(self.features, self.columns, self.features)
        self._back = {source: name for name, source in self._renamed.items()}
        if self._renamed:
            self.notes.append(f"read by name: {read_as(self._renamed)}")
            self.columns = [self._back.get(c, c) for c in self.columns]
        meta = self.bundle.metadata or {}
        missing = [f for f in self.features if f not in self.columns]
        if missing:
            raise DataError(
                f"{self.path} lacks {len(missing)} of the model's {len(self.features)} input "
                f"columns: {_shown(missing)} (the file has: {_shown(self.columns)}); monitor "
                "needs the columns the model was trained on"
            )
        self.target = self.target or meta.get("target")
        if self.target not in self.columns:
            self.target = None
        self.outcome = Outcome.from_meta(meta, self.positive)
        self._date = None
        if self.by in PERIODS or self.since or self.until:
            self._date = self.date_column or meta.get("date_column")
            if not self._date:
                raise DataError(
                    f"--by {self.by} and --since/--until need dates: name the file's date "
                    f"column with --date-column (the model has no data.date_column)"
                    if self.by in PERIODS
                    else "--since/--until need dates: name the file's date column with "
                    "--date-column"
                )
            if self._date not in self.columns:
                raise DataError(
                    f"date column {self._date!r} is not in {self.path}"
                    f"{_did_you_mean(self._date, self.columns)} (columns: {_shown(self.columns)})"
                )
        if self.by not in (ALL, *PERIODS) and self.by not in self.columns:
            raise DataError(
                f"cohort column {self.by!r} (--by) is not in {self.path}"
                f"{_did_you_mean(self.by, self.columns)}; use month, week, all or one of: "
                f"{_shown(self.columns)}"
            )
        if PD_COLUMN in self.columns:
            self.notes.append(f"PDs read from the file's {PD_COLUMN} column (not re-scored)")

    def _read_columns(self) -> list[str]:
        try:
            if self._format == "parquet":
                import pyarrow.parquet as pq

                # pre_buffer=False: pre-buffering keeps every row group's buffers alive
                # until the file is closed, so memory would grow with the file
                self._pq = pq.ParquetFile(self.path, pre_buffer=False)
                return list(self._pq.schema_arrow.names)
            tsv = self.path.name.lower().endswith(_TSV_SUFFIXES)
            delimiter = "\t" if tsv else sniff_delimiter(self.path)
            self._delimiter = delimiter
            with pa.input_stream(str(self.path)) as raw, io.TextIOWrapper(raw, "utf-8-sig") as fh:
                header = next(csv.reader([fh.readline()], delimiter=delimiter))
            return [h.strip() for h in header]
        except (OSError, pa.ArrowException, UnicodeDecodeError, StopIteration) as exc:
            raise DataFileError(
                f"current data file '{self.path}' could not be read: {exc}"
            ) from None

    def total_rows(self) -> int | None:
        return int(self._pq.metadata.num_rows) if self._format == "parquet" else None

    def _needed(self) -> list[str]:
        cols = [*self.features]
        for extra in (self._date, self.target, PD_COLUMN, "decision"):
            if extra and extra in self.columns and extra not in cols:
                cols.append(extra)
        if self.by not in (ALL, *PERIODS) and self.by not in cols:
            cols.append(self.by)
        return cols

    def _batches(self) -> Iterator[pd.DataFrame]:
        needed = [self._renamed.get(c, c) for c in self._needed()]
        for frame in self._file_batches(needed):
            yield frame.rename(columns=self._back) if self._back else frame

    def _file_batches(self, needed: list[str]) -> Iterator[pd.DataFrame]:
        """The file's batches of the ``needed`` columns, under the file's own names."""
        try:
            if self._format == "parquet":
                for batch in self._pq.iter_batches(batch_size=self.chunk_rows, columns=needed):
                    yield batch.to_pandas()
                return
            import pyarrow.csv as pacsv

            texts = {c: pa.string() for c in needed if c != PD_COLUMN}
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(block_size=1 << 24),
                parse_options=pacsv.ParseOptions(delimiter=self._delimiter),
                convert_options=pacsv.ConvertOptions(
                    include_columns=needed, column_types=texts, strings_can_be_null=True
                ),
            )
            for batch in reader:
                yield batch.to_pandas()
        except pa.ArrowException as exc:
            raise DataFileError(
                f"current data file '{self.path}' could not be read: {exc}"
            ) from None

    def chunks(self) -> Iterator[Chunk]:
        for frame in self._batches():
            if self._date is not None:
                when, _ = parse_dates(frame[self._date])
                when = pd.Series(pd.to_datetime(when), index=frame.index)
                if when.dt.tz is None:
                    when = when.dt.tz_localize(UTC)
                keep = pd.Series(True, index=frame.index)
                if self.since is not None:
                    keep &= when >= self.since
                if self.until is not None:
                    keep &= when < self.until
                if not keep.all():
                    frame, when = frame[keep.to_numpy()], when[keep.to_numpy()]
                if not len(frame):
                    continue
            if self.by in PERIODS:
                cohort = period_labels(when, self.by)
            elif self.by == ALL:
                cohort = np.full(len(frame), ALL, dtype=object)
            else:
                cohort = (
                    frame[self.by].map(level_text, na_action="ignore").fillna("(missing)")
                ).to_numpy(dtype=object)
            if PD_COLUMN in frame.columns:
                p, _ = as_float(frame[PD_COLUMN], len(frame))
                bad = ~((p >= 0) & (p <= 1))
                if bad.any():
                    raise DataError(
                        f"{self.path}: column {PD_COLUMN!r} has {int(bad.sum())} values that "
                        "are not probabilities in [0, 1]"
                    )
            else:
                p = self.score(frame)
            outcome = (
                outcome_codes(frame[self.target], self.outcome, self.target)
                if self.target
                else None
            )
            decisions = (
                frame["decision"].astype(object).to_numpy()
                if "decision" in frame.columns and PD_COLUMN in frame.columns
                else None
            )
            yield Chunk(frame, p, cohort, decisions=decisions, outcome=outcome)

    def empty_message(self) -> str:
        if self.since or self.until:
            return (
                f"{self.path} has no rows between {_day(self.since)} and {_day(self.until, True)}"
            )
        return f"{self.path} has no rows"


def _day(when: datetime | None, end: bool = False) -> str:
    if when is None:
        return "the end" if end else "the start"
    return when.isoformat()


# --------------------------------------------------------------------------- decision log
@dataclass
class DecisionLogSource(Source):
    """Logged decisions (the service's audit log), with their outcomes where loaded."""

    url: str = ""

    def __post_init__(self) -> None:
        import sqlalchemy as sa

        from creditscore.store.engine import make_engine

        self.kind = "decisions"
        parsed = sa.engine.make_url(self.url) if "://" in self.url else None
        if parsed is not None and parsed.get_backend_name() == "sqlite":
            path = parsed.database
            if path and path != ":memory:" and not Path(path).is_file():
                raise DataError(
                    f"no decision log at {path}: nothing was logged there (set "
                    "CREDITSCORE_DATABASE_URL or --database to the service's log)"
                )
        self.engine = make_engine(self.url)
        safe_url = self.engine.url.render_as_string(hide_password=True)
        self.description = f"decision log {safe_url}"
        try:
            inspector = sa.inspect(self.engine)
            tables = set(inspector.get_table_names())
        except sa.exc.SQLAlchemyError as exc:
            raise DataError(
                f"cannot read the decision log {safe_url}: {_first_line(exc)}"
            ) from None
        if "decisions" not in tables:
            raise DataError(
                f"the decision log {safe_url} has no decisions table: nothing was logged there "
                "(set CREDITSCORE_DATABASE_URL or --database to the service's log)"
            )
        self.has_outcomes = "outcomes" in tables
        self.has_errors = "request_errors" in tables
        if not self.has_errors:
            self.notes.append(
                "this decision log predates the recording of failed requests (migration "
                "0004, applied when the service next starts): errors are not recorded"
            )
        elif self.by not in ERROR_COHORTS:
            self.notes.append(
                f"failed requests have no {self.by!r} (they got no decision), so errors are "
                f"counted for all cohorts together only; cut by {', '.join(ERROR_COHORTS)} "
                "to see them per cohort"
            )
        self._json_field: str | None = None
        if self.by not in (ALL, *PERIODS, *LOG_COLUMNS):
            self._json_field = self.by  # checked on the first chunk

    def _filters(self, table: Any = None) -> list[Any]:
        """The date range on ``table``'s ``created_at`` (default: the decisions)."""
        from creditscore.store.tables import decisions_table

        created_at = (decisions_table if table is None else table).c.created_at
        out = []
        if self.since is not None:
            out.append(created_at >= self.since)
        if self.until is not None:
            out.append(created_at < self.until)
        return out

    def total_rows(self) -> int | None:
        import sqlalchemy as sa

        from creditscore.store.tables import decisions_table as d

        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(d).where(*self._filters())
                ).scalar_one()
            )

    def empty_message(self) -> str:
        import sqlalchemy as sa

        from creditscore.store.tables import decisions_table as d

        with self.engine.connect() as conn:
            n, lo, hi = conn.execute(
                sa.select(sa.func.count(), sa.func.min(d.c.created_at), sa.func.max(d.c.created_at))
            ).one()
        held = f"it holds {n} decisions" + (f", from {lo} to {hi}" if n else "")
        return (
            f"no decisions between {_day(self.since)} and {_day(self.until, True)} in the "
            f"{self.description}; {held}"
        )

    def _statement(self) -> Any:
        import sqlalchemy as sa

        from creditscore.store.tables import decisions_table as d
        from creditscore.store.tables import outcomes_table as o

        cols = [
            sa.cast(d.c.created_at, sa.String).label("created_at"),
            d.c.probability_of_default,
            d.c.decision,
            d.c.latency_ms,
            sa.cast(d.c.inputs, sa.Text).label("inputs"),
        ]
        if self.by in LOG_COLUMNS:
            cols.append(d.c[self.by].label("cohort_column"))
        source: Any = d
        if self.has_outcomes:
            cols.append(o.c.bad)
            source = d.outerjoin(o, o.c.application_id == d.c.application_id)
        return sa.select(*cols).select_from(source).where(*self._filters()).order_by(d.c.created_at)

    def _inputs(self, texts: list[str]) -> pd.DataFrame:
        import pyarrow.json as pj

        fields = []
        for spec in self.bundle.schema.fields:
            fields.append((spec.name, pa.float64() if spec.kind == "numeric" else pa.string()))
        schema = pa.schema(fields)
        behaviour = "infer" if self._json_field else "ignore"
        data = "\n".join(texts).encode()
        try:
            table = pj.read_json(
                io.BytesIO(data),
                parse_options=pj.ParseOptions(
                    explicit_schema=schema, unexpected_field_behavior=behaviour
                ),
            )
            return table.to_pandas()
        except pa.ArrowException:  # mixed types in a field: parse row by row
            return pd.DataFrame.from_records([json.loads(t) for t in texts])

    def chunks(self) -> Iterator[Chunk]:
        import sqlalchemy as sa

        first = True
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(
                    stream_results=True, yield_per=self.chunk_rows
                ).execute(self._statement())
                for rows in result.partitions(self.chunk_rows):
                    cols = list(zip(*rows, strict=True))
                    frame = self._inputs(list(cols[4]))
                    field = self._json_field  # '' too: a name, not a flag
                    if first and field is not None and field not in frame.columns:
                        raise DataError(
                            f"cohort column {field!r} (--by) is neither a decision-log "
                            f"column ({', '.join(LOG_COLUMNS)}) nor a field of the logged inputs"
                            f"{_did_you_mean(field, [*LOG_COLUMNS, *frame.columns])}; "
                            "use month, week or all"
                        )
                    first = False
                    p = np.asarray(cols[1], dtype=float)
                    if self.by in PERIODS:
                        when = pd.to_datetime(pd.Series(cols[0]), utc=True, format="ISO8601")
                        cohort = period_labels(when, self.by)
                    elif self.by == ALL:
                        cohort = np.full(len(p), ALL, dtype=object)
                    elif self.by in LOG_COLUMNS:
                        cohort = np.asarray(cols[5], dtype=object)
                    else:
                        cohort = (
                            frame[self.by].map(level_text, na_action="ignore").fillna("(missing)")
                        ).to_numpy(dtype=object)
                    outcome = (
                        np.asarray([np.nan if v is None else float(v) for v in cols[-1]])
                        if self.has_outcomes
                        else None
                    )
                    yield Chunk(
                        frame,
                        p,
                        cohort,
                        decisions=np.asarray(cols[2], dtype=object),
                        outcome=outcome,
                        latency_ms=np.asarray(cols[3], dtype=float),
                    )
        except sa.exc.SQLAlchemyError as exc:
            raise DataError(f"cannot read the {self.description}: {_first_line(exc)}") from None
        finally:
            self.engine.dispose()

    @property
    def errors_recorded(self) -> bool | None:
        return self.has_errors

    def error_chunks(self) -> Iterator[ErrorChunk]:
        """The logged failed requests in the date range, in chunks; cohorts as the
        decisions' (every failed request in one cohort when it cannot be cut by ``by``)."""
        import sqlalchemy as sa

        from creditscore.store.tables import request_errors_table as e

        if not self.has_errors:
            return
        cols = [sa.cast(e.c.created_at, sa.String).label("created_at"), e.c.status_code,
                e.c.kind, e.c.field]  # fmt: skip
        by_column = self.by in ERROR_COHORTS and self.by in LOG_COLUMNS
        if by_column:
            cols.append(e.c[self.by])
        statement = sa.select(*cols).where(*self._filters(e)).order_by(e.c.created_at)
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(
                    stream_results=True, yield_per=self.chunk_rows
                ).execute(statement)
                for rows in result.partitions(self.chunk_rows):
                    got = list(zip(*rows, strict=True))
                    if self.by in PERIODS:
                        when = pd.to_datetime(pd.Series(got[0]), utc=True, format="ISO8601")
                        cohort = period_labels(when, self.by)
                    elif by_column:
                        cohort = np.asarray(got[4], dtype=object)
                    else:  # all, or a cut errors cannot follow: one pooled count
                        cohort = np.full(len(rows), ALL, dtype=object)
                    yield ErrorChunk(
                        cohort=cohort,
                        status=np.asarray(got[1], dtype=np.int64),
                        kind=np.asarray(got[2], dtype=object),
                        field=np.asarray(got[3], dtype=object),
                    )
        except sa.exc.SQLAlchemyError as exc:
            raise DataError(f"cannot read the {self.description}: {_first_line(exc)}") from None
        finally:
            self.engine.dispose()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
