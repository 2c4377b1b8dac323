"""Performance calculators: binned AUC and its DeLong error, backtesting lights, CBPE."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta, binomtest
from sklearn.metrics import roc_auc_score

from creditscore.config import MonitoringConfig
from creditscore.evaluation.metrics import auc_standard_error, binned_roc, ks_statistic
from creditscore.monitoring import FrameSource, run
from creditscore.monitoring.counts import GRID_EDGES, Accumulator, Chunk
from creditscore.monitoring.performance import binomial_p, jeffreys_p
from creditscore.monitoring.reference import Reference

from .helpers import taiwan_pd, with_pd


def _delong_brute_force(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    bad, good = p[y == 1], p[y == 0]
    psi = (bad[:, None] > good[None, :]) + 0.5 * (bad[:, None] == good[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    auc = psi.mean()
    var = v10.var(ddof=1) / len(bad) + v01.var(ddof=1) / len(good)
    return float(auc), float(np.sqrt(var))


def test_auc_and_delong_error_from_counts_are_exact(rng) -> None:  # type: ignore[no-untyped-def]
    p = np.round(rng.random(600), 2)  # ties on purpose
    y = (rng.random(600) < p).astype(int)
    exact = auc_standard_error(y, p)
    auc, se = _delong_brute_force(y, p)
    assert exact.auc == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert exact.auc == pytest.approx(auc, abs=1e-12)
    assert exact.se == pytest.approx(se, rel=1e-9)
    assert exact.ks == pytest.approx(ks_statistic(y, p), abs=1e-12)


def test_auc_on_the_monitoring_grid_is_within_a_thousandth(rng) -> None:  # type: ignore[no-untyped-def]
    p = 1 / (1 + np.exp(-rng.normal(-1.3, 1.1, 50_000)))
    y = (rng.random(len(p)) < p).astype(int)
    g = np.searchsorted(GRID_EDGES, p, side="right")
    bads = np.bincount(g, weights=y, minlength=len(GRID_EDGES) + 1)
    goods = np.bincount(g, minlength=len(GRID_EDGES) + 1) - bads
    binned = binned_roc(goods, bads)
    assert binned.auc == pytest.approx(roc_auc_score(y, p), abs=1e-3)
    assert binned.se == pytest.approx(auc_standard_error(y, p).se, rel=0.02)


def test_jeffreys_and_binomial_are_the_textbook_formulas() -> None:
    assert jeffreys_p(12, 200, 0.04) == pytest.approx(beta.cdf(0.04, 12.5, 188.5))
    assert binomial_p(12, 200, 0.04) == pytest.approx(binomtest(12, 200, 0.04, "greater").pvalue)
    # many more defaults than the PD: tiny p; as many as expected: p near 1/2
    assert jeffreys_p(30, 200, 0.04) < 1e-6
    assert 0.3 < jeffreys_p(8, 200, 0.04) < 0.7


def _labelled(frame: pd.DataFrame, proba: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    out = with_pd(frame, proba)
    out["outcome_for_test"] = y
    return out


def _perf_report(bundle, frame: pd.DataFrame, proba: np.ndarray, y: np.ndarray):  # type: ignore[no-untyped-def]
    reference = Reference.from_bundle(bundle)
    acc = Accumulator(reference, bundle.policy)
    acc.add(
        Chunk(frame, proba, np.full(len(frame), "cohort", dtype=object), outcome=y.astype(float))
    )
    from creditscore.monitoring.monitor import summarise

    source = FrameSource(bundle, frame=with_pd(frame, proba))
    return summarise(acc, reference, MonitoringConfig(), bundle, source, "test")


def test_backtesting_a_calibrated_cohort_is_green(taiwan_bundle, taiwan_split) -> None:  # type: ignore[no-untyped-def]
    """Outcomes drawn from the PDs, 20 times: the AUC, Hosmer-Lemeshow and band lights are
    green but for the chance yellows of a 95 % light (5 % each) and reds of a 99.9 % one."""
    _, current = taiwan_split
    cur = current.sample(8000, random_state=1).reset_index(drop=True)
    p = taiwan_pd(cur)
    lights: list[str] = []
    for seed in range(20):
        y = (np.random.default_rng(seed).random(len(p)) < p).astype(int)
        perf = _perf_report(taiwan_bundle, cur, p, y).overall.performance
        assert perf is not None
        assert perf.mature
        lights += [
            perf.auc_light,
            perf.hosmer_lemeshow_light,
            *(b.light for b in perf.bands if b.n),
        ]
        assert perf.bad_rate == pytest.approx(perf.mean_pd, abs=0.02)
    assert lights.count("red") / len(lights) <= 0.01, lights
    assert lights.count("green") / len(lights) >= 0.9, lights
    print(f"{lights.count('yellow')} yellow of {len(lights)} lights on calibrated cohorts")


def test_backtesting_a_miscalibrated_cohort_is_red(taiwan_bundle, taiwan_split) -> None:  # type: ignore[no-untyped-def]
    _, current = taiwan_split
    cur = current.sample(8000, random_state=1).reset_index(drop=True)
    p = taiwan_pd(cur)
    truth = np.minimum(1.0, 1.6 * p)  # the model's PDs are 1.6 times too low
    y = (np.random.default_rng(3).random(len(p)) < truth).astype(int)
    report = _perf_report(taiwan_bundle, cur, p, y)
    perf = report.overall.performance
    assert perf is not None
    assert perf.hosmer_lemeshow_light == "red"
    big = [b for b in perf.bands if b.n >= 500]
    assert big
    assert all(b.light == "red" for b in big)
    assert all(b.jeffreys_p is not None and b.jeffreys_p < 0.001 for b in big)
    assert perf.light == "red"
    assert report.verdict == "red"
    assert any(a.item.startswith("backtest band") and a.level == "red" for a in report.alerts)


def test_a_model_that_stopped_ranking_fails_the_auc_test(taiwan_bundle, taiwan_split) -> None:  # type: ignore[no-untyped-def]
    _, current = taiwan_split
    cur = current.sample(8000, random_state=1).reset_index(drop=True)
    p = taiwan_pd(cur)
    y = (np.random.default_rng(3).random(len(p)) < np.random.default_rng(4).permutation(p)).astype(
        int
    )
    perf = _perf_report(taiwan_bundle, cur, p, y).overall.performance
    assert perf is not None
    assert perf.auc is not None
    assert perf.auc < 0.55
    assert perf.auc_reference is not None
    assert perf.auc_reference > 0.65
    assert perf.auc_light == "red"
    assert perf.auc_change_ci is not None
    assert perf.auc_change_ci[1] < 0


def test_the_label_free_estimate_tracks_the_observed_auc(taiwan_bundle, taiwan_split) -> None:  # type: ignore[no-untyped-def]
    _, current = taiwan_split
    cur = current.sample(8000, random_state=5).reset_index(drop=True)
    p = taiwan_pd(cur)
    y = (np.random.default_rng(6).random(len(p)) < p).astype(int)
    report = _perf_report(taiwan_bundle, cur, p, y)
    est, obs = report.overall.estimate, report.overall.performance
    assert est.kind == "estimate"
    assert "calibrated" in est.note
    assert obs is not None
    assert est.auc == pytest.approx(obs.auc, abs=0.02)
    assert est.bad_rate == pytest.approx(float(np.mean(p)))


def test_a_cohort_without_outcomes_gets_only_the_estimate(taiwan_bundle, taiwan_split) -> None:  # type: ignore[no-untyped-def]
    _, current = taiwan_split
    cur = current.sample(3000, random_state=5).reset_index(drop=True)
    report = run(taiwan_bundle, FrameSource(taiwan_bundle, frame=with_pd(cur, taiwan_pd(cur))))
    assert report.overall.performance is None
    assert report.overall.estimate.auc is not None
    assert report.to_dict()["performance"] is None
    assert report.to_dict()["estimate"]["kind"] == "estimate"


def test_immature_outcomes_never_alert(taiwan_bundle, taiwan_split) -> None:  # type: ignore[no-untyped-def]
    _, current = taiwan_split
    cur = current.sample(8000, random_state=1).reset_index(drop=True)
    p = taiwan_pd(cur)
    y = (np.random.default_rng(3).random(len(p)) < np.minimum(1.0, 2 * p)).astype(float)
    y[: int(0.7 * len(y))] = np.nan  # 30 % of outcomes known so far
    perf = _perf_report(taiwan_bundle, cur, p, y).overall.performance
    assert perf is not None
    assert not perf.mature
    assert perf.labelled_share == pytest.approx(0.3, abs=0.001)
    assert perf.light == "grey"
    assert all(b.light == "grey" for b in perf.bands)
