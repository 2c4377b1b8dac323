"""Which rows of a chunk the Scorer would refuse, found column by column, not row by row.

The rule is the Scorer's (:meth:`creditscore.scorer.Scorer.validate`): a number must be a
finite number (text that parses as one is fine), a category must be one the model knows up
to case and spaces (and is normalised to the spelling seen in training), a missing value
is allowed everywhere. Checking a million rows through ``validate`` one dict at a time
would cost more than scoring them, so each column is converted at once with pyarrow and
numpy, and only the cells that the vectorised pass cannot vouch for (text that is not a
number, infinity, a category not spelled as in training) are put to ``Scorer.validate``
itself: its verdict, and its message naming the field, the value and what was expected, is
the one the rejects file records. A batch run therefore refuses exactly what the API would.

Two readings of the input differ from the API on purpose:

* text from a CSV file (``text=True``) follows pandas' conventions: an empty cell and the
  markers in :data:`creditscore.data.ingest.CSV_NA_VALUES` (``NA``, ``null``, ...) are
  missing values, as they were when the training file was read;
* a Parquet decimal column is a number (a data warehouse's amounts), not a rejected object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from creditscore.data.ingest import CSV_NA_VALUES
from creditscore.data.schema import FieldSpec
from creditscore.exceptions import ScoringInputError
from creditscore.features.numbers import parse_numbers
from creditscore.features.spelling import canonical_key
from creditscore.scorer import Scorer

__all__ = ["CheckedChunk", "RowProblem", "RowValidator"]

_NA_SET = pa.array(CSV_NA_VALUES, pa.string())
_BAD = -2  # code of a category value the Scorer refuses


@dataclass(frozen=True)
class RowProblem:
    """One refused value: the row's position in the chunk (0-based), the field, the value
    as written and the Scorer's message."""

    position: int
    field: str
    value: str
    reason: str


@dataclass(frozen=True)
class CheckedChunk:
    """A chunk's model inputs (valid rows only, index 0..n-1) and what was refused."""

    inputs: pd.DataFrame
    valid: np.ndarray  # bool per chunk row
    problems: list[RowProblem]

    @property
    def n_rejected(self) -> int:
        return int(len(self.valid) - self.valid.sum())


def _shown(value: Any) -> str:
    """A refused value as the user wrote it (text as is, numbers without numpy noise)."""
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, str) else repr(value)


class RowValidator:
    """Vectorised ``Scorer.validate`` for chunks of a table (pyarrow), for one Scorer."""

    def __init__(self, scorer: Scorer, *, text: bool) -> None:
        self.scorer = scorer
        self.text = text
        self.fields: list[FieldSpec] = list(scorer.bundle.schema.fields)
        self._blank = {f.name: None for f in self.fields}  # validates: every field missing
        self._decimal = scorer.bundle.schema.decimals
        self._order = {f.name: i for i, f in enumerate(self.fields)}
        self._categories = {
            f.name: list(f.categories or []) for f in self.fields if f.kind == "categorical"
        }
        self._code = {
            name: {c: i for i, c in enumerate(cats)} for name, cats in self._categories.items()
        }
        # a value spelled exactly as a training category -> that category's code
        levels = {
            name: {canonical_key(c): c for c in cats} for name, cats in self._categories.items()
        }
        self._exact = {
            name: {c: self._code[name][levels[name][canonical_key(c)]] for c in cats}
            for name, cats in self._categories.items()
        }

    # ------------------------------------------------------------------ the Scorer's word
    def _confirm(self, name: str, value: Any) -> tuple[Any, str | None]:
        """(validated value, None) or (None, the Scorer's message) for one value."""
        probe = dict(self._blank)
        probe[name] = value
        try:
            return self.scorer.validate(probe)[name], None
        except ScoringInputError as exc:
            return None, str(exc)

    # ------------------------------------------------------------------ columns
    def _plain(self, arr: Any) -> Any:
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if pa.types.is_dictionary(arr.type) and not self.text:
            return arr
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        if self.text and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = pc.cast(arr, pa.string())
            arr = pc.if_else(pc.is_in(arr, value_set=_NA_SET), pa.scalar(None, pa.string()), arr)
        return arr

    def _numeric(self, name: str, arr: Any, problems: list[tuple[int, str, str]]) -> np.ndarray:
        arr = self._plain(arr)
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        kind = arr.type
        n = len(arr)
        if pa.types.is_null(kind):
            return np.full(n, np.nan)
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            values = np.array(
                pc.cast(arr, pa.float64(), safe=False).to_numpy(zero_copy_only=False),
                dtype=np.float64,
            )
            suspects = np.isinf(values)
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            decimal = self._decimal.get(name, ".")
            try:
                if decimal != ".":  # '1.500' is 1500 here: Arrow would read 1.5
                    raise pa.ArrowInvalid("a decimal-comma column")
                values = np.array(
                    pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
                )
                suspects = np.isinf(values)
            except pa.ArrowInvalid:  # '13.95%', '$1,200', 'n/a': read as training read them
                text = pd.Series(arr.to_numpy(zero_copy_only=False), dtype=object)
                values, suspects = parse_numbers(text, decimal)
        else:  # booleans, dates, lists...: whatever the Scorer says about each value
            values = np.full(n, np.nan)
            suspects = arr.is_valid().to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(suspects):
            raw = arr[int(i)].as_py()
            value, reason = self._confirm(name, raw)
            if reason is None:
                values[i] = value
            else:
                values[i] = np.nan
                problems.append((int(i), _shown(raw), reason))
        return values

    def _categorical(self, name: str, arr: Any, problems: list[tuple[int, str, str]]) -> np.ndarray:
        arr = self._plain(arr)
        if not pa.types.is_dictionary(arr.type):
            arr = pc.dictionary_encode(arr)
        uniques = arr.dictionary.to_pylist()
        exact, codes = self._exact[name], self._code[name]
        lookup = np.empty(len(uniques) + 1, dtype=np.int64)
        lookup[-1] = -1  # missing
        reasons: dict[int, str] = {}
        for j, u in enumerate(uniques):
            hit = exact.get(u) if isinstance(u, str) else None
            if hit is None:
                value, reason = self._confirm(name, u)
                if reason is None:
                    hit = -1 if value is None else codes[value]
                else:
                    hit, reasons[j] = _BAD, reason
            lookup[j] = hit
        idx = pc.fill_null(arr.indices, -1).to_numpy(zero_copy_only=False)
        out = lookup[idx]
        if reasons:
            for i in np.flatnonzero(out == _BAD):
                j = int(idx[i])
                problems.append((int(i), _shown(uniques[j]), reasons[j]))
        return out

    # ------------------------------------------------------------------ pandas objects
    def clean_objects(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[RowProblem]]:
        """A frame's model inputs that Arrow cannot hold (object columns mixing numbers,
        text and booleans), checked value by value with the Scorer and replaced by the
        validated values; the refused ones are returned as problems."""
        problems: list[RowProblem] = []
        replaced: dict[str, Any] = {}
        for spec in self.fields:
            col = frame[spec.name]
            if col.dtype != object:
                continue
            try:
                pa.array(col, from_pandas=True)
                continue
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                pass
            seen: dict[Any, tuple[Any, str | None]] = {}
            out: list[Any] = []
            for i, value in enumerate(col.tolist()):
                try:
                    key: Any = (type(value), value)
                    verdict = seen.get(key)
                except TypeError:  # unhashable (a list): no cache
                    key, verdict = None, None
                if verdict is None:
                    verdict = self._confirm(spec.name, value)
                    if key is not None:
                        seen[key] = verdict
                good, reason = verdict
                if reason is not None:
                    problems.append(RowProblem(i, spec.name, _shown(value), reason))
                out.append(good)
            kind = pa.float64() if spec.kind == "numeric" else pa.string()
            replaced[spec.name] = pa.array(out, kind, from_pandas=True)
        if replaced:
            frame = frame.assign(
                **{k: pd.Series(v, index=frame.index) for k, v in replaced.items()}
            )
        return frame, problems

    # ------------------------------------------------------------------ a chunk
    def check(self, table: pa.Table, known: Sequence[RowProblem] = ()) -> CheckedChunk:
        """Model inputs and problems of ``table``; ``known``: problems found beforehand
        (by :meth:`clean_objects`), whose rows are refused too."""
        n = table.num_rows
        valid = np.ones(n, dtype=bool)
        found: list[RowProblem] = list(known)
        for p in known:
            valid[p.position] = False
        columns: dict[str, Any] = {}
        for spec in self.fields:
            problems: list[tuple[int, str, str]] = []
            arr = table.column(spec.name)
            if spec.kind == "numeric":
                columns[spec.name] = self._numeric(spec.name, arr, problems)
            else:
                columns[spec.name] = self._categorical(spec.name, arr, problems)
            for pos, value, reason in problems:
                valid[pos] = False
                found.append(RowProblem(pos, spec.name, value, reason))
        keep = None if valid.all() else np.flatnonzero(valid)
        data: dict[str, Any] = {}
        for spec in self.fields:
            col = columns[spec.name]
            if keep is not None:
                col = col[keep]
            if spec.kind == "categorical":
                col = pd.Categorical.from_codes(col, categories=self._categories[spec.name])
            data[spec.name] = col
        found.sort(key=lambda p: (p.position, self._order[p.field]))
        # copy=False: the columns are this chunk's own arrays; a frame of them as they are
        # (no copy into one 2-D block, which the encoder would only read back column by column)
        return CheckedChunk(pd.DataFrame(data, copy=False), valid, found)
