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
