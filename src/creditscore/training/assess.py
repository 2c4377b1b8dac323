"""After training: global explanations and the fairness report of the champion.

Both go into ``TrainingResult.extras`` (the model card shows them; tracking logs them) and
the fairness gate's verdict is what the registry applies at promotion
(``extras["fairness"]["passed"]``: ``False`` only in ``block`` mode with a violation).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd

from creditscore.config import ProjectConfig
from creditscore.exceptions import DataError
from creditscore.explain.fairness import (
    GroupSpec,
    configured_gate,
    configured_groups,
    fairness_report_for,
    fairness_section,
)
from creditscore.explain.global_ import global_explanations

if TYPE_CHECKING:
    from creditscore.training.train import TrainingResult


def fairness_groups(config: ProjectConfig, frame: pd.DataFrame) -> list[GroupSpec]:
    """The configured groups (or one per sensitive column), checked against ``frame``."""
    specs = configured_groups(config.fairness.model_dump(), config.sensitive, frame)
    missing = [s.column for s in specs if s.column not in frame.columns]
    if missing:
        raise DataError(
            f"fairness groups read columns {missing} that the data does not have; "
            f"list them under `sensitive` (columns: {list(frame.columns)[:30]})"
        )
    return specs


def explain_and_check_fairness(result: TrainingResult) -> None:
    """Fill ``result.extras`` with ``explanations`` and ``fairness`` (when configured)."""
    config = result.config
    plots = result.bundle_path / "plots"
    try:
        result.extras["explanations"] = global_explanations(result, out_dir=plots)
    except Exception as exc:  # an explainer that cannot read a model never stops training
        import warnings

        warnings.warn(f"no global explanations: {exc}", stacklevel=2)
        result.extras["explanations"] = {"html": "", "markdown": f"Not computed: {exc}\n"}
    fc = config.fairness
    frame = pd.concat([result.dataset.X, result.dataset.sensitive], axis=1)
    specs = fairness_groups(config, frame) if fc.enabled else []
    if not specs:
        return
    report = fairness_report_for(
        result,
        specs,
        intersections=[(a, b) for a, b in fc.intersections],
        n_boot=fc.n_boot,
        min_group_size=fc.min_group_size,
    )
    gate = configured_gate(report, fc.model_dump())
    section: dict[str, Any] = fairness_section(report, plots)
    verdict = _verdict_lines(gate.mode, gate.violations, gate.reasons, gate.notes)
    section["markdown"] = "\n".join(f"- {v}" for v in verdict) + "\n\n" + section["markdown"]
    items = "".join(f"<li>{html.escape(v)}</li>" for v in verdict)
    section["html"] = f"<ul>{items}</ul>\n" + section["html"]
    section.update(
        passed=gate.passed,
        gate=gate.to_dict(),
        report=report.to_dict(),
    )
    result.extras["fairness"] = section


def _verdict_lines(mode: str, violations: int, reasons: list[str], notes: list[str]) -> list[str]:
    if not violations:
        head = f"Fairness gate ({mode}): no violation of the configured limits."
    elif mode == "block":
        head = f"Fairness gate (block): {violations} violation(s); this version cannot be promoted."
    else:
        head = f"Fairness gate (warn): {violations} violation(s), reported, not blocking."
    return [head, *reasons, *notes]
