"""Fitting the decision policy: the threshold with the lowest expected cost.

Training-time only; the fitted :class:`~creditscore.policy.DecisionPolicy` is applied at run
time by the runtime core.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from creditscore.config import CostConfig, PolicyConfig
from creditscore.evaluation.metrics import check_labels_and_pd, cost_curve
from creditscore.policy import DecisionPolicy, bayes

__all__ = ["fit_policy", "one_sided", "optimal_threshold"]


def optimal_threshold(y: ArrayLike, p: ArrayLike, costs: CostConfig) -> float:
    """The PD cut (decline when ``p >= cut``) with the lowest expected cost on ``(y, p)``.

    Costs only change at observed PDs, so the candidates are 0, 1, every distinct PD, the
    midpoints between consecutive ones and the Bayes threshold ``c_fp / (c_fp + c_fn)``;
    this makes the search exact, not a grid approximation. Among equally cheap cuts the one
    closest to the Bayes threshold wins: the Bayes cut itself when it is optimal, else the
    midpoint of the gap nearest to it rather than a cut sitting on an observed PD.
    """
    y_arr, p_arr = check_labels_and_pd(y, p)
    bayes_cut = bayes(costs.false_negative, costs.false_positive)
    cuts = np.unique(np.concatenate([[0.0, 1.0], p_arr]))
    mids = (cuts[:-1] + cuts[1:]) / 2.0
    candidates = np.unique(np.concatenate([cuts, mids, [bayes_cut]]))
    cost = cost_curve(y_arr, p_arr, costs, thresholds=candidates)["expected_cost"].to_numpy()
    best = float(cost.min())
    tied = candidates[cost <= best + 1e-12 * max(1.0, abs(best))]
    return float(tied[int(np.argmin(np.abs(tied - bayes_cut)))])


def fit_policy(
    y: ArrayLike, p: ArrayLike, policy: PolicyConfig, costs: CostConfig
) -> DecisionPolicy:
    """The configured policy with the cost-minimising threshold on ``(y, p)``.

    Fit on held-out, calibrated PDs: the threshold is only as good as the calibration.
    """
    return DecisionPolicy.from_config(optimal_threshold(y, p, costs), policy, costs)


def one_sided(
    approval_rate: float | None, threshold: float, bayes_threshold: float, cost_fn: float,
    cost_fp: float,
) -> str | None:  # fmt: skip
    """What a policy that approves nobody (or everybody) on the test split does, as the
    rest of a sentence beginning "the policy", else None: the cost-optimal cut can lie
    beyond every PD the model gives, which is rarely intended. ``train`` warns with it and
    the model card states it as a limitation."""
    costs = f"costs FN {cost_fn:g} / FP {cost_fp:g}"
    if approval_rate == 0.0:
        return (
            f"approves no applicant of the test split: no PD there is below the threshold "
            f"{threshold:.4f} (at {costs} the break-even PD is {bayes_threshold:.1%})"
        )
    if approval_rate == 1.0:
        return (
            f"approves every applicant of the test split: no PD there reaches the threshold "
            f"{threshold:.4f} ({costs})"
        )
    return None
