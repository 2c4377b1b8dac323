"""Exact baseline Shapley values of scikit-learn forests, compiled with numba.

The game is the one ``shap.TreeExplainer`` plays with a single background row ``r`` (the
typical applicant): ``v(S) = f(x_S, r_rest)``. A tree's output is one leaf's value; a leaf
takes part in ``v(S)`` exactly when every split on its path where ``x`` and ``r`` go
different ways is decided the leaf's way: by ``x`` (feature in ``S``) or by ``r`` (feature
not in ``S``). With ``a`` features that must be in ``S`` and ``b`` that must not, the leaf's
Shapley shares are ``v (a-1)! b! / (a+b)!`` for each of the first and
``-v a! (b-1)! / (a+b)!`` for each of the second. Walking only the nodes that ``x`` or ``r``
reaches gives shap's numbers (to 1e-8: shap accumulates in float32; these sum to
``f(x) - f(r)`` to 1e-15) about twice as fast for one applicant (0.25 ms instead of 0.46 ms
for 300 trees on German), without shap's per-call overhead.

Feature sets are 64-bit masks, so a forest over more than 64 encoded columns is left to
shap (:func:`supported` says which).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MAX_FEATURES = 64
FOREST_TYPES = ("RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier")


def supported(estimator: Any) -> bool:
    return (
        type(estimator).__name__ in FOREST_TYPES
        and int(getattr(estimator, "n_features_in_", MAX_FEATURES + 1)) <= MAX_FEATURES
        and list(getattr(estimator, "classes_", [])) == [0, 1]
    )


class ForestArrays:
    """A fitted forest's trees as flat arrays (one node table, a root per tree)."""

    def __init__(self, estimator: Any) -> None:
        trees = getattr(estimator, "estimators_", None) or [estimator]
        roots, left, right, feature, threshold, missing_left, value = [], [], [], [], [], [], []
        offset = 0
        for t in trees:
            tree = t.tree_
            n = tree.node_count
            lc = tree.children_left.astype(np.int64)
            rc = tree.children_right.astype(np.int64)
            leaf = lc == -1
            left.append(np.where(leaf, -1, lc + offset))
            right.append(np.where(leaf, -1, rc + offset))
            feature.append(tree.feature.astype(np.int64))
            threshold.append(tree.threshold.astype(np.float64))
            go_left = getattr(tree, "missing_go_to_left", None)
            missing_left.append(
                np.zeros(n, np.bool_) if go_left is None else go_left.astype(np.bool_)
            )
            counts = tree.value[:, 0, :].astype(np.float64)
            totals = counts.sum(axis=1)
            value.append(np.divide(counts[:, 1], totals, out=np.zeros(n), where=totals > 0))
            roots.append(offset)
            offset += n
        self.roots = np.asarray(roots, dtype=np.int64)
        self.left = np.concatenate(left)
        self.right = np.concatenate(right)
        self.feature = np.concatenate(feature)
        self.threshold = np.concatenate(threshold)
        self.missing_left = np.concatenate(missing_left)
        self.value = np.concatenate(value)
        self.n_trees = len(trees)
        self.n_features = int(estimator.n_features_in_)

    def shapley(self, X: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Rows x features Shapley values of the forest's mean P(class 1) against
        ``reference``; each row sums to ``f(x) - f(reference)``."""
        from creditscore.explain._forest_kernel import baseline_shapley

        # scikit-learn's trees compare float32 values with their thresholds
        Xf = np.ascontiguousarray(np.asarray(X, dtype=np.float32), dtype=np.float64)
        ref = np.asarray(reference, dtype=np.float32).astype(np.float64).reshape(-1)
        out = np.zeros((Xf.shape[0], self.n_features))
        fact = np.asarray([math.factorial(k) for k in range(self.n_features + 1)], dtype=float)
        baseline_shapley(
            Xf, ref, self.roots, self.left, self.right, self.feature, self.threshold,
            self.missing_left, self.value, fact, out,
        )  # fmt: skip
        return out / self.n_trees
