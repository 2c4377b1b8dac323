"""Numba kernels: tree ensembles walked exactly as their libraries do, and the MLP.

Each kernel reproduces one library's split rule and arithmetic, so that its output equals
the library's own prediction to the bit (``creditscore.compiled`` proves it on probe rows
before using a kernel):

* scikit-learn trees: float32 inputs, ``x <= threshold`` goes left (the float64 threshold
  is stored as the largest float32 not above it, which decides every float32 ``x`` the
  same way), a missing value follows the node's ``missing_go_to_left``; float64 sum.
* LightGBM: float64 inputs; numerical splits with the node's missing type (none: a NaN
  is compared as 0; NaN: default direction; zero: NaN and 0 take the default direction);
  categorical splits by bitset, a missing or negative code going right; float64 sum.
* XGBoost: float32 inputs, ``x < condition`` goes left, a missing value follows the
  default direction; the margin is summed in float32 from the base margin, as XGBoost does.
* CatBoost (oblivious trees): float32 inputs, level ``d`` sets bit ``d`` of the leaf index
  when ``x > border``; float64 sum.

Two evaluation schemes, both over blocks of rows with the trees in the outer loop:

* bit vectors (QuickScorer), for ensembles whose trees have at most 64 leaves: every
  split of a tree is tested for the whole block (the block is transposed so that a
  feature's values are contiguous), and a failed test clears the leaves of the split's
  left subtree from each row's 64-bit set of candidate leaves; the exit leaf is the lowest
  bit left. No test depends on another, so the loops pipeline and vectorise.
* level by level, for bigger trees: nodes are numbered breadth first so that a right child
  is ``left + 1``, a leaf points to itself and always "goes left", and the block walks a
  tree one level at a time without branches on the tree shape.

* binned bit vectors, for LightGBM ensembles of plain numeric splits: every threshold of
  a feature is replaced by its rank among the feature's distinct thresholds, and every
  value by its bin (how many of those thresholds lie below it), so that ``x <= t`` is
  ``bin <= rank`` exactly; the tests then run on small integers, and the candidate leaves
  are held in the narrowest word that fits (16 bits for trees of up to 16 leaves), so a
  vector instruction tests 4 to 16 times as many rows as on float64 values.

The per-row sum always runs in tree order, so a row scored alone equals the same row in a
batch. All kernels release the GIL; the caller splits large batches across threads. This
module imports numba, so it is only imported when a tree model is compiled
(``cache=True`` keeps the machine code between runs).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

#: Rows walked together through one tree.
BLOCK = 64

#: Node record of ``level_trees``: float32 threshold (``x <= t`` goes left),
#: ``feature << 1 | bit`` (bit: a missing value goes left), left child (right: ``left + 1``).
NODE = np.dtype([("t", "<f4"), ("f", "<i4"), ("l", "<i4")])
#: Node record of the LightGBM kernel: threshold, feature, left child, kind, start and
#: length (in 32-bit words) of the category bitset. ``k & 3`` is 0 for ``x <= t`` with
#: missing going left iff ``k & 4``, 1 for zero-as-missing (``k & 8``: default left), 2
#: for a categorical split.
LGBM_NODE = np.dtype(
    [
        ("t", "<f8"),
        ("f", "<i4"),
        ("l", "<i4"),
        ("k", "<i4"),
        ("cs", "<i4"),
        ("cl", "<i4"),
        ("pad", "<i4"),
    ]
)

#: Split record of the bit-vector kernels: float32 threshold (``x <= t`` goes left),
#: ``feature << 1 | bit`` (bit: a missing value goes left), leaves kept when the test fails.
SPLIT = np.dtype([("t", "<f4"), ("f", "<i4"), ("m", "<u8")])
#: Split record of the LightGBM bit-vector kernel: fields as in ``LGBM_NODE``, plus ``c``,
#: the categories (codes 0 to 62) that go left as one word, used by kind 3 splits.
LGBM_SPLIT = np.dtype(
    [
        ("t", "<f8"),
        ("f", "<i4"),
        ("k", "<i4"),
        ("cs", "<i4"),
        ("cl", "<i4"),
        ("m", "<u8"),
        ("c", "<u8"),
    ]
)
#: Code standing for "missing, unseen, negative or above 62" in kind 3 splits (never left).
SMALL_CODES = 63

# De Bruijn sequence: index of the lowest set bit of a 64-bit word.
_DEBRUIJN = 0x03F79D71B4CB0A89
_LOWEST_BIT = np.zeros(64, dtype=np.int64)
for _i in range(64):
    _LOWEST_BIT[((_DEBRUIJN << _i) & 0xFFFFFFFFFFFFFFFF) >> 58] = _i

# LightGBM's zero threshold (``kZeroThreshold = 1e-35f``), widened to double as in C++.
_LGBM_ZERO = float(np.float32(1e-35))


@njit(nogil=True, cache=True)
def level_trees(X, roots, depth, nodes, value, base, out):
    """``out[i] = base + sum of leaf values``; splits ``x <= t`` on float32 ``X``.

    ``out`` and ``base`` set the sum's precision (float32 for XGBoost, float64 for
    scikit-learn).
    """
    n = X.shape[0]
    at = np.empty(BLOCK, dtype=np.int32)
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        for i in range(m):
            out[start + i] = base
        for t in range(roots.shape[0]):
            for i in range(m):
                at[i] = roots[t]
            for _ in range(depth[t]):
                for i in range(m):
                    node = nodes[at[i]]
                    v = X[start + i, node.f >> 1]
                    left = (v <= node.t) | (np.isnan(v) & ((node.f & 1) == 1))
                    at[i] = node.l + 1 - np.int32(left)
            for i in range(m):
                out[start + i] += value[at[i]]


@njit(nogil=True, cache=True)
def level_row(x, roots, deepest, nodes, value, base):
    """One row of ``level_trees``: all trees advance a level at a time, so the walks overlap."""
    at = roots.copy()
    for _ in range(deepest):
        for t in range(at.shape[0]):
            node = nodes[at[t]]
            v = x[node.f >> 1]
            left = (v <= node.t) | (np.isnan(v) & ((node.f & 1) == 1))
            at[t] = node.l + 1 - np.int32(left)
    acc = base
    for t in range(at.shape[0]):
        acc += value[at[t]]
    return acc


@njit(nogil=True, cache=True)
def _lightgbm_left(node, v, cat_bits):
    kind = node.k & 3
    if kind == 0:
        return (v <= node.t) | (np.isnan(v) & ((node.k & 4) != 0))
    if kind >= 2:  # missing, unseen or negative codes go right
        if v > -1.0 and v < 2147483647.0:
            code = int(v)
            word = code >> 5
            if word < node.cl:
                return ((cat_bits[node.cs + word] >> (code & 31)) & 1) == 1
        return False
    if np.isnan(v) or (v >= -_LGBM_ZERO and v <= _LGBM_ZERO):
        return (node.k & 8) != 0  # zero-as-missing: default direction
    return v <= node.t


@njit(nogil=True, cache=True)
def lightgbm_row(x, roots, deepest, nodes, cat_bits, value):
    """One row of ``lightgbm_trees`` (all trees advance together)."""
    at = roots.copy()
    for _ in range(deepest):
        for t in range(at.shape[0]):
            node = nodes[at[t]]
            left = _lightgbm_left(node, x[node.f], cat_bits)
            at[t] = node.l + 1 - np.int32(left)
    acc = 0.0
    for t in range(at.shape[0]):
        acc += value[at[t]]
    return acc


@njit(nogil=True, cache=True)
def lightgbm_trees(X, roots, depth, nodes, cat_bits, value, out):
    """LightGBM raw score (``X`` float64); node kinds as in ``LGBM_NODE``."""
    n = X.shape[0]
    at = np.empty(BLOCK, dtype=np.int32)
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        for i in range(m):
            out[start + i] = 0.0
        for t in range(roots.shape[0]):
            for i in range(m):
                at[i] = roots[t]
            for _ in range(depth[t]):
                for i in range(m):
                    node = nodes[at[i]]
                    left = _lightgbm_left(node, X[start + i, node.f], cat_bits)
                    at[i] = node.l + 1 - np.int32(left)
            for i in range(m):
                out[start + i] += value[at[i]]


@njit(nogil=True, cache=True)
def oblivious_trees(X, depth, split_start, leaf_start, feature, border, nan_bit, value, out):
    """CatBoost raw sum (``X`` float32): level ``d`` of a tree sets bit ``d`` of the leaf."""
    n = X.shape[0]
    if n < 8:  # a few rows: walk them directly (no block to transpose)
        for i in range(n):
            acc = 0.0
            for t in range(depth.shape[0]):
                leaf = 0
                s0 = split_start[t]
                for d in range(depth[t]):
                    v = X[i, feature[s0 + d]]
                    bit = nan_bit[s0 + d] if np.isnan(v) else (1 if v > border[s0 + d] else 0)
                    leaf |= bit << d
                acc += value[leaf_start[t] + leaf]
            out[i] = acc
        return
    index = np.empty(BLOCK, dtype=np.int64)
    XT = np.empty((X.shape[1], BLOCK), dtype=X.dtype)
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        _transpose_block(X, start, m, XT)
        for i in range(m):
            out[start + i] = 0.0
        for t in range(depth.shape[0]):
            for i in range(m):
                index[i] = 0
            for d in range(depth[t]):
                s = split_start[t] + d
                col = XT[feature[s]]
                b = border[s]
                nb = nan_bit[s]
                for i in range(m):
                    v = col[i]
                    bit = nb if np.isnan(v) else (1 if v > b else 0)
                    index[i] |= bit << d
            l0 = leaf_start[t]
            for i in range(m):
                out[start + i] += value[l0 + index[i]]


@njit(nogil=True, cache=True)
def _transpose_block(X, start, m, XT):
    for i in range(m):
        for f in range(X.shape[1]):
            XT[f, i] = X[start + i, f]


@njit(nogil=True, cache=True)
def _exit_leaf(alive):
    low = alive & (~alive + np.uint64(1))
    return _LOWEST_BIT[(low * np.uint64(_DEBRUIJN)) >> np.uint64(58)]


@njit(nogil=True, cache=True)
def bitvector_trees(X, first, last, leaf_start, splits, value, base, out):
    """``out[i] = base + sum of leaf values``; splits ``x <= t`` on float32 ``X``.

    Tree ``t`` owns ``splits[first[t]:last[t]]`` and ``value[leaf_start[t]:]`` (leaves in
    left-to-right order). ``out`` and ``base`` set the sum's precision (float32 for
    XGBoost, float64 for scikit-learn).
    """
    n = X.shape[0]
    alive = np.empty(BLOCK, dtype=np.uint64)
    XT = np.empty((X.shape[1], BLOCK), dtype=X.dtype)
    everything = np.uint64(0xFFFFFFFFFFFFFFFF)
    zero = np.uint64(0)
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        _transpose_block(X, start, m, XT)
        for i in range(m):
            out[start + i] = base
        for t in range(first.shape[0]):
            for i in range(m):
                alive[i] = everything
            for j in range(first[t], last[t]):
                split = splits[j]
                col = XT[split.f >> 1]
                threshold = split.t
                nan_left = (split.f & 1) == 1
                keep = split.m
                for i in range(m):
                    v = col[i]
                    left = (v <= threshold) | (np.isnan(v) & nan_left)
                    alive[i] &= keep | (zero - np.uint64(left))  # all ones if left
            l0 = leaf_start[t]
            for i in range(m):
                out[start + i] += value[l0 + _exit_leaf(alive[i])]


@njit(nogil=True, cache=True)
def lightgbm_bitvector(X, first, last, leaf_start, splits, cat_bits, cat_features, value, out):
    """LightGBM raw score by bit vectors (``X`` float64); split kinds as in ``LGBM_NODE``.

    Kind 3 is a categorical split whose left categories are all below ``SMALL_CODES``: the
    block's codes of the ``cat_features`` columns are computed once, and the test is a
    shift of the split's one-word category set.
    """
    n = X.shape[0]
    alive = np.empty(BLOCK, dtype=np.uint64)
    XT = np.empty((X.shape[1], BLOCK), dtype=np.float64)
    codes = np.empty((X.shape[1], BLOCK), dtype=np.int64)
    everything = np.uint64(0xFFFFFFFFFFFFFFFF)
    zero = np.uint64(0)
    one = np.uint64(1)
    for start in range(0, n, BLOCK):
        m = min(BLOCK, n - start)
        _transpose_block(X, start, m, XT)
        for f in cat_features:
            for i in range(m):
                v = XT[f, i]
                # C's static_cast<int> truncates: (-1, 0) is code 0; NaN fails both tests
                codes[f, i] = int(v) if (v > -1.0 and v < SMALL_CODES) else SMALL_CODES
        for i in range(m):
            out[start + i] = 0.0
        for t in range(first.shape[0]):
            for i in range(m):
                alive[i] = everything
            for j in range(first[t], last[t]):
                split = splits[j]
                col = XT[split.f]
                threshold = split.t
                keep = split.m
                kind = split.k & 3
                if kind == 0:
                    nan_left = (split.k & 4) != 0
                    for i in range(m):
                        v = col[i]
                        left = (v <= threshold) | (np.isnan(v) & nan_left)
                        alive[i] &= keep | (zero - np.uint64(left))  # all ones if left
                elif kind == 3:
                    code_col = codes[split.f]
                    chosen = split.c
                    for i in range(m):
                        left = (chosen >> np.uint64(code_col[i])) & one
                        alive[i] &= keep | (zero - left)
                elif kind == 2:  # missing, unseen or negative codes go right
                    words = split.cl
                    first_word = split.cs
                    for i in range(m):
                        v = col[i]
                        valid = (v > -1.0) & (v < 2147483647.0)  # False for NaN
                        code = int(v if valid else 0.0)
                        word = code >> 5
                        valid &= word < words
                        bits = cat_bits[first_word + (word if valid else 0)]
                        left = valid & (((bits >> (code & 31)) & 1) == 1)
                        alive[i] &= keep | (zero - np.uint64(left))  # all ones if left
                else:  # zero-as-missing: NaN and 0 take the default direction
                    default_left = (split.k & 8) != 0
                    for i in range(m):
                        v = col[i]
                        if np.isnan(v) or (v >= -_LGBM_ZERO and v <= _LGBM_ZERO):
                            left = default_left
                        else:
                            left = v <= threshold
                        alive[i] &= keep | (zero - np.uint64(left))  # all ones if left
            l0 = leaf_start[t]
            for i in range(m):
                out[start + i] += value[l0 + _exit_leaf(alive[i])]


#: Rows of a block of the binned kernel.
BINNED_BLOCK = 256


@njit(nogil=True, cache=True)
def _bin_block(X, start, m, features, edges, edge_start, ones, B, xt, count):
    """Bins of rows ``start:start + m`` of ``X``: row ``2 j`` of ``B`` holds feature
    ``features[j]``'s bin (how many of its sorted distinct thresholds lie below the value;
    ``ones``, the largest word, for a missing value), row ``2 j + 1`` the bin plus one
    (0 for a missing value)."""
    for j in range(features.shape[0]):
        f = features[j]
        for i in range(m):
            xt[i] = X[start + i, f]
            count[i] = 0
        for e in range(edge_start[j], edge_start[j + 1]):
            edge = edges[e]
            for i in range(m):
                count[i] += xt[i] > edge  # False for NaN
        for i in range(m):
            if np.isnan(xt[i]):
                B[2 * j, i] = ones
                B[2 * j + 1, i] = 0
            else:
                B[2 * j, i] = count[i]
                B[2 * j + 1, i] = count[i] + 1


@njit(nogil=True, cache=True)
def binned_bitvector(
    X, features, edges, edge_start, first, last, leaf_start, column, rank, keep, ones, value, out
):
    """LightGBM raw score of plain numeric splits (``x <= t``, a missing value left or
    right) on bins (see :func:`_bin_block`): split ``s`` goes left iff
    ``B[column[s]] <= rank[s]``. A split whose missing values go left reads the bin plus
    one against its threshold's rank plus one (a missing value is 0 there: left); the
    others read the bin against the rank (a missing value is ``ones``, the largest word:
    right). ``keep``, ``rank`` and ``ones`` are words of one unsigned type, at least one
    bit per leaf; leaves, sum and order as in :func:`lightgbm_bitvector`, so the result is
    the same to the bit.
    """
    n = X.shape[0]
    B = np.empty((2 * features.shape[0], BINNED_BLOCK), dtype=keep.dtype)
    alive = np.empty(BINNED_BLOCK, dtype=keep.dtype)
    xt = np.empty(BINNED_BLOCK, dtype=np.float64)
    count = np.empty(BINNED_BLOCK, dtype=np.int64)
    acc = np.empty(BINNED_BLOCK, dtype=np.float64)
    for start in range(0, n, BINNED_BLOCK):
        m = min(BINNED_BLOCK, n - start)
        _bin_block(X, start, m, features, edges, edge_start, ones, B, xt, count)
        for i in range(m):
            acc[i] = 0.0
        for t in range(first.shape[0]):
            for i in range(m):
                alive[i] = ones
            for s in range(first[t], last[t]):
                col = B[column[s]]
                r = rank[s]
                kept = keep[s]
                for i in range(m):
                    alive[i] &= kept if col[i] > r else ones
            l0 = leaf_start[t]
            for i in range(m):
                acc[i] += value[l0 + trailing_zeros(alive[i])]  # type: ignore[call-arg]
        for i in range(m):
            out[start + i] = acc[i]


@njit(nogil=True, cache=True)
def xgboost_sigmoid(margin, out):
    """XGBoost's float32 logistic transform of a float32 margin."""
    one = np.float32(1.0)
    cap = np.float32(88.7)
    eps = np.float32(1e-16)
    for i in range(margin.shape[0]):
        x = min(-margin[i], cap)
        out[i] = one / (np.exp(x) + one + eps)


@njit(nogil=True, cache=True)
def mlp_logits(X, weights, biases, out):
    """MLP logit of each row: ``relu(x @ W + b)`` per hidden layer, a plain last layer.

    Each unit sums its bias, then ``x[j] * W[j, u]`` for ``j`` in order, for any number of
    rows: unlike a BLAS matrix product, a row gives the same bits alone or in a batch.
    """
    n_layers = len(weights)
    for i in range(X.shape[0]):
        current = X[i].copy()
        for k in range(n_layers):
            W = weights[k]
            following = biases[k].copy()
            for j in range(W.shape[0]):
                xj = current[j]
                for u in range(W.shape[1]):
                    following[u] += xj * W[j, u]
            if k < n_layers - 1:
                for u in range(following.shape[0]):
                    if following[u] < 0.0:
                        following[u] = 0.0
            current = following
        out[i] = current[0]
