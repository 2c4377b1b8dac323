"""Compiled forms of the linear-family estimators and the WoE scorecard.

Each keeps the estimator's own order of floating-point operations, so that it returns the
pipeline's numbers: the logistic dot product column by column, the scorecard's sum of
contributions variable by variable, the MLP layer by layer in a numba kernel (BatchNorm
folded into the preceding layer, as torch does in eval mode).
"""

from __future__ import annotations

import bisect
import math
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from creditscore.compiled.base import (
    HoldsKernels,
    NotCompilableError,
    Values,
    binary_classes,
    expit,
    expit_one,
    kernels,
    require,
)
from creditscore.compiled.inputs import (
    CategoryCodes,
    Cleaner,
    Frame,
    LinearEncoder,
    codes_from_probe,
)
from creditscore.compiled.probes import category_probes, cleaned_probe_frame

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression


class Kernel(Protocol):
    """An estimator's arithmetic on encoded rows (a list for one row, an array for many)."""

    has_decision: bool
    proba_float32: bool

    def decision_one(self, x: list[float]) -> float: ...
    def decision(self, X: np.ndarray) -> np.ndarray: ...
    def proba_one(self, x: list[float]) -> Any: ...
    def proba(self, X: np.ndarray) -> np.ndarray: ...


class Logistic:
    """``LogisticRegression``: the dot product, summed column by column (exact per row)."""

    has_decision = True
    proba_float32 = False

    def __init__(self, model: LogisticRegression, width: int) -> None:
        binary_classes(model)
        coef = np.asarray(model.coef_, dtype=np.float64)
        require(coef.shape == (1, width), "logistic coefficients do not match the encoder")
        self.coef = coef.ravel()
        self.coef_list = [float(w) for w in self.coef]
        self.intercept = float(np.asarray(model.intercept_).ravel()[0])

    def decision_one(self, x: list[float]) -> float:
        z = self.intercept
        for v, w in zip(x, self.coef_list, strict=True):
            z += v * w
        return z

    def decision(self, X: np.ndarray) -> np.ndarray:
        z = np.full(X.shape[0], self.intercept)
        for j, w in enumerate(self.coef):
            z += X[:, j] * w
        return z

    def proba_one(self, x: list[float]) -> float:
        return expit_one(self.decision_one(x))

    def proba(self, X: np.ndarray) -> np.ndarray:
        return expit(self.decision(X))


class FusedLogistic:
    """``linear`` encoder + logistic regression without building the one-hot matrix.

    The dot product is summed in column order, as :class:`Logistic` does; a one-hot block
    adds only its hot column's weight (adding ``0 * w`` never changes a float sum), so the
    result is the same to the bit, and a category costs one lookup.
    """

    has_decision = True
    proba_float32 = False

    def __init__(self, enc: LinearEncoder, model: LogisticRegression) -> None:
        require(not enc.float32, "float32 logistic inputs are not supported")
        lin = Logistic(model, enc.width)
        w = lin.coef
        self.enc = enc
        self.intercept = lin.intercept
        self.numeric = [(*plan, float(w[j])) for j, plan in enumerate(enc.numeric_plan)]
        # indicator column: (numeric column, off * w, on * w)
        self.indicator = [
            (j, off * float(w[col]), on * float(w[col])) for j, col, off, on in enc.indicator_plan
        ]
        self.categorical = [
            (pos, {v: (float(w[hot]) if hot >= 0 else 0.0) for v, hot in lookup.items()})
            for pos, lookup in enc.category_plan
        ]
        self.weight_codes = {
            col: CategoryCodes(
                {k: (float(w[h]) if h >= 0 else 0.0) for k, h in codes.table.items()},
                float(w[codes.missing]) if codes.missing >= 0 else 0.0,
                float(w[codes.unknown]) if codes.unknown >= 0 else 0.0,
            )
            for col, codes in enc.codes.items()
        }
        self.w = w

    def decision_one(self, values: Values) -> float:
        z = self.intercept
        missing = []
        for pos, special, median, mean, scale, w in self.numeric:
            v = values[pos]
            gone = v != v or bool(special and v in special)
            missing.append(gone)
            z += (((median if gone else v) - mean) / scale) * w
        for j, off, on in self.indicator:
            z += on if missing[j] else off
        for pos, weights in self.categorical:
            z += weights[values[pos]]
        return z

    def decision(self, frame: Frame) -> np.ndarray:
        enc, c = self.enc, self.enc.cleaner
        z = np.full(frame.n, self.intercept)
        if c.numeric:
            num = c.numbers(frame)
            gone = np.isnan(num)
            for j in range(len(c.numeric)):
                x = (np.where(gone[:, j], enc.median[j], num[:, j]) - enc.mean[j]) / enc.scale[j]
                z += x * self.w[j]
            for j, off, on in self.indicator:
                z += np.where(gone[:, j], on, off)
        for col in c.categorical:
            z += c.encode_column(frame, col, self.weight_codes[col], np.float64)
        return z


def torch_array(tensor: Any) -> np.ndarray:
    """A torch tensor's values as a float64 NumPy array of our own (the one torch reader)."""
    out: np.ndarray = tensor.detach().cpu().double().numpy().copy()
    return out


class MLP(HoldsKernels):
    """``TorchMLPClassifier`` (eval mode): Linear, BatchNorm folded in, ReLU (numba)."""

    has_decision = False
    proba_float32 = False

    def __init__(self, model: Any, width: int) -> None:
        binary_classes(model)
        module = model.net_.module_
        require(not module.training, "the MLP module is in training mode")
        layers: list[tuple[np.ndarray, np.ndarray, bool]] = []  # (W, b, relu after)
        pending: tuple[np.ndarray, np.ndarray] | None = None
        for layer in module:
            kind = type(layer).__name__
            if kind == "Linear":
                require(pending is None, "two Linear layers in a row")
                W = torch_array(layer.weight)
                b = torch_array(layer.bias) if layer.bias is not None else np.zeros(W.shape[0])
                pending = (W, b)
            elif kind == "BatchNorm1d":
                require(pending is not None and layer.track_running_stats, "unexpected BatchNorm")
                assert pending is not None
                mean = torch_array(layer.running_mean)
                var = torch_array(layer.running_var)
                alpha = 1.0 / np.sqrt(var + layer.eps)
                beta = -mean * alpha
                if layer.affine:
                    gamma = torch_array(layer.weight)
                    alpha, beta = alpha * gamma, beta * gamma + torch_array(layer.bias)
                W, b = pending
                pending = (W * alpha[:, None], b * alpha + beta)
            elif kind == "ReLU":
                require(pending is not None, "ReLU without a Linear layer")
                assert pending is not None
                layers.append((pending[0].T.copy(), pending[1], True))
                pending = None
            elif kind == "Dropout":
                continue  # identity in eval mode
            else:
                raise NotCompilableError(f"MLP layer {kind} is not supported")
        require(
            pending is not None and pending[0].shape[0] == 1, "the MLP does not end in one logit"
        )
        assert pending is not None
        layers.append((pending[0].T.copy(), pending[1], False))
        require(layers[0][0].shape[0] == width, "MLP input width does not match the encoder")
        require(all(relu for _, _, relu in layers[:-1]), "MLP hidden layer without ReLU")
        self.k = kernels()
        self.weights = tuple(np.ascontiguousarray(W) for W, _, _ in layers)
        self.biases = tuple(np.ascontiguousarray(b) for _, b, _ in layers)

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        return self._logit(X)

    def _logit(self, X: np.ndarray) -> np.ndarray:
        out = np.empty(X.shape[0])
        self.k.mlp_logits(np.ascontiguousarray(X, dtype=np.float64), self.weights, self.biases, out)
        return out

    def decision_one(self, x: list[float]) -> float:
        raise NotImplementedError

    def decision(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def proba_one(self, x: list[float]) -> float:
        return expit_one(self._logit(np.asarray(x, dtype=np.float64).reshape(1, -1))[0])

    def proba(self, X: np.ndarray) -> np.ndarray:
        return expit(self._logit(X))


class Scorecard:
    """``WoEScorecard``: bin edges and each bin's contribution (coefficient x WoE).

    The contributions are read from the fitted model itself (its ``contributions`` on
    one probe value per bin), so optbinning's rules for missing values and unseen
    categories come with them.
    """

    has_decision = True
    proba_float32 = False

    def __init__(self, model: Any, cleaner: Cleaner) -> None:
        binary_classes(model)
        require(model.special_codes is None, "scorecard special codes are not supported")
        require(
            list(model.input_columns_) == [*cleaner.numeric, *cleaner.categorical],
            "scorecard columns differ",
        )
        bp = model.binning_process_
        self.cleaner = cleaner
        self.features = list(model.selected_features_)
        self.intercept = float(model.intercept_)
        cats = set(model.categorical_features_)
        probes: dict[str, list[Any]] = {}
        self.edges: dict[str, list[float]] = {}
        known_probes = category_probes(cleaner)
        for name in self.features:
            if name in cats:
                probes[name] = known_probes[name]
            else:
                splits = [
                    float(s)
                    for s in np.asarray(bp.get_binned_variable(name).splits, dtype=np.float64)
                ]
                require(
                    all(a < b for a, b in pairwise(splits)),
                    "bin edges not sorted",
                )
                self.edges[name] = splits
                first = splits[0] - 1.0 if splits else 0.0
                probes[name] = [first, *splits, math.nan]
        frame = cleaned_probe_frame(cleaner, list(model.input_columns_), probes)
        contrib = model.contributions(frame)
        require(list(contrib.columns) == self.features, "scorecard contribution columns differ")
        self.plan: list[tuple[int, Any, Any]] = []  # (schema position, edges | None, lookup)
        self.numeric: list[tuple[str, np.ndarray, float]] = []  # frame form
        self.codes: dict[str, CategoryCodes] = {}
        for name in self.features:
            got = [float(v) for v in contrib[name].to_numpy()[: len(probes[name])]]
            if name in cats:
                codes = codes_from_probe(probes[name], got)
                self.codes[name] = codes
                self.plan.append(
                    (cleaner.position[name], None, cleaner.category_lookup(name, codes))
                )
            else:
                bins, missing = got[:-1], got[-1]
                special = cleaner.special_numbers[name]
                self.plan.append(
                    (cleaner.position[name], (self.edges[name], bins, missing, special), None)
                )
                self.numeric.append((name, np.asarray(bins), missing))

    def contributions_one(self, values: Values) -> list[float]:
        out = []
        for pos, numeric, lookup in self.plan:
            v = values[pos]
            if numeric is None:
                out.append(lookup[v])
            else:
                edges, bins, missing, special = numeric
                if v != v or (special and v in special):
                    out.append(missing)
                else:
                    out.append(bins[bisect.bisect_right(edges, v)])
        return out

    def contributions(self, frame: Frame) -> np.ndarray:
        c = self.cleaner
        n = frame.n
        out = np.empty((n, len(self.features)))
        numbers = c.numbers(frame) if any(f in c.numeric for f in self.features) else None
        bins = {name: (b, m) for name, b, m in self.numeric}
        for j, name in enumerate(self.features):
            if name in bins:
                assert numbers is not None
                table, missing = bins[name]
                x = numbers[:, c.numeric.index(name)]
                idx = np.searchsorted(np.asarray(self.edges[name]), x, side="right")
                out[:, j] = np.where(np.isnan(x), missing, table[np.minimum(idx, len(table) - 1)])
            else:
                out[:, j] = c.encode_column(frame, name, self.codes[name], np.float64)
        return out

    def decision_from(self, contributions: list[float]) -> float:
        z = self.intercept
        for v in contributions:
            z += v
        return z

    def decision_many(self, C: np.ndarray) -> np.ndarray:
        z = np.full(C.shape[0], self.intercept)
        for j in range(C.shape[1]):
            z += C[:, j]
        return z


def tanh_sigmoid(z: Any) -> Any:
    # WoEScorecard's own logistic function (a tanh form), for the same last bit.
    return 0.5 * (1.0 + np.tanh(0.5 * z))
