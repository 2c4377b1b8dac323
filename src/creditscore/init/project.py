"""``creditscore init``: look at a table and decide about every column.

Every column gets a role and a reason: the target; ids, dates, constants, empty columns,
leaks of the outcome and unusable columns are excluded; protected attributes are sensitive
(by name in four languages, as one 0/1 column per group, as dates of birth, or by values);
every model input gets its type (numeric or categorical), with the values that mean
"missing" proposed as special codes; inputs that predict a protected attribute on their own
are flagged as possible proxies; and each input is proposed as actionable or immutable for
counterfactuals. :func:`init_project` writes it all as a commented ``creditscore.yaml``
(:mod:`creditscore.init.yaml_writer`), one line per decision, and checks that file with the
same ``validate`` that ``train`` uses, so init never writes a config training would reject.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml

from creditscore.config import ProjectConfig, Scalar
from creditscore.data.ingest import is_categorical_dtype, read_table, to_numeric, validate
from creditscore.exceptions import ConfigError, DataError
from creditscore.explain.counterfactual import immutable_reason
from creditscore.explain.fairness.groups import (
    GroupSpec,
    TooManyGroupsError,
    default_groups,
    read_groups,
)
from creditscore.explain.fairness.protected import (
    AGE,
    Protected,
    protected_by_name,
    protected_by_values,
)
from creditscore.explain.fairness.proxies import DEFAULT_MIN_AUC, ProxyReport, proxy_scores
from creditscore.formatting import value_text
from creditscore.init.roles import (
    after_the_decision,
    birth_dates,
    date_check,
    id_reason,
    leakage_reason,
    spelling_note,
)
from creditscore.init.target import guess_target, resolve_target
from creditscore.init.types import SpecialCodes, column_type
from creditscore.outcome import Outcome

__all__ = ["ColumnDecision", "Inference", "infer_config", "init_project"]

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
    "high_cardinality",
]
EXCLUDED_ROLES: frozenset[str] = frozenset(
    {"id", "date", "constant", "all_missing", "leakage", "unusable", "high_cardinality"}
)


@dataclass(frozen=True)
class ColumnDecision:
    """What init decided about one column, and why (shown to the user). ``notes`` add what
    else init found: special codes, possible proxies, the counterfactual lever, the
    fairness grouping."""

    column: str
    role: Role
    reason: str
    notes: tuple[str, ...] = ()

    @property
    def excluded(self) -> bool:
        return self.role in EXCLUDED_ROLES

    @property
    def why(self) -> str:
        return "; ".join([self.reason, *self.notes])


@dataclass
class Inference:
    """Everything ``init`` found: one decision per column plus the target's labels, the
    special codes, fairness groups, possible proxies and counterfactual levers."""

    target: str
    positive: Scalar | list[Scalar]
    negative: list[Scalar]
    n_rows: int
    n_bads: int
    decisions: list[ColumnDecision]
    n_known: int = 0
    target_counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    decimal_comma: list[str] = field(default_factory=list)
    id_column: str | None = None
    date_column: str | None = None
    data_path: str | None = None
    name: str | None = None
    special_codes: dict[str, SpecialCodes] = field(default_factory=dict)
    protected: dict[str, Protected] = field(default_factory=dict)
    groups: list[GroupSpec] = field(default_factory=list)
    ungrouped: dict[str, str] = field(default_factory=dict)
    proxies: ProxyReport | None = None
    actionable: list[str] = field(default_factory=list)
    immutable: dict[str, str] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, str, str]]:
        """(column, role, why) per column in file order, for a table."""
        return [(d.column, d.role, d.why) for d in self.decisions]

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
        """Bads among the rows with a bad or good outcome."""
        return self.n_bads / self.n_known if self.n_known else float("nan")

    def decision(self, column: str) -> ColumnDecision:
        for d in self.decisions:
            if d.column == column:
                return d
        raise KeyError(column)


def _n_unique(s: pd.Series) -> int:
    try:
        return int(s.nunique(dropna=True))
    except TypeError:  # unhashable cells
        return int(s.astype(str).nunique(dropna=True))


def _input_frame(df: pd.DataFrame, inf: Inference) -> pd.DataFrame:
    """The inputs as a model would see them: numbers as numbers, special codes missing."""
    out = {}
    for col in inf.features:
        s = df[col]
        codes = inf.special_codes.get(col)
        if col in inf.numeric:
            values, _ = to_numeric(s, "," if col in inf.decimal_comma else ".")
            if codes:
                numbers = [float(c) for c in codes.codes if not isinstance(c, str)]
                values = values.mask(values.isin(numbers))
            out[col] = values
        else:
            out[col] = s.astype(object).where(s.notna(), None)
    return pd.DataFrame(out, index=df.index)


def infer_config(
    df: pd.DataFrame,
    target: str | None,
    positive: Scalar | Sequence[Scalar] | None = None,
    negative: Sequence[Scalar] | None = None,
    *,
    data_path: str | None = None,
    name: str | None = None,
    max_categories: int = 200,
    proxy_min_auc: float = DEFAULT_MIN_AUC,
    today: str | None = None,
) -> Inference:
    """Decide a role for every column of ``df``; see the module docstring."""
    if any(not isinstance(c, str) for c in df.columns):
        df = df.rename(columns=str)
    guessed = None
    if target is None:
        target, guessed = guess_target(df)
    choice = resolve_target(df, target, positive, negative)
    if guessed:
        choice.notes.insert(0, guessed)
    y = choice.y
    n_rows = len(df)
    decisions: dict[str, ColumnDecision] = {}
    inf = Inference(target, choice.positive, choice.negative, n_rows, choice.n_bads, [])
    inf.n_known, inf.target_counts, inf.notes = choice.n_known, choice.counts, choice.notes
    outcome = Outcome.of(choice.positive, choice.negative)
    inf.data_path, inf.name = data_path, name
    dates: list[tuple[str, int]] = []
    late: list[str] = []  # inputs whose names suggest values recorded after the decision

    for col in map(str, df.columns):
        s = df[col]
        if col == target:
            rate = 100.0 * inf.n_bads / max(1, inf.n_known)
            left_out = n_rows - inf.n_known
            decisions[col] = ColumnDecision(
                col,
                "target",
                f"target: {inf.n_bads} bads ({outcome.bad_text}) in {inf.n_known} rows "
                f"({rate:.1f} %)"
                + (f"; {left_out} rows without a bad or good outcome" if left_out else ""),
            )
            continue
        n_present = int(s.notna().sum())
        if n_present == 0:
            decisions[col] = ColumnDecision(col, "all_missing", "all values missing")
            continue
        n_unique = _n_unique(s)
        if n_unique == 1:
            only = s.dropna().iloc[0]
            missing = f" (and {n_rows - n_present} missing)" if n_present < n_rows else ""
            decisions[col] = ColumnDecision(
                col, "constant", f"constant: every value is {value_text(only)}{missing}"
            )
            continue
        found = protected_by_name(col)
        if found is not None:
            inf.protected[col] = found
            decisions[col] = ColumnDecision(col, "sensitive", found.reason())
            continue
        looks_date, n_bad_dates = date_check(s)
        if looks_date:
            dates.append((col, n_bad_dates))
            continue
        why_id = id_reason(s, col, n_rows, n_unique, n_present)
        if why_id:
            if inf.id_column is None and n_unique == n_rows and n_present == n_rows:
                inf.id_column = col
                why_id += " (data.id_column)"
            decisions[col] = ColumnDecision(col, "id", why_id)
            continue
        leak = leakage_reason(s, y, outcome.bad_text, outcome.good_text)
        if leak:
            decisions[col] = ColumnDecision(col, "leakage", leak)
            continue
        if is_categorical_dtype(s) and n_unique <= 200:
            by_values = protected_by_values(s.dropna().unique())
            if by_values is not None:
                inf.protected[col] = by_values
                decisions[col] = ColumnDecision(col, "sensitive", by_values.reason())
                continue
        kind = column_type(s, max_categories)
        if kind.kind is None:
            role: Role = "high_cardinality" if kind.refused == "high_cardinality" else "unusable"
            decisions[col] = ColumnDecision(col, role, kind.reason)
            continue
        if kind.special is not None:
            inf.special_codes[col] = kind.special
        if kind.kind == "numeric" and kind.decimal == ",":
            inf.decimal_comma.append(col)
        reason = kind.reason + (spelling_note(s) if kind.kind == "categorical" else "")
        after = after_the_decision(col)
        notes = (
            (f"POSSIBLE LEAKAGE by its name ({after!r}): exclude it if it was recorded after "
             "the decision",)
            if after
            else ()
        )  # fmt: skip
        decisions[col] = ColumnDecision(col, kind.kind, reason, notes)
        if after:
            late.append(col)

    if late:
        inf.notes.append(
            f"{len(late)} input(s) may hold what happened after the loan was granted, by "
            f"their names: {', '.join(late)}; a model must only see what was known at the "
            "application: add them to data.exclude if so"
        )
    _dates(df, inf, dates, decisions)
    inf.decisions = [decisions[str(c)] for c in df.columns]
    _groups(df, inf, today)
    _proxies(df, inf, proxy_min_auc)
    _levers(inf)
    return inf


def _dates(
    df: pd.DataFrame,
    inf: Inference,
    dates: list[tuple[str, int]],
    decisions: dict[str, ColumnDecision],
) -> None:
    """The application date (the first complete date column that is not a date of birth)
    and dates of birth by their values: 18 to 100 years before another date column."""
    clean = [c for c, bad in dates if bad == 0]
    births: dict[str, tuple[str, tuple[float, float]]] = {}
    for col in clean:
        for other in clean:
            if other != col and other not in births:
                ages = birth_dates(df[col], df[other])
                if ages is not None:
                    births[col] = (other, ages)
                    break
    for col, n_bad in dates:
        if col in births:
            at, (lo, hi) = births[col]
            evidence = f"dates 18 to 100 years before {at}, ages {lo:.0f} to {hi:.0f}"
            inf.protected[col] = Protected(AGE, "date of birth", evidence)
            decisions[col] = ColumnDecision(
                col, "sensitive", f"protected: age, a date of birth (by values: {evidence})"
            )
            continue
        if inf.date_column is None and n_bad == 0:
            inf.date_column = col
            reason = "date: used for the out-of-time split (data.date_column)"
        elif n_bad:
            reason = (
                f"date-like, but {n_bad} values are missing or not dates; fix them "
                "and set data.date_column to use it for the out-of-time split"
            )
        else:
            reason = ""  # another date column: said below, once the date column is known
        decisions[col] = ColumnDecision(col, "date", reason)
    for col, _ in dates:
        if decisions[col].reason == "":
            decisions[col] = ColumnDecision(
                col, "date", f"another date column (data.date_column is {inf.date_column!r})"
            )


def _note(inf: Inference, column: str, note: str) -> None:
    inf.decisions = [
        ColumnDecision(d.column, d.role, d.reason, (*d.notes, note)) if d.column == column else d
        for d in inf.decisions
    ]


def _groups(df: pd.DataFrame, inf: Inference, today: str | None) -> None:
    """How fairness will group each protected attribute (written under fairness.groups)."""
    sensitive = inf.sensitive
    if not sensitive:
        return
    reference = today or datetime.now(UTC).date().isoformat()
    specs = default_groups(sensitive, df, date_column=inf.date_column, reference_date=reference)
    kept = []
    for spec in specs:
        for col in spec.source_columns:
            found = inf.protected.get(col)
            if found is not None and found.form == "date of birth" and not spec.birth:
                spec = GroupSpec(
                    spec.name, spec.column, (25, 35, 50), None, (), "date", inf.date_column,
                    reference, True,
                )  # fmt: skip
        try:
            got = read_groups(df, spec)
        except TooManyGroupsError as exc:
            for col in spec.source_columns:
                inf.ungrouped[col] = str(exc)
                _note(inf, col, "fairness: not assessed until banded (see fairness.groups)")
            continue
        except (DataError, ValueError) as exc:
            for col in spec.source_columns:
                inf.ungrouped[col] = str(exc)
            continue
        kept.append(spec)
        how = got.how if spec.birth or spec.bands or not got.how.startswith("one 0/1") else ""
        for col in spec.source_columns:
            _note(inf, col, f"fairness: {spec.name!r}, {how or spec.kind_text}")
    inf.groups = kept


def _proxies(df: pd.DataFrame, inf: Inference, min_auc: float) -> None:
    if not inf.groups or not inf.features:
        return
    labels = pd.DataFrame(
        {s.name: read_groups(df, s).labels.to_numpy() for s in inf.groups}, index=df.index
    )
    inf.proxies = proxy_scores(_input_frame(df, inf), inf.numeric, labels, min_auc=min_auc)
    for score in inf.proxies.strong:
        _note(inf, score.feature, f"POSSIBLE PROXY of {score.text()}")


def _levers(inf: Inference) -> None:
    for col in inf.features:
        why = immutable_reason(col)
        if why is None:
            inf.actionable.append(col)
        else:
            inf.immutable[col] = why
            _note(inf, col, f"immutable for counterfactuals: {why}")


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
    data: Path,
    target: str | None,
    positive: Scalar | Sequence[Scalar] | None,
    output: Path,
    *,
    negative: Sequence[Scalar] | None = None,
    force: bool = False,
) -> Inference:
    """Infer a config from ``data`` and write it to ``output``.

    The config is checked with :func:`validate` before it is written: init never leaves
    behind a config that ``train`` would reject.
    """
    from creditscore.init.yaml_writer import render_yaml

    data, output = Path(data), Path(output)
    if output.exists() and not force:
        raise ConfigError(f"{output} already exists; pass --force to overwrite it")
    df = read_table(data)
    inf = infer_config(
        df,
        target,
        positive,
        negative,
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
            f"{exc}\n(init wrote nothing: fix the data, or pass --target/--positive/--negative, "
            "and run "
            "init again)"
        ) from None
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    ProjectConfig.from_yaml(output)
    return inf
