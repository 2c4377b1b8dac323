"""Derived features: the grammar, what it refuses, and one value whichever way it is computed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from creditscore.config import ProjectConfig, german_config
from creditscore.data.ingest import validate
from creditscore.exceptions import ConfigError, DataError
from creditscore.features.derived import (
    RowEvaluator,
    date_days,
    parse_derived,
    parse_expression,
    propose_derived,
)
from creditscore.features.preprocess import InputCleaner

NAN = math.nan


def _config(derived: dict[str, str], **extra: object) -> ProjectConfig:
    raw = german_config().to_yaml_dict()
    raw["features"] = {"derived": derived}
    raw.update(extra)
    return ProjectConfig.from_dict(raw)


# --------------------------------------------------------------------------- refused
@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('x')", "attribute access"),
        ("__import__('os')", "'__import__' is not an allowed function"),
        ("credit_amount.real", "attribute access"),
        ("open('/etc/passwd')", "'open' is not an allowed function"),
        ("eval('1')", "'eval' is not an allowed function"),
        ("x" * 100_000, "100,000 characters; at most 1,000"),
        ("credit_amount ** 2", "Pow"),
        ("credit_amount[0]", "indexing"),
        ("(lambda: 1)()", "only the listed functions"),
        ("[c for c in 'ab']", "comprehensions"),
        ("'text'", "is not a number"),
        ("__class__", "names starting with '__'"),
        ("credit_amount if duration_in_month else 1", "if ... else"),
        ("log1p(x=1)", "keyword"),
        ("clip(credit_amount, 5, 1)", "lo <= hi"),
        ("min(credit_amount)", "at least two"),
        ("credit_amount +", "not a valid expression"),
        ("days_between(credit_amount + 1, date('2020-01-01'))", "compares two dates"),
        ("days_between(d, date('31/01/2020'))", "not an ISO date"),
        ("x + days_between(x, y)", "both as a number and as a date"),
        ("-" * 900 + "1", "nests"),
    ],
)
def test_hostile_and_malformed_expressions_are_config_errors(expression: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"features\.derived\.bad") as info:
        _config({"bad": expression})
    assert message in str(info.value)
    assert len(str(info.value)) < 600  # a clear line, never the 100,000 characters back


def test_a_derived_feature_over_a_protected_attribute_is_refused_unless_allowed() -> None:
    with pytest.raises(ConfigError, match="protected attribute 'age_in_years'"):
        _config({"age_sq": "age_in_years * age_in_years"})
    cfg = _config(
        {"age_sq": "age_in_years * age_in_years"},
        allow_sensitive_as_features={"age_in_years": "tested"},
    )
    assert cfg.features.derived == {"age_sq": "age_in_years * age_in_years"}


def test_the_target_the_id_and_reserved_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="reads the target 'creditability'"):
        _config({"leak": "creditability * 2"})
    with pytest.raises(ConfigError, match="is the target"):
        _config({"creditability": "credit_amount * 2"})


def test_an_expression_over_a_missing_column_names_it(german: pd.DataFrame) -> None:
    cfg = _config({"ratio": "credit_amont / duration_in_month"})
    with pytest.raises(DataError) as info:
        validate(german, cfg)
    text = str(info.value)
    assert "features.derived.ratio reads column 'credit_amont', which is not in the data" in text
    assert "did you mean 'credit_amount'" in text


def test_categorical_columns_and_name_clashes_are_data_errors(german: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="reads column 'purpose' as a number, but it is categ"):
        validate(german, _config({"p": "purpose * 2"}))
    with pytest.raises(DataError, match="already has a column 'credit_amount'"):
        validate(german, _config({"credit_amount": "duration_in_month * 2"}))


# --------------------------------------------------------------------------- values
def _clean(frame: pd.DataFrame, derived: dict[str, str], numeric: list[str]) -> pd.DataFrame:
    return InputCleaner(numeric, [], {"a": [-999]}, derived).fit(frame).transform(frame)


def test_arithmetic_safe_divide_functions_comparisons_and_missing() -> None:
    frame = pd.DataFrame(
        {
            "a": [6.0, 1.0, NAN, -999, 2.0, -2.0],
            "b": [3.0, 0.0, 2.0, 2.0, NAN, 4.0],
        }
    )
    derived = {
        "ratio": "a / b",
        "mix": "a * 2 - b + 1",
        "log": "log1p(a)",
        "big": "max(a, b, 1)",
        "small": "min(a, b)",
        "cl": "clip(a, 0, 5)",
        "absd": "abs(a - b)",
        "gt": "a > b",
        "both": "(a > 0) and not (b == 2)",
        "either": "a < 0 or b < 1",
        "chain": "0 < a <= 6",
        "of_ratio": "ratio * 10",
    }
    out = _clean(frame, derived, ["a", "b"])
    expect = {
        "ratio": [2.0, NAN, NAN, NAN, NAN, -0.5],  # 0 and missing denominators -> missing
        "mix": [10.0, 3.0, NAN, NAN, NAN, -7.0],
        "log": [math.log1p(6), math.log1p(1), NAN, NAN, math.log1p(2), NAN],  # -2 <= -1
        "big": [6.0, 1.0, NAN, NAN, NAN, 4.0],
        "small": [3.0, 0.0, NAN, NAN, NAN, -2.0],
        "cl": [5.0, 1.0, NAN, NAN, 2.0, 0.0],
        "absd": [3.0, 1.0, NAN, NAN, NAN, 6.0],
        "gt": [1.0, 1.0, NAN, NAN, NAN, 0.0],
        "both": [1.0, 1.0, NAN, NAN, NAN, 0.0],
        "either": [0.0, 1.0, NAN, NAN, NAN, 1.0],
        "chain": [1.0, 1.0, NAN, NAN, 1.0, 0.0],
        "of_ratio": [20.0, NAN, NAN, NAN, NAN, -5.0],
    }
    for name, values in expect.items():
        np.testing.assert_allclose(out[name].to_numpy(), values, rtol=0, atol=1e-12, err_msg=name)
    # the special code -999 was missing before the expression saw it
    assert list(out.columns) == ["a", "b", *derived]


def test_overflow_is_missing_not_infinite() -> None:
    frame = pd.DataFrame({"a": [1e308, 1.0], "b": [1e-308, 1.0]})
    out = _clean(frame, {"r": "a / b", "m": "a * 10", "n": "1 / (a * 10)"}, ["a", "b"])
    assert np.isnan(out["r"][0])
    assert out["r"][1] == 1.0
    assert np.isnan(out["m"][0])
    assert np.isnan(out["n"][0])


def test_dates_in_days_and_years() -> None:
    frame = pd.DataFrame(
        {
            "applied": ["2024-03-01", "2024-03-01T23:59:00", "20240301", None, "junk"],
            "born": ["1990-03-01", "1990-03-01", "1990-03-02", "1990-03-01", "1990-03-01"],
        }
    )
    out = _clean(
        frame,
        {
            "age": "years_between(applied, born)",
            "days": "days_between(applied, date('2024-01-01'))",
        },
        [],
    )
    assert out["days"].tolist()[:3] == [60.0, 60.0, 60.0]
    assert out["age"][0] == pytest.approx(12419 / 365.25)
    assert out["age"][2] == pytest.approx(12418 / 365.25)
    assert np.isnan(out["age"][3])
    assert np.isnan(out["age"][4])
    # datetime columns (Parquet) and YYYYMMDD numbers read as the same calendar days
    as_dates = date_days(pd.Series(pd.to_datetime(["2024-03-01 10:00", None])))
    assert as_dates[0] == date_days(pd.Series([20240301]))[0] == date_days(frame["applied"])[0]
    assert np.isnan(as_dates[1])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.floats(allow_nan=True, allow_infinity=False, width=64), st.just(0.0)),
            st.one_of(st.floats(allow_nan=True, allow_infinity=False, width=64), st.just(0.0)),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_one_row_and_a_frame_give_the_same_bits(rows: list[tuple[float, float]]) -> None:
    """The compiled path evaluates one application; InputCleaner a frame: same values."""
    derived = {
        "r": "a / b",
        "l": "log1p(a) + log1p(abs(b))",
        "m": "clip(max(a, b) - min(a, 1), -1e6, 1e6)",
        "c": "(a >= b) or not (a != 0)",
        "k": "r * 3 + 1e300 * a",
    }
    frame = pd.DataFrame(rows, columns=["a", "b"])
    out = InputCleaner(["a", "b"], [], None, derived).fit(frame).transform(frame)
    evaluator = RowEvaluator(parse_derived(derived))
    for i, (a, b) in enumerate(rows):
        got = evaluator.values({"a": a, "b": b}, {})
        want = [float(out[n].iloc[i]) for n in derived]
        assert np.array_equal(np.asarray(got), np.asarray(want), equal_nan=True), (a, b)


def test_parse_keeps_the_columns_each_feature_reads() -> None:
    f = parse_expression("x", 'col("Monthly income") / years_between(applied, born) + a')
    assert f.numbers == ("Monthly income", "a")
    assert f.dates == ("applied", "born")


def test_a_derived_feature_can_use_an_earlier_one_but_not_a_later_one() -> None:
    assert [f.name for f in parse_derived({"r": "a / b", "s": "r * 2"})] == ["r", "s"]
    features = parse_derived({"s": "r * 2", "r": "a / b"})
    assert features[0].numbers == ("r",)  # read as a column: the data check will name it


# --------------------------------------------------------------------------- init
def test_init_proposals_from_credit_column_names() -> None:
    cols = [
        "SK_ID_CURR",
        "AMT_INCOME_TOTAL",
        "AMT_CREDIT",
        "AMT_ANNUITY",
        "AMT_GOODS_PRICE",
        "CNT_FAM_MEMBERS",
        "DAYS_EMPLOYED",
        "DAYS_BIRTH",
        "total_debt",
    ]
    got = {name: expr for name, expr, _ in propose_derived(cols)}
    assert got == {
        "credit_to_income": "AMT_CREDIT / AMT_INCOME_TOTAL",
        "annuity_to_income": "AMT_ANNUITY / AMT_INCOME_TOTAL",
        "credit_to_price": "AMT_CREDIT / AMT_GOODS_PRICE",
        "debt_to_income": "total_debt / AMT_INCOME_TOTAL",
        "income_per_person": "AMT_INCOME_TOTAL / CNT_FAM_MEMBERS",
        "years_employed": "-DAYS_EMPLOYED / 365.25",
        "age_years": "-DAYS_BIRTH / 365.25",
    }
    other = dict(
        (n, e)
        for n, e, _ in propose_derived(
            ["loan_amount", "monthly income", "date_of_birth", "num_dependents"], "applied_on"
        )
    )
    assert other == {
        "credit_to_income": 'loan_amount / col("monthly income")',
        "income_per_person": 'col("monthly income") / (num_dependents + 1)',
        "age_years": "years_between(applied_on, date_of_birth)",
    }
    taiwan = ["ID", "LIMIT_BAL", "AGE", "PAY_0", "BILL_AMT1", "BILL_AMT2", "PAY_AMT1"]
    assert [(n, e) for n, e, _ in propose_derived(taiwan)] == [
        ("utilisation", "BILL_AMT1 / LIMIT_BAL")
    ]
    cards = ["revol_bal", "credit_limit", "annual_inc"]
    assert ("utilisation", "revol_bal / credit_limit") in [
        (n, e) for n, e, _ in propose_derived(cards)
    ]
    # a table that has its utilisation already gets no second one
    assert propose_derived(["revol_bal", "credit_limit", "revol_util"]) == []
    assert propose_derived(["duration_in_month", "purpose"]) == []
    for _, expression, _ in propose_derived(cols):  # every proposal parses
        parse_expression("p", expression)


def test_init_writes_the_proposals_commented_out(tmp_path: Path) -> None:
    from creditscore.init import infer_config, render_yaml

    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {
            "default": rng.integers(0, 2, n),
            "loan_amount": rng.uniform(1e3, 5e4, n),
            "income": rng.uniform(1e3, 1e4, n),
            "total_debt": rng.uniform(0, 1e4, n),
        }
    )
    text = render_yaml(infer_config(df, "default", 1))
    assert "    # credit_to_income: loan_amount / income" in text
    assert ProjectConfig.from_dict(yaml.safe_load(text)).features.derived == {}
    uncommented = text.replace(
        "    # debt_to_income: total_debt / income", "    debt_to_income: total_debt / income"
    )
    cfg = ProjectConfig.from_dict(yaml.safe_load(uncommented))
    assert cfg.features.derived == {"debt_to_income": "total_debt / income"}
