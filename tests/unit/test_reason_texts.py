"""The numbers of reason texts: the frame formatter writes what the one-value rule writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from creditscore.reason_texts import format_number, number_texts, slot_column, texts

EDGES = [
    0.0, -0.0, 0.4, -0.4, 0.5, 1.5, 2.5, -2.5, 9.0, 10.0, 999.0, 1000.0, 9999.0, 9999.4,
    9999.5, 9999.6, -9999.6, 10000.0, -10000.0, 12345.0, -12345.5, 99999.5, 100000.0,
    123456789.0, -987654321012.0, 2.0**53, 2.0**62, -(2.0**62), 1e19, -3e20, 0.125, 1e-7,
    3.14159, -2.71828, 12345.678, 1.23e15 + 0.5,
]  # fmt: skip


@pytest.mark.parametrize("integer", [True, False])
def test_frame_numbers_are_the_one_value_rule(integer: bool) -> None:
    rng = np.random.default_rng(7)
    x = np.concatenate(
        [
            EDGES,
            np.round(rng.normal(0, 1e6, 5_000)),
            rng.normal(0, 50, 2_000),
            rng.integers(-30_000, 30_000, 3_000).astype(float),
        ]
    )
    got = number_texts(x, integer).to_pylist()
    assert got == [format_number(v, integer) for v in x.tolist()]


def test_grouping_follows_the_value_before_rounding() -> None:
    assert number_texts(np.array([9999.6, 10000.0, -12345.0]), True).to_pylist() == [
        "10000",
        "10 000",
        "-12 345",
    ]


def test_texts_join_the_pieces_by_state() -> None:
    numbers = number_texts(np.array([1.0, 20000.0, 3.0]), True)
    got = texts("Amount: ", numbers, ["", "", " (above)", " (below)"], np.array([2, 3, 1]))
    assert got.to_pylist() == ["Amount: 1 (above)", "Amount: 20 000 (below)", "Amount: 3"]


def test_a_slot_puts_each_feature_s_texts_back_on_its_rows() -> None:
    parts = [
        (np.array([4, 0]), pa.array(["a4", "a0"])),
        (np.array([2]), pa.array(["b2"], pa.large_string())),
    ]
    column = slot_column(6, parts)
    assert isinstance(column, pd.arrays.ArrowStringArray)
    values = column.tolist()
    assert [v if isinstance(v, str) else None for v in values] == [
        "a0", None, "b2", None, "a4", None,
    ]  # fmt: skip
    assert slot_column(3, []).isna().all()
