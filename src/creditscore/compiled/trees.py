"""Compiled forms of the tree ensembles: random forest, LightGBM, XGBoost, CatBoost.

Each ensemble is read from the library's own model (scikit-learn's tree arrays, LightGBM's
model text, XGBoost's and CatBoost's JSON), normalised to one split rule per kernel and
laid out for :mod:`creditscore.compiled.kernels`: bit vectors for batches when every tree
has at most 64 leaves, level by level otherwise and for single rows.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from creditscore.compiled.base import (
    HoldsKernels,
    KernelCall,
    NotCompilableError,
    binary_classes,
    kernels,
    require,
)

if TYPE_CHECKING:
    from sklearn.ensemble import RandomForestClassifier


def floor32(x: np.ndarray) -> np.ndarray:
    """Largest float32 not above each value: for float32 ``v``, ``v <= x`` iff ``v <= floor``."""
    with np.errstate(over="ignore"):
        c = np.asarray(x, dtype=np.float64).astype(np.float32)
    above = c.astype(np.float64) > x
    c[above] = np.nextafter(c[above], np.float32(-np.inf))
    return c


@dataclass
class Tree:
    """One tree as node arrays: children (-1 at leaves), leaf values, per-node split fields."""

    left: np.ndarray
    right: np.ndarray
    value: np.ndarray  # read at leaves only
    fields: dict[str, np.ndarray]  # record field -> value per node (read at splits only)

    @property
    def is_leaf(self) -> np.ndarray:
        return self.left < 0


@dataclass(frozen=True)
class TreeGame:
    """An ensemble as :func:`creditscore.compiled.shapley.tree_shapley` walks it.

    The ensemble's output is ``add + mult * (sum of the trees' leaves)``: the log-odds for
    the boosters, the probability of class 1 for a forest (``probability``).
    """

    nodes: np.ndarray  # shapley.SHAP_NODE, every tree's nodes, children as global indices
    roots: np.ndarray
    value: np.ndarray  # float64 leaf values (0 at splits)
    cat_bits: np.ndarray  # uint32 category bitsets of LightGBM's categorical splits
    depth: int  # most splits on one path
    float32: bool  # the model compares float32 inputs
    mult: float
    add: float
    probability: bool
    oblivious: tuple[np.ndarray, ...] | None = None  # CatBoost's level arrays (own kernel)


def tree_game(
    trees: list[Tree],
    split: Any,
    *,
    cat_bits: np.ndarray | None = None,
    float32: bool,
    mult: float = 1.0,
    add: float = 0.0,
    probability: bool = False,
    oblivious: tuple[np.ndarray, ...] | None = None,
) -> TreeGame:
    """Flatten ``trees`` into one node table; ``split(tree)`` gives each node's threshold,
    column and kind (``t``, ``f``, ``k``, and ``cs``/``cl`` for category bitsets)."""
    from creditscore.compiled.shapley import SHAP_NODE

    parts, values, roots = [], [], []
    offset = depth = 0
    for t in trees:
        n = len(t.left)
        rec = np.zeros(n, dtype=SHAP_NODE)
        leaf = t.is_leaf
        fields = split(t) if t.fields else {}
        for name in ("t", "f", "k", "cs", "cl"):
            if name in fields:
                rec[name] = np.where(leaf, 0, fields[name])
        rec["l"] = np.where(leaf, -1, t.left + offset)
        rec["r"] = np.where(leaf, -1, t.right + offset)
        stack = [(0, 0)]
        while stack:
            node, d = stack.pop()
            if leaf[node]:
                depth = max(depth, d)
            else:
                stack += [(int(t.left[node]), d + 1), (int(t.right[node]), d + 1)]
        parts.append(rec)
        values.append(np.where(leaf, t.value, 0.0).astype(np.float64))
        roots.append(offset)
        offset += n
    return TreeGame(
        nodes=np.concatenate(parts),
        roots=np.asarray(roots, dtype=np.int64),
        value=np.concatenate(values),
        cat_bits=cat_bits if cat_bits is not None else np.zeros(1, dtype=np.uint32),
        depth=depth,
        float32=float32,
        mult=mult,
        add=add,
        probability=probability,
        oblivious=oblivious,
    )


def threshold_split(t: Tree) -> dict[str, np.ndarray]:
    """``x <= t`` splits stored as (float32 threshold, ``column << 1 | NaN goes left``)."""
    flag = t.fields["f"].astype(np.int64)
    return {
        "t": t.fields["t"].astype(np.float64),
        "f": flag >> 1,
        "k": (flag & 1) * 4,
    }


def lightgbm_split(t: Tree) -> dict[str, np.ndarray]:
    k = t.fields["k"].astype(np.int64)
    small = (k & 3) == 3  # one-word category sets: the general bitset holds them too
    return {
        "t": t.fields["t"],
        "f": t.fields["f"],
        "k": np.where(small, (k & ~3) | 2, k),
        "cs": t.fields["cs"],
        "cl": t.fields["cl"],
    }


class Trees:
    """An ensemble's trees, laid out for a kernel of :mod:`creditscore.compiled.kernels`."""

    MAX_LEAVES = 64  # one bit per leaf in a uint64

    def __init__(self, trees: list[Tree]) -> None:
        self.trees = trees

    def fits_bitvector(self) -> bool:
        return self.max_leaves() <= self.MAX_LEAVES

    def max_leaves(self) -> int:
        return max((int(t.is_leaf.sum()) for t in self.trees), default=1)

    @staticmethod
    def _leaf_order(t: Tree) -> tuple[list[int], dict[int, tuple[int, int]]]:
        """Leaves left to right, and each node's range of leaf positions."""
        leaves: list[int] = []
        span: dict[int, tuple[int, int]] = {}
        stack = [(0, False)]
        while stack:
            node, done = stack.pop()
            if t.is_leaf[node]:
                span[node] = (len(leaves), len(leaves))
                leaves.append(node)
            elif done:
                span[node] = (span[int(t.left[node])][0], span[int(t.right[node])][1])
            else:
                stack += [(node, True), (int(t.right[node]), False), (int(t.left[node]), False)]
        return leaves, span

    def bitvector(self, dtype: np.dtype, value_dtype: Any) -> tuple[np.ndarray, ...]:
        """(first, last, leaf_start, splits, value): splits carry the leaves they keep."""
        first, last, leaf_start, parts, values = [], [], [], [], []
        n_splits = n_leaves = 0
        for t in self.trees:
            leaves, span = self._leaf_order(t)
            inner = np.flatnonzero(~t.is_leaf)
            rec = np.zeros(len(inner), dtype=dtype)
            for name, col in t.fields.items():
                rec[name] = col[inner]
            for r, node in enumerate(inner):
                lo, hi = span[int(t.left[node])]
                dropped = ((1 << (hi + 1)) - 1) ^ ((1 << lo) - 1)  # the left subtree's leaves
                rec["m"][r] = ~dropped & 0xFFFFFFFFFFFFFFFF
            first.append(n_splits)
            last.append(n_splits + len(inner))
            leaf_start.append(n_leaves)
            parts.append(rec)
            values.append(t.value[leaves])
            n_splits += len(inner)
            n_leaves += len(leaves)
        return (
            np.asarray(first, dtype=np.int64),
            np.asarray(last, dtype=np.int64),
            np.asarray(leaf_start, dtype=np.int64),
            np.concatenate(parts),
            np.concatenate(values).astype(value_dtype),
        )

    def levels(
        self, dtype: np.dtype, value_dtype: Any, leaf: dict[str, Any]
    ) -> tuple[np.ndarray, ...]:
        """(roots, depth, nodes, value): breadth first, right child = left + 1, leaves loop."""
        roots, depths, parts, values = [], [], [], []
        size = 0
        for t in self.trees:
            order, child, level = [0], [], [0]
            i = 0
            while i < len(order):
                old = order[i]
                if t.is_leaf[old]:
                    child.append(-1)
                else:
                    child.append(len(order))
                    order += [int(t.left[old]), int(t.right[old])]
                    level += [level[i] + 1] * 2
                i += 1
            old_ids, kids = np.asarray(order), np.asarray(child)
            is_leaf = kids < 0
            rec = np.zeros(len(old_ids), dtype=dtype)
            for name, col in t.fields.items():
                if name in (dtype.names or ()):
                    rec[name] = np.where(is_leaf, rec[name], col[old_ids])
            for name, v in leaf.items():
                rec[name][is_leaf] = v
            rec["l"] = np.where(is_leaf, size + np.arange(len(old_ids)), size + kids)
            roots.append(size)
            depths.append(max(level))
            parts.append(rec)
            values.append(np.where(is_leaf, t.value[old_ids], 0.0))
            size += len(old_ids)
        return (
            np.asarray(roots, dtype=np.int32),
            np.asarray(depths, dtype=np.int32),
            np.concatenate(parts),
            np.concatenate(values).astype(value_dtype),
        )


#: Most distinct thresholds of one feature that the binned kernel takes (it counts, for
#: each value, the thresholds below it one by one; LightGBM has at most ``max_bin``).
MAX_EDGES = 1024


def binned_splits(splits: np.ndarray, max_leaves: int) -> tuple[Any, ...] | None:
    """The arrays of :func:`~creditscore.compiled.kernels.binned_bitvector` for LightGBM
    bit-vector ``splits`` (``LGBM_SPLIT`` records), or None where some split is not a
    plain numeric one (categorical, zero-as-missing) or a feature has too many thresholds.

    (features, edges, edge_start, column, rank, keep, ones): feature ``features[j]``'s
    sorted distinct thresholds are ``edges[edge_start[j]:edge_start[j + 1]]``; split ``s``
    reads bin row ``column[s]`` against ``rank[s]`` (see the kernel); ``keep`` the split's
    leaf word, in the narrowest unsigned type with a bit per leaf.
    """
    if len(splits) == 0 or np.any(splits["k"] & 3) or np.isnan(splits["t"]).any():
        return None
    word: Any = np.uint16 if max_leaves <= 16 else np.uint32 if max_leaves <= 32 else np.uint64
    features = np.unique(splits["f"]).astype(np.int64)
    edges, starts = [], [0]
    column = np.empty(len(splits), dtype=np.int64)
    rank = np.empty(len(splits), dtype=word)
    for j, f in enumerate(features):
        at = np.flatnonzero(splits["f"] == f)
        distinct = np.unique(splits["t"][at])  # -0.0 and 0.0 are one threshold, as in x <= t
        if len(distinct) > MAX_EDGES:
            return None
        r = np.searchsorted(distinct, splits["t"][at])
        nan_left = (splits["k"][at] & 4) != 0
        column[at] = np.where(nan_left, 2 * j + 1, 2 * j)
        rank[at] = np.where(nan_left, r + 1, r).astype(word)
        edges.append(distinct)
        starts.append(starts[-1] + len(distinct))
    keep = (splits["m"] & np.uint64((1 << max_leaves) - 1)).astype(word)
    return (
        features,
        np.concatenate(edges).astype(np.float64),
        np.asarray(starts, dtype=np.int64),
        column,
        rank,
        keep,
        word(np.iinfo(word).max),
    )


class SklearnForest:
    """``RandomForestClassifier``: mean of each tree's class-1 fraction (float32 inputs)."""

    has_decision = False
    proba_float32 = False

    def __init__(self, model: RandomForestClassifier, width: int) -> None:
        binary_classes(model)
        require(
            model.n_features_in_ == width and model.n_outputs_ == 1, "forest input width differs"
        )
        k = kernels()
        trees = []
        for est in model.estimators_:
            t = est.tree_
            require(t.n_outputs == 1 and t.value.shape[2] == 2, "tree is not binary")
            missing_left = np.asarray(t.missing_go_to_left, dtype=np.int64)
            trees.append(
                Tree(
                    np.where(t.children_left < 0, -1, t.children_left),
                    t.children_right,
                    np.asarray(t.value[:, 0, 1], dtype=np.float64),
                    {"t": floor32(t.threshold), "f": np.maximum(t.feature, 0) * 2 + missing_left},
                )
            )
        self.n_trees = len(model.estimators_)
        self.game = tree_game(
            trees, threshold_split, float32=True, mult=1.0 / self.n_trees, probability=True
        )
        forest = Trees(trees)
        roots, depth, nodes, leaf_value = forest.levels(k.NODE, np.float64, {"t": np.inf, "f": 1})
        deepest = int(depth.max())
        self._row = KernelCall("level_row", roots, deepest, nodes, leaf_value, 0.0)
        self._single = KernelCall("level_trees", roots, depth, nodes, leaf_value, 0.0)
        if forest.fits_bitvector():
            vectors = forest.bitvector(k.SPLIT, np.float64)
            self.layout = "bit vectors"
            self._sum = KernelCall("bitvector_trees", *vectors, 0.0)
        else:
            self.layout = "level by level"
            self._sum = self._single

    def decision_one(self, x: list[float]) -> float:
        raise NotImplementedError

    def decision(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def proba_one(self, x: list[float]) -> float:
        return float(self._row(np.array(x, dtype=np.float32))) / self.n_trees

    def proba(self, X: np.ndarray) -> np.ndarray:
        out = np.empty(X.shape[0])
        self._sum(np.ascontiguousarray(X, dtype=np.float32), out)
        return out / self.n_trees

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        from creditscore.compiled.contributions import logit

        return logit(self.proba(X))


class LightGBM:
    """``LGBMClassifier`` (binary): trees parsed from ``model_to_string``."""

    has_decision = True
    proba_float32 = False
    _any_order = False

    def __init__(self, model: Any, width: int) -> None:
        binary_classes(model)
        booster = model.booster_
        require(booster.num_feature() == width, "LightGBM input width differs")
        k = kernels()
        text = booster.model_to_string(num_iteration=-1).split("\nend of trees", 1)[0]
        header, _, body = text.partition("\nTree=")
        head = dict(line.split("=", 1) for line in header.splitlines() if "=" in line)
        objective = head.get("objective", "").split()
        require(bool(objective) and objective[0] == "binary", "LightGBM objective is not binary")
        require(
            int(head.get("num_tree_per_iteration", "1")) == 1,
            "LightGBM has several trees per iteration",
        )
        self.sigmoid = 1.0
        for part in objective[1:]:
            if part.startswith("sigmoid:"):
                self.sigmoid = float(part.split(":", 1)[1])
        parsed = [
            self._parse(block) for block in ("Tree=" + body).split("\nTree=") if block.strip()
        ]
        require(len(parsed) == booster.num_trees(), "LightGBM tree count differs")
        if booster.best_iteration > 0:  # what Booster.predict uses by default
            parsed = parsed[: booster.best_iteration]
        self.n_trees = len(parsed)
        trees, bits = [], []
        n_bits = 0
        for t in parsed:
            n = t["num_leaves"]
            if n == 1:
                trees.append(Tree(np.full(1, -1), np.full(1, -1), t["leaf_value"], {}))
                continue
            # node ids: splits 0..n-2, then leaf j at n-1+j (LightGBM writes a leaf as ~j)
            pad = np.full(n, -1, dtype=np.int64)
            left = np.concatenate(
                [np.where(t["left_child"] >= 0, t["left_child"], n - 1 + ~t["left_child"]), pad]
            )
            right = np.concatenate(
                [np.where(t["right_child"] >= 0, t["right_child"], n - 1 + ~t["right_child"]), pad]
            )
            dt, thr = t["decision_type"], t["threshold"]
            missing_type, default_left, cat = (dt >> 2) & 3, (dt & 2) != 0, (dt & 1) == 1
            nan_left = np.where(missing_type == 2, default_left, thr >= 0.0)  # type none: NaN is 0
            kind = np.where(cat, 2, np.where(missing_type == 1, 1, 0))
            cs = np.zeros(n - 1, dtype=np.int64)
            cl = np.zeros(n - 1, dtype=np.int64)
            small = np.zeros(n - 1, dtype=np.uint64)  # kind 3: categories 0..62 in one word
            if cat.any():
                bounds = t["cat_boundaries"]
                words = t["cat_threshold"].astype(np.uint64)
                for j in np.flatnonzero(cat):
                    lo, hi = int(bounds[int(thr[j])]), int(bounds[int(thr[j]) + 1])
                    cs[j], cl[j] = n_bits + lo, hi - lo
                    chosen = sum(int(w) << (32 * i) for i, w in enumerate(words[lo:hi]))
                    if chosen >> k.SMALL_CODES == 0:
                        small[j] = np.uint64(chosen)
                        kind[j] = 3
                bits.append(t["cat_threshold"])
                n_bits += len(t["cat_threshold"])

            def full(x: np.ndarray, n: int = n) -> np.ndarray:
                return np.concatenate([x, np.zeros(n, dtype=x.dtype)])

            fields = {
                "t": full(thr),
                "f": full(t["split_feature"]),
                "k": full(
                    kind | (nan_left.astype(np.int64) << 2) | (default_left.astype(np.int64) << 3)
                ),
                "cs": full(cs),
                "cl": full(cl),
                "c": full(small),
            }
            value = np.concatenate([np.zeros(n - 1), t["leaf_value"]])
            trees.append(Tree(left, right, value, fields))
        cat_bits = np.concatenate(bits).astype(np.uint32) if bits else np.zeros(1, dtype=np.uint32)
        cat_features = np.unique(
            np.concatenate(
                [t.fields["f"][(t.fields["k"] & 3) == 3] for t in trees if t.fields] or [[]]
            )
        ).astype(np.int64)
        self.game = tree_game(
            trees, lightgbm_split, cat_bits=cat_bits, float32=False, mult=self.sigmoid
        )
        forest = Trees(trees)
        roots, depth, nodes, leaf_value = forest.levels(
            k.LGBM_NODE, np.float64, {"t": np.inf, "k": 4}
        )
        deepest = int(depth.max())
        self._row = KernelCall("lightgbm_row", roots, deepest, nodes, cat_bits, leaf_value)
        self._single = KernelCall("lightgbm_trees", roots, depth, nodes, cat_bits, leaf_value)
        if forest.fits_bitvector():
            first, last, leaf_start, splits, value = forest.bitvector(k.LGBM_SPLIT, np.float64)
            binned = binned_splits(splits, forest.max_leaves())
            if binned is not None:
                self.layout = "binned bit vectors"
                self._any_order = True  # reads X column by column: C or Fortran order
                self._run = KernelCall(
                    "binned_bitvector", *binned[:3], first, last, leaf_start, *binned[3:], value
                )
            else:
                self.layout = "bit vectors"
                self._run = KernelCall(
                    "lightgbm_bitvector", first, last, leaf_start, splits, cat_bits, cat_features,
                    value,
                )  # fmt: skip
        else:
            self.layout = "level by level"
            self._run = self._single

    @staticmethod
    def _parse(block: str) -> dict[str, Any]:
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        require("num_leaves" in fields, "unreadable LightGBM tree")
        require(fields.get("is_linear", "0") == "0", "linear LightGBM trees are not supported")

        def arr(name: str, dtype: Any) -> np.ndarray:
            raw = fields.get(name, "").split()
            return np.array([float(v) for v in raw], dtype=np.float64).astype(dtype)

        n = int(fields["num_leaves"])
        tree: dict[str, Any] = {
            "num_leaves": n,
            "num_cat": int(fields.get("num_cat", "0")),
            "leaf_value": arr("leaf_value", np.float64),
        }
        require(len(tree["leaf_value"]) == n, "LightGBM leaf count differs")
        if n > 1:
            tree.update(
                split_feature=arr("split_feature", np.int64),
                threshold=arr("threshold", np.float64),
                decision_type=arr("decision_type", np.int64),
                left_child=arr("left_child", np.int64),
                right_child=arr("right_child", np.int64),
            )
            if tree["num_cat"] > 0:
                tree["cat_boundaries"] = arr("cat_boundaries", np.int64)
                tree["cat_threshold"] = np.array(
                    [int(v) for v in fields["cat_threshold"].split()], dtype=np.uint32
                )
        return tree

    def decision_one(self, x: list[float]) -> float:
        return float(self._row(np.array(x, dtype=np.float64)))

    def decision(self, X: np.ndarray) -> np.ndarray:
        out = np.empty(X.shape[0])
        if (
            self._any_order
            and X.dtype == np.float64
            and (X.flags.c_contiguous or X.flags.f_contiguous)
        ):
            self._run(X, out)
        else:
            self._run(np.ascontiguousarray(X, dtype=np.float64), out)
        return out

    def proba_one(self, x: list[float]) -> float:
        return float(1.0 / (1.0 + np.exp(-self.sigmoid * np.float64(self.decision_one(x)))))

    def proba(self, X: np.ndarray) -> np.ndarray:
        # LightGBM's binary ConvertOutput: 1 / (1 + exp(-sigmoid * raw)), in double
        return 1.0 / (1.0 + np.exp(-self.sigmoid * self.decision(X)))

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.sigmoid * self.decision(X))


class XGBoost(HoldsKernels):
    """``XGBClassifier`` (binary:logistic, gbtree): float32 trees, margin and transform."""

    has_decision = False
    proba_float32 = True

    def __init__(self, model: Any, width: int) -> None:
        binary_classes(model)
        booster = model.get_booster()
        require(booster.num_features() == width, "XGBoost input width differs")
        self.k = k = kernels()
        learner = json.loads(booster.save_raw("json").decode())["learner"]
        require(
            learner["objective"]["name"] == "binary:logistic",
            "XGBoost objective is not binary:logistic",
        )
        gb = learner["gradient_booster"]
        require(gb["name"] == "gbtree", "XGBoost booster is not gbtree")
        raw_trees = gb["model"]["trees"]
        indptr = [int(v) for v in gb["model"].get("iteration_indptr", range(len(raw_trees) + 1))]
        best = getattr(model, "best_iteration", None)
        self.iteration_range = (0, 0)
        if best is not None:
            raw_trees = raw_trees[: indptr[int(best) + 1]]
            self.iteration_range = (0, int(best) + 1)
        require(all(int(g) == 0 for g in gb["model"]["tree_info"]), "XGBoost has several groups")
        self.n_trees = len(raw_trees)
        trees = []
        for t in raw_trees:
            require(not any(int(v) for v in t.get("split_type", [])), "categorical XGBoost splits")
            cond = np.asarray([float(v) for v in t["split_conditions"]], dtype=np.float64).astype(
                np.float32
            )
            require(bool(np.all(np.isfinite(cond))), "XGBoost split condition is not finite")
            left = np.asarray(t["left_children"], dtype=np.int64)
            flag = np.asarray(t["split_indices"], dtype=np.int64) * 2 + np.asarray(
                t["default_left"], dtype=np.int64
            )
            # a leaf's "condition" is its value; fields hold x < c, rewritten below per layout
            trees.append(
                Tree(
                    left,
                    np.asarray(t["right_children"], dtype=np.int64),
                    cond.astype(np.float64),
                    {"t": cond, "f": flag},
                )
            )
        # for float32 x, x < c iff x <= (the float32 just below c)
        for t in trees:
            t.fields["t"] = np.nextafter(t.fields["t"], np.float32(-np.inf), dtype=np.float32)
        forest = Trees(trees)
        roots, depth, nodes, leaf_value = forest.levels(k.NODE, np.float32, {"t": np.inf, "f": 1})
        deepest = int(depth.max())
        self.base = np.float32(0.0)  # set below, once the trees can reproduce XGBoost's margins
        self._single = KernelCall("level_trees", roots, depth, nodes, leaf_value)
        if forest.fits_bitvector():
            vectors = forest.bitvector(k.SPLIT, np.float32)
            self.layout = "bit vectors"
            self._margin = KernelCall("bitvector_trees", *vectors)
        else:
            self.layout = "level by level"
            self._margin = self._single
        raw = str(learner["learner_model_param"]["base_score"]).strip("[]").split(",")[0]
        self.base = self._base_margin(booster, np.float32(float(raw)), width)
        self._row = KernelCall("level_row", roots, deepest, nodes, leaf_value, self.base)
        self.game = tree_game(trees, threshold_split, float32=True, add=float(self.base))

    def _base_margin(self, booster: Any, base_score: np.float32, width: int) -> np.float32:
        """XGBoost's margin of ``base_score``, as XGBoost rounded it (checked on probes)."""
        one = np.float32(1.0)
        guess = np.float32(-np.log(np.float64(one / base_score - one)))
        rng = np.random.default_rng(0)
        probe = rng.normal(size=(64, width)) * 10
        probe[rng.random(probe.shape) < 0.2] = np.nan
        want = np.asarray(
            booster.inplace_predict(
                probe, predict_type="margin", iteration_range=self.iteration_range
            ),
            dtype=np.float32,
        )
        got = np.empty(len(probe), dtype=np.float32)
        X32 = probe.astype(np.float32)
        for step in range(8):
            for sign in (1.0, -1.0):
                candidate = guess
                for _ in range(step):
                    candidate = np.nextafter(candidate, np.float32(sign * np.inf), dtype=np.float32)
                self._margin(X32, np.float32(candidate), got)
                if np.array_equal(got, want):
                    return np.float32(candidate)
        raise NotCompilableError("XGBoost base margin could not be reproduced")

    def _proba32(self, X: np.ndarray) -> np.ndarray:
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        margin = np.empty(X32.shape[0], dtype=np.float32)
        self._margin(X32, self.base, margin)
        out = np.empty_like(margin)
        self.k.xgboost_sigmoid(margin, out)
        return out

    def decision_one(self, x: list[float]) -> float:
        raise NotImplementedError

    def decision(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def proba_one(self, x: list[float]) -> np.float32:
        margin = np.array([self._row(np.array(x, dtype=np.float32))], dtype=np.float32)
        out = np.empty(1, dtype=np.float32)
        self.k.xgboost_sigmoid(margin, out)
        return out[0]

    def proba(self, X: np.ndarray) -> np.ndarray:
        return self._proba32(X)

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        """The float32 margin (what the probability is the sigmoid of), as float64."""
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        margin = np.empty(X32.shape[0], dtype=np.float32)
        self._margin(X32, self.base, margin)
        return margin.astype(np.float64)


class CatBoost(HoldsKernels):
    """``CatBoostClassifier`` (Logloss, numeric features): oblivious trees from its JSON."""

    has_decision = False
    proba_float32 = False

    def __init__(self, model: Any, width: int) -> None:
        binary_classes(model)
        self.k = kernels()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.json")
            model.save_model(path, format="json")
            with open(path) as fh:
                doc = json.load(fh)
        info = doc["features_info"]
        require(
            not info.get("categorical_features") and not info.get("text_features"),
            "CatBoost has non-numeric features",
        )
        floats = info.get("float_features", [])
        require(
            [int(f["flat_feature_index"]) for f in floats] == list(range(len(floats)))
            and len(floats) <= width,
            "CatBoost feature layout differs",
        )
        nan_bit = {
            int(f["flat_feature_index"]): 1 if f.get("nan_value_treatment") == "AsTrue" else 0
            for f in floats
        }
        depth, sstart, lstart, feat, border, nbit, value = ([] for _ in range(7))
        n_splits = n_values = 0
        self.n_trees = len(doc["oblivious_trees"])
        for t in doc["oblivious_trees"]:
            splits = t["splits"]
            require(
                all(s["split_type"] == "FloatFeature" for s in splits),
                "CatBoost split is not numeric",
            )
            depth.append(len(splits))
            sstart.append(n_splits)
            lstart.append(n_values)
            for s in splits:
                f = int(s["float_feature_index"])
                feat.append(f)
                border.append(float(s["border"]))
                nbit.append(nan_bit.get(f, 0))
            n_splits += len(splits)
            leaves = [float(v) for v in t["leaf_values"]]
            require(len(leaves) == 2 ** len(splits), "CatBoost tree has several dimensions")
            value.extend(leaves)
            n_values += len(leaves)
        scale, bias = doc.get("scale_and_bias", [1.0, [0.0]])
        self.scale = float(scale)
        self.bias = float(bias[0] if isinstance(bias, list) else bias)
        self.arrays = (
            np.asarray(depth, dtype=np.int64),
            np.asarray(sstart, dtype=np.int64),
            np.asarray(lstart, dtype=np.int64),
            np.asarray(feat, dtype=np.int64),
            np.asarray(border, dtype=np.float32),
            np.asarray(nbit, dtype=np.int64),
            np.asarray(value, dtype=np.float64),
        )
        self.game = tree_game(
            [self._as_tree(t, nan_bit) for t in doc["oblivious_trees"]],
            threshold_split,
            float32=True,
            mult=self.scale,
            add=self.bias,
            oblivious=self.arrays,
        )

    @staticmethod
    def _as_tree(t: dict[str, Any], nan_bit: dict[int, int]) -> Tree:
        """An oblivious tree as a plain binary tree: level ``d`` goes right (sets bit ``d``
        of the leaf index) when ``x > border``, a missing value as ``nan_bit`` says."""
        splits, leaves = t["splits"], [float(v) for v in t["leaf_values"]]
        depth = len(splits)
        border = [np.float32(float(s["border"])) for s in splits]
        feat = [int(s["float_feature_index"]) for s in splits]
        left: list[int] = []
        right: list[int] = []
        value: list[float] = []
        thr: list[np.float32] = []
        flag: list[int] = []

        def grow(level: int, index: int) -> int:
            node = len(left)
            left.append(-1)
            right.append(-1)
            value.append(0.0)
            thr.append(np.float32(0.0))
            flag.append(0)
            if level == depth:
                value[node] = leaves[index]
                return node
            thr[node] = border[level]
            flag[node] = feat[level] * 2 + (1 - nan_bit.get(feat[level], 0))
            left[node] = grow(level + 1, index)
            right[node] = grow(level + 1, index | (1 << level))
            return node

        grow(0, 0)
        return Tree(
            np.asarray(left, dtype=np.int64),
            np.asarray(right, dtype=np.int64),
            np.asarray(value, dtype=np.float64),
            {"t": np.asarray(thr, dtype=np.float32), "f": np.asarray(flag, dtype=np.int64)},
        )

    def _sum(self, X32: np.ndarray, out: np.ndarray) -> None:
        self.k.oblivious_trees(X32, *self.arrays, out)

    def _raw(self, X: np.ndarray) -> np.ndarray:
        out = np.empty(X.shape[0])
        self._sum(np.ascontiguousarray(X, dtype=np.float32), out)
        return out * self.scale + self.bias

    def decision_one(self, x: list[float]) -> float:
        raise NotImplementedError

    def decision(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def proba_one(self, x: list[float]) -> float:
        out = np.empty(1)
        self._sum(np.array([x], dtype=np.float32), out)
        raw = float(out[0]) * self.scale + self.bias
        return float(1.0 / (1.0 + np.exp(np.float64(-raw))))

    def proba(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self._raw(X)))

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        return self._raw(X)
