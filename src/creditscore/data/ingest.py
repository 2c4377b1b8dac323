"""Read a table of past applications and check it against the project configuration.

``validate`` is the gate before training: it collects every problem it can find (missing
columns, wrong types, a target that is not good/bad, duplicated ids, ...) and raises one
:class:`DataError` listing them, each naming the column, a count and an example row, so a
user fixes the file in one pass instead of one traceback at a time.

Every input's type holds: a column listed under ``data.numeric`` whose values are not
numbers (nor its ``special_codes``) is an error naming the column, the count and an example
row; so is a categorical input with more levels than a model can learn from. Special codes
become missing values in the validated frame (so the schema's ranges, the profile and the
model card never show a -999); the model pipeline maps them again when scoring raw
applications, so training and scoring agree.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import hashlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from creditscore.data.names import same_words
from creditscore.exceptions import DataError, DataFileError
from creditscore.features.numbers import formatted_examples, parse_numbers
from creditscore.formatting import value_text
from creditscore.outcome import BAD, GOOD, MISSING, NO_OUTCOME, Outcome, label_key, label_keys

if TYPE_CHECKING:  # the batch engine reads tables with no project configuration loaded
    from creditscore.config import ProjectConfig, Scalar

__all__ = [
    "CSV_NA_VALUES",
    "Dataset",
    "TableChunk",
    "TablePart",
    "TableStream",
    "load",
    "load_raw",
    "read_table",
    "summary",
    "validate",
]

MAX_PROBLEMS = 20
# A text column is "numeric-looking" when at least this share of its values are numbers.
NUMERIC_LOOKING_SHARE = 0.8

_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz")
_TSV_SUFFIXES = (".tsv", ".tsv.gz", ".tab")
_TXT_SUFFIXES = (".txt", ".txt.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED_SUFFIXES = _CSV_SUFFIXES + _TSV_SUFFIXES + _TXT_SUFFIXES + _PARQUET_SUFFIXES
#: Excel workbooks: read whole (their first sheet) by init and train, never streamed
_EXCEL_SUFFIXES = (".xlsx", ".xlsm")


# ---------------------------------------------------------------------------- reading
def read_table(path: str | Path, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV, TSV, Parquet file or the first sheet of an Excel workbook, chosen by its
    suffix. ``text_columns`` of a CSV are read as text (a decimal-comma column's '1.500' is
    1500, not pandas' 1.5).

    Raises :class:`DataFileError` (never a parser traceback) when the file is missing,
    unreadable, empty or of an unsupported kind.
    """
    p = Path(path).expanduser()
    name = p.name.lower()
    if not p.exists():
        raise DataFileError(
            f"data file '{p}' not found; check the path (data.path in the config is relative "
            "to the config file's folder)"
        )
    if p.is_dir():
        raise DataFileError(f"data path '{p}' is a folder; point it at a CSV or Parquet file")
    try:
        if name.endswith(_PARQUET_SUFFIXES):
            df = pd.read_parquet(p)
        elif name.endswith(_EXCEL_SUFFIXES):
            df = pd.read_excel(p, sheet_name=0, dtype=dict.fromkeys(text_columns, str) or None)
        elif name.endswith(".xls"):
            raise DataFileError(
                f"data file '{p}' is an old Excel (.xls) workbook; save it as .xlsx, CSV or Parquet"
            )
        elif name.endswith(_CSV_SUFFIXES + _TSV_SUFFIXES + _TXT_SUFFIXES):
            sep = "\t" if name.endswith(_TSV_SUFFIXES) else sniff_delimiter(p)
            texts = dict.fromkeys(text_columns, str)
            df = pd.read_csv(p, sep=sep, low_memory=False, dtype=texts or None)
        else:
            raise DataFileError(
                f"data file '{p}' has an unsupported type; use one of "
                f"{', '.join(SUPPORTED_SUFFIXES + _EXCEL_SUFFIXES)} (CSV, TSV, Parquet or "
                "Excel)"
            )
    except DataFileError:
        raise
    except pd.errors.EmptyDataError:
        raise DataFileError(f"data file '{p}' is empty; it needs a header row and data") from None
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"data file '{p}' is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save it as UTF-8 CSV or as Parquet"
        ) from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFileError(
            f"data file '{p}' could not be read: {first}; check that it is a valid "
            f"{_kind(name)} file"
        ) from None
    except Exception as exc:  # pyarrow raises its own error types
        raise DataFileError(
            f"data file '{p}' could not be read ({type(exc).__name__}: {exc}); check that it "
            f"is a valid {_kind(name)} file"
        ) from None
    if df.shape[1] == 0:
        raise DataFileError(f"data file '{p}' has no columns; it needs a header row")
    return df


def _kind(name: str) -> str:
    if name.endswith(_EXCEL_SUFFIXES):
        return "Excel (.xlsx)"
    return "Parquet" if name.endswith(_PARQUET_SUFFIXES) else "CSV"


DELIMITERS = (",", ";", "\t", "|")


def sniff_delimiter(path: Path) -> str:
    """CSV files come comma-, semicolon-, tab- or pipe-separated (a European spreadsheet
    saves ``;``): the delimiter that splits the header and the first lines into the same
    number of fields, most fields first; a comma when none does."""
    name = path.name.lower()
    if name.endswith((".zip", ".bz2", ".xz")):
        return ","
    import gzip

    opener: Any = gzip.open if name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
            sample = fh.read(64 * 1024)
    except OSError:
        return ","
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    if len(sample) == 64 * 1024 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    best, best_fields = ",", 1
    for sep in DELIMITERS:
        try:
            rows = list(csv.reader(lines, delimiter=sep))
        except csv.Error:
            continue
        widths = {len(r) for r in rows}
        if len(widths) == 1 and (n := widths.pop()) > best_fields:
            best, best_fields = sep, n
    return best


# ---------------------------------------------------------------------------- streaming
#: What ``pandas.read_csv`` reads as missing by default, so a file streamed chunk by chunk
#: (:class:`TableStream`) means what ``read_table`` reads when the whole file fits.
CSV_NA_VALUES = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2"}


@dataclass(frozen=True)
class TablePart:
    """One file of a table: the table itself, or one Parquet file of a folder."""

    path: Path
    name: str  # as shown to people: the file name, or its path inside the folder
    bytes: int
    rows: int | None  # Parquet: from the footer; CSV: unknown before it is read


@dataclass(frozen=True)
class TableChunk:
    """A run of consecutive rows of one file."""

    part: TablePart
    first_row: int  # 0-based position in its file of the chunk's first row (header excluded)
    data: Any  # pyarrow.Table


class TableStream:
    """A CSV/TSV file, a Parquet file or a folder of Parquet files, read chunk by chunk so
    memory stays bounded whatever the file's size.

    Parquet is read row group by row group (``iter_batches``), only the ``columns`` asked
    for. CSV goes through pyarrow's streaming reader with every column asked for read as
    text: pyarrow would otherwise infer types from the first block alone, so a text value
    far down a numeric column would stop the read; the caller converts and checks the text
    (``text`` is True then). A CSV's empty cells are missing; the other pandas markers
    (``CSV_NA_VALUES``) are left as text for the caller to apply.
    """

    def __init__(
        self, path: str | Path, columns: Sequence[str] | None = None, *, chunk_rows: int = 100_000
    ) -> None:
        import pyarrow.parquet as pq

        if chunk_rows < 1:
            raise DataError(f"chunk_rows must be at least 1, got {chunk_rows}")
        self.path = Path(path).expanduser()
        self.chunk_rows = int(chunk_rows)
        p, name = self.path, self.path.name.lower()
        if not p.exists():
            raise DataFileError(f"input '{p}' not found; check the path")
        self.parts: list[TablePart]
        if p.is_dir():
            files = sorted(
                f
                for f in p.rglob("*")
                if f.is_file()
                and f.name.lower().endswith(_PARQUET_SUFFIXES)
                and not any(part.startswith((".", "_")) for part in f.relative_to(p).parts)
            )
            if not files:
                raise DataFileError(
                    f"input folder '{p}' holds no Parquet files (*.parquet, *.pq); point it at "
                    "a CSV or Parquet file, or a folder of Parquet files"
                )
            self.kind = "parquet"
            self.parts = [self._parquet_part(f, f.relative_to(p).as_posix()) for f in files]
        elif name.endswith(_PARQUET_SUFFIXES):
            self.kind = "parquet"
            self.parts = [self._parquet_part(p, p.name)]
        elif name.endswith(_CSV_SUFFIXES + _TSV_SUFFIXES + _TXT_SUFFIXES):
            if name.endswith((".zip", ".xz")):
                raise DataFileError(
                    f"input '{p}': zip and xz files cannot be streamed; unpack it or use gzip"
                )
            self.kind = "csv"
            self.parts = [TablePart(p, p.name, p.stat().st_size, None)]
            # as read_table reads it: a European spreadsheet's CSV is ';'-separated
            self.delimiter = "\t" if name.endswith(_TSV_SUFFIXES) else sniff_delimiter(p)
        elif name.endswith((*_EXCEL_SUFFIXES, ".xls")):
            raise DataFileError(
                f"input '{p}' is an Excel workbook, which cannot be streamed: save the sheet "
                "as CSV or Parquet to score or monitor it (init and train read it as it is)"
            )
        else:
            raise DataFileError(
                f"input '{p}' has an unsupported type; use one of "
                f"{', '.join(SUPPORTED_SUFFIXES)} or a folder of Parquet files"
            )
        self.schema = self._schema(pq)
        self.columns: list[str] = list(self.schema.names)
        self.dictionary: list[str] = []
        self.renamed: dict[str, str] = {}  # selected column -> the input's name for it
        self._back: dict[str, str] = {}  # the input's name -> the selected one
        if columns is not None:
            self.select(columns)
        self.text = self.kind == "csv"
        self._position = 0  # bytes of the current file read so far (CSV)
        self._done_bytes = 0

    def select(
        self,
        columns: Sequence[str],
        roles: dict[str, str] | None = None,
        *,
        dictionary: Sequence[str] = (),
        by_words: Collection[str] = (),
    ) -> None:
        """Read only ``columns``; a missing one is a :class:`DataError` naming it (and
        its role, e.g. "a model input", from ``roles``) with the closest names. A column of
        ``by_words`` missing under its own name is read from the one input column with the
        same words (``CREDIT AMOUNT`` or ``creditAmount`` for ``credit_amount``: case,
        punctuation and camel case do not matter) and renamed; ``renamed`` lists them.
        Parquet text columns in ``dictionary`` are read dictionary-encoded (few distinct
        values: categories), which saves building a string per row."""
        names = self.schema.names
        wanted = list(dict.fromkeys(columns))
        self.renamed = same_words(wanted, names, by_words)
        self._back = {name: model for model, name in self.renamed.items()}
        if self.renamed:
            self.schema = _renamed_schema(self.schema, self._back)
            names = self.schema.names
        absent = [c for c in wanted if c not in set(names)]
        if absent:
            role = (roles or {}).get(absent[0])
            more = f" (also missing: {absent[1:6]})" if len(absent) > 1 else ""
            raise DataError(
                f"input '{self.path}' has no column {absent[0]!r}"
                + (f" ({role})" if role else "")
                + f"{_close(absent[0], names)}{more}"
            )
        self.columns = wanted
        self.dictionary = [c for c in dictionary if c in self.columns]

    def source(self, column: str) -> str:
        """The input's own name of ``column`` (other than ``column`` when read by words)."""
        return self.renamed.get(column, column)

    def _as_selected(self, batch: Any) -> Any:
        """A batch read under the input's names, with the selected names."""
        if not self._back:
            return batch
        return batch.rename_columns([self._back.get(n, n) for n in batch.schema.names])

    # ------------------------------------------------------------------ metadata
    def _parquet_part(self, path: Path, name: str) -> TablePart:
        import pyarrow.parquet as pq

        try:
            rows = pq.ParquetFile(path).metadata.num_rows
        except Exception as exc:
            raise DataFileError(
                f"input '{path}' is not a readable Parquet file ({type(exc).__name__}: {exc})"
            ) from None
        return TablePart(path, name, path.stat().st_size, int(rows))

    def _schema(self, pq: Any) -> Any:
        """Column names and types (CSV: every column as text)."""
        import pyarrow as pa

        first = self.parts[0]
        if self.kind == "parquet":
            schema = pq.ParquetFile(first.path).schema_arrow
            for part in self.parts[1:]:
                other = pq.ParquetFile(part.path).schema_arrow
                if other.names != schema.names:
                    raise DataFileError(
                        f"input folder '{self.path}': {part.name} has columns {other.names}, "
                        f"unlike {first.name} ({schema.names}); a folder must hold one table"
                    )
            return schema
        with self._open_csv(first.path, None) as (reader, _):
            return pa.schema([(n, pa.string()) for n in reader.schema.names])

    @property
    def total_rows(self) -> int | None:
        rows = [p.rows for p in self.parts]
        return None if any(r is None for r in rows) else sum(r or 0 for r in rows)

    @property
    def total_bytes(self) -> int:
        return sum(p.bytes for p in self.parts)

    def bytes_read(self) -> int:
        """How far the reading has got, in bytes of the input (for progress bars)."""
        return self._done_bytes + self._position

    # ------------------------------------------------------------------ reading
    @contextlib.contextmanager
    def _open_csv(self, path: Path, columns: Sequence[str] | None) -> Iterator[tuple[Any, Any]]:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        raw = pa.OSFile(str(path), "rb")
        compression = _COMPRESSION.get(path.suffix.lower())
        stream = pa.CompressedInputStream(raw, compression) if compression else raw
        convert = pcsv.ConvertOptions(
            column_types={c: pa.string() for c in columns} if columns else None,
            include_columns=list(columns) if columns else None,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        )
        try:
            reader = pcsv.open_csv(
                stream,
                read_options=pcsv.ReadOptions(block_size=8 << 20),
                parse_options=pcsv.ParseOptions(delimiter=getattr(self, "delimiter", ",")),
                convert_options=convert,
            )
        except Exception as exc:
            stream.close()
            raise self._read_error(path, exc) from None
        try:
            yield reader, raw
        finally:
            stream.close()

    def _read_error(self, path: Path, exc: BaseException) -> DataFileError:
        text = str(exc).strip().splitlines()
        first = text[0] if text else type(exc).__name__
        if "Empty CSV file" in first:
            return DataFileError(f"input '{path}' is empty; it needs a header row and data")
        return DataFileError(f"input '{path}' could not be read: {first}")

    def _part_batches(self, part: TablePart, skip: int) -> Iterator[tuple[int, Any]]:
        """(first row, record batch) of one file from row ``skip`` on."""
        import pyarrow.parquet as pq

        if self.kind == "parquet":
            # pre_buffer=False: pre-buffering keeps every row group's column chunks read so
            # far in memory until the reader ends (memory grew with the file's size)
            pf = pq.ParquetFile(
                part.path,
                read_dictionary=[self.source(c) for c in self.dictionary] or None,
                pre_buffer=False,
            )
            groups, start = [], 0
            for i in range(pf.metadata.num_row_groups):
                n = pf.metadata.row_group(i).num_rows
                if start + n > skip:
                    groups.append(i)
                elif not groups:
                    start += n
            row = start
            if not groups:
                return
            try:
                for batch in pf.iter_batches(
                    batch_size=self.chunk_rows,
                    row_groups=groups,
                    columns=[self.source(c) for c in self.columns],
                ):
                    batch = self._as_selected(batch)
                    if row + batch.num_rows <= skip:
                        row += batch.num_rows
                        continue
                    if row < skip:
                        batch, row = batch.slice(skip - row), skip
                    yield row, batch
                    row += batch.num_rows
            except OSError as exc:
                raise self._read_error(part.path, exc) from None
            return
        with self._open_csv(part.path, [self.source(c) for c in self.columns]) as (reader, raw):
            row = 0
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except Exception as exc:  # a malformed line: pyarrow names it
                    raise self._read_error(part.path, exc) from None
                self._position = raw.tell()
                batch = self._as_selected(batch)
                if row + batch.num_rows <= skip:
                    row += batch.num_rows
                    continue
                if row < skip:
                    batch, row = batch.slice(skip - row), skip
                yield row, batch
                row += batch.num_rows

    def chunks(self, skip_rows: int = 0) -> Iterator[TableChunk]:
        """Chunks of ``chunk_rows`` rows (the last of each file may be shorter), starting
        ``skip_rows`` rows into the table (to resume an interrupted run)."""
        import pyarrow as pa

        self._done_bytes, self._position = 0, 0
        for part in self.parts:
            known = part.rows
            if known is not None and skip_rows >= known:
                skip_rows -= known
                self._done_bytes += part.bytes
                continue
            pending: list[Any] = []
            held, start = 0, None
            for first, batch in self._part_batches(part, skip_rows):
                if start is None:
                    start = first
                pending.append(batch)
                held += batch.num_rows
                while held >= self.chunk_rows:
                    table = pa.Table.from_batches(pending).combine_chunks()
                    yield TableChunk(part, start, table.slice(0, self.chunk_rows))
                    rest = table.slice(self.chunk_rows)
                    start += self.chunk_rows
                    pending = [b for b in rest.to_batches() if b.num_rows]
                    held = rest.num_rows
            if held and start is not None:
                yield TableChunk(part, start, pa.Table.from_batches(pending).combine_chunks())
            skip_rows = 0
            self._done_bytes += part.bytes
            self._position = 0


def load_raw(config: ProjectConfig) -> pd.DataFrame:
    """The configured data as read from disk, or the bundled German data without a path."""
    path = config.data_path
    if path is None:
        from creditscore.datasets import load_german

        return load_german()
    return read_table(path, config.data.decimal_comma)


# ---------------------------------------------------------------------------- Dataset
@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated table, split into what a model may see and what it may not."""

    X: pd.DataFrame
    y: np.ndarray
    numeric: list[str]
    categorical: list[str]
    ids: pd.Series | None
    dates: pd.Series | None
    sensitive: pd.DataFrame
    data_hash: str
    target: str
    positive: Scalar | list[Scalar]
    # data.negative, and the rows left out as indeterminate (target value -> rows)
    negative: list[Scalar] = field(default_factory=list)
    indeterminate: dict[str, int] = field(default_factory=dict)
    # features.derived (name -> expression) and the columns only they read: numbers and
    # dates that are no model input themselves, but are sent with every application
    derived: dict[str, str] = field(default_factory=dict)
    extra_numeric: list[str] = field(default_factory=list)
    date_inputs: list[str] = field(default_factory=list)

    @property
    def features(self) -> list[str]:
        """Columns an application must carry, in the column order of ``X``."""
        return [str(c) for c in self.X.columns]

    @property
    def model_numeric(self) -> list[str]:
        """The numbers the model sees after its InputCleaner: inputs, then derived."""
        return [*self.numeric, *self.derived]

    @property
    def n_rows(self) -> int:
        return len(self.y)

    @property
    def n_bads(self) -> int:
        return int(self.y.sum())

    @property
    def bad_rate(self) -> float:
        return float(self.y.mean()) if len(self.y) else float("nan")

    def with_sensitive(self) -> pd.DataFrame:
        """The inputs and the protected columns side by side (a sensitive column allowed as
        an input appears once)."""
        extra = [c for c in self.sensitive.columns if c not in self.X.columns]
        return pd.concat([self.X, self.sensitive[extra]], axis=1)


def summary(ds: Dataset) -> dict[str, Any]:
    """A few numbers for the CLI to print after loading."""
    return {
        "rows": ds.n_rows,
        "bads": ds.n_bads,
        "bad_rate": round(ds.bad_rate, 4),
        "numeric": len(ds.numeric),
        "categorical": len(ds.categorical),
        "hash": ds.data_hash,
    }


def load(config: ProjectConfig) -> Dataset:
    """Read and validate the configured data in one call."""
    return validate(load_raw(config), config)


# ---------------------------------------------------------------------------- helpers
def _row(pos: int | np.integer) -> str:
    """Row number as in the file: 1-based, header not counted."""
    return f"row {int(pos) + 1}"


def _renamed_schema(schema: Any, back: dict[str, str]) -> Any:
    import pyarrow as pa

    return pa.schema([f.with_name(back.get(f.name, f.name)) for f in schema])


def _close(name: str, columns: Sequence[str]) -> str:
    matches = difflib.get_close_matches(name, columns, n=3, cutoff=0.6)
    if not matches:
        lowered = {c.casefold(): c for c in columns}
        if name.casefold() in lowered:
            matches = [lowered[name.casefold()]]
    if not matches:
        return ""
    quoted = [repr(m) for m in matches]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"; did you mean {listed}?"


def is_categorical_dtype(s: pd.Series) -> bool:
    dtype = s.dtype
    return bool(
        pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def is_numeric_dtype(s: pd.Series) -> bool:
    dtype = s.dtype
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def to_numeric(s: pd.Series, decimal: str = ".") -> tuple[pd.Series, pd.Series]:
    """Convert text to float64 (blank -> NaN), reading numbers written for people
    (``'13.95%'``, ``'$3,174.37'``; with ``decimal=','`` ``'1.234,56'``: see
    :mod:`creditscore.features.numbers`); also return the mask of values that are not numbers."""
    if is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s.dtype):
        out = pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index, name=s.name)
        return out, pd.Series(False, index=s.index)
    values, bad = parse_numbers(s, decimal)
    return (
        pd.Series(values, index=s.index, name=s.name),
        pd.Series(bad, index=s.index, name=s.name),
    )


def numeric_looking(s: pd.Series, decimal: str = ".") -> tuple[bool, pd.Series]:
    """Is a text column mostly numbers, with some texts among them or written for people
    ('13.95%')? Returns (answer, mask of the values that are not numbers). A text column of
    plain digits (postcodes, codes) is not."""
    if not is_categorical_dtype(s) or pd.api.types.is_bool_dtype(s.dtype):
        return False, pd.Series(False, index=s.index)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    _, bad = to_numeric(s, decimal)
    present = int(s.notna().sum())
    if present == 0:
        return False, bad
    n_bad = int(bad.sum())
    share = (present - n_bad) / present
    return (share >= NUMERIC_LOOKING_SHARE and (n_bad > 0 or formatted(s))), bad


def formatted(s: pd.Series) -> bool:
    """Do a text column's values write numbers for people ('13.95%', '$1,200')?"""
    return bool(formatted_examples(s, 1))


def parse_dates(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a column as dates. Returns (datetime64 series, mask of values that did not
    parse). Plain numbers are not dates, except 8-digit ``YYYYMMDD`` integers."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s, pd.Series(False, index=s.index)
    if is_numeric_dtype(s):
        present = s.notna()
        values = s[present]
        in_range = bool(((values >= 1_000_01_01) & (values <= 9_999_12_31)).all())
        if len(values) and in_range and bool((values % 1 == 0).all()):
            text = values.astype("int64").astype(str)
            parsed = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
            out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
            out[present] = parsed
            return out, present & out.isna()
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]"), present
    text = s.astype("string").str.strip()
    text = text.mask(text == "", pd.NA)
    uniques = text.dropna().unique()
    lookup = _parse_unique_dates(pd.Series(np.asarray(uniques, dtype=object)))
    parsed = text.map(lookup)
    out = pd.Series(pd.to_datetime(parsed.astype(object), errors="coerce"), index=s.index)
    if out.dt.tz is not None:
        out = out.dt.tz_convert(None)
    return out, text.notna() & out.isna()


_MONTHS = r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b"


def _parse_unique_dates(values: pd.Series) -> dict[Any, Any]:
    if values.empty:
        return {}
    text = values.astype(str)
    # A date is not just a number ("12") and has a 4-digit year, a month name or three
    # numeric parts ("5/1/21"): this keeps bucket labels such as "1-2" or "3-5" out.
    candidate = (
        text.str.contains(r"\d", regex=True)
        & ~text.str.fullmatch(r"[+-]?\d+([.,]\d+)?([eE][+-]?\d+)?")
    ) & (
        text.str.contains(r"\d{4}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2}", regex=True)
        | text.str.contains(_MONTHS, case=False, regex=True)
    )
    parsed = pd.Series(pd.NaT, index=values.index, dtype=object)
    if candidate.any():
        got = pd.to_datetime(text[candidate], format="mixed", errors="coerce", utc=True)
        got = got.where((got.dt.year >= 1800) & (got.dt.year <= 2200))  # "march 5" -> year 1
        parsed[candidate] = got.dt.tz_convert(None).astype(object)
    return {v: (p if not pd.isna(p) else pd.NaT) for v, p in zip(values, parsed, strict=True)}


def data_hash(df: pd.DataFrame) -> str:
    """sha256 of the frame's column names and values: the same file gives the same hash."""
    digest = hashlib.sha256()
    digest.update(repr((df.shape, [str(c) for c in df.columns])).encode())
    for col in df.columns:
        s = df[col]
        try:
            hashed = pd.util.hash_pandas_object(s, index=False).to_numpy()
        except TypeError:  # unhashable objects (lists, dicts): hash their text
            hashed = pd.util.hash_pandas_object(s.astype(str), index=False).to_numpy()
        digest.update(hashed.tobytes())
    return digest.hexdigest()


def _value_counts(s: pd.Series) -> list[tuple[Any, int]]:
    counts = s.value_counts(dropna=True)
    return [(k, int(v)) for k, v in counts.items()]


# ---------------------------------------------------------------------------- validate
def validate(df: pd.DataFrame, config: ProjectConfig) -> Dataset:
    """Check ``df`` against ``config`` and split it into a :class:`Dataset`.

    Collects every problem and raises one :class:`DataError` listing each on its own line.
    """
    problems: list[str] = []
    spec = config.data
    if any(not isinstance(c, str) for c in df.columns):
        df = df.rename(columns=str)
    columns = [str(c) for c in df.columns]
    present = set(columns)

    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise DataError(f"the data has duplicated column names: {dupes}; rename them")
    if len(df) == 0:
        raise DataError("the data has no rows")

    # ------------------------------------------------------------ missing columns
    def need(col: str | None, where: str) -> None:
        if col and col not in present:
            problems.append(
                f"column {col!r} ({where}) is not in the data{_close(col, columns)}"
                + delimiter_hint(columns)
            )

    need(spec.target, "data.target")
    need(spec.id_column, "data.id_column")
    need(spec.date_column, "data.date_column")
    for key, listed in (
        ("data.features", spec.features or []),
        ("sensitive", config.sensitive),
        ("data.categorical", spec.categorical),
        ("data.numeric", spec.numeric),
        ("data.special_codes", list(spec.special_codes)),
    ):
        for col in listed:
            need(col, key)

    # ------------------------------------------------------------ target
    target_codes: np.ndarray | None = None
    if spec.target in present:
        target_codes = _check_target(
            df[spec.target], spec.target, spec.outcome, spec.min_bads, problems
        )

    # ------------------------------------------------------------ id column
    ids: pd.Series | None = None
    if spec.id_column and spec.id_column in present:
        ids = df[spec.id_column].copy()
        _check_ids(ids, spec.id_column, problems)

    # ------------------------------------------------------------ date column
    dates: pd.Series | None = None
    if spec.date_column and spec.date_column in present:
        dates, bad = parse_dates(df[spec.date_column])
        raw = df[spec.date_column]
        n_bad = int(bad.sum())
        if n_bad:
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            problems.append(
                f"date column {spec.date_column!r} has {n_bad} values that are not dates, "
                f"e.g. {value_text(raw.iloc[pos])} ({_row(pos)}); fix them or clear "
                "data.date_column"
            )
        n_missing = int(raw.isna().sum())
        if n_missing:
            pos = int(np.flatnonzero(raw.isna().to_numpy())[0])
            problems.append(
                f"date column {spec.date_column!r} has {n_missing} missing values "
                f"(e.g. {_row(pos)}); the out-of-time split needs a date on every row"
            )

    # ------------------------------------------------------------ features
    blocked = config.blocked_inputs
    if spec.features is not None:
        features = [c for c in spec.features if c in present]
        for col in spec.features:
            if col in blocked:
                problems.append(
                    f"data.features lists {col!r}, which can never be a model input "
                    f"({_why_blocked(col, config)}); remove it from data.features"
                )
        features = list(dict.fromkeys(c for c in features if c not in blocked))
    else:
        features = [c for c in columns if c not in blocked]

    forced_cat = set(spec.categorical)
    forced_num = set(spec.numeric)
    X = df[features].copy()
    numeric: list[str] = []
    categorical: list[str] = []
    for col in features:
        s = df[col]
        n_missing = int(s.isna().sum())
        if n_missing == len(s):
            problems.append(
                f"column {col!r} is empty (all {len(s)} values missing); "
                "add it to data.exclude or fill it"
            )
            continue
        codes = spec.special_codes.get(col) or []
        if col in forced_cat:
            X[col] = _mask_codes(s, codes)
            problem = _too_many_levels(col, X[col], spec.max_categories)
            if problem:
                problems.append(problem)
            else:
                categorical.append(col)
        elif col in forced_num:
            values, bad = to_numeric(s, spec.decimal(col))
            if codes:
                special = _special_mask(s, codes)
                bad = bad & ~special
                values = values.mask(special)
            n_bad = int(bad.sum())
            if n_bad:
                problems.append(_non_numeric(col, s, bad, n_bad, forced=True))
            else:
                X[col] = values
                numeric.append(col)
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            problems.append(
                f"column {col!r} holds dates, which a model cannot use directly; set "
                f"data.date_column: {col} or add it to data.exclude"
            )
        elif is_numeric_dtype(s):
            if codes:
                X[col] = to_numeric(s)[0].mask(_special_mask(s, codes))
            numeric.append(col)
        elif is_categorical_dtype(s):
            looks, bad = numeric_looking(s, spec.decimal(col))
            if codes:
                bad = bad & ~_special_mask(s, codes)
            if looks and not bad.any():
                X[col] = to_numeric(s, spec.decimal(col))[0].mask(_special_mask(s, codes))
                numeric.append(col)
            elif looks:
                problems.append(_non_numeric(col, s, bad, int(bad.sum()), forced=False))
            else:
                X[col] = _mask_codes(s, codes)
                problem = _too_many_levels(col, X[col], spec.max_categories)
                if problem:
                    problems.append(problem)
                else:
                    categorical.append(col)
        else:
            problems.append(
                f"column {col!r} has type {s.dtype} that no model can use; "
                "add it to data.exclude or convert it"
            )

    usable = set(numeric) | set(categorical)
    if not features:
        problems.append(
            "no features left: every column is the target, an id, a date, sensitive or "
            "excluded; list model inputs under data.features or shorten data.exclude"
        )
    elif not usable and not problems:
        problems.append("no usable features left; see data.features and data.exclude")

    extra_numeric, date_inputs = _check_derived(
        df, config, features, numeric, categorical, problems
    )

    if problems:
        raise DataError(_report(problems))

    assert target_codes is not None
    X = X[[c for c in features if c in usable]]
    for col in extra_numeric:
        X[col] = to_numeric(df[col], spec.decimal(col))[0]
    for col in date_inputs:
        X[col] = df[col]
    sens_cols = [c for c in config.sensitive if c in present]
    sensitive = df[sens_cols].copy()
    called = target_codes >= 0
    indeterminate: dict[str, int] = {}
    if not called.all():  # rows without a bad or good outcome: not trained on
        indeterminate = {
            str(k): int(n)
            for k, n in df.loc[~called, spec.target].value_counts().items()
            if n > 0  # a categorical target lists its unused categories too
        }
        n_missing = int((target_codes == MISSING).sum())
        if n_missing:
            indeterminate[NO_OUTCOME] = n_missing
        X, sensitive = (f.loc[called].reset_index(drop=True) for f in (X, sensitive))
        ids, dates = (
            None if v is None else v.loc[called].reset_index(drop=True) for v in (ids, dates)
        )
    return Dataset(
        X=X,
        y=target_codes[called].astype(np.int8),
        numeric=[c for c in X.columns if c in set(numeric)],
        categorical=[c for c in X.columns if c in set(categorical)],
        ids=ids,
        dates=dates,
        sensitive=sensitive,
        data_hash=data_hash(df),
        target=spec.target,
        positive=spec.positive,
        negative=list(spec.negative),
        indeterminate=indeterminate,
        derived=dict(config.features.derived),
        extra_numeric=extra_numeric,
        date_inputs=date_inputs,
    )


def _check_derived(
    df: pd.DataFrame,
    config: ProjectConfig,
    features: list[str],
    numeric: list[str],
    categorical: list[str],
    problems: list[str],
) -> tuple[list[str], list[str]]:
    """Check ``features.derived`` against the data; returns the columns only derived
    features read (as numbers, as dates), which become inputs an application carries."""
    from creditscore.features.derived import bad_dates, parse_derived

    columns = [str(c) for c in df.columns]
    derived = parse_derived(config.features.derived)
    names = {f.name for f in derived}
    extra_numeric: list[str] = []
    date_inputs: list[str] = []
    for f in derived:
        where = f"features.derived.{f.name}"
        if f.name in columns:
            problems.append(
                f"{where}: the data already has a column {f.name!r}; give the feature another name"
            )
        for col in f.numbers:
            if col in names:
                continue
            if col not in columns:
                problems.append(
                    f"{where} reads column {col!r}, which is not in the data{_close(col, columns)}"
                )
            elif col in categorical:
                problems.append(
                    f"{where} reads column {col!r} as a number, but it is categorical; "
                    "derived features compute with numbers (and dates in days_between / "
                    "years_between)"
                )
            elif col not in numeric and col not in extra_numeric:
                _, bad = to_numeric(df[col], config.data.decimal(col))
                if bad.any():
                    problems.append(
                        f"{where}: " + _non_numeric(col, df[col], bad, int(bad.sum()), forced=False)
                    )
                else:
                    extra_numeric.append(col)
        for col in f.dates:
            if col not in columns:
                problems.append(
                    f"{where} reads date column {col!r}, which is not in the data"
                    f"{_close(col, columns)}"
                )
                continue
            if col in features and col in {*numeric, *categorical}:
                problems.append(
                    f"{where} reads {col!r} as a date, but it is a model input; list it "
                    "under data.exclude to use it as a date only"
                )
                continue
            bad = bad_dates(df[col])
            if bad.any():
                pos = int(np.flatnonzero(bad.to_numpy())[0])
                problems.append(
                    f"{where}: date column {col!r} has {int(bad.sum())} values that are not "
                    f"ISO dates (YYYY-MM-DD), e.g. {value_text(df[col].iloc[pos])} ({_row(pos)})"
                )
            elif col not in date_inputs:
                date_inputs.append(col)
    return extra_numeric, date_inputs


def _why_blocked(col: str, config: ProjectConfig) -> str:
    spec = config.data
    if col == spec.target:
        return "it is the target"
    if col == spec.id_column:
        return "it is data.id_column"
    if col == spec.date_column:
        return "it is data.date_column"
    if col in spec.exclude:
        return "it is listed under data.exclude"
    return "it is sensitive; list it under allow_sensitive_as_features to allow it"


def _non_numeric(col: str, s: pd.Series, bad: pd.Series, n_bad: int, *, forced: bool) -> str:
    pos = int(np.flatnonzero(bad.to_numpy())[0])
    example = f"e.g. {value_text(s.iloc[pos])} ({_row(pos)})"
    n_present = int(s.notna().sum())
    if forced:
        if n_bad == n_present:
            return (
                f"column {col!r} is listed under data.numeric but has {n_bad} non-numeric "
                f"values (all of them), {example}; fix the data or move the column to "
                "data.categorical"
            )
        return (
            f"column {col!r} is listed under data.numeric but has {n_bad} non-numeric values, "
            f"{example}; fix them, list them under data.special_codes.{col} if they mean "
            "'missing', or move the column to data.categorical"
        )
    return (
        f"column {col!r} has {n_bad} non-numeric values, {example}; list them under "
        f"data.special_codes.{col} if they mean 'missing' (and the column under data.numeric), "
        "fix them, or list the column under data.categorical"
    )


def _special_mask(s: pd.Series, codes: Sequence[Any]) -> pd.Series:
    """Which values of ``s`` are special codes: numbers by value, texts by the spelling
    rule (case and spaces do not matter)."""
    from creditscore.features.spelling import canonical_key

    if not codes:
        return pd.Series(False, index=s.index)
    texts = {canonical_key(str(c)) for c in codes}
    numbers: set[float] = set()
    for c in codes:
        if isinstance(c, bool):
            continue
        try:
            numbers.add(float(c))
        except (TypeError, ValueError):
            continue
    if is_numeric_dtype(s):
        return s.isin(numbers) if numbers else pd.Series(False, index=s.index)
    present = s.notna()
    text = s[present].astype(str)
    lookup = {}
    for u in pd.unique(text):
        hit = canonical_key(u) in texts
        if not hit and numbers:
            try:
                hit = float(u) in numbers
            except ValueError:
                hit = False
        lookup[u] = hit
    out = pd.Series(False, index=s.index)
    out[present] = text.map(lookup).astype(bool)
    return out


def _mask_codes(s: pd.Series, codes: Sequence[Any]) -> pd.Series:
    return s.mask(_special_mask(s, codes)) if codes else s


#: A categorical input with more than this share of distinct values is id-like or a number.
MAX_UNIQUE_SHARE = 0.5
#: ... counted only above this many levels (a 3-row table is not refused).
MIN_LEVELS_FOR_SHARE = 10


def too_many_levels(n_levels: int, n_present: int, max_categories: int = 200) -> bool:
    """The one rule for a categorical input with more levels than is sensible."""
    if n_levels > max_categories:
        return True
    return n_levels > MIN_LEVELS_FOR_SHARE and n_levels > MAX_UNIQUE_SHARE * max(n_present, 1)


def _too_many_levels(col: str, s: pd.Series, max_categories: int) -> str | None:
    from creditscore.features.spelling import canonical_key

    present = s.dropna()
    levels = {canonical_key(str(v)) for v in pd.unique(present)}
    if not too_many_levels(len(levels), len(present), max_categories):
        return None
    share = 100.0 * len(levels) / max(len(present), 1)
    looks, bad = numeric_looking(present)
    if looks:
        tokens = sorted({str(v) for v in present[bad.to_numpy()]})[:3]
        what = (
            f"it is mostly numbers: list it under data.numeric and its texts "
            f"({', '.join(repr(t) for t in tokens)}) under data.special_codes.{col}"
        )
    else:
        what = (
            "if it is an id or free text add it to data.exclude; otherwise group its levels "
            f"into fewer (or raise data.max_categories, now {max_categories})"
        )
    return (
        f"column {col!r} is categorical with {len(levels):,} levels ({share:.0f} % of its "
        f"values distinct): too many for a model to learn from, and most new applicants "
        f"would bring a level never seen; {what}"
    )


def delimiter_hint(columns: Sequence[str]) -> str:
    """A hint when the header looks like one column of several names joined by another
    delimiter (the file was read with the wrong one)."""
    if len(columns) > 2:
        return ""
    for sep, label in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
        if any(c.count(sep) >= 1 for c in columns):
            return (
                f" (the header {columns[0][:60]!r} looks {label}-separated, but not every "
                f"line splits into the same number of fields on {sep!r}: check the file's "
                "quoting, or save it with commas)"
            )
    return ""


def _check_target(
    target: pd.Series, name: str, outcome: Outcome, min_bads: int, problems: list[str]
) -> np.ndarray | None:
    """The target's codes (:data:`BAD`, :data:`GOOD`, :data:`INDETERMINATE`, :data:`MISSING`
    where no outcome is recorded), or None with the problems added."""
    counts = _value_counts(target)
    keys = list(dict.fromkeys(label_key(v) for v, _ in counts))  # counts: distinct values
    shown = ", ".join(f"{value_text(v)} ({n})" for v, n in counts[:10])
    if len(counts) > 10:
        shown += f", ... ({len(counts)} in all)"
    if not counts:
        problems.append(f"target {name!r} has no values")
        return None
    absent_bad, absent_good = outcome.absent(target)
    for key, absent in (("positive", absent_bad), ("negative", absent_good)):
        if absent:
            problems.append(
                f"data.{key} {', '.join(map(value_text, absent))} never occurs in target {name!r}; "
                f"its values are {shown}; set data.{key} to the value(s) that mark a "
                + ("bad" if key == "positive" else "good")
            )
    if absent_bad or absent_good:
        return None
    if len(keys) == 1:
        problems.append(
            f"target {name!r} has a single class: every row is {value_text(counts[0][0])} "
            f"({counts[0][1]} rows); a model needs both goods and bads"
        )
        return None
    codes = outcome.codes(target)
    row_keys = label_keys(target)
    good_keys = set(row_keys[codes == GOOD])
    if not outcome.good and len(good_keys) > 1:
        common = next(v for v, _ in counts if label_key(v) in good_keys)  # the most rows
        unseen = (codes == GOOD) & (row_keys != label_key(common)).to_numpy()
        pos = int(np.flatnonzero(unseen)[0])
        problems.append(
            f"target {name!r} has {len(keys)} distinct values: {shown}; besides the bad(s) "
            f"({outcome.bad_text}) and the good {value_text(common)} there is the unseen target "
            f"value {value_text(target.iloc[pos])} in {_row(pos)}: "
            "list the values that mark a good under "
            "data.negative (a row whose value is in neither list is left out of training as "
            "indeterminate), or map the target to two values first"
        )
        return None
    n_bads, n_goods = int((codes == BAD).sum()), int((codes == GOOD).sum())
    if not n_goods:
        problems.append(
            f"target {name!r} has no goods ({outcome.good_text}) among its values {shown}; "
            "a model needs both goods and bads"
        )
    elif n_bads < min_bads:
        problems.append(
            f"only {n_bads} bads (target {name!r} == {outcome.bad_text}) in "
            f"{n_bads + n_goods} rows; at least data.min_bads = {min_bads} are needed to train"
        )
    return codes


def _check_ids(ids: pd.Series, name: str, problems: list[str]) -> None:
    missing = ids.isna().to_numpy()
    if missing.any():
        pos = int(np.flatnonzero(missing)[0])
        problems.append(
            f"id column {name!r} has {int(missing.sum())} missing values (e.g. {_row(pos)}); "
            "every application needs an id"
        )
    dup = ids.duplicated(keep=False) & ids.notna()
    if dup.any():
        n_values = int(ids[dup].nunique())
        first = int(np.flatnonzero(dup.to_numpy())[0])
        value = ids.iloc[first]
        rows = np.flatnonzero((ids == value).to_numpy())[:5]
        where = ", ".join(str(int(r) + 1) for r in rows)
        problems.append(
            f"id column {name!r} has {n_values} duplicated values ({int(dup.sum())} rows), "
            f"e.g. {value_text(value)} in rows {where}; ids must be unique per application"
        )


def _report(problems: list[str]) -> str:
    shown = problems[:MAX_PROBLEMS]
    count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
    lines = [f"the data does not fit the config ({count}):"]
    lines += [f"  - {p}" for p in shown]
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"  ... and {len(problems) - MAX_PROBLEMS} more")
    return "\n".join(lines)
