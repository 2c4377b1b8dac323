"""The model graph: pipeline, blend and calibration nodes, and the public entry points."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from creditscore.compiled.base import (
    PARALLEL_ROWS,
    THREADS,
    TOLERANCE,
    NotCompilableError,
    Values,
    binary_classes,
    exact_type,
    executor,
    expit,
    expit_one,
    require,
)
from creditscore.compiled.contributions import (
    METHODS,
    N_PERMUTATIONS,
    Contributions,
    Game,
    LevelShares,
    build_game,
    build_permutation_game,
    game_log_odds,
    model_features,
    reference_frame,
)
from creditscore.compiled.inputs import Cleaner, Encoder, Frame, LinearEncoder, TreeEncoder
from creditscore.compiled.linear import MLP, FusedLogistic, Logistic, Scorecard, tanh_sigmoid
from creditscore.compiled.probes import probe_frame, raw_variants
from creditscore.compiled.trees import CatBoost, LightGBM, SklearnForest, XGBoost
from creditscore.data.schema import InputSchema

if TYPE_CHECKING:  # compiling reads scikit-learn objects; a compiled model needs none
    from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import VotingClassifier
    from sklearn.isotonic import IsotonicRegression
    from sklearn.pipeline import Pipeline


class Node(Protocol):
    """A compiled estimator: responses for one validated row or a raw frame."""

    label: str
    has_decision: bool
    proba_float32: bool
    cleaners: list[Cleaner]

    def response_one(self, values: Values, kind: str) -> Any: ...
    def response(self, frame: Frame, kind: str) -> np.ndarray: ...


class PipelineNode:
    """``Pipeline([clean, prep, model])`` as encoder + kernel."""

    def __init__(self, pipe: Pipeline, schema: InputSchema) -> None:
        from sklearn.compose import ColumnTransformer
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression

        steps = pipe.steps
        require(
            len(steps) == 3 and [s[0] for s in steps] == ["clean", "prep", "model"],
            "unexpected pipeline steps",
        )
        cleaner = Cleaner(steps[0][1], schema)
        self.cleaners = [cleaner]
        prep, model = steps[1][1], steps[2][1]
        self.scorecard: Scorecard | None = None
        self.encoder: Encoder | None = None
        kernel: Any = None
        if prep is None or prep == "passthrough":
            require(
                exact_type(model, "creditscore.models.scorecard", "WoEScorecard"),
                "raw family model is not the scorecard",
            )
            self.scorecard = Scorecard(model, cleaner)
            self.label = "scorecard (bin lookups)"
            self.has_decision, self.proba_float32 = True, False
            return
        if type(prep) is ColumnTransformer and is_tree_family(prep, cleaner):
            self.encoder = TreeEncoder(cleaner, prep)
        else:
            self.encoder = LinearEncoder(cleaner, prep)
        width = self.encoder.width
        self.fused: FusedLogistic | None = None
        if (
            type(model) is LogisticRegression
            and isinstance(self.encoder, LinearEncoder)
            and not self.encoder.float32
        ):
            self.fused = FusedLogistic(self.encoder, model)
            kernel, self.label = Logistic(model, width), "logistic (weight lookups)"
        elif type(model) is LogisticRegression:
            kernel, self.label = Logistic(model, width), "logistic (dot product)"
        elif type(model) is RandomForestClassifier:
            kernel = SklearnForest(model, width)
            self.label = f"random_forest ({kernel.n_trees} trees, {kernel.layout})"
        elif exact_type(model, "lightgbm.sklearn", "LGBMClassifier"):
            kernel = LightGBM(model, width)
            self.label = f"lightgbm ({kernel.n_trees} trees, {kernel.layout})"
        elif exact_type(model, "xgboost.sklearn", "XGBClassifier"):
            kernel = XGBoost(model, width)
            self.label = f"xgboost ({kernel.n_trees} float32 trees, {kernel.layout})"
        elif exact_type(model, "catboost.core", "CatBoostClassifier"):
            kernel = CatBoost(model, width)
            self.label = f"catboost ({kernel.n_trees} oblivious trees)"
        elif exact_type(model, "creditscore.models.mlp", "TorchMLPClassifier"):
            kernel, self.label = MLP(model, width), "mlp (numba layers)"
        else:
            raise NotCompilableError(f"no compiled form for {type(model).__name__}")
        self.kernel: Any = kernel
        self.has_decision = bool(kernel.has_decision)
        self.proba_float32 = bool(kernel.proba_float32)

    def response_one(self, values: Values, kind: str) -> Any:
        values = self.cleaners[0].extend(values)  # + derived features, if any
        if self.scorecard is not None:
            z = self.scorecard.decision_from(self.scorecard.contributions_one(values))
            return z if kind == "decision" else float(tanh_sigmoid(z))
        if self.fused is not None:
            z = self.fused.decision_one(values)
            return z if kind == "decision" else expit_one(z)
        assert self.encoder is not None
        x = self.encoder.one(values)
        return self.kernel.decision_one(x) if kind == "decision" else self.kernel.proba_one(x)

    def response(self, frame: Frame, kind: str) -> np.ndarray:
        if self.scorecard is not None:
            z = self.scorecard.decision_many(self.scorecard.contributions(frame))
            return z if kind == "decision" else np.asarray(tanh_sigmoid(z))
        if self.fused is not None:
            z = self.fused.decision(frame)
            return z if kind == "decision" else expit(z)
        assert self.encoder is not None
        X = self.encoder.many(frame)
        return self.kernel.decision(X) if kind == "decision" else self.kernel.proba(X)


def is_tree_family(ct: ColumnTransformer, cleaner: Cleaner) -> bool:
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    blocks = {name: trans for name, trans, _ in ct.transformers_}
    if cleaner.numeric:
        return type(blocks.get("num")) is FunctionTransformer
    return type(blocks.get("cat")) is OrdinalEncoder


class VotingNode:
    """Soft ``VotingClassifier``: the members' probabilities averaged, with their weights.

    As ``np.average`` does it: ``sum(w_k * p_k) / sum(w_k)`` summed in member order (or
    ``sum(p_k) / n`` without weights).
    """

    has_decision = False
    proba_float32 = False

    def __init__(self, model: VotingClassifier, schema: InputSchema) -> None:
        require(model.voting == "soft", "only soft voting has probabilities")
        binary_classes(model)
        self.members = [compile_node(est, schema) for est in model.estimators_]
        weights = model._weights_not_none
        self.weights: list[float] | None = None
        if weights is not None:
            require(len(weights) == len(self.members), "blend weights do not match its members")
            self.weights = [float(w) for w in weights]
            self.total = float(np.sum(np.asarray(weights, dtype=np.float64)))
            require(self.total != 0.0, "blend weights sum to 0")
        self.cleaners = [c for m in self.members for c in m.cleaners]
        self.label = "blend of " + " + ".join(m.label for m in self.members)

    def _average(self, ps: list[Any]) -> Any:
        """The members' mean (or weighted mean), summed in member order as scikit-learn
        does, for one float or for arrays alike."""
        if self.weights is None:
            total = ps[0]
            for p in ps[1:]:
                total = total + p
            return total / len(ps)
        total = ps[0] * self.weights[0]
        for p, w in zip(ps[1:], self.weights[1:], strict=True):
            total = total + p * w
        return total / self.total

    def response_one(self, values: Values, kind: str) -> float:
        return float(self._average([float(m.response_one(values, "proba")) for m in self.members]))

    def response(self, frame: Frame, kind: str) -> np.ndarray:
        ps = [np.asarray(m.response(frame, "proba"), dtype=np.float64) for m in self.members]
        return np.asarray(self._average(ps))


class Isotonic:
    """``IsotonicRegression.predict`` (out_of_bounds="clip") as scikit-learn and scipy do it."""

    def __init__(self, iso: IsotonicRegression) -> None:
        require(iso.out_of_bounds == "clip", "isotonic calibrator does not clip")
        self.x = np.asarray(iso.X_thresholds_)
        self.y = np.asarray(iso.y_thresholds_)
        self.dtype = self.x.dtype.type
        self.x_min, self.x_max = self.dtype(iso.X_min_), self.dtype(iso.X_max_)
        self.x_list = [float(v) for v in self.x]
        self.y_list = [float(v) for v in self.y]
        self.x_lo, self.x_hi = float(self.x_min), float(self.x_max)

    def one(self, t: Any) -> float:
        if self.x.dtype == np.float64 and self.y.dtype == np.float64 and len(self.y) > 1:
            # float64 throughout: Python floats do the same IEEE operations, faster
            t = min(max(float(t), self.x_lo), self.x_hi)
            i = min(max(bisect.bisect_left(self.x_list, t), 1), len(self.x_list) - 1)
            x_lo, x_hi, y_lo, y_hi = (
                self.x_list[i - 1],
                self.x_list[i],
                self.y_list[i - 1],
                self.y_list[i],
            )
            return (y_hi - y_lo) / (x_hi - x_lo) * (t - x_lo) + y_lo
        t = np.clip(self.dtype(t), self.x_min, self.x_max)
        if len(self.y) == 1:
            return float(self.y[0].astype(type(t)))
        i = min(max(bisect.bisect_left(self.x_list, float(t)), 1), len(self.x) - 1)
        x_lo, x_hi, y_lo, y_hi = self.x[i - 1], self.x[i], self.y[i - 1], self.y[i]
        slope = (y_hi - y_lo) / (x_hi - x_lo)
        return float(type(t)(slope * (t - x_lo) + y_lo))

    def many(self, T: np.ndarray) -> np.ndarray:
        T = np.clip(np.asarray(T, dtype=self.x.dtype), self.x_min, self.x_max)
        if len(self.y) == 1:
            return np.repeat(self.y, len(T)).astype(T.dtype)
        i = np.searchsorted(self.x, T).clip(1, len(self.x) - 1)
        x_lo, x_hi, y_lo, y_hi = self.x[i - 1], self.x[i], self.y[i - 1], self.y[i]
        slope = (y_hi - y_lo) / (x_hi - x_lo)
        return np.asarray(slope * (T - x_lo) + y_lo).astype(T.dtype)


class Sigmoid:
    """Platt scaling: ``expit(-(a * T + b))``."""

    def __init__(self, cal: _SigmoidCalibration) -> None:
        self.a, self.b = float(cal.a_), float(cal.b_)

    def one(self, t: Any) -> float:
        return expit_one(-(self.a * float(t) + self.b))

    def many(self, T: np.ndarray) -> np.ndarray:
        return expit(-(self.a * np.asarray(T, dtype=np.float64) + self.b))


def clip_one(p: float) -> float:
    return 1.0 if 1.0 < p <= 1.0 + 1e-5 else p


class CalibratedNode:
    """``CalibratedClassifierCV``: the base response through each fitted calibrator."""

    has_decision = False
    proba_float32 = False

    def __init__(self, model: CalibratedClassifierCV, schema: InputSchema) -> None:
        from sklearn.calibration import _SigmoidCalibration
        from sklearn.isotonic import IsotonicRegression

        binary_classes(model)
        self.parts: list[tuple[Node, str, Any]] = []
        for cc in model.calibrated_classifiers_:
            require(
                cc.method in ("isotonic", "sigmoid") and len(cc.calibrators) == 1,
                "unsupported calibration",
            )
            base = compile_node(cc.estimator, schema)
            kind = "decision" if hasattr(cc.estimator, "decision_function") else "proba"
            require(kind == "proba" or base.has_decision, "decision_function has no compiled form")
            cal = cc.calibrators[0]
            if type(cal) is IsotonicRegression:
                calibrator: Any = Isotonic(cal)
            elif type(cal) is _SigmoidCalibration:
                calibrator = Sigmoid(cal)
            else:
                raise NotCompilableError(f"calibrator {type(cal).__name__} is not supported")
            self.parts.append((base, kind, calibrator))
        self.cleaners = [c for base, _, _ in self.parts for c in base.cleaners]
        self.method = model.calibrated_classifiers_[0].method
        self.label = f"{self.method}({self.parts[0][0].label})"

    def response_one(self, values: Values, kind: str) -> float:
        total = 0.0
        for base, response, calibrator in self.parts:
            total += clip_one(calibrator.one(base.response_one(values, response)))
        return total / len(self.parts)

    def response(self, frame: Frame, kind: str) -> np.ndarray:
        total = np.zeros(frame.n)
        for base, response, calibrator in self.parts:
            p = np.asarray(calibrator.many(base.response(frame, response)), dtype=np.float64)
            p[(p > 1.0) & (p <= 1.0 + 1e-5)] = 1.0
            total += p
        return total / len(self.parts)


def compile_node(est: Any, schema: InputSchema) -> Node:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import VotingClassifier
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import Pipeline

    if type(est) is FrozenEstimator:
        return compile_node(est.estimator, schema)
    if type(est) is CalibratedClassifierCV:
        return CalibratedNode(est, schema)
    if type(est) is VotingClassifier:
        return VotingNode(est, schema)
    if type(est) is Pipeline:
        return PipelineNode(est, schema)
    raise NotCompilableError(f"no compiled form for {type(est).__name__}")


class CompiledModel:
    """The bundle model's probability of default, for one application or a frame, and
    (:meth:`contributions`) the uncalibrated model's contributions to its log-odds."""

    def __init__(self, root: Node, schema: InputSchema) -> None:
        self._root = root
        self.schema = schema
        self.names = schema.names
        self.description = root.label

    @property
    def uncalibrated(self) -> Node:
        """The node inside the calibration (the root itself without one)."""
        root = self._root
        if isinstance(root, CalibratedNode):
            return root.parts[0][0]
        return root

    @property
    def features(self) -> list[str]:
        """The model's features (its cleaners' output columns), the schema's fields first."""
        return model_features(self.schema, self._root.cleaners)

    def contributions(
        self,
        reference: Values,
        level_shares: LevelShares | None = None,
        *,
        method: str = "auto",
        n_permutations: int = N_PERMUTATIONS,
        seed: int = 0,
    ) -> Contributions:
        """Contributions of the uncalibrated model to its log-odds of bad.

        ``reference``: one validated application in schema order (the Profile's typical
        applicant): what the Shapley games play against. ``level_shares``: training share of
        each level (``None``: missing) per categorical feature, the logistic's centring.
        ``method="permutation"`` plays the model-agnostic permutation game for any model
        (``n_permutations`` orders, each also walked backwards, drawn with ``seed``).
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        node = self.uncalibrated
        features = self.features
        index = {f: i for i, f in enumerate(features)}
        ref = Frame(reference_frame(self.schema, reference))
        game: Game
        if method == "permutation":
            game = build_permutation_game(node, index, ref, n_permutations, seed)
        else:
            game = build_game(node, index, ref, level_shares or {}, n_permutations, seed)
        return Contributions(
            game,
            features,
            proba=lambda frame: np.asarray(node.response(frame, "proba"), dtype=np.float64),
            log_odds=lambda frame: game_log_odds(game, frame),
        )

    def special_codes(self) -> dict[str, list[Any]]:
        """Values each column treats as missing (the InputCleaners' special codes)."""
        out: dict[str, list[Any]] = {}
        for c in self._root.cleaners:
            for col, nums in c.special_numbers.items():
                out.setdefault(col, []).extend(v for v in nums if v not in out[col])
            for col, texts in c.special_strings.items():
                out.setdefault(col, []).extend(v for v in sorted(texts) if v not in out[col])
        return {k: v for k, v in out.items() if v}

    def predict_one(self, values: Values) -> float:
        """PD of one validated application (values in schema order: float, str or None)."""
        return float(self._root.response_one(values, "proba"))

    def predict_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """PD of every row of a raw application frame (as ``bundle.predict_proba``).

        Large frames are cut into one chunk per thread: factorising (pyarrow), numpy and
        the tree kernels release the GIL, and every row is computed on its own, so the
        chunking never changes a result.
        """
        n = len(frame)
        if n < PARALLEL_ROWS or THREADS == 1:
            return self._predict(frame)
        edges = np.linspace(0, n, THREADS + 1).astype(int)
        chunks = [frame.iloc[a:b] for a, b in pairwise(edges)]
        return np.concatenate(list(executor().map(self._predict, chunks)))

    def _predict(self, frame: pd.DataFrame) -> np.ndarray:
        if len(frame) == 0:
            return np.zeros(0)
        return np.asarray(self._root.response(Frame(frame), "proba"), dtype=np.float64)


def compile_model(model: Any, schema: InputSchema, *, check: bool = True) -> CompiledModel:
    """Compile a bundle's fitted model; raises :class:`NotCompilableError` when it cannot be exact.

    With ``check`` (the default) the compiled model is compared with ``model`` on probe
    applications before it is returned.
    """
    try:
        compiled = CompiledModel(compile_node(model, schema), schema)
    except NotCompilableError:
        raise
    except Exception as exc:  # an unexpected attribute layout is "cannot compile", not a crash
        raise NotCompilableError(f"{type(exc).__name__}: {exc}") from exc
    if check:
        verify(compiled, model, schema)
    return compiled


def verify(compiled: CompiledModel, model: Any, schema: InputSchema) -> float:
    """Largest |compiled - pipeline| on probe applications; raises above TOLERANCE."""
    return check(compiled, expected_outputs(compiled, model, schema))


def _probes(compiled: CompiledModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The probe applications: valid ones, and their raw variants (other spellings,
    special codes, unseen categories), built from the schema alone."""
    valid = probe_frame(compiled.schema)
    return valid, raw_variants(valid, compiled.schema, compiled.special_codes())


def expected_outputs(compiled: CompiledModel, model: Any, schema: InputSchema) -> ProbeAnswers:
    """The pipeline's PDs on the probe applications (what :func:`check` holds a compiled
    model to; a bundle saves them with its compiled form)."""
    import warnings

    if compiled.schema.names != schema.names:
        raise NotCompilableError("compiled model and schema name different fields")
    out = []
    for frame in _probes(compiled):
        with warnings.catch_warnings():  # unknown categories are the point here
            warnings.simplefilter("ignore")
            out.append(np.asarray(model.predict_proba(frame)[:, 1], dtype=np.float64))
    return ProbeAnswers(valid=out[0], raw=out[1])


@dataclass(frozen=True)
class ProbeAnswers:
    """The pipeline's PDs on the valid probe applications and on their raw variants."""

    valid: np.ndarray
    raw: np.ndarray


def check(compiled: CompiledModel, want: ProbeAnswers) -> float:
    """Largest |compiled - pipeline| on the probes; raises above TOLERANCE.

    Batch scoring is checked on valid probes and on their raw variants, single scoring
    on the valid probes (what validation lets through).
    """
    schema = compiled.schema
    valid, raw = _probes(compiled)
    worst = 0.0
    for frame, expected in ((valid, want.valid), (raw, want.raw)):
        if len(expected) != len(frame):
            raise NotCompilableError("probe answers do not match the probe applications")
        got = compiled.predict_frame(frame)
        worst = max(worst, float(np.max(np.abs(got - expected), initial=0.0)))
    rows = valid.astype(object).where(valid.notna(), None).to_numpy()
    for row, p in zip(rows, want.valid, strict=True):
        values = [
            math.nan if v is None and f.kind == "numeric" else v
            for v, f in zip(row, schema.fields, strict=True)
        ]
        worst = max(worst, abs(compiled.predict_one(values) - float(p)))
    if not worst <= TOLERANCE:
        raise NotCompilableError(
            f"compiled model differs from the pipeline by {worst:.3g} on probe rows"
        )
    return worst
