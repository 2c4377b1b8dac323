"""Drift calculators on real data: injected drift is flagged, untouched inputs stay stable,
and same-distribution samples raise (almost) no false alarm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditscore.bundle import ModelBundle
from creditscore.data.profile import Profile
from creditscore.monitoring import FrameSource, run
from creditscore.monitoring.counts import Accumulator, Chunk
from creditscore.monitoring.drift import PSI_FLOOR, psi
from creditscore.monitoring.reference import Reference

from .helpers import german_pd, taiwan_pd, with_pd

FLAGGED = ("watch", "act")


def _report(bundle: ModelBundle, frame: pd.DataFrame, proba: np.ndarray):  # type: ignore[no-untyped-def]
    return run(bundle, FrameSource(bundle, frame=with_pd(frame, proba)))


def _status(report, feature: str) -> str:  # type: ignore[no-untyped-def]
    return next(f.status for f in report.overall.features if f.feature == feature)


def _flagged(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.feature for f in report.overall.features if f.status in FLAGGED}


def test_shifted_pay_and_limit_are_flagged_and_the_rest_stays_stable(
    taiwan_bundle, taiwan_split
) -> None:  # type: ignore[no-untyped-def]
    _, current = taiwan_split
    cur = current.sample(5000, random_state=1).reset_index(drop=True)
    cur["PAY_0"] = cur["PAY_0"] + 2
    cur["LIMIT_BAL"] = cur["LIMIT_BAL"] * 1.5
    report = _report(taiwan_bundle, cur, taiwan_pd(cur))
    assert _flagged(report) == {"PAY_0", "LIMIT_BAL"}
    for name in ("PAY_0", "LIMIT_BAL"):
        f = next(f for f in report.overall.features if f.feature == name)
        assert f.status == "act"
        assert f.psi is not None
        assert f.psi >= 0.25
        assert f.effect_size is not None
        assert f.effect_size >= 0.2
        assert f.p_value is not None
        assert f.p_value < 1e-6
    # the score moves with PAY_0: flagged, and the run is red
    assert report.overall.score.status == "act"
    assert report.verdict == "red"
    assert report.exit_code == 1
    items = {a.item for a in report.alerts}
    assert {"feature PAY_0", "feature LIMIT_BAL", "score"} <= items


def test_german_purpose_mix_is_flagged(german_bundle, german_split) -> None:  # type: ignore[no-untyped-def]
    _, current, _ = german_split
    cur = current.copy()
    cur.loc[cur.index[: len(cur) * 3 // 5], "purpose"] = "car (new)"
    report = _report(german_bundle, cur, german_pd(cur))
    assert _flagged(report) == {"purpose"}
    purpose = next(f for f in report.overall.features if f.feature == "purpose")
    assert purpose.effect_method == "jensen_shannon"
    assert purpose.test == "chi2"
    assert purpose.effect_size is not None
    assert purpose.effect_size > 0.2


def test_a_new_category_is_flagged_with_examples(german_bundle, german_split) -> None:  # type: ignore[no-untyped-def]
    _, current, _ = german_split
    cur = current.copy()
    cur.loc[cur.index[::8], "purpose"] = "crypto assets"
    report = _report(german_bundle, cur, german_pd(cur))
    purpose = next(f for f in report.overall.features if f.feature == "purpose")
    assert purpose.status == "act"
    assert purpose.unseen_rate == pytest.approx(50 / 400)
    assert purpose.unseen_examples
    assert purpose.unseen_examples[0].startswith("crypto assets")
    assert any("never seen in training" in r for r in purpose.reasons)
    assert _flagged(report) == {"purpose"}


def test_same_level_in_another_spelling_is_not_unseen(german_bundle, german_split) -> None:  # type: ignore[no-untyped-def]
    _, current, _ = german_split
    cur = current.copy()
    cur["purpose"] = cur["purpose"].str.upper()
    report = _report(german_bundle, cur, german_pd(cur))
    purpose = next(f for f in report.overall.features if f.feature == "purpose")
    assert purpose.unseen_rate == 0.0
    assert purpose.status == "stable"


def test_a_jump_in_missing_values_is_flagged(taiwan_bundle, taiwan_split) -> None:  # type: ignore[no-untyped-def]
    _, current = taiwan_split
    cur = current.sample(5000, random_state=2).reset_index(drop=True)
    cur["AGE"] = cur["AGE"].astype(float)
    cur.loc[cur.index[::3], "AGE"] = np.nan
    cur["EDUCATION"] = cur["EDUCATION"].astype(object)
    cur.loc[cur.index[::4], "EDUCATION"] = None
    report = _report(taiwan_bundle, cur, taiwan_pd(cur))
    assert _flagged(report) == {"AGE", "EDUCATION"}
    age = next(f for f in report.overall.features if f.feature == "AGE")
    assert age.missing_reference < 0.001  # Taiwan has 2 missing ages
    assert age.missing_current == pytest.approx(1667 / 5000)
    assert any(r.startswith("missing 33.3%") for r in age.reasons)


def test_out_of_range_numbers_are_flagged(taiwan_bundle, taiwan_split) -> None:  # type: ignore[no-untyped-def]
    _, current = taiwan_split
    cur = current.sample(5000, random_state=3).reset_index(drop=True)
    top = taiwan_bundle.profile.features["BILL_AMT1"].maximum
    cur.loc[cur.index[:400], "BILL_AMT1"] = top * 3
    report = _report(taiwan_bundle, cur, taiwan_pd(cur))
    bill = next(f for f in report.overall.features if f.feature == "BILL_AMT1")
    assert bill.out_of_range_rate == pytest.approx(400 / 5000)
    assert bill.status == "act"


def test_without_drift_nothing_is_flagged(taiwan_bundle, taiwan_split) -> None:  # type: ignore[no-untyped-def]
    _, current = taiwan_split
    cur = current.sample(5000, random_state=4).reset_index(drop=True)
    report = _report(taiwan_bundle, cur, taiwan_pd(cur))
    assert _flagged(report) == set()
    assert report.overall.score.status == "stable"
    assert report.verdict == "green"
    assert report.alerts == []
    assert report.exit_code == 0


def _false_alarms(bundle: ModelBundle, pool: pd.DataFrame, runs: int, size: int):  # type: ignore[no-untyped-def]
    flags: dict[str, int] = {}
    small_p: dict[str, int] = {}
    rng = np.random.default_rng(11)
    for _ in range(runs):
        sample = pool.iloc[rng.choice(len(pool), size, replace=False)].reset_index(drop=True)
        report = _report(bundle, sample, taiwan_pd(sample))
        for f in report.overall.features:
            flags[f.feature] = flags.get(f.feature, 0) + (f.status in FLAGGED)
            small_p[f.feature] = small_p.get(f.feature, 0) + (
                f.p_value is not None and f.p_value < 0.05
            )
    return flags, small_p


def test_false_alarm_rate_per_feature_is_at_most_five_percent(taiwan_bundle, taiwan_split) -> None:  # type: ignore[no-untyped-def]
    """50 random same-distribution samples of 5,000 rows (the held-back half of Taiwan)."""
    _, current = taiwan_split
    flags, small_p = _false_alarms(taiwan_bundle, current, runs=50, size=5000)
    rates = {k: v / 50 for k, v in flags.items()}
    print("false-alarm rate per feature:", rates)
    print(
        "share of runs with p < 0.05 per feature (never used alone):",
        {k: v / 50 for k, v in small_p.items()},
    )
    assert len(rates) == len(taiwan_bundle.schema.names)
    assert max(rates.values()) <= 0.05, rates


def test_psi_equals_a_direct_computation_on_the_same_bins(taiwan_bundle, taiwan_split) -> None:  # type: ignore[no-untyped-def]
    _, current = taiwan_split
    cur = current.sample(5000, random_state=5)
    report = _report(taiwan_bundle, cur, taiwan_pd(cur))
    ours = {f.feature: f.psi for f in report.overall.features}
    nested = 0
    for name, fp in taiwan_bundle.profile.features.items():
        if fp.kind != "numeric":
            continue
        edges = np.asarray(fp.edges)
        nested += bool(np.isin(edges, fp.hist_edges).all())
        counts = np.bincount(
            np.searchsorted(edges, cur[name], side="right"), minlength=len(edges) + 1
        )
        ref = np.asarray([*fp.shares, fp.missing_share])
        current_shares = np.append(counts / len(cur), 0.0)
        r, c = np.maximum(ref, PSI_FLOOR), np.maximum(current_shares, PSI_FLOOR)
        direct = float(np.sum((c - r) * np.log(c / r)))
        assert ours[name] == pytest.approx(direct, rel=1e-12), name
        assert psi(ref, current_shares) == pytest.approx(direct, rel=1e-12)
    assert nested == 20  # every numeric input counts PSI bins from its fine bins


def test_counts_merge_chunks_and_cohorts_exactly(taiwan_bundle, taiwan_split) -> None:  # type: ignore[no-untyped-def]
    """Chunked counting equals one pass; the pooled result is the sum of the cohorts."""
    _, current = taiwan_split
    cur = current.iloc[:6000]
    p = taiwan_pd(cur)
    cohorts = np.where(np.arange(len(cur)) % 3 == 0, "a", "b").astype(object)
    ref = Reference.from_bundle(taiwan_bundle)
    whole, chunked = Accumulator(ref, taiwan_bundle.policy), Accumulator(ref, taiwan_bundle.policy)
    whole.add(Chunk(cur, p, cohorts))
    for s in range(0, len(cur), 777):
        chunked.add(Chunk(cur.iloc[s : s + 777], p[s : s + 777], cohorts[s : s + 777]))
    for label in ("a", "b"):
        (s1, f1), (s2, f2) = whole.cohort(label), chunked.cohort(label)
        np.testing.assert_array_equal(s1.psi, s2.psi)
        np.testing.assert_allclose(s1.grid_pd, s2.grid_pd)
        for name in f1:
            np.testing.assert_array_equal(f1[name].psi, f2[name].psi)
    pooled, feats = whole.pooled()
    assert pooled.n == len(cur)
    a, fa = whole.cohort("a")
    b, fb = whole.cohort("b")
    np.testing.assert_array_equal(pooled.psi, a.psi + b.psi)
    np.testing.assert_array_equal(feats["PAY_0"].hist_n, fa["PAY_0"].hist_n + fb["PAY_0"].hist_n)


def test_a_bundle_saved_before_the_monitoring_fields_still_works(
    taiwan_bundle, taiwan_split
) -> None:  # type: ignore[no-untyped-def]
    raw = taiwan_bundle.profile.to_dict()
    raw.pop("reference")
    old_fields = ("n", "minimum", "maximum", "hist_edges", "hist_shares", "hist_means")
    for fp in [*raw["features"].values(), raw["score"]]:
        for key in old_fields:
            fp.pop(key, None)
    old = ModelBundle(
        model=None,
        schema=taiwan_bundle.schema,
        policy=taiwan_bundle.policy,
        profile=Profile.from_dict(raw),
        metadata=taiwan_bundle.metadata,
    )
    _, current = taiwan_split
    cur = current.sample(5000, random_state=6).reset_index(drop=True)
    cur["PAY_0"] = cur["PAY_0"] + 2
    report = _report(old, cur, taiwan_pd(cur))
    assert "PAY_0" in _flagged(report)
    assert "LIMIT_BAL" not in _flagged(report)
    assert any("predates the monitoring fields" in n for n in report.notes)
    assert any("no development figures" in n for n in report.notes)
    assert report.overall.decisions.status == "insufficient"
    # ranges come from the input schema instead
    bill = next(f for f in report.overall.features if f.feature == "BILL_AMT1")
    assert bill.out_of_range_rate is not None
