"""Numba kernels for contributions: baseline Shapley values of tree ensembles and of the MLP.

Both play the same game, against one reference applicant ``r`` (the typical applicant):
``v(S) = f(x_S, r_rest)``, the model's output when the features in ``S`` take the
applicant's values and the others the reference's (interventional, or baseline, Shapley
values; ``shap.TreeExplainer(model, data=r, feature_perturbation="interventional")`` computes
the same numbers for trees).

Trees (:func:`tree_shapley`), exactly: a tree's output is one leaf's value, and a leaf takes
part in ``v(S)`` when every split on its path where ``x`` and ``r`` go different ways is
decided the leaf's way, by ``x`` (the split's column in ``S``) or by ``r`` (not in ``S``). So
each tree is walked with ``x`` and ``r`` together: where they agree, one child; where they
part on a column already decided on this path, that side; else both children, the column
siding with ``x`` on one and with ``r`` on the other. A leaf reached with ``a`` columns siding
with ``x`` and ``b`` with ``r`` gives each of the first ``+v (a-1)! b! / (a+b)!`` and each of
the second ``-v a! (b-1)! / (a+b)!``: the leaf's Shapley shares, which add up, over the
leaves, to ``f(x) - f(r)``. Players are the encoded columns (a one-hot column is one), and
their values are summed into the feature owning them. Nodes use LightGBM's split rule
(``kernels._lightgbm_left``), which covers the others: scikit-learn, XGBoost and CatBoost
nodes are stored as "``x <= t``, NaN to one side" on float32-rounded inputs. Ensembles
without LightGBM's zero-as-missing splits (every one but LightGBM trained with
``zero_as_missing``) walk plain arrays instead of node records
(:func:`threshold_tree_shapley`, the same numbers). CatBoost's
oblivious trees have a kernel of their own (:func:`oblivious_shapley`, 2-3x faster): a level
tests one column for every node, so the players of a tree are the columns of the levels
where ``x`` and ``r`` part, and each coalition's leaf is one index lookup.

MLP (:func:`mlp_permutation`): antithetic permutation Shapley values with a fixed, seeded
set of orders. Along an order the features switch from ``r`` to ``x`` one by one; the first
layer is linear, so a switch adds the feature's precomputed share to the pre-activations and
only the layers after it are recomputed; a feature equal to the reference is skipped (its
marginal contribution is 0). Each order's marginal contributions telescope to
``f(x) - f(r)``, so a row's values add up exactly whatever the number of orders.

Every row is computed on its own, features and trees in a fixed order: a row alone gives
the same bits as in any batch or thread. :func:`top_contributions` ranks a row's
contributions for reason codes the same way for one row and for a frame.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numba import njit

from creditscore.compiled.kernels import _lightgbm_left

#: Rows are walked in blocks of this many, tree by tree: a tree's nodes stay in the cache
#: and its branches predictable from one row to the next (about 30 % faster than row by row
#: on 300 LightGBM trees). Each row still adds its trees in the same order, so a row alone
#: gives the same bits as in any block.
SHAPLEY_BLOCK = 2048

#: Node record of the tree walk: threshold, split column, left and right child (-1 at a
#: leaf), kind (as ``kernels.LGBM_NODE``: ``k & 3`` 0 for ``x <= t`` with NaN left iff
#: ``k & 4``, 1 for LightGBM's zero-as-missing, 2 for a category bitset), bitset start/length.
SHAP_NODE = np.dtype(
    [
        ("t", "<f8"),
        ("f", "<i4"),
        ("l", "<i4"),
        ("r", "<i4"),
        ("k", "<i4"),
        ("cs", "<i4"),
        ("cl", "<i4"),
    ]
)


def shapley_weights(depth: int) -> tuple[np.ndarray, np.ndarray]:
    """``(pos, neg)``: ``pos[a, b] = (a-1)! b! / (a+b)!``, ``neg[a, b] = a! (b-1)! / (a+b)!``
    (exact fractions rounded once)."""
    size = depth + 1
    pos = np.zeros((size, size))
    neg = np.zeros((size, size))
    f = math.factorial
    for a in range(size):
        for b in range(size):
            if a + b == 0 or a + b > depth:
                continue
            if a:
                pos[a, b] = float(Fraction(f(a - 1) * f(b), f(a + b)))
            if b:
                neg[a, b] = float(Fraction(f(a) * f(b - 1), f(a + b)))
    return pos, neg


@njit(nogil=True, cache=True)
def directions(nodes, cat_bits, x, out):
    """``out[node] = 1`` where row ``x`` goes left at a split (the reference's walk)."""
    for i in range(nodes.shape[0]):
        nd = nodes[i]
        if nd.l >= 0:
            out[i] = 1 if _lightgbm_left(nd, x[nd.f], cat_bits) else 0


@njit(nogil=True, cache=True)
def tree_shapley(X, nodes, roots, value, cat_bits, ref_left, owner, pos, neg, out):
    """Adds each row's baseline Shapley values (vs the reference whose directions are
    ``ref_left``) of the sum of the trees' leaves to ``out[row, owner[column]]``."""
    n, width = X.shape
    size = pos.shape[0]
    side = np.zeros(width, np.int8)  # 0: undecided on this path, 1: sides with x, 2: with r
    path_col = np.empty(size, np.int64)
    path_side = np.empty(size, np.int8)
    st_node = np.empty(size + 1, np.int64)
    st_len = np.empty(size + 1, np.int64)
    st_col = np.empty(size + 1, np.int64)
    for b0 in range(0, n, SHAPLEY_BLOCK):
        b1 = min(n, b0 + SHAPLEY_BLOCK)
        for t in range(roots.shape[0]):
            for i in range(b0, b1):
                top = 0
                cur = 0
                node = roots[t]
                while True:
                    while nodes[node].l >= 0:
                        nd = nodes[node]
                        j = nd.f
                        xl = _lightgbm_left(nd, X[i, j], cat_bits)
                        rl = ref_left[node] == 1
                        if xl == rl:
                            node = nd.l if xl else nd.r
                            continue
                        s = side[j]
                        if s == 1:
                            node = nd.l if xl else nd.r
                        elif s == 2:
                            node = nd.l if rl else nd.r
                        else:  # both ways: r's side waits on the stack, x's is walked now
                            st_node[top] = nd.l if rl else nd.r
                            st_len[top] = cur
                            st_col[top] = j
                            top += 1
                            path_col[cur] = j
                            path_side[cur] = 1
                            side[j] = 1
                            cur += 1
                            node = nd.l if xl else nd.r
                    if cur > 0:
                        a = 0
                        for q in range(cur):
                            if path_side[q] == 1:
                                a += 1
                        b = cur - a
                        v = value[node]
                        wp = pos[a, b] * v
                        wn = neg[a, b] * v
                        for q in range(cur):
                            if path_side[q] == 1:
                                out[i, owner[path_col[q]]] += wp
                            else:
                                out[i, owner[path_col[q]]] -= wn
                    if top == 0:
                        break
                    top -= 1
                    length = st_len[top]
                    for q in range(length, cur):
                        side[path_col[q]] = 0
                    j = st_col[top]
                    path_col[length] = j
                    path_side[length] = 2
                    side[j] = 2
                    cur = length + 1
                    node = st_node[top]
                for q in range(cur):
                    side[path_col[q]] = 0


@njit(nogil=True, cache=True)
def threshold_tree_shapley(X, feature, threshold, left, right, flags, cat_start, cat_len,
                           cat_bits, roots, value, owner, pos, neg, out):  # fmt: skip
    """:func:`tree_shapley` for trees of ``x <= t`` splits (scikit-learn and XGBoost in
    float32, LightGBM in float64) and LightGBM's category sets, as plain arrays: ``flags``
    bit 0 sends NaN left, bit 1 the reference, bit 2 marks a category set (the code's bit
    in ``cat_bits[cat_start:cat_start + cat_len]`` sends it left; as
    ``kernels._lightgbm_left``). About 1.5x faster than the record walk."""
    n, width = X.shape
    size = pos.shape[0] + 1
    side = np.zeros(width, np.int8)
    path_col = np.empty(size, np.int32)
    path_x = np.empty(size, np.bool_)
    st_node = np.empty(size, np.int32)
    st_len = np.empty(size, np.int32)
    st_col = np.empty(size, np.int32)
    st_a = np.empty(size, np.int32)
    for b0 in range(0, n, SHAPLEY_BLOCK):
        b1 = min(n, b0 + SHAPLEY_BLOCK)
        for t in range(roots.shape[0]):
            for i in range(b0, b1):
                x = X[i]
                o = out[i]
                top = 0
                cur = 0
                a = 0
                node = roots[t]
                while True:
                    lc = left[node]
                    while lc >= 0:
                        j = feature[node]
                        v = x[j]
                        fl = flags[node]
                        if fl & 4:  # a category set: missing, unseen or negative codes go right
                            xl = False
                            if v > -1.0 and v < 2147483647.0:
                                code = int(v)
                                word = code >> 5
                                if word < cat_len[node]:
                                    bits = cat_bits[cat_start[node] + word]
                                    xl = ((bits >> (code & 31)) & 1) == 1
                        else:
                            xl = (v <= threshold[node]) or ((v != v) and (fl & 1) != 0)
                        rl = (fl & 2) != 0
                        if xl != rl:
                            s = side[j]
                            if s == 0:  # both ways: r's side waits on the stack
                                st_node[top] = lc if rl else right[node]
                                st_len[top] = cur
                                st_col[top] = j
                                st_a[top] = a
                                top += 1
                                path_col[cur] = j
                                path_x[cur] = True
                                side[j] = 1
                                cur += 1
                                a += 1
                            elif s == 2:
                                xl = rl
                        node = lc if xl else right[node]
                        lc = left[node]
                    if cur > 0:
                        b = cur - a
                        v = value[node]
                        wp = pos[a, b] * v
                        wn = neg[a, b] * v
                        for q in range(cur):
                            if path_x[q]:
                                o[owner[path_col[q]]] += wp
                            else:
                                o[owner[path_col[q]]] -= wn
                    if top == 0:
                        break
                    top -= 1
                    length = st_len[top]
                    for q in range(length, cur):
                        side[path_col[q]] = 0
                    j = st_col[top]
                    path_col[length] = j
                    path_x[length] = False
                    side[j] = 2
                    cur = length + 1
                    a = st_a[top]
                    node = st_node[top]
                for q in range(cur):
                    side[path_col[q]] = 0


def coalition_weights(depth: int) -> np.ndarray:
    """``w[s, m] = s! (m-s-1)! / m!``: the Shapley weight of a coalition of ``s`` of the
    other ``m - 1`` players."""
    f = math.factorial
    w = np.zeros((depth + 1, depth + 1))
    for m in range(1, depth + 1):
        for k in range(m):
            w[k, m] = float(Fraction(f(k) * f(m - k - 1), f(m)))
    return w


@njit(nogil=True, cache=True)
def oblivious_bits(x, depth, split_start, feature, border, nan_bit, out):
    """Each oblivious tree's leaf index for row ``x`` (bit ``d``: level ``d`` went right)."""
    for t in range(depth.shape[0]):
        s0 = split_start[t]
        leaf = 0
        for d in range(depth[t]):
            v = x[feature[s0 + d]]
            bit = nan_bit[s0 + d] if v != v else (1 if v > border[s0 + d] else 0)
            leaf |= bit << d
        out[t] = leaf


@njit(nogil=True, cache=True)
def oblivious_shapley(
    X, depth, split_start, leaf_start, feature, border, nan_bit, value, ref_bits, owner, w, out
):
    """Baseline Shapley values of oblivious trees (CatBoost), tree by tree: the levels where
    the row and the reference part, grouped by column, are the players; every coalition's
    leaf is the reference's with those levels flipped to the row's side (at most
    ``2 ** depth`` lookups), and each player's value is the weighted sum of its marginal
    contributions."""
    n = X.shape[0]
    most = w.shape[0] - 1
    cols = np.empty(most, np.int64)
    masks = np.empty(most, np.int64)
    vs = np.empty(1 << most)
    at = np.empty(1 << most, np.int64)
    size = np.zeros(1 << most, np.int64)  # popcount
    low = np.zeros(1 << most, np.int64)  # index of the lowest set bit
    for T in range(1, 1 << most):
        size[T] = size[T & (T - 1)] + 1
        b = 0
        while not (T >> b) & 1:
            b += 1
        low[T] = b
    for b0 in range(0, n, SHAPLEY_BLOCK):
        b1 = min(n, b0 + SHAPLEY_BLOCK)
        for t in range(depth.shape[0]):
            for i in range(b0, b1):
                x = X[i]
                o = out[i]
                s0 = split_start[t]
                leaf = 0
                for d in range(depth[t]):
                    v = x[feature[s0 + d]]
                    bit = nan_bit[s0 + d] if v != v else (1 if v > border[s0 + d] else 0)
                    leaf |= bit << d
                diff = leaf ^ ref_bits[t]
                if diff == 0:
                    continue
                m = 0
                for d in range(depth[t]):
                    if (diff >> d) & 1:
                        c = feature[s0 + d]
                        k = 0
                        while k < m and cols[k] != c:
                            k += 1
                        if k == m:
                            cols[m] = c
                            masks[m] = 0
                            m += 1
                        masks[k] |= 1 << d
                l0 = leaf_start[t]
                at[0] = ref_bits[t]
                vs[0] = value[l0 + at[0]]
                for T in range(1, 1 << m):  # coalition T's leaf: T without its lowest player's
                    at[T] = at[T & (T - 1)] ^ masks[low[T]]
                    vs[T] = value[l0 + at[T]]
                for k in range(m):
                    bit = 1 << k
                    acc = 0.0
                    for T in range(1 << m):
                        if T & bit:
                            continue
                        acc += w[size[T], m] * (vs[T | bit] - vs[T])
                    o[owner[cols[k]]] += acc


@njit(nogil=True, cache=True)
def _mlp_rest(h, weights, biases, work):
    """The MLP's logit from the first layer's pre-activations ``h`` (``work``: a buffer per
    layer after the first)."""
    n_layers = len(weights)
    if n_layers == 1:
        return h[0]
    current = h
    for k in range(1, n_layers):
        W = weights[k]
        following = work[k - 1]
        following[:] = biases[k]
        for j in range(W.shape[0]):
            xj = current[j]
            if xj > 0.0:  # ReLU: a unit at or below 0 adds nothing
                for u in range(W.shape[1]):
                    following[u] += xj * W[j, u]
        current = following
    return current[0]


def mlp_buffers(biases: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    return tuple(np.empty(len(b)) for b in biases[1:]) or (np.empty(1),)


@njit(nogil=True, cache=True)
def mlp_reference(ref, weights, biases, work):
    """First-layer pre-activations of the reference row, and its logit."""
    W = weights[0]
    h = biases[0].copy()
    for j in range(W.shape[0]):
        rj = ref[j]
        for u in range(W.shape[1]):
            h[u] += rj * W[j, u]
    return h, _mlp_rest(h, weights, biases, work)


@njit(nogil=True, cache=True)
def mlp_permutation(X, ref, h_ref, z_ref, z_x, owner, orders, weights, biases, work, out):
    """Permutation Shapley values of the MLP's logit for each row of ``X`` against ``ref``
    (``owner``: encoded column -> player; ``orders``: player orders; ``z_x``: each row's
    logit, ``z_ref``/``h_ref``: the reference's logit and first-layer pre-activations;
    ``work``: :func:`mlp_buffers`)."""
    n, width = X.shape
    n_orders, n_players = orders.shape
    W = weights[0]
    units = W.shape[1]
    share = np.zeros((n_players, units))
    moves = np.zeros(n_players, np.bool_)
    h = np.empty(units)
    for i in range(n):
        share[:, :] = 0.0
        moves[:] = False
        for j in range(width):
            d = X[i, j] - ref[j]
            if d != 0.0:
                g = owner[j]
                moves[g] = True
                for u in range(units):
                    share[g, u] += d * W[j, u]
        for s in range(n_orders):
            last = -1
            for k in range(n_players - 1, -1, -1):
                if moves[orders[s, k]]:
                    last = k
                    break
            h[:] = h_ref
            previous = z_ref
            for k in range(last + 1):
                g = orders[s, k]
                if not moves[g]:
                    continue
                if k == last:
                    current = z_x[i]
                else:
                    for u in range(units):
                        h[u] += share[g, u]
                    current = _mlp_rest(h, weights, biases, work)
                out[i, g] += current - previous
                previous = current
        for g in range(n_players):
            out[i, g] /= n_orders


@njit(nogil=True, cache=True)
def linear_terms(X, w, owner, centre, out):
    """``out[i, owner[j]] += X[i, j] * w[j]`` column by column, then ``- centre``."""
    n, width = X.shape
    for i in range(n):
        for j in range(width):
            out[i, owner[j]] += X[i, j] * w[j]
        for g in range(out.shape[1]):
            out[i, g] -= centre[g]


@njit(nogil=True, cache=True)
def to_log_odds(psi, p0, eps, phi, base):
    """Probability-scale contributions ``psi`` (each row sums to ``p - p0``) to the log-odds
    scale: each row times ``(logit p - logit p0) / (p - p0)`` (the logit's slope when
    ``p == p0``), so it sums to ``logit p - logit p0`` and keeps signs and proportions."""
    n, m = psi.shape
    for i in range(n):
        delta = 0.0
        for g in range(m):
            delta += psi[i, g]
        q0 = min(max(p0[i], eps), 1.0 - eps)
        z0 = math.log(q0 / (1.0 - q0))
        p = min(max(p0[i] + delta, eps), 1.0 - eps)
        if abs(delta) < 1e-12:  # the logit's slope at p
            ratio = 1.0 / (p * (1.0 - p))
        else:
            ratio = (math.log(p / (1.0 - p)) - z0) / delta
        for g in range(m):
            phi[i, g] = psi[i, g] * ratio
        base[i] = z0


@njit(nogil=True, cache=True)
def blend_to_probability(C, b, weight, psi, p0):
    """Adds one blend member's log-odds contributions ``C`` (base ``b``) to ``psi`` on the
    probability scale, with the member's weight (each row then sums to ``p - p_b``), and its
    base probability to ``p0``."""
    n, m = C.shape
    for i in range(n):
        z = b[i]
        for g in range(m):
            z += C[i, g]
        p = 0.5 * (1.0 + math.tanh(0.5 * z))
        pb = 0.5 * (1.0 + math.tanh(0.5 * b[i]))
        dz = z - b[i]
        ratio = p * (1.0 - p) if abs(dz) < 1e-12 else (p - pb) / dz
        for g in range(m):
            psi[i, g] += weight * C[i, g] * ratio
        p0[i] += weight * pb


@njit(nogil=True, cache=True)
def top_contributions(C, columns, floor, scale, k, order):
    """Per row of ``C``, the positions in ``columns`` of its ``k`` largest values above
    ``floor``, largest first; values equal once rounded to ``1 / scale`` go to the lower
    position (``order[row, slot]``; -1 where a row has fewer)."""
    n = C.shape[0]
    m = columns.shape[0]
    keys = np.empty(m)
    for i in range(n):
        count = 0
        for e in range(m):
            v = C[i, columns[e]]
            if not v > floor:
                continue
            key = np.rint(v * scale)
            keys[e] = key
            at = count
            while at > 0 and keys[order[i, at - 1]] < key:
                at -= 1
            if at >= k:
                continue
            last = count if count < k else k - 1
            for q in range(last, at, -1):
                order[i, q] = order[i, q - 1]
            order[i, at] = e
            if count < k:
                count += 1
        for q in range(count, k):
            order[i, q] = -1
