"""Commands find the project: ./creditscore.yaml, --config / --name, --version, 80 columns,
semicolon CSVs (real subprocesses in a folder of their own)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from data.tables import german_semicolon_table, mortgage_table


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "COLUMNS": "80",
        "CREDITSCORE_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}",
        "CREDITSCORE_HOME": str(cwd),
        **env,
    }
    environ.pop("CREDITSCORE_MODEL_NAME", None)
    return subprocess.run(
        [sys.executable, "-m", "creditscore.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=environ,
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    here = tmp_path_factory.mktemp("project")
    from creditscore import tracking

    tracking.client(f"sqlite:///{here / 'mlflow.db'}").search_registered_models()  # an empty one
    mortgage_table(n=800).to_csv(here / "mortgage.csv", index=False)
    out = run("init", "--data", "mortgage.csv", "--target", "default", cwd=here)
    assert out.returncode == 0, out.stderr
    return here


def test_init_takes_the_file_as_an_argument_and_finds_the_target(folder: Path) -> None:
    out = run("init", "mortgage.csv", "-o", "guessed.yaml", cwd=folder)
    assert out.returncode == 0, out.stderr
    said = " ".join(out.stdout.split())
    assert "Note: target: 'default', the only column named like an outcome" in said
    assert "target: default" in (folder / "guessed.yaml").read_text()
    out = run("init", "-o", "none.yaml", cwd=folder)
    assert out.returncode != 0
    assert "give the file of past applications" in " ".join(out.stderr.split())
    out = run("init", "mortgage.csv", "--data", "other.csv", "-o", "x.yaml", cwd=folder)
    assert "two data files given" in " ".join(out.stderr.split())


def test_init_table_fits_80_columns_and_names_what_it_found(folder: Path) -> None:
    out = run("init", "--data", "mortgage.csv", "--target", "default", "--force", cwd=folder)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    table = [line for line in lines if line.startswith(("│", "┃", "┏", "┡", "└"))]
    assert table
    assert max(len(line) for line in table) <= 80
    assert "POSSIBLE" in out.stdout
    assert "possible proxy(ies) of protected attributes" in out.stdout
    assert "shoe_size -> male (AUC 0." in out.stdout.replace("\n", " ")
    assert "Wrote creditscore.yaml" in out.stdout
    assert "then run: creditscore train" in out.stdout


def test_version() -> None:
    out = run("--version", cwd=Path.cwd())
    assert out.returncode == 0
    assert out.stdout.startswith("creditscore 0.")


def test_commands_read_the_project_file_and_say_so(folder: Path) -> None:
    out = run("models", cwd=folder)
    assert out.returncode == 2
    assert "Using ./creditscore.yaml" in out.stderr
    # the project's name, not the German demo's; the message says how to name another
    assert "no registered model 'mortgage'" in out.stderr
    assert "--name" in out.stderr
    assert "CREDITSCORE_MODEL_NAME" in out.stderr
    named = run("models", "--name", "other-model", cwd=folder)
    assert "no registered model 'other-model'" in named.stderr
    elsewhere = folder / "sub"
    elsewhere.mkdir(exist_ok=True)
    other = run(
        "models",
        "--config",
        str(folder / "creditscore.yaml"),
        cwd=elsewhere,
        CREDITSCORE_TRACKING_URI=f"sqlite:///{folder / 'mlflow.db'}",
    )
    assert "no registered model 'mortgage'" in other.stderr
    assert "Using ./creditscore.yaml" not in other.stderr


def test_serve_takes_the_project_and_name(folder: Path) -> None:
    out = run("serve", "--port", "1", cwd=folder, CREDITSCORE_DEV_MODE="true")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "no registered model 'mortgage'" in out.stderr
    assert "Traceback" not in out.stderr
    named = run("serve", "--name", "abc", "--port", "1", cwd=folder, CREDITSCORE_DEV_MODE="true")
    assert "no registered model 'abc'" in named.stderr


def test_a_semicolon_csv_is_read_as_such(tmp_path: Path) -> None:
    german_semicolon_table(n=600).to_csv(tmp_path / "kredite.csv", sep=";", index=False)
    out = run("init", "--data", "kredite.csv", "--target", "Ausfall", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "creditscore.yaml").read_text()
    assert "positive: ja" in text
    for col in ("Geschlecht", "Geburtsdatum", "Familienstand", "Staatsangehörigkeit"):
        assert f"  - {col} " in text.split("sensitive:")[1].split("allow_sensitive")[0]
    assert "Einkommen: [k.A.]" in text
