"""After training: global explanations, the fairness report of the champion, the possible
proxies of protected attributes and what the model does with protected attributes.

All go into one typed :class:`Assessment` (``TrainingResult.assessment``): the model card
shows it, tracking logs it, and the fairness gate's verdict is what the registry applies at
promotion (``assessment.fairness.passed``: ``False`` only in ``block`` mode with a violation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd

from creditscore.config import ProjectConfig
from creditscore.exceptions import DataError
from creditscore.explain.fairness import (
    FairnessReport,
    GateResult,
    GroupSpec,
    TooManyGroupsError,
    configured_gate,
    configured_groups,
    fairness_report_for,
    read_groups,
    training_frame,
)
from creditscore.explain.fairness.protected_use import ProtectedUse, protected_use
from creditscore.explain.fairness.proxies import ProxyReport, proxy_scores
from creditscore.explain.global_ import GlobalExplanation, global_explanations

if TYPE_CHECKING:
    from creditscore.training.train import TrainingResult


@dataclass(frozen=True)
class FairnessOutcome:
    """The champion's fairness report and the gate's verdict on it."""

    report: FairnessReport
    gate: GateResult

    @property
    def passed(self) -> bool:
        return self.gate.passed


@dataclass(frozen=True)
class Assessment:
    """What training found out about the champion beyond its metrics. Each part is None
    when it was not computed: ``explanations`` (with ``explanations_error`` saying why
    not), ``proxies`` (no protected groups), ``fairness`` (not enabled or no groups)."""

    explanations: GlobalExplanation | None = None
    explanations_error: str | None = None
    protected: ProtectedUse | None = None
    proxies: ProxyReport | None = None
    fairness: FairnessOutcome | None = None


def fairness_groups(
    config: ProjectConfig, frame: pd.DataFrame, reference_date: str | None = None
) -> list[GroupSpec]:
    """The configured groups (or those inferred from the sensitive columns), checked against
    ``frame``: every column they read exists, and a configured group has few enough groups."""
    specs = configured_groups(
        config.fairness.model_dump(),
        config.sensitive,
        frame,
        date_column=config.data.date_column,
        reference_date=reference_date or datetime.now(UTC).date().isoformat(),
    )
    missing = sorted({c for s in specs for c in s.source_columns if c not in frame.columns})
    if missing:
        raise DataError(
            f"fairness groups read columns {missing} that the data does not have; "
            f"list them under `sensitive` (columns: {list(frame.columns)[:30]})"
        )
    for spec in specs:
        if not spec.inferred:
            read_groups(frame, spec)  # a configured group of 450 birthdays fails now
    return specs


def explain_and_check_fairness(result: TrainingResult) -> Assessment:
    """Global explanations, what the model does with protected attributes, their proxies
    and (when configured) the fairness report and gate of ``result``'s champion."""
    config = result.config
    plots = result.bundle_path / "plots"
    explanations, error = None, None
    try:
        explanations = global_explanations(result, out_dir=plots)
    except Exception as exc:  # an explainer that cannot read a model never stops training
        import warnings

        warnings.warn(f"no global explanations: {exc}", stacklevel=2)
        error = str(exc)
    ds = result.dataset
    protected = protected_use(
        result.bundle.features, config.sensitive, config.allow_sensitive_as_features, ds.X
    )
    partial = Assessment(explanations, error, protected)
    fc = config.fairness
    trained_at = str((result.bundle.metadata or {}).get("trained_at") or "")[:10] or None
    frame = training_frame(result)
    specs = fairness_groups(config, frame, trained_at)
    if not specs:
        return partial
    labels = {}
    for spec in specs:
        try:
            labels[spec.name] = read_groups(frame, spec).labels.to_numpy()
        except TooManyGroupsError:
            continue
    proxies = None
    if labels:
        proxies = proxy_scores(
            ds.X.reset_index(drop=True),
            ds.numeric,
            pd.DataFrame(labels),
            min_auc=fc.proxy_min_auc,
        )
    if not fc.enabled:
        return Assessment(explanations, error, protected, proxies)
    report = fairness_report_for(
        result,
        specs,
        intersections=[(a, b) for a, b in fc.intersections],
        n_boot=fc.n_boot,
        min_group_size=fc.min_group_size,
    )
    gate = configured_gate(report, fc.model_dump())
    return Assessment(explanations, error, protected, proxies, FairnessOutcome(report, gate))
