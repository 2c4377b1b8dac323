"""The numba kernel of :mod:`creditscore.explain.forest_shap` (imported on first use, so
``import creditscore.explain`` does not compile anything)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def _popcount(m: np.uint64) -> int:
    n = 0
    while m:
        m &= m - np.uint64(1)
        n += 1
    return n


@njit(nogil=True, cache=True)
def _goes_left(v: float, thr: float, missing_left: bool) -> bool:
    if np.isnan(v):
        return missing_left
    return v <= thr


@njit(nogil=True, cache=True)
def baseline_shapley(
    X, ref, roots, left, right, feature, threshold, missing_left, value, fact, out
):
    n, m = X.shape
    cap = 4096
    nodes = np.empty(cap, np.int64)
    mxs = np.empty(cap, np.uint64)
    mrs = np.empty(cap, np.uint64)
    one = np.uint64(1)
    zero = np.uint64(0)
    for i in range(n):
        for t in range(roots.shape[0]):
            top = 1
            nodes[0] = roots[t]
            mxs[0] = zero
            mrs[0] = zero
            while top > 0:
                top -= 1
                node = nodes[top]
                mx = mxs[top]
                mr = mrs[top]
                if left[node] == -1:
                    a = _popcount(mx)
                    b = _popcount(mr)
                    if a + b == 0:
                        continue
                    v = value[node]
                    wp = fact[a - 1] * fact[b] / fact[a + b] * v if a > 0 else 0.0
                    wn = fact[a] * fact[b - 1] / fact[a + b] * v if b > 0 else 0.0
                    for j in range(m):
                        bit = one << np.uint64(j)
                        if mx & bit:
                            out[i, j] += wp
                        elif mr & bit:
                            out[i, j] -= wn
                    continue
                j = feature[node]
                thr = threshold[node]
                ml = missing_left[node]
                cx = left[node] if _goes_left(X[i, j], thr, ml) else right[node]
                cr = left[node] if _goes_left(ref[j], thr, ml) else right[node]
                if top + 2 > cap:  # deeper than any tree we fit; grow the stack
                    cap *= 2
                    nodes2 = np.empty(cap, np.int64)
                    mxs2 = np.empty(cap, np.uint64)
                    mrs2 = np.empty(cap, np.uint64)
                    nodes2[:top] = nodes[:top]
                    mxs2[:top] = mxs[:top]
                    mrs2[:top] = mrs[:top]
                    nodes, mxs, mrs = nodes2, mxs2, mrs2
                if cx == cr:
                    nodes[top] = cx
                    mxs[top] = mx
                    mrs[top] = mr
                    top += 1
                    continue
                bit = one << np.uint64(j)
                if mx & bit:
                    nodes[top] = cx
                    mxs[top] = mx
                    mrs[top] = mr
                    top += 1
                elif mr & bit:
                    nodes[top] = cr
                    mxs[top] = mx
                    mrs[top] = mr
                    top += 1
                else:
                    nodes[top] = cx
                    mxs[top] = mx | bit
                    mrs[top] = mr
                    nodes[top + 1] = cr
                    mxs[top + 1] = mx
                    mrs[top + 1] = mr | bit
                    top += 2
