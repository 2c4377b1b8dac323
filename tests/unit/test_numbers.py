"""Numbers written as text: one reading for training, the pipeline, batch and monitoring."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from creditscore.features.numbers import (
    decimal_separator,
    is_formatted,
    parse_number,
    parse_numbers,
)


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        (" 13.95%", ".", 13.95),
        ("$3,174.37", ".", 3174.37),
        ("USD 1,200.50", ".", 1200.5),
        ("-$1,200", ".", -1200.0),
        ("(250.00)", ".", -250.0),
        ("1\u00a0234.5", ".", 1234.5),
        ("1'234.5", ".", 1234.5),
        ("1e5", ".", 100000.0),
        ("1,234", ".", 1234.0),
        ("9.081,10", ",", 9081.1),
        ("1.234", ",", 1234.0),
        ("1,234", ",", 1.234),
        ("15,5", ",", 15.5),
        ("1 234,5", ",", 1234.5),
        ("1.200 EUR", ",", 1200.0),
        ("€ 12,50", ",", 12.5),
    ],
)
def test_numbers_written_for_people(text: str, decimal: str, expected: float) -> None:
    assert parse_number(text, decimal) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("text", ["n/a", "12k", "RES001", "1.2.3", "inf", "-inf", "1,2,3.4.5", ""])
def test_texts_that_are_not_numbers(text: str) -> None:
    assert parse_number(text, ".") is None
    assert parse_number(text, ",") is None


def test_nan_text_is_missing_not_an_error() -> None:
    assert math.isnan(parse_number("nan"))  # type: ignore[arg-type]
    values, bad = parse_numbers(pd.Series(["nan", "", "  ", None, "x"], dtype=object))
    assert np.isnan(values).all()
    assert bad.tolist() == [False, False, False, False, True]


def test_a_column_mixes_numbers_formatted_texts_and_codes() -> None:
    s = pd.Series([1.5, "13.95%", None, "n/a", "$1,200", 7], dtype=object)
    values, bad = parse_numbers(s)
    assert values[[0, 1, 4, 5]].tolist() == [1.5, 13.95, 1200.0, 7.0]
    assert bad.tolist() == [False, False, False, True, False, False]
    numbers = pd.Series([1.0, np.nan, 3.0])
    assert parse_numbers(numbers)[0][[0, 2]].tolist() == [1.0, 3.0]


def test_the_decimal_separator_of_a_column() -> None:
    assert decimal_separator(pd.Series(["9.081,10", "15.745,33", "2.482,30"])) == ","
    assert decimal_separator(pd.Series(["15,5", "3,25", "1.234.567"])) == ","
    assert decimal_separator(pd.Series(["3,174.37", "1,200", "12.5%"])) == "."
    # 1,234 alone could be either: a decimal point, as most tables have
    assert decimal_separator(pd.Series(["1,234", "5,678"])) == "."


def test_formatted_means_more_than_a_plain_number() -> None:
    assert is_formatted("13.95%")
    assert is_formatted("9.081,10")
    assert not is_formatted("13.95")
    assert not is_formatted("n/a")


def test_the_schema_writes_the_decimal_only_where_it_is_a_comma() -> None:
    from creditscore.data.schema import InputSchema

    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    schema = InputSchema.from_frame(frame, ["a", "b"], [], decimal_comma=["b"])
    fields = schema.to_dict()["fields"]
    assert "decimal" not in fields[0]  # an older reader loads it
    assert fields[1]["decimal"] == ","
    assert InputSchema.from_dict(schema.to_dict()) == schema


def test_infinities_in_an_object_column_are_not_numbers() -> None:
    values, bad = parse_numbers(pd.Series([1.0, float("inf"), "2"], dtype=object))
    assert bad.tolist() == [False, True, False]
    assert values[[0, 2]].tolist() == [1.0, 2.0]
