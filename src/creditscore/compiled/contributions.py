"""Contributions: per-feature shares of the uncalibrated model's log-odds of bad.

A bundle's model is ``CalibratedClassifierCV(FrozenEstimator(model))`` (or the bare model
when calibration is off); contributions explain the *uncalibrated* model: calibration is
monotone, so what raises the raw log-odds raises the calibrated PD too, and only the raw
model is additive. For ``n`` rows they are a matrix ``C`` (rows x :attr:`Contributions.features`)
and a base value per row with ``C.sum(axis=1) + base == log-odds`` (up to float rounding),
computed on the compiled model (:mod:`creditscore.compiled`), so they explain exactly the
numbers the Scorer returns:

===================  ==========================================================  =========
model                method                                                      base
===================  ==========================================================  =========
logistic             exact: coefficient x encoded value, summed over a           intercept
                     feature's columns; a category centred on its training       + means
                     share-weighted mean (numbers are standardised: mean 0)
WoE scorecard        exact: coefficient x WoE of each characteristic             intercept
random forest,       baseline (interventional) Shapley values against the        f(ref)
XGBoost, LightGBM,   reference applicant, exact, on the compiled trees
CatBoost             (:func:`~creditscore.compiled.shapley.tree_shapley`); a
                     forest's probabilities mapped to log-odds (:func:`to_log_odds`)
MLP                  seeded antithetic permutation Shapley values against the    f(ref)
                     reference (10 + 10 orders), on the compiled layers
soft-vote blend      each member's contributions moved to the probability        logit of
                     scale, averaged with the voting weights, mapped back        the mean
===================  ==========================================================  =========

The reference is one application (the bundle Profile's typical applicant), pushed through
each pipeline's own cleaner and encoder. Players are the cleaner's output columns (the
model's features), keyed by name; an encoded column (one-hot, missing indicator) is
credited to the feature it comes from. A model the compiler cannot read is explained by
:class:`PipelineContributions`: the same permutation game played on raw inputs through
the pipeline's ``predict_proba`` (slow, but the same kind of answer).

Every row is computed on its own, in a fixed order of features, trees and members, by the
same code for one row and for a frame: a row alone gives the same bits as in any batch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from creditscore.compiled.base import (
    PARALLEL_ROWS,
    THREADS,
    Values,
    executor,
    require,
    two_way,
)
from creditscore.compiled.inputs import Frame, LinearEncoder
from creditscore.compiled.linear import MLP, Logistic, tanh_sigmoid
from creditscore.data.schema import InputSchema

#: PDs are clipped to [PD_EPS, 1 - PD_EPS] before taking log-odds (as the policy does).
PD_EPS = 1e-9
#: Orders of the permutation game (each drawn once, then also walked backwards).
N_PERMUTATIONS = 10
#: One application's work is split between two threads from this many estimated
#: microseconds on (handing half to the other thread costs about 30).
SPLIT_MIN_COST = 150.0
#: Estimated microseconds per tree node (or oblivious leaf) of the Shapley walk, and per
#: multiply-add of the MLP's permutation game, on one core (measured on German models).
US_PER_NODE = 0.005
US_PER_MULTIPLY_ADD = 0.0003

LevelShares = Mapping[str, Mapping[Any, float]]

METHODS = ("auto", "permutation")
DESCRIPTIONS = {
    "linear": "exact (coefficient x standardised value, centred on the training mean)",
    "scorecard": "exact (coefficient x WoE per characteristic)",
    "baseline_shapley": (
        "interventional (baseline) Shapley values against the typical applicant, exact on "
        "the compiled trees"
    ),
    "permutation": ("seeded antithetic permutation Shapley values against the typical applicant"),
}


# ------------------------------------------------------------------------------ helpers
def logit(p: Any) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), PD_EPS, 1.0 - PD_EPS)
    out: np.ndarray = np.log(q / (1.0 - q))
    return out


def uncalibrated(model: Any) -> Any:
    """The fitted model inside a bundle's calibration wrapper (the model itself if none)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    if isinstance(model, CalibratedClassifierCV):
        model = model.calibrated_classifiers_[0].estimator
    while isinstance(model, FrozenEstimator):
        model = model.estimator
    return model


def to_log_odds(psi: np.ndarray, p0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probability-scale contributions (rows summing to ``p - p0``) -> log-odds scale."""
    from creditscore.compiled import shapley

    psi = np.ascontiguousarray(psi, dtype=np.float64)
    phi = np.empty_like(psi)
    base = np.empty(psi.shape[0])
    shapley.to_log_odds(psi, np.ascontiguousarray(p0, dtype=np.float64), PD_EPS, phi, base)
    return phi, base


@dataclass(frozen=True)
class Halves:
    """One call's work cut in two for two threads, and how to join what they return.

    ``join(first(), second())`` (``second`` None: ``join(first(), None)``) is the
    contributions and base values. Batches run both halves in the calling thread; one
    application runs them side by side. Either way each half adds its own trees into its
    own buffer and the join adds the two, so the bits do not depend on where they ran.
    """

    first: Callable[[], Any]
    second: Callable[[], Any] | None
    join: Callable[[Any, Any], tuple[np.ndarray, np.ndarray]]
    cost: float = 0.0  # estimated microseconds of both halves: what splitting could save

    def run(self) -> tuple[np.ndarray, np.ndarray]:
        """Both halves in the calling thread."""
        return self.join(self.first(), None if self.second is None else self.second())


def _first(a: Any, _: Any) -> Any:
    return a


def _run_side(tasks: list[tuple[int, int, Any]]) -> list[tuple[int, int, Any]]:
    return [(k, slot, fn()) for k, slot, fn in tasks]


class Game:
    """One model's contributions, into the columns of the whole model's feature list."""

    method: str = "abstract"
    width: int  # columns of the whole model's feature list
    cost: float = 0.0  # estimated microseconds to explain one row (what splitting saves)

    def encode_one(self, values: Values) -> np.ndarray:
        raise NotImplementedError

    def encode_many(self, frame: Frame) -> np.ndarray:
        raise NotImplementedError

    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Contributions and base values of encoded rows."""
        raise NotImplementedError

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        """What the contributions of encoded rows add up to (with the base)."""
        raise NotImplementedError

    def halves(self, X: np.ndarray) -> Halves:
        """The work of explaining encoded rows, in two halves for two threads (a game
        that does not split has no second half)."""
        return Halves(partial(self.explain, X), None, _first, self.cost)

    def halves_one(self, values: Values) -> Halves:
        """:meth:`halves` of one validated application."""
        return self.halves(self.encode_one(values))

    def one(self, values: Values) -> tuple[np.ndarray, np.ndarray]:
        """One application, its halves side by side (:func:`two_way`)."""
        h = self.halves_one(values)
        return h.join(*two_way(h.first, h.second))

    def many(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        return self.explain(self.encode_many(frame))

    def methods(self) -> list[str]:
        return [self.method]


def _encoded(encoder: Any, float32: bool = False) -> tuple[Any, Any]:
    """Encoders of one validated row (its derived features appended first, as the
    pipeline's cleaner computes them) and of a frame, to float64 (or float32, for a model
    that compares float32 inputs) C-ordered matrices."""
    dtype = np.float32 if float32 else np.float64
    extend = encoder.cleaner.extend

    def one(values: Values) -> np.ndarray:
        return np.asarray([encoder.one(extend(values))], dtype=dtype)

    def many(frame: Frame) -> np.ndarray:
        return np.ascontiguousarray(encoder.many(frame), dtype=dtype)

    return one, many


# ------------------------------------------------------------------------------ games
class LinearGame(Game):
    """Logistic regression: ``w_j x_j`` summed per feature, categories centred on the
    training level shares (numbers are standardised, so their training mean is 0)."""

    method = "linear"

    def __init__(
        self, encoder: Any, kernel: Logistic, columns: np.ndarray, width: int, shares: LevelShares
    ) -> None:
        self.width = width
        self.encode_one, self.encode_many = _encoded(encoder)  # type: ignore[method-assign]
        self.kernel = kernel
        self.w = np.ascontiguousarray(kernel.coef, dtype=np.float64)
        self.owner = np.ascontiguousarray(columns[encoder.owner], dtype=np.int64)
        self.centre = np.zeros(width)
        base = kernel.intercept
        if isinstance(encoder, LinearEncoder):
            cleaner = encoder.cleaner
            pos = {f: i for i, f in enumerate(encoder.features)}
            for col in cleaner.categorical:
                level_shares = shares.get(col)
                if not level_shares:
                    continue
                codes = encoder.codes[col]
                mean = 0.0
                for level, share in level_shares.items():
                    cleaned = None if level is None else cleaner.clean(col, str(level))
                    hot = (
                        codes.missing
                        if cleaned is None
                        else codes.table.get(cleaned, codes.unknown)
                    )
                    mean += share * (float(self.w[hot]) if hot >= 0 else 0.0)
                base += mean
                self.centre[columns[pos[col]]] = mean
        self.base = base

    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from creditscore.compiled import shapley

        C = np.zeros((X.shape[0], self.width))
        shapley.linear_terms(X, self.w, self.owner, self.centre, C)
        return C, np.full(X.shape[0], self.base)

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        return self.kernel.decision(X)


class ScorecardGame(Game):
    """WoE scorecard: its own contribution (coefficient x WoE) per characteristic."""

    method = "scorecard"

    def __init__(self, scorecard: Any, index: Mapping[str, int], width: int) -> None:
        self.card = scorecard
        self.width = width
        self.columns = np.asarray([index[f] for f in scorecard.features], dtype=np.int64)

    def encode_one(self, values: Values) -> np.ndarray:
        values = self.card.cleaner.extend(values)  # + derived features, if any
        return np.asarray([self.card.contributions_one(values)], dtype=np.float64)

    def encode_many(self, frame: Frame) -> np.ndarray:
        return np.asarray(self.card.contributions(frame), dtype=np.float64)

    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        C = np.zeros((X.shape[0], self.width))
        C[:, self.columns] = X
        return C, np.full(X.shape[0], self.card.intercept)

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.card.decision_many(X))


class TreeShapleyGame(Game):
    """A tree ensemble: exact baseline Shapley values against the reference."""

    method = "baseline_shapley"

    def __init__(
        self, encoder: Any, kernel: Any, columns: np.ndarray, width: int, reference: np.ndarray
    ) -> None:
        from creditscore.compiled import shapley

        self.width = width
        self.kernel = kernel
        g = self.game = kernel.game
        self.encode_one, self.encode_many = _encoded(encoder, g.float32)  # type: ignore[method-assign]
        self.owner = np.ascontiguousarray(columns[encoder.owner], dtype=np.int64)
        ref = reference.astype(np.float32).astype(np.float64) if g.float32 else reference
        ref = np.ascontiguousarray(ref, dtype=np.float64).reshape(-1)
        if g.oblivious is not None:
            depth, start, _, feature, border, nan_bit, _ = g.oblivious
            self.ref_bits = np.zeros(len(depth), dtype=np.int64)
            shapley.oblivious_bits(ref, depth, start, feature, border, nan_bit, self.ref_bits)
            self.weights = shapley.coalition_weights(max(int(depth.max(initial=0)), 1))
        else:
            self.ref_left = np.zeros(len(g.nodes), dtype=np.uint8)
            shapley.directions(g.nodes, g.cat_bits, ref, self.ref_left)
            self.pos, self.neg = shapley.shapley_weights(max(g.depth, 1))
            nodes = g.nodes
            self.thresholds: tuple[np.ndarray, ...] | None = None
            kind = nodes["k"] & 3
            if not bool(np.any(kind == 1)):  # thresholds and category sets, no zero-as-missing
                # float32 for the models that compare float32 inputs, float64 for LightGBM
                # (its numeric splits: x <= t, NaN to the side of bit 2, as _lightgbm_left)
                numeric = kind == 0
                t = np.where(numeric, nodes["t"], 0.0).astype(
                    np.float32 if g.float32 else np.float64
                )
                require(
                    bool(np.all(t[numeric].astype(np.float64) == nodes["t"][numeric])),
                    "threshold rounds",
                )
                flags = ((nodes["k"] >> 2) & 1) | (self.ref_left.astype(np.int32) << 1)
                flags |= np.where(numeric, 0, 4)
                self.thresholds = (
                    nodes["f"].astype(np.int32),
                    t,
                    nodes["l"].astype(np.int32),
                    nodes["r"].astype(np.int32),
                    flags.astype(np.uint8),
                    np.where(numeric, 0, nodes["cs"]).astype(np.int32),
                    np.where(numeric, 0, nodes["cl"]).astype(np.int32),
                    g.roots.astype(np.int32),
                )
        if g.probability:  # the base is the forest's own probability of the reference
            self.p_ref = float(kernel.proba(ref[None, :])[0])
        else:
            self.base = float(kernel.log_odds(ref[None, :])[0])
        self.n_trees, self.mid = _halfway(g)
        if g.oblivious is not None:  # leaves: a level parting x and r doubles the walk
            nodes = int(np.sum(np.left_shift(1, g.oblivious[0].astype(np.int64))))
        else:
            nodes = len(g.nodes)
        self.cost = nodes * US_PER_NODE

    def _phi(self, X: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Raw Shapley values of trees ``lo:hi`` (before the ensemble's scale and link)."""
        from creditscore.compiled import shapley

        g = self.game
        phi = np.zeros((X.shape[0], self.width))
        if g.oblivious is not None:
            depth, start, leaf_start, feature, border, nan_bit, value = g.oblivious
            shapley.oblivious_shapley(
                X, depth[lo:hi], start[lo:hi], leaf_start[lo:hi], feature, border, nan_bit,
                value, self.ref_bits[lo:hi], self.owner, self.weights, phi,
            )  # fmt: skip
        elif self.thresholds is not None:
            feature, threshold, left, right, flags, cat_start, cat_len, roots = self.thresholds
            shapley.threshold_tree_shapley(
                X, feature, threshold, left, right, flags, cat_start, cat_len, g.cat_bits,
                roots[lo:hi], g.value, self.owner, self.pos, self.neg, phi,
            )  # fmt: skip
        else:
            shapley.tree_shapley(
                X, g.nodes, g.roots[lo:hi], g.value, g.cat_bits, self.ref_left, self.owner,
                self.pos, self.neg, phi,
            )  # fmt: skip
        return phi

    def _join(self, a: np.ndarray, b: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        g = self.game
        phi = a if b is None else a + b
        if g.mult != 1.0:
            phi *= g.mult
        if g.probability:
            return to_log_odds(phi, np.full(phi.shape[0], self.p_ref))
        return phi, np.full(phi.shape[0], self.base)

    def halves(self, X: np.ndarray) -> Halves:
        """The trees cut in two halves of about as many nodes, if there are enough of
        them (the same for one row and a batch, so both add the same numbers in the same
        order)."""
        n_trees, mid = self.n_trees, self.mid
        if mid in (0, n_trees) or self.cost < SPLIT_MIN_COST:  # one walk, not worth two
            return Halves(partial(self._phi, X, 0, n_trees), None, self._join, self.cost)
        return Halves(
            partial(self._phi, X, 0, mid),
            partial(self._phi, X, mid, n_trees),
            self._join,
            self.cost,
        )

    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.halves(X).run()

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.kernel.log_odds(np.asarray(X, dtype=np.float64)))


def _halfway(game: Any) -> tuple[int, int]:
    """``(trees, mid)``: trees ``:mid`` hold about half the ensemble's nodes."""
    if game.oblivious is not None:
        n = len(game.oblivious[0])
        return n, n // 2
    roots = np.asarray(game.roots, dtype=np.int64)
    n = len(roots)
    if n < 2 or not bool(np.all(np.diff(roots) > 0)):
        return n, n // 2
    ends = np.append(roots[1:], len(game.nodes))
    mid = int(np.searchsorted(np.cumsum(ends - roots), (len(game.nodes) - roots[0]) / 2))
    return n, min(max(mid, 1), n - 1)


def _orders(n_players: int, n_permutations: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(n_players) for _ in range(max(1, n_permutations))]
    return np.ascontiguousarray(perms + [p[::-1] for p in perms], dtype=np.int64)


class MLPGame(Game):
    """The MLP: permutation Shapley values of its logit against the reference (numba)."""

    method = "permutation"

    def __init__(
        self,
        encoder: Any,
        kernel: MLP,
        columns: np.ndarray,
        width: int,
        reference: np.ndarray,
        n_permutations: int,
        seed: int,
    ) -> None:
        from creditscore.compiled import shapley

        self.width = width
        self.kernel = kernel
        self.encode_one, self.encode_many = _encoded(encoder)  # type: ignore[method-assign]
        local = columns[np.arange(len(encoder.features))]
        players = np.unique(local)  # in the model's feature order: the orders' players
        player_of = {int(c): k for k, c in enumerate(players)}
        self.players = players
        self.owner = np.asarray([player_of[int(local[o])] for o in encoder.owner], dtype=np.int64)
        self.orders = _orders(len(players), n_permutations, seed)
        self.ref = np.ascontiguousarray(reference, dtype=np.float64).reshape(-1)
        self.work = shapley.mlp_buffers(kernel.biases)
        self.h_ref, z_ref = shapley.mlp_reference(
            self.ref, kernel.weights, kernel.biases, self.work
        )
        self.base = float(z_ref)
        after_first = sum(w.size for w in kernel.weights[1:])
        self.cost = len(self.orders) * len(players) * after_first * US_PER_MULTIPLY_ADD

    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from creditscore.compiled import shapley

        n = X.shape[0]
        local = np.zeros((n, len(self.players)))
        z_x = self.kernel.log_odds(X)
        work = shapley.mlp_buffers(self.kernel.biases)  # per call: calls may run in parallel
        shapley.mlp_permutation(
            X, self.ref, self.h_ref, self.base, z_x, self.owner, self.orders,
            self.kernel.weights, self.kernel.biases, work, local,
        )  # fmt: skip
        C = np.zeros((n, self.width))
        C[:, self.players] = local
        return C, np.full(n, self.base)

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        return self.kernel.log_odds(X)


class BlendGame(Game):
    """Soft-vote blend: each member's contributions, moved to the probability scale,
    averaged with the voting weights and mapped back to the blend's log-odds."""

    method = "blend"

    def __init__(self, members: Sequence[tuple[Game, float]], width: int) -> None:
        self.width = width
        total = sum(w for _, w in members)
        self.members = [(g, w / total) for g, w in members]

    def halves_one(self, values: Values) -> Halves:
        """The members' work on two sides of about equal cost: a member that splits puts
        a half on each, one that does not goes whole to the lighter side. A blend too
        cheap to split runs everything in the caller."""
        parts = [g.halves_one(values) for g, _ in self.members]
        cost = sum(h.cost for h in parts)
        sides: tuple[list[tuple[int, int, Any]], list[tuple[int, int, Any]]] = ([], [])
        load = [0.0, 0.0]
        for k, h in enumerate(parts):
            if h.second is not None:
                sides[0].append((k, 0, h.first))
                sides[1].append((k, 1, h.second))
                load[0] += h.cost / 2
                load[1] += h.cost / 2
            else:
                side = 0 if load[0] <= load[1] or cost < SPLIT_MIN_COST else 1
                sides[side].append((k, 0, h.first))
                load[side] += h.cost
        return Halves(
            partial(_run_side, sides[0]),
            partial(_run_side, sides[1]) if sides[1] else None,
            partial(self._join, parts),
            cost,
        )

    def _join(
        self, parts: list[Halves], first: list[Any], second: list[Any] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        got: list[list[Any]] = [[None, None] for _ in parts]
        for k, slot, result in [*first, *(second or [])]:
            got[k][slot] = result
        return self._combine([h.join(a, b) for h, (a, b) in zip(parts, got, strict=True)], 1)

    def many(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        return self._combine([g.many(frame) for g, _ in self.members], frame.n)

    def _combine(
        self, parts: list[tuple[np.ndarray, np.ndarray]], n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        from creditscore.compiled import shapley

        psi = np.zeros((n, self.width))
        p0 = np.zeros(n)
        for (C, b), (_, w) in zip(parts, self.members, strict=True):
            shapley.blend_to_probability(C, b, w, psi, p0)
        return to_log_odds(psi, p0)

    def log_odds_frame(self, frame: Frame) -> np.ndarray:
        p = np.zeros(frame.n)
        for g, w in self.members:
            p += w * _sigmoid(game_log_odds(g, frame))
        return logit(p)

    def methods(self) -> list[str]:
        return [m for g, _ in self.members for m in g.methods()]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = tanh_sigmoid(np.asarray(z, dtype=np.float64))
    return out


def game_log_odds(game: Game, frame: Frame) -> np.ndarray:
    if isinstance(game, BlendGame | PermutationGame):
        return game.log_odds_frame(frame)
    return game.log_odds(game.encode_many(frame))


class PermutationGame(Game):
    """Model-agnostic: antithetic permutation Shapley values of ``logit p`` (``p``: the
    weighted mean of the members' PDs) against the reference, one fixed, seeded set of
    orders for every row. Each member plays on its own encoded columns; a coalition takes
    a feature's columns from the applicant, the others from the reference."""

    method = "permutation"

    def __init__(
        self,
        members: Sequence[tuple[Any, Any, np.ndarray, Callable[[np.ndarray], np.ndarray], float]],
        references: Sequence[np.ndarray],
        width: int,
        n_permutations: int,
        seed: int,
        max_rows_per_call: int = 40_000,
    ) -> None:
        """``members``: (encode_one, encode_many, owner column per encoded column,
        proba of encoded rows, weight)."""
        self.width = width
        total = sum(m[4] for m in members)
        self.members = [(a, b, np.asarray(o), f, w / total) for a, b, o, f, w in members]
        self.refs = [np.asarray(r).reshape(1, -1) for r in references]
        active = np.unique(np.concatenate([m[2] for m in self.members]))
        self.active = active
        a = len(active)
        self.orders = _orders(a, n_permutations, seed)
        self.max_rows = max_rows_per_call
        masks = [np.zeros(width, bool), np.zeros(width, bool)]
        masks[1][active] = True
        index = np.empty((len(self.orders), a + 1), dtype=np.int64)
        for s, order in enumerate(self.orders):
            index[s, 0], index[s, a] = 0, 1
            current = np.zeros(width, bool)
            for k in range(1, a):
                current[active[order[k - 1]]] = True
                index[s, k] = len(masks)
                masks.append(current.copy())
        self.masks = np.asarray(masks)
        self.index = index
        self.base = float(self._value(self.masks[:1], self.refs)[0, 0])

    def _value(self, masks: np.ndarray, encoded: Sequence[np.ndarray]) -> np.ndarray:
        """``logit p`` of every (row, coalition): rows x masks."""
        n, M = encoded[0].shape[0], masks.shape[0]
        p = np.zeros(n * M)
        for (_, _, owner, proba, w), x, ref in zip(self.members, encoded, self.refs, strict=True):
            colmask = masks[:, owner]
            Z = np.where(colmask[None, :, :], x[:, None, :], ref[None, :, :]).reshape(n * M, -1)
            p += w * proba(Z)
        return logit(p).reshape(n, M)

    def halves_one(self, values: Values) -> Halves:
        return Halves(partial(self.one, values), None, _first)

    def one(self, values: Values) -> tuple[np.ndarray, np.ndarray]:
        return self._explain([m[0](values) for m in self.members])

    def many(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        return self._explain([m[1](frame) for m in self.members])

    def _explain(self, encoded: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        n = encoded[0].shape[0]
        C = np.zeros((n, self.width))
        step = max(1, self.max_rows // len(self.masks))
        a = len(self.active)
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            v = self._value(self.masks, [x[lo:hi] for x in encoded])
            diffs = v[:, self.index[:, 1:]] - v[:, self.index[:, :-1]]  # rows x S x a
            phi = np.zeros((hi - lo, a))
            for s, order in enumerate(self.orders):
                phi[:, order] += diffs[:, s, :]
            C[lo:hi, self.active] = phi / len(self.orders)
        return C, np.full(n, self.base)

    def log_odds_frame(self, frame: Frame) -> np.ndarray:
        p = np.zeros(frame.n)
        for _, many, _, proba, w in self.members:
            p += w * proba(many(frame))
        return logit(p)


# ------------------------------------------------------------------------------ building
def build_game(
    node: Any,
    index: Mapping[str, int],
    reference: Frame,
    shares: LevelShares,
    n_permutations: int,
    seed: int,
) -> Game:
    """The contributions of a compiled node (a pipeline or a soft-vote blend of them)."""
    from creditscore.compiled.graph import PipelineNode, VotingNode
    from creditscore.compiled.trees import CatBoost, LightGBM, SklearnForest, XGBoost

    width = len(index)
    if isinstance(node, VotingNode):
        weights = node.weights or [1.0] * len(node.members)
        return BlendGame(
            [
                (build_game(m, index, reference, shares, n_permutations, seed), w)
                for m, w in zip(node.members, weights, strict=True)
            ],
            width,
        )
    if not isinstance(node, PipelineNode):
        raise TypeError(f"no contributions for {type(node).__name__}")
    if node.scorecard is not None:
        return ScorecardGame(node.scorecard, index, width)
    encoder, kernel = node.encoder, node.kernel
    assert encoder is not None
    columns = np.asarray([index[f] for f in encoder.features], dtype=np.int64)
    ref = np.ascontiguousarray(encoder.many(reference), dtype=np.float64)
    if isinstance(kernel, Logistic):
        return LinearGame(encoder, kernel, columns, width, shares)
    if isinstance(kernel, SklearnForest | XGBoost | LightGBM | CatBoost):
        return TreeShapleyGame(encoder, kernel, columns, width, ref)
    if isinstance(kernel, MLP):
        return MLPGame(encoder, kernel, columns, width, ref, n_permutations, seed)
    raise TypeError(f"no contributions for {type(kernel).__name__}")


def permutation_member(
    node: Any, index: Mapping[str, int], reference: Frame
) -> tuple[tuple[Any, Any, np.ndarray, Any, float], np.ndarray]:
    """A pipeline node as a member of :class:`PermutationGame`, and its reference row."""
    if node.scorecard is not None:
        card = node.scorecard
        game = ScorecardGame(card, index, len(index))
        owner = game.columns

        def card_proba(X: np.ndarray) -> np.ndarray:
            return np.asarray(tanh_sigmoid(card.decision_many(X)))

        return (
            (game.encode_one, game.encode_many, owner, card_proba, 1.0),
            game.encode_many(reference),
        )
    encoder, kernel = node.encoder, node.kernel
    columns = np.asarray([index[f] for f in encoder.features], dtype=np.int64)
    one, many = _encoded(encoder)
    return (one, many, columns[encoder.owner], kernel.proba, 1.0), many(reference)


def build_permutation_game(
    node: Any, index: Mapping[str, int], reference: Frame, n_permutations: int, seed: int
) -> PermutationGame:
    from creditscore.compiled.graph import VotingNode

    if isinstance(node, VotingNode):
        weights = node.weights or [1.0] * len(node.members)
        parts = [permutation_member(m, index, reference) for m in node.members]
        members = [(*p[0][:4], w) for p, w in zip(parts, weights, strict=True)]
        refs = [p[1] for p in parts]
    else:
        part, ref = permutation_member(node, index, reference)
        members, refs = [part], [ref]
    return PermutationGame(members, refs, len(index), n_permutations, seed)


# ------------------------------------------------------------------------------ public
class Contributions:
    """Contributions of one model, for one validated application or a raw frame.

    ``features``: the contribution columns (the model's features, the schema's fields
    first); ``method``: ``linear``, ``scorecard``, ``baseline_shapley``, ``permutation`` or
    ``blend``; ``description``: the method in a sentence, for model cards.
    """

    def __init__(
        self,
        game: Game,
        features: Sequence[str],
        *,
        proba: Callable[[Frame], np.ndarray],
        log_odds: Callable[[Frame], np.ndarray],
    ) -> None:
        self._game = game
        self.features = tuple(features)
        self.method = game.method
        self._proba = proba
        self._log_odds = log_odds
        self.description = describe(game)

    def one(self, values: Values) -> tuple[np.ndarray, float]:
        """One validated application (values in schema order, the Scorer's ``_values``):
        its contributions (one per feature) and the base value."""
        C, base = self._game.one(values)
        return C[0], float(base[0])

    def frame(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Every row of a raw application frame: rows x features, and the base per row.

        Large frames are cut into one chunk per thread (the kernels release the GIL);
        rows are computed on their own, so the chunking never changes a result.
        """
        n = len(frame)
        if n < PARALLEL_ROWS or THREADS == 1:
            return self._frame(frame)
        edges = np.linspace(0, n, THREADS + 1).astype(int)
        chunks = [frame.iloc[a:b] for a, b in pairwise(edges)]
        parts = list(executor().map(self._frame, chunks))
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _frame(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        if len(frame) == 0:
            return np.zeros((0, len(self.features))), np.zeros(0)
        return self._game.many(Frame(frame))

    def log_odds(self, frame: pd.DataFrame) -> np.ndarray:
        """The uncalibrated model's log-odds of bad (what contributions add up to)."""
        return np.asarray(self._log_odds(Frame(frame)), dtype=np.float64)

    def proba(self, frame: pd.DataFrame) -> np.ndarray:
        """The uncalibrated model's PD."""
        return np.asarray(self._proba(Frame(frame)), dtype=np.float64)


def describe(game: Game) -> str:
    if isinstance(game, BlendGame):
        parts = []
        for m in dict.fromkeys(game.methods()):
            parts.append(DESCRIPTIONS.get(m, m))
        return (
            "a blend: its members' contributions ("
            + "; ".join(parts)
            + ") combined on the probability scale with the voting weights"
        )
    return DESCRIPTIONS.get(game.method, game.method)


def model_features(schema: InputSchema, cleaners: Sequence[Any]) -> list[str]:
    """Contribution columns: the schema's fields, then any other cleaner output column."""
    out = list(schema.names)
    seen = set(out)
    for c in cleaners:
        for f in c.features:
            if f not in seen:
                seen.add(f)
                out.append(f)
    return out


def reference_frame(schema: InputSchema, reference: Values) -> pd.DataFrame:
    row = list(reference)
    if len(row) != len(schema.fields):
        raise ValueError(f"reference has {len(row)} values; expected {len(schema.fields)}")
    data = {
        f.name: pd.Series([v], dtype="float64" if f.kind == "numeric" and v is not None else object)
        for f, v in zip(schema.fields, row, strict=True)
    }
    return pd.DataFrame(data, columns=schema.names)


class PipelineContributions(Contributions):
    """For a model with no compiled form: the permutation game on raw inputs (players:
    the schema's fields), scored by the uncalibrated pipeline's ``predict_proba``."""

    def __init__(
        self,
        model: Any,
        schema: InputSchema,
        reference: Values,
        *,
        n_permutations: int = N_PERMUTATIONS,
        seed: int = 0,
    ) -> None:
        inner = uncalibrated(model)
        names = list(schema.names)

        def raw_one(values: Values) -> np.ndarray:
            return np.asarray([list(values)], dtype=object)

        def raw_many(frame: Frame) -> np.ndarray:
            return frame.frame[names].to_numpy(dtype=object)

        def proba(Z: np.ndarray) -> np.ndarray:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = inner.predict_proba(pd.DataFrame(Z, columns=names))[:, 1]
            return np.asarray(out, dtype=np.float64)

        ref = reference_frame(schema, reference).to_numpy(dtype=object)
        owner = np.arange(len(names), dtype=np.int64)
        game = PermutationGame(
            [(raw_one, raw_many, owner, proba, 1.0)], [ref], len(names), n_permutations, seed
        )
        super().__init__(
            game,
            names,
            proba=lambda frame: proba(raw_many(frame)),
            log_odds=game.log_odds_frame,
        )
        self.description = (
            "seeded antithetic permutation Shapley values against the typical applicant, "
            "on the raw inputs (the model has no compiled form)"
        )
