"""The type of every input, and the values that mean "missing".

* A column of numbers is numeric. Numeric sentinels (-1, -9, -99, -999, 99, 999, 999999,
  ...) are proposed as special codes when they sit apart from the rest of the distribution:
  outside the range of the other values and either of the other sign (-1 among counts) or
  at least a quarter of that range away (999 among years of employment 0 to 45).
* A column of text that is numbers but for a few distinct tokens ('n/a', 'unknown', '-')
  stays numeric: the tokens are proposed as special codes. Many distinct texts among the
  numbers (12k, 41.000,50) make it unusable until cleaned, never a categorical with
  thousands of levels.
* Other text is categorical, unless it has more levels than a model can learn from
  (:func:`creditscore.data.ingest.too_many_levels`): refused, with what to do.

Every proposal is a line of the YAML ``init`` writes, with the reason beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from creditscore.config import Scalar
from creditscore.data.ingest import (
    is_categorical_dtype,
    is_numeric_dtype,
    to_numeric,
    too_many_levels,
)
from creditscore.features.numbers import decimal_separator, formatted_examples
from creditscore.features.spelling import canonical_key, canonical_spellings
from creditscore.formatting import value_text

__all__ = ["SpecialCodes", "TypeDecision", "column_type", "numeric_sentinels"]

#: At most this many distinct text tokens keep a column of numbers numeric.
MAX_TOKENS = 10
#: ... and the numbers must be at least this share of the present values.
MIN_NUMBER_SHARE = 0.5
#: A sentinel must occur at least this often to be proposed.
MIN_SENTINEL_ROWS = 2


@dataclass(frozen=True)
class SpecialCodes:
    """Values of one column proposed to mean "missing", how many rows hold them, and why."""

    codes: tuple[Scalar, ...]
    rows: int
    reason: str


@dataclass(frozen=True)
class TypeDecision:
    """``kind`` numeric or categorical, or ``None`` when the column cannot be an input as it
    is (``refused`` says why and what to do)."""

    kind: Literal["numeric", "categorical"] | None
    reason: str
    special: SpecialCodes | None = None
    refused: str | None = None
    decimal: str = "."  # a numeric column written as text: its decimal separator


def _sentinel_like(x: float) -> bool:
    if not float(x).is_integer() or x == 0:
        return False
    if x == -1:
        return True
    digits = str(int(abs(x)))
    if len(digits) >= 2 and set(digits) == {"9"}:
        return True  # 99, 999, 999999, -99, -999
    return len(digits) >= 3 and set(digits[:-1]) == {"9"} and digits[-1] in "78"  # 998, 9997


def numeric_sentinels(values: np.ndarray) -> list[tuple[float, int]]:
    """(value, rows) of the sentinel-like values that sit apart from the other values."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return []
    uniq, counts = np.unique(v, return_counts=True)
    candidates = {
        float(u): int(c) for u, c in zip(uniq, counts, strict=True) if _sentinel_like(float(u))
    }
    if not candidates:
        return []
    rest = v[~np.isin(v, list(candidates))]
    if rest.size == 0:
        return []
    lo, hi = float(rest.min()), float(rest.max())
    span = hi - lo
    out = []
    for value, n in sorted(candidates.items()):
        if n < MIN_SENTINEL_ROWS:
            continue
        if value < lo:
            apart = (value < 0 <= lo) or (lo - value) >= 0.25 * span
        elif value > hi:
            apart = (value > 0 >= hi) or (value - hi) >= 0.25 * span
        else:
            apart = False
        if apart and span > 0:
            out.append((value, n))
    return out


def _number(x: float) -> Scalar:
    return int(x) if float(x).is_integer() else float(x)


def _sentinel_codes(values: np.ndarray) -> SpecialCodes | None:
    found = numeric_sentinels(values)
    if not found:
        return None
    codes = [v for v, _ in found]
    rest = values[np.isfinite(values) & ~np.isin(values, codes)]
    shown = ", ".join(value_text(v) for v in codes)
    return SpecialCodes(
        tuple(_number(v) for v in codes),
        sum(n for _, n in found),
        f"{shown} {'lies' if len(codes) == 1 else 'lie'} apart from the other values "
        f"({value_text(rest.min())} to {value_text(rest.max())})",
    )


def _written(text: pd.Series, decimal: str) -> str:
    """`` (written as '13.95%', '$3,174.37'; decimal comma)`` for numbers written for
    people, else ``""``."""
    examples = formatted_examples(text)
    if not examples:
        return ""
    comma = "; decimal comma: data.decimal_comma" if decimal == "," else ""
    return f" (written as {', '.join(repr(v.strip()) for v in examples)}{comma})"


def column_type(s: pd.Series, max_categories: int = 200) -> TypeDecision:
    """The type ``init`` writes for a column that may be an input (see module docstring)."""
    n_rows = len(s)
    n_present = int(s.notna().sum())
    missing = (
        f", {100.0 * (n_rows - n_present) / n_rows:.1f} % missing" if n_present < n_rows else ""
    )
    if pd.api.types.is_bool_dtype(s.dtype):
        return TypeDecision("categorical", f"categorical (true/false){missing}")
    if is_numeric_dtype(s):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        special = _sentinel_codes(values)
        n_unique = int(s.nunique())
        reason = f"numeric, {n_unique:,} distinct values{missing}"
        if special:
            reason += (
                f"; special codes {', '.join(value_text(c) for c in special.codes)} "
                f"({special.rows} rows)"
            )
        return TypeDecision("numeric", reason, special)
    if not is_categorical_dtype(s):
        return TypeDecision(None, f"type {s.dtype} that no model can use", refused="unusable")
    text = s.astype(object) if isinstance(s.dtype, pd.CategoricalDtype) else s
    decimal = decimal_separator(text)
    numbers, bad = to_numeric(text, decimal)
    n_bad = int(bad.sum())
    n_numbers = int(numbers.notna().sum())
    present = text[text.notna()]
    if n_bad and n_numbers >= MIN_NUMBER_SHARE * n_present:
        tokens = canonical_spellings(text[bad.to_numpy()])
        if len(tokens) <= MAX_TOKENS:
            codes: list[Scalar] = list(sorted(tokens.values(), key=lambda t: str(t).casefold()))
            sentinels = _sentinel_codes(numbers.to_numpy())
            if sentinels:
                codes += list(sentinels.codes)
            rows = n_bad + (sentinels.rows if sentinels else 0)
            shown = ", ".join(repr(c) if isinstance(c, str) else value_text(c) for c in codes)
            special = SpecialCodes(
                tuple(codes),
                rows,
                "texts in a column of numbers" + (f"; {sentinels.reason}" if sentinels else ""),
            )
            share = 100.0 * n_bad / max(n_present, 1)
            return TypeDecision(
                "numeric",
                f"numeric{_written(text, decimal)}, but {n_bad} values ({share:.1f} %) are "
                f"text: {shown} -> special codes (missing){missing}",
                special,
                decimal=decimal,
            )
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        return TypeDecision(
            None,
            f"mostly numbers, but {len(tokens)} distinct texts, e.g. {value_text(s.iloc[pos])} "
            f"(row {pos + 1}); clean them, then list the column under data.numeric",
            refused="unusable",
        )
    if n_present and not n_bad and n_numbers == n_present:  # numbers stored as text
        return TypeDecision(
            "numeric",
            f"numeric{_written(text, decimal) or ' (written as text)'}, "
            f"{numbers.nunique():,} values{missing}",
            decimal=decimal,
        )
    levels = {canonical_key(str(v)) for v in pd.unique(present)}
    if too_many_levels(len(levels), n_present, max_categories):
        share = 100.0 * len(levels) / max(n_present, 1)
        return TypeDecision(
            None,
            f"{len(levels):,} categories ({share:.0f} % of the values distinct): too many for a "
            "model; exclude it (an id or free text?) or group its levels into fewer",
            refused="high_cardinality",
        )
    return TypeDecision("categorical", f"categorical, {len(levels)} categories{missing}")
