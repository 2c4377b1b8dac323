"""Prometheus metrics of one app, in the app's own ``CollectorRegistry``.

A per-app registry (not the process-global one) lets tests and benchmarks build many apps in
one process. Names follow Prometheus conventions (``_total``, ``_seconds``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from creditscore.scorer import InputWarning
    from creditscore.serving.decisions import DecisionLog
    from creditscore.serving.loader import LoadedModel

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.006, 0.008, 0.012, 0.025, 0.05, 0.1, 0.25,
    0.5, 1.0, 2.5,
)  # fmt: skip
PD_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "creditscore_http_requests",
            "HTTP requests by method, route template and status code",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "creditscore_http_request_duration_seconds",
            "Time from request start to response end, by route template",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.decisions = Counter(
            "creditscore_decisions",
            "Decisions made, by outcome and risk band",
            ["decision", "risk_band"],
            registry=r,
        )
        self.pd = Histogram(
            "creditscore_probability_of_default",
            "Probability of default of each decision",
            buckets=PD_BUCKETS,
            registry=r,
        )
        self.input_warnings = Counter(
            "creditscore_input_warnings",
            "Inputs scored with a warning (out_of_range: outside the training range), by field",
            ["field", "code"],
            registry=r,
        )
        self.errors = Counter(
            "creditscore_errors",
            "Requests refused or failed, by kind",
            ["kind"],
            registry=r,
        )
        self.model_info = Gauge(
            "creditscore_model_info",
            "The model being served (value 1)",
            ["name", "version", "policy_version", "source"],
            registry=r,
        )
        self.reloads = Counter(
            "creditscore_model_reloads",
            "Model (re)loads after start, by result",
            ["result"],
            registry=r,
        )
        self.log_queue = Gauge(
            "creditscore_decision_log_queue", "Decision records waiting for the writer", registry=r
        )
        self.log_written = Gauge(
            "creditscore_decision_log_written",
            "Decision records written to the database since start",
            registry=r,
        )
        self.log_spooled = Gauge(
            "creditscore_decision_log_spooled",
            "Decision records spooled to the local file since start",
            registry=r,
        )
        self.log_pending = Gauge(
            "creditscore_decision_log_spool_pending",
            "Decision records in the spool, waiting for the database",
            registry=r,
        )
        self.log_up = Gauge(
            "creditscore_decision_log_database_up",
            "1 when the last contact with the decision database succeeded",
            registry=r,
        )
        # monitoring over a rolling window of the decision log (monitoring_routes refreshes)
        self.monitoring_score_psi = Gauge(
            "creditscore_monitoring_score_psi",
            "PSI of the score over the rolling window against development (NaN: no data)",
            registry=r,
        )
        self.monitoring_feature_psi = Gauge(
            "creditscore_monitoring_feature_psi",
            "PSI of each input over the rolling window against training",
            ["feature"],
            registry=r,
        )
        self.monitoring_worst_feature_psi = Gauge(
            "creditscore_monitoring_worst_feature_psi",
            "The largest input PSI over the rolling window",
            registry=r,
        )
        self.monitoring_approval_rate = Gauge(
            "creditscore_monitoring_approval_rate",
            "Share of logged decisions approved over the rolling window",
            registry=r,
        )
        self.monitoring_window_decisions = Gauge(
            "creditscore_monitoring_window_decisions",
            "Logged decisions in the rolling window",
            registry=r,
        )
        self.monitoring_refreshed = Gauge(
            "creditscore_monitoring_last_refresh_timestamp_seconds",
            "When the monitoring gauges were last recomputed (Unix time)",
            registry=r,
        )
        self._route_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._decision_children: dict[tuple[str, str], Counter] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._route_children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(route),
            )
            self._route_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_decision(self, decision: str, risk_band: str, pd: float) -> None:
        child = self._decision_children.get((decision, risk_band))
        if child is None:
            child = self._decision_children[(decision, risk_band)] = self.decisions.labels(
                decision, risk_band
            )
        child.inc()
        self.pd.observe(pd)

    def observe_warnings(self, warnings: Iterable[InputWarning]) -> None:
        for w in warnings:
            self.input_warnings.labels(w.field, w.code).inc()

    def set_model(self, loaded: LoadedModel) -> None:
        self.model_info.clear()
        self.model_info.labels(
            loaded.bundle.name, loaded.version, loaded.bundle.policy.version, loaded.source
        ).set(1)

    def set_monitoring(
        self,
        decisions: int,
        score_psi: float | None,
        feature_psi: dict[str, float | None],
        approval_rate: float | None,
        refreshed_at: float,
    ) -> None:
        """Set the monitoring gauges (called by the background refresher, never a request)."""
        nan = float("nan")
        self.monitoring_window_decisions.set(decisions)
        self.monitoring_score_psi.set(nan if score_psi is None else score_psi)
        self.monitoring_approval_rate.set(nan if approval_rate is None else approval_rate)
        self.monitoring_feature_psi.clear()
        known = [v for v in feature_psi.values() if v is not None]
        for name, value in feature_psi.items():
            self.monitoring_feature_psi.labels(name).set(nan if value is None else value)
        self.monitoring_worst_feature_psi.set(max(known) if known else nan)
        self.monitoring_refreshed.set(refreshed_at)

    def render(self, log: DecisionLog | None) -> bytes:
        if log is not None:
            s = log.stats()
            self.log_queue.set(s["queued"])
            self.log_written.set(s["written"])
            self.log_spooled.set(s["spooled"])
            self.log_pending.set(s["spool_pending"])
            self.log_up.set(1 if s["database"] == "ok" else 0)
        return generate_latest(self.registry)
