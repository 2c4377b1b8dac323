"""Model quality: repeated stratified 5-fold CV ROC-AUC of every candidate and of the champion.

Trains with the default configuration (what ``creditscore train`` does) on the bundled
German data and on Taiwan (``../shared/data/``, skipped with a note where absent), then
re-estimates each tuned candidate, the champion configuration and two untuned reference
baselines (one-hot + median-imputed, standardised logistic regression C=0.1; LightGBM 300
trees, lr 0.03, 15 leaves; all columns incl. protected ones, as in the data README) with the
same
RepeatedStratifiedKFold on the whole data set, side by side in one run.

    python benchmarks/model_quality.py [--datasets german,taiwan] [--repeats 2] [--seconds S]

Prints one table and writes benchmarks/results/model_quality.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from common import RESULTS, taiwan_config  # benchmarks/common.py
from rich.console import Console
from rich.table import Table
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from creditscore.config import ProjectConfig, german_config
from creditscore.data.ingest import load_raw
from creditscore.training.train import train

TARGETS = {"german": 0.80, "taiwan": 0.79}
console = Console(width=120)


def reference_baselines(
    raw: pd.DataFrame, target: str, positive: Any, drop: list[str]
) -> dict[str, Any]:
    """The data README's untuned anchors, on every column but the target and ids."""
    y = (raw[target].astype(str) == str(positive)).astype(int).to_numpy()
    X = raw.drop(columns=[target, *drop])
    cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    nums = [c for c in X.columns if c not in cats]
    lr = make_pipeline(
        ColumnTransformer(
            [
                ("n", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums),
                ("c", OneHotEncoder(handle_unknown="ignore"), cats),
            ]
        ),
        LogisticRegression(C=0.1, max_iter=5000),
    )
    from lightgbm import LGBMClassifier

    gbm = make_pipeline(
        ColumnTransformer(
            [
                ("n", "passthrough", nums),
                ("c", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), cats),
            ]
        ),
        LGBMClassifier(n_estimators=300, learning_rate=0.03, num_leaves=15, verbose=-1),
    )
    return {
        "reference: LR C=0.1 (all columns)": (lr, X, y),
        "reference: LightGBM (all columns)": (gbm, X, y),
    }


def repeated_cv(model: Any, X: pd.DataFrame, y: np.ndarray, repeats: int, seed: int) -> list[float]:
    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(clone(model), X, y, scoring="roc_auc", cv=cv, n_jobs=1)
    return [float(s) for s in scores]


def run_dataset(
    name: str, cfg: ProjectConfig, repeats: int, seconds: float | None
) -> dict[str, Any]:
    if seconds is not None:
        cfg.budget = cfg.budget.model_copy(update={"seconds": seconds})
    cfg.output_dir = str(RESULTS / "artifacts" / name)
    console.print(f"[bold]{name}[/bold]: training with the default configuration ...")
    t0 = time.perf_counter()
    result = train(cfg)
    train_seconds = time.perf_counter() - t0
    ds = result.dataset
    rows: list[dict[str, Any]] = []
    for cand in result.candidates:
        console.print(f"  repeated CV: {cand.name}")
        scores = repeated_cv(cand.model, ds.X, ds.y, repeats, cfg.budget.seed)
        rows.append(
            {
                "model": cand.name + (" (champion)" if cand.name == result.champion else ""),
                "cv_auc_mean": float(np.mean(scores)),
                "cv_auc_std": float(np.std(scores)),
                "folds": scores,
                "tuning_cv_auc": cand.cv_auc_mean,
                "params": cand.tuning.best_params,
            }
        )
    raw = load_raw(cfg)
    drop = [c for c in (cfg.data.id_column, cfg.data.date_column) if c]
    if name == "taiwan":
        drop.append("ID")
    for label, (model, X, y) in reference_baselines(
        raw, cfg.data.target, cfg.data.positive, drop
    ).items():
        console.print(f"  repeated CV: {label}")
        scores = repeated_cv(model, X, y, repeats, cfg.budget.seed)
        rows.append(
            {
                "model": label,
                "cv_auc_mean": float(np.mean(scores)),
                "cv_auc_std": float(np.std(scores)),
                "folds": scores,
            }
        )
    champion = next(r for r in rows if r["model"].endswith("(champion)"))
    return {
        "dataset": name,
        "rows": ds.n_rows,
        "bad_rate": ds.bad_rate,
        "features": len(ds.features),
        "champion": result.champion,
        "champion_cv_auc": champion["cv_auc_mean"],
        "target": TARGETS[name],
        "meets_target": champion["cv_auc_mean"] >= TARGETS[name],
        "test_auc": result.test_metrics["roc_auc"],
        "train_seconds": train_seconds,
        "budget": cfg.budget.model_dump(),
        "models": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", default="german,taiwan")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=None, help="override budget.seconds")
    args = parser.parse_args(argv)
    out: list[dict[str, Any]] = []
    for name in args.datasets.split(","):
        cfg = german_config() if name == "german" else taiwan_config(RESULTS / "tmp", console)
        if cfg is None:
            continue
        out.append(run_dataset(name, cfg, args.repeats, args.seconds))

    table = Table(title=f"Repeated stratified 5-fold CV ROC-AUC ({args.repeats} repeats)")
    for col in ("data set", "model", "CV AUC", "± std", "tuning CV AUC"):
        table.add_column(col, justify="left" if col in ("data set", "model") else "right")
    for res in out:
        for r in sorted(res["models"], key=lambda r: -r["cv_auc_mean"]):
            style = "bold green" if r["model"].endswith("(champion)") else ""
            table.add_row(
                res["dataset"],
                r["model"],
                f"{r['cv_auc_mean']:.4f}",
                f"{r['cv_auc_std']:.4f}",
                f"{r['tuning_cv_auc']:.4f}" if "tuning_cv_auc" in r else "-",
                style=style,
            )
        verdict = "meets" if res["meets_target"] else "misses"
        table.add_row(
            res["dataset"],
            f"target >= {res['target']:.2f}: champion {verdict}",
            "",
            "",
            "",
            end_section=True,
        )
    console.print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "model_quality.json"
    kept: list[dict[str, Any]] = []  # data sets not rerun now keep their last results
    if path.is_file():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            ran = {r["dataset"] for r in out}
            kept = [r for r in json.loads(path.read_text())["results"] if r["dataset"] not in ran]
    payload = {
        "machine": platform.platform(),
        "python": sys.version.split()[0],
        "results": kept + out,
    }
    path.write_text(json.dumps(payload, indent=2, default=str))
    console.print(f"wrote {RESULTS / 'model_quality.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
