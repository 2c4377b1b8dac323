"""``creditscore init``: look at a table and write a commented ``creditscore.yaml``.

Every column gets a role and a reason. Columns that must not be model inputs (ids, dates,
constants, empty columns, leaks of the outcome) are written one per line under
``data.exclude`` with the reason beside them, so a user can read each decision and undo it
by deleting the line; protected attributes go under ``sensitive``. ``init_project`` checks
the written file with the same ``validate`` that ``train`` uses, so init never writes a
config that training would reject.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from creditscore.config import (
    DEFAULT_CANDIDATES,
    BudgetConfig,
    CostConfig,
    PolicyConfig,
    ProjectConfig,
    Scalar,
    SplitConfig,
)
from creditscore.data.ingest import (
    _fmt,
    is_categorical_dtype,
    is_numeric_dtype,
    label_key,
    numeric_looking,
    parse_dates,
    positive_key,
    read_table,
    validate,
)
from creditscore.exceptions import ConfigError, DataError

__all__ = [
    "ColumnDecision",
    "Inference",
    "infer_config",
    "init_project",
    "render_yaml",
    "sensitive_by_name",
    "tokens",
]

Role = Literal[
    "target",
    "numeric",
    "categorical",
    "id",
    "date",
    "constant",
    "all_missing",
    "leakage",
    "sensitive",
    "unusable",
]
EXCLUDED_ROLES: frozenset[str] = frozenset(
    {"id", "date", "constant", "all_missing", "leakage", "unusable"}
)

LEAKAGE_AUC = 0.97
DATE_SHARE = 0.90
ID_UNIQUE_SHARE = 0.95
# Below this many rows a unique integer column may be an amount, not an id, unless its
# name or its order says otherwise.
ID_MIN_ROWS = 100
LEAKAGE_FOLDS = 5

BAD_LABELS = frozenset(
    {
        "1",
        "bad",
        "default",
        "defaulted",
        "defaulter",
        "yes",
        "y",
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

_ID_TOKENS = frozenset({"id", "ids", "key", "uuid", "guid", "identifier"})

# name token -> protected attribute
_NAME_TOKENS: dict[str, str] = {
    "sex": "sex",
    "gender": "sex",
    "age": "age",
    "ages": "age",
    "dob": "age (date of birth)",
    "yob": "age (year of birth)",
    "birth": "age (date of birth)",
    "birthdate": "age (date of birth)",
    "birthday": "age (date of birth)",
    "birthyear": "age (year of birth)",
    "marital": "marital status",
    "marriage": "marital status",
    "married": "marital status",
    "race": "race",
    "racial": "race",
    "ethnic": "ethnicity",
    "ethnicity": "ethnicity",
    "nationality": "nationality",
    "citizenship": "nationality",
    "citizen": "nationality",
    "foreign": "nationality",
    "foreigner": "nationality",
    "immigrant": "nationality",
    "immigration": "nationality",
    "religion": "religion",
    "religious": "religion",
}
# "age" next to one of these is the age of a thing, not of a person (account_age, credit_age).
_AGE_OF_THINGS = frozenset(
    {
        "account",
        "acct",
        "credit",
        "loan",
        "trade",
        "tradeline",
        "oldest",
        "newest",
        "file",
        "history",
        "vehicle",
        "car",
        "property",
        "house",
        "home",
        "building",
        "business",
        "company",
        "debt",
        "card",
        "relationship",
        "portfolio",
    }
)
_SEX_WORDS = frozenset({"male", "female", "man", "woman", "men", "women", "males", "females"})
_MARITAL_STRONG = frozenset({"married", "unmarried", "divorced", "widowed", "widow", "widower"})
_MARITAL_WEAK = frozenset({"single", "separated"})


# ---------------------------------------------------------------------------- results
@dataclass(frozen=True)
class ColumnDecision:
    """What init decided about one column, and why (shown to the user)."""

    column: str
    role: Role
    reason: str

    @property
    def excluded(self) -> bool:
        return self.role in EXCLUDED_ROLES


@dataclass
class Inference:
    """Everything ``init`` found: one decision per column plus the target's labels."""

    target: str
    positive: Scalar
    negative: Scalar
    n_rows: int
    n_bads: int
    decisions: list[ColumnDecision]
    id_column: str | None = None
    date_column: str | None = None
    categorical_overrides: list[str] = field(default_factory=list)
    data_path: str | None = None
    name: str | None = None

    def rows(self) -> list[tuple[str, str, str]]:
        """(column, role, reason) per column in file order, for a table."""
        return [(d.column, d.role, d.reason) for d in self.decisions]

    def _with(self, *roles: str) -> list[str]:
        return [d.column for d in self.decisions if d.role in roles]

    @property
    def excluded(self) -> list[str]:
        return [d.column for d in self.decisions if d.excluded]

    @property
    def sensitive(self) -> list[str]:
        return self._with("sensitive")

    @property
    def numeric(self) -> list[str]:
        return self._with("numeric")

    @property
    def categorical(self) -> list[str]:
        return self._with("categorical")

    @property
    def features(self) -> list[str]:
        return self._with("numeric", "categorical")

    @property
    def bad_rate(self) -> float:
        return self.n_bads / self.n_rows if self.n_rows else float("nan")

    def decision(self, column: str) -> ColumnDecision:
        for d in self.decisions:
            if d.column == column:
                return d
        raise KeyError(column)


# ---------------------------------------------------------------------------- names
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def tokens(name: str) -> list[str]:
    """Split a column name into lower-case words: ``personal_status_and_sex`` ->
    personal/status/and/sex, ``dateOfBirth`` -> date/of/birth, ``PAY_AMT1`` -> pay/amt/1."""
    out: list[str] = []
    for part in re.split(r"[^0-9A-Za-z]+", str(name)):
        out.extend(m.lower() for m in _CAMEL.findall(part))
    return out


def sensitive_by_name(name: str) -> str | None:
    """The protected attribute a column's name refers to, if any."""
    words = tokens(name)
    for w in words:
        attr = _NAME_TOKENS.get(w)
        if attr is None:
            continue
        if attr == "age" and _AGE_OF_THINGS.intersection(words):
            continue
        return attr
    return None


def _sensitive_by_values(values: Iterable[Any]) -> tuple[str, str] | None:
    """(attribute, example value) when a column's categories are sexes or marital states."""
    texts = [str(v) for v in values]
    folded = {t.strip().casefold() for t in texts}
    if {"m", "f"} <= folded and folded <= {"m", "f", "u", "x", "other", "unknown"}:
        return "sex", next(t for t in texts if t.strip().casefold() in {"m", "f"})
    seen: set[str] = set()
    strong: list[str] = []
    weak: list[str] = []
    for text in texts:
        words = set(re.findall(r"[a-z]+", text.casefold()))
        if words & _SEX_WORDS:
            return "sex", text
        seen |= words & (_MARITAL_STRONG | _MARITAL_WEAK)
        if words & _MARITAL_STRONG:
            strong.append(text)
        elif words & _MARITAL_WEAK:
            weak.append(text)
    if strong or len(seen) >= 2:
        return "marital status", (strong or weak)[0]
    return None


# ---------------------------------------------------------------------------- target
def _python(value: Any) -> Scalar:
    """A numpy scalar as a plain Python value; whole floats as ints (1.0 -> 1)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _resolve_target(
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


# ---------------------------------------------------------------------------- leakage
def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC by ranks (ties averaged); fast enough for every column of a wide table."""
    from scipy.stats import rankdata

    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return 0.5
    ranks = rankdata(score)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _oof_bad_rate(codes: np.ndarray, y: np.ndarray, seed: int = 0) -> np.ndarray:
    """Out-of-fold category bad rate: a category seen only in the held-out fold gets the
    prior, so an id-like, high-cardinality column scores ~0.5, not 1.0."""
    n = len(y)
    rng = np.random.default_rng(seed)
    folds = rng.permutation(n) % LEAKAGE_FOLDS
    n_cat = int(codes.max()) + 1 if n else 0
    out = np.empty(n, dtype=float)
    for k in range(LEAKAGE_FOLDS):
        test = folds == k
        train = ~test
        prior = float(y[train].mean()) if train.any() else 0.5
        cnt = np.bincount(codes[train], minlength=n_cat)
        bad = np.bincount(codes[train], weights=y[train], minlength=n_cat)
        rate = np.where(cnt > 0, (bad + prior) / (cnt + 1.0), prior)
        out[test] = rate[codes[test]]
    return out


def _leakage(s: pd.Series, y: np.ndarray, positive: Scalar, negative: Scalar) -> str | None:
    """A reason when the column alone gives the outcome away, else None."""
    known = y >= 0
    yk = y[known]
    col = s[known]
    if col.notna().all() and col.nunique() == 2:
        table = pd.crosstab(col.map(label_key), yk)
        if (table.gt(0).sum(axis=1) == 1).all() and (table.gt(0).sum(axis=0) == 1).all():
            pairs = []
            for value, row in table.iterrows():
                label = positive if int(row.idxmax()) == 1 else negative
                pairs.append(f"{_fmt(value)} = {_fmt(label)}")
            return "leakage: a relabelling of the target (" + ", ".join(pairs) + ")"
    if is_numeric_dtype(col):
        values = col.to_numpy(dtype="float64", na_value=np.nan)
        if np.isnan(values).all():
            return None
        fill = np.nanmin(values) - 1.0
        score = np.where(np.isnan(values), fill, values)
    else:
        codes, _ = pd.factorize(col.astype(object), use_na_sentinel=False)
        score = _oof_bad_rate(np.asarray(codes, dtype=np.int64), yk.astype(float))
    auc = _auc(yk, score)
    auc = max(auc, 1.0 - auc)
    if auc >= LEAKAGE_AUC:
        return f"leakage: separates the target almost perfectly on its own (ROC-AUC {auc:.3f})"
    return None


# ---------------------------------------------------------------------------- columns
def _is_integer_like(s: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return True
    if pd.api.types.is_float_dtype(s.dtype):
        values = s.dropna().to_numpy(dtype="float64")
        return bool(len(values)) and bool(np.all(np.mod(values, 1) == 0))
    return False


def _id_reason(s: pd.Series, name: str, n_rows: int, n_unique: int, n_present: int) -> str | None:
    words = set(tokens(name))
    named = bool(words & _ID_TOKENS)
    textual = is_categorical_dtype(s) and not pd.api.types.is_bool_dtype(s.dtype)
    integer = _is_integer_like(s)
    unique = n_unique == n_rows and n_present == n_rows
    if integer and unique:
        values = s.to_numpy(dtype="float64")
        steps = np.diff(values)
        if n_rows > 1 and np.all(steps == 1):
            return f"id-like: a row number ({_fmt(values[0])}..{_fmt(values[-1])})"
        if n_rows >= ID_MIN_ROWS or named or np.all(steps > 0) or np.all(steps < 0):
            return "id-like: unique for every row"
    if textual and unique and n_rows > 1:
        return "id-like: unique for every row"
    if named and n_present and (integer or textual) and n_unique / n_present > ID_UNIQUE_SHARE:
        share = 100.0 * n_unique / n_present
        return f"id-like: named like an id and {share:.0f} % of its values are unique"
    return None


def _spelling_note(s: pd.Series) -> str:
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


def _date_check(s: pd.Series) -> tuple[bool, int]:
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


def infer_config(
    df: pd.DataFrame,
    target: str,
    positive: Scalar | None = None,
    *,
    data_path: str | None = None,
    name: str | None = None,
) -> Inference:
    """Decide a role for every column of ``df``; see the module docstring."""
    if any(not isinstance(c, str) for c in df.columns):
        df = df.rename(columns=str)
    pos_label, neg_label, y = _resolve_target(df, target, positive)
    n_rows = len(df)
    decisions: list[ColumnDecision] = []
    id_column: str | None = None
    date_column: str | None = None
    overrides: list[str] = []

    for col in df.columns:
        col = str(col)
        s = df[col]
        if col == target:
            n_bads = int((y == 1).sum())
            rate = 100.0 * n_bads / max(1, int((y >= 0).sum()))
            decisions.append(
                ColumnDecision(
                    col,
                    "target",
                    f"target: {n_bads} bads ({_fmt(pos_label)}) in {n_rows} rows ({rate:.1f} %)",
                )
            )
            continue
        n_present = int(s.notna().sum())
        if n_present == 0:
            decisions.append(ColumnDecision(col, "all_missing", "all values missing"))
            continue
        try:
            n_unique = int(s.nunique(dropna=True))
        except TypeError:  # unhashable cells
            n_unique = int(s.astype(str).nunique(dropna=True))
        if n_unique == 1:
            only = s.dropna().iloc[0]
            missing = f" (and {n_rows - n_present} missing)" if n_present < n_rows else ""
            decisions.append(
                ColumnDecision(col, "constant", f"constant: every value is {_fmt(only)}{missing}")
            )
            continue
        attr = sensitive_by_name(col)
        if attr:
            decisions.append(ColumnDecision(col, "sensitive", f"protected: {attr} (by name)"))
            continue
        looks_date, n_bad_dates = _date_check(s)
        if looks_date:
            if date_column is None and n_bad_dates == 0:
                date_column = col
                reason = "date: used for the out-of-time split (data.date_column)"
            elif n_bad_dates:
                reason = (
                    f"date-like, but {n_bad_dates} values are missing or not dates; fix them "
                    "and set data.date_column to use it for the out-of-time split"
                )
            else:
                reason = f"another date column (data.date_column is {date_column!r})"
            decisions.append(ColumnDecision(col, "date", reason))
            continue
        why_id = _id_reason(s, col, n_rows, n_unique, n_present)
        if why_id:
            if id_column is None and n_unique == n_rows and n_present == n_rows:
                id_column = col
                why_id += " (data.id_column)"
            decisions.append(ColumnDecision(col, "id", why_id))
            continue
        leak = _leakage(s, y, pos_label, neg_label)
        if leak:
            decisions.append(ColumnDecision(col, "leakage", leak))
            continue
        missing_note = (
            f", {100.0 * (n_rows - n_present) / n_rows:.1f} % missing" if n_present < n_rows else ""
        )
        if is_categorical_dtype(s):
            if n_unique <= 200:
                found = _sensitive_by_values(s.dropna().unique())
                if found:
                    attr, example = found
                    decisions.append(
                        ColumnDecision(
                            col, "sensitive", f"protected: {attr} (by values, e.g. {example!r})"
                        )
                    )
                    continue
            looks, bad = numeric_looking(s)
            if looks:
                pos = int(np.flatnonzero(bad.to_numpy())[0])
                overrides.append(col)
                reason = (
                    f"categorical (listed under data.categorical): mostly numbers but "
                    f"{int(bad.sum())} values are not, e.g. {_fmt(s.iloc[pos])} (row {pos + 1}); "
                    "fix them and move it to data.numeric"
                )
            else:
                reason = f"categorical, {n_unique} categories{missing_note}"
                reason += _spelling_note(s)
            decisions.append(ColumnDecision(col, "categorical", reason))
        elif is_numeric_dtype(s):
            decisions.append(
                ColumnDecision(col, "numeric", f"numeric, {n_unique} distinct values{missing_note}")
            )
        else:
            decisions.append(
                ColumnDecision(col, "unusable", f"type {s.dtype} that no model can use")
            )

    return Inference(
        target=target,
        positive=pos_label,
        negative=neg_label,
        n_rows=n_rows,
        n_bads=int((y == 1).sum()),
        decisions=decisions,
        id_column=id_column,
        date_column=date_column,
        categorical_overrides=overrides,
        data_path=data_path,
        name=name,
    )


# ---------------------------------------------------------------------------- YAML
_COMMENT_COL = 32


def _y(value: Any) -> str:
    """A scalar in YAML, quoted only where YAML would misread it (``yes``, ``1.0``, ``a: b``)."""
    if value is None:
        return ""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**9)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    if text.endswith("..."):
        text = text[: -len("...")].rstrip()
    return text


def _line(body: str, comment: str = "") -> str:
    if not comment:
        return body
    comment = " ".join(comment.split())
    return f"{body.ljust(_COMMENT_COL - 1)} # {comment}"


def _wrap(prefix: str, names: list[str], width: int = 95) -> list[str]:
    lines: list[str] = []
    current = prefix
    for i, n in enumerate(names):
        piece = n + ("," if i < len(names) - 1 else "")
        if len(current) + len(piece) + 1 > width and current.strip() != prefix.strip():
            lines.append(current.rstrip())
            current = "#     "
        current += " " + piece
    lines.append(current.rstrip())
    return lines


def render_yaml(inf: Inference) -> str:
    """The commented ``creditscore.yaml`` for an inference (round-trips through
    :meth:`ProjectConfig.from_yaml`)."""
    out: list[str] = []
    rate = 100.0 * inf.bad_rate
    source = (
        f"from {inf.data_path}"
        if inf.data_path
        else "(data.path is empty: train reads the bundled German data; set it to your file)"
    )
    out += [
        f"# creditscore project configuration, written by `creditscore init` {source}.",
        f"# {inf.n_rows} rows, {inf.n_bads} bads ({rate:.1f} %), bad = {_fmt(inf.positive)}.",
        '# Every key is documented in the README ("Configuration"); unknown keys are errors.',
        "#",
        "# init kept some columns out of the model: each is one line under data.exclude or",
        "# sensitive, with the reason beside it. To use such a column as a model input after all,",
        "# delete its line (for the id or date column, also clear data.id_column/date_column).",
        "# Model inputs are every column not listed there:",
    ]
    out += _wrap(f"#   numeric ({len(inf.numeric)}):", inf.numeric or ["none"])
    out += _wrap(f"#   categorical ({len(inf.categorical)}):", inf.categorical or ["none"])
    out.append(f"name: {_y(inf.name or 'creditscore')}")
    out.append("")

    out.append("data:")
    out.append(
        _line(
            f"  path: {_y(inf.data_path)}".rstrip(),
            "CSV or Parquet; a relative path starts at this file's folder",
        )
    )
    out.append(f"  target: {_y(inf.target)}")
    out.append(
        _line(
            f"  positive: {_y(inf.positive)}",
            f"the value that marks a bad (default); the other is {_fmt(inf.negative)}",
        )
    )
    out.append(
        _line(
            f"  id_column: {_y(inf.id_column)}".rstrip(),
            "unique application id, never a feature" if inf.id_column else "none found",
        )
    )
    out.append(
        _line(
            f"  date_column: {_y(inf.date_column)}".rstrip(),
            "enables the out-of-time split"
            if inf.date_column
            else "none found; set one to enable the out-of-time split",
        )
    )
    excluded = [d for d in inf.decisions if d.excluded]
    if excluded:
        out.append("  exclude:                      # never model inputs; delete a line to undo")
        out += [_line(f"    - {_y(d.column)}", d.reason) for d in excluded]
    else:
        out.append("  exclude: []")
    if inf.categorical_overrides:
        out.append("  categorical:                  # forced categorical")
        for col in inf.categorical_overrides:
            out.append(_line(f"    - {_y(col)}", "mostly numbers, some not; see init's table"))
    else:
        out.append(_line("  categorical: []", "columns forced to be categorical"))
    out.append(_line("  numeric: []", "columns forced to be numeric"))
    out.append(_line("  special_codes: {}", "per column, values meaning 'missing': {col: [-999]}"))
    out.append("")

    out.append("# Protected attributes: used for fairness analysis only, never as model inputs.")
    sens = [d for d in inf.decisions if d.role == "sensitive"]
    if sens:
        out.append("sensitive:")
        out += [_line(f"  - {_y(d.column)}", d.reason) for d in sens]
    else:
        out.append("sensitive: []                   # none found by name or values; list any here")
    out.append(
        _line("allow_sensitive_as_features: []", "sensitive columns allowed as inputs (say why)")
    )
    out.append("")

    split = SplitConfig()
    out += [
        "split:",
        _line(f"  valid: {split.valid}", "share of rows for model selection"),
        _line(f"  test: {split.test}", "share held out for the final report"),
        f"  seed: {split.seed}",
        _line(
            f"  out_of_time: {_y(split.out_of_time)}",
            "with a date column, test on the latest applications",
        ),
        "",
        f"candidates: [{', '.join(DEFAULT_CANDIDATES)}]",
        "",
    ]
    budget = BudgetConfig()
    out += [
        "budget:",
        _line(f"  trials: {_y(budget.trials)}", "Optuna trials per candidate ..."),
        _line(f"  seconds: {_y(budget.seconds)}", "... or this many seconds, whichever is first"),
        f"  cv_folds: {budget.cv_folds}",
        f"  seed: {budget.seed}",
        _line(f"  blend: {_y(budget.blend)}", "try a blend of the best candidates"),
        "",
    ]
    costs = CostConfig()
    out += [
        "costs:",
        _line(
            f"  false_negative: {_y(costs.false_negative)}", "approving an applicant who defaults"
        ),
        _line(
            f"  false_positive: {_y(costs.false_positive)}",
            "declining an applicant who would have repaid",
        ),
        "",
    ]
    policy = PolicyConfig()
    sc = policy.scaling
    out += [
        "policy:",
        _line(f"  refer_margin: {_y(policy.refer_margin)}", "refer PDs this close to the cut-off"),
        _line(f"  calibration: {policy.calibration}", "auto, isotonic, sigmoid or none"),
        f"  scaling: {{base_points: {_y(sc.base_points)}, base_odds: {_y(sc.base_odds)}, "
        f"pdo: {_y(sc.pdo)}}}",
        "  risk_bands:",
    ]
    out += [f"    - {{name: {_y(b.name)}, max_pd: {_y(b.max_pd)}}}" for b in policy.risk_bands]
    out += [
        "",
        "# feature -> text shown in reason codes, e.g.  duration_in_month: Loan duration",
        "reasons: {}",
        "",
    ]
    out += _derived_lines(inf)
    out += [
        "# Group fairness at the policy threshold. No groups: one per sensitive column (ages",
        "# banded <25, 25-34, 35-49, 50+). A group: {name, column, bands: [25, 35, 50]} or",
        "# {name, column, pattern: '^(male|female)'} (a regex; its first group is the group).",
        "fairness:",
        "  groups: []",
        _line("  mode: warn", "warn: report violations; block: they stop promotion"),
        _line("  min_disparate_impact: 0.8", "the four-fifths rule"),
        "",
        "# Features a counterfactual ('what would get me approved') may change; empty: every",
        "# input that is neither protected nor immutable (age, sex, nationality, ...).",
        "actionable:",
        "",
        _line("output_dir: artifacts", "where bundles and plots go, relative to this file"),
        "",
    ]
    return "\n".join(out)


def _derived_lines(inf: Inference) -> list[str]:
    """``features.derived``, with the standard credit ratios recognised from the column
    names proposed commented out (features/derived.py decides which)."""
    from creditscore.features.derived import propose_derived

    blocked = {inf.target, inf.id_column}
    columns = [d.column for d in inf.decisions if d.column not in blocked]
    proposals = propose_derived(columns, inf.date_column)
    out = [
        "# Derived features: name -> expression over input columns, computed inside the model",
        "# (ratios divide safely: missing when the denominator is 0 or missing). Grammar: README.",
        "features:",
    ]
    if not proposals:
        return [*out, "  derived: {}", ""]
    out += ["  derived:                      # init recognised these; uncomment to use"]
    out += [_line(f"    # {name}: {_y(expression)}", why) for name, expression, why in proposals]
    return [*out, ""]


# ---------------------------------------------------------------------------- init
def _project_name(path: Path) -> str:
    stem = path.name
    for suffix in (".gz", ".bz2", ".zip", ".xz", ".csv", ".tsv", ".txt", ".parquet", ".pq"):
        stem = stem.removesuffix(suffix)
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return slug or "creditscore"


def _path_for_yaml(data: Path, output: Path) -> str:
    """The data path as written in the YAML: relative to the YAML's folder where the data
    lies under it, else absolute."""
    data_abs = data.expanduser().resolve()
    try:
        return data_abs.relative_to(output.expanduser().resolve().parent).as_posix()
    except ValueError:
        return str(data_abs)


def init_project(
    data: Path, target: str, positive: str | None, output: Path, *, force: bool = False
) -> Inference:
    """Infer a config from ``data`` and write it to ``output``.

    The config is checked with :func:`validate` before it is written: init never leaves
    behind a config that ``train`` would reject.
    """
    data, output = Path(data), Path(output)
    if output.exists() and not force:
        raise ConfigError(f"{output} already exists; pass --force to overwrite it")
    df = read_table(data)
    inf = infer_config(
        df,
        target,
        positive,
        data_path=_path_for_yaml(data, output),
        name=_project_name(data),
    )
    text = render_yaml(inf)
    base_dir = output.expanduser().resolve().parent
    cfg = ProjectConfig.from_dict(yaml.safe_load(text), base_dir=base_dir, source=str(output))
    try:
        validate(df, cfg)
    except DataError as exc:
        raise DataError(
            f"{exc}\n(init wrote nothing: fix the data, or pass --target/--positive, and run "
            "init again)"
        ) from None
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    ProjectConfig.from_yaml(output)
    return inf
