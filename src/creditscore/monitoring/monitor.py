"""One monitoring run: a source's chunks -> counts -> calculators -> a :class:`MonitoringReport`.

The verdict of each cohort is the worst light of its items (score, decision mix, every
input, and the performance tests once outcomes have matured); the run's verdict is the
worst of all, and every yellow or red item becomes an :class:`Alert` that says what moved
and by how much. Cohorts come out in their natural order (periods chronologically).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from creditscore.config import MonitoringConfig
from creditscore.exceptions import DataError
from creditscore.monitoring.counts import Accumulator, Chunk
from creditscore.monitoring.drift import decision_mix, feature_drift, operations, score_drift
from creditscore.monitoring.performance import estimate, observed
from creditscore.monitoring.reference import Reference
from creditscore.monitoring.request_errors import ErrorCounter, request_errors
from creditscore.monitoring.results import (
    Alert,
    CohortResult,
    ModelInfo,
    MonitoringReport,
    Performance,
    RequestErrors,
    SourceInfo,
)
from creditscore.monitoring.sources import ERROR_COHORTS, PERIODS, Source
from creditscore.monitoring.thresholds import (
    GREY,
    LIGHT_OF_STATUS,
    RED,
    YELLOW,
    worst_light,
)

POOLED = "all cohorts"
MATURE = "mature cohorts"


def monitoring_config(bundle: Any, override: MonitoringConfig | None = None) -> MonitoringConfig:
    """The thresholds: an explicit config, else the ones trained with the bundle, else the
    documented defaults."""
    if override is not None:
        return override
    saved = (bundle.metadata or {}).get("monitoring")
    if isinstance(saved, dict):
        try:
            return MonitoringConfig.model_validate(saved)
        except ValueError:
            pass
    return MonitoringConfig()


def prefetched(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """The chunks of a source, the next one read (and scored) in a thread while this one
    is counted: reading, decoding and scoring release the GIL for much of their time.
    At most one chunk waits, so memory stays one chunk above a plain loop. An error in the
    reader is raised here, in the caller's thread."""
    box: queue.Queue[Chunk | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def read() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        box.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(None)
        except BaseException as exc:  # handed to the caller
            box.put(exc)

    thread = threading.Thread(target=read, name="monitoring-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            box.get_nowait()  # unblock a reader waiting to put
        thread.join(5)


def run(
    bundle: Any,
    source: Source,
    config: MonitoringConfig | None = None,
    *,
    model_version: str = "local",
    on_chunk: Callable[[int], None] | None = None,
) -> MonitoringReport:
    """Read ``source`` once, in chunks, and compare it with the bundle's reference."""
    config = monitoring_config(bundle, config)
    reference = Reference.from_bundle(bundle)
    acc = Accumulator(reference, bundle.policy, bundle.schema.decimals)
    for chunk in prefetched(source.chunks()):
        acc.add(chunk)
        if on_chunk is not None:
            on_chunk(len(chunk))
    errors = None
    if source.errors_recorded is not None:
        errors = ErrorCounter(source.errors_recorded)
        for error_chunk in source.error_chunks():
            errors.add(error_chunk)
    if acc.rows == 0 and (errors is None or not sum(errors.kinds().values())):
        raise DataError(source.empty_message())
    if errors is not None and (source.by in ERROR_COHORTS or acc.rows == 0):
        # a cohort whose every request failed is still one; with no decision at all, the
        # pooled count's cohort is the report's one (every report has a cohort)
        acc.ensure(errors.labels)
    return summarise(acc, reference, config, bundle, source, model_version, errors)


def _cohort(
    label: str,
    acc: Accumulator,
    reference: Reference,
    config: MonitoringConfig,
    pooled: bool,
    mature: list[str] | None = None,
    errors: RequestErrors | None = None,
) -> CohortResult:
    """One cohort's results; pooled: every cohort's drift, and the performance of the
    cohorts whose outcomes have matured (``mature``) when there are any."""
    score_counts, feature_counts = acc.pooled() if pooled else acc.cohort(label)
    by_name = {f.name: f for f in reference.features}
    features = [feature_drift(by_name[n], c, config) for n, c in feature_counts.items()]
    score = score_drift(reference, score_counts, config)
    mix = decision_mix(reference, score_counts, config)
    perf_counts = acc.pooled(mature)[0] if pooled and mature else score_counts
    perf = observed(reference, perf_counts, config)
    lights = [
        LIGHT_OF_STATUS[score.status],
        LIGHT_OF_STATUS[mix.status],
        *(LIGHT_OF_STATUS[f.status] for f in features),
    ]
    if perf is not None:
        lights.append(perf.light)
    if errors is not None:
        lights.append(LIGHT_OF_STATUS[errors.status])
    return CohortResult(
        cohort=label,
        n=score_counts.n,
        score=score,
        features=features,
        decisions=mix,
        operations=operations(score_counts, errors),
        performance=perf,
        estimate=estimate(reference, score_counts),
        verdict=worst_light(lights),
    )


def _order(labels: list[str], by: str) -> list[str]:
    return sorted(labels) if by in PERIODS else labels


def summarise(
    acc: Accumulator,
    reference: Reference,
    config: MonitoringConfig,
    bundle: Any,
    source: Source,
    model_version: str,
    errors: ErrorCounter | None = None,
) -> MonitoringReport:
    labels = _order(acc.labels, source.by)

    def errors_of(cohort: str | None, decisions: int) -> RequestErrors | None:
        if errors is None or (cohort is not None and source.by not in ERROR_COHORTS):
            return None
        kinds = errors.kinds(None if cohort is None else [cohort])
        return request_errors(kinds, decisions, config, errors.recorded)

    cohorts = [
        _cohort(label, acc, reference, config, False, None, errors_of(label, acc.count(label)))
        for label in labels
    ]
    mature = [c.cohort for c in cohorts if c.performance is not None and c.performance.mature]
    overall = _cohort(POOLED, acc, reference, config, True, mature, errors_of(None, acc.rows))
    alerts: list[Alert] = []
    for c in cohorts:
        alerts += cohort_alerts(c, config)
    if errors is not None and source.by not in ERROR_COHORTS:  # counted for all together
        alerts += error_alerts(overall, config)
    if len(mature) > 1 and overall.performance is not None:
        alerts += performance_alerts(overall.performance, MATURE)
    alerts.sort(key=lambda a: 0 if a.level == RED else 1)
    verdict = worst_light([*(c.verdict for c in cohorts), *(a.level for a in alerts)])
    perf = reference.performance
    meta = bundle.metadata or {}
    notes = [*reference.notes, *source.notes]
    if acc.rows == 0:
        notes.append(
            "no decision in this range, only failed scoring requests: drift and performance "
            "cannot be measured; look at the service (GET /metrics, its log) before the model"
        )
    if mature and len(mature) < len(cohorts):
        notes.append(
            f"the performance of all cohorts pools the {len(mature)} whose outcomes have "
            f"matured ({', '.join(mature)}); drift pools every cohort"
        )
    if any(c.performance is None or not c.performance.mature for c in cohorts):
        notes.append(
            "cohorts without mature outcomes show a label-free estimate (CBPE) of their "
            f"performance; outcomes count once at least {config.min_labelled_share:.0%} of a "
            "cohort's decisions have one (monitoring.min_labelled_share)"
        )
    return MonitoringReport(
        verdict=verdict,
        model=ModelInfo(
            name=bundle.name,
            version=str(meta.get("version") or model_version),
            policy_version=bundle.policy.version,
            trained_at=meta.get("trained_at"),
            reference_rows=bundle.profile.n_rows,
            score_reference_rows=reference.score_n,
            auc_reference=perf.auc if perf is not None else None,
            auc_reference_se=perf.auc_se if perf is not None else None,
            reference_source=perf.source if perf is not None else None,
        ),
        source=SourceInfo(
            kind=source.kind,
            description=source.description,
            rows=acc.rows,
            since=source.since.isoformat() if source.since else None,
            until=source.until.isoformat() if source.until else None,
            by=source.by,
        ),
        overall=overall,
        cohorts=cohorts,
        alerts=alerts,
        thresholds=config.model_dump(mode="json"),
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        notes=notes,
    )


# --------------------------------------------------------------------------- alerts
def _level(status_or_light: str) -> str | None:
    light = LIGHT_OF_STATUS.get(status_or_light, status_or_light)
    return light if light in (YELLOW, RED) else None


def _p(p: float | None) -> str:
    if p is None:
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p {p:.3f}"


def cohort_alerts(c: CohortResult, config: MonitoringConfig) -> list[Alert]:
    out: list[Alert] = []
    level = _level(c.score.status)
    if level and c.score.psi is not None:
        band = "act" if level == RED else "watch"
        limit = config.psi_act if level == RED else config.psi_watch
        mean = (
            f"; mean PD {c.score.mean_pd:.3f} vs {c.score.mean_pd_reference:.3f} at development"
            if c.score.mean_pd is not None and c.score.mean_pd_reference is not None
            else ""
        )
        out.append(
            Alert(
                level,
                "score",
                c.cohort,
                f"score PSI {c.score.psi:.3f} ({band}: >= {limit:g}; chi-square "
                f"{_p(c.score.p_value)}){mean}",
            )
        )
    mix = c.decisions
    level = _level(mix.status)
    if level and mix.approval_rate is not None and mix.approval_rate_reference is not None:
        change = 100 * (mix.approval_rate - mix.approval_rate_reference)
        out.append(
            Alert(
                level,
                "decisions",
                c.cohort,
                f"approval rate {100 * mix.approval_rate:.1f}% vs "
                f"{100 * mix.approval_rate_reference:.1f}% at development ({change:+.1f} "
                f"points; chi-square {_p(mix.p_value)})",
            )
        )
    for f in c.features:
        level = _level(f.status)
        if level:
            test = f"{'KS' if f.test == 'ks' else 'chi-square'} {_p(f.p_value)}"
            out.append(
                Alert(level, f"feature {f.feature}", c.cohort, "; ".join([*f.reasons, test]))
            )
    if c.performance is not None:
        out += performance_alerts(c.performance, c.cohort)
    return out + error_alerts(c, config)


def error_alerts(c: CohortResult, config: MonitoringConfig) -> list[Alert]:
    """The failed-requests alert of a cohort (or of all cohorts, when the cut is one that
    failed requests cannot follow), if its error rate is past a threshold."""
    errors = c.operations.errors if c.operations is not None else None
    level = _level(errors.status) if errors is not None else None
    if level and errors is not None and errors.rate is not None:
        return [Alert(level, "errors", c.cohort, error_message(errors, c.n, config, level))]
    return []


def error_message(
    errors: RequestErrors, decisions: int, config: MonitoringConfig, level: str
) -> str:
    """What an error alert says: the rates against their thresholds, the commonest kind."""
    band = "act" if level == RED else "watch"
    limit = config.error_rate_act if level == RED else config.error_rate_watch
    server_limit = config.server_error_rate_act if level == RED else config.server_error_rate_watch
    text = (
        f"{errors.total:,} of {decisions + errors.total:,} scoring requests failed "
        f"({100 * (errors.rate or 0.0):.1f}%: {errors.client:,} 4xx, {errors.server:,} 5xx; "
        f"{band}: >= {100 * limit:g}% of requests or >= {100 * server_limit:g}% 5xx)"
    )
    if errors.top:
        k = errors.top[0]
        where = f" {k.field}" if k.field else ""
        text += f"; most often {k.status_code} {k.kind}{where} ({k.count:,})"
    return text


def performance_alerts(perf: Performance, cohort: str) -> list[Alert]:
    out: list[Alert] = []
    if not perf.mature:
        return out
    level = _level(perf.auc_light)
    if level and perf.auc is not None and perf.auc_reference is not None:
        ci = perf.auc_change_ci
        interval = f", 95% CI {ci[0]:+.3f} to {ci[1]:+.3f}" if ci else ""
        out.append(
            Alert(
                level,
                "AUC",
                cohort,
                f"AUC {perf.auc:.3f} vs {perf.auc_reference:.3f} at development (change "
                f"{perf.auc_change:+.3f}{interval}; {_p(perf.auc_p_value)})",
            )
        )
    level = _level(perf.hosmer_lemeshow_light)
    if level and perf.hosmer_lemeshow is not None:
        out.append(
            Alert(
                level,
                "calibration",
                cohort,
                f"Hosmer-Lemeshow {perf.hosmer_lemeshow:.1f} on {perf.hosmer_lemeshow_dof} "
                f"bands ({_p(perf.hosmer_lemeshow_p)}): observed defaults differ from the PDs",
            )
        )
    for b in perf.bands:
        level = _level(b.light) if b.light != GREY else None
        if level and b.default_rate is not None and b.mean_pd is not None:
            out.append(
                Alert(
                    level,
                    f"backtest band {b.band}",
                    cohort,
                    f"{100 * b.default_rate:.1f}% defaults vs {100 * b.mean_pd:.1f}% PD "
                    f"(N {b.n:,}, D {b.defaults:,}): Jeffreys {_p(b.jeffreys_p)}, "
                    f"binomial {_p(b.binomial_p)}",
                )
            )
    return out
