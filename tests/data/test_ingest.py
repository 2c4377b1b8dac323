"""read_table, load_raw and validate on real and deliberately broken tables."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creditscore.config import german_config
from creditscore.data.ingest import Dataset, load, load_raw, read_table, summary, validate
from creditscore.exceptions import ConfigError, DataError, DataFileError

from .conftest import make_config


def small_frame(n: int = 60, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "app_id": np.arange(100, 100 + n),
            "applied": pd.date_range("2021-01-01", periods=n, freq="W").strftime("%Y-%m-%d"),
            "income": rng.normal(2000, 500, n).round(1),
            "housing": rng.choice(["own", "rent"], n),
            "sex": rng.choice(["m", "f"], n),
            "status": np.where(np.arange(n) % 2 == 0, "bad", "good"),
        }
    )


def cfg_small(**extra: object):
    data = {
        "target": "status",
        "positive": "bad",
        "id_column": "app_id",
        "date_column": "applied",
        "min_bads": 5,
        "sensitive": ["sex"],
    }
    data.update(extra)
    return make_config(**data)


def problems(excinfo: pytest.ExceptionInfo[DataError]) -> str:
    return str(excinfo.value)


# ---------------------------------------------------------------------------- read_table
@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("apps.csv", lambda df, p: df.to_csv(p, index=False)),
        ("apps.csv.gz", lambda df, p: df.to_csv(p, index=False, compression="gzip")),
        ("apps.tsv", lambda df, p: df.to_csv(p, index=False, sep="\t")),
        ("apps.txt", lambda df, p: df.to_csv(p, index=False, sep=";")),
        ("apps.parquet", lambda df, p: df.to_parquet(p, index=False)),
        ("apps.pq", lambda df, p: df.to_parquet(p, index=False)),
        ("apps.xlsx", lambda df, p: df.to_excel(p, index=False, sheet_name="applications")),
    ],
)
def test_read_table_formats(tmp_path: Path, german_df: pd.DataFrame, name: str, writer) -> None:
    path = tmp_path / name
    writer(german_df, path)
    got = read_table(path)
    assert got.shape == german_df.shape
    assert list(got.columns) == list(german_df.columns)
    assert got["credit_amount"].sum() == german_df["credit_amount"].sum()
    assert (got["creditability"] == "bad").sum() == 300


def test_read_table_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"not found; check the path") as exc:
        read_table(tmp_path / "nope.csv")
    assert isinstance(exc.value, FileNotFoundError)


def test_read_table_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "apps.sav"
    path.write_bytes(b"$FL2")
    with pytest.raises(
        DataFileError, match=r"unsupported type; use one of .*\.csv.*\.parquet.*\.xlsx"
    ):
        read_table(path)
    old = tmp_path / "apps.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DataFileError, match=r"old Excel \(\.xls\) workbook; save it as \.xlsx"):
        read_table(old)
    broken = tmp_path / "apps.xlsx"
    broken.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataFileError, match=r"could not be read.*valid Excel"):
        read_table(broken)


def test_an_excel_workbook_is_read_for_training_not_streamed(
    tmp_path: Path, german_df: pd.DataFrame
) -> None:
    from creditscore.data.ingest import TableStream

    path = tmp_path / "apps.xlsx"
    german_df.head(200).to_excel(path, index=False)
    cfg = german_config()
    cfg.data.path = str(path)
    assert validate(load_raw(cfg), cfg).n_rows == 200
    with pytest.raises(DataFileError, match="Excel workbook, which cannot be streamed"):
        TableStream(path)


def test_read_table_empty_and_broken(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataFileError, match="is empty"):
        read_table(empty)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"this is not parquet")
    with pytest.raises(DataFileError, match=r"could not be read.*valid Parquet"):
        read_table(broken)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,x\nJürgen,1\n".encode("latin-1"))
    with pytest.raises(DataFileError, match="not UTF-8"):
        read_table(latin)
    with pytest.raises(DataFileError, match="is a folder"):
        read_table(tmp_path)


def test_read_table_ragged_csv(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(DataFileError, match="could not be read"):
        read_table(path)


# ---------------------------------------------------------------------------- load_raw
def test_load_raw_bundled_and_path(tmp_path: Path, german_df: pd.DataFrame) -> None:
    assert load_raw(german_config()).shape == (1000, 21)
    german_df.head(200).to_csv(tmp_path / "g.csv", index=False)
    cfg = make_config(tmp_path, path="g.csv", target="creditability", positive="bad")
    assert load_raw(cfg).shape == (200, 21)
    with pytest.raises(DataFileError, match="not found"):
        load_raw(make_config(tmp_path, path="missing.csv", target="t", positive=1))


# ---------------------------------------------------------------------------- happy path
def test_validate_german() -> None:
    ds = load(german_config())
    assert isinstance(ds, Dataset)
    assert ds.n_rows == 1000
    assert ds.y.dtype == np.int8
    assert ds.n_bads == 300
    assert ds.bad_rate == pytest.approx(0.3)
    assert len(ds.features) == 17
    assert ds.features == [c for c in ds.X.columns]
    assert set(ds.features) == set(ds.numeric) | set(ds.categorical)
    assert "credit_amount" in ds.numeric
    assert "purpose" in ds.categorical
    for col in ("personal_status_and_sex", "age_in_years", "foreign_worker", "creditability"):
        assert col not in ds.features
    assert list(ds.sensitive.columns) == [
        "personal_status_and_sex",
        "age_in_years",
        "foreign_worker",
    ]
    assert ds.ids is None
    assert ds.dates is None
    assert ds.positive == "bad"
    assert summary(ds) == {
        "rows": 1000,
        "bads": 300,
        "bad_rate": 0.3,
        "numeric": 6,
        "categorical": 11,
        "hash": ds.data_hash,
    }


def test_data_hash_is_stable_and_content_sensitive(german_df: pd.DataFrame) -> None:
    cfg = german_config()
    first = validate(german_df, cfg).data_hash
    again = validate(load_raw(cfg), cfg).data_hash
    assert first == again
    assert len(first) == 64
    changed = german_df.copy()
    changed.loc[10, "credit_amount"] += 1
    assert validate(changed, cfg).data_hash != first


def test_validate_ids_dates_and_order() -> None:
    df = small_frame()
    ds = validate(df, cfg_small())
    assert ds.features == ["income", "housing"]
    assert ds.numeric == ["income"]
    assert ds.categorical == ["housing"]
    assert ds.ids is not None
    assert ds.ids.tolist() == df["app_id"].tolist()
    assert ds.dates is not None
    assert pd.api.types.is_datetime64_any_dtype(ds.dates)
    assert ds.dates.iloc[0] == pd.Timestamp("2021-01-03")
    assert list(ds.sensitive.columns) == ["sex"]
    assert ds.y.tolist()[:4] == [1, 0, 1, 0]


def test_explicit_features_and_overrides() -> None:
    df = small_frame()
    df["grade"] = ["1", "2", "3", " 4 ", ""] * 12  # text that is numbers: forced numeric
    df["region"] = np.arange(60) % 4  # codes: forced categorical
    cfg = cfg_small(
        features=["region", "grade", "income"], numeric=["grade"], categorical=["region"]
    )
    ds = validate(df, cfg)
    assert ds.features == ["region", "grade", "income"]
    assert ds.categorical == ["region"]
    assert ds.numeric == ["grade", "income"]
    assert ds.X["grade"].dtype == np.float64
    assert ds.X["grade"].tolist()[:4] == [1.0, 2.0, 3.0, 4.0]
    assert np.isnan(ds.X["grade"].iloc[4])  # blank -> NaN
    assert ds.X["region"].tolist()[:4] == [0, 1, 2, 3]  # raw values kept


def test_special_codes_become_missing_in_the_validated_frame() -> None:
    df = small_frame()
    df.loc[0, "income"] = -999
    ds = validate(df, cfg_small(special_codes={"income": [-999]}))
    assert np.isnan(ds.X.loc[0, "income"])  # so no range or mean ever shows -999
    assert ds.X["income"].min() >= 0


def test_text_codes_keep_a_numeric_column_numeric() -> None:
    df = small_frame()
    df["income"] = df["income"].astype(object)
    df.loc[[0, 5], "income"] = ["n/a", " Unknown "]
    ds = validate(df, cfg_small(numeric=["income"], special_codes={"income": ["n/a", "unknown"]}))
    assert "income" in ds.numeric
    assert ds.X["income"].isna().sum() == 2
    with pytest.raises(DataError, match=r"data.special_codes.income"):
        validate(df, cfg_small(numeric=["income"]))


def test_an_all_text_numeric_column_is_an_error_naming_it() -> None:
    df = small_frame()
    df["income"] = "high"
    with pytest.raises(DataError) as err:
        validate(df, cfg_small(numeric=["income"]))
    message = str(err.value)
    assert "'income' is listed under data.numeric but has 60 non-numeric values (all" in message
    assert "e.g. 'high' (row 1)" in message


def test_high_cardinality_categorical_is_refused_with_what_to_do() -> None:
    df = small_frame()
    df["customer_ref"] = [f"R{i:04d}" for i in range(60)]
    with pytest.raises(DataError, match=r"'customer_ref' is categorical with 60 levels.*exclude"):
        validate(df, cfg_small())
    df["customer_ref"] = [str(1000 + i) for i in range(58)] + ["n/a", "n/a"]
    with pytest.raises(DataError, match=r"data.special_codes"):
        validate(df, cfg_small(categorical=["customer_ref"]))


def test_semicolon_csv_is_read_by_its_delimiter(tmp_path: Path) -> None:
    df = small_frame()
    path = tmp_path / "semi.csv"
    df.to_csv(path, sep=";", index=False)
    back = read_table(path)
    assert list(back.columns) == list(df.columns)
    for sep in ("\t", "|"):
        path = tmp_path / "other.csv"
        df.to_csv(path, sep=sep, index=False)
        assert list(read_table(path).columns) == list(df.columns)
    path = tmp_path / "commas.csv"
    pd.DataFrame({"a;b": [1, 2], "c": ["x;y", "z"]}).to_csv(path, index=False)
    assert list(read_table(path).columns) == ["a;b", "c"]  # commas win: same width on every line


def test_excluded_absent_columns_are_fine() -> None:
    ds = validate(small_frame(), cfg_small(exclude=["not_there", "housing"]))
    assert ds.features == ["income"]


def test_bool_is_categorical_and_sensitive_can_be_allowed() -> None:
    df = small_frame()
    df["owns_car"] = np.arange(60) % 3 == 0
    ds = validate(df, cfg_small(allow_sensitive_as_features={"sex": "tested"}))
    assert "owns_car" in ds.categorical
    assert "sex" in ds.categorical
    assert "sex" in ds.sensitive.columns


@pytest.mark.parametrize(
    ("values", "positive", "bads"),
    [
        ([0, 1] * 30, "1", 30),
        (["0", "1"] * 30, 1, 30),
        ([0.0, 1.0] * 30, 1, 30),
        (["no", "yes"] * 30, True, 30),
        ([False, True] * 30, True, 30),
        (["good", "bad", "bad"] * 20, "bad", 40),
    ],
)
def test_positive_is_compared_on_string_form(values: list, positive: object, bads: int) -> None:
    df = small_frame()
    df["status"] = values
    ds = validate(df, cfg_small(positive=positive))
    assert ds.n_bads == bads


# ---------------------------------------------------------------------------- errors
def test_missing_columns_are_named_with_suggestions() -> None:
    cfg = cfg_small(
        target="statu",
        id_column="appid",
        date_column="date",
        features=["income", "incme"],
        categorical=["hosing"],
        numeric=["salary"],
        sensitive=["gender"],
    )
    with pytest.raises(DataError) as exc:
        validate(small_frame(), cfg)
    text = problems(exc)
    assert "column 'statu' (data.target) is not in the data; did you mean 'status'?" in text
    assert "column 'appid' (data.id_column) is not in the data; did you mean 'app_id'" in text
    assert "'date' (data.date_column)" in text
    assert "'incme' (data.features)" in text
    assert "did you mean 'income'" in text
    assert "'hosing' (data.categorical)" in text
    assert "'salary' (data.numeric)" in text
    assert "'gender' (sensitive)" in text
    assert text.startswith("the data does not fit the config (7 problems):")
    assert "Traceback" not in text


def test_non_numeric_values_in_numeric_looking_column() -> None:
    df = small_frame(n=200)
    income = df["income"].map(lambda v: f"{v:.1f}").astype(object)
    bad_rows = [16, 30, 31, 40, 50, 60, 70, 80, 90, 100, 110, 120]
    income.iloc[bad_rows] = "n/a"
    df["income"] = income
    with pytest.raises(DataError) as exc:
        validate(df, cfg_small())
    assert (
        "column 'income' has 12 non-numeric values, e.g. 'n/a' (row 17); list them under "
        "data.special_codes.income if they mean 'missing'" in problems(exc)
    )
    # the way out the message names works; as a categorical it would have 188 levels
    ds = validate(df, cfg_small(numeric=["income"], special_codes={"income": ["n/a"]}))
    assert "income" in ds.numeric
    assert int(ds.X["income"].isna().sum()) == 12
    with pytest.raises(DataError, match="'income' is categorical with 188 levels"):
        validate(df, cfg_small(categorical=["income"]))


def test_non_numeric_values_in_forced_numeric_column() -> None:
    df = small_frame()
    df["housing"] = df["housing"].astype(object)
    with pytest.raises(DataError) as exc:
        validate(df, cfg_small(numeric=["housing"]))
    text = problems(exc)
    first = df["housing"].iloc[0]
    assert (
        f"column 'housing' is listed under data.numeric but has 60 non-numeric values "
        f"(all of them), e.g. {first!r} (row 1)" in text
    )


def test_date_column_that_does_not_parse() -> None:
    df = small_frame()
    df.loc[4, "applied"] = "2021-13-45"
    df.loc[9, "applied"] = "soon"
    df.loc[11, "applied"] = None
    with pytest.raises(DataError) as exc:
        validate(df, cfg_small())
    text = problems(exc)
    assert (
        "date column 'applied' has 2 values that are not dates, e.g. '2021-13-45' (row 5)" in text
    )
    assert "date column 'applied' has 1 missing values (e.g. row 12)" in text


def test_numbers_are_not_dates() -> None:
    df = small_frame()
    df["applied"] = np.arange(60) * 7
    with pytest.raises(
        DataError, match=r"date column 'applied' has 60 values that are not dates, e.g. 0 \(row 1\)"
    ):
        validate(df, cfg_small())
    df["applied"] = (
        [20210101 + i for i in range(30)]
        + [20210201 + i for i in range(28)]
        + [
            20210301,
            20210302,
        ]
    )
    assert validate(df, cfg_small()).dates is not None


def test_missing_target_values() -> None:
    df = small_frame()
    df["status"] = df["status"].astype(object)
    df.loc[[6, 20, 33], "status"] = None
    ds = validate(df, cfg_small())  # no outcome recorded yet: left out, counted
    assert ds.n_rows == 57
    assert ds.indeterminate == {"(no outcome)": 3}
    assert ds.ids is not None
    assert 100 + 6 not in ds.ids.tolist()


def test_unseen_target_values() -> None:
    df = small_frame()
    df.loc[[3, 5], "status"] = "unknown"
    df.loc[7, "status"] = "pending"
    with pytest.raises(DataError) as exc:
        validate(df, cfg_small())
    text = problems(exc)
    assert "target 'status' has 4 distinct values: 'bad' (30), 'good' (27), 'unknown' (2)," in text
    assert "'pending' (1)" in text
    assert "unseen target value 'unknown' in row 4" in text
    assert "data.negative" in text
    assert "indeterminate" in text


def test_a_loan_status_with_bads_goods_and_indeterminate_rows() -> None:
    """Several bad values, the goods listed, and rows in neither list left out of training
    with their ids, dates and protected columns, and counted."""
    df = small_frame()
    df["status"] = np.resize(["Charged Off", "Fully Paid", "Current", "Late (31-120)"], 60)
    cfg = cfg_small(positive=["Charged Off", "late (31-120)"], negative=["Fully Paid"])
    ds = validate(df, cfg)
    kept = df["status"] != "Current"
    assert ds.n_rows == int(kept.sum()) == 45
    assert ds.n_bads == 30
    assert ds.indeterminate == {"Current": 15}
    assert ds.ids is not None
    assert ds.dates is not None
    assert ds.ids.tolist() == df.loc[kept, "app_id"].tolist()
    assert ds.X["income"].tolist() == df.loc[kept, "income"].tolist()
    assert ds.sensitive["sex"].tolist() == df.loc[kept, "sex"].tolist()
    expected = df.loc[kept, "status"].isin(["Charged Off", "Late (31-120)"]).astype(int)
    assert ds.y.tolist() == expected.tolist()
    assert ds.negative == ["Fully Paid"]


def test_a_categorical_target_counts_only_the_values_it_has() -> None:
    df = small_frame()
    df["status"] = pd.Categorical(
        np.resize(["Charged Off", "Fully Paid", "Current"], 60),
        categories=["Charged Off", "Fully Paid", "Current", "Settled"],
    )
    ds = validate(df, cfg_small(positive="Charged Off", negative=["Fully Paid"]))
    assert ds.indeterminate == {"Current": 20}


def test_a_decimal_comma_column_is_read_as_text_from_the_file(tmp_path: Path) -> None:
    """pandas reads '1.500' as 1.5; listed under data.decimal_comma it is 1500, as batch
    and the Scorer read it."""
    df = small_frame()
    df["amount"] = np.resize(["1.500", "12.000", "850", "2.250,50"], 60)
    df.to_csv(tmp_path / "t.csv", sep=";", index=False)
    cfg = make_config(
        tmp_path, path="t.csv", target="status", positive="bad", numeric=["amount", "income"],
        decimal_comma=["amount"], exclude=["app_id", "applied", "housing", "sex"],
    )  # fmt: skip
    ds = validate(load_raw(cfg), cfg)
    assert ds.X["amount"].tolist()[:4] == [1500.0, 12000.0, 850.0, 2250.5]


def test_outcome_lists_that_do_not_fit_the_target() -> None:
    df = small_frame()
    with pytest.raises(DataError) as exc:
        validate(df, cfg_small(positive="bad", negative=["good", "paid"]))
    assert "data.negative 'paid' never occurs in target 'status'" in problems(exc)
    with pytest.raises(ConfigError, match=r"data.positive and data.negative both list \['bad'\]"):
        cfg_small(positive="bad", negative=["bad"])
    with pytest.raises(ConfigError, match=r"data\.positive is an empty list"):
        cfg_small(positive=[])
    df["status"] = "bad"
    df.loc[:5, "status"] = "open"
    with pytest.raises(DataError) as exc:
        validate(df, cfg_small(positive="bad", negative=["good"]))
    assert "data.negative 'good' never occurs" in problems(exc)


def test_positive_never_occurs() -> None:
    with pytest.raises(DataError) as exc:
        validate(small_frame(), cfg_small(positive="default"))
    assert (
        "data.positive 'default' never occurs in target 'status'; its values are "
        "'bad' (30), 'good' (30)" in problems(exc)
    )


def test_single_class() -> None:
    df = small_frame()
    df["status"] = "bad"
    with pytest.raises(DataError) as exc:
        validate(df, cfg_small())
    assert "target 'status' has a single class: every row is 'bad' (60 rows)" in problems(exc)


def test_too_few_bads() -> None:
    df = small_frame()
    df["status"] = "good"
    df.loc[[1, 2, 3], "status"] = "bad"
    with pytest.raises(DataError) as exc:
        validate(df, cfg_small(min_bads=20))
    assert (
        "only 3 bads (target 'status' == 'bad') in 60 rows; at least data.min_bads = 20"
        in problems(exc)
    )


def test_duplicated_ids() -> None:
    df = small_frame()
    df.loc[[8, 40], "app_id"] = 555
    df.loc[50, "app_id"] = 120  # clashes with row 21
    with pytest.raises(DataError) as exc:
        validate(df, cfg_small())
    assert (
        "id column 'app_id' has 2 duplicated values (4 rows), e.g. 555 in rows 9, 41"
        in problems(exc)
    )


def test_all_missing_feature_and_no_features_left() -> None:
    df = small_frame()
    df["notes"] = np.nan
    with pytest.raises(DataError) as exc:
        validate(df, cfg_small())
    assert "column 'notes' is empty (all 60 values missing)" in problems(exc)
    with pytest.raises(DataError) as exc:
        validate(small_frame(), cfg_small(exclude=["income", "housing"]))
    assert "no features left" in problems(exc)


def test_features_may_not_name_blocked_columns() -> None:
    with pytest.raises(DataError) as exc:
        validate(small_frame(), cfg_small(features=["income", "sex", "status"]))
    text = problems(exc)
    assert "data.features lists 'sex', which can never be a model input (it is sensitive" in text
    assert "data.features lists 'status'" in text
    assert "it is the target" in text


def test_date_feature_is_refused() -> None:
    df = small_frame()
    df["opened"] = pd.to_datetime(df["applied"])
    with pytest.raises(DataError, match=r"column 'opened' holds dates"):
        validate(df, cfg_small())


def test_all_problems_in_one_error_capped() -> None:
    df = small_frame()
    for i in range(30):
        df[f"empty_{i}"] = np.nan
    df.loc[0, "app_id"] = None
    with pytest.raises(DataError) as exc:
        validate(df, cfg_small())
    lines = problems(exc).splitlines()
    assert lines[0] == "the data does not fit the config (31 problems):"
    assert len(lines) == 1 + 20 + 1
    assert lines[-1] == "  ... and 11 more"
    assert "id column 'app_id' has 1 missing values (e.g. row 1)" in lines[1]
