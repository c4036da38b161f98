"""numpy's float32 reductions, reproduced bit for bit inside numba kernels.

The official metric code takes ``np.mean``, ``np.var`` and ``np.std`` of float32 columns. numpy
reduces a 1-d float32 array (contiguous or strided) with its pairwise summation in float32:

* fewer than 8 items: one running sum from 0;
* 8 to 128 items: 8 running sums over items ``i = j (mod 8)`` for the largest multiple of 8,
  combined as ``((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))``, then the remaining items
  added one by one;
* more than 128 items: split at ``n2 = n // 2`` rounded down to a multiple of 8, and the sums of
  both halves added.

``np.mean`` divides that float32 sum by the count in float64 (the count is an ``np.intp``) and
rounds to float32; ``np.var`` subtracts the float32 mean, squares in float32, sums pairwise and
divides likewise; ``np.std`` is the float32 square root of that. Reducing a 2-d array over
``axis=0`` is a different (sequential) order: these helpers follow the 1-d column reductions the
official code performs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_BLOCK = 128  # numpy's PW_BLOCKSIZE


@njit(cache=True, error_model="numpy")
def _leaf(a, lo, n):
    """Pairwise-sum leaf over a[lo:lo + n] (n <= 128), float32."""
    if n < 8:
        res = np.float32(0.0)
        for i in range(n):
            res = res + a[lo + i]
        return res
    r0 = a[lo]
    r1 = a[lo + 1]
    r2 = a[lo + 2]
    r3 = a[lo + 3]
    r4 = a[lo + 4]
    r5 = a[lo + 5]
    r6 = a[lo + 6]
    r7 = a[lo + 7]
    i = 8
    end = n - n % 8
    while i < end:
        r0 = r0 + a[lo + i]
        r1 = r1 + a[lo + i + 1]
        r2 = r2 + a[lo + i + 2]
        r3 = r3 + a[lo + i + 3]
        r4 = r4 + a[lo + i + 4]
        r5 = r5 + a[lo + i + 5]
        r6 = r6 + a[lo + i + 6]
        r7 = r7 + a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res = res + a[lo + i]
        i += 1
    return res


@njit(cache=True)
def _stack(n):
    """numpy's pairwise recursion over n items as an explicit stack: (lo, n, state) arrays
    (128,) int64 holding the whole range at 0; state 0 = split, 1 = combine."""
    los = np.empty(128, dtype=np.int64)
    ns = np.empty(128, dtype=np.int64)
    states = np.empty(128, dtype=np.int64)
    los[0] = 0
    ns[0] = n
    states[0] = 0
    return los, ns, states


@njit(cache=True)
def _split(los, ns, states, top):
    """Mark the range at ``top`` to be combined and push its halves (split at ``n // 2``
    rounded down to a multiple of 8), the right one first so the left one is summed first;
    returns the new top."""
    lo = los[top]
    m = ns[top]
    n2 = m // 2
    n2 -= n2 % 8
    states[top] = 1
    top += 1
    los[top] = lo + n2
    ns[top] = m - n2
    states[top] = 0
    top += 1
    los[top] = lo
    ns[top] = n2
    states[top] = 0
    return top


@njit(cache=True, error_model="numpy")
def pairwise_sum_f32(a):
    """numpy's float32 pairwise sum of the 1-d float32 array ``a`` (any stride)."""
    n = a.shape[0]
    if n <= _BLOCK:
        return _leaf(a, np.int64(0), n)  # not a literal 0: one compiled _leaf
    los, ns, states = _stack(n)
    vals = np.empty(128, dtype=np.float32)
    nv = 0
    top = np.int64(0)  # typed as int64 from the start: no extra compile for a literal 0
    while top >= 0:
        lo = los[top]
        m = ns[top]
        if states[top] == 1:  # both halves done: their sums are the last two values
            vals[nv - 2] = vals[nv - 2] + vals[nv - 1]
            nv -= 1
            top -= 1
        elif m <= _BLOCK:
            vals[nv] = _leaf(a, lo, m)
            nv += 1
            top -= 1
        else:
            top = _split(los, ns, states, top)
    return vals[0]


@njit(cache=True, error_model="numpy")
def _leaf_rows(x, lo, n, out):
    """``_leaf`` on every column of x (T, D) at once: rows lo..lo + n - 1 -> out (D,) f32."""
    d = x.shape[1]
    if n < 8:
        for c in range(d):
            out[c] = np.float32(0.0)
        for i in range(n):
            for c in range(d):
                out[c] = out[c] + x[lo + i, c]
        return
    r = np.empty((8, d), dtype=np.float32)
    for j in range(8):
        for c in range(d):
            r[j, c] = x[lo + j, c]
    i = 8
    end = n - n % 8
    while i < end:
        for j in range(8):
            for c in range(d):
                r[j, c] = r[j, c] + x[lo + i + j, c]
        i += 8
    for c in range(d):
        out[c] = ((r[0, c] + r[1, c]) + (r[2, c] + r[3, c])) + (
            (r[4, c] + r[5, c]) + (r[6, c] + r[7, c]))
    while i < n:
        for c in range(d):
            out[c] = out[c] + x[lo + i, c]
        i += 1


@njit(cache=True, error_model="numpy")
def column_sums_f32(x, out):
    """numpy's float32 pairwise sum of each column of x (T, D) f32 (``np.sum(x[:, c])``, bit for
    bit) -> out (D,) f32. Same order as ``pairwise_sum_f32`` per column, all columns at once."""
    n, d = x.shape
    if n <= _BLOCK:
        _leaf_rows(x, np.int64(0), n, out)  # not a literal 0: one compiled _leaf_rows
        return
    los, ns, states = _stack(n)
    vals = np.empty((128, d), dtype=np.float32)
    nv = 0
    top = np.int64(0)  # typed as int64 from the start: no extra compile for a literal 0
    while top >= 0:
        lo = los[top]
        m = ns[top]
        if states[top] == 1:
            for c in range(d):
                vals[nv - 2, c] = vals[nv - 2, c] + vals[nv - 1, c]
            nv -= 1
            top -= 1
        elif m <= _BLOCK:
            _leaf_rows(x, lo, m, vals[nv])
            nv += 1
            top -= 1
        else:
            top = _split(los, ns, states, top)
    for c in range(d):
        out[c] = vals[0, c]


@njit(cache=True, error_model="numpy")
def column_mean_var_f32(x, mean, var, scratch):
    """``np.mean(x[:, c])`` and ``np.var(x[:, c])`` for every column c of x (T, D) f32, bit for
    bit -> mean, var (D,) f32; ``scratch`` (T, D) f32 holds the squared deviations."""
    n, d = x.shape
    column_sums_f32(x, mean)
    for c in range(d):
        mean[c] = np.float32(np.float64(mean[c]) / n)
    for a in range(n):
        for c in range(d):
            dev = x[a, c] - mean[c]
            scratch[a, c] = dev * dev
    column_sums_f32(scratch, var)
    for c in range(d):
        var[c] = np.float32(np.float64(var[c]) / n)
