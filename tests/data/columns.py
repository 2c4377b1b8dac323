"""Realistic column names and value sets: protected attributes in every form ``init`` must
recognise, and look-alikes it must leave as features.

Each :class:`Column` says what ``init`` should decide: the protected attribute (or None for
a feature), how the column holds it (``form``) and, for a one-column-per-group flag, the
group it stands for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

N = 600
Values = Callable[[np.random.Generator, int], object]


@dataclass(frozen=True)
class Column:
    name: str
    values: Values
    attribute: str | None = None
    form: str | None = None
    group: str | None = None


def flag(p: float = 0.3) -> Values:
    return lambda rng, n: (rng.random(n) < p).astype(int)


def yn(p: float = 0.3) -> Values:
    return lambda rng, n: np.where(rng.random(n) < p, "Y", "N")


def choice(*levels: object) -> Values:
    return lambda rng, n: rng.choice(np.array(levels, dtype=object), n)


def number(lo: float, hi: float, integer: bool = True) -> Values:
    def make(rng: np.random.Generator, n: int) -> object:
        v = rng.uniform(lo, hi, n)
        return v.round() if integer else v.round(2)

    return make


def dates(first: str, last: str) -> Values:
    def make(rng: np.random.Generator, n: int) -> object:
        lo, hi = pd.Timestamp(first).value // 10**9, pd.Timestamp(last).value // 10**9
        secs = rng.integers(lo, hi, n)
        return pd.to_datetime(secs, unit="s").strftime("%Y-%m-%d")

    return make


PROTECTED = [
    # sex and gender: names in four languages, flags, codes, values
    Column("gender", choice("M", "F"), "sex"),
    Column("SEX", choice(1, 2), "sex"),
    Column("applicant_sex", choice("Male", "Female", "MALE", "female "), "sex"),
    Column("co_applicant_sex", choice("M", "F", "U"), "sex"),
    Column("Geschlecht", choice("weiblich", "männlich"), "sex"),
    Column("sexe", choice("H", "F"), "sex"),
    Column("género", choice("hombre", "mujer"), "sex"),
    Column("is_female", flag(0.4), "sex", "group flag", "female"),
    Column("female", flag(0.4), "sex", "group flag", "female"),
    Column("male_flag", yn(0.5), "sex", "group flag", "male"),
    Column("gndr_cd", choice("1", "2"), "sex"),
    # race and ethnicity: one column per group, names, values
    Column("race", choice("White", "Black", "Asian", "Other"), "race"),
    Column("applicant_race_1", choice(1, 2, 3, 4, 5), "race"),
    Column("black", flag(0.15), "race", "group flag", "black"),
    Column("white", flag(0.6), "race", "group flag", "white"),
    Column("asian", flag(0.1), "race", "group flag", "asian"),
    Column("native_american", flag(0.03), "race", "group flag", "native american"),
    Column("pacific_islander", flag(0.02), "race", "group flag", "pacific islander"),
    Column("other_race", flag(0.05), "race", "group flag", "other"),
    Column("hispanic", flag(0.2), "ethnicity", "group flag", "hispanic"),
    Column("eth_hispanic", flag(0.2), "ethnicity", "group flag", "hispanic"),
    Column("latino_ind", flag(0.2), "ethnicity", "group flag", "latino"),
    Column("ethnicity", choice("Hispanic or Latino", "Not Hispanic or Latino"), "ethnicity"),
    Column("Ethnie", choice("a", "b", "c"), "ethnicity"),
    Column("raza", choice("a", "b"), "race"),
    # age: age, date or year of birth, bands, flags; four languages
    Column("age", number(18, 80), "age"),
    Column("applicant_age", number(18, 80), "age"),
    Column("age_band", choice("<25", "25-34", "35-49", "50+"), "age"),
    Column("age_over_62", flag(0.1), "age", "age flag"),
    Column("is_senior", flag(0.1), "age", "age flag", "senior"),
    Column("date_of_birth", dates("1945-01-01", "2004-12-31"), "age", "date of birth"),
    Column("dob", dates("1945-01-01", "2004-12-31"), "age", "date of birth"),
    Column("DateOfBirth", dates("1945-01-01", "2004-12-31"), "age", "date of birth"),
    Column("birth_year", number(1945, 2004), "age", "year of birth"),
    Column("yob", number(1945, 2004), "age", "year of birth"),
    Column("Alter", number(18, 80), "age"),
    Column("Geburtsdatum", dates("1945-01-01", "2004-12-31"), "age", "date of birth"),
    Column("âge", number(18, 80), "age"),
    Column("date_de_naissance", dates("1945-01-01", "2004-12-31"), "age", "date of birth"),
    Column("edad", number(18, 80), "age"),
    Column("fecha_de_nacimiento", dates("1945-01-01", "2004-12-31"), "age", "date of birth"),
    # marital and family status
    Column("marital_status", choice("married", "single", "divorced"), "marital status"),
    Column("MARRIAGE", choice(1, 2, 3), "marital status"),
    Column("Familienstand", choice("ledig", "verheiratet"), "marital status"),
    Column("estado_civil", choice("casado", "soltero"), "marital status"),
    Column("etat_civil", choice("a", "b"), "marital status"),
    Column("is_married", flag(0.5), "marital status"),
    Column("pregnancy_flag", flag(0.05), "family status"),
    # religion
    Column("religion", choice("a", "b", "c"), "religion"),
    Column("kirchensteuer", flag(0.5), "religion"),
    # national origin and citizenship
    Column("nationality", choice("DE", "FR", "TR", "PL"), "national origin"),
    Column("citizenship_status", choice("citizen", "resident", "visa"), "national origin"),
    Column("foreign_worker", choice("yes", "no"), "national origin"),
    Column("is_foreigner", flag(0.1), "national origin"),
    Column("country_of_birth", choice("DE", "TR", "US"), "national origin", "country of birth"),
    Column("Staatsangehörigkeit", choice("deutsch", "andere"), "national origin"),
    Column("nacionalidad", choice("ES", "MA"), "national origin"),
    Column("immigrant_flag", flag(0.1), "national origin"),
    # public assistance, disability
    Column("public_assistance_income", number(0, 800, integer=False), "public assistance"),
    Column("receives_welfare", flag(0.1), "public assistance"),
    Column("disability_flag", flag(0.05), "disability"),
    # protected by values only: the names say nothing
    Column("grp", choice("male", "female"), "sex", "values"),
    Column("pers_cd", choice("M", "F"), "sex", "values"),
    Column("civil", choice("married", "single", "widowed"), "marital status", "values"),
    Column(
        "income_source", choice("salary", "pension", "public assistance"), "public assistance",
        "values",
    ),
    Column("col_17", choice("white", "black", "asian", "hispanic"), "race", "values"),
    Column("belief", choice("christian", "muslim", "jewish", "none"), "religion", "values"),
]  # fmt: skip

LOOK_ALIKES = [
    Column("blacklist_count", number(0, 3)),
    Column("white_label_product", flag(0.2)),
    Column("age_of_account_months", number(1, 240)),
    Column("marketing_segment", choice("A", "B", "C", "D")),
    Column("credit_age", number(1, 300)),
    Column("account_age", number(1, 300)),
    Column("avg_age_of_tradelines", number(1, 200)),
    Column("oldest_trade_age_months", number(1, 400)),
    Column("vehicle_age", number(0, 20)),
    Column("black_friday_purchases", number(0, 5)),
    Column("white_goods_loan", flag(0.1)),
    Column("foreign_currency_loan", flag(0.05)),
    Column("foreign_income_share", number(0, 1, integer=False)),
    Column("senior_debt_amount", number(0, 50000, integer=False)),
    Column("single_payment_flag", flag(0.3)),
    Column("dpd_over_90", flag(0.05)),
    Column("grace_period_days", number(0, 30)),
    Column("maritime_cargo_insured", flag(0.1)),
    Column("origin_channel", choice("web", "branch", "broker")),
    Column("mortgage_balance", number(0, 400000, integer=False)),
    Column("percentage_utilised", number(0, 100)),
    Column("usage_ratio", number(0, 1, integer=False)),
    Column("page_views", number(0, 50)),
    Column("average_balance", number(0, 20000, integer=False)),
    Column("stage_of_collection", choice("none", "early", "late")),
    Column("wage_income", number(1000, 9000, integer=False)),
    Column("EDUCATION", choice(1, 2, 3, 4)),
    Column("num_dependents", number(0, 5)),
    Column("housing", choice("own", "rent", "free")),
    Column("employment_status", choice("employed", "self-employed", "retired")),
    Column("region", choice("north", "south", "east", "west")),
    Column("card_colour", choice("black", "gold", "platinum", "classic")),
    Column("payment_frequency", choice("monthly", "weekly")),
    Column("eth_wallet_balance", number(0, 10, integer=False)),
]  # fmt: skip


def table(columns: list[Column], n: int = N, seed: int = 11) -> pd.DataFrame:
    """A frame of the columns, an application date and a target that depends on income."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {c.name: c.values(rng, n) for c in columns}
    income = rng.normal(3000, 900, n).round()
    data["income"] = income
    data["application_date"] = pd.date_range("2022-01-01", periods=n, freq="D").strftime("%Y-%m-%d")
    logit = -1.2 - 0.0009 * (income - 3000)
    data["default"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(data)
