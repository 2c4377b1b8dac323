"""A table whose numbers are written for people ('13.95%', '$3,174.37', '9.081,10'): init
reads them as numbers, and training, the Scorer, batch files and monitoring files read them
the same way, so the same application gets the same PD however its numbers are written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditscore.batch import score_file
from creditscore.config import ProjectConfig
from creditscore.init import init_project
from creditscore.monitoring import FileSource, run
from creditscore.scorer import Scorer
from creditscore.training.train import train


def _eu(x: float) -> str:
    return f"{x:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")


def _loans(n: int = 1500, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the table as exported, the same numbers as numbers)."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(5, 25, n).round(2)
    income = rng.lognormal(8, 0.5, n).round(2)
    amount = rng.uniform(1000, 30000, n).round(2)
    z = -2.5 + 0.12 * (rate - 12) - 0.6 * (np.log(income) - 8) + amount / 40000
    bad = rng.random(n) < 1 / (1 + np.exp(-z))
    numbers = pd.DataFrame(
        {"int_rate": rate, "income": income, "amount_eur": amount,
         "grade": rng.choice(list("ABC"), n), "status": np.where(bad, "bad", "good")}
    )  # fmt: skip
    written = numbers.assign(
        int_rate=[f" {r:.2f}%" for r in rate],
        income=[f"${x:,.2f}" for x in income],
        amount_eur=[_eu(x) for x in amount],
    )
    return written, numbers


@pytest.fixture(scope="module")
def trained_on_text(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("numbers")
    written, numbers = _loans()
    path = tmp / "loans.csv"
    written.to_csv(path, index=False, sep=";")
    inf = init_project(path, "status", None, tmp / "creditscore.yaml")
    cfg = ProjectConfig.from_yaml(tmp / "creditscore.yaml")
    cfg.candidates = ["logistic"]
    cfg.budget = cfg.budget.model_copy(update={"trials": 2, "seconds": None, "cv_folds": 3})
    return inf, cfg, train(cfg), written, numbers, tmp


def test_init_reads_formatted_numbers_as_numbers(trained_on_text) -> None:  # type: ignore[no-untyped-def]
    inf, cfg, _, _, _, _ = trained_on_text
    assert set(inf.numeric) == {"int_rate", "income", "amount_eur"}
    assert (
        "written as '5" in inf.decision("int_rate").reason or "%" in inf.decision("int_rate").reason
    )
    assert cfg.data.decimal_comma == ["amount_eur"]
    assert cfg.data.numeric == ["int_rate", "income", "amount_eur"]


def test_training_saw_the_numbers(trained_on_text) -> None:  # type: ignore[no-untyped-def]
    _, _, result, _, numbers, _ = trained_on_text
    schema = result.bundle.schema
    amount = schema.field("amount_eur")
    assert amount.decimal == ","
    assert amount.minimum == pytest.approx(numbers["amount_eur"].min())
    assert amount.maximum == pytest.approx(numbers["amount_eur"].max())
    assert schema.field("int_rate").maximum == pytest.approx(numbers["int_rate"].max())


def test_scorer_pipeline_batch_and_monitoring_read_them_alike(trained_on_text) -> None:  # type: ignore[no-untyped-def]
    _, _, result, written, numbers, tmp = trained_on_text
    bundle = result.bundle
    scorer = Scorer(bundle)
    inputs = ["int_rate", "income", "amount_eur", "grade"]
    as_numbers = scorer.score_frame(numbers[inputs])["probability_of_default"].to_numpy()
    # the compiled frame path and the scikit-learn pipeline, on the written texts
    as_text = scorer.score_frame(written[inputs])["probability_of_default"].to_numpy()
    np.testing.assert_allclose(as_text, as_numbers, rtol=1e-12)
    pipeline = bundle.predict_proba(written[inputs])
    np.testing.assert_allclose(pipeline, as_numbers, rtol=1e-9)
    # one application at a time
    for i in range(5):
        text_row = written.iloc[i][inputs].to_dict()
        number_row = numbers.iloc[i][inputs].to_dict()
        assert scorer.decide(text_row).probability_of_default == pytest.approx(
            scorer.decide(number_row).probability_of_default, rel=1e-12
        )
    # a batch file as exported, semicolons and all
    src = tmp / "new.csv"
    written[inputs].to_csv(src, index=False, sep=";")
    summary = score_file(src, tmp / "scored.parquet", model=result.bundle_path)
    assert summary.tally.rejected == 0
    scored = pd.read_parquet(tmp / "scored.parquet")
    np.testing.assert_allclose(scored["probability_of_default"], as_numbers, rtol=1e-12)
    # '1.500' in a decimal-comma column is 1500 in a batch file too (Arrow would say 1.5)
    few = written[inputs].iloc[:3].assign(amount_eur=["1.500", "12.000", "850"])
    few.to_csv(tmp / "few.csv", index=False, sep=";")
    score_file(tmp / "few.csv", tmp / "few.parquet", model=result.bundle_path)
    expected = scorer.score_frame(
        numbers[inputs].iloc[:3].assign(amount_eur=[1500.0, 12000.0, 850.0])
    )["probability_of_default"]
    got = pd.read_parquet(tmp / "few.parquet")["probability_of_default"]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # monitoring reads the same file: no value is invalid
    report = run(bundle, FileSource(bundle, path=src))
    for feature in report.overall.features:
        assert getattr(feature, "invalid", 0) == 0, feature.feature
