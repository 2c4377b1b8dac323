"""One chunk of rows in, scored rows and rejects out: the core every engine shares.

The pandas engine feeds it pyarrow tables read from the file; the Spark engine feeds it
the Arrow batches of a partition inside ``mapInArrow``; :func:`creditscore.batch.score_frame`
feeds it a pandas frame. The output schema is fixed before the first row is read (from the
input's column types and the options), so every chunk, segment and Spark task writes the
same columns with the same types:

    [id column | row (and file, for a folder)] [kept columns]
    probability_of_default score risk_band decision
    [reason_1_code reason_1_feature reason_1_text reason_1_contribution ...]
    model_name model_version policy_version
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from creditscore.batch.model import BatchModel
from creditscore.batch.result import DECISIONS, ScoringOptions, Tally
from creditscore.batch.validation import CheckedChunk, RowProblem, RowValidator
from creditscore.exceptions import ConfigError
from creditscore.reasons import reason_column_names
from creditscore.scorer import ScoredColumns

__all__ = [
    "REJECT_SCHEMA",
    "SCORE_COLUMNS",
    "ChunkScorer",
    "ScoredChunk",
    "StartedChunk",
    "needed_columns",
]

#: What scoring adds to every row (before any reason codes).
SCORE_COLUMNS = (
    ("probability_of_default", pa.float64()),
    ("score", pa.int64()),
    ("risk_band", pa.string()),
    ("decision", pa.string()),
)
MODEL_COLUMNS = ("model_name", "model_version", "policy_version")
#: One line per refused value: where (file, 1-based row, id), which field, what, why.
REJECT_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("row", pa.int64()),
        ("id", pa.string()),
        ("field", pa.string()),
        ("value", pa.string()),
        ("reason", pa.string()),
    ]
)


def needed_columns(model: BatchModel, options: ScoringOptions) -> list[str]:
    """Input columns a run reads: the model's inputs, the id and the kept columns."""
    names = list(model.bundle.schema.names)
    for extra in (options.id_column, *options.keep):
        if extra and extra not in names:
            names.append(extra)
    return names


def _plain_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_large_binary(t):
        return pa.binary()
    return t


@dataclass(frozen=True)
class ScoredChunk:
    table: pa.Table  # scored rows, in ``ChunkScorer.schema``
    rejects: pa.Table  # in ``REJECT_SCHEMA``
    tally: Tally


@dataclass(frozen=True)
class StartedChunk:
    """A chunk between :meth:`ChunkScorer.start` and :meth:`ChunkScorer.finish`."""

    data: pa.Table
    first_row: int
    file: str
    rows: np.ndarray | None
    files: np.ndarray | None
    checked: CheckedChunk
    scored: ScoredColumns


class ChunkScorer:
    """Scores chunks of one input with one model; holds no state between chunks."""

    def __init__(
        self,
        model: BatchModel,
        options: ScoringOptions,
        input_schema: pa.Schema,
        *,
        text: bool,
        folder: bool = False,
    ) -> None:
        self.model = model
        self.options = options
        self.validator = RowValidator(model.scorer, text=text)
        self.folder = folder
        taken = {name for name, _ in SCORE_COLUMNS} | set(MODEL_COLUMNS)
        taken |= set(reason_column_names(options.reasons))
        fields: list[pa.Field] = []
        self.passthrough: list[str] = []
        if options.id_column:
            self.passthrough.append(options.id_column)
        else:
            if folder:
                fields.append(pa.field("file", pa.string()))
            fields.append(pa.field("row", pa.int64()))
            taken |= {"row", "file"}
        self.passthrough += [c for c in options.keep if c not in self.passthrough]
        for name in self.passthrough:
            if name in taken:
                raise ConfigError(
                    f"--keep {name!r}: the output already has a column {name!r}; rename it "
                    "in the input or leave it out"
                )
        head = [pa.field(c, _plain_type(input_schema.field(c).type)) for c in self.passthrough]
        fields = head + fields if options.id_column else fields + head
        fields += [pa.field(n, t) for n, t in SCORE_COLUMNS]
        for name in reason_column_names(options.reasons):
            kind = pa.float64() if name.endswith("_contribution") else pa.string()
            fields.append(pa.field(name, kind))
        fields += [pa.field(n, pa.string()) for n in MODEL_COLUMNS]
        self.schema = pa.schema(fields)
        #: Output columns worth a Parquet dictionary (not the id, row numbers or floats:
        #: nearly every value differs there).
        self.dictionary_columns = [
            f.name
            for f in fields
            if f.name not in (options.id_column, "row") and not pa.types.is_floating(f.type)
        ]
        self._constants = (model.name, model.version, model.policy_version)

    def score(
        self,
        data: pa.Table,
        first_row: int,
        file: str,
        *,
        rows: np.ndarray | None = None,
        files: np.ndarray | None = None,
        known: Sequence[RowProblem] = (),
    ) -> ScoredChunk:
        """Score ``data`` and list its rejects. Its rows are rows ``first_row``, ... of
        ``file`` (0-based); or, where a chunk spans files (a Spark partition), each row's
        own 0-based ``rows`` and ``files``."""
        started = self.start(data, first_row, file, rows=rows, files=files, known=known)
        return self.finish(started, started.scored.contribute())

    def start(
        self,
        data: pa.Table,
        first_row: int,
        file: str,
        *,
        rows: np.ndarray | None = None,
        files: np.ndarray | None = None,
        known: Sequence[RowProblem] = (),
    ) -> StartedChunk:
        """:meth:`score` up to the reason codes: the rows checked and scored; the reason
        codes' contributions are ``started.scored.contribute()``, for :meth:`finish`."""
        checked = self.validator.check(data, known)
        scored = self.model.scorer.scored_columns(
            checked.inputs,
            reasons=self.options.reasons,
            explain=self.options.explain,
        )
        return StartedChunk(data, first_row, file, rows, files, checked, scored)

    def finish(self, started: StartedChunk, contributions: np.ndarray | None) -> ScoredChunk:
        """The scored chunk and its rejects, from :meth:`start` and its contributions."""
        data, first_row, file, rows, files = (
            started.data,
            started.first_row,
            started.file,
            started.rows,
            started.files,
        )
        checked = started.checked
        scored = started.scored.finish(contributions)
        n = data.num_rows
        keep = None if checked.n_rejected == 0 else np.flatnonzero(checked.valid)
        m = n if keep is None else len(keep)
        arrays: dict[str, pa.Array] = {}
        for name in self.passthrough:
            col = data.column(name)
            col = col if keep is None else col.take(pa.array(keep))
            arrays[name] = pc.cast(col, self.schema.field(name).type)
        if not self.options.id_column:
            if rows is None:
                row = np.arange(first_row + 1, first_row + n + 1, dtype=np.int64)
                arrays["row"] = pa.array(row if keep is None else row[keep])
            else:
                arrays["row"] = pa.array((rows if keep is None else rows[keep]) + 1)
            if self.folder:
                arrays["file"] = (
                    _constant(file, m)
                    if files is None
                    else pa.array(files if keep is None else files[keep], pa.string())
                )
        for name, kind in SCORE_COLUMNS:
            arrays[name] = _column(scored[name], kind)
        for name in reason_column_names(self.options.reasons):
            arrays[name] = _column(scored[name], self.schema.field(name).type)
        for name, value in zip(MODEL_COLUMNS, self._constants, strict=True):
            arrays[name] = _constant(value, m)
        table = pa.Table.from_arrays([arrays[f.name] for f in self.schema], schema=self.schema)

        tally = Tally(rows=n, scored=m, rejected=n - m, problems=len(checked.problems))
        if m:
            counts = np.bincount(scored["decision"].codes, minlength=len(DECISIONS))
            for label, count in zip(DECISIONS, counts.tolist(), strict=True):
                if count:
                    tally.decisions[label] = int(count)
            tally.pd_sum = float(pc.sum(arrays["probability_of_default"]).as_py())
        if checked.problems:
            if rows is None:
                rows = np.arange(first_row, first_row + n, dtype=np.int64)
            if files is None:
                files = np.full(n, file, dtype=object)
            rejects = self._rejects(data, checked.problems, rows, files)
        else:
            rejects = REJECT_SCHEMA.empty_table()
        return ScoredChunk(table, rejects, tally)

    def _rejects(
        self, data: pa.Table, problems: list[RowProblem], rows: np.ndarray, files: np.ndarray
    ) -> pa.Table:
        if not problems:
            return REJECT_SCHEMA.empty_table()
        positions = [p.position for p in problems]
        ids: list[str | None] = [None] * len(problems)
        if self.options.id_column:
            raw = data.column(self.options.id_column).take(pa.array(positions)).to_pylist()
            ids = [None if v is None else str(v) for v in raw]
        return pa.table(
            {
                "file": [str(files[p]) for p in positions],
                "row": [int(rows[p]) + 1 for p in positions],
                "id": ids,
                "field": [p.field for p in problems],
                "value": [p.value for p in problems],
                "reason": [p.reason for p in problems],
            },
            schema=REJECT_SCHEMA,
        )


def _column(values: Any, kind: pa.DataType) -> pa.Array:
    """A result column as Arrow: a Categorical from its codes and categories (dictionary
    decoded in C, no string per row in Python), NaN as null."""
    out = pa.array(values, from_pandas=True)
    return out if out.type == kind else pc.cast(out, kind)


def _constant(value: str, n: int) -> pa.Array:
    """``n`` copies of one string, built straight into Arrow's buffers (offsets and bytes)."""
    data = value.encode("utf-8")
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(len(data))
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data * n)]
    )
