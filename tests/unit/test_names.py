"""Column names read by their words: one rule for files, frames and engines."""

from __future__ import annotations

from creditscore.data.names import read_as, same_words

INPUTS = ["credit_amount", "age_in_years", "purpose"]


def test_a_missing_column_is_found_under_the_same_words() -> None:
    names = ["CREDIT AMOUNT", "ageInYears", "Purpose ", "other"]
    assert same_words(INPUTS, names, INPUTS) == {
        "credit_amount": "CREDIT AMOUNT",
        "age_in_years": "ageInYears",
        "purpose": "Purpose ",
    }


def test_exact_names_win_and_only_the_listed_columns_are_matched() -> None:
    names = ["credit_amount", "Credit Amount", "AGE IN YEARS", "PURPOSE"]
    assert same_words(INPUTS, names, ["age_in_years"]) == {"age_in_years": "AGE IN YEARS"}


def test_two_candidates_or_a_wanted_candidate_give_no_match() -> None:
    assert same_words(["credit_amount"], ["Credit Amount", "credit-amount"], INPUTS) == {}
    wanted = ["credit_amount", "CreditAmount"]  # the match is itself wanted under its name
    assert same_words(wanted, ["CreditAmount"], INPUTS) == {}
    assert same_words(["x_1"], ["%%", "X 1"], ["x_1"]) == {"x_1": "X 1"}
    assert same_words(["%%"], ["&&"], ["%%"]) == {}  # no words: no match


def test_matches_are_listed_for_people_the_first_five_then_a_count() -> None:
    renamed = {f"x_{i}": f"X {i}" for i in range(7)}
    assert read_as({"credit_amount": "CREDIT AMOUNT"}) == "'CREDIT AMOUNT' as credit_amount"
    assert read_as(renamed).endswith("'X 4' as x_4 and 2 more")
