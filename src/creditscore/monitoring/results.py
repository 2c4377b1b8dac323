"""Typed results of monitoring: what the calculators return and the renderers draw.

Nothing here computes; :meth:`MonitoringReport.to_dict` is the JSON form (``--json``, the
service), with non-finite numbers as ``null``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from creditscore.formatting import jsonable


@dataclass(frozen=True)
class Bin:
    """One bin of a distribution, reference against current."""

    label: str
    reference: float  # share
    current: float  # share
    count: int  # current rows


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str  # numeric | categorical
    n: int  # current rows
    psi: float | None
    psi_p_value: float | None  # chi-square over the PSI bins
    effect_size: float | None
    effect_method: str  # wasserstein_normed | jensen_shannon
    p_value: float | None  # KS (numbers) or chi-square (categories), shown, never alone
    test: str  # ks | chi2
    missing_reference: float
    missing_current: float
    missing_p_value: float | None
    out_of_range_rate: float | None  # numbers outside the training range
    unseen_rate: float | None  # categories never seen in training
    unseen_examples: list[str]
    invalid: int  # values that are not numbers in a numeric column
    status: str  # stable | watch | act | insufficient
    reasons: list[str]  # why the status is not stable, in words
    bins: list[Bin] = field(default_factory=list)

    @property
    def missing_change(self) -> float:
        return self.missing_current - self.missing_reference


@dataclass(frozen=True)
class ScoreDrift:
    n: int
    psi: float | None
    p_value: float | None  # chi-square over the score bins
    status: str
    mean_pd: float | None
    mean_pd_reference: float | None
    bins: list[Bin]


@dataclass(frozen=True)
class BandMix:
    band: str
    share: float
    share_reference: float | None
    mean_pd: float | None
    approve: int
    refer: int
    decline: int


@dataclass(frozen=True)
class DecisionMix:
    n: int
    approval_rate: float | None
    refer_rate: float | None
    decline_rate: float | None
    approval_rate_reference: float | None
    refer_rate_reference: float | None
    decline_rate_reference: float | None
    p_value: float | None  # chi-square of the decision counts against development
    status: str
    bands: list[BandMix]


@dataclass(frozen=True)
class ErrorKind:
    """One kind of failed request and how often it happened."""

    status_code: int
    kind: str  # the problem's type (missing, float_parsing, ...) or the exception's class
    field: str | None
    count: int


@dataclass(frozen=True)
class RequestErrors:
    """Scoring requests the service refused (4xx) or failed (5xx), beside its decisions."""

    recorded: bool  # False: a decision log from before errors were recorded (migration 0004)
    client: int  # 4xx
    server: int  # 5xx
    total: int
    rate: float | None  # errors / (decisions + errors)
    server_rate: float | None  # 5xx / (decisions + errors)
    status: str  # stable | watch | act | insufficient
    top: list[ErrorKind] = field(default_factory=list)


@dataclass(frozen=True)
class Operations:
    """What the decision log says about the service (decision-log sources only)."""

    volume: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    errors: RequestErrors | None  # None: errors cannot be cut by this cohort (see the notes)


@dataclass(frozen=True)
class BandBacktest:
    band: str
    n: int  # decisions with an outcome
    defaults: int
    mean_pd: float | None
    default_rate: float | None
    jeffreys_p: float | None  # P(PD is right | defaults this many or more), Jeffreys prior
    binomial_p: float | None
    light: str


@dataclass(frozen=True)
class Performance:
    """Observed performance of decisions whose outcome is known."""

    n: int
    n_bad: int
    labelled_share: float
    mature: bool  # the share of outcomes in reached min_labelled_share
    auc: float | None
    auc_se: float | None
    gini: float | None
    ks: float | None
    brier: float | None
    bad_rate: float | None
    mean_pd: float | None
    auc_reference: float | None
    auc_change: float | None
    auc_change_ci: tuple[float, float] | None
    auc_p_value: float | None
    auc_light: str
    hosmer_lemeshow: float | None
    hosmer_lemeshow_dof: int
    hosmer_lemeshow_p: float | None
    hosmer_lemeshow_light: str
    bands: list[BandBacktest]
    light: str


@dataclass(frozen=True)
class Estimate:
    """Label-free performance from the calibrated PDs (CBPE): an estimate, never a measure."""

    kind: str  # always "estimate"
    method: str
    n: int
    auc: float | None
    gini: float | None
    bad_rate: float | None
    auc_reference: float | None
    auc_change: float | None
    note: str


@dataclass(frozen=True)
class CohortResult:
    cohort: str
    n: int
    score: ScoreDrift
    features: list[FeatureDrift]
    decisions: DecisionMix
    operations: Operations | None
    performance: Performance | None
    estimate: Estimate
    verdict: str


@dataclass(frozen=True)
class Alert:
    level: str  # yellow | red
    item: str  # e.g. "score", "feature LIMIT_BAL", "backtest band HIGH"
    cohort: str
    message: str


@dataclass(frozen=True)
class SourceInfo:
    kind: str  # file | decisions | rows
    description: str
    rows: int
    since: str | None
    until: str | None
    by: str


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    policy_version: str
    trained_at: str | None
    reference_rows: int
    score_reference_rows: int
    auc_reference: float | None
    auc_reference_se: float | None
    reference_source: str | None


@dataclass(frozen=True)
class MonitoringReport:
    verdict: str
    model: ModelInfo
    source: SourceInfo
    overall: CohortResult  # every cohort pooled
    cohorts: list[CohortResult]
    alerts: list[Alert]
    thresholds: dict[str, Any]
    generated_at: str
    notes: list[str]

    @property
    def exit_code(self) -> int:
        """What ``monitor`` exits with: 1 when a red alert fires, 0 otherwise."""
        return 1 if self.verdict == "red" else 0

    def to_dict(self) -> dict[str, Any]:
        overall = asdict(self.overall)
        out = {
            "verdict": self.verdict,
            "generated_at": self.generated_at,
            "model": asdict(self.model),
            "source": asdict(self.source),
            "cohorts": [asdict(c) for c in self.cohorts],
            "score": overall["score"],
            "features": overall["features"],
            "decisions": overall["decisions"],
            "operations": overall["operations"],
            "performance": overall["performance"],
            "estimate": overall["estimate"],
            "alerts": [asdict(a) for a in self.alerts],
            "thresholds": dict(self.thresholds),
            "notes": list(self.notes),
        }
        return jsonable(out)
