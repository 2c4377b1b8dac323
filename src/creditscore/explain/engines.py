"""Contribution engines: per-applicant, per-feature contributions to a model's log-odds of bad.

A bundle's model is ``CalibratedClassifierCV(FrozenEstimator(pipeline))`` (or the bare
pipeline when calibration is off). Contributions are computed on the *uncalibrated*
pipeline's log-odds: calibration is monotone, so what raises the raw log-odds raises the
calibrated PD too, and only the raw model is additive.

Every engine returns, for ``n`` rows, a matrix ``C`` (rows x the bundle's features) and a base
value per row with ``C.sum(axis=1) + base == log-odds``:

===================  =======================================================  ============
model                method                                                   sum exact?
===================  =======================================================  ============
logistic             coef x (standardised value - training mean), summed      yes
                     over each feature's one-hot / indicator columns
WoE scorecard        coef x WoE per characteristic (optbinning's bins)        yes
LightGBM             native TreeSHAP, ``pred_contrib=True``                   yes
XGBoost              native TreeSHAP, ``pred_contribs=True``                  float32 (~1e-6)
CatBoost             ``shap.TreeExplainer``, interventional, against a        yes
                     typical applicant (baseline SHAP)
random forest        the same on the probability, mapped to log-odds          yes
                     (see :func:`to_log_odds`)
MLP, any other       permutation Shapley against a typical applicant          yes
blend (soft vote)    members' contributions mixed on the probability scale,   yes
                     mapped to log-odds
===================  =======================================================  ============

The pipelines' own ``transform`` costs several milliseconds per call (pandas and
ColumnTransformer overhead), far above the serving budget, so each pipeline is split into a
small *encoder* that reproduces its cleaning and preprocessing value by value from the
fitted transformers' parameters. An encoder checks itself against the real pipeline on probe
rows when it is built, so a preprocessing change that it does not reproduce fails loudly at
load time instead of explaining a different model.
"""

from __future__ import annotations

import math
import warnings
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from creditscore.data.schema import InputSchema
from creditscore.exceptions import ModelError
from creditscore.features.preprocess import canonical_key

#: PDs are clipped to [PD_EPS, 1 - PD_EPS] before taking log-odds (as the policy does).
PD_EPS = 1e-9
#: Batches up to this many rows run on one thread: for a single applicant, waking a
#: booster's thread pool costs more than the work, and on a loaded machine (the server's
#: other requests) it made LightGBM's contributions 6x slower (13 ms instead of 2 ms).
SMALL_BATCH = 64
#: Unseen category used to probe how a pipeline encodes unknown levels.
_UNSEEN = "\x00creditscore-unseen-level\x00"

Values = Iterable[Any]
Columns = Mapping[str, Values]


# ------------------------------------------------------------------------------ helpers
def logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), PD_EPS, 1.0 - PD_EPS)
    out: np.ndarray = np.log(q / (1.0 - q))
    return out


def sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))
    return out


def uncalibrated(model: Any) -> Any:
    """The fitted model inside a bundle's calibration wrapper (the model itself if none)."""
    if isinstance(model, CalibratedClassifierCV):
        inner = model.calibrated_classifiers_[0].estimator
        while isinstance(inner, FrozenEstimator):
            inner = inner.estimator
        return inner
    return model


def to_log_odds(psi: np.ndarray, p0: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Map contributions on the probability scale to the log-odds scale.

    ``psi`` sums to ``p - p0`` per row; each row is multiplied by ``(logit p - logit p0) /
    (p - p0)`` so that it sums to ``logit p - logit p0`` exactly and keeps every sign and
    proportion (the slope of the logit at ``p`` when ``p == p0``).
    """
    n = psi.shape[0]
    p0_arr = np.broadcast_to(np.asarray(p0, dtype=float), (n,))
    delta = psi.sum(axis=1)
    z0 = logit(p0_arr)
    p = np.clip(p0_arr + delta, PD_EPS, 1.0 - PD_EPS)
    z = logit(p)
    tiny = np.abs(delta) < 1e-12
    slope = 1.0 / (p * (1.0 - p))
    ratio = np.where(tiny, slope, (z - z0) / np.where(tiny, 1.0, delta))
    return psi * ratio[:, None], z0.copy()


def is_missing(v: Any) -> bool:
    """None, NaN or a pandas missing value (strings never are)."""
    if v is None:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    if isinstance(v, str):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


# ------------------------------------------------------------------------------ cleaning
class ValueCleaner:
    """:class:`~creditscore.features.preprocess.InputCleaner`'s rules, one value at a time.

    Numbers: ``float`` (non-numbers and configured special codes become NaN). Categories:
    ``str``, special codes and missing become None, other spellings of a training level
    (case, spaces) map to it.
    """

    def __init__(self, cleaner: Any) -> None:
        self.numeric = [str(c) for c in cleaner.numeric]
        self.categorical = [str(c) for c in cleaner.categorical]
        self.features = self.numeric + self.categorical
        self._spellings: dict[str, dict[str, str]] = dict(cleaner.spellings_)
        special: dict[str, list[Any]] = dict(cleaner.special_)
        self._num_special = {c: {float(v) for v in special.get(c, ())} for c in self.numeric}
        self._cat_special = {c: {str(v) for v in special.get(c, ())} for c in self.categorical}

    def number(self, column: str, value: Any) -> float:
        if is_missing(value) or isinstance(value, bool):
            return float(value) if isinstance(value, bool) else math.nan
        try:
            x = float(value)
        except (TypeError, ValueError):
            return math.nan
        return math.nan if x in self._num_special[column] else x

    def numbers(self, column: str, values: Values) -> np.ndarray:
        return np.array([self.number(column, v) for v in values], dtype=float)

    def category(self, column: str, value: Any) -> str | None:
        if is_missing(value):
            return None
        text = str(value)
        if text in self._cat_special[column]:
            return None
        return self._spellings[column].get(canonical_key(text), text)

    def categories(self, column: str, values: Values) -> list[str | None]:
        return [self.category(column, v) for v in values]


# ------------------------------------------------------------------------------ encoders
class Encoder:
    """Raw values -> the model's input matrix, column by column, without pandas.

    ``features`` are the original inputs in the pipeline's order; ``owner[j]`` is the
    position in ``features`` of the feature that matrix column ``j`` comes from.
    """

    features: list[str]
    owner: np.ndarray
    width: int

    def encode(self, cols: Columns, n: int) -> np.ndarray:
        raise NotImplementedError

    def reference(self, frame: pd.DataFrame) -> np.ndarray:
        """What the real pipeline produces for ``frame`` (for the self-check)."""
        raise NotImplementedError

    def check(self, frame: pd.DataFrame) -> None:
        cols = {f: frame[f].to_numpy(dtype=object) for f in self.features}
        mine = self.encode(cols, len(frame))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = np.asarray(self.reference(frame), dtype=float)
        if mine.shape != theirs.shape or not np.allclose(
            mine, theirs, rtol=1e-12, atol=1e-12, equal_nan=True
        ):
            raise ModelError(
                f"{type(self).__name__} does not reproduce the model's preprocessing "
                f"(shapes {mine.shape} vs {theirs.shape}); the explainer needs updating "
                "for this pipeline"
            )


class TreeEncoder(Encoder):
    """The ``ordinal`` family: numbers as they are, categories as ordinal codes (unknown: NaN)."""

    def __init__(self, cleaner: Any, prep: Any) -> None:
        self.clean = ValueCleaner(cleaner)
        self._cleaner, self._prep = cleaner, prep
        blocks = {name: cols for name, _, cols in prep.transformers_ if name != "remainder"}
        self.numeric = [str(c) for c in blocks.get("num", [])]
        self.categorical = [str(c) for c in blocks.get("cat", [])]
        self.features = self.numeric + self.categorical
        self.width = len(self.features)
        self.owner = np.arange(self.width)
        self.codes: dict[str, dict[str, float]] = {}
        if self.categorical:
            enc = prep.named_transformers_["cat"]
            for col, cats in zip(self.categorical, enc.categories_, strict=True):
                self.codes[col] = {
                    str(c): float(i) for i, c in enumerate(cats) if not is_missing(c)
                }

    def encode(self, cols: Columns, n: int) -> np.ndarray:
        Z = np.empty((n, self.width), dtype=float)
        for j, col in enumerate(self.numeric):
            Z[:, j] = self.clean.numbers(col, cols[col])
        nan = math.nan
        for j, col in enumerate(self.categorical, start=len(self.numeric)):
            codes = self.codes[col]
            Z[:, j] = [
                nan if level is None else codes.get(level, nan)
                for level in self.clean.categories(col, cols[col])
            ]
        return Z

    def reference(self, frame: pd.DataFrame) -> np.ndarray:
        out: np.ndarray = self._prep.transform(self._cleaner.transform(frame))
        return out


class LinearEncoder(Encoder):
    """The ``onehot`` family: median imputation + missing indicators + standardisation for
    numbers, one-hot for categories (rare and unseen levels as sklearn encodes them)."""

    def __init__(self, cleaner: Any, prep: Any) -> None:
        self.clean = ValueCleaner(cleaner)
        self._cleaner, self._prep = cleaner, prep
        self.float32 = isinstance(prep, Pipeline)
        ct = prep.named_steps["ct"] if self.float32 else prep
        blocks = {name: cols for name, _, cols in ct.transformers_ if name != "remainder"}
        self.numeric = [str(c) for c in blocks.get("num", [])]
        self.categorical = [str(c) for c in blocks.get("cat", [])]
        self.features = self.numeric + self.categorical
        pos = {f: i for i, f in enumerate(self.features)}
        owner: list[int] = []
        n_num = len(self.numeric)
        if n_num:
            num = ct.named_transformers_["num"]
            imputer, scaler = num.named_steps["impute"], num.named_steps["scale"]
            self._median = np.asarray(imputer.statistics_, dtype=float)
            indicator = getattr(imputer, "indicator_", None)
            self._indicated = [int(i) for i in indicator.features_] if indicator is not None else []
            self._mean = np.asarray(scaler.mean_, dtype=float)
            self._scale = np.asarray(scaler.scale_, dtype=float)
            owner += list(range(n_num)) + self._indicated
        self._num_start = ct.output_indices_["num"].start if n_num else 0
        self._tables: dict[str, tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]] = {}
        self._cat_slices: dict[str, slice] = {}
        if self.categorical:
            cat_pipe = ct.named_transformers_["cat"]
            start = ct.output_indices_["cat"].start
            self._build_tables(cat_pipe, start)
            for col in self.categorical:
                sl = self._cat_slices[col]
                owner += [pos[col]] * (sl.stop - sl.start)
        self.owner = np.asarray(owner, dtype=int)
        self.width = len(owner)

    def _build_tables(self, cat_pipe: Any, start: int) -> None:
        onehot = cat_pipe.named_steps["onehot"]
        names = onehot.get_feature_names_out([f"f{i}" for i in range(len(self.categorical))])
        widths = [0] * len(self.categorical)
        for name in names:
            widths[int(str(name).split("_", 1)[0][1:])] += 1
        levels = [[str(c) for c in cats] for cats in onehot.categories_]
        n_rows = max(len(lv) for lv in levels) + 2
        frame = {}
        for i, col in enumerate(self.categorical):
            # NaN, not None: what InputCleaner hands the imputer for a missing category
            values: list[Any] = [*levels[i], math.nan, _UNSEEN]
            values += [levels[i][0]] * (n_rows - len(values))
            frame[col] = pd.Series(values, dtype=object)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            M = np.asarray(cat_pipe.transform(pd.DataFrame(frame)), dtype=float)
        offset = 0
        for i, col in enumerate(self.categorical):
            block = M[:, offset : offset + widths[i]]
            k = len(levels[i])
            table = {lv: block[r].copy() for r, lv in enumerate(levels[i])}
            self._tables[col] = (table, block[k].copy(), block[k + 1].copy())
            self._cat_slices[col] = slice(start + offset, start + offset + widths[i])
            offset += widths[i]

    def level_vector(self, col: str, level: str | None) -> np.ndarray:
        table, missing, unseen = self._tables[col]
        if level is None:
            return missing
        return table.get(level, unseen)

    def encode(self, cols: Columns, n: int) -> np.ndarray:
        Z = np.empty((n, self.width), dtype=float)
        n_num = len(self.numeric)
        for j, col in enumerate(self.numeric):
            x = self.clean.numbers(col, cols[col])
            Z[:, self._num_start + j] = (
                np.where(np.isnan(x), self._median[j], x) - self._mean[j]
            ) / (self._scale[j])
        for k, j in enumerate(self._indicated):
            x = self.clean.numbers(self.numeric[j], cols[self.numeric[j]])
            c = self._num_start + n_num + k
            Z[:, c] = (np.isnan(x).astype(float) - self._mean[n_num + k]) / self._scale[n_num + k]
        for col in self.categorical:
            levels = self.clean.categories(col, cols[col])
            Z[:, self._cat_slices[col]] = [self.level_vector(col, lv) for lv in levels]
        if self.float32:
            Z = Z.astype(np.float32).astype(float)
        return Z

    def reference(self, frame: pd.DataFrame) -> np.ndarray:
        out: np.ndarray = self._prep.transform(self._cleaner.transform(frame))
        return out


class ScorecardEncoder(Encoder):
    """The WoE scorecard: each characteristic's contribution ``coef x WoE`` to the log-odds."""

    def __init__(self, cleaner: Any, scorecard: Any, levels: Mapping[str, Sequence[str]]) -> None:
        self.clean = ValueCleaner(cleaner)
        self._cleaner, self._card = cleaner, scorecard
        self.features = [str(f) for f in scorecard.selected_features_]
        self.width = len(self.features)
        self.owner = np.arange(self.width)
        self.coef = np.asarray(scorecard.coef_, dtype=float)
        self.intercept = float(scorecard.intercept_)
        table = scorecard.points_table_
        cats = set(scorecard.categorical_features_)
        self._splits: dict[str, np.ndarray] = {}
        self._woe: dict[str, np.ndarray] = {}
        self._cat_woe: dict[str, dict[str, float]] = {}
        special = scorecard.special_codes
        if isinstance(special, Mapping):
            special = [v for codes in special.values() for v in codes]
        self._special = {float(v) for v in (special or []) if isinstance(v, int | float)}
        probe_levels: dict[str, list[str]] = {}
        for f in self.features:
            part = table[table["variable"] == f].sort_values("bin_id")
            self._woe[f] = part["woe"].to_numpy(dtype=float)
            binned = scorecard.binning_process_.get_binned_variable(f)
            if f in cats:
                seen = {str(c) for split in binned.splits for c in split}
                seen |= {str(c) for c in levels.get(f, ())}
                probe_levels[f] = sorted(seen)
            else:
                self._splits[f] = np.asarray(binned.splits, dtype=float)
        if probe_levels:
            self._probe_categories(probe_levels)

    def _probe_categories(self, probe_levels: dict[str, list[str]]) -> None:
        n_rows = max(len(v) for v in probe_levels.values())
        frame: dict[str, Any] = {}
        for col in self._card.input_columns_:
            if col in probe_levels:
                lv = probe_levels[col]
                frame[col] = pd.Series(lv + [lv[0]] * (n_rows - len(lv)), dtype=object)
            elif col in self._card.categorical_features_:
                frame[col] = pd.Series([None] * n_rows, dtype=object)
            else:
                frame[col] = np.zeros(n_rows)
        woe = self._card.woe(pd.DataFrame(frame))
        for col, lv in probe_levels.items():
            values = woe[col].to_numpy(dtype=float)
            self._cat_woe[col] = {level: float(values[i]) for i, level in enumerate(lv)}

    def woe(self, col: str, values: Values) -> np.ndarray:
        if col in self._cat_woe:
            table = self._cat_woe[col]
            return np.array(
                [
                    0.0 if lv is None else table.get(lv, 0.0)
                    for lv in self.clean.categories(col, values)
                ],
                dtype=float,
            )
        x = self.clean.numbers(col, values)
        woe = self._woe[col]
        neutral = np.isnan(x)
        if self._special:
            neutral |= np.isin(x, list(self._special))
        idx = np.digitize(np.where(neutral, 0.0, x), self._splits[col], right=False)
        return np.where(neutral, 0.0, woe[idx])

    def encode(self, cols: Columns, n: int) -> np.ndarray:
        Z = np.empty((n, self.width), dtype=float)
        for j, col in enumerate(self.features):
            Z[:, j] = self.woe(col, cols[col]) * self.coef[j]
        return Z

    def reference(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self._card.contributions(self._cleaner.transform(frame)), dtype=float)


# ------------------------------------------------------------------------------ models
@dataclass
class EncodedModel:
    """A fitted pipeline as (encoder, final estimator): raw values -> matrix -> PD."""

    encoder: Encoder
    estimator: Any
    kind: str  # linear | tree | scorecard

    def proba(self, Z: np.ndarray) -> np.ndarray:
        if self.kind == "scorecard":
            return sigmoid(self._card_log_odds(Z))
        module = getattr(getattr(self.estimator, "net_", None), "module_", None)
        if module is not None:
            return self._torch_proba(module, Z)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(self.estimator.predict_proba(Z)[:, 1], dtype=float)

    @staticmethod
    def _torch_proba(module: Any, Z: np.ndarray) -> np.ndarray:
        """The MLP's forward pass on the whole matrix at once, in numpy when the network is
        the plain Linear / BatchNorm1d / ReLU / Dropout stack of ``models.mlp`` (skorch's
        ``predict_proba`` walks a DataLoader batch by batch, and torch's thread pool made a
        few hundred rows cost ~25 ms on a loaded two-core machine), else through torch."""
        layers = _numpy_layers(module)
        if layers is not None:
            x = np.asarray(Z, dtype=np.float64)
            for kind, a, b in layers:
                if kind == "affine":
                    x = x @ a + b
                elif kind == "scale":
                    x = x * a + b
                else:
                    x = np.maximum(x, 0.0)
            return sigmoid(x.reshape(-1))
        import torch

        dtype = next(module.parameters()).dtype
        t = torch.from_numpy(np.ascontiguousarray(Z, dtype=np.float64)).to(dtype)
        with torch.no_grad():
            if module.training:
                module.eval()
            z = module(t).numpy().reshape(-1)
        return sigmoid(z)

    def _card_log_odds(self, Z: np.ndarray) -> np.ndarray:
        # column by column from the intercept, as WoEScorecard.decision_function does
        out = np.full(Z.shape[0], float(self.estimator.intercept_))
        for j in range(Z.shape[1]):
            out += Z[:, j]
        return out

    def log_odds(self, Z: np.ndarray) -> np.ndarray:
        if self.kind == "scorecard":
            return self._card_log_odds(Z)
        return logit(self.proba(Z))


_LAYERS: weakref.WeakKeyDictionary[Any, list[tuple[str, Any, Any]] | None] = (
    weakref.WeakKeyDictionary()
)


def _numpy_layers(module: Any) -> list[tuple[str, Any, Any]] | None:
    """``module`` as numpy (kind, a, b) steps, or None if it holds anything else. Cached per
    module (read-only arrays)."""
    if module in _LAYERS:
        return _LAYERS[module]
    steps: list[tuple[str, Any, Any]] | None = []
    for layer in module.children():
        name = type(layer).__name__
        assert steps is not None
        if name == "Linear":
            w = layer.weight.detach().cpu().double().numpy().T.copy()
            b = (
                layer.bias.detach().cpu().double().numpy().copy()
                if layer.bias is not None
                else np.zeros(w.shape[1])
            )
            steps.append(("affine", w, b))
        elif name == "BatchNorm1d" and layer.track_running_stats and layer.affine:
            mean = layer.running_mean.detach().cpu().double().numpy()
            var = layer.running_var.detach().cpu().double().numpy()
            gamma = layer.weight.detach().cpu().double().numpy()
            beta = layer.bias.detach().cpu().double().numpy()
            scale = gamma / np.sqrt(var + layer.eps)
            steps.append(("scale", scale, beta - mean * scale))
        elif name == "ReLU":
            steps.append(("relu", None, None))
        elif name == "Dropout":
            continue
        else:
            steps = None
            break
    _LAYERS[module] = steps
    return steps


def probe_frame(schema: InputSchema) -> pd.DataFrame:
    """Rows that exercise every level, missing values, unseen levels and the numeric range."""
    numeric = [f for f in schema.fields if f.kind == "numeric"]
    categorical = [f for f in schema.fields if f.kind == "categorical"]
    n = max([len(f.categories or []) for f in categorical] + [1]) + 4
    data: dict[str, Any] = {}
    for f in numeric:
        lo = f.minimum if f.minimum is not None else 0.0
        hi = f.maximum if f.maximum is not None else 1.0
        values = [*np.linspace(lo, hi, n - 1), math.nan]
        data[f.name] = np.asarray(values, dtype=float)
    for f in categorical:
        cats = list(f.categories or ["x"])
        values = [*cats, None, _UNSEEN, cats[0].upper() + " "]
        values += [cats[i % len(cats)] for i in range(n - len(values))]
        data[f.name] = pd.Series(values[:n], dtype=object)
    return pd.DataFrame(data)[schema.names]


def encode_pipeline(pipe: Any, schema: InputSchema) -> EncodedModel:
    """Split a fitted ``clean -> prep -> model`` pipeline into a checked encoder + model."""
    if not isinstance(pipe, Pipeline) or len(pipe.steps) != 3:
        raise ModelError(
            f"cannot explain {type(pipe).__name__}: expected a clean/prep/model pipeline"
        )
    cleaner, prep, final = (step for _, step in pipe.steps)
    encoder: Encoder
    if prep == "passthrough" or prep is None:
        if not hasattr(final, "selected_features_"):
            raise ModelError(f"cannot explain {type(final).__name__} on raw inputs")
        levels = {f.name: list(f.categories or []) for f in schema.fields}
        encoder, kind = ScorecardEncoder(cleaner, final, levels), "scorecard"
    else:
        ct = prep.named_steps["ct"] if isinstance(prep, Pipeline) else prep
        cat = ct.named_transformers_.get("cat") if hasattr(ct, "named_transformers_") else None
        if isinstance(cat, Pipeline) and "onehot" in cat.named_steps:
            encoder, kind = LinearEncoder(cleaner, prep), "linear"
        elif cat is None or type(cat).__name__ == "OrdinalEncoder":
            if isinstance(cat, Pipeline) or isinstance(prep, Pipeline):
                raise ModelError("unrecognised tree preprocessing")
            encoder, kind = TreeEncoder(cleaner, prep), "tree"
        else:
            raise ModelError(f"cannot explain preprocessing {type(prep).__name__}")
    encoder.check(probe_frame(schema))
    return EncodedModel(encoder, final, kind)


# ------------------------------------------------------------------------------ engines
class Engine:
    """Contributions over ``features`` (the bundle's inputs, in schema order)."""

    method = "abstract"
    #: True when contributions sum to the log-odds by construction of the method.
    additive = True

    def __init__(self, features: Sequence[str]) -> None:
        self.features = list(features)

    def proba(self, cols: Columns, n: int) -> np.ndarray:
        raise NotImplementedError

    def log_odds(self, cols: Columns, n: int) -> np.ndarray:
        return logit(self.proba(cols, n))

    def contributions(self, cols: Columns, n: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _spread(self, model: EncodedModel, C_enc: np.ndarray) -> np.ndarray:
        """Contributions in the encoder's order -> the bundle's order. Given per encoded
        column (a tree on one-hot columns), each feature gets the sum of its columns, which
        keeps the total: Shapley values are additive over a feature's columns."""
        enc = model.encoder
        index = getattr(model, "_positions", None)
        if index is None:
            pos = {f: i for i, f in enumerate(self.features)}
            index = np.asarray([pos[f] for f in enc.features], dtype=int)
            model._positions = index  # type: ignore[attr-defined]
        if C_enc.shape[1] != len(enc.features):  # per encoded column: sum by owner
            summing = getattr(model, "_summing", None)
            if summing is None:
                summing = np.zeros((enc.width, len(self.features)))
                summing[np.arange(enc.width), index[enc.owner]] = 1.0
                model._summing = summing  # type: ignore[attr-defined]
            return np.asarray(C_enc @ summing)
        out = np.zeros((C_enc.shape[0], len(self.features)))
        out[:, index] = C_enc
        return out


class SingleModelEngine(Engine):
    def __init__(self, features: Sequence[str], model: EncodedModel) -> None:
        super().__init__(features)
        self.model = model

    def proba(self, cols: Columns, n: int) -> np.ndarray:
        return self.model.proba(self.model.encoder.encode(cols, n))


class LinearEngine(SingleModelEngine):
    """Logistic regression: exact, ``coef x (z - E z)`` summed per original feature.

    Centred on the training means (standardised columns have mean 0; one-hot columns the
    level shares from the bundle's Profile), so a contribution says how this applicant's value
    moves the log-odds compared with the average applicant, not with an arbitrary level.
    """

    method = "linear"

    def __init__(
        self,
        features: Sequence[str],
        model: EncodedModel,
        level_shares: Mapping[str, Mapping[Any, float]],
    ) -> None:
        super().__init__(features, model)
        enc = model.encoder
        assert isinstance(enc, LinearEncoder)
        est = model.estimator
        coef = np.asarray(est.coef_, dtype=float).ravel()
        self._coef = coef
        base = float(np.asarray(est.intercept_, dtype=float).ravel()[0])
        n_num = len(enc.numeric)
        start = enc._num_start
        # numbers: coef * z for the value column plus the indicator column (both mean 0)
        self._num_terms: list[tuple[int, float, int | None, float]] = []
        for j in range(n_num):
            k = enc._indicated.index(j) if j in enc._indicated else None
            ind_col = start + n_num + k if k is not None else None
            self._num_terms.append(
                (
                    start + j,
                    float(coef[start + j]),
                    ind_col,
                    float(coef[ind_col]) if ind_col is not None else 0.0,
                )
            )
        # categories: one scalar per level, centred on the training shares
        self._cat_tables: dict[str, tuple[dict[str, float], float, float]] = {}
        for col in enc.categorical:
            sl = enc._cat_slices[col]
            w = coef[sl]
            table, missing, unseen = enc._tables[col]
            raw = {lv: float(np.dot(w, vec)) for lv, vec in table.items()}
            raw_missing, raw_unseen = float(np.dot(w, missing)), float(np.dot(w, unseen))
            shares = level_shares.get(col)
            mean = 0.0
            if shares:
                for level, share in shares.items():
                    if level is None:
                        mean += share * raw_missing
                    else:
                        cleaned = enc.clean.category(col, level)
                        mean += share * (
                            raw_missing if cleaned is None else raw.get(cleaned, raw_unseen)
                        )
            base += mean
            self._cat_tables[col] = (
                {lv: v - mean for lv, v in raw.items()},
                raw_missing - mean,
                raw_unseen - mean,
            )
        self.base = base

    def log_odds(self, cols: Columns, n: int) -> np.ndarray:
        Z = self.model.encoder.encode(cols, n)
        return np.asarray(self.model.estimator.decision_function(Z), dtype=float)

    def contributions(self, cols: Columns, n: int) -> tuple[np.ndarray, np.ndarray]:
        enc = self.model.encoder
        assert isinstance(enc, LinearEncoder)
        C = np.zeros((n, len(enc.features)))
        for j, col in enumerate(enc.numeric):
            x = enc.clean.numbers(col, cols[col])
            isnan = np.isnan(x)
            z = (np.where(isnan, enc._median[j], x) - enc._mean[j]) / enc._scale[j]
            _, c, ind_col, c_ind = self._num_terms[j]
            C[:, j] = c * z
            if ind_col is not None:
                k = ind_col - enc._num_start - len(enc.numeric)
                m, s = enc._mean[len(enc.numeric) + k], enc._scale[len(enc.numeric) + k]
                C[:, j] += c_ind * ((isnan.astype(float) - m) / s)
        for j, col in enumerate(enc.categorical, start=len(enc.numeric)):
            table, missing, unseen = self._cat_tables[col]
            C[:, j] = [
                missing if lv is None else table.get(lv, unseen)
                for lv in enc.clean.categories(col, cols[col])
            ]
        return self._spread(self.model, C), np.full(n, self.base)


class ScorecardEngine(SingleModelEngine):
    """WoE scorecard: exact, ``coef x WoE`` per characteristic (WoE 0 = population odds)."""

    method = "scorecard"

    def log_odds(self, cols: Columns, n: int) -> np.ndarray:
        return self.model.log_odds(self.model.encoder.encode(cols, n))

    def contributions(self, cols: Columns, n: int) -> tuple[np.ndarray, np.ndarray]:
        Z = self.model.encoder.encode(cols, n)
        return self._spread(self.model, Z), np.full(n, float(self.model.estimator.intercept_))


class LightGBMEngine(SingleModelEngine):
    method = "lightgbm"

    def log_odds(self, cols: Columns, n: int) -> np.ndarray:
        Z = self.model.encoder.encode(cols, n)
        return np.asarray(self.model.estimator.booster_.predict(Z, raw_score=True), dtype=float)

    def contributions(self, cols: Columns, n: int) -> tuple[np.ndarray, np.ndarray]:
        Z = self.model.encoder.encode(cols, n)
        threads: dict[str, Any] = {"num_threads": 1} if n <= SMALL_BATCH else {}
        booster = self.model.estimator.booster_
        out = np.asarray(booster.predict(Z, pred_contrib=True, **threads), dtype=float)
        return self._spread(self.model, out[:, :-1]), out[:, -1].copy()


class XGBoostEngine(SingleModelEngine):
    """XGBoost computes in float32: contributions sum to the margin within ~1e-6."""

    method = "xgboost"

    def __init__(self, features: Sequence[str], model: EncodedModel) -> None:
        super().__init__(features, model)
        self._booster = model.estimator.get_booster()
        # a private single-threaded copy for small batches (the model itself is not touched)
        self._booster_1 = self._booster.copy()
        self._booster_1.set_param({"nthread": 1})

    def _predict(self, cols: Columns, n: int, **kwargs: Any) -> np.ndarray:
        import xgboost

        small = n <= SMALL_BATCH
        Z = self.model.encoder.encode(cols, n)
        dm = xgboost.DMatrix(Z, missing=np.nan, nthread=1 if small else -1)
        booster = self._booster_1 if small else self._booster
        return np.asarray(booster.predict(dm, **kwargs), dtype=float)

    def log_odds(self, cols: Columns, n: int) -> np.ndarray:
        return self._predict(cols, n, output_margin=True)

    def contributions(self, cols: Columns, n: int) -> tuple[np.ndarray, np.ndarray]:
        out = self._predict(cols, n, pred_contribs=True)
        return self._spread(self.model, out[:, :-1]), out[:, -1].copy()


class TreeShapEngine(SingleModelEngine):
    """Random forest and CatBoost: ``shap.TreeExplainer`` in its interventional form with one
    background row, the typical applicant: exact Shapley values of ``f(x_S, ref_rest)``
    (baseline SHAP), the same game the permutation engine estimates for the MLP.

    Chosen over the path-dependent form for speed: for one applicant it cost 0.3 ms instead
    of 2-10 ms (CatBoost) and 1.7 ms instead of 7.7 ms (random forest, 300 trees) on a loaded
    two-core machine. A forest's output is a probability: its contributions are mapped to
    log-odds by :func:`to_log_odds`; CatBoost's raw output is already the log-odds.
    """

    method = "tree_shap"

    def __init__(
        self, features: Sequence[str], model: EncodedModel, reference: Mapping[str, Any]
    ) -> None:
        super().__init__(features, model)
        with warnings.catch_warnings():  # shap's import warns about matplotlib
            warnings.simplefilter("ignore")
            import shap

        from creditscore.explain import forest_shap

        enc = model.encoder
        ref = enc.encode({f: [reference.get(f)] for f in enc.features}, 1)
        self._probability_scale = type(model.estimator).__name__ != "CatBoostClassifier"
        self._forest: forest_shap.ForestArrays | None = None
        if forest_shap.supported(model.estimator):
            # the same game, computed by our numba kernel (about 20x faster)
            self._forest = forest_shap.ForestArrays(model.estimator)
            self._ref = ref
            self._base = float(model.proba(ref)[0])
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._explainer = shap.TreeExplainer(
                model.estimator, data=ref, feature_perturbation="interventional", model_output="raw"
            )
        expected = np.atleast_1d(np.asarray(self._explainer.expected_value, dtype=float))
        self._base = float(expected[-1])

    def log_odds(self, cols: Columns, n: int) -> np.ndarray:
        Z = self.model.encoder.encode(cols, n)
        if self._probability_scale:
            return logit(self.model.proba(Z))
        raw = self.model.estimator.predict(Z, prediction_type="RawFormulaVal")
        return np.asarray(raw, dtype=float)

    def contributions(self, cols: Columns, n: int) -> tuple[np.ndarray, np.ndarray]:
        Z = self.model.encoder.encode(cols, n)
        if self._forest is not None:
            psi = self._forest.shapley(Z, self._ref)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values = self._explainer.shap_values(Z, check_additivity=False)
            values = np.asarray(values, dtype=float)
            psi = values[..., -1] if values.ndim == 3 else values
        if self._probability_scale:
            phi, base = to_log_odds(psi, self._base)
        else:
            phi, base = psi, np.full(n, self._base)
        return self._spread(self.model, phi), base


class PermutationEngine(Engine):
    """Model-agnostic: antithetic permutation Shapley values of ``logit f`` against a typical
    applicant (``reference``), with one fixed, seeded set of permutations for every row.

    Each permutation's marginal contributions telescope to ``logit f(x) - logit f(ref)``, so
    rows sum exactly whatever the number of permutations; for an additive model every
    permutation gives the same, exact answer. Written here rather than calling
    ``shap.PermutationExplainer`` because that one reseeds numpy's global random state and
    draws new permutations row after row, so a row's explanation depended on its position
    in the batch (and on other threads).
    """

    method = "permutation"

    def __init__(
        self,
        features: Sequence[str],
        members: Sequence[tuple[EncodedModel, float]],
        reference: Mapping[str, Any],
        n_permutations: int = 10,
        seed: int = 0,
        max_rows_per_call: int = 40_000,
    ) -> None:
        super().__init__(features)
        self.members = [(m, float(w)) for m, w in members]
        pos = {f: i for i, f in enumerate(self.features)}
        used = sorted({pos[f] for m, _ in self.members for f in m.encoder.features})
        self._active = np.asarray(used, dtype=int)
        self._owners = [
            np.asarray([pos[m.encoder.features[o]] for o in m.encoder.owner], dtype=int)
            for m, _ in self.members
        ]
        ref_cols = {f: [reference.get(f)] for f in self.features}
        self._refs = [m.encoder.encode(ref_cols, 1) for m, _ in self.members]
        self._max_rows = max_rows_per_call
        a = len(self._active)
        rng = np.random.default_rng(seed)
        perms = [rng.permutation(a) for _ in range(max(1, n_permutations))]
        self._orders = np.asarray(perms + [p[::-1] for p in perms], dtype=int)
        # coalition masks over the bundle's features: empty, full, then each prefix
        masks = [np.zeros(len(self.features), bool), np.zeros(len(self.features), bool)]
        masks[1][self._active] = True
        index = np.empty((len(self._orders), a + 1), dtype=int)
        for s, order in enumerate(self._orders):
            index[s, 0], index[s, a] = 0, 1
            current = np.zeros(len(self.features), bool)
            for k in range(1, a):
                current[self._active[order[k - 1]]] = True
                index[s, k] = len(masks)
                masks.append(current.copy())
        self._masks = np.asarray(masks)
        self._index = index
        self.base = float(self._value(self._masks[:1], [r for r in self._refs])[0, 0])

    def proba(self, cols: Columns, n: int) -> np.ndarray:
        p = np.zeros(n)
        for m, w in self.members:
            p += w * m.proba(m.encoder.encode(cols, n))
        return p

    def _value(self, masks: np.ndarray, encoded: Sequence[np.ndarray]) -> np.ndarray:
        """``logit f`` of every (row, coalition): rows x masks."""
        n, M = encoded[0].shape[0], masks.shape[0]
        p = np.zeros(n * M)
        for (model, w), x, ref, owner in zip(
            self.members, encoded, self._refs, self._owners, strict=True
        ):
            colmask = masks[:, owner]  # M x width
            Z = np.where(colmask[None, :, :], x[:, None, :], ref[None, :, :]).reshape(n * M, -1)
            p += w * model.proba(Z)
        return logit(p).reshape(n, M)

    def contributions(self, cols: Columns, n: int) -> tuple[np.ndarray, np.ndarray]:
        encoded = [m.encoder.encode(cols, n) for m, _ in self.members]
        C = np.zeros((n, len(self.features)))
        step = max(1, self._max_rows // len(self._masks))
        a = len(self._active)
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            v = self._value(self._masks, [x[lo:hi] for x in encoded])
            diffs = v[:, self._index[:, 1:]] - v[:, self._index[:, :-1]]  # rows x S x a
            phi = np.zeros((hi - lo, a))
            for s, order in enumerate(self._orders):
                phi[:, order] += diffs[:, s, :]
            C[lo:hi, self._active] = phi / len(self._orders)
        return C, np.full(n, self.base)


class BlendEngine(Engine):
    """Soft-vote blend: each member's exact contributions, moved to the probability scale,
    averaged with the voting weights and mapped back to the blend's log-odds
    (:func:`to_log_odds`). Sums exactly; cheap (the members' own engines)."""

    method = "blend"

    def __init__(self, features: Sequence[str], members: Sequence[tuple[Engine, float]]) -> None:
        super().__init__(features)
        self.members = [(e, float(w)) for e, w in members]

    def proba(self, cols: Columns, n: int) -> np.ndarray:
        p = np.zeros(n)
        for e, w in self.members:
            p += w * e.proba(cols, n)
        return p

    def contributions(self, cols: Columns, n: int) -> tuple[np.ndarray, np.ndarray]:
        psi = np.zeros((n, len(self.features)))
        p0 = np.zeros(n)
        for engine, w in self.members:
            C, b = engine.contributions(cols, n)
            z = C.sum(axis=1) + b
            p, pb = sigmoid(z), sigmoid(b)
            dz = z - b
            tiny = np.abs(dz) < 1e-12
            ratio = np.where(tiny, p * (1.0 - p), (p - pb) / np.where(tiny, 1.0, dz))
            psi += w * C * ratio[:, None]
            p0 += w * pb
        return to_log_odds(psi, p0)


# ------------------------------------------------------------------------------ factory
METHODS = ("auto", "permutation")


def _voting_members(model: Any) -> list[tuple[Any, float]]:
    estimators = list(model.estimators_)
    weights = model.weights if model.weights is not None else [1.0] * len(estimators)
    kept = [(e, float(w)) for e, w in zip(estimators, weights, strict=True) if w is not None]
    total = sum(w for _, w in kept)
    return [(e, w / total) for e, w in kept]


def _single_engine(
    features: Sequence[str],
    pipe: Any,
    schema: InputSchema,
    reference: Mapping[str, Any],
    level_shares: Mapping[str, Mapping[Any, float]],
    n_permutations: int,
    seed: int,
) -> Engine:
    model = encode_pipeline(pipe, schema)
    est = model.estimator
    name = type(est).__name__
    if model.kind == "scorecard":
        return ScorecardEngine(features, model)
    if model.kind == "linear" and hasattr(est, "coef_") and hasattr(est, "decision_function"):
        return LinearEngine(features, model, level_shares)
    if name == "LGBMClassifier":
        return LightGBMEngine(features, model)
    if name == "XGBClassifier":
        return XGBoostEngine(features, model)
    if name in (
        "CatBoostClassifier",
        "RandomForestClassifier",
        "ExtraTreesClassifier",
        "DecisionTreeClassifier",
    ):
        return TreeShapEngine(features, model, reference)
    return PermutationEngine(features, [(model, 1.0)], reference, n_permutations, seed)


def build_engine(
    model: Any,
    features: Sequence[str],
    schema: InputSchema,
    reference: Mapping[str, Any],
    level_shares: Mapping[str, Mapping[Any, float]],
    *,
    method: str = "auto",
    n_permutations: int = 10,
    seed: int = 0,
) -> Engine:
    """The engine for a bundle's (calibrated) model; ``method="permutation"`` forces the
    model-agnostic one."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    inner = uncalibrated(model)
    is_blend = type(inner).__name__ == "VotingClassifier"
    if is_blend and getattr(inner, "voting", "soft") != "soft":
        raise ModelError("only soft-voting blends can be explained")
    if method == "permutation":
        pipes = _voting_members(inner) if is_blend else [(inner, 1.0)]
        members = [(encode_pipeline(p, schema), w) for p, w in pipes]
        return PermutationEngine(features, members, reference, n_permutations, seed)
    if is_blend:
        engines = [
            (_single_engine(features, p, schema, reference, level_shares, n_permutations, seed), w)
            for p, w in _voting_members(inner)
        ]
        return BlendEngine(features, engines)
    return _single_engine(features, inner, schema, reference, level_shares, n_permutations, seed)


def columns_of(frame: pd.DataFrame, features: Sequence[str]) -> dict[str, np.ndarray]:
    return {f: frame[f].to_numpy(dtype=object) for f in features}


def columns_of_row(row: Mapping[str, Any], features: Sequence[str]) -> dict[str, list[Any]]:
    return {f: [row.get(f)] for f in features}
