"""Protected attributes in every form, and look-alikes that stay features (``init``)."""

from __future__ import annotations

import pandas as pd
import pytest

from creditscore.explain.fairness.protected import protected_by_values
from creditscore.init import infer_config, protected_by_name

from .columns import LOOK_ALIKES, PROTECTED, Column, table


def test_the_fixture_is_large_and_varied() -> None:
    assert len(PROTECTED) + len(LOOK_ALIKES) >= 60
    forms = {c.form for c in PROTECTED}
    assert {"group flag", "age flag", "date of birth", "year of birth", "values"} <= forms
    attributes = {c.attribute for c in PROTECTED}
    assert {
        "sex",
        "race",
        "ethnicity",
        "age",
        "marital status",
        "family status",
        "religion",
        "national origin",
        "public assistance",
        "disability",
    } <= attributes


@pytest.mark.parametrize("col", [c for c in PROTECTED if c.form != "values"], ids=lambda c: c.name)
def test_protected_by_name(col: Column) -> None:
    found = protected_by_name(col.name)
    assert found is not None, col.name
    assert found.attribute == col.attribute
    if col.form:
        assert found.form == col.form
    if col.group:
        assert found.group == col.group


@pytest.mark.parametrize("col", LOOK_ALIKES, ids=lambda c: c.name)
def test_look_alikes_are_not_protected_by_name(col: Column) -> None:
    assert protected_by_name(col.name) is None


@pytest.fixture(scope="module")
def inferred():  # type: ignore[no-untyped-def]
    return infer_config(table(PROTECTED + LOOK_ALIKES), "default", today="2024-06-30")


@pytest.mark.parametrize("col", PROTECTED, ids=lambda c: c.name)
def test_init_marks_every_protected_form_sensitive(inferred, col: Column) -> None:  # type: ignore[no-untyped-def]
    d = inferred.decision(col.name)
    assert d.role == "sensitive", (col.name, d.why)
    found = inferred.protected[col.name]
    assert found.attribute == col.attribute
    assert d.reason.startswith(f"protected: {col.attribute}")
    if col.form == "values":
        assert "(by values, e.g." in d.reason


@pytest.mark.parametrize("col", LOOK_ALIKES, ids=lambda c: c.name)
def test_init_keeps_look_alikes_as_features(inferred, col: Column) -> None:  # type: ignore[no-untyped-def]
    assert inferred.decision(col.name).role in ("numeric", "categorical"), inferred.decision(
        col.name
    ).why


def test_protected_columns_are_never_inputs_and_are_grouped(inferred) -> None:  # type: ignore[no-untyped-def]
    assert not set(inferred.features) & {c.name for c in PROTECTED}
    groups = {g.name: g for g in inferred.groups}
    race = next(g for g in groups.values() if "black" in g.columns)
    assert set(race.columns) == {
        "black",
        "white",
        "asian",
        "native_american",
        "pacific_islander",
        "other_race",
    }
    sex = next(g for g in groups.values() if "is_female" in g.columns)
    assert set(sex.columns) == {"is_female", "female", "male_flag"}
    dob = groups["date_of_birth"]
    assert dob.birth == "date"
    assert dob.age_at == "application_date"
    assert groups["birth_year"].birth == "year"
    assert groups["age_over_62"].bands is None  # a flag is two groups, never banded
    assert groups["age"].bands == (25, 35, 50)


def test_a_date_of_birth_is_found_by_its_values() -> None:
    born = next(c for c in PROTECTED if c.name == "date_of_birth").values
    df = table([Column("d_n", born), Column("d_x", born)])
    df["d_x"] = pd.to_datetime(df["application_date"]) - pd.Timedelta(days=3)  # not a birthday
    inf = infer_config(df, "default")
    assert inf.decision("d_n").role == "sensitive"
    assert "a date of birth (by values" in inf.decision("d_n").reason
    assert inf.decision("d_x").role == "date"


@pytest.mark.parametrize(
    ("values", "attribute"),
    [
        (["M", "F"], "sex"),
        (["Weiblich", "Männlich"], "sex"),
        (["femme", "homme"], "sex"),
        (["married", "single"], "marital status"),
        (["verheiratet", "ledig"], "marital status"),
        (["white", "black", "asian"], "race"),
        (["salary", "public assistance"], "public assistance"),
        (["citizen", "non-citizen"], "national origin"),
        (["catholic", "protestant", "none"], "religion"),
        (["black", "gold", "platinum"], None),
        (["own", "rent", "free"], None),
        (["monthly", "weekly"], None),
        (["single payment", "instalments"], None),
    ],
)
def test_protected_by_values(values: list[str], attribute: str | None) -> None:
    found = protected_by_values(values)
    assert (found.attribute if found else None) == attribute
