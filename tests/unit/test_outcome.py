"""Outcome: bad, good and indeterminate values of a target, one rule for training,
monitoring and fairness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditscore.exceptions import DataError
from creditscore.explain.fairness.metrics import _outcomes
from creditscore.monitoring.sources import outcome_codes
from creditscore.outcome import BAD, GOOD, INDETERMINATE, MISSING, Outcome, label_key

STATUS = pd.Series(
    ["Charged Off", "Fully Paid", "Current", None, " charged off", "Late", "Fully Paid"]
)


def test_codes_of_a_loan_status() -> None:
    outcome = Outcome.of(["Charged Off", "Late"], ["fully paid"])
    codes = outcome.codes(STATUS)
    assert codes.tolist() == [BAD, GOOD, INDETERMINATE, MISSING, BAD, BAD, GOOD]
    as_float = outcome.as_float(STATUS)
    assert np.isnan(as_float[[2, 3]]).all()
    assert as_float[[0, 1, 4, 5, 6]].tolist() == [1, 0, 1, 1, 0]
    assert outcome.bad_text == "'Charged Off' or 'Late'"
    assert outcome.good_text == "'fully paid'"


def test_without_goods_every_other_value_is_good() -> None:
    codes = Outcome.of("Charged Off").codes(STATUS)
    assert codes.tolist() == [BAD, GOOD, GOOD, MISSING, BAD, GOOD, GOOD]
    assert Outcome.of("Charged Off").good_text == "any other value"


def test_numbers_texts_and_yaml_booleans_agree() -> None:
    assert label_key(1) == label_key(1.0) == label_key("1") == label_key(np.int64(1)) == "1"
    assert Outcome.of(1).codes(pd.Series([1.0, 0.0, np.nan])).tolist() == [BAD, GOOD, MISSING]
    assert Outcome.of(True).codes(pd.Series(["yes", "no"])).tolist() == [BAD, GOOD]
    assert Outcome.of("1").codes(pd.Series([1, 0])).tolist() == [BAD, GOOD]


def test_absent_and_overlapping_values() -> None:
    outcome = Outcome.of(["Charged Off", "Default"], ["Fully Paid", "Settled"])
    assert outcome.absent(STATUS) == (["Default"], ["Settled"])
    assert Outcome.of(["a", "b"], ["B", "c"]).overlap() == []
    assert Outcome.of(["a", 1], ["1.0"]).overlap() == ["1.0"]
    with pytest.raises(ValueError, match="at least one value"):
        Outcome.of([])


def test_a_model_outcome_from_its_metadata() -> None:
    meta = {"positive": ["Charged Off"], "negative": ["Fully Paid"]}
    assert Outcome.from_meta(meta) == Outcome(("Charged Off",), ("Fully Paid",))
    # a bad value given by the user replaces both lists
    assert Outcome.from_meta(meta, "Late") == Outcome(("Late",), ())
    assert Outcome.from_meta({}) == Outcome((1,), ())


def test_monitoring_counts_indeterminate_outcomes_as_not_known_yet() -> None:
    out = outcome_codes(STATUS, Outcome.of(["Charged Off", "Late"], ["Fully Paid"]), "status")
    assert np.isnan(out[[2, 3]]).all()
    assert out[[0, 1, 5]].tolist() == [1, 0, 1]
    with pytest.raises(DataError, match="more than two values"):
        outcome_codes(STATUS, Outcome.of("Charged Off"), "status")
    with pytest.raises(DataError, match="the bad value 'Default' never occurs"):
        outcome_codes(STATUS, Outcome.of("Default", ["Fully Paid"]), "status")


def test_fairness_needs_a_known_outcome_on_every_row() -> None:
    frame = pd.DataFrame({"status": ["Charged Off", "Fully Paid", "Current"]})
    with pytest.raises(DataError, match=r"1 indeterminate outcomes, neither 'Charged Off'"):
        _outcomes(frame, "status", Outcome.of("Charged Off", ["Fully Paid"]))
    y = _outcomes(frame.iloc[:2], "status", Outcome.of("Charged Off", ["Fully Paid"]))
    assert y.tolist() == [1, 0]
    assert _outcomes(frame, "status", Outcome.of("Charged Off")).tolist() == [1, 0, 0]
