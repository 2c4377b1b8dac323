"""`train` says so when the cost-optimal policy approves nobody, or everybody, on test."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from creditscore.cli import training


def _said(monkeypatch: pytest.MonkeyPatch, tn: int, fp: int, fn: int, tp: int) -> str:
    out = io.StringIO()
    monkeypatch.setattr(training, "console", Console(file=out, width=300))
    n = tn + fp + fn + tp
    metrics = {"approval_rate": (tn + fn) / n, "tn": tn, "fp": fp, "fn": fn, "tp": tp}
    training._one_sided_policy(metrics, 0.1379, 1 / 11, 10.0, 1.0)
    return out.getvalue()


def test_approving_nobody_is_pointed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    # causaldata's credit_cards: 22.7 % bad, no applicant below the 9.1 % break-even
    said = _said(monkeypatch, tn=0, fp=3477, fn=0, tp=1023)
    assert "approves no applicant of the test split" in said
    assert "the break-even PD is 9.1%" in said
    assert "the bad rate is 22.7%" in said
    assert "lower costs.false_negative" in said


def test_approving_everybody_is_pointed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    said = _said(monkeypatch, tn=980, fp=0, fn=20, tp=0)
    assert "approves every applicant" in said
    assert "raise costs.false_negative" in said


def test_a_policy_that_decides_both_ways_says_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _said(monkeypatch, tn=25, fp=80, fn=2, tp=43) == ""
