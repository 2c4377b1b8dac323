"""The target of ``init``: which value of the outcome column marks a bad."""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import pandas as pd

from creditscore.config import Scalar
from creditscore.data.ingest import _fmt, delimiter_hint, label_key, positive_key
from creditscore.exceptions import ConfigError

__all__ = ["BAD_LABELS", "resolve_target"]

BAD_LABELS = frozenset(
    {
        "1",
        "bad",
        "default",
        "defaulted",
        "defaulter",
        "yes",
        "y",
        "ja",
        "oui",
        "si",
        "sí",
        "true",
        "charged off",
        "charged-off",
        "chargedoff",
        "charge off",
        "charge-off",
        "written off",
        "written-off",
        "write-off",
        "write off",
        "delinquent",
        "bad loan",
        "bad debt",
        "fraud",
        "late",
        "event",
        "positive",
    }
)


def _python(value: Any) -> Scalar:
    """A numpy scalar as a plain Python value; whole floats as ints (1.0 -> 1)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def resolve_target(
    df: pd.DataFrame, target: str, positive: Scalar | None
) -> tuple[Scalar, Scalar, np.ndarray]:
    """(positive, negative, y with -1 where the target is missing)."""
    columns = [str(c) for c in df.columns]
    if target not in columns:
        close = difflib.get_close_matches(target, columns, n=3, cutoff=0.5)
        lowered = [c for c in columns if c.casefold() == target.casefold()]
        hint = close or lowered
        shown = f"did you mean {', '.join(repr(c) for c in hint)}? " if hint else ""
        listing = ", ".join(repr(c) for c in columns[:30])
        more = f", ... ({len(columns)} in all)" if len(columns) > 30 else ""
        raise ConfigError(
            f"target column {target!r} is not in the data; {shown}the columns are: {listing}{more}"
            + delimiter_hint(columns)
        )
    s = df[target]
    counts = s.value_counts(dropna=True)
    by_key: dict[str, tuple[Any, int]] = {}
    for value, n in counts.items():
        key = label_key(value)
        old = by_key.get(key)
        by_key[key] = (old[0] if old else value, (old[1] if old else 0) + int(n))
    shown = ", ".join(f"{_fmt(v)} ({n})" for v, n in list(by_key.values())[:10])
    if len(by_key) != 2:
        if len(by_key) < 2:
            what = "no values" if not by_key else f"a single value: {shown}"
            raise ConfigError(
                f"target {target!r} has {what}; it needs two outcomes (good and bad). "
                "Check the --target column"
            )
        raise ConfigError(
            f"target {target!r} has {len(by_key)} distinct values ({shown}"
            f"{', ...' if len(by_key) > 10 else ''}); it needs exactly two, good and bad. "
            "Map the others to good or bad first, or choose another --target"
        )
    keys = list(by_key)
    if positive is None:
        if set(keys) == {"0", "1"}:
            pkey = "1"
        else:
            hits = [k for k in keys if k.casefold() in BAD_LABELS]
            if len(hits) != 1:
                raise ConfigError(
                    f"cannot tell which value of target {target!r} marks a bad (default): "
                    f"{shown}; pass --positive with one of them"
                )
            pkey = hits[0]
    else:
        found = positive_key(positive, keys)
        if found is None:
            folded = [k for k in keys if k.casefold() == label_key(positive).casefold()]
            found = folded[0] if len(folded) == 1 else None
        if found is None:
            raise ConfigError(
                f"--positive {_fmt(positive)} is not a value of target {target!r}; its values "
                f"are {shown}"
            )
        pkey = found
    nkey = next(k for k in keys if k != pkey)
    mapped = s.map(lambda v: None if pd.isna(v) else label_key(v))
    y = np.where(mapped.isna(), -1, (mapped == pkey).astype(np.int8)).astype(np.int8)
    return _python(by_key[pkey][0]), _python(by_key[nkey][0]), y
