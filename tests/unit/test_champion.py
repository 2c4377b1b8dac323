"""How the champion is chosen among the candidates (training.train.choose_champion)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from creditscore.training.train import choose_champion


def shifted(by: list[float]) -> list[float]:
    return [a + d for a, d in zip(LOGISTIC, by, strict=True)]


def candidate(name: str, parts: list[float]) -> Any:
    return SimpleNamespace(
        name=name,
        selection_folds=parts,
        selection_auc=float(np.mean(parts)),
        cv_auc_mean=float(np.mean(parts[:-1])),
    )


LOGISTIC = [0.78, 0.80, 0.76, 0.79, 0.81, 0.77]


def test_a_lead_within_the_noise_keeps_the_logistic_regression() -> None:
    blend = candidate("blend", shifted([0.02, -0.01, 0.01, -0.005, 0.0, 0.004]))
    lr = candidate("logistic", LOGISTIC)
    champ, why = choose_champion([blend, lr, candidate("xgboost", [0.7] * 6)], True)
    assert champ is lr
    assert "within one standard error" in why
    assert "blend" in why


def test_a_clear_lead_wins_and_the_rule_can_be_switched_off() -> None:
    forest = candidate("random_forest", [a + 0.02 for a in LOGISTIC])
    lr = candidate("logistic", LOGISTIC)
    champ, why = choose_champion([lr, forest], True)
    assert champ is forest
    assert "more than one standard error" in why
    noisy = candidate("lightgbm", shifted([0.03, -0.02, 0.0, 0.0, 0.0, 0.0]))
    assert choose_champion([lr, noisy], True)[0] is lr
    assert choose_champion([lr, noisy])[0] is noisy  # off by default


def test_the_best_transparent_candidate_is_the_one_kept() -> None:
    card = candidate("scorecard", [a + 0.001 for a in LOGISTIC])
    lr = candidate("logistic", LOGISTIC)
    mlp = candidate("mlp", shifted([0.01, -0.008, 0.004, -0.002, 0.003, 0.001]))
    assert choose_champion([lr, mlp, card], True)[0] is card
    assert choose_champion([candidate("xgboost", LOGISTIC)], True)[1] == "the best selection AUC"
