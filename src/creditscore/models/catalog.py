"""The only list of candidate models: how each is built, its defaults and its search space.

Every candidate becomes one scikit-learn ``Pipeline`` (input cleaning + family
preprocessing + estimator), so tuning, evaluation, the bundle and the API all run the same
object. To add a model, add one ``Candidate`` to ``CATALOG``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sklearn.pipeline import Pipeline

from creditscore.exceptions import ConfigError
from creditscore.features.preprocess import (
    Family,
    InputCleaner,
    build_preprocessor,
    categorical_positions,
)

Params = dict[str, Any]


@dataclass(frozen=True)
class Context:
    """What a candidate needs to know about the data to build its pipeline."""

    numeric: Sequence[str]
    categorical: Sequence[str]
    special_codes: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    monotone: Mapping[str, str] = field(default_factory=dict)  # column -> increasing|decreasing
    seed: int = 42
    n_jobs: int = 2
    # features.derived (name -> expression): their names are among ``numeric``; the
    # InputCleaner computes them from the raw inputs
    derived: Mapping[str, str] = field(default_factory=dict)
    decimal_comma: Sequence[str] = ()

    @property
    def input_numeric(self) -> list[str]:
        """The numeric columns read from the application (``numeric`` less the derived)."""
        return [c for c in self.numeric if c not in self.derived]

    def cleaner(self) -> InputCleaner:
        return InputCleaner(
            self.input_numeric,
            list(self.categorical),
            dict(self.special_codes),
            dict(self.derived) or None,
            list(self.decimal_comma) or None,
        )

    def constraints(self) -> list[int]:
        """Monotone constraint per numeric column (+1: PD rises), in ``numeric`` order: the
        first columns of both the ``onehot`` and the ``ordinal`` family's output."""
        sign = {"increasing": 1, "decreasing": -1}
        return [sign.get(self.monotone.get(c, ""), 0) for c in self.numeric]


@dataclass(frozen=True)
class Candidate:
    name: str
    label: str
    family: Family
    defaults: Params
    suggest: Callable[[Any], Params]  # optuna.Trial -> params
    make: Callable[[Params, Context], Any]  # params -> unfitted estimator
    requires: tuple[str, ...] = ()
    float32: bool = False

    def available(self) -> bool:
        return all(importlib.util.find_spec(mod) is not None for mod in self.requires)

    def pipeline(self, params: Params | None, ctx: Context) -> Pipeline:
        merged = {**self.defaults, **(params or {})}
        return Pipeline(
            [
                ("clean", ctx.cleaner()),
                (
                    "prep",
                    build_preprocessor(
                        self.family, ctx.numeric, ctx.categorical, float32=self.float32
                    ),
                ),
                ("model", self.make(merged, ctx)),
            ]
        )


# ---------------------------------------------------------------- logistic regression
def _logistic(p: Params, ctx: Context) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=p["C"], max_iter=5000, random_state=ctx.seed)


def _logistic_space(t: Any) -> Params:
    return {"C": t.suggest_float("C", 1e-3, 10.0, log=True)}


# ---------------------------------------------------------------- WoE scorecard
def _scorecard(p: Params, ctx: Context) -> Any:
    from creditscore.models.scorecard import WoEScorecard

    return WoEScorecard(
        categorical_features=list(ctx.categorical), monotone=dict(ctx.monotone) or None, **p
    )


def _scorecard_space(t: Any) -> Params:
    return {
        "max_n_bins": t.suggest_int("max_n_bins", 3, 8),
        "min_bin_size": t.suggest_float("min_bin_size", 0.03, 0.15),
        "min_iv": t.suggest_float("min_iv", 0.0, 0.05),
        "C": t.suggest_float("C", 1e-2, 10.0, log=True),
    }


# ---------------------------------------------------------------- random forest
def _forest(p: Params, ctx: Context) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    # sklearn's monotonic_cst wants one entry per encoded column, known only once the
    # one-hot encoder is fitted, so the forest is left unconstrained (documented in the README).
    return RandomForestClassifier(random_state=ctx.seed, n_jobs=ctx.n_jobs, **p)


def _forest_space(t: Any) -> Params:
    return {
        "n_estimators": t.suggest_int("n_estimators", 150, 500, step=50),
        "max_depth": t.suggest_int("max_depth", 3, 16),
        "min_samples_leaf": t.suggest_int("min_samples_leaf", 1, 30, log=True),
        "max_features": t.suggest_float("max_features", 0.1, 0.8),
    }


# ---------------------------------------------------------------- XGBoost
def _xgboost(p: Params, ctx: Context) -> Any:
    from xgboost import XGBClassifier

    # a prefix is enough: XGBoost leaves the columns after it (indicators, one-hot) free
    extra: Params = {"monotone_constraints": tuple(ctx.constraints())} if ctx.monotone else {}
    return XGBClassifier(
        **extra,
        tree_method="hist",
        eval_metric="logloss",
        random_state=ctx.seed,
        n_jobs=ctx.n_jobs,
        **p,
    )


def _xgboost_space(t: Any) -> Params:
    return {
        "n_estimators": t.suggest_int("n_estimators", 100, 800, step=50),
        "learning_rate": t.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "max_depth": t.suggest_int("max_depth", 2, 6),
        "min_child_weight": t.suggest_float("min_child_weight", 1.0, 20.0, log=True),
        "subsample": t.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": t.suggest_float("colsample_bytree", 0.3, 1.0),
        "reg_lambda": t.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
    }


# ---------------------------------------------------------------- LightGBM
def _lightgbm(p: Params, ctx: Context) -> Any:
    from lightgbm import LGBMClassifier

    cats = categorical_positions(ctx.numeric, ctx.categorical)
    extra: Params = {"categorical_column": cats} if cats else {}
    if ctx.monotone:
        extra["monotone_constraints"] = ctx.constraints() + [0] * len(ctx.categorical)
    return LGBMClassifier(
        random_state=ctx.seed, n_jobs=ctx.n_jobs, verbose=-1, subsample_freq=1, **extra, **p
    )


def _lightgbm_space(t: Any) -> Params:
    return {
        "n_estimators": t.suggest_int("n_estimators", 100, 800, step=50),
        "learning_rate": t.suggest_float("learning_rate", 0.01, 0.15, log=True),
        "num_leaves": t.suggest_int("num_leaves", 4, 48, log=True),
        "min_child_samples": t.suggest_int("min_child_samples", 5, 100, log=True),
        "subsample": t.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": t.suggest_float("colsample_bytree", 0.3, 1.0),
        "reg_lambda": t.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        "cat_smooth": t.suggest_float("cat_smooth", 1.0, 50.0, log=True),
        "min_data_per_group": t.suggest_int("min_data_per_group", 5, 100, log=True),
    }


# ---------------------------------------------------------------- CatBoost
def _catboost(p: Params, ctx: Context) -> Any:
    from catboost import CatBoostClassifier

    # by position: the one-hot columns after the numbers are only known once fitted
    mono = {i: s for i, s in enumerate(ctx.constraints()) if s}
    extra: Params = {"monotone_constraints": mono} if mono else {}
    return CatBoostClassifier(
        **extra,
        random_seed=ctx.seed,
        thread_count=ctx.n_jobs,
        verbose=False,
        allow_writing_files=False,
        **p,
    )


def _catboost_space(t: Any) -> Params:
    return {
        "iterations": t.suggest_int("iterations", 200, 800, step=100),
        "learning_rate": t.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "depth": t.suggest_int("depth", 3, 8),
        "l2_leaf_reg": t.suggest_float("l2_leaf_reg", 1.0, 20.0, log=True),
    }


# ---------------------------------------------------------------- PyTorch MLP (skorch)
def _mlp(p: Params, ctx: Context) -> Any:
    from creditscore.models.mlp import TorchMLPClassifier

    params = dict(p)
    if isinstance(params.get("hidden_units"), str):
        params["hidden_units"] = tuple(int(u) for u in params["hidden_units"].split("x"))
    return TorchMLPClassifier(random_state=ctx.seed, **params)


def _mlp_space(t: Any) -> Params:
    return {
        "hidden_units": t.suggest_categorical("hidden_units", ["32", "64x32", "128x64"]),
        "dropout": t.suggest_float("dropout", 0.0, 0.5),
        "lr": t.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": t.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "batch_size": t.suggest_categorical("batch_size", [64, 128, 256]),
    }


CATALOG: dict[str, Candidate] = {
    c.name: c
    for c in [
        Candidate(
            "logistic", "Logistic regression", "onehot", {"C": 0.1}, _logistic_space, _logistic
        ),
        Candidate(
            "scorecard",
            "WoE scorecard",
            "raw",
            {"max_n_bins": 6, "min_bin_size": 0.05, "min_iv": 0.02, "C": 1.0},
            _scorecard_space,
            _scorecard,
            requires=("optbinning",),
        ),
        Candidate(
            "random_forest",
            "Random forest",
            "onehot",
            {"n_estimators": 300, "max_depth": 8, "min_samples_leaf": 5, "max_features": 0.3},
            _forest_space,
            _forest,
        ),
        Candidate(
            "xgboost",
            "XGBoost",
            "onehot",
            {
                "n_estimators": 300,
                "learning_rate": 0.03,
                "max_depth": 3,
                "min_child_weight": 1.0,
                "subsample": 0.8,
                "colsample_bytree": 0.6,
                "reg_lambda": 1.0,
            },
            _xgboost_space,
            _xgboost,
            requires=("xgboost",),
        ),
        Candidate(
            "lightgbm",
            "LightGBM",
            "ordinal",
            {
                "n_estimators": 300,
                "learning_rate": 0.03,
                "num_leaves": 15,
                "min_child_samples": 20,
                "subsample": 1.0,
                "colsample_bytree": 1.0,
                "reg_lambda": 1e-3,
                "cat_smooth": 10.0,
                "min_data_per_group": 100,
            },
            _lightgbm_space,
            _lightgbm,
            requires=("lightgbm",),
        ),
        Candidate(
            "catboost",
            "CatBoost",
            "onehot",
            {"iterations": 600, "learning_rate": 0.03, "depth": 4, "l2_leaf_reg": 5.0},
            _catboost_space,
            _catboost,
            requires=("catboost",),
        ),
        Candidate(
            "mlp",
            "PyTorch MLP",
            "onehot",
            {
                "hidden_units": "64x32",
                "dropout": 0.2,
                "lr": 1e-3,
                "weight_decay": 1e-4,
                "batch_size": 128,
            },
            _mlp_space,
            _mlp,
            requires=("torch", "skorch"),
            float32=True,
        ),
    ]
}

EXTRAS = {"mlp": "nn"}


def get_candidates(names: Sequence[str]) -> list[Candidate]:
    """Candidates by name, in the given order; unknown or uninstallable names are errors."""
    unknown = [n for n in names if n not in CATALOG]
    if unknown:
        raise ConfigError(
            f"unknown candidate(s) {unknown} in 'candidates'; available: {sorted(CATALOG)}"
        )
    chosen = [CATALOG[n] for n in names]
    for c in chosen:
        if not c.available():
            extra = EXTRAS.get(c.name, "all")
            raise ConfigError(
                f"candidate {c.name!r} needs {', '.join(c.requires)}: "
                f"pip install 'creditscore[{extra}]', or remove it from 'candidates'"
            )
    return chosen
