"""In-process scoring speed: one applicant and 100k-row batches, compiled vs sklearn pipeline.

For every candidate type of the catalog, and a (weighted) soft-voting blend of the three
best on the validation rows, on German (bundled) and Taiwan (``../shared/data/``, skipped
with a note where absent): train with the catalog defaults on the training split, calibrate on the
validation split as ``creditscore train`` does (``calibrate(..., "auto")``), put the model
in a bundle, and measure two Scorers side by side in one run:

* ``compiled``: ``Scorer(bundle)``, the hot path (``creditscore.compiled``);
* ``pipeline``: ``Scorer(bundle, compile=False)``, the plain sklearn pipeline's
  ``predict_proba`` behind the same validation and policy.

Single: ``Scorer.decide(application, explain=False)`` -> the Decision without reason codes
and, for the compiled Scorer, ``explain=True`` (up to 4 reason codes on every decision, as
a decline gets them), p50/p99 over ``--calls`` / ``--reason-calls`` calls
(``--pipeline-calls`` for the pipeline, which needs milliseconds per call) cycling over the
test rows; also CPU microseconds per call, which a busy machine disturbs less than wall
time. Batch: ``Scorer.score_frame`` on ``--rows`` rows drawn from the data set, rows per
second (best of ``--repeats``; the compiled path uses ``creditscore.compiled.THREADS``
threads), and ``score_frame(frame, reasons=4, explain=True)`` (4 reason codes on every
row) on ``--reason-rows`` rows. Parity: largest |compiled - pipeline| PD over the test rows
and the batch. Reason codes are baseline Shapley values on the compiled model (the
pipeline has none to compare with: its column is the PD alone).

    python benchmarks/scoring.py [--datasets german,taiwan] [--candidates logistic,...]
                                 [--calls 5000] [--pipeline-calls 300] [--rows 100000]
                                 [--reason-calls 2000] [--reason-rows 40000]

Prints one table and writes benchmarks/results/scoring.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
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
from sklearn.ensemble import VotingClassifier
from sklearn.metrics import roc_auc_score

from creditscore.bundle import ModelBundle, library_versions
from creditscore.compiled.base import THREADS
from creditscore.config import ProjectConfig, german_config
from creditscore.data.ingest import load_raw, validate
from creditscore.data.profile import build_profile
from creditscore.data.schema import InputSchema
from creditscore.data.split import split_indices
from creditscore.evaluation.threshold import fit_policy
from creditscore.models.catalog import CATALOG, Context
from creditscore.scorer import Scorer
from creditscore.training.calibration import calibrate

TARGET_SINGLE_MS = 0.05  # one decision with 4 reason codes
TARGET_ROWS_PER_S = 500_000
TARGET_REASON_ROWS_PER_S = 200_000  # with 4 reason codes on every row
BLEND_SIZE = 3  # members of the benchmark's blend: the best on the validation rows
console = Console(width=160)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()})
    return out


def single_latency(
    scorer: Scorer, rows: list[dict[str, Any]], calls: int, explain: bool = False
) -> dict[str, float]:
    """Wall p50/p99 and CPU mean of ``decide`` over ``calls`` calls (after a warm-up)."""
    for r in rows[: min(len(rows), 200)]:
        scorer.decide(r, explain=explain)
    gc.collect()
    times = np.empty(calls)
    cpu = time.process_time()
    for i in range(calls):
        r = rows[i % len(rows)]
        t = time.perf_counter_ns()
        scorer.decide(r, explain=explain)
        times[i] = time.perf_counter_ns() - t
    cpu_us = (time.process_time() - cpu) / calls * 1e6
    return {
        "p50_ms": float(np.percentile(times, 50) / 1e6),
        "p99_ms": float(np.percentile(times, 99) / 1e6),
        "cpu_us_per_call": float(cpu_us),
        "calls": calls,
    }


def batch_speed(
    scorer: Scorer, frame: pd.DataFrame, repeats: int, reasons: int = 0
) -> tuple[dict[str, float], np.ndarray]:
    best, out = np.inf, None
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        out = scorer.score_frame(frame, reasons=reasons, explain=True if reasons else None)
        best = min(best, time.perf_counter() - t)
    assert out is not None
    return {"seconds": float(best), "rows_per_s": float(len(frame) / best)}, out[
        "probability_of_default"
    ].to_numpy()


def fit_candidates(cfg: ProjectConfig, names: list[str]) -> dict[str, Any]:
    ds = validate(load_raw(cfg), cfg)
    splits = split_indices(ds.y, cfg.split, ds.dates)
    ctx = Context(
        ds.numeric,
        ds.categorical,
        dict(cfg.data.special_codes),
        dict(cfg.data.monotone),
        cfg.budget.seed,
    )
    Xt, yt = ds.X.iloc[splits.train], ds.y[splits.train]
    Xv, yv = ds.X.iloc[splits.valid], ds.y[splits.valid]
    fitted: dict[str, Any] = {}
    auc: dict[str, float] = {}
    for name in names:
        cand = CATALOG[name]
        if not cand.available():
            console.print(f"  [yellow]skip {name}: needs {cand.requires}[/yellow]")
            continue
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted[name] = cand.pipeline(None, ctx).fit(Xt, yt)
        auc[name] = float(roc_auc_score(yv, fitted[name].predict_proba(Xv)[:, 1]))
        console.print(
            f"  fitted {name} in {time.perf_counter() - t:.1f}s (valid AUC {auc[name]:.3f})"
        )
    best = sorted(auc, key=auc.__getitem__, reverse=True)[:BLEND_SIZE]
    if len(best) >= 2:
        t = time.perf_counter()
        # weighted soft vote, as training builds it (weights: times picked; here once each)
        blend = VotingClassifier(
            [(n, CATALOG[n].pipeline(None, ctx)) for n in best],
            voting="soft",
            weights=[1] * len(best),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted["blend"] = blend.fit(Xt, yt)
        console.print(f"  fitted blend of {best} in {time.perf_counter() - t:.1f}s")
    return {"ds": ds, "splits": splits, "models": fitted, "blend_members": best}


def run_dataset(name: str, cfg: ProjectConfig, args: argparse.Namespace) -> list[dict[str, Any]]:
    console.print(f"[bold]{name}[/bold]: training the candidates with their defaults ...")
    fit = fit_candidates(cfg, args.candidates)
    ds, splits = fit["ds"], fit["splits"]
    X, y = ds.X, ds.y
    schema = InputSchema.from_frame(X, ds.numeric, ds.categorical)
    test_rows = X.iloc[splits.test]
    rows = records(test_rows)
    big = X.iloc[np.random.default_rng(0).integers(0, len(X), args.rows)].reset_index(drop=True)
    out = []
    for model_name, model in fit["models"].items():
        cal = calibrate(model, X.iloc[splits.valid], y[splits.valid], "auto", cfg.split.seed)
        p_train = cal.model.predict_proba(X.iloc[splits.train])[:, 1]
        p_valid = cal.model.predict_proba(X.iloc[splits.valid])[:, 1]
        policy = fit_policy(y[splits.valid], p_valid, cfg.policy, cfg.costs)
        bundle = ModelBundle(
            cal.model,
            schema,
            policy,
            build_profile(X.iloc[splits.train], ds.numeric, ds.categorical, p_train),
            metadata={"name": f"{name}-{model_name}"},
        )
        t = time.perf_counter()
        fast = Scorer(bundle)
        build_s = time.perf_counter() - t
        plain = Scorer(bundle, compile=False, reasons=False)
        console.print(
            f"  {model_name}: {fast.fast_path} ({fast.fast_path_detail}), built in {build_s:.2f}s"
        )
        single_fast = single_latency(fast, rows, args.calls)
        single_plain = single_latency(plain, rows, args.pipeline_calls)
        single_reasons = single_latency(fast, rows, args.reason_calls, explain=True)
        batch_fast, p_fast = batch_speed(fast, big, args.repeats)
        batch_plain, p_plain = batch_speed(plain, big, 1)
        batch_reasons, _ = batch_speed(fast, big.iloc[: args.reason_rows], 1, reasons=4)
        batch_reasons["rows"] = min(args.reason_rows, len(big))
        test_fast = fast.score_frame(test_rows)["probability_of_default"].to_numpy()
        test_plain = bundle.predict_proba(test_rows)
        single_p = np.array([fast.decide(r).probability_of_default for r in rows])
        out.append(
            {
                "dataset": name,
                "model": model_name,
                "members": fit["blend_members"] if model_name == "blend" else None,
                "calibration": cal.method,
                "fast_path": fast.fast_path,
                "detail": fast.fast_path_detail,
                "scorer_build_seconds": build_s,
                "single": {
                    "compiled": single_fast,
                    "pipeline": single_plain,
                    "compiled_with_reasons": single_reasons,
                },
                "explain_method": fast.explainer.method if fast.explainer else None,
                "batch": {
                    "rows": args.rows,
                    "compiled": batch_fast,
                    "pipeline": batch_plain,
                    "compiled_with_4_reasons": batch_reasons,
                },
                "parity_max_abs": {
                    "test_rows_batch": float(np.max(np.abs(test_fast - test_plain))),
                    "test_rows_single": float(np.max(np.abs(single_p - test_plain))),
                    "batch_rows": float(np.max(np.abs(p_fast - p_plain))),
                },
                "test_rows": len(rows),
            }
        )
    return out


def render(rows: list[dict[str, Any]], load: tuple[float, ...]) -> Table:
    table = Table(
        title=(
            "In-process scoring, compiled vs sklearn pipeline (full Decision; "
            f"{THREADS} batch threads; load avg {load[0]:.1f}; targets: one decision with "
            f"4 reason codes <= {TARGET_SINGLE_MS * 1000:.0f} µs, batches >= "
            f"{TARGET_ROWS_PER_S // 1000}k rows/s, >= {TARGET_REASON_ROWS_PER_S // 1000}k "
            "with 4 reason codes)"
        )
    )
    for col in (
        "data",
        "model",
        "calib",
        "path",
        "single p50/p99 ms\ncompiled",
        "cpu µs\n/call",
        "single p50/p99 ms\npipeline",
        "x",
        "+4 reason\ncodes p50 µs",
        "batch k rows/s\ncompiled",
        "batch k rows/s\npipeline",
        "x",
        "batch +4 codes\nk rows/s",
        "max |Δ PD|",
    ):
        table.add_column(
            col, justify="right" if col not in ("data", "model", "calib", "path") else "left"
        )
    for r in rows:
        sc, sp = r["single"]["compiled"], r["single"]["pipeline"]
        sr = r["single"]["compiled_with_reasons"]
        bc, bp = r["batch"]["compiled"], r["batch"]["pipeline"]
        br = r["batch"]["compiled_with_4_reasons"]
        single_ok = sr["p50_ms"] <= TARGET_SINGLE_MS
        batch_ok = bc["rows_per_s"] >= TARGET_ROWS_PER_S
        reasons_ok = br["rows_per_s"] >= TARGET_REASON_ROWS_PER_S
        parity = max(r["parity_max_abs"].values())
        table.add_row(
            r["dataset"],
            r["model"],
            r["calibration"],
            r["fast_path"],
            f"{sc['p50_ms']:.3f} / {sc['p99_ms']:.3f}",
            f"{sc['cpu_us_per_call']:.0f}",
            f"{sp['p50_ms']:.2f} / {sp['p99_ms']:.2f}",
            f"{sp['p50_ms'] / sc['p50_ms']:.0f}",
            f"[{'green' if single_ok else 'red'}]{sr['p50_ms'] * 1000:.0f}[/]",
            f"[{'green' if batch_ok else 'red'}]{bc['rows_per_s'] / 1e3:,.0f}[/]",
            f"{bp['rows_per_s'] / 1e3:,.0f}",
            f"{bc['rows_per_s'] / bp['rows_per_s']:.1f}",
            f"[{'green' if reasons_ok else 'red'}]{br['rows_per_s'] / 1e3:,.1f}[/]",
            f"[{'green' if parity <= 1e-6 else 'red'}]{parity:.1e}[/]",
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="german,taiwan")
    parser.add_argument("--candidates", default=",".join(CATALOG))
    parser.add_argument("--calls", type=int, default=5000, help="decide() calls, compiled path")
    parser.add_argument("--pipeline-calls", type=int, default=300, help="decide() calls, pipeline")
    parser.add_argument("--reason-calls", type=int, default=2000, help="decide(explain=True) calls")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the batch frame")
    parser.add_argument(
        "--reason-rows", type=int, default=40_000, help="rows scored with 4 reason codes"
    )
    parser.add_argument("--repeats", type=int, default=3, help="batch runs, compiled (best)")
    args = parser.parse_args(argv)
    args.candidates = [c.strip() for c in args.candidates.split(",") if c.strip()]
    load_before = os.getloadavg()
    results: list[dict[str, Any]] = []
    for name in [d.strip() for d in args.datasets.split(",")]:
        cfg = german_config() if name == "german" else taiwan_config(RESULTS / "tmp", console)
        if cfg is None:
            continue
        results += run_dataset(name, cfg, args)
    load_after = os.getloadavg()
    console.print(render(results, load_after))
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "scoring",
        "targets": {
            "single_with_4_reasons_ms": TARGET_SINGLE_MS,
            "batch_rows_per_s": TARGET_ROWS_PER_S,
            "batch_with_4_reasons_rows_per_s": TARGET_REASON_ROWS_PER_S,
        },
        "anchors": {"pipeline_single_ms": 8.1, "pipeline_batch_rows_per_s": 82_000},
        "machine": {
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "batch_threads": THREADS,
            "load_average_before": load_before,
            "load_average_after": load_after,
        },
        "libraries": library_versions(),
        "args": {k: v for k, v in vars(args).items()},
        "results": results,
    }
    path = RESULTS / "scoring.json"
    path.write_text(json.dumps(payload, indent=2))
    console.print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
