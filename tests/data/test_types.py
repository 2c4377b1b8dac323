"""Types that hold: special codes, sentinels and high cardinality as ``init`` proposes them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditscore.init.types import column_type, numeric_sentinels


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0, 3, 7, 29, -999, -999, 12], [-999.0]),  # far below, of the other sign
        ([0, 3, 7, 29, 999, 999, 12], [999.0]),  # far above
        ([10, 300, 120, -1, -1, 45], [-1.0]),  # a negative among counts
        ([1e3, 2e5, 5e4, 999999, 999999], [999999.0]),
        ([18, 40, 85, 99, 99, 60], []),  # 99 among ages 18 to 85 is not far enough
        ([-2, -1, -1, 0, 1, 8, 3], []),  # Taiwan's PAY_0: -1 is inside the range
        ([5, 9, -999, 20], []),  # once is not a pattern
    ],
)
def test_numeric_sentinels(values: list[float], expected: list[float]) -> None:
    assert [v for v, _ in numeric_sentinels(np.asarray(values, dtype=float))] == expected


def test_text_tokens_keep_numbers_numeric() -> None:
    rng = np.random.default_rng(0)
    s = pd.Series(rng.integers(1000, 9000, 300).astype(str), dtype=object)
    s.iloc[:9] = ["n/a", "N/A ", "unknown", "Unknown", "-", "n/a", "n/a", "unknown", "-"]
    got = column_type(s)
    assert got.kind == "numeric"
    assert got.special is not None
    assert set(got.special.codes) == {"n/a", "unknown", "-"}
    assert "9 values (3.0 %) are text" in got.reason


def test_many_texts_or_levels_are_refused() -> None:
    s = pd.Series([str(i) for i in range(200)] + [f"{i}k" for i in range(20)], dtype=object)
    got = column_type(s)
    assert got.kind is None
    assert "20 distinct texts" in got.reason
    ids = pd.Series([f"C{i:04d}" for i in range(300)])
    refused = column_type(ids)
    assert refused.refused == "high_cardinality"
    assert "300 categories (100 % of the values distinct)" in refused.reason
    assert column_type(pd.Series(["a", "b", "c"] * 50)).kind == "categorical"
