"""Probe rows: the one place that builds applications to test a fitted model with.

Two levels, one rule each:

* applications (what a client sends, in schema order): :func:`probe_frame` spans the schema
  (ranges, every category, missing values) for the compiled model's self-check,
  :func:`raw_variants` turns them into what clients really send (other case and spacing,
  unseen categories, special codes, numbers as text), and :func:`probe_application` is
  one plain application (the service test-scores a new bundle with it);
* cleaned frames (``InputCleaner``'s output, the transformers' input): :func:`category_probes`
  lists every known level of each category, then a missing and an unseen one, and
  :func:`cleaned_probe_frame` lays such lists out as a frame, to learn what the fitted
  transformers make of each level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from creditscore.compiled.base import UNSEEN
from creditscore.data.schema import InputSchema

if TYPE_CHECKING:
    from creditscore.compiled.inputs import Cleaner

__all__ = [
    "category_probes",
    "cleaned_probe_frame",
    "probe_application",
    "probe_frame",
    "raw_variants",
]


def probe_application(schema: InputSchema) -> dict[str, Any]:
    """One plausible application from the schema alone: the first category, the middle of
    each numeric range (0 or missing without one)."""
    row: dict[str, Any] = {}
    for spec in schema.fields:
        if spec.kind == "categorical":
            row[spec.name] = spec.categories[0] if spec.categories else None
        elif spec.kind == "date":  # read by derived features
            row[spec.name] = "2000-01-01"
        elif spec.minimum is not None and spec.maximum is not None:
            row[spec.name] = (spec.minimum + spec.maximum) / 2.0
        else:
            row[spec.name] = None if spec.nullable else 0.0
    return row


def probe_frame(schema: InputSchema, n: int = 200, seed: int = 0) -> pd.DataFrame:
    """Valid applications spanning the schema: ranges, every category, missing values."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for f in schema.fields:
        if f.kind == "numeric":
            lo = f.minimum if f.minimum is not None else -1.0
            hi = f.maximum if f.maximum is not None else 1.0
            x = rng.uniform(lo, hi, n)
            if f.integer:
                x = np.round(x)
            x[:2] = [lo, hi]
            x[rng.random(n) < 0.08] = np.nan
            data[f.name] = x
        elif f.kind == "date":  # read by derived features: ISO dates over a century
            days = rng.integers(-20000, 20000, n)
            dates = (np.datetime64("1970-01-01") + days).astype(str).astype(object)
            dates[rng.random(n) < 0.08] = None
            data[f.name] = dates
        else:
            cats = list(f.categories or [])
            values = np.array(
                [cats[i % len(cats)] for i in rng.permutation(n)] if cats else [None] * n,
                dtype=object,
            )
            values[rng.random(n) < 0.08] = None
            data[f.name] = values
    return pd.DataFrame(data, columns=schema.names)


def raw_variants(
    valid: pd.DataFrame, schema: InputSchema, special: dict[str, list[Any]]
) -> pd.DataFrame:
    """``valid`` as clients really send it: other case and spacing, unseen categories,
    special codes, numbers as text. Only batch scoring accepts these unvalidated."""
    out = valid.astype(object).copy()
    n = len(out)
    for k, f in enumerate(schema.fields):
        col = out[f.name].to_numpy(dtype=object, copy=True)
        for i in range(n):
            v, pick = col[i], (i + k) % 7
            if f.kind == "categorical" and isinstance(v, str):
                if pick == 1:
                    col[i] = v.upper()
                elif pick == 2:
                    col[i] = "  " + v.replace(" ", "   ") + " "
                elif pick == 3:
                    col[i] = "no such category"
            elif f.kind == "numeric" and pick == 4 and v is not None and v == v:
                col[i] = str(v)
            if pick == 5 and special.get(f.name):
                col[i] = special[f.name][i % len(special[f.name])]
        out[f.name] = col
    return out


def category_probes(
    cleaner: Cleaner, extra: dict[str, list[str]] | None = None
) -> dict[str, list[Any]]:
    """Per categorical column: every known value, then missing, then an unseen value."""
    out: dict[str, list[Any]] = {}
    for col in cleaner.categorical:
        known = sorted(set(cleaner.known_values(col)) | set((extra or {}).get(col, [])))
        out[col] = [*known, np.nan, UNSEEN]
    return out


def cleaned_probe_frame(
    cleaner: Cleaner, columns: Sequence[str], values: dict[str, list[Any]]
) -> pd.DataFrame:
    """A cleaned frame (InputCleaner's output) whose column ``c`` cycles through ``values[c]``."""
    n = max([len(v) for v in values.values()] + [1])
    data: dict[str, Any] = {}
    for col in columns:
        if values.get(col):
            cycle = values[col]
            data[col] = [cycle[i % len(cycle)] for i in range(n)]
        elif col in cleaner.numeric:
            data[col] = [0.0] * n
        else:
            data[col] = [cleaner.known_values(col)[0] if cleaner.known_values(col) else np.nan] * n
    frame = pd.DataFrame(data, columns=list(columns))
    for col in columns:
        if col in cleaner.numeric:
            frame[col] = frame[col].astype("float64")
        else:
            frame[col] = frame[col].astype(object)
    return frame
