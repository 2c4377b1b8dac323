from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditscore.config import SplitConfig
from creditscore.data.split import split_indices
from creditscore.exceptions import DataError


def test_stratified_split_is_disjoint_seeded_and_keeps_bad_rate(rng: np.random.Generator) -> None:
    y = (rng.random(2000) < 0.3).astype(int)
    s = split_indices(y, SplitConfig())
    parts = [s.train, s.valid, s.test]
    assert sum(len(p) for p in parts) == 2000
    assert len(np.unique(np.concatenate(parts))) == 2000
    assert s.sizes() == {"train": 1400, "valid": 300, "test": 300}
    for p in parts:
        assert abs(y[p].mean() - y.mean()) < 0.01
    again = split_indices(y, SplitConfig())
    assert np.array_equal(again.test, s.test)
    assert not s.out_of_time
    other = split_indices(y, SplitConfig(seed=7))
    assert not np.array_equal(other.test, s.test)


def test_out_of_time_split_tests_on_the_latest_applications(rng: np.random.Generator) -> None:
    n = 1000
    dates = pd.Series(pd.date_range("2020-01-01", periods=n, freq="D")).sample(
        frac=1, random_state=1
    )
    dates = dates.reset_index(drop=True)
    y = (rng.random(n) < 0.3).astype(int)
    s = split_indices(y, SplitConfig(), dates)
    assert s.out_of_time
    assert dates.iloc[s.test].min() > dates.iloc[np.concatenate([s.train, s.valid])].max()
    assert s.test_period == (str(dates.iloc[s.test].min().date()), str(dates.max().date()))


def test_split_without_both_classes_is_a_clear_error() -> None:
    y = np.array([0] * 98 + [1] * 2)
    with pytest.raises(DataError, match="only class"):
        split_indices(y, SplitConfig(test=0.05, valid=0.05))
