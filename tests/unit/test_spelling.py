"""One spelling rule for training and clients: the cleaner, the input schema and the API's
request model agree on one canonical spelling per category."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from creditscore.data.schema import InputSchema
from creditscore.features.preprocess import InputCleaner
from creditscore.features.spelling import canonical_spellings
from creditscore.serving.schemas import application_model


def frame() -> pd.DataFrame:
    # the most common spelling carries a trailing space: it must not reach a reason text
    housing = ["rent "] * 5 + ["Rent", "RENT", "own", "Own ", None]
    return pd.DataFrame({"housing": housing, "income": [1.0] * 10, "ref": ["n/a"] + ["1"] * 9})


def test_canonical_spelling_is_the_most_common_one_trimmed() -> None:
    assert canonical_spellings(frame()["housing"]) == {"rent": "rent", "own": "own"}


def test_cleaner_and_schema_agree() -> None:
    X = frame()
    cleaner = InputCleaner(["income"], ["housing"]).fit(X)
    cleaned = set(cleaner.transform(X)["housing"].dropna())
    schema = InputSchema.from_frame(X[["income", "housing"]], ["income"], ["housing"])
    assert cleaned == set(schema.field("housing").categories or []) == {"rent", "own"}


def test_the_request_model_folds_spellings_and_still_refuses_unknown_ones() -> None:
    X = frame()
    schema = InputSchema.from_frame(X[["income", "housing"]], ["income"], ["housing"])
    model, names = application_model(schema)
    attr = dict((name, a) for a, name in names)["housing"]
    for spelling in ("rent", "RENT", "rent ", " Rent  "):
        got = model.model_validate({"income": 1.0, "housing": spelling})
        assert getattr(got, attr) == "rent"
    with pytest.raises(ValidationError, match=r"Input should be"):
        model.model_validate({"income": 1.0, "housing": "castle"})


def test_special_codes_are_scored_as_missing_and_leave_the_range() -> None:
    X = pd.DataFrame({"years": [1.0, 4.0, -999.0, 30.0], "ref": ["a", "b", "unknown", "a"]})
    codes = {"years": [-999], "ref": ["unknown"]}
    schema = InputSchema.from_frame(X, ["years"], ["ref"], special_codes=codes)
    years = schema.field("years")
    assert (years.minimum, years.maximum) == (1.0, 30.0)
    assert years.is_special(-999.0)
    assert schema.field("ref").categories == ["a", "b"]
    assert schema.field("ref").is_special(" Unknown")


def test_boolean_and_integer_code_categories_take_their_json_values() -> None:
    """A True/False column (causaldata's credit_cards) and integer codes declared
    categorical: the Scorer reads True and 3 by their spelling, so the API takes JSON true
    and 3 too, and its schema says so; nothing else of another type is let in."""
    X = pd.DataFrame({
        "late": [True, False, True, False],
        "region": [1, 2, 10, 2],
        "housing": ["rent", "own", "own", "rent"],
    })  # fmt: skip
    schema = InputSchema.from_frame(X, [], ["late", "region", "housing"])
    assert schema.field("late").categories == ["False", "True"]
    model, names = application_model(schema)
    attr = {name: a for a, name in names}
    got = model.model_validate_json('{"late": true, "region": 10, "housing": "own"}')
    assert (getattr(got, attr["late"]), getattr(got, attr["region"])) == ("True", "10")
    got = model.model_validate_json('{"late": "false", "region": "2", "housing": "own"}')
    assert (getattr(got, attr["late"]), getattr(got, attr["region"])) == ("False", "2")
    for wrong in (
        '{"late": 1, "region": 1, "housing": "own"}',  # 1 is not a boolean
        '{"late": true, "region": true, "housing": "own"}',  # nor true a code
        '{"late": true, "region": 1.0, "housing": "own"}',
        '{"late": true, "region": 3, "housing": "own"}',  # not seen in training
        '{"late": true, "region": 1, "housing": true}',  # a text column takes text only
    ):
        with pytest.raises(ValidationError):
            model.model_validate_json(wrong)
    props = model.model_json_schema(by_alias=True)["properties"]
    assert {"type": "boolean", "enum": [False, True]} in props["late"]["anyOf"]
    assert {"type": "integer", "enum": [1, 2, 10]} in props["region"]["anyOf"]
    assert "anyOf" not in props["housing"]


def test_only_plain_integers_and_booleans_are_json_literals() -> None:
    from creditscore.serving.schemas import _json_literals

    assert _json_literals(()) == ({}, None)
    assert _json_literals(("007", "1")) == ({}, None)  # '007' is a code written as text
    assert _json_literals(("--1", "2")) == ({}, None)
    assert _json_literals(("a", "1")) == ({}, None)
    assert _json_literals(("-3", "4")) == ({(int, -3): "-3", (int, 4): "4"}, "integer")
    assert _json_literals(("False", "True"))[1] == "boolean"
