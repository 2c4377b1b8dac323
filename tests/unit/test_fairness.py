"""Fairness metrics against hand-computed values, bootstrap intervals, the gate, the card."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
)
from sklearn.metrics import roc_auc_score

from creditscore.evaluation.metrics import weighted_auc
from creditscore.exceptions import DataError
from creditscore.explain.fairness import (
    GroupSpec,
    default_groups,
    evaluate_gate,
    fairness_from_predictions,
    fairness_report,
    fairness_report_for,
    german_groups,
    group_labels,
)
from creditscore.reporting import html, markdown
from creditscore.reporting.fairness import fairness_page, fairness_plots


def tiny() -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Two groups of four; threshold 0.5 (approve when PD < 0.5).

    A: y = 0 0 1 1, PD .1 .6 .2 .9 -> approved 1 0 1 0: approval 2/4, TPR (approved | good)
       1/2, FPR (approved | bad) 1/2, AUC: bad PDs {.2,.9} vs good {.1,.6} -> 3/4.
    B: y = 0 0 0 1, PD .1 .2 .3 .7 -> approved 1 1 1 0: approval 3/4, TPR 3/3, FPR 0/1,
       AUC 1.
    """
    y = np.array([0, 0, 1, 1, 0, 0, 0, 1])
    p = np.array([0.1, 0.6, 0.2, 0.9, 0.1, 0.2, 0.3, 0.7])
    g = pd.DataFrame({"grp": ["A"] * 4 + ["B"] * 4})
    return y, p, g


def test_tiny_example_by_hand() -> None:
    y, p, g = tiny()
    rep = fairness_from_predictions(y, p, g, 0.5, n_boot=200, min_group_size=1)
    a = rep.attribute("grp")
    stats = {s.group: s for s in a.groups}
    A, B = stats["A"], stats["B"]
    assert (A.n, A.n_bad, B.n, B.n_bad) == (4, 2, 4, 1)
    assert (A.approval_rate, A.tpr, A.fpr, A.auc) == (0.5, 0.5, 0.5, 0.75)
    assert (B.approval_rate, B.tpr, B.fpr, B.auc) == (0.75, 1.0, 0.0, 1.0)
    assert A.mean_pd == pytest.approx(0.45)
    assert A.bad_rate == 0.5
    m = a.metrics
    assert m["demographic_parity_difference"].value == pytest.approx(0.25)
    assert m["demographic_parity_difference"].groups == ("B", "A")
    assert m["demographic_parity_ratio"].value == pytest.approx(0.5 / 0.75)
    assert m["disparate_impact_ratio"].value == pytest.approx(2 / 3)
    assert m["equal_opportunity_difference"].value == pytest.approx(0.5)
    assert m["equalized_odds_difference"].value == pytest.approx(0.5)


def test_point_estimates_agree_with_fairlearn() -> None:
    rng = np.random.default_rng(1)
    n = 3000
    grp = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    y = (rng.random(n) < np.where(grp == "c", 0.4, 0.25)).astype(int)
    p = np.clip(0.25 + 0.3 * (y - 0.3) + rng.normal(0, 0.15, n) + (grp == "b") * 0.05, 0, 1)
    rep = fairness_from_predictions(y, p, pd.DataFrame({"g": grp}), 0.3, n_boot=50)
    m = rep.attribute("g").metrics
    good, approved = 1 - y, (p < 0.3).astype(int)
    kw = {"sensitive_features": grp}
    assert m["demographic_parity_difference"].value == pytest.approx(
        demographic_parity_difference(good, approved, **kw)
    )
    assert m["demographic_parity_ratio"].value == pytest.approx(
        demographic_parity_ratio(good, approved, **kw)
    )
    assert m["equal_opportunity_difference"].value == pytest.approx(
        equal_opportunity_difference(good, approved, **kw)
    )
    assert m["equalized_odds_difference"].value == pytest.approx(
        equalized_odds_difference(good, approved, **kw)
    )


def test_intervals_contain_the_estimates_and_are_seeded() -> None:
    rng = np.random.default_rng(2)
    n = 1500
    grp = pd.DataFrame(
        {"sex": rng.choice(["f", "m"], n, p=[0.35, 0.65]), "age": rng.choice(["<25", "25+"], n)}
    )
    y = (rng.random(n) < 0.3).astype(int)
    p = np.clip(0.3 + 0.25 * (y - 0.3) + rng.normal(0, 0.2, n), 0, 1)
    rep = fairness_from_predictions(y, p, grp, 0.3, n_boot=300, seed=7)
    for a in rep.attributes:
        for s in a.groups:
            for key in ("approval_rate", "tpr", "fpr", "auc"):
                lo, hi = getattr(s, f"{key}_ci")
                assert lo <= getattr(s, key) <= hi, (a.name, s.group, key)
                assert hi - lo < 0.2
        for key, d in a.metrics.items():
            assert d.ci[0] <= d.value <= d.ci[1], (a.name, key)
    again = fairness_from_predictions(y, p, grp, 0.3, n_boot=300, seed=7)
    assert again.to_dict() == rep.to_dict()
    other = fairness_from_predictions(y, p, grp, 0.3, n_boot=300, seed=8)
    assert other.to_dict() != rep.to_dict()


def test_bootstrap_auc_matches_weighted_sklearn() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    p = np.round(rng.random(60), 1)  # ties on purpose
    W = rng.multinomial(60, np.full(60, 1 / 60), size=5).astype(float)
    got = weighted_auc(W, y, p)
    for b in range(5):
        assert got[b] == pytest.approx(roc_auc_score(y, p, sample_weight=W[b]))


def test_group_labels_bands_patterns_and_missing() -> None:
    frame = pd.DataFrame(
        {
            "age": [18, 24, 25, 34, 35, 49, 50, 80, np.nan],
            "status": [
                "male : single",
                "female : divorced/separated/married",
                "Male : x",
                None,
                "n/a",
                "male",
                "female",
                "male",
                "female",
            ],
        }
    )
    ages = group_labels(frame, GroupSpec("age_group", "age", bands=(25, 35, 50)))
    assert list(ages) == ["<25", "<25", "25-34", "25-34", "35-49", "35-49", "50+", "50+", "missing"]
    sex = group_labels(frame, GroupSpec("sex", "status", pattern=r"^\s*(male|female)\b"))
    assert list(sex) == [
        "male",
        "female",
        "male",
        "missing",
        "other",
        "male",
        "female",
        "male",
        "female",
    ]
    with pytest.raises(DataError, match="'income'"):
        group_labels(frame, GroupSpec("x", "income"))
    specs = default_groups(["age", "status"], frame)
    assert specs[0].bands == (25, 35, 50)
    assert specs[1].bands is None


def test_small_groups_are_shown_but_not_compared() -> None:
    y = np.array([0, 1] * 30 + [0, 0, 1])
    p = np.linspace(0.05, 0.95, 63)
    g = pd.DataFrame({"fw": ["yes"] * 60 + ["no"] * 3})
    a = fairness_from_predictions(y, p, g, 0.5, n_boot=50, min_group_size=20).attribute("fw")
    assert [s.group for s in a.groups] == ["yes", "no"]
    assert a.groups[1].small
    assert a.metrics == {}
    assert "fewer than two groups" in a.note


def test_gate_warns_or_blocks() -> None:
    y, p, g = tiny()
    rep = fairness_from_predictions(y, p, g, 0.5, n_boot=200, min_group_size=1)
    warn = evaluate_gate(rep, "warn", 0.8)
    assert warn.passed
    assert warn.violations == 1
    assert "disparate impact ratio 0.67" in warn.reasons[0]
    assert "'A'" in warn.reasons[0]
    block = evaluate_gate(rep, "block", 0.8)
    assert not block.passed
    assert block.reasons == warn.reasons
    assert evaluate_gate(rep, "block", 0.6).passed
    # eight applicants prove nothing: with significance required the gate lets it through
    assert evaluate_gate(rep, "block", 0.8, require_significance=True).passed
    eo = evaluate_gate(rep, "block", 0.6, max_equal_opportunity_difference=0.2)
    assert not eo.passed
    assert "equal opportunity" in eo.reasons[0]
    with pytest.raises(ValueError, match="mode"):
        evaluate_gate(rep, "fail")  # type: ignore[arg-type]


def test_bad_inputs_are_clear_errors() -> None:
    y, p, g = tiny()
    with pytest.raises(DataError, match="differ in length"):
        fairness_from_predictions(y[:-1], p, g, 0.5)
    with pytest.raises(DataError, match="0 \\(good\\) or 1"):
        fairness_from_predictions(y * 2, p, g, 0.5)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        fairness_from_predictions(y, p + 1, g, 0.5)


def test_german_report_and_model_card_section(trained, german: pd.DataFrame, tmp_path: Any) -> None:  # type: ignore[no-untyped-def]
    import matplotlib.pyplot as plt

    test = german.iloc[trained.splits.test].reset_index(drop=True)
    rep = fairness_report(
        trained.bundle, test, groups=german_groups(), intersections=[("sex", "age_group")]
    )
    assert [a.name for a in rep.attributes] == [
        "sex",
        "age_group",
        "foreign_worker",
        "sex x age_group",
    ]
    assert rep.threshold == trained.bundle.policy.threshold
    assert rep.n == len(test)
    sex = rep.attribute("sex")
    assert {s.group for s in sex.groups} == {"male", "female"}
    assert sum(s.n for s in sex.groups) == len(test)
    ages = [s.group for s in rep.attribute("age_group").groups]
    assert ages == [a for a in ["<25", "25-34", "35-49", "50+"] if a in ages]
    # the report's approval rate is the policy's, applicant by applicant
    approved = trained.bundle.predict_proba(test) < trained.bundle.policy.threshold
    assert sum(s.approval_rate * s.n for s in sex.groups) == pytest.approx(approved.sum())
    before = plt.get_fignums()
    plots = fairness_plots(rep, tmp_path)
    assert plt.get_fignums() == before
    assert len(plots) == 4  # one figure per attribute
    assert all((tmp_path / f"{n}.png").is_file() for n in plots)
    page = fairness_page(rep, None, plots, "Fairness")
    text = html.render(page)
    assert text.count("<img") == 4
    assert "<table" in text
    assert "Groups: pattern" in text  # how the groups were made is shown
    assert "sex (personal_status_and_sex)" in markdown.render(page, tmp_path / "images")
    d = rep.to_dict()
    assert all(
        v is None or math.isfinite(v)
        for a in d["attributes"]
        for s in a["groups"]
        for v in (s["approval_rate"], s["auc"])
    )
    same = fairness_report_for(trained, german_groups(), intersections=[("sex", "age_group")])
    assert same.to_dict() == d
    with pytest.raises(DataError, match="creditability"):
        fairness_report(
            trained.bundle, test.drop(columns=["creditability"]), groups=german_groups()
        )


# ------------------------------------------------------------------------------ groups
def test_a_date_of_birth_is_an_age_at_the_application_date() -> None:
    from creditscore.explain.fairness import read_groups

    frame = pd.DataFrame(
        {
            "date_of_birth": ["2000-06-01", "1990-01-15", "1980-03-03", "1950-12-24", None],
            "applied": ["2024-05-31", "2024-05-31", "2016-01-01", "2024-05-31", "2024-05-31"],
        }
    )
    spec = GroupSpec("age", "date_of_birth", (25, 35, 50), birth="date", age_at="applied")
    got = read_groups(frame, spec)
    assert list(got.labels) == ["<25", "25-34", "35-49", "50+", "missing"]
    assert got.how.startswith("date of birth -> age at the application date (applied)")
    # without an application date, at the training date
    spec = GroupSpec(
        "age", "date_of_birth", (25, 35, 50), birth="date", reference_date="2026-01-01"
    )
    assert list(read_groups(frame, spec).labels)[:2] == ["25-34", "35-49"]
    years = pd.DataFrame({"yob": [1999, 1960]})
    spec = GroupSpec("age", "yob", (25, 35, 50), birth="year", reference_date="2024-01-01")
    assert list(read_groups(years, spec).labels) == ["25-34", "50+"]


def test_flags_are_two_named_groups_and_families_one_attribute() -> None:
    from creditscore.explain.fairness import read_groups

    frame = pd.DataFrame(
        {
            "is_female": [1, 0, 1, 0, None],
            "age_over_62": ["Y", "N", "N", "N", "Y"],
            "black": [1, 0, 0, 0, 0],
            "white": [0, 1, 0, 1, 0],
            "asian": [0, 0, 0, 1, 0],
        }
    )
    specs = {s.name: s for s in default_groups(list(frame.columns), frame)}
    assert set(specs) == {"is_female", "age_over_62", "race"}
    assert specs["age_over_62"].bands is None  # an age flag is never banded
    assert list(read_groups(frame, specs["is_female"]).labels) == [
        "female",
        "not female",
        "female",
        "not female",
        "missing",
    ]
    assert list(read_groups(frame, specs["age_over_62"]).labels)[:2] == [
        "age over 62",
        "not age over 62",
    ]
    race = read_groups(frame, specs["race"])
    assert list(race.labels) == ["black", "white", "none of these", "several", "none of these"]
    assert race.how.startswith("one 0/1 column per group")


def test_labels_are_normalised_and_the_merge_is_shown() -> None:
    from creditscore.explain.fairness import read_groups

    frame = pd.DataFrame(
        {
            "gender": ["F", "f", "Female", "male", "M", " MALE", None],
            "marital": ["Married", "MARRIED", "married ", "single", "Single", "x", "x"],
        }
    )
    sex = read_groups(frame, GroupSpec("sex", "gender"))
    assert list(sex.labels) == ["female"] * 3 + ["male"] * 3 + ["missing"]
    assert any("'F'" in n and "-> 'female'" in n for n in sex.normalised)
    marital = read_groups(frame, GroupSpec("marital", "marital"))
    assert list(marital.labels)[:5] == ["Married", "Married", "Married", "single", "single"]
    assert marital.normalised


def test_high_cardinality_groups_are_refused_with_how_to_band(
    trained, german: pd.DataFrame
) -> None:  # type: ignore[no-untyped-def]
    from creditscore.explain.fairness import TooManyGroupsError, read_groups

    frame = german.iloc[trained.splits.test].reset_index(drop=True)
    frame["birthday_text"] = [f"c{i}" for i in range(len(frame))]
    with pytest.raises(TooManyGroupsError, match=r"distinct values.*bands: \[25, 35, 50\]"):
        read_groups(frame, GroupSpec("birthday_text", "birthday_text"))
    # an inferred attribute that cannot be grouped is reported as not assessed, not fatal
    specs = default_groups(["birthday_text", "foreign_worker"], frame)
    rep = fairness_report(trained.bundle, frame, groups=specs, n_boot=20)
    assert [a.name for a in rep.attributes] == ["foreign_worker"]
    assert rep.skipped[0].name == "birthday_text"
    assert "Band it in the config" in rep.skipped[0].reason
    assert any("not assessed" in n for n in evaluate_gate(rep).notes)
    # a configured one stops the report
    with pytest.raises(TooManyGroupsError):
        fairness_report(trained.bundle, frame, groups=[GroupSpec("b", "birthday_text")], n_boot=20)
