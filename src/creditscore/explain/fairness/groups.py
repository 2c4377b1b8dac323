"""How a protected column becomes groups a reader can compare.

* a number is banded: ages in the usual bands (``<25``, ``25-34``, ``35-49``, ``50+``), other
  numbers in quartiles;
* a date of birth (or a year of birth) becomes the age at the application date (the
  ``age_at`` column), or at the training date when there is none, and is banded as an age;
* a 0/1 flag is two groups named after it (``female`` / ``not female``), never banded;
* a family of one-column-per-group flags (``black``, ``white``, ``asian``) is one attribute
  whose group is the flag that is set (``race``: black / white / asian; none set: "none of
  these"; several: "several");
* text is folded by the one spelling rule (:func:`canonical_key`: case and spaces) and, for
  sex, obvious synonyms (``M`` / ``male`` / ``Mann``); every merge is listed in the report;
* a ``pattern`` takes a regular expression's first group (German's ``male : single``).

A column that would still give more than :data:`MAX_GROUPS` groups is refused with a message
saying how to band it: a table of 450 one-person groups says nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from creditscore.data.names import fold, tokens, without_affixes
from creditscore.exceptions import DataError
from creditscore.explain.fairness.protected import Protected, protected_by_name, protected_by_values
from creditscore.features.spelling import canonical_key, canonical_spellings

__all__ = [
    "DEFAULT_AGE_BANDS",
    "MAX_GROUPS",
    "MISSING_GROUP",
    "GroupLabels",
    "GroupSpec",
    "TooManyGroupsError",
    "band_names",
    "configured_groups",
    "default_groups",
    "flag_mask",
    "german_groups",
    "group_labels",
    "groups_from_config",
    "is_flag",
    "read_groups",
]

DEFAULT_AGE_BANDS: tuple[float, ...] = (25, 35, 50)
MISSING_GROUP = "missing"
NONE_SET = "none of these"
SEVERAL_SET = "several"
#: The most groups one attribute may have (missing not counted).
MAX_GROUPS = 12

_TRUE = frozenset({"1", "1.0", "true", "t", "yes", "y", "ja", "j", "oui", "si", "x"})
_FALSE = frozenset({"0", "0.0", "false", "f", "no", "n", "nein", "non"})
_SEX_SYNONYMS = {
    **dict.fromkeys(
        [
            "m",
            "male",
            "males",
            "man",
            "men",
            "mann",
            "maennlich",
            "mannlich",
            "homme",
            "hombre",
            "masculino",
            "masculin",
            "h",
        ],
        "male",
    ),
    **dict.fromkeys(
        [
            "f",
            "female",
            "females",
            "woman",
            "women",
            "frau",
            "weiblich",
            "w",
            "femme",
            "mujer",
            "femenino",
            "feminin",
        ],
        "female",
    ),
}


class TooManyGroupsError(DataError):
    """A protected column gives more groups than a fairness table can compare."""


@dataclass(frozen=True)
class GroupSpec:
    """How to read one protected attribute.

    ``bands``: band edges for a number, e.g. ``(25, 35, 50)`` -> ``<25, 25-34, 35-49, 50+``.
    ``pattern``: a regular expression; the group is its first capture group (or the whole
    match), e.g. ``^(male|female)`` reads sex from German's "female : divorced/married".
    ``columns``: one 0/1 column per group (the attribute's group is the column set to 1).
    ``birth``: ``date`` or ``year``: the column is a date (year) of birth, read as the age
    at the ``age_at`` date column (or ``reference_date``, the training date) and banded.
    ``inferred``: made by :func:`default_groups`, not configured: a column that cannot be
    grouped is reported as not assessed instead of stopping the report.
    """

    name: str
    column: str
    bands: tuple[float, ...] | None = None
    pattern: str | None = None
    columns: tuple[str, ...] = ()
    birth: str | None = None
    age_at: str | None = None
    reference_date: str | None = None
    inferred: bool = False

    @property
    def source_columns(self) -> list[str]:
        return list(self.columns) if self.columns else [self.column]

    @property
    def shown_column(self) -> str:
        """The column(s) as a report names them."""
        return ", ".join(self.columns) if self.columns else self.column

    @property
    def kind_text(self) -> str:
        """How the groups are read, in a few words (init's table and YAML)."""
        if self.columns:
            return f"one 0/1 column per group ({len(self.columns)} columns)"
        if self.birth:
            at = f"at {self.age_at}" if self.age_at else "at the training date"
            return f"{self.birth} of birth -> age {at}, banded"
        if self.bands:
            return "banded"
        if self.pattern:
            return "by a pattern"
        return "as recorded (spellings merged by the spelling rule)"

    def to_dict(self) -> dict[str, Any]:
        """The ``fairness.groups`` entry of the project config (what init writes)."""
        out: dict[str, Any] = {"name": self.name}
        if self.columns:
            out["columns"] = list(self.columns)
        elif self.column != self.name:
            out["column"] = self.column
        if self.birth:
            out["birth"] = self.birth
            if self.age_at:
                out["age_at"] = self.age_at
        if self.bands:
            out["bands"] = [int(b) if float(b).is_integer() else float(b) for b in self.bands]
        if self.pattern:
            out["pattern"] = self.pattern
        return out


@dataclass(frozen=True)
class GroupLabels:
    """The group of every row, how they were made, and the spellings merged."""

    labels: pd.Series
    how: str
    normalised: tuple[str, ...] = field(default_factory=tuple)
    order: tuple[str, ...] = field(default_factory=tuple)


# ------------------------------------------------------------------------------ config
def groups_from_config(
    raw: Sequence[Mapping[str, Any]], reference_date: str | None = None
) -> list[GroupSpec]:
    """``fairness.groups`` of the project config (or bundle metadata) as GroupSpecs."""
    out = []
    for g in raw:
        bands = g.get("bands")
        columns = tuple(str(c) for c in g.get("columns") or ())
        birth = g.get("birth")
        if birth and not bands:
            bands = list(DEFAULT_AGE_BANDS)
        out.append(
            GroupSpec(
                str(g["name"]),
                columns[0] if columns else str(g.get("column") or g["name"]),
                tuple(float(b) for b in bands) if bands else None,
                g.get("pattern"),
                columns,
                birth,
                g.get("age_at"),
                reference_date,
            )
        )
    return out


def configured_groups(
    settings: Mapping[str, Any],
    sensitive: Sequence[str],
    frame: pd.DataFrame | None = None,
    *,
    date_column: str | None = None,
    reference_date: str | None = None,
) -> list[GroupSpec]:
    """The groups of a fairness configuration (``ProjectConfig.fairness`` as saved in the
    bundle's metadata), or the inferred ones (:func:`default_groups`) when none are."""
    raw = settings.get("groups")
    if raw:
        return groups_from_config(raw, reference_date)
    return default_groups(sensitive, frame, date_column=date_column, reference_date=reference_date)


def german_groups() -> list[GroupSpec]:
    """Sex, age group and foreign worker, as the German credit data encodes them."""
    return [
        GroupSpec("sex", "personal_status_and_sex", pattern=r"^\s*(male|female)\b"),
        GroupSpec("age_group", "age_in_years", bands=DEFAULT_AGE_BANDS),
        GroupSpec("foreign_worker", "foreign_worker"),
    ]


# ------------------------------------------------------------------------------ flags
def _keys(s: pd.Series) -> pd.Series:
    present = s.dropna()
    if pd.api.types.is_bool_dtype(present.dtype):
        return present.map(lambda v: "1" if v else "0")
    if pd.api.types.is_numeric_dtype(present.dtype):
        return present.map(lambda v: "1" if v == 1 else ("0" if v == 0 else str(v)))
    return present.astype(str).map(lambda v: fold(v).strip().casefold())


def is_flag(s: pd.Series) -> bool:
    """A 0/1 column: at most two distinct values, each a yes or a no (1/0, true/false,
    Y/N, ja/nein, ...), and at least one yes or no."""
    keys = set(_keys(s).unique())
    return 0 < len(keys) <= 2 and keys <= (_TRUE | _FALSE)


def flag_mask(s: pd.Series) -> pd.Series:
    """True where a flag is set, False where not, NaN where missing."""
    keys = _keys(s)
    out = pd.Series(np.nan, index=s.index, dtype=object)
    out[keys.index] = keys.isin(_TRUE).to_numpy()
    return out


def _flag_label(column: str) -> str:
    """The group a flag stands for: ``is_female`` -> ``female``, ``age_over_62`` ->
    ``age over 62``; a flag named only by its attribute (``sex``) -> ``sex = 1``."""
    found = protected_by_name(column)
    if found is not None and found.group:
        return found.group
    words = without_affixes(tokens(column)) or tokens(column) or [column]
    label = " ".join(words)
    if found is not None and found.form == "name" and len(words) == 1:
        return f"{column} = 1"
    return label


def _not(label: str) -> str:
    return label[:-1] + "0" if label.endswith(" = 1") else f"not {label}"


# ------------------------------------------------------------------------------ defaults
def _unique_name(name: str, taken: set[str]) -> str:
    out, i = name, 2
    while out in taken:
        out, i = f"{name} ({i})", i + 1
    taken.add(out)
    return out


def _looks_like_dates(s: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return True
    if not (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)):
        return False
    from creditscore.data.ingest import parse_dates

    sample = s.dropna().head(200)
    if sample.empty:
        return False
    _, bad = parse_dates(sample)
    return float(bad.mean()) <= 0.1


def default_groups(
    sensitive: Sequence[str],
    frame: pd.DataFrame | None = None,
    *,
    date_column: str | None = None,
    reference_date: str | None = None,
) -> list[GroupSpec]:
    """One attribute per sensitive column, or per family of one-column-per-group flags;
    see the module docstring for how each kind of column is read."""
    names: dict[str, Protected | None] = {col: protected_by_name(col) for col in sensitive}
    columns: dict[str, pd.Series] = (
        {c: frame[c] for c in sensitive if c in frame.columns} if frame is not None else {}
    )
    flags = [c for c in sensitive if c in columns and is_flag(columns[c])]
    families: dict[str, list[str]] = {}
    for col in flags:
        found = names[col]
        if found is not None and found.group:
            families.setdefault(found.family, []).append(col)
    out: list[GroupSpec] = []
    taken: set[str] = set(sensitive)
    done: set[str] = set()
    for col in sensitive:
        if col in done:
            continue
        p = names[col]
        values = columns.get(col)
        if col in flags and p is not None and p.group and len(families[p.family]) >= 2:
            members = tuple(families[p.family])
            name = _unique_name(p.family.replace(" ", "_"), taken)
            out.append(GroupSpec(name, members[0], columns=members, inferred=True))
            done |= set(members)
            continue
        done.add(col)
        if col in flags:
            out.append(GroupSpec(col, col, inferred=True))
            continue
        is_age = p is not None and p.attribute == "age"
        numeric = values is not None and pd.api.types.is_numeric_dtype(values.dtype)
        if values is not None and (
            pd.api.types.is_datetime64_any_dtype(values.dtype)
            or (is_age and not numeric and _looks_like_dates(values))
        ):
            birth = "date"
        elif is_age and p is not None and p.form == "year of birth" and numeric:
            birth = "year"
        else:
            birth = None
        if birth:
            out.append(
                GroupSpec(
                    col,
                    col,
                    bands=DEFAULT_AGE_BANDS,
                    birth=birth,
                    age_at=date_column,
                    reference_date=reference_date,
                    inferred=True,
                )
            )
        elif numeric and is_age:
            out.append(GroupSpec(col, col, bands=DEFAULT_AGE_BANDS, inferred=True))
        elif numeric and values is not None and values.nunique() > 10:
            q = np.unique(np.nanquantile(values.to_numpy(dtype=float), [0.25, 0.5, 0.75]))
            out.append(GroupSpec(col, col, bands=tuple(float(x) for x in q), inferred=True))
        else:
            out.append(GroupSpec(col, col, inferred=True))
    return out


# ------------------------------------------------------------------------------ labels
def _edge(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def band_names(edges: Sequence[float], integer: bool = True) -> list[str]:
    """``(25, 35, 50)`` -> ``['<25', '25-34', '35-49', '50+']`` (``[25, 35)`` if not integer)."""
    e = [float(x) for x in edges]
    names = [f"<{_edge(e[0])}"]
    for lo, hi in pairwise(e):
        if integer and lo.is_integer() and hi.is_integer():
            names.append(f"{_edge(lo)}-{_edge(hi - 1)}")
        else:
            names.append(f"[{_edge(lo)}, {_edge(hi)})")
    names.append(f"{_edge(e[-1])}+")
    return names


def _need(frame: pd.DataFrame, spec: GroupSpec, column: str) -> pd.Series:
    if column not in frame.columns:
        raise DataError(
            f"fairness group {spec.name!r} needs column {column!r}, which the data lacks"
        )
    return frame[column]


def _band(x: pd.Series, edges: Sequence[float], index: pd.Index) -> tuple[pd.Series, list[str]]:
    edges = sorted(float(b) for b in edges)
    present = x.dropna()
    integer = bool(len(present) == 0 or np.all(np.mod(present, 1) == 0))
    names = band_names(edges, integer)
    idx = np.searchsorted(np.asarray(edges), x.fillna(0).to_numpy(dtype=float), side="right")
    out = pd.Series(np.asarray(names, dtype=object)[idx], index=index, dtype=object)
    return out.where(x.notna(), MISSING_GROUP), names


def _reference(spec: GroupSpec, frame: pd.DataFrame) -> tuple[pd.Series, str]:
    """The date each row's age is taken at, and how a report says so."""
    if spec.age_at and spec.age_at in frame.columns:
        from creditscore.data.ingest import parse_dates

        at, _ = parse_dates(frame[spec.age_at])
        return at, f"the application date ({spec.age_at})"
    when = spec.reference_date
    day = pd.Timestamp(when) if when else pd.Timestamp(datetime.now(UTC).date())
    if day.tzinfo is not None:
        day = day.tz_convert(None)
    day = day.normalize()
    return pd.Series(day, index=frame.index), f"{day.date().isoformat()} (the training date)"


def _ages(spec: GroupSpec, frame: pd.DataFrame, s: pd.Series) -> tuple[pd.Series, str]:
    at, when = _reference(spec, frame)
    if spec.birth == "year":
        years = pd.to_numeric(s, errors="coerce")
        age = at.dt.year.astype(float) - years
        what = "year of birth"
    else:
        from creditscore.data.ingest import parse_dates

        born, _ = parse_dates(s)
        days = (at - born).dt.days.astype(float)
        age = np.floor(days / 365.2425)
        what = "date of birth"
    age = age.where((age >= 0) & (age <= 120))
    return age, f"{what} -> age at {when}"


def read_groups(frame: pd.DataFrame, spec: GroupSpec) -> GroupLabels:
    """The groups of every row (missing values form their own group), how they were made
    and which spellings were merged."""
    if spec.columns:
        return _family(frame, spec)
    s = _need(frame, spec, spec.column)
    if spec.birth:
        age, how = _ages(spec, frame, s)
        edges = spec.bands or DEFAULT_AGE_BANDS
        labels, names = _band(age, edges, frame.index)
        return GroupLabels(labels, f"{how}, banded", (), (*names, MISSING_GROUP))
    if spec.bands:
        x = pd.to_numeric(s, errors="coerce")
        bad = int((x.isna() & s.notna()).sum())
        if bad:
            raise DataError(
                f"fairness group {spec.name!r}: column {spec.column!r} has {bad} non-numeric "
                "values but is banded"
            )
        labels, names = _band(x, spec.bands, frame.index)
        return GroupLabels(
            labels,
            "banded at " + ", ".join(_edge(b) for b in sorted(spec.bands)),
            (),
            (*names, MISSING_GROUP),
        )
    if spec.pattern:
        rx = re.compile(spec.pattern, re.IGNORECASE)

        def pick(v: Any) -> Any:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                return MISSING_GROUP
            m = rx.search(str(v))
            if not m:
                return "other"
            return (m.group(1) if m.groups() else m.group(0)).strip().lower()

        labels = pd.Series([pick(v) for v in s.astype(object)], index=frame.index, dtype=object)
        return _checked(spec, GroupLabels(labels, f"pattern {spec.pattern!r}"))
    if is_flag(s):
        label = _flag_label(spec.column)
        mask = flag_mask(s)
        labels = pd.Series(
            [MISSING_GROUP if pd.isna(v) else (label if v else _not(label)) for v in mask],
            index=frame.index,
            dtype=object,
        )
        return GroupLabels(labels, f"0/1 flag: {label} vs {_not(label)}", (), (label, _not(label)))
    return _checked(spec, _categories(spec, s))


def _categories(spec: GroupSpec, s: pd.Series) -> GroupLabels:
    present = s.dropna()
    texts = present.astype(str)
    found = protected_by_name(spec.column)
    uniques = list(pd.unique(texts))
    if found is None and len(uniques) <= 200:
        found = protected_by_values(uniques)
    sex = found is not None and found.attribute == "sex"

    def key(text: str) -> str:
        k = canonical_key(text)
        return _SEX_SYNONYMS.get(fold(k), k) if sex else k

    spellings = canonical_spellings(texts)  # canonical key -> most common spelling
    shown: dict[str, str] = {}
    counts = texts.value_counts()
    variants: dict[str, list[str]] = {}
    for text in counts.index:
        k = key(text)
        variants.setdefault(k, []).append(text)
        if k not in shown:
            shown[k] = k if sex and k in ("male", "female") else spellings[canonical_key(text)]
    mapping = {t: shown[key(t)] for t in uniques}
    labels = pd.Series(MISSING_GROUP, index=s.index, dtype=object)
    labels[present.index] = texts.map(mapping).to_numpy(dtype=object)
    notes = tuple(
        f"{', '.join(repr(v) for v in vs[:6])}{', ...' if len(vs) > 6 else ''} -> {shown[k]!r}"
        for k, vs in variants.items()
        if len(vs) > 1 or vs[0] != shown[k]
    )
    how = "categories, spellings merged by case and spaces" + (
        " and sex synonyms (M/male, F/female, ...)" if sex else ""
    )
    return GroupLabels(labels, how, notes)


def _family(frame: pd.DataFrame, spec: GroupSpec) -> GroupLabels:
    cols = [(c, _need(frame, spec, c)) for c in spec.columns]
    not_flags = [c for c, s in cols if not is_flag(s)]
    if not_flags:
        raise DataError(
            f"fairness group {spec.name!r}: columns {not_flags} are not 0/1 flags; a group "
            "read from several columns needs one 0/1 column per group"
        )
    labels_of = {c: _flag_label(c) for c, _ in cols}
    names = list(dict.fromkeys(labels_of.values()))  # female and is_female: one group
    m = np.column_stack(
        [
            flag_mask(s).map(lambda v: np.nan if pd.isna(v) else float(v)).to_numpy(float)
            for _, s in cols
        ]
    )
    hits = np.column_stack(
        [
            (m[:, [i for i, (c, _) in enumerate(cols) if labels_of[c] == n]] == 1).any(axis=1)
            for n in names
        ]
    )
    n_hits = hits.sum(axis=1)
    picked = np.asarray(names, dtype=object)[hits.argmax(axis=1)]
    out = np.where(n_hits == 1, picked, np.where(n_hits == 0, NONE_SET, SEVERAL_SET))
    out = np.where(np.isnan(m).all(axis=1), MISSING_GROUP, out)
    labels = pd.Series(out, index=frame.index, dtype=object)
    order = (*names, NONE_SET, SEVERAL_SET, MISSING_GROUP)
    named = [c if labels_of[c] == c else f"{c} -> {labels_of[c]}" for c, _ in cols]
    how = "one 0/1 column per group (" + ", ".join(named) + ")"
    return GroupLabels(labels, how, (), order)


def _checked(spec: GroupSpec, got: GroupLabels) -> GroupLabels:
    groups = [g for g in got.labels.unique() if g != MISSING_GROUP]
    if len(groups) > MAX_GROUPS:
        raise TooManyGroupsError(
            f"fairness group {spec.name!r}: column {spec.column!r} has {len(groups)} distinct "
            f"values; a group table compares at most {MAX_GROUPS}. Band it in the config: "
            f"fairness.groups: [{{name: {spec.name}, column: {spec.column}, bands: [25, 35, 50]}}] "
            "for a number (an age), birth: date for a date of birth, or a pattern whose first "
            "group is the group for text"
        )
    return got


def group_labels(frame: pd.DataFrame, spec: GroupSpec) -> pd.Series:
    """The group of every row (missing values form their own group)."""
    return read_groups(frame, spec).labels
