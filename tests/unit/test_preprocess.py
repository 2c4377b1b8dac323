from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from creditscore.features.preprocess import InputCleaner, build_preprocessor, categorical_positions


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "income": [1000, -999, 2500, None, "3000"],
            "housing": ["Rent", "rent ", "Own", None, "RENT"],
            "unused": [1, 2, 3, 4, 5],
        }
    )


def test_cleaner_selects_orders_and_maps_special_codes() -> None:
    cleaner = InputCleaner(["income"], ["housing"], {"income": [-999]}).fit(frame())
    out = cleaner.transform(frame())
    assert list(out.columns) == ["income", "housing"]
    assert out["income"].tolist()[:3] == [1000.0, pytest.approx(np.nan, nan_ok=True), 2500.0]
    assert np.isnan(out["income"].iloc[3])
    assert out["income"].iloc[4] == 3000.0


def test_cleaner_merges_spellings_that_differ_by_case_or_spaces() -> None:
    cleaner = InputCleaner(["income"], ["housing"]).fit(frame())
    out = cleaner.transform(frame())["housing"].tolist()
    # "Rent", "rent ", "RENT" each appear once: one canonical spelling for all three.
    assert out[0] == out[1] == out[4]
    assert out[2] == "Own"
    assert pd.isna(out[3])
    live = cleaner.transform(pd.DataFrame({"income": [1], "housing": ["  rEnT"]}))
    assert live["housing"].iloc[0] == out[0]


def test_cleaner_reports_missing_columns() -> None:
    cleaner = InputCleaner(["income"], ["housing"]).fit(frame())
    with pytest.raises(KeyError, match="housing"):
        cleaner.transform(pd.DataFrame({"income": [1]}))


def test_cleaner_keeps_the_estimator_contract() -> None:
    # sklearn's full check suite feeds arbitrary-width arrays, which a selector of named
    # columns cannot accept; these are the parts of the contract that apply.
    cleaner = InputCleaner(["income"], ["housing"], {"income": [-999]})
    assert clone(cleaner).get_params() == cleaner.get_params()
    with pytest.raises(NotFittedError):
        cleaner.transform(frame())
    fitted = cleaner.fit(frame())
    assert not hasattr(clone(fitted), "spellings_")
    restored = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(restored.transform(frame()), fitted.transform(frame()))
    assert list(fitted.get_feature_names_out()) == ["income", "housing"]


@pytest.mark.parametrize("family", ["onehot", "ordinal"])
def test_families_handle_unseen_and_missing_values(family: str) -> None:
    train = InputCleaner(["income"], ["housing"]).fit_transform(frame())
    prep = build_preprocessor(family, ["income"], ["housing"]).fit(train)
    live = pd.DataFrame({"income": [np.nan], "housing": ["castle"]})
    out = prep.transform(live)
    assert out.shape[0] == 1
    if family == "onehot":
        assert np.isfinite(out).all()
    else:
        assert np.isnan(out[0, 1])  # unseen category -> missing for the boosters


def test_categorical_positions_follow_numeric_columns() -> None:
    assert categorical_positions(["a", "b"], ["c", "d"]) == [2, 3]
