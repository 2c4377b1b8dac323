"""The command line as a user runs it: real subprocesses, real files."""

from __future__ import annotations

import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creditscore.bundle import ModelBundle
from creditscore.scorer import Scorer


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "creditscore.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_help_explains_every_command(tmp_path: Path) -> None:
    out = run("--help", cwd=tmp_path)
    assert out.returncode == 0
    for command in (
        "init",
        "train",
        "models",
        "promote",
        "rollback",
        "report",
        "serve",
        "explain",
        "whatif",
        "fairness",
    ):
        assert command in out.stdout
    train_help = run("train", "--help", cwd=tmp_path).stdout
    assert "--config" in train_help
    assert "bundled German" in train_help


def test_user_mistakes_print_one_line_not_a_traceback(tmp_path: Path) -> None:
    out = run("init", "--data", "missing.csv", "--target", "y", cwd=tmp_path)
    assert out.returncode == 2
    assert "error:" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {target: y, positive: 1}\ncandiates: [logistic]\n")
    out = run("train", "--config", str(bad), cwd=tmp_path)
    assert out.returncode == 2
    assert "unknown key 'candiates'" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_init_then_train_on_an_awkward_table(tmp_path: Path, german: pd.DataFrame) -> None:
    """Ids, a leaky column, a date, missing values and typo'd categories, unmodified."""
    rng = np.random.default_rng(0)
    df = german.copy()
    df.insert(0, "application_id", [f"APP-{i:05d}" for i in range(len(df))])
    df["applied_on"] = pd.date_range("2019-01-01", periods=len(df), freq="D").strftime("%Y-%m-%d")
    df["collections_status"] = np.where(df["creditability"] == "bad", "in collections", "current")
    df.loc[rng.random(len(df)) < 0.1, "credit_amount"] = np.nan
    typo = rng.random(len(df)) < 0.1
    df.loc[typo, "housing"] = df.loc[typo, "housing"].str.upper() + " "
    data = tmp_path / "applications.csv"
    df.to_csv(data, index=False)

    out = run("init", "--data", str(data), "--target", "creditability", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "creditscore.yaml").read_text()
    assert "application_id" in text
    assert "collections_status" in text
    assert "date_column: applied_on" in text

    out = run(
        "train",
        "--config",
        "creditscore.yaml",
        "--trials",
        "2",
        "--candidates",
        "logistic,lightgbm",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "champion" in out.stdout
    assert "out-of-time" in out.stdout
    bundle_dir = next((tmp_path / "artifacts" / "bundles").iterdir())
    bundle = ModelBundle.load(bundle_dir)
    assert "collections_status" not in bundle.features
    assert "application_id" not in bundle.features
    assert bundle.metrics["test"]["roc_auc"] < 0.95  # the leak really was left out


def test_explain_whatif_and_fairness_on_a_bundle(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bundle = str(trained.bundle_path)
    out = run("explain", "--row", "1", "--model", bundle, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Reason codes" in out.stdout
    assert "Contributions" in out.stdout
    assert "protected: never a reason" not in out.stdout.split("Contributions")[0]

    # the first test-split row the model does not approve
    scorer = Scorer(trained.bundle, reasons=False)
    X = trained.dataset.X
    row = next(
        int(i)
        for i in trained.splits.test
        if scorer.decide(X.iloc[i].to_dict()).decision != "approve"
    )
    out = run("whatif", "--row", str(row), "--model", bundle, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "approved" in out.stdout
    assert "age_in_years" not in out.stdout

    out = run("fairness", "--model", bundle, "--out", str(tmp_path / "fair"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for text in ("sex", "age_group", "foreign_worker", "disparate impact ratio", "gate (warn)"):
        assert text in out.stdout
    assert (tmp_path / "fair" / "fairness.html").is_file()
    assert (tmp_path / "fair" / "fairness.json").is_file()

    application = tmp_path / "app.json"
    application.write_text("[1, 2]")
    out = run("explain", str(application), "--model", bundle, cwd=tmp_path)
    assert out.returncode == 2
    assert "expected one JSON object" in out.stderr


def test_every_help_is_filled_to_80_columns_and_keeps_its_text() -> None:
    """Each command's --help at 80 columns: no line wider, each description paragraph
    filled (a line ends only where its next word would not fit: the docstrings' own line
    breaks are not kept), and text in brackets or angle brackets survives the markup."""
    from typer.main import get_command
    from typer.testing import CliRunner

    from creditscore.cli import app

    runner = CliRunner()
    commands = sorted(get_command(app).commands)  # type: ignore[attr-defined]
    assert {"init", "train", "serve", "score", "monitor"} <= set(commands)
    texts = {}
    for command in ["", *commands]:
        args = [command, "--help"] if command else ["--help"]
        out = runner.invoke(app, args, env={"COLUMNS": "80", "TERM": "dumb"})
        assert out.exit_code == 0, out.output
        texts[command] = out.output
        lines = out.output.splitlines()
        assert max(len(line) for line in lines) <= 80, command
        prose = [line for line in lines if not line.lstrip().startswith(("│", "╭", "╰"))]
        for line, following in pairwise(prose):
            if line.strip() and following.strip() and not line.lstrip().startswith("Usage:"):
                room = 80 - len(line.rstrip()) - 1  # the console keeps one column free
                assert len(following.split()[0]) + 1 > room, (command, line, following)
    assert "creditscore[spark]" in texts["score"]
    assert "sha256:HEX" in texts["serve"]


def test_brackets_in_the_users_data_are_printed_as_they_are(tmp_path: Path) -> None:
    """Column names, values and messages are data, not rich markup: ``[eur]`` would vanish
    as an unknown style and a stray ``[/b]`` would stop the command with a traceback."""
    rng = np.random.default_rng(0)
    n = 200
    pd.DataFrame(
        {
            "income [eur]": rng.uniform(1e3, 1e4, n),
            "debt[/b]": rng.uniform(0, 1e4, n),
            "bad": rng.integers(0, 2, n),
        }
    ).to_csv(tmp_path / "odd.csv", index=False)
    out = subprocess.run(
        [sys.executable, "-m", "creditscore.cli", "init", "-d", "odd.csv", "-t", "bad"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert out.returncode == 0, out.stderr
    assert "income [eur]" in out.stdout
    assert "debt[/b]" in out.stdout
    missing = run("init", "--data", "gone [/b].csv", "--target", "y", "--force", cwd=tmp_path)
    assert missing.returncode == 2
    assert "gone [/b].csv" in missing.stderr
    assert "Traceback" not in missing.stderr
