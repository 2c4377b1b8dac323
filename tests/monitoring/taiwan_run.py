"""A realistic monitoring run on Taiwan (used by the report test and to look at the page).

A LightGBM model is trained on half of the (shuffled) data; the other half becomes six
months of logged decisions, scored by the real Scorer, of which April drifts (later
payments: PAY_0 + 1 for every applicant; limits 1.5 times higher). Outcomes arrive late:
January to April are complete, May has 40 % of its outcomes, June none. Then
``creditscore monitor`` runs on the decision log and writes the HTML and JSON report.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .helpers import JAN_2024, TAIWAN_TARGET, decision_records, write_decisions

MONTH_STARTS = pd.date_range("2024-01-01", periods=7, freq="MS", tz="UTC")


def train_taiwan(data: pd.DataFrame, folder: Path) -> Any:
    from creditscore.config import ProjectConfig
    from creditscore.training.train import train

    path = folder / "taiwan-train.csv"
    data.to_csv(path, index=False)
    cfg = ProjectConfig.from_dict(
        {
            "name": "taiwan-cards",
            "data": {
                "path": str(path),
                "target": TAIWAN_TARGET,
                "positive": 1,
                "id_column": "ID",
                "categorical": ["SEX", "EDUCATION", "MARRIAGE"],
            },
            "candidates": ["lightgbm"],
            "budget": {"trials": 2, "seconds": 20, "cv_folds": 2, "blend": False},
            "policy": {"refer_margin": 0.02},
            "fairness": {"enabled": False},
        },
        base_dir=folder,
    )
    return train(cfg)


def log_six_months(result: Any, current: pd.DataFrame, url: str, folder: Path) -> Path:
    """Decisions of ``current`` over January to June (April drifting); the outcome file."""
    from creditscore.scorer import Scorer

    bundle = result.bundle
    months = np.array_split(np.arange(len(current)), 6)
    scorer = Scorer(bundle, reasons=False)
    outcomes = []
    for m, idx in enumerate(months):
        rows = current.iloc[idx].reset_index(drop=True)
        X = rows[bundle.features].copy()
        for col in ("SEX", "EDUCATION", "MARRIAGE"):
            X[col] = X[col].astype(str)
        if m == 3:  # April: later payments, higher limits
            X["PAY_0"] = X["PAY_0"] + 1
            X["LIMIT_BAL"] = X["LIMIT_BAL"] * 1.5
        p = scorer.probabilities(X)
        ids = [str(i) for i in rows["ID"]]
        start = MONTH_STARTS[m].to_pydatetime()
        days = (MONTH_STARTS[m + 1] - MONTH_STARTS[m]).days
        write_decisions(url, decision_records(X, p, start, days, ids, seed=m, policy=bundle.policy))
        known = 1.0 if m < 4 else (0.4 if m == 4 else 0.0)
        keep = rows.iloc[: int(known * len(rows))]
        outcomes.append(pd.DataFrame({"ID": keep["ID"], TAIWAN_TARGET: keep[TAIWAN_TARGET]}))
    path = folder / "outcomes.csv"
    pd.concat(outcomes).to_csv(path, index=False)
    return path


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "creditscore.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def taiwan_report(
    taiwan: pd.DataFrame, folder: Path
) -> tuple[Any, subprocess.CompletedProcess[str]]:
    """Train, log, load outcomes and monitor; the report lands in ``folder / 'report'``."""
    folder.mkdir(parents=True, exist_ok=True)
    shuffled = taiwan.sample(frac=1.0, random_state=0).reset_index(drop=True)
    result = train_taiwan(shuffled.iloc[:15_000], folder)
    url = f"sqlite:///{folder / 'decisions.db'}"
    outcomes = log_six_months(result, shuffled.iloc[15_000:], url, folder)
    model = ("--model", str(result.bundle_path))
    loaded = cli("outcomes", str(outcomes), *model, "--database", url, cwd=folder)
    if loaded.returncode != 0:
        raise RuntimeError(loaded.stderr)
    out = cli("monitor", *model, "--database", url, "--out", str(folder / "report"), cwd=folder)
    return result, out


__all__ = ["JAN_2024", "taiwan_report"]
