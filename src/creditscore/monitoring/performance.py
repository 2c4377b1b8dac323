"""Performance calculators: observed once outcomes arrive, estimated before.

Observed (decisions with a known outcome), from the counts per fine PD bin and risk band:

* AUC with its DeLong standard error, Gini, KS, Brier score, bad rate against mean PD;
* the AUC tested against development as in the ECB's instructions for reporting validation
  results (2019): ``S = (AUC_dev - AUC) / s``, p-value ``1 - Phi(S)``, with the interval
  ``AUC - AUC_dev +- 1.96 s`` (the development AUC taken as fixed);
* per risk band the Jeffreys test, ``p = BetaCDF(PD; D + 1/2, N - D + 1/2)``, and the
  one-sided binomial test (scipy's ``binomtest``), both asking whether defaults exceed the
  band's mean PD; across bands the Hosmer-Lemeshow statistic
  ``sum (D - N PD)^2 / (N PD (1 - PD))`` against chi-square with one degree of freedom per
  band (out-of-sample);
* each test is a traffic light on its confidence 1 - p (green < 95 %, yellow < 99.9 %, red).

Estimated (CBPE, as NannyML): if the PDs are calibrated, a decision with PD p is a bad with
probability p, so the expected good and bad counts per PD bin give an expected ROC curve and
AUC without a single outcome. It is right only while calibration holds under the current
drift, so it is always labelled an estimate.
"""

from __future__ import annotations

import math

from scipy.stats import beta, binomtest, chi2, norm

from creditscore.config import MonitoringConfig
from creditscore.evaluation.metrics import binned_roc
from creditscore.monitoring.counts import ScoreCounts
from creditscore.monitoring.reference import Reference
from creditscore.monitoring.results import BandBacktest, Estimate, Performance
from creditscore.monitoring.thresholds import GREY, confidence_light, worst_light

Z_95 = float(norm.ppf(0.975))


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def jeffreys_p(defaults: int, n: int, pd: float) -> float:
    """P-value of the Jeffreys test that the PD is not too low (ECB 2019, section 2.5.3)."""
    return float(beta.cdf(pd, defaults + 0.5, n - defaults + 0.5))


def binomial_p(defaults: int, n: int, pd: float) -> float:
    return float(binomtest(defaults, n, pd, alternative="greater").pvalue)


def backtest_bands(
    reference: Reference, counts: ScoreCounts, config: MonitoringConfig, assess: bool
) -> tuple[list[BandBacktest], float | None, int, float | None]:
    """Per band Jeffreys and binomial tests; Hosmer-Lemeshow (statistic, dof, p) across."""
    out: list[BandBacktest] = []
    hl, dof = 0.0, 0
    for i, name in enumerate(reference.band_names):
        n = round(float(counts.band_labelled[i]))
        d = round(float(counts.band_bad[i]))
        if n == 0:
            out.append(BandBacktest(name, 0, 0, None, None, None, None, GREY))
            continue
        pd = float(counts.band_labelled_pd[i] / n)
        pj, pb = jeffreys_p(d, n, pd), binomial_p(d, n, pd)
        if 0.0 < pd < 1.0:
            hl += (d - n * pd) ** 2 / (n * pd * (1.0 - pd))
            dof += 1
        light = confidence_light(pj, config) if assess else GREY
        out.append(BandBacktest(name, n, d, pd, d / n, pj, pb, light))
    hl_p = float(chi2.sf(hl, dof)) if dof else None
    return out, (hl if dof else None), dof, hl_p


def observed(
    reference: Reference, counts: ScoreCounts, config: MonitoringConfig
) -> Performance | None:
    """Observed performance of the labelled decisions, or None when none has an outcome."""
    n = counts.labelled
    if n == 0:
        return None
    share = n / counts.n if counts.n else 0.0
    mature = share >= config.min_labelled_share  # the outcomes have come in
    assess = mature and n >= config.min_rows  # ... and there are enough for the tests
    roc = binned_roc(counts.grid_good, counts.grid_bad)
    auc, se = _finite(roc.auc), _finite(roc.se)
    perf = reference.performance
    auc_ref = perf.auc if perf is not None else None
    change = ci = p = None
    auc_light = GREY
    if auc is not None and auc_ref is not None:
        change = auc - auc_ref
        if se is not None and se > 0:
            ci = (change - Z_95 * se, change + Z_95 * se)
            p = float(norm.sf((auc_ref - auc) / se))
            auc_light = confidence_light(p, config) if assess else GREY
    bands, hl, dof, hl_p = backtest_bands(reference, counts, config, assess)
    hl_light = confidence_light(hl_p, config) if assess else GREY
    brier = (counts.sum_pd2_labelled - 2.0 * counts.sum_pd_bad + counts.bads) / n
    light = worst_light([auc_light, hl_light, *(b.light for b in bands)]) if assess else GREY
    return Performance(
        n=n,
        n_bad=counts.bads,
        labelled_share=share,
        mature=mature,
        auc=auc,
        auc_se=se,
        gini=2.0 * auc - 1.0 if auc is not None else None,
        ks=_finite(roc.ks),
        brier=float(brier),
        bad_rate=counts.bads / n,
        mean_pd=counts.sum_pd_labelled / n,
        auc_reference=auc_ref,
        auc_change=change,
        auc_change_ci=ci,
        auc_p_value=p,
        auc_light=auc_light,
        hosmer_lemeshow=hl,
        hosmer_lemeshow_dof=dof,
        hosmer_lemeshow_p=hl_p,
        hosmer_lemeshow_light=hl_light,
        bands=bands,
        light=light,
    )


def estimate(reference: Reference, counts: ScoreCounts) -> Estimate:
    """CBPE: the AUC expected from the calibrated PDs alone (no outcome needed)."""
    expected_bad = counts.grid_pd
    expected_good = counts.grid_n - counts.grid_pd
    roc = binned_roc(expected_good, expected_bad)
    auc = _finite(roc.auc)
    perf = reference.performance
    auc_ref = perf.auc if perf is not None else None
    return Estimate(
        kind="estimate",
        method="CBPE: expected confusion counts from calibrated PDs",
        n=counts.n,
        auc=auc,
        gini=2.0 * auc - 1.0 if auc is not None else None,
        bad_rate=counts.sum_pd / counts.n if counts.n else None,
        auc_reference=auc_ref,
        auc_change=(auc - auc_ref) if auc is not None and auc_ref is not None else None,
        note="it assumes the PDs stay calibrated on this cohort (true under a shift of the "
        "inputs alone, not when the link between inputs and default changes); compare it "
        "with the observed figures once outcomes arrive",
    )
