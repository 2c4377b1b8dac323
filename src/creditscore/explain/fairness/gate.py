"""The fairness gate: the report against the configured limits (the four-fifths rule, an
optional equal-opportunity gap), warning or blocking promotion."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from creditscore.explain.fairness.metrics import FairnessReport

__all__ = ["GateResult", "configured_gate", "evaluate_gate"]


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: list[str]
    mode: str = "warn"
    violations: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "mode": self.mode,
            "violations": self.violations,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
        }


def configured_gate(report: FairnessReport, settings: Mapping[str, Any]) -> GateResult:
    """:func:`evaluate_gate` with the limits of a fairness configuration (defaults: warn,
    the four-fifths rule, no equal-opportunity limit)."""
    max_eo = settings.get("max_equal_opportunity_difference")
    return evaluate_gate(
        report,
        settings.get("mode", "warn"),
        float(settings.get("min_disparate_impact", 0.8)),
        max_equal_opportunity_difference=None if max_eo is None else float(max_eo),
        require_significance=bool(settings.get("require_significance", False)),
    )


def evaluate_gate(
    report: FairnessReport,
    mode: Literal["warn", "block"] = "warn",
    min_disparate_impact: float = 0.8,
    *,
    max_equal_opportunity_difference: float | None = None,
    require_significance: bool = False,
) -> GateResult:
    """Check the report against the four-fifths rule (and optionally an equal-opportunity gap).

    ``block`` fails on any violation; ``warn`` passes but lists them. With
    ``require_significance`` a violation counts only when the whole confidence interval is on
    the wrong side of the limit (small validation sets otherwise block on noise).
    """
    if mode not in ("warn", "block"):
        raise ValueError(f"mode must be 'warn' or 'block', got {mode!r}")
    reasons: list[str] = []
    notes: list[str] = []
    for skipped in report.skipped:
        notes.append(f"{skipped.name}: not assessed: {skipped.reason}")
    for a in report.attributes:
        if a.note:
            notes.append(f"{a.name}: {a.note}")
            continue
        di = a.metrics.get("disparate_impact_ratio")
        if di is not None and math.isfinite(di.value):
            bound = di.ci[1] if require_significance else di.value
            if math.isfinite(bound) and bound < min_disparate_impact:
                lo, hi = di.groups
                reasons.append(
                    f"{a.name}: disparate impact ratio {di.value:.2f} "
                    f"(95% CI {di.ci[0]:.2f}-{di.ci[1]:.2f}; approval of {lo!r} over {hi!r}) "
                    f"is below {min_disparate_impact:.2f}"
                )
        eo = a.metrics.get("equal_opportunity_difference")
        if (
            max_equal_opportunity_difference is not None
            and eo is not None
            and math.isfinite(eo.value)
        ):
            bound = eo.ci[0] if require_significance else eo.value
            if math.isfinite(bound) and bound > max_equal_opportunity_difference:
                limit = max_equal_opportunity_difference
                reasons.append(
                    f"{a.name}: equal opportunity difference {eo.value:.2f} "
                    f"({eo.groups[0]!r} vs {eo.groups[1]!r}) exceeds {limit:.2f}"
                )
    passed = not reasons or mode == "warn"
    return GateResult(passed, reasons, mode, len(reasons), notes)
