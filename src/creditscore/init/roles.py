"""Columns that are not model inputs by their role: ids, dates, outcome leaks; and dates
that are dates of birth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from creditscore.data.ingest import (
    formatted,
    is_categorical_dtype,
    is_numeric_dtype,
    parse_dates,
    to_numeric,
)
from creditscore.data.names import tokens
from creditscore.evaluation.association import column_score, oof_rate, rank_auc
from creditscore.features.numbers import decimal_separator
from creditscore.formatting import value_text
from creditscore.outcome import label_key

__all__ = [
    "after_the_decision",
    "birth_dates",
    "date_check",
    "id_reason",
    "leakage_reason",
    "spelling_note",
]

LEAKAGE_AUC = 0.97
DATE_SHARE = 0.90
ID_UNIQUE_SHARE = 0.95
#: A one-sided leak: a group of at least this many rows, all bad and at least this share of
#: the bads, or all good and at least this share of the goods (a legitimate input of a
#: table with few bads may well have a small group with no bad).
ONE_SIDED_MIN_ROWS = 20
ONE_SIDED_BAD_SHARE = 0.02
ONE_SIDED_GOOD_SHARE = 0.25
ONE_SIDED_MAX_LEVELS = 50
_LOG_CHANCE = math.log(1e-6)
#: Word stems and run-together words of values recorded after a loan was granted.
_AFTER_STEMS = ("paid", "recover", "chargeoff", "writeoff", "settle", "pymnt", "collected")
_AFTER_JOINED = ("chargedoff", "writtenoff", "totalrec", "outprncp", "latefee")
# Below this many rows a unique integer column may be an amount, not an id, unless its
# name or its order says otherwise.
ID_MIN_ROWS = 100
_ID_TOKENS = frozenset({"id", "ids", "key", "uuid", "guid", "identifier"})
#: Ages a date of birth gives at the application date (95 % of the rows in this range).
ADULT_AGES = (18.0, 100.0)


def leakage_reason(s: pd.Series, y: np.ndarray, bad: str, good: str) -> str | None:
    """A reason when the column alone gives the outcome away, else None (``bad`` and
    ``good`` name the outcomes for the reason)."""
    known = y >= 0
    yk = y[known]
    col = s[known]
    if col.notna().all() and col.nunique() == 2:
        table = pd.crosstab(col.map(label_key), yk)
        if (table.gt(0).sum(axis=1) == 1).all() and (table.gt(0).sum(axis=0) == 1).all():
            pairs = []
            for value, row in table.iterrows():
                label = bad if int(row.idxmax()) == 1 else good
                pairs.append(f"{value_text(value)} = {label}")
            return "leakage: a relabelling of the target (" + ", ".join(pairs) + ")"
    score, codes = column_score(col, is_numeric_dtype(col))
    if score is None:
        if codes is None:
            return None
        score = oof_rate(codes, yk)
    auc = rank_auc(yk, score)
    if auc >= LEAKAGE_AUC:
        return f"leakage: separates the target almost perfectly on its own (ROC-AUC {auc:.3f})"
    return _one_sided(col, yk, bad, good)


def _groups(s: pd.Series, y: np.ndarray) -> list[tuple[str, int, int]]:
    """(group, rows, bads) of the row groups a one-sided leak shows in: non-zero, zero,
    missing and present for numbers; each level (up to 50) and missing for categories."""
    if is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s.dtype):
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        present = ~np.isnan(v)
        masks = [
            ("it is non-zero", present & (v != 0)),
            ("it is zero", v == 0),
            ("it is missing", ~present),
            ("it is present", present),
        ]
        return [(label, int(m.sum()), int(y[m].sum())) for label, m in masks]
    idx, levels = pd.factorize(s.astype(object), use_na_sentinel=True)
    slot = np.where(idx < 0, len(levels), idx)  # missing: the last slot
    rows = np.bincount(slot, minlength=len(levels) + 1)
    bads = np.bincount(slot, weights=y, minlength=len(levels) + 1)
    groups = [("it is missing", int(rows[-1]), int(bads[-1]))]
    if len(levels) <= ONE_SIDED_MAX_LEVELS:
        groups += [
            (f"it is {value_text(v)}", int(rows[j]), int(bads[j])) for j, v in enumerate(levels)
        ]
    return groups


def _one_sided(s: pd.Series, y: np.ndarray, bad: str, good: str) -> str | None:
    """A leak that shows on one side only: a value that only bads have (a recovery amount,
    a charge-off date), or that a large share of the goods have and no bad has (what was
    spent on a card that only accepted applicants got). Legitimate inputs raise the odds of
    a bad; they do not give it away for a whole group."""
    n_bads, n_goods = int(y.sum()), int(len(y) - y.sum())
    if not n_bads or not n_goods:
        return None
    rate = n_bads / len(y)
    for label, n, b in _groups(s, y):
        if n == len(y) or n < ONE_SIDED_MIN_ROWS:
            continue
        # by chance, a group of n rows is all bad with probability rate ** n: not a leak
        # unless that is tiny
        if b == n and b >= ONE_SIDED_BAD_SHARE * n_bads and n * math.log(rate) < _LOG_CHANCE:
            return (
                f"leakage: every one of the {n:,} rows where {label} is a bad ({bad}; "
                f"{100 * b / n_bads:.0f} % of the bads, no good): recorded after the outcome?"
            )
        if b == 0 and n >= ONE_SIDED_GOOD_SHARE * n_goods and n * math.log1p(-rate) < _LOG_CHANCE:
            return (
                f"leakage: every one of the {n:,} rows where {label} is a good ({good}; "
                f"{100 * n / n_goods:.0f} % of the goods, no bad): recorded after the outcome?"
            )
    return None


def after_the_decision(name: str) -> str | None:
    """The word in ``name`` suggesting a value recorded after the loan was granted
    (``paid_interest``, ``recoveries``, ``last_pymnt_d``), or None. Only a hint: a
    bureau's ``paid`` counts before the application are legitimate."""
    words = tokens(name)
    for w in words:
        for stem in _AFTER_STEMS:
            if w.startswith(stem):
                return w
    joined = "".join(words)
    return next((p for p in _AFTER_JOINED if p in joined), None)


def _is_integer_like(s: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return True
    if pd.api.types.is_float_dtype(s.dtype):
        values = s.dropna().to_numpy(dtype="float64")
        return bool(len(values)) and bool(np.all(np.mod(values, 1) == 0))
    return False


def id_reason(s: pd.Series, name: str, n_rows: int, n_unique: int, n_present: int) -> str | None:
    words = set(tokens(name))
    named = bool(words & _ID_TOKENS)
    textual = is_categorical_dtype(s) and not pd.api.types.is_bool_dtype(s.dtype)
    integer = _is_integer_like(s)
    unique = n_unique == n_rows and n_present == n_rows
    if integer and unique:
        values = s.to_numpy(dtype="float64")
        steps = np.diff(values)
        if n_rows > 1 and np.all(steps == 1):
            return f"id-like: a row number ({value_text(values[0])}..{value_text(values[-1])})"
        if n_rows >= ID_MIN_ROWS or named or np.all(steps > 0) or np.all(steps < 0):
            return "id-like: unique for every row"
    if textual and unique and n_rows > 1 and not _amounts(s):
        return "id-like: unique for every row"
    if named and n_present and (integer or textual) and n_unique / n_present > ID_UNIQUE_SHARE:
        share = 100.0 * n_unique / n_present
        return f"id-like: named like an id and {share:.0f} % of its values are unique"
    return None


def _amounts(s: pd.Series) -> bool:
    """Is a unique text column amounts, not ids: numbers written for people ('$3,174.37'),
    or numbers with decimals?"""
    values, bad = to_numeric(s, decimal_separator(s))
    if bad.any():
        return False
    present = values.dropna().to_numpy()
    return formatted(s) or bool(len(present) and not np.all(np.mod(present, 1) == 0))


def spelling_note(s: pd.Series) -> str:
    if not (pd.api.types.is_string_dtype(s.dtype) or pd.api.types.is_object_dtype(s.dtype)):
        return ""
    raw = [v for v in s.dropna().unique() if isinstance(v, str)]
    groups: dict[str, list[str]] = {}
    for v in raw:
        groups.setdefault(" ".join(v.split()).casefold(), []).append(v)
    clashes = [g for g in groups.values() if len(g) > 1]
    if not clashes:
        return ""
    n = sum(len(g) for g in clashes)
    example = " / ".join(repr(v) for v in clashes[0][:3])
    return f"; note: {n} spellings differ only by case/spaces (e.g. {example})"


def date_check(s: pd.Series) -> tuple[bool, int]:
    """(looks like dates, number of missing or unparseable values)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return True, int(s.isna().sum())
    if not (pd.api.types.is_string_dtype(s.dtype) or pd.api.types.is_object_dtype(s.dtype)):
        return False, 0
    present = s.dropna()
    if present.empty:
        return False, 0
    sample = pd.Series(present.unique()[:200])
    _, bad = parse_dates(sample)
    if float(bad.mean()) > 1.0 - DATE_SHARE:
        return False, 0
    _, bad = parse_dates(s)
    share = 1.0 - float(bad.sum()) / len(present)
    if share < DATE_SHARE:
        return False, 0
    return True, int(bad.sum()) + int(s.isna().sum())


def birth_dates(s: pd.Series, applied: pd.Series) -> tuple[float, float] | None:
    """(youngest, oldest) age when ``s`` looks like the applicants' dates of birth: dates
    that lie 18 to 100 years before the application date ``applied`` on 95 % of the rows,
    and spread over at least five years. None otherwise."""
    born, _ = parse_dates(s)
    at, _ = parse_dates(applied)
    age = ((at - born).dt.days / 365.2425).dropna()
    if len(age) < 10:
        return None
    lo, hi = ADULT_AGES
    inside = float(((age >= lo) & (age <= hi)).mean())
    if inside < 0.95 or float(age.quantile(0.9) - age.quantile(0.1)) < 5:
        return None
    return float(age.quantile(0.01)), float(age.quantile(0.99))
