"""Synthetic tables shaped like real portfolio extracts, for ``init`` and the end-to-end tests.

* :func:`mortgage_table`: a US mortgage-application extract (HMDA-like): one 0/1 column per
  race group, a Hispanic flag, a ``male`` flag, a date of birth, an income with 3 % 'n/a' /
  'unknown', years of employment with -999, home ownership in several spellings, a past
  delinquency count, and ``shoe_size``: a synthetic proxy that predicts sex with AUC ~0.9.
* :func:`consumer_table`: consumer credit with a date of birth, gender and marital status in
  several spellings, nationality, history columns.
* :func:`bureau_table`: a credit-bureau extract with sentinels (-1, 999, 9999) and
  look-alikes of protected names (``age_of_account_months``, ``blacklist_count``).
* :func:`german_semicolon_table`: German column names, written as a semicolon CSV.

The outcome depends on income, loan size and history, never on a protected attribute.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _dates(rng: np.random.Generator, n: int, first: str, days: int) -> pd.Series:
    start = pd.Timestamp(first)
    return pd.Series(start + pd.to_timedelta(np.sort(rng.integers(0, days, n)), unit="D"))


def _births(rng: np.random.Generator, applied: pd.Series, lo: int = 19, hi: int = 80) -> pd.Series:
    ages = rng.uniform(lo, hi, len(applied)) * 365.2425
    return applied - pd.to_timedelta(ages.round(), unit="D")


def mortgage_table(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    applied = _dates(rng, n, "2021-01-01", 900)
    race = rng.choice(["white", "black", "asian", "native_american"], n, p=[0.62, 0.2, 0.15, 0.03])
    male = (rng.random(n) < 0.55).astype(int)
    income = rng.lognormal(np.log(70000), 0.45, n).round(-2)
    loan = (income * rng.uniform(2.0, 4.5, n)).round(-3)
    delinq = rng.poisson(0.4, n)
    employment = rng.integers(0, 35, n).astype(float)
    employment[rng.random(n) < 0.05] = -999
    term = rng.choice([180, 240, 360], n, p=[0.2, 0.1, 0.7])
    down = (loan * rng.uniform(0.03, 0.3, n)).round(-2)
    home = rng.choice(["Rent", "Own", "Mortgage"], n, p=[0.45, 0.2, 0.35]).astype(object)
    variants = {"Rent": ["RENT", "rent "], "Own": ["OWN", " own"], "Mortgage": ["MORTGAGE"]}
    for i in rng.choice(n, n // 10, replace=False):
        home[i] = rng.choice(variants[home[i]])
    logit = (
        -2.2
        - 1.1 * (np.log(income) - np.log(70000))
        + 0.9 * (loan / income - 3.2)
        + 0.55 * delinq
        - 0.4 * (down / loan - 0.15) * 10
    )
    default = (rng.random(n) < _logistic(logit)).astype(int)
    income_text = pd.Series(income).map(lambda v: f"{v:.0f}").astype(object)
    gaps = rng.choice(n, int(0.03 * n), replace=False)
    income_text.iloc[gaps] = rng.choice(["n/a", "unknown", "N/A"], len(gaps))
    return pd.DataFrame(
        {
            "application_id": [f"M{i:06d}" for i in rng.permutation(n)],
            "application_date": applied.dt.strftime("%Y-%m-%d"),
            "white": (race == "white").astype(int),
            "black": (race == "black").astype(int),
            "asian": (race == "asian").astype(int),
            "native_american": (race == "native_american").astype(int),
            "hispanic": (rng.random(n) < 0.18).astype(int),
            "male": male,
            "date_of_birth": _births(rng, applied).dt.strftime("%Y-%m-%d"),
            "income": income_text,
            "loan_amount": loan,
            "loan_term_months": term,
            "down_payment": down,
            "employment_years": employment,
            "home_ownership": home,
            "num_delinquencies": delinq,
            "shoe_size": (39 + 3.6 * male + rng.normal(0, 2, n)).round(1),
            "default": default,
        }
    )


def consumer_table(n: int = 2500, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    applied = _dates(rng, n, "2019-06-01", 1200)
    sex = rng.choice(["F", "M"], n)
    spelt = np.where(
        sex == "F", rng.choice(["F", "f", "Female"], n), rng.choice(["M", "male", "Male"], n)
    )
    marital = rng.choice(["Married", "MARRIED", "single", "Single", "divorced"], n)
    income = rng.gamma(4.0, 800.0, n).round()
    amount = rng.gamma(2.0, 2500.0, n).round(-1)
    duration = rng.choice([6, 12, 18, 24, 36, 48, 60], n)
    defaults = rng.poisson(0.2, n)
    since = rng.integers(1, 120, n).astype(float)
    since[defaults == 0] = np.nan
    logit = -1.3 - 0.0004 * (income - 3200) + 0.00005 * amount + 0.02 * duration + 0.8 * defaults
    status = np.where(rng.random(n) < _logistic(logit), "bad", "good")
    return pd.DataFrame(
        {
            "customer_id": rng.permutation(n) + 10_000,
            "application_date": applied.dt.strftime("%d/%m/%Y"),
            "date_of_birth": _births(rng, applied, 18, 85).dt.strftime("%d/%m/%Y"),
            "gender": spelt,
            "marital_status": marital,
            "nationality": rng.choice(
                ["DE", "FR", "IT", "TR", "PL"], n, p=[0.6, 0.1, 0.1, 0.1, 0.1]
            ),
            "monthly_income": income,
            "credit_amount": amount,
            "duration_months": duration,
            "purpose": rng.choice(["car", "furniture", "education", "holiday", "other"], n),
            "savings_band": rng.choice(["none", "<1000", "1000-5000", ">5000"], n),
            "num_past_defaults": defaults,
            "months_since_last_delinquency": since,
            "status": status,
        }
    )


def bureau_table(n: int = 4000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    util = rng.beta(2, 5, n).round(3) * 100
    util[rng.random(n) < 0.04] = 9999
    inquiry = rng.integers(0, 365, n).astype(float)
    inquiry[rng.random(n) < 0.1] = -1
    delinq_m = rng.integers(0, 84, n).astype(float)
    delinq_m[rng.random(n) < 0.5] = 999
    trades = rng.poisson(6, n)
    oldest = rng.integers(3, 360, n)
    logit = -2.0 + 0.02 * np.where(util > 100, 40, util) - 0.004 * oldest + 0.1 * trades
    bad = np.where(rng.random(n) < _logistic(logit), "Y", "N")
    return pd.DataFrame(
        {
            "record_key": [f"B{i:07d}" for i in range(n)],
            "AGE": rng.integers(18, 90, n),
            "age_of_account_months": oldest,
            "blacklist_count": rng.poisson(0.05, n),
            "revolving_utilization": util,
            "days_since_last_inquiry": inquiry,
            "months_since_last_delinquent": delinq_m,
            "num_open_trades": trades,
            "total_balance": rng.gamma(2.0, 8000.0, n).round(2),
            "white_label_product": (rng.random(n) < 0.2).astype(int),
            "marketing_segment": rng.choice(["A", "B", "C"], n),
            "bad_flag": bad,
        }
    )


def german_semicolon_table(n: int = 1500, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    applied = _dates(rng, n, "2020-03-01", 700)
    income = rng.gamma(5.0, 600.0, n).round().astype(int).astype(object)
    income[rng.random(n) < 0.02] = "k.A."
    amount = rng.gamma(2.0, 4000.0, n).round(-2).astype(int)
    months = rng.choice([12, 24, 36, 48, 60, 72], n)
    logit = -1.6 + 0.00006 * amount + 0.015 * months
    return pd.DataFrame(
        {
            "kunden_nr": rng.permutation(n) + 500_000,
            "antragsdatum": applied.dt.strftime("%d.%m.%Y"),
            "Geschlecht": rng.choice(["weiblich", "männlich"], n),
            "Geburtsdatum": _births(rng, applied).dt.strftime("%d.%m.%Y"),
            "Familienstand": rng.choice(["ledig", "verheiratet", "geschieden"], n),
            "Staatsangehörigkeit": rng.choice(["deutsch", "andere"], n, p=[0.85, 0.15]),
            "Einkommen": income,
            "Kreditbetrag": amount,
            "Laufzeit_Monate": months,
            "Wohnsituation": rng.choice(["Miete", "Eigentum", "bei Eltern"], n),
            "Ausfall": np.where(rng.random(n) < _logistic(logit), "ja", "nein"),
        }
    )
