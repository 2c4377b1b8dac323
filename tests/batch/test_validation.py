"""Rejects are exactly what ``Scorer.validate`` refuses, with the Scorer's own message."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditscore.batch import BatchModel
from creditscore.batch.validation import RowValidator
from creditscore.exceptions import ScoringInputError

NUMERIC = "credit_amount"
CATEGORY = "purpose"


def scorer_verdict(model: BatchModel, row: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    try:
        return model.scorer.validate(row), ""
    except ScoringInputError as exc:
        return None, str(exc)


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def same_value(a: Any, b: Any) -> bool:
    """Equal, or both missing (the Scorer gives NaN for a number, None for a category)."""
    if missing(a) or missing(b):
        return missing(a) and missing(b)
    return bool(a == b)


def check_agrees(model: BatchModel, frame: pd.DataFrame) -> None:
    """Every row: refused by the validator iff by the Scorer, with the Scorer's message for
    the first bad field; accepted rows carry the Scorer's validated values."""
    validator = RowValidator(model.scorer, text=False)
    cleaned, known = validator.clean_objects(frame)
    checked = validator.check(pa.Table.from_pandas(cleaned, preserve_index=False), known)
    first = {}
    for p in checked.problems:
        first.setdefault(p.position, p)
    inputs = checked.inputs
    kept = 0
    for i, row in enumerate(frame.to_dict("records")):
        values, message = scorer_verdict(model, row)
        if values is None:
            assert not checked.valid[i], f"row {i}: the Scorer refuses ({message}), we accept"
            assert first[i].reason == message
            assert first[i].field in message
            continue
        assert checked.valid[i], f"row {i}: we refuse ({first.get(i)}), the Scorer accepts"
        for name, expected in values.items():
            got = inputs[name].iloc[kept]
            if isinstance(got, np.generic):
                got = got.item()
            assert same_value(expected, got), (i, name, expected, got)
        kept += 1
    assert kept == len(inputs)


def test_every_kind_of_bad_value(model: BatchModel, bundle) -> None:  # type: ignore[no-untyped-def]
    from .helpers import portfolio

    frame = portfolio(12)[bundle.features].astype(object)
    known = bundle.schema.field(CATEGORY).categories[0]
    cases = [
        (NUMERIC, "abc"),  # text in a numeric field
        (NUMERIC, "inf"),  # infinity, as text
        (NUMERIC, float("-inf")),  # infinity, as a number
        (NUMERIC, " 1200 "),  # a number with spaces: fine
        (NUMERIC, "1e400"),  # overflows to infinity
        (NUMERIC, True),  # a boolean is not a number
        (CATEGORY, "spaceship"),  # unknown category
        (CATEGORY, "  " + known.upper()),  # a spelling variant: fine, normalised
        (CATEGORY, None),  # missing: fine
        (NUMERIC, None),
        (NUMERIC, "NA"),  # not a number for the API (a CSV would call it missing)
    ]
    for i, (col, value) in enumerate(cases):
        frame.at[i, col] = value
    frame.at[11, NUMERIC] = "x"
    frame.at[11, CATEGORY] = "y"  # two bad fields in one row: both listed
    check_agrees(model, frame)
    validator = RowValidator(model.scorer, text=False)
    cleaned, known = validator.clean_objects(frame)
    checked = validator.check(pa.Table.from_pandas(cleaned, preserve_index=False), known)
    assert [p.position for p in checked.problems].count(11) == 2
    assert checked.n_rejected == 8  # abc, inf, -inf, 1e400, True, spaceship, NA, row 11


def test_csv_text_conventions(model: BatchModel, bundle) -> None:  # type: ignore[no-untyped-def]
    """From a CSV, empty cells and pandas' markers ("NA", "null") are missing values."""
    from .helpers import portfolio

    frame = portfolio(6)[bundle.features].astype(str)
    frame.loc[0, NUMERIC] = "NA"
    frame.loc[1, NUMERIC] = ""
    frame.loc[2, CATEGORY] = "null"
    frame.loc[3, NUMERIC] = "12,5"
    frame.loc[4, NUMERIC] = "-inf"
    frame.loc[5, NUMERIC] = "1e999"
    table = pa.Table.from_pandas(frame, preserve_index=False)
    checked = RowValidator(model.scorer, text=True).check(table)
    assert checked.valid.tolist() == [True, True, True, False, False, False]
    assert np.isnan(checked.inputs[NUMERIC].iloc[:2]).all()
    assert [p.reason for p in checked.problems] == [
        "field 'credit_amount': expected a number, got '12,5'",
        "field 'credit_amount': expected a finite number, got '-inf'",
        "field 'credit_amount': expected a finite number, got '1e999'",
    ]
    # the same text from a frame (the API's reading) is refused
    assert not RowValidator(model.scorer, text=False).check(table).valid[0]


cells = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.sampled_from(["12", " 7 ", "1e3", "nan", "inf", "-inf", "abc", "", "1_000", "0x1f"]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_agrees_with_the_scorer_on_random_values(model: BatchModel, bundle, data) -> None:  # type: ignore[no-untyped-def]
    from .helpers import portfolio

    frame = portfolio(8, seed=3)[bundle.features].astype(object)
    levels = bundle.schema.field(CATEGORY).categories
    words = st.one_of(
        st.none(),
        st.sampled_from(levels),
        st.sampled_from([v.upper() for v in levels] + ["", "other thing", " "]),
        st.integers(0, 3),
    )
    as_text = data.draw(st.booleans())  # all text: the vectorised cast, not the per-value path
    for i in range(len(frame)):
        value = data.draw(cells)
        frame.at[i, NUMERIC] = (None if value is None else str(value)) if as_text else value
        frame.at[i, CATEGORY] = data.draw(words)
    check_agrees(model, frame)


def test_infinity_in_a_float_column(model: BatchModel, bundle) -> None:  # type: ignore[no-untyped-def]
    from .helpers import portfolio

    frame = portfolio(3)[bundle.features].astype({NUMERIC: float})
    frame.loc[1, NUMERIC] = np.inf
    check_agrees(model, frame)
    checked = RowValidator(model.scorer, text=False).check(
        pa.Table.from_pandas(frame, preserve_index=False)
    )
    assert checked.valid.tolist() == [True, False, True]
    assert checked.problems[0].reason == (
        "field 'credit_amount': expected a finite number, got inf"
    )


@pytest.mark.parametrize("kind", ["int64", "float32", "decimal"])
def test_parquet_number_types_are_numbers(model: BatchModel, bundle, kind: str) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from .helpers import portfolio

    frame = portfolio(3)[bundle.features]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    column = table.column(NUMERIC)
    if kind == "float32":
        column = column.cast(pa.float32())
    elif kind == "decimal":
        column = pa.array([Decimal(v) for v in frame[NUMERIC]], pa.decimal128(12, 2))
    table = table.set_column(table.schema.get_field_index(NUMERIC), NUMERIC, column)
    checked = RowValidator(model.scorer, text=False).check(table)
    assert checked.valid.all()
    assert checked.inputs[NUMERIC].tolist() == [float(v) for v in frame[NUMERIC]]
