"""Input side of a compiled pipeline: ``InputCleaner`` and the family preprocessing.

A categorical column becomes a lookup from value to whatever the model consumes (ordinal
code, one-hot column, scorecard contribution), learnt by pushing every known value, a
missing value and an unseen value through the fitted transformers themselves; numbers keep
their imputation and scaling constants. One application is encoded with dict lookups;
a frame with one ``factorize`` per column, shared by every member of a blend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from creditscore.compiled.base import Values, require
from creditscore.compiled.probes import category_probes, cleaned_probe_frame
from creditscore.data.schema import InputSchema
from creditscore.features.derived import RowEvaluator, date_days, evaluate_frame
from creditscore.features.numbers import parse_numbers
from creditscore.features.spelling import canonical_key

if TYPE_CHECKING:  # compiling reads these; a compiled model needs none of them
    from creditscore.features.preprocess import InputCleaner


@dataclass(frozen=True)
class CategoryCodes:
    """What one categorical column becomes in a model's input, by cleaned value."""

    table: dict[str, Any]  # cleaned value -> code
    missing: Any  # missing value (or special code)
    unknown: Any  # any value the model did not see in training


class Cleaner:
    """A fitted :class:`InputCleaner` as lookups, for one application or a whole frame.

    ``features`` are the cleaner's output columns, the model's features (numbers first,
    then categories): contributions are keyed by them, looked up by name, so a column the
    cleaner derives from several inputs would be one player of its own.
    """

    def __init__(self, cleaner: InputCleaner, schema: InputSchema) -> None:
        from creditscore.features.preprocess import InputCleaner

        require(type(cleaner) is InputCleaner, "the pipeline does not start with InputCleaner")
        self.inputs = [str(c) for c in cleaner.numeric]  # numbers read from the application
        self.categorical = [str(c) for c in cleaner.categorical]
        # derived features (features/derived.py's own evaluators): numbers the encoders read
        # after the inputs, from positions past the schema's (see ``extend``)
        self.derived = [str(c) for c in getattr(cleaner, "derived_names_", [])]
        self.numeric = [*self.inputs, *self.derived]
        self.features = [*self.numeric, *self.categorical]
        fields = {f.name: f for f in schema.fields}
        for col in self.inputs:
            require(
                col in fields and fields[col].kind == "numeric", f"{col!r} is not a numeric field"
            )
        for col in self.categorical:
            require(
                col in fields and fields[col].kind == "categorical",
                f"{col!r} is not a categorical field",
            )
        self.position = {name: i for i, name in enumerate(schema.names)}
        for k, name in enumerate(self.derived):
            self.position[name] = len(schema.names) + k
        self._row = RowEvaluator(cleaner.derived_) if self.derived else None
        self._derived_features = list(getattr(cleaner, "derived_", []))
        self._reads = (
            [(c, self.position[c]) for c in [*self.inputs, *cleaner.extra_numeric_]]
            if self.derived
            else []
        )
        self._dates = [(c, self.position[c]) for c in cleaner.date_inputs_] if self.derived else []
        self.categories = {col: list(fields[col].categories or []) for col in self.categorical}
        self.spellings = {col: dict(cleaner.spellings_[col]) for col in self.categorical}
        self.decimal = schema.decimals
        special = cleaner.special_
        self.special_numbers = {
            col: tuple(float(c) for c in special.get(col, ()))
            for col in [*self.numeric, *getattr(cleaner, "extra_numeric_", [])]
        }
        self.special_strings = {
            col: frozenset(str(c) for c in special.get(col, ())) for col in self.categorical
        }

    def extend(self, values: Values) -> Values:
        """One validated application with its derived features appended (as InputCleaner
        computes them: special codes missing first)."""
        if self._row is None:
            return values
        numbers = {}
        for col, pos in self._reads:
            v = values[pos]
            codes = self.special_numbers.get(col)
            numbers[col] = math.nan if v != v or (codes and v in codes) else v
        dates = {col: values[pos] for col, pos in self._dates}
        return [*values, *self._row.values(numbers, dates)]

    def clean(self, column: str, value: str) -> str | None:
        """InputCleaner's output for a present value (``None``: a special code, missing)."""
        if value in self.special_strings[column]:
            return None
        return self.spellings[column].get(canonical_key(value), value)

    def known_values(self, column: str) -> list[str]:
        return sorted(set(self.spellings[column].values()))

    # ------------------------------------------------------------- one application
    def numeric_plan(self) -> list[tuple[int, tuple[float, ...]]]:
        return [(self.position[c], self.special_numbers[c]) for c in self.numeric]

    def category_lookup(self, column: str, codes: CategoryCodes) -> dict[Any, Any]:
        """Validated value (a schema category, or None) -> code for this column."""
        out: dict[Any, Any] = {None: codes.missing}
        for value in self.categories[column]:
            cleaned = self.clean(column, value)
            out[value] = (
                codes.missing if cleaned is None else codes.table.get(cleaned, codes.unknown)
            )
        return out

    # ------------------------------------------------------------- frames
    def _number(self, frame: Frame, col: str) -> np.ndarray:
        values = frame.number(col, self.decimal.get(col, "."))
        codes = self.special_numbers.get(col)
        if codes:
            values = np.where(np.isin(values, codes), np.nan, values)
        return values

    def numbers(self, frame: Frame, out: np.ndarray | None = None) -> np.ndarray:
        """The numeric columns as InputCleaner makes them: float64, special codes -> NaN,
        then the derived features (written into ``out`` when given: a (rows, numbers)
        float64 array or view)."""
        if out is None:
            out = np.empty((frame.n, len(self.numeric)), dtype=np.float64)
        for j, col in enumerate(self.inputs):
            out[:, j] = self._number(frame, col)
        if self.derived:
            numbers = {c: self._number(frame, c) for c, _ in self._reads}
            dates = {c: date_days(frame.frame[c]) for c, _ in self._dates}
            got = evaluate_frame(self._derived_features, numbers, dates, frame.n)
            for k, name in enumerate(self.derived):
                out[:, len(self.inputs) + k] = got[name]
        return out

    def encode_column(
        self, frame: Frame, column: str, codes: CategoryCodes, dtype: Any
    ) -> np.ndarray:
        """One categorical column of a raw frame -> its codes (each distinct value once)."""
        idx, values = frame.factorized(column)
        mapped = []
        for v in values:
            cleaned = self.clean(column, v)
            mapped.append(
                codes.missing if cleaned is None else codes.table.get(cleaned, codes.unknown)
            )
        lookup = np.array([*mapped, codes.missing], dtype=dtype)
        return lookup[idx]  # idx -1 (missing) takes the last entry


class Frame:
    """A raw frame being scored; each column is converted once for every member model."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.n = len(frame)
        self._numbers: dict[str, np.ndarray] = {}
        self._factors: dict[str, tuple[np.ndarray, list[str]]] = {}

    def number(self, column: str, decimal: str = ".") -> np.ndarray:
        """float64 values, texts read as :func:`creditscore.features.numbers.parse_numbers` reads
        them (a text that is no number: NaN; no special codes)."""
        key = column if decimal == "." else f"{column}\x00{decimal}"
        if key not in self._numbers:
            s = self.frame[column]
            if isinstance(s.dtype, np.dtype) and s.dtype.kind in "fiub":
                values = s.to_numpy(dtype=np.float64)
            else:
                values = parse_numbers(s, decimal)[0]
            self._numbers[key] = values
        return self._numbers[key]

    def factorized(self, column: str) -> tuple[np.ndarray, list[str]]:
        """Codes (-1: missing) and the distinct present values as InputCleaner sees them."""
        if column not in self._factors:
            series = self.frame[column]
            idx, uniques = pd.factorize(series, use_na_sentinel=True)
            values = list(uniques)
            if not all(type(v) is str for v in values):
                # Mixed types: equal-hashing values (1 and 1.0) must still be told apart,
                # as InputCleaner does, by their text.
                present = series.notna().to_numpy()
                text = np.full(len(series), None, dtype=object)
                text[present] = series[present].astype(str).to_numpy(dtype=object)
                idx, uniques = pd.factorize(text, use_na_sentinel=True)
                values = list(uniques)
            self._factors[column] = (np.asarray(idx, dtype=np.intp), values)
        return self._factors[column]


def probe_categories(
    cleaner: Cleaner, ct: Any, categories: Sequence[Any]
) -> tuple[dict[str, list[Any]], np.ndarray]:
    """Every known, missing and unseen level of each category (the encoder's ``categories``
    included), and what the fitted ColumnTransformer ``ct`` makes of them, row by row."""
    probes = category_probes(
        cleaner,
        {
            c: [v for v in cats if isinstance(v, str)]
            for c, cats in zip(cleaner.categorical, categories, strict=True)
        },
    )
    frame = cleaned_probe_frame(cleaner, cleaner.features, probes)
    return probes, np.asarray(ct.transform(frame), dtype=np.float64)


def codes_from_probe(values: list[Any], results: list[Any]) -> CategoryCodes:
    known = len(values) - 2
    return CategoryCodes(
        table={values[i]: results[i] for i in range(known)},
        missing=results[known],
        unknown=results[known + 1],
    )


class Encoder(Protocol):
    """Validated values or a raw frame -> the model's input matrix.

    ``owner[j]`` is the position in ``features`` (the cleaner's output columns) of the
    feature that matrix column ``j`` comes from.
    """

    width: int
    features: list[str]
    owner: np.ndarray

    def one(self, values: Values) -> list[float]: ...
    def many(self, frame: Frame) -> np.ndarray: ...


def column_transformer_blocks(ct: Any, cleaner: Cleaner) -> tuple[Any, Any]:
    """The fitted (numeric, categorical) transformers of a family ColumnTransformer."""
    from sklearn.compose import ColumnTransformer

    require(type(ct) is ColumnTransformer, "preprocessing is not a ColumnTransformer")
    require(ct.remainder == "drop", "the ColumnTransformer keeps remainder columns")
    blocks = {name: (trans, list(cols)) for name, trans, cols in ct.transformers_}
    require(set(blocks) <= {"num", "cat", "remainder"}, "unexpected ColumnTransformer blocks")
    num, num_cols = blocks.get("num", (None, []))
    cat, cat_cols = blocks.get("cat", (None, []))
    require(num_cols == cleaner.numeric and cat_cols == cleaner.categorical, "column order differs")
    idx = ct.output_indices_
    require(idx["num"].start == 0, "numeric block is not first")
    if cleaner.categorical:
        require(idx["cat"].start == idx["num"].stop, "categorical block does not follow")
    return (num if cleaner.numeric else None), (cat if cleaner.categorical else None)


class TreeEncoder:
    """``ordinal`` family: numbers as they are, categories as ordinal codes (unseen -> NaN)."""

    def __init__(self, cleaner: Cleaner, ct: Any) -> None:
        from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

        num, cat = column_transformer_blocks(ct, cleaner)
        if num is not None:
            require(
                type(num) is FunctionTransformer and num.func is None and num.inverse_func is None,
                "numeric block of the ordinal family is not a passthrough",
            )
        self.cleaner = cleaner
        self.features = cleaner.features
        n_num = len(cleaner.numeric)
        self.width = n_num + len(cleaner.categorical)
        self.owner = np.arange(self.width, dtype=np.int64)
        self.codes: dict[str, CategoryCodes] = {}
        if cat is not None:
            require(type(cat) is OrdinalEncoder, "categorical block is not an OrdinalEncoder")
            probes, out = probe_categories(cleaner, ct, cat.categories_)
            for j, col in enumerate(cleaner.categorical):
                vals = probes[col]
                self.codes[col] = codes_from_probe(
                    vals, [float(out[i, n_num + j]) for i in range(len(vals))]
                )
        self.numeric_plan = cleaner.numeric_plan()
        self.category_plan = [
            (cleaner.position[c], cleaner.category_lookup(c, self.codes[c]))
            for c in cleaner.categorical
        ]

    def one(self, values: Values) -> list[float]:
        row: list[float] = []
        for pos, special in self.numeric_plan:
            v = values[pos]
            row.append(math.nan if special and v in special else v)
        for pos, lookup in self.category_plan:
            row.append(lookup[values[pos]])
        return row

    def many(self, frame: Frame) -> np.ndarray:
        # column-major: each column is written in one contiguous pass, and the binned tree
        # kernel reads a feature's values contiguously (the others take a C-ordered copy)
        c = self.cleaner
        X = np.empty((frame.n, self.width), dtype=np.float64, order="F")
        n_num = len(c.numeric)
        if n_num:
            c.numbers(frame, X[:, :n_num])
        for j, col in enumerate(c.categorical):
            X[:, n_num + j] = c.encode_column(frame, col, self.codes[col], np.float64)
        return X


class LinearEncoder:
    """``onehot`` family: median imputation + missing indicators, scaling, one-hot."""

    def __init__(self, cleaner: Cleaner, prep: Any) -> None:
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

        from creditscore.features.preprocess import _to_float32

        self.float32 = False
        ct = prep
        if type(prep) is Pipeline:
            require(len(prep.steps) == 2, "unexpected preprocessing pipeline")
            ct, f32 = prep.steps[0][1], prep.steps[1][1]
            require(
                type(f32) is FunctionTransformer and f32.func is _to_float32,
                "unexpected step after the ColumnTransformer",
            )
            self.float32 = True
        num, cat = column_transformer_blocks(ct, cleaner)
        self.cleaner = cleaner
        self.features = cleaner.features
        n_num = len(cleaner.numeric)
        width_num = ct.output_indices_["num"].stop
        self.width = ct.output_indices_["cat"].stop if cleaner.categorical else width_num
        # numeric block: SimpleImputer(median, add_indicator) -> StandardScaler
        self.median = np.zeros(n_num)
        self.mean = np.zeros(width_num)
        self.scale = np.ones(width_num)
        self.indicator: list[int] = []  # numeric column j -> has an indicator column
        if num is not None:
            require(type(num) is Pipeline and len(num.steps) == 2, "unexpected numeric block")
            imp, scaler = num.steps[0][1], num.steps[1][1]
            require(
                type(imp) is SimpleImputer and type(scaler) is StandardScaler,
                "unexpected numeric steps",
            )
            require(
                imp.strategy in ("median", "mean", "most_frequent", "constant")
                and isinstance(imp.missing_values, float)
                and math.isnan(imp.missing_values),
                "numeric imputer does not impute NaN",
            )
            stats = np.asarray(imp.statistics_, dtype=np.float64)
            require(not np.isnan(stats).any(), "an imputed column was empty in training")
            self.median = stats
            self.indicator = list(imp.indicator_.features_) if imp.indicator_ is not None else []
            require(width_num == n_num + len(self.indicator), "numeric block width differs")
            if scaler.mean_ is not None and scaler.with_mean:
                self.mean = np.asarray(scaler.mean_, dtype=np.float64)
            if scaler.scale_ is not None and scaler.with_std:
                self.scale = np.asarray(scaler.scale_, dtype=np.float64)
        owner = [*range(n_num), *self.indicator]
        # categorical block: SimpleImputer(constant) -> OneHotEncoder, probed value by value
        self.codes: dict[str, CategoryCodes] = {}
        if cat is not None:
            require(type(cat) is Pipeline, "unexpected categorical block")
            onehot = cat.steps[-1][1]
            require(
                type(onehot) is OneHotEncoder and onehot.drop_idx_ is None,
                "unexpected one-hot step",
            )
            sizes = list(onehot._n_features_outs)
            require(len(sizes) == len(cleaner.categorical), "one-hot width per column unknown")
            probes, out = probe_categories(cleaner, ct, onehot.categories_)
            offset = width_num
            for j, col in enumerate(cleaner.categorical):
                block = out[:, offset : offset + sizes[j]]
                results = []
                for i in range(len(probes[col])):
                    hot = np.flatnonzero(block[i])
                    require(
                        len(hot) <= 1 and bool(np.all(block[i][hot] == 1.0)),
                        "one-hot block is not one-hot",
                    )
                    results.append(int(offset + hot[0]) if len(hot) else -1)
                self.codes[col] = codes_from_probe(probes[col], results)
                owner += [n_num + j] * sizes[j]
                offset += sizes[j]
            require(offset == self.width, "one-hot widths do not add up")
        require(len(owner) == self.width, "encoded columns without a feature")
        self.owner = np.asarray(owner, dtype=np.int64)
        self.numeric_plan = [
            (pos, special, float(self.median[j]), float(self.mean[j]), float(self.scale[j]))
            for j, (pos, special) in enumerate(cleaner.numeric_plan())
        ]
        # indicator column k (of numeric column j): its two possible scaled values
        self.indicator_plan = [
            (j, n_num + k, *self._scaled_indicator(n_num + k)) for k, j in enumerate(self.indicator)
        ]
        self.category_plan = [
            (cleaner.position[c], cleaner.category_lookup(c, self.codes[c]))
            for c in cleaner.categorical
        ]

    def _scaled_indicator(self, col: int) -> tuple[float, float]:
        mean, scale = float(self.mean[col]), float(self.scale[col])
        return (0.0 - mean) / scale, (1.0 - mean) / scale

    def one(self, values: Values) -> list[float]:
        row = [0.0] * self.width
        missing = []
        for j, (pos, special, median, mean, scale) in enumerate(self.numeric_plan):
            v = values[pos]
            gone = v != v or bool(special and v in special)
            missing.append(gone)
            row[j] = ((median if gone else v) - mean) / scale
        for j, col, off, on in self.indicator_plan:
            row[col] = on if missing[j] else off
        for pos, lookup in self.category_plan:
            hot = lookup[values[pos]]
            if hot >= 0:
                row[hot] = 1.0
        if self.float32:
            return np.asarray(row, dtype=np.float32).astype(np.float64)  # type: ignore[return-value]
        return row

    def many(self, frame: Frame) -> np.ndarray:
        c = self.cleaner
        n = frame.n
        X = np.zeros((n, self.width), dtype=np.float64)
        n_num = len(c.numeric)
        if n_num:
            num = c.numbers(frame)
            gone = np.isnan(num)
            imputed = np.where(gone, self.median, num)
            X[:, :n_num] = (imputed - self.mean[:n_num]) / self.scale[:n_num]
            for j, pos, off, on in self.indicator_plan:
                X[:, pos] = np.where(gone[:, j], on, off)
        rows = np.arange(n)
        for col in c.categorical:
            hot = c.encode_column(frame, col, self.codes[col], np.intp)
            ok = hot >= 0
            X[rows[ok], hot[ok]] = 1.0
        if self.float32:
            X = X.astype(np.float32).astype(np.float64)
        return X
