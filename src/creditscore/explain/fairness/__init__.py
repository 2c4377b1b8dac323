"""Group fairness of a model's decisions: how protected columns become groups
(:mod:`.groups`), the metrics with bootstrap intervals (:mod:`.metrics`) and the gate
(:mod:`.gate`). Typed results only; :mod:`creditscore.reporting.fairness` renders them."""

from __future__ import annotations

from creditscore.explain.fairness.gate import GateResult, configured_gate, evaluate_gate
from creditscore.explain.fairness.groups import (
    DEFAULT_AGE_BANDS,
    MAX_GROUPS,
    MISSING_GROUP,
    GroupLabels,
    GroupSpec,
    TooManyGroupsError,
    band_names,
    configured_groups,
    default_groups,
    german_groups,
    group_labels,
    groups_from_config,
    is_flag,
    read_groups,
)
from creditscore.explain.fairness.metrics import (
    AttributeReport,
    Disparity,
    FairnessReport,
    GroupStats,
    SkippedAttribute,
    fairness_from_predictions,
    fairness_report,
    fairness_report_for,
    training_frame,
)

__all__ = [
    "DEFAULT_AGE_BANDS",
    "MAX_GROUPS",
    "MISSING_GROUP",
    "AttributeReport",
    "Disparity",
    "FairnessReport",
    "GateResult",
    "GroupLabels",
    "GroupSpec",
    "GroupStats",
    "SkippedAttribute",
    "TooManyGroupsError",
    "band_names",
    "configured_gate",
    "configured_groups",
    "default_groups",
    "evaluate_gate",
    "fairness_from_predictions",
    "fairness_report",
    "fairness_report_for",
    "german_groups",
    "group_labels",
    "groups_from_config",
    "is_flag",
    "read_groups",
    "training_frame",
]
