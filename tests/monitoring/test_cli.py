"""`creditscore monitor`, `outcomes` and `retrain` as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .helpers import JAN_2024, decision_records, write_decisions


def cli(
    *args: str, cwd: Path, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CREDITSCORE_HOME": str(cwd), "COLUMNS": "120", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "creditscore.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def one_line_error(out: subprocess.CompletedProcess[str], text: str) -> None:
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert "error:" in out.stderr
    assert text in " ".join(out.stderr.split()), out.stderr


@pytest.fixture(scope="module")
def german_rows(german_model, german: pd.DataFrame) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The held-out rows (validation and test) without their outcome."""
    held = np.concatenate([german_model.splits.valid, german_model.splits.test])
    return german.iloc[held].drop(columns=["creditability"]).reset_index(drop=True)


def test_monitor_a_drifted_file_exits_1_and_writes_the_report(
    german_model, german_rows, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    drifted = german_rows.copy()
    drifted.loc[drifted.index[: 2 * len(drifted) // 3], "purpose"] = "car (new)"
    path = tmp_path / "drifted.csv"
    drifted.to_csv(path, index=False)
    out = cli(
        "monitor", "--model", str(german_model.bundle_path), "--current", str(path),
        "--out", str(tmp_path / "report"), "--json", str(tmp_path / "result.json"), cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Verdict: RED" in out.stdout
    assert "purpose" in out.stdout
    html = (tmp_path / "report" / "monitoring.html").read_text()
    assert html.index("Verdict: RED") < html.index("PSI by input and cohort")
    doc = json.loads((tmp_path / "result.json").read_text())
    assert doc == json.loads((tmp_path / "report" / "monitoring.json").read_text())
    assert doc["verdict"] == "red"
    assert {"verdict", "cohorts", "score", "features", "performance", "alerts"} <= set(doc)
    assert {"psi", "status"} <= set(doc["score"])
    purpose = next(f for f in doc["features"] if f["feature"] == "purpose")
    assert purpose["status"] == "act"
    assert purpose["psi"] > 0.25
    assert all({"feature", "psi", "status"} <= set(f) for f in doc["features"])
    assert any(a["item"] == "feature purpose" and a["level"] == "red" for a in doc["alerts"])
    assert all({"level", "item", "message"} <= set(a) for a in doc["alerts"])


def test_monitor_without_drift_exits_0(german_model, german_rows, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "same.parquet"
    german_rows.to_parquet(path)
    out = cli(
        "monitor",
        "--model",
        str(german_model.bundle_path),
        "--current",
        str(path),
        "--json",
        "-",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads(out.stdout[out.stdout.index("{\n") :])
    assert doc["verdict"] == "green"
    assert doc["alerts"] == []


@pytest.fixture
def logged(german_model, german_rows, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'decisions.db'}"
    X = german_rows[german_model.bundle.features]
    p = german_model.bundle.predict_proba(X)
    write_decisions(
        url,
        decision_records(
            X, p, JAN_2024, 90, ids=[f"G{i}" for i in range(len(X))], policy=german_model.policy
        ),
    )
    return url


def test_bad_inputs_exit_2_with_one_clear_line(
    german_model, german_rows, logged: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    model = ("--model", str(german_model.bundle_path))
    thin = tmp_path / "thin.csv"
    german_rows[["purpose", "credit_amount"]].to_csv(thin, index=False)
    one_line_error(
        cli("monitor", *model, "--current", str(thin), cwd=tmp_path),
        "lacks 15 of the model's 17 input columns",
    )
    full = tmp_path / "full.csv"
    german_rows.to_csv(full, index=False)
    one_line_error(
        cli("monitor", *model, "--current", str(full), "--by", "branch", cwd=tmp_path),
        "cohort column 'branch' (--by) is not in",
    )
    one_line_error(
        cli("monitor", *model, "--database", logged, "--since", "2030-01-01", cwd=tmp_path),
        "no decisions between 2030-01-01",
    )
    one_line_error(
        cli("monitor", *model, "--database", logged, "--by", "branch", cwd=tmp_path),
        "cohort column 'branch' (--by) is neither a decision-log column",
    )
    one_line_error(
        cli("monitor", *model, "--database", logged, "--since", "last tuesday", cwd=tmp_path),
        "--since 'last tuesday' is not a date",
    )
    outcomes = tmp_path / "outcomes.csv"
    pd.DataFrame(
        {"application_id": ["G1", "X-404", "X-405"], "status": ["bad", "good", "bad"]}
    ).to_csv(outcomes, index=False)
    one_line_error(
        cli(
            "outcomes",
            str(outcomes),
            *model,
            "--database",
            logged,
            "--id-column",
            "application_id",
            "--target",
            "status",
            cwd=tmp_path,
        ),
        "2 of 3 application ids are not in the decision log (e.g. 'X-404', 'X-405'); "
        "nothing was loaded",
    )


def test_outcomes_loaded_twice_change_nothing_and_monitor_backtests(
    german_model, german, logged: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    held = np.concatenate([german_model.splits.valid, german_model.splits.test])
    labels = german.iloc[held]["creditability"].to_numpy()
    outcomes = tmp_path / "outcomes.csv"
    pd.DataFrame(
        {"application_id": [f"G{i}" for i in range(len(held))], "creditability": labels}
    ).to_csv(outcomes, index=False)
    model = str(german_model.bundle_path)
    args = ("outcomes", str(outcomes), "--model", model, "--database", logged,
            "--id-column", "application_id")  # fmt: skip
    first = cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"{len(held)} new, 0 corrected, 0 unchanged" in " ".join(first.stdout.split())
    second = cli(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert f"0 new, 0 corrected, {len(held)} unchanged" in " ".join(second.stdout.split())
    out = cli(
        "monitor",
        "--model",
        str(german_model.bundle_path),
        "--database",
        logged,
        "--json",
        str(tmp_path / "m.json"),
        cwd=tmp_path,
    )
    assert out.returncode in (0, 1), out.stderr
    doc = json.loads((tmp_path / "m.json").read_text())
    assert [c["cohort"] for c in doc["cohorts"]] == ["2024-01", "2024-02", "2024-03"]
    perf = doc["performance"]
    assert perf["n"] == len(held)
    assert perf["labelled_share"] == 1.0
    assert perf["auc"] == pytest.approx(german_model.bundle.profile.reference.auc, abs=0.08)
    assert len(perf["bands"]) == len(german_model.policy.bands)
    assert doc["cohorts"][0]["operations"]["volume"] > 0


@pytest.mark.slow
def test_monitor_takes_a_registry_uri_as_score_does(
    german_model, german_rows, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from batch.helpers import register_bundle

    uri = register_bundle(german_model.bundle, german_model.bundle_path, tmp_path, "german-mon")
    env = {"CREDITSCORE_TRACKING_URI": uri, "CREDITSCORE_CACHE": str(tmp_path / "cache")}
    path = tmp_path / "same.parquet"
    german_rows.to_parquet(path)
    by_folder = cli(
        "monitor", "--model", str(german_model.bundle_path), "--current", str(path),
        "--json", str(tmp_path / "folder.json"), cwd=tmp_path, env=env,
    )  # fmt: skip
    assert by_folder.returncode == 0, by_folder.stdout + by_folder.stderr
    folder = json.loads((tmp_path / "folder.json").read_text())
    for model, label in (
        ("models:/german-mon@champion", "v1 (champion)"),
        ("models:/german-mon/1", "v1"),
        ("models:/german-mon/v1", "v1"),
    ):
        out = cli(
            "monitor", "--model", model, "--current", str(path),
            "--json", str(tmp_path / "registry.json"), cwd=tmp_path, env=env,
        )  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr
        assert f"german-credit {label} on" in " ".join(out.stdout.split())
        doc = json.loads((tmp_path / "registry.json").read_text())
        assert doc["score"] == folder["score"]  # the same model, resolved from the registry
    one_line_error(
        cli("monitor", "--model", "models:/german-mon/latest", "--current", str(path),
            cwd=tmp_path, env=env),
        "the version of models:/NAME/VERSION is a number (got 'latest')",
    )  # fmt: skip
    one_line_error(
        cli("monitor", "--model", "models:german-mon", "--current", str(path),
            cwd=tmp_path, env=env),
        "a registered model is models:/NAME/VERSION or models:/NAME@ALIAS",
    )  # fmt: skip
    one_line_error(
        cli("monitor", "--model", "models:/nope@champion", "--current", str(path),
            cwd=tmp_path, env=env),
        "nope",
    )  # fmt: skip
    one_line_error(
        cli("monitor", "--model", str(tmp_path / "no-such-bundle"), "--current", str(path),
            cwd=tmp_path, env=env),
        "is neither a bundle folder nor a registered model",
    )  # fmt: skip
    one_line_error(
        cli("monitor", "--model", "models:/german-mon/1", "--version", "1",
            "--current", str(path), cwd=tmp_path, env=env),
        "give --model or --version, not both",
    )  # fmt: skip


def test_help_lists_the_monitoring_commands(tmp_path: Path) -> None:
    out = cli("--help", cwd=tmp_path)
    for command in ("monitor", "outcomes", "retrain"):
        assert command in out.stdout
    text = cli("monitor", "--help", cwd=tmp_path).stdout
    for option in ("--current", "--since", "--until", "--by", "--out", "--json", "--model"):
        assert option in text
    assert "models:/NAME/VERSION or models:/NAME@ALIAS" in " ".join(text.split())
    assert "Exit code" in text


@pytest.mark.slow
def test_retrain_registers_a_challenger_and_the_gate_decides(
    tmp_path: Path, german: pd.DataFrame
) -> None:
    newer = tmp_path / "newer.csv"
    german.sample(frac=1.0, random_state=3).to_csv(newer, index=False)
    cfg = tmp_path / "project.yaml"
    from creditscore.config import german_config

    raw = german_config().to_yaml_dict()
    raw.update(
        candidates=["logistic"], budget={"trials": 1, "seconds": 5, "cv_folds": 2, "blend": False}
    )
    raw["fairness"]["n_boot"] = 20
    import yaml

    cfg.write_text(yaml.safe_dump(raw))
    first = cli("retrain", "--data", str(newer), "--config", str(cfg), cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "champion" in first.stdout.lower()
    models = cli("models", "--config", str(cfg), cwd=tmp_path)
    assert models.returncode == 0
    assert "champion" in models.stdout
    missing = cli("retrain", "--data", str(tmp_path / "nope.csv"), cwd=tmp_path)
    one_line_error(missing, "not found")
