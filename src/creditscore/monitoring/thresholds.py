"""Statuses and traffic lights: how a number becomes green, yellow or red.

Two kinds of rule, both read from :class:`~creditscore.config.MonitoringConfig`:

* sizes (PSI, effect size, rate changes) against a *watch* and an *act* threshold, counted
  only when a test says the change is not noise (p-value below ``drift_alpha``);
* statistical tests of performance by their confidence ``1 - p``: green below
  ``yellow_confidence`` (95 %), yellow up to ``red_confidence`` (99.9 %), red from there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from creditscore.config import MonitoringConfig

STABLE, WATCH, ACT = "stable", "watch", "act"
#: Not assessed: too few rows, or nothing to compare with (an old bundle).
INSUFFICIENT = "insufficient"
GREEN, YELLOW, RED, GREY = "green", "yellow", "red", "grey"

LIGHT_OF_STATUS = {STABLE: GREEN, WATCH: YELLOW, ACT: RED, INSUFFICIENT: GREY}
_RANK = {GREY: -1, GREEN: 0, YELLOW: 1, RED: 2}
_STATUS_RANK = {INSUFFICIENT: -1, STABLE: 0, WATCH: 1, ACT: 2}


def size_status(value: float | None, watch: float, act: float) -> str:
    """``stable`` below ``watch``, ``watch`` below ``act``, ``act`` from there."""
    if value is None or not math.isfinite(value):
        return INSUFFICIENT if value is None else ACT
    if value >= act:
        return ACT
    if value >= watch:
        return WATCH
    return STABLE


def gated(status: str, p_value: float | None, alpha: float) -> str:
    """A size past its threshold counts only when its test rejects 'no change' at ``alpha``."""
    if status in (WATCH, ACT) and p_value is not None and p_value >= alpha:
        return STABLE
    return status


def confidence_light(p_value: float | None, config: MonitoringConfig) -> str:
    """Traffic light of a one-sided test from its p-value (confidence ``1 - p``)."""
    if p_value is None or not math.isfinite(p_value):
        return GREY
    confidence = 1.0 - p_value
    if confidence >= config.red_confidence:
        return RED
    if confidence >= config.yellow_confidence:
        return YELLOW
    return GREEN


def worst_status(statuses: Iterable[str]) -> str:
    return max(statuses, key=lambda s: _STATUS_RANK[s], default=INSUFFICIENT)


def worst_light(lights: Iterable[str]) -> str:
    """The worst light; ``green`` when nothing was assessed at all."""
    found = max(lights, key=lambda light: _RANK[light], default=GREY)
    return GREEN if found == GREY else found
