"""Exact grouped DTW on the CPU (numba), the engine behind FRDist.

Value semantics (``official_react2024.md`` section 3.3): one DTW per column group (AU 0:15, VA
15:17, FE 17:25), each a multivariate DTW with steps (i-1, j), (i, j-1), (i-1, j-1), local cost
the squared Euclidean distance over the group's columns, value = sqrt of the minimal accumulated
cost (``tslearn.metrics.dtw``); the grouped distance is ``1/15 DTW_AU + 1 DTW_VA + 1/8 DTW_FE``.
Inputs are float32 (as the official code casts them); every cost and sum is float64, with the
same operations in the same order as tslearn, so values are bit-identical to tslearn's.

Speed without changing a value:

* ``min_grouped_dtw`` (and the ragged variant) prunes with a cascade of exact lower bounds of
  the grouped distance from the same DTW in float32, 8 pairs per AVX2 instruction (``dtw_bounds``;
  the proof that a bound never exceeds the float64 value is in that module's docstring). First
  every (generation, neighbour) pair gets the float32 DTW of its AU and VA groups (about 90 % of
  the distance at a third of the work; FE bounded by 0). Per generation, the pair with the
  smallest such bound is computed exactly: the generation's best so far. Only the other pairs
  whose partial bound does not exceed it get the float32 FE DTW too, and only those whose full
  bound still does not exceed it are computed exactly (near-ties, usually none). A skipped
  pair's exact distance is >= its bound > the best, so the minimum is the same float the full
  computation returns. ``abandon=False`` computes every pair in full;
* exact pairs run W = 8 at a time in lock-step (``_lane_group``): lane-minor arrays and explicit
  8 x float64 vectors (``simd_lanes``), each lane doing exactly the scalar operations (no
  fast-math, no FMA), so every value is the same as the single-pair kernel's;
* the three groups share one pass over the (T, T) grid, and rows go in strips of two: each
  y frame is loaded once for two rows, the top row's cells feed the bottom row in registers;
* when the AU columns of both sequences hold only 0 and 1 (real AU occurrences), the AU cost is
  the popcount of the XOR of 15-bit masks: the same integer the float sum yields, exactly;
* a lane group that re-checks near-ties stops early once, after a strip, every lane's
  ``sum_g w_g sqrt(min_b D_g[a, b])`` (a lower bound of its final distance: every warping path
  crosses every row, costs are non-negative, rounding is monotone) exceeds its best;
* cost matrices are not formed by BLAS: an exact float64 cost must be the sum of squared
  differences in column order, and the float32 bounds need one row of costs at a time, where
  a GEMM with 2 to 15 columns would only add memory traffic;
* ``grouped_dtw`` (one pair) keeps the scalar kernel ``_grouped_pair``: six independent chains
  (three groups x two skewed half-rows) hide the add/min latency.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from reactbench.jit import runtime_bool, runtime_int
from reactbench.metrics.constants import AU_COLUMNS, DTW_GROUPS, EMOTION_DIM
from reactbench.metrics.dtw_bounds import bound_lanes, grouped_bound, scratch32
from reactbench.metrics.dtw_bounds16 import W16, frame_codes
from reactbench.metrics.dtw_cuda import min_grouped_dtw_cuda
from reactbench.metrics.dtw_simd32 import W32
from reactbench.metrics.simd_lanes import (
    W,
    vadd,
    vall_gt,
    vlane,
    vload,
    vmin,
    vmul,
    vpopxor,
    vsplat,
    vsqrt,
    vstore,
    vsub,
)
from reactbench.metrics.threads import numba_threads, run_chunks
from reactbench.metrics.validate import as_float32, as_float64, check_device

AU_END = AU_COLUMNS[1]
# the kernel hard-codes this layout (AU 0:15 as a bit mask or a loop, VA 15:17, FE 17:25)
assert [g[:2] for g in DTW_GROUPS] == [(0, 15), (15, 17), (17, 25)] and EMOTION_DIM == 25

_G0, _G1, _G2 = DTW_GROUPS
_W = np.array([g[2] for g in DTW_GROUPS], dtype=np.float64)


# ----------------------------------------------------------------------------- kernels
@njit(cache=True, error_model="numpy")
def _dtw_single(x, y):
    """tslearn-compatible DTW of x (Tx, d) and y (Ty, d), float64: sqrt of accumulated cost."""
    tx, d = x.shape
    ty = y.shape[0]
    prev = np.full(ty + 1, np.inf)
    cur = np.full(ty + 1, np.inf)
    prev[0] = 0.0
    for a in range(tx):
        cur[0] = np.inf
        for b in range(ty):
            s = 0.0
            for c in range(d):
                diff = x[a, c] - y[b, c]
                s += diff * diff
            m = prev[b + 1]
            if cur[b] < m:
                m = cur[b]
            if prev[b] < m:
                m = prev[b]
            cur[b + 1] = s + m
        prev, cur = cur, prev
        prev[0] = np.inf
    return np.sqrt(prev[ty])


@intrinsic
def _popcount(typingctx, x):
    """Number of set bits of an integer (one ``popcnt`` instruction)."""
    if isinstance(x, types.Integer):

        def codegen(context, builder, signature, args):
            return builder.ctpop(args[0])

        return x(x), codegen
    return None


@njit(cache=True, error_model="numpy")
def _prepare(x, xt, masks):
    """x (T, 25) f32 -> xt (25, T) float64 and AU bit masks (T,).

    Returns True when every AU value is 0 or 1 (then the AU cost is a popcount, exactly the
    same float64 value as the sum of squared differences)."""
    t = x.shape[0]
    binary = True
    for a in range(t):
        m = 0
        for c in range(EMOTION_DIM):
            v = x[a, c]
            xt[c, a] = np.float64(v)
            if c < AU_END:
                if v == 1.0:
                    m |= 1 << c
                elif v != 0.0:
                    binary = False
        masks[a] = m
    return binary


@njit(cache=True, error_model="numpy")
def _cost_row(a, xt, xm, yt, ym, bits, c_au, c_va, c_fe):
    """Fill the three cost rows of frame a of x against every frame of y (see _grouped_pair)."""
    ty = yt.shape[1]
    if bits:
        xa = xm[a]
        for b in range(ty):
            c_au[b] = np.float64(_popcount(xa ^ ym[b]))
    else:  # AU values other than 0/1: the same sum, column by column, in registers
        x0 = xt[0, a]
        x1 = xt[1, a]
        x2 = xt[2, a]
        x3 = xt[3, a]
        x4 = xt[4, a]
        x5 = xt[5, a]
        x6 = xt[6, a]
        x7 = xt[7, a]
        x8 = xt[8, a]
        x9 = xt[9, a]
        x10 = xt[10, a]
        x11 = xt[11, a]
        x12 = xt[12, a]
        x13 = xt[13, a]
        x14 = xt[14, a]
        y0 = yt[0]
        y1 = yt[1]
        y2 = yt[2]
        y3 = yt[3]
        y4 = yt[4]
        y5 = yt[5]
        y6 = yt[6]
        y7 = yt[7]
        y8 = yt[8]
        y9 = yt[9]
        y10 = yt[10]
        y11 = yt[11]
        y12 = yt[12]
        y13 = yt[13]
        y14 = yt[14]
        for b in range(ty):
            d = x0 - y0[b]
            s = 0.0 + d * d
            d = x1 - y1[b]
            s += d * d
            d = x2 - y2[b]
            s += d * d
            d = x3 - y3[b]
            s += d * d
            d = x4 - y4[b]
            s += d * d
            d = x5 - y5[b]
            s += d * d
            d = x6 - y6[b]
            s += d * d
            d = x7 - y7[b]
            s += d * d
            d = x8 - y8[b]
            s += d * d
            d = x9 - y9[b]
            s += d * d
            d = x10 - y10[b]
            s += d * d
            d = x11 - y11[b]
            s += d * d
            d = x12 - y12[b]
            s += d * d
            d = x13 - y13[b]
            s += d * d
            d = x14 - y14[b]
            c_au[b] = s + d * d
    # VA and FE: squared differences summed in column order, in registers
    x15 = xt[15, a]
    x16 = xt[16, a]
    x17 = xt[17, a]
    x18 = xt[18, a]
    x19 = xt[19, a]
    x20 = xt[20, a]
    x21 = xt[21, a]
    x22 = xt[22, a]
    x23 = xt[23, a]
    x24 = xt[24, a]
    y15 = yt[15]
    y16 = yt[16]
    y17 = yt[17]
    y18 = yt[18]
    y19 = yt[19]
    y20 = yt[20]
    y21 = yt[21]
    y22 = yt[22]
    y23 = yt[23]
    y24 = yt[24]
    for b in range(ty):
        d = x15 - y15[b]
        s = 0.0 + d * d
        d = x16 - y16[b]
        c_va[b] = s + d * d
        d = x17 - y17[b]
        s = 0.0 + d * d
        d = x18 - y18[b]
        s += d * d
        d = x19 - y19[b]
        s += d * d
        d = x20 - y20[b]
        s += d * d
        d = x21 - y21[b]
        s += d * d
        d = x22 - y22[b]
        s += d * d
        d = x23 - y23[b]
        s += d * d
        d = x24 - y24[b]
        c_fe[b] = s + d * d


@njit(cache=True, error_model="numpy")
def _grouped_pair(xt, xm, yt, ym, bits, w, best, cost, rows):
    """Grouped DTW of x against y (equal length T): the same DP as tslearn, three groups at once.

    xt, yt (25, T) float64 = x and y transposed; xm, ym (T,) AU bit masks (used when ``bits``);
    cost (2, 3, T) and rows (3, 3, T + 1) float64 scratch. Every cell is ``cost + min`` of the
    same three predecessors as the textbook row-by-row DP, so the value is identical. To hide the
    latency of the chain along a row, step k advances two independent chains in one loop: the
    first half of row k and the second half of row k - 1 (skewed halves); with three groups that
    is six chains. After row a is complete, ``sum_g w_g sqrt(min_b D_g[a, b])`` bounds the
    result from below (every warping path crosses every row, costs are non-negative, rounding is
    monotone): returns inf as soon as it exceeds ``best``.
    """
    t = xt.shape[1]
    h = t // 2
    for g in range(3):
        for r in range(3):
            for b in range(t + 1):
                rows[g, r, b] = np.inf
        rows[g, 2, 0] = 0.0  # virtual row -1 (buffer (-1) % 3): D(-1, -1) = 0
    f0 = np.inf
    f1 = np.inf
    f2 = np.inf
    for k in range(t + 1):
        cur = k % 3  # row k
        prv = (k + 2) % 3  # row k - 1
        old = (k + 1) % 3  # row k - 2
        n1 = 0
        if k < t:
            _cost_row(k, xt, xm, yt, ym, bits, cost[k % 2, 0], cost[k % 2, 1], cost[k % 2, 2])
            for g in range(3):
                rows[g, cur, 0] = np.inf
            n1 = h
        n2 = t - h if k >= 1 else 0
        # chain 1: row k, columns [0, h); chain 2: row k - 1, columns [h, t)
        ca0 = cost[k % 2, 0]
        ca1 = cost[k % 2, 1]
        ca2 = cost[k % 2, 2]
        cb0 = cost[(k + 1) % 2, 0]
        cb1 = cost[(k + 1) % 2, 1]
        cb2 = cost[(k + 1) % 2, 2]
        pa0 = rows[0, prv]
        pa1 = rows[1, prv]
        pa2 = rows[2, prv]
        na0 = rows[0, cur]
        na1 = rows[1, cur]
        na2 = rows[2, cur]
        pb0 = rows[0, old]
        pb1 = rows[1, old]
        pb2 = rows[2, old]
        nb0 = rows[0, prv]
        nb1 = rows[1, prv]
        nb2 = rows[2, prv]
        va0 = np.inf
        va1 = np.inf
        va2 = np.inf
        ma0 = np.inf
        ma1 = np.inf
        ma2 = np.inf
        qa0 = pa0[0]
        qa1 = pa1[0]
        qa2 = pa2[0]
        vb0 = nb0[h]
        vb1 = nb1[h]
        vb2 = nb2[h]
        mb0 = np.inf
        mb1 = np.inf
        mb2 = np.inf
        qb0 = pb0[h]
        qb1 = pb1[h]
        qb2 = pb2[h]
        both = min(n1, n2)
        for b in range(both):
            ra0 = pa0[b + 1]
            ra1 = pa1[b + 1]
            ra2 = pa2[b + 1]
            rb0 = pb0[h + b + 1]
            rb1 = pb1[h + b + 1]
            rb2 = pb2[h + b + 1]
            ua0 = qa0 if qa0 < ra0 else ra0
            ua1 = qa1 if qa1 < ra1 else ra1
            ua2 = qa2 if qa2 < ra2 else ra2
            ub0 = qb0 if qb0 < rb0 else rb0
            ub1 = qb1 if qb1 < rb1 else rb1
            ub2 = qb2 if qb2 < rb2 else rb2
            va0 = ca0[b] + (va0 if va0 < ua0 else ua0)
            va1 = ca1[b] + (va1 if va1 < ua1 else ua1)
            va2 = ca2[b] + (va2 if va2 < ua2 else ua2)
            vb0 = cb0[h + b] + (vb0 if vb0 < ub0 else ub0)
            vb1 = cb1[h + b] + (vb1 if vb1 < ub1 else ub1)
            vb2 = cb2[h + b] + (vb2 if vb2 < ub2 else ub2)
            na0[b + 1] = va0
            na1[b + 1] = va1
            na2[b + 1] = va2
            nb0[h + b + 1] = vb0
            nb1[h + b + 1] = vb1
            nb2[h + b + 1] = vb2
            ma0 = ma0 if ma0 < va0 else va0
            ma1 = ma1 if ma1 < va1 else va1
            ma2 = ma2 if ma2 < va2 else va2
            mb0 = mb0 if mb0 < vb0 else vb0
            mb1 = mb1 if mb1 < vb1 else vb1
            mb2 = mb2 if mb2 < vb2 else vb2
            qa0 = ra0
            qa1 = ra1
            qa2 = ra2
            qb0 = rb0
            qb1 = rb1
            qb2 = rb2
        for b in range(both, n1):  # chain 1 alone (k = 0)
            ra0 = pa0[b + 1]
            ra1 = pa1[b + 1]
            ra2 = pa2[b + 1]
            ua0 = qa0 if qa0 < ra0 else ra0
            ua1 = qa1 if qa1 < ra1 else ra1
            ua2 = qa2 if qa2 < ra2 else ra2
            va0 = ca0[b] + (va0 if va0 < ua0 else ua0)
            va1 = ca1[b] + (va1 if va1 < ua1 else ua1)
            va2 = ca2[b] + (va2 if va2 < ua2 else ua2)
            na0[b + 1] = va0
            na1[b + 1] = va1
            na2[b + 1] = va2
            ma0 = ma0 if ma0 < va0 else va0
            ma1 = ma1 if ma1 < va1 else va1
            ma2 = ma2 if ma2 < va2 else va2
            qa0 = ra0
            qa1 = ra1
            qa2 = ra2
        for b in range(both, n2):  # chain 2 alone (k = t, or the odd last column)
            rb0 = pb0[h + b + 1]
            rb1 = pb1[h + b + 1]
            rb2 = pb2[h + b + 1]
            ub0 = qb0 if qb0 < rb0 else rb0
            ub1 = qb1 if qb1 < rb1 else rb1
            ub2 = qb2 if qb2 < rb2 else rb2
            vb0 = cb0[h + b] + (vb0 if vb0 < ub0 else ub0)
            vb1 = cb1[h + b] + (vb1 if vb1 < ub1 else ub1)
            vb2 = cb2[h + b] + (vb2 if vb2 < ub2 else ub2)
            nb0[h + b + 1] = vb0
            nb1[h + b + 1] = vb1
            nb2[h + b + 1] = vb2
            mb0 = mb0 if mb0 < vb0 else vb0
            mb1 = mb1 if mb1 < vb1 else vb1
            mb2 = mb2 if mb2 < vb2 else vb2
            qb0 = rb0
            qb1 = rb1
            qb2 = rb2
        if k >= 1:  # row k - 1 is complete
            m0 = f0 if f0 < mb0 else mb0
            m1 = f1 if f1 < mb1 else mb1
            m2 = f2 if f2 < mb2 else mb2
            if w[0] * np.sqrt(m0) + w[1] * np.sqrt(m1) + w[2] * np.sqrt(m2) > best:
                return np.inf
        f0 = ma0
        f1 = ma1
        f2 = ma2
    last = (t - 1) % 3
    return w[0] * np.sqrt(rows[0, last, t]) + w[1] * np.sqrt(rows[1, last, t]) + w[2] * np.sqrt(
        rows[2, last, t]
    )


@njit(cache=True, error_model="numpy")
def _au_masks(x, masks):
    """x (T, 25) f32 -> AU bit masks (T,); True when every AU value is 0 or 1."""
    binary = True
    for a in range(x.shape[0]):
        m = 0
        for c in range(AU_END):
            v = x[a, c]
            if v == 1.0:
                m |= 1 << c
            elif v != 0.0:
                binary = False
        masks[a] = m
    return binary


@njit(cache=True, error_model="numpy")
def _lane_group(XA, XV, XM, YA, YV, YM, bits, w, best, rows, cau, out):
    """W grouped DTWs in lock-step, lane l = one (x, y) pair; each lane does exactly the float64
    operations of ``_grouped_pair`` (every cell ``cost + min`` of the same three predecessors,
    costs summed in column order), so its value is the same.

    XA, YA (T, 15, W) and XV, YV (T, 10, W) float64: AU and VA/FE columns, lane-minor; XM, YM
    (T, W) int64 AU masks (used when ``bits``); best (W,) abandon thresholds; rows (2, 3, T+1, W)
    and cau (T, 2, W) scratch. Writes out (W,); all inf once every lane's row bound exceeds its
    threshold (see ``_grouped_pair``). Rows go in strips of two (a, a + 1) sharing each load of
    y's frame b; the top row's cells feed the bottom row's in registers.
    """
    t = XA.shape[0]
    inf = vsplat(np.inf)
    bv = vload(best, 0)
    w0 = vsplat(w[0])
    w1 = vsplat(w[1])
    w2 = vsplat(w[2])
    st = (t + 1) * W
    for g in range(3):  # virtual row -1 (buffer 1): D(-1, -1) = 0
        for b in range(1, t + 1):
            vstore(rows, (3 + g) * st + b * W, inf)
        vstore(rows, (3 + g) * st, vsplat(0.0))
    t0 = inf
    t1 = inf
    t2 = inf
    u0 = inf
    u1 = inf
    u2 = inf
    for a in range(0, t, 2):
        a2 = a + 1 if a + 1 < t else a  # x frame of the bottom row (a dummy when T is odd)
        s = (a // 2) % 2
        p0 = (1 - s) * 3 * st
        p1 = p0 + st
        p2 = p1 + st
        n0 = s * 3 * st
        n1 = n0 + st
        n2 = n1 + st
        if bits:  # binary AUs: popcount of the XOR, the same integer the float sum yields
            xm = vload(XM, a * W)
            zm = vload(XM, a2 * W)
            for b in range(t):
                ym = vload(YM, b * W)
                vstore(cau, 2 * b * W, vpopxor(xm, ym))
                vstore(cau, (2 * b + 1) * W, vpopxor(zm, ym))
        else:
            xa = a * 15 * W
            za = a2 * 15 * W
            for b in range(t):
                yb = b * 15 * W
                y = vload(YA, yb)
                d = vsub(vload(XA, xa), y)
                e = vsub(vload(XA, za), y)
                s1 = vmul(d, d)  # = 0.0 + d * d exactly (d * d is never -0)
                s2 = vmul(e, e)
                for c in range(1, 15):
                    y = vload(YA, yb + c * W)
                    d = vsub(vload(XA, xa + c * W), y)
                    e = vsub(vload(XA, za + c * W), y)
                    s1 = vadd(s1, vmul(d, d))
                    s2 = vadd(s2, vmul(e, e))
                vstore(cau, 2 * b * W, s1)
                vstore(cau, (2 * b + 1) * W, s2)
        xv = a * 10 * W
        zv = a2 * 10 * W
        x15 = vload(XV, xv)
        x16 = vload(XV, xv + W)
        x17 = vload(XV, xv + 2 * W)
        x18 = vload(XV, xv + 3 * W)
        x19 = vload(XV, xv + 4 * W)
        x20 = vload(XV, xv + 5 * W)
        x21 = vload(XV, xv + 6 * W)
        x22 = vload(XV, xv + 7 * W)
        x23 = vload(XV, xv + 8 * W)
        x24 = vload(XV, xv + 9 * W)
        z15 = vload(XV, zv)
        z16 = vload(XV, zv + W)
        z17 = vload(XV, zv + 2 * W)
        z18 = vload(XV, zv + 3 * W)
        z19 = vload(XV, zv + 4 * W)
        z20 = vload(XV, zv + 5 * W)
        z21 = vload(XV, zv + 6 * W)
        z22 = vload(XV, zv + 7 * W)
        z23 = vload(XV, zv + 8 * W)
        z24 = vload(XV, zv + 9 * W)
        q0 = vload(rows, p0)
        q1 = vload(rows, p1)
        q2 = vload(rows, p2)
        vstore(rows, n0, inf)
        vstore(rows, n1, inf)
        vstore(rows, n2, inf)
        t0 = inf  # D[a, b - 1] per group (top row)
        t1 = inf
        t2 = inf
        u0 = inf  # D[a + 1, b - 1] per group (bottom row)
        u1 = inf
        u2 = inf
        m0 = inf
        m1 = inf
        m2 = inf
        for b in range(t):
            yb = b * 10 * W
            y = vload(YV, yb)
            d = vsub(x15, y)
            e = vsub(z15, y)
            sd = vmul(d, d)
            se = vmul(e, e)
            y = vload(YV, yb + W)
            d = vsub(x16, y)
            e = vsub(z16, y)
            cd1 = vadd(sd, vmul(d, d))
            ce1 = vadd(se, vmul(e, e))
            y = vload(YV, yb + 2 * W)
            d = vsub(x17, y)
            e = vsub(z17, y)
            sd = vmul(d, d)
            se = vmul(e, e)
            y = vload(YV, yb + 3 * W)
            d = vsub(x18, y)
            e = vsub(z18, y)
            sd = vadd(sd, vmul(d, d))
            se = vadd(se, vmul(e, e))
            y = vload(YV, yb + 4 * W)
            d = vsub(x19, y)
            e = vsub(z19, y)
            sd = vadd(sd, vmul(d, d))
            se = vadd(se, vmul(e, e))
            y = vload(YV, yb + 5 * W)
            d = vsub(x20, y)
            e = vsub(z20, y)
            sd = vadd(sd, vmul(d, d))
            se = vadd(se, vmul(e, e))
            y = vload(YV, yb + 6 * W)
            d = vsub(x21, y)
            e = vsub(z21, y)
            sd = vadd(sd, vmul(d, d))
            se = vadd(se, vmul(e, e))
            y = vload(YV, yb + 7 * W)
            d = vsub(x22, y)
            e = vsub(z22, y)
            sd = vadd(sd, vmul(d, d))
            se = vadd(se, vmul(e, e))
            y = vload(YV, yb + 8 * W)
            d = vsub(x23, y)
            e = vsub(z23, y)
            sd = vadd(sd, vmul(d, d))
            se = vadd(se, vmul(e, e))
            y = vload(YV, yb + 9 * W)
            d = vsub(x24, y)
            e = vsub(z24, y)
            cd2 = vadd(sd, vmul(d, d))
            ce2 = vadd(se, vmul(e, e))
            o = (b + 1) * W
            r0 = vload(rows, p0 + o)
            r1 = vload(rows, p1 + o)
            r2 = vload(rows, p2 + o)
            # top row a: diagonal q = D[a-1, b-1], up r = D[a-1, b], left t = D[a, b-1]
            h0 = vadd(vload(cau, 2 * b * W), vmin(t0, vmin(q0, r0)))
            h1 = vadd(cd1, vmin(t1, vmin(q1, r1)))
            h2 = vadd(cd2, vmin(t2, vmin(q2, r2)))
            # bottom row a + 1: diagonal t = D[a, b-1], up h = D[a, b], left u = D[a+1, b-1]
            u0 = vadd(vload(cau, (2 * b + 1) * W), vmin(u0, vmin(t0, h0)))
            u1 = vadd(ce1, vmin(u1, vmin(t1, h1)))
            u2 = vadd(ce2, vmin(u2, vmin(t2, h2)))
            vstore(rows, n0 + o, u0)
            vstore(rows, n1 + o, u1)
            vstore(rows, n2 + o, u2)
            m0 = vmin(m0, u0)
            m1 = vmin(m1, u1)
            m2 = vmin(m2, u2)
            t0 = h0
            t1 = h1
            t2 = h2
            q0 = r0
            q1 = r1
            q2 = r2
        if a + 1 < t:
            # row a + 1 is complete: sum_g w_g sqrt(min_b D_g[a+1, b]) bounds each lane below
            lb = vadd(vadd(vmul(w0, vsqrt(m0)), vmul(w1, vsqrt(m1))), vmul(w2, vsqrt(m2)))
            if vall_gt(lb, bv):
                for lane in range(W):
                    out[lane] = np.inf
                return
    if t % 2 == 1:  # the last strip's bottom row was a dummy
        u0 = t0
        u1 = t1
        u2 = t2
    fin = vadd(vadd(vmul(w0, vsqrt(u0)), vmul(w1, vsqrt(u1))), vmul(w2, vsqrt(u2)))
    for lane in range(W):
        out[lane] = vlane(fin, lane)


@njit(cache=True, error_model="numpy")
def _fill_lane(x, lane, ka, kv):
    """Copy x (T, 25) f32 into lane ``lane`` of ka (T, 15, W) and kv (T, 10, W) as float64."""
    for a in range(x.shape[0]):
        for c in range(AU_END):
            ka[a, c, lane] = x[a, c]
        for c in range(AU_END, EMOTION_DIM):
            kv[a, c - AU_END, lane] = x[a, c]


@njit(cache=True, error_model="numpy")
def _lane_vafe(XV, YV, au, w, best, rows, out):
    """W grouped DTWs in lock-step whose AU values are already known exactly (``au`` (W,),
    the integer the float64 AU programme gives): only the VA and FE groups run, each lane doing
    exactly the float64 operations of ``_lane_group`` for them, and the value is the same
    expression ``w0 sqrt(AU) + w1 sqrt(VA) + w2 sqrt(FE)``, so the same float.

    XV, YV (T, 10, W) float64 (``_fill_lane``); best (W,) abandon thresholds; rows (2, 2,
    T + 1, W) scratch. One row at a time; after each row, ``w0 sqrt(AU) + w1 sqrt(min_b
    D_VA[a, b]) + w2 sqrt(min_b D_FE[a, b])`` bounds each lane below: all inf once every lane's
    bound exceeds its threshold.
    """
    t = XV.shape[0]
    inf = vsplat(np.inf)
    bv = vload(best, 0)
    w1 = vsplat(w[1])
    w2 = vsplat(w[2])
    a0 = vmul(vsplat(w[0]), vsqrt(vload(au, 0)))
    st = (t + 1) * W
    for g in range(2):  # virtual row -1 (buffer 1): D(-1, -1) = 0
        for b in range(1, t + 1):
            vstore(rows, (2 + g) * st + b * W, inf)
        vstore(rows, (2 + g) * st, vsplat(0.0))
    t1 = inf
    t2 = inf
    for a in range(t):
        s = a % 2
        p1 = (1 - s) * 2 * st
        p2 = p1 + st
        n1 = s * 2 * st
        n2 = n1 + st
        xv = a * 10 * W
        x15 = vload(XV, xv)
        x16 = vload(XV, xv + W)
        x17 = vload(XV, xv + 2 * W)
        x18 = vload(XV, xv + 3 * W)
        x19 = vload(XV, xv + 4 * W)
        x20 = vload(XV, xv + 5 * W)
        x21 = vload(XV, xv + 6 * W)
        x22 = vload(XV, xv + 7 * W)
        x23 = vload(XV, xv + 8 * W)
        x24 = vload(XV, xv + 9 * W)
        q1 = vload(rows, p1)
        q2 = vload(rows, p2)
        vstore(rows, n1, inf)
        vstore(rows, n2, inf)
        t1 = inf  # D[a, b - 1] per group
        t2 = inf
        m1 = inf
        m2 = inf
        for b in range(t):
            yb = b * 10 * W
            d = vsub(x15, vload(YV, yb))
            c1 = vmul(d, d)
            d = vsub(x16, vload(YV, yb + W))
            c1 = vadd(c1, vmul(d, d))
            d = vsub(x17, vload(YV, yb + 2 * W))
            c2 = vmul(d, d)
            d = vsub(x18, vload(YV, yb + 3 * W))
            c2 = vadd(c2, vmul(d, d))
            d = vsub(x19, vload(YV, yb + 4 * W))
            c2 = vadd(c2, vmul(d, d))
            d = vsub(x20, vload(YV, yb + 5 * W))
            c2 = vadd(c2, vmul(d, d))
            d = vsub(x21, vload(YV, yb + 6 * W))
            c2 = vadd(c2, vmul(d, d))
            d = vsub(x22, vload(YV, yb + 7 * W))
            c2 = vadd(c2, vmul(d, d))
            d = vsub(x23, vload(YV, yb + 8 * W))
            c2 = vadd(c2, vmul(d, d))
            d = vsub(x24, vload(YV, yb + 9 * W))
            c2 = vadd(c2, vmul(d, d))
            o = (b + 1) * W
            r1 = vload(rows, p1 + o)
            r2 = vload(rows, p2 + o)
            # diagonal q = D[a-1, b-1], up r = D[a-1, b], left t = D[a, b-1]
            t1 = vadd(c1, vmin(t1, vmin(q1, r1)))
            t2 = vadd(c2, vmin(t2, vmin(q2, r2)))
            vstore(rows, n1 + o, t1)
            vstore(rows, n2 + o, t2)
            m1 = vmin(m1, t1)
            m2 = vmin(m2, t2)
            q1 = r1
            q2 = r2
        if a + 1 < t:
            lb = vadd(vadd(a0, vmul(w1, vsqrt(m1))), vmul(w2, vsqrt(m2)))
            if vall_gt(lb, bv):
                for lane in range(W):
                    out[lane] = np.inf
                return
    fin = vadd(vadd(a0, vmul(w1, vsqrt(t1))), vmul(w2, vsqrt(t2)))
    for lane in range(W):
        out[lane] = vlane(fin, lane)


@njit(cache=True, error_model="numpy")
def _fill_va_fe(x, lane, kv):
    """Copy the VA and FE columns of x (T, 25) f32 into lane ``lane`` of kv (T, 10, W)."""
    for a in range(x.shape[0]):
        for c in range(AU_END, EMOTION_DIM):
            kv[a, c - AU_END, lane] = x[a, c]


@njit(cache=True, error_model="numpy")
def _min_block(X, Y, yidx, t0, t1, w, out):
    """One speaker's minima without pruning: frames t0:t1 of X (alpha, L, 25) generations and
    of Y (M, L, 25) real reactions, of which rows ``yidx`` are appropriate (f32, C-contiguous:
    one compiled kernel serves equal-length and packed ragged inputs); writes out (alpha,)
    float64, the minimum grouped DTW of each generation over those rows, every pair computed in
    full (W at a time in ``_lane_group``)."""
    alpha = X.shape[0]
    t = t1 - t0
    cnt = yidx.shape[0]
    nv = EMOTION_DIM - AU_END
    xm = np.empty((alpha, t), dtype=np.int64)
    xbin = np.empty(alpha, dtype=np.bool_)
    for k in range(alpha):
        xbin[k] = _au_masks(X[k, t0:t1], xm[k])
    ym = np.empty((cnt, t), dtype=np.int64)
    ybin = np.empty(cnt, dtype=np.bool_)
    for q in range(cnt):
        ybin[q] = _au_masks(Y[yidx[q], t0:t1], ym[q])
    m = alpha * cnt
    best = np.full(alpha, np.inf)
    xa = np.zeros((t, AU_END, W))
    xv = np.zeros((t, nv, W))
    ya = np.zeros((t, AU_END, W))
    yv = np.zeros((t, nv, W))
    xms = np.zeros((t, W), dtype=np.int64)
    yms = np.zeros((t, W), dtype=np.int64)
    rows = np.empty((2, 3, t + 1, W))
    cau = np.empty((t, 2, W))
    lim = np.empty(W)
    res = np.empty(W)
    for g0 in range(0, m, W):
        nl = min(W, m - g0)
        bits = True
        for lane in range(W):
            if lane < nl:
                k = (g0 + lane) // cnt
                q = (g0 + lane) % cnt
                _fill_lane(X[k, t0:t1], lane, xa, xv)
                _fill_lane(Y[yidx[q], t0:t1], lane, ya, yv)
                for a in range(t):
                    xms[a, lane] = xm[k, a]
                    yms[a, lane] = ym[q, a]
                bits = bits and xbin[k] and ybin[q]
                lim[lane] = np.inf
            else:  # padding: zero sequences, never holds the group back
                xa[:, :, lane] = 0.0
                xv[:, :, lane] = 0.0
                ya[:, :, lane] = 0.0
                yv[:, :, lane] = 0.0
                xms[:, lane] = 0
                yms[:, lane] = 0
                lim[lane] = -np.inf
        _lane_group(xa, xv, xms, ya, yv, yms, runtime_bool(bits), w, lim, rows, cau, res)
        for lane in range(nl):
            k = (g0 + lane) // cnt
            if res[lane] < best[k]:
                best[k] = res[lane]
    out[:] = best


@njit(cache=True, nogil=True, error_model="numpy")
def _min_grouped_rows(i0, i1, pred, gt, nb_ptr, nb_idx, w, out):
    """Speakers i0:i1 of ``_min_grouped`` (``_min_block`` each)."""
    t0, t1 = runtime_int(0), pred.shape[2]  # int64 as in the ragged path: one compiled kernel
    for i in range(i0, i1):
        _min_block(pred[i], gt, nb_idx[nb_ptr[i]:nb_ptr[i + 1]], t0, t1, w, out[i])


def _min_grouped(pred, gt, nb_ptr, nb_idx, w):
    """pred (N, alpha, T, 25) f32, gt (M, T, 25) f32; CSR neighbours -> (N, alpha) float64,
    parallel over speakers (``_min_block`` per speaker, no pruning)."""
    n, alpha = pred.shape[:2]
    out = np.empty((n, alpha))
    run_chunks(_min_grouped_rows, n, pred, gt, nb_ptr, nb_idx, w, out)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _min_grouped_samples(r0, r1, pred, tg, off, order, w, out):
    """Samples order[r0:r1] of ``_min_grouped_ragged``."""
    yidx = np.arange(tg.shape[0])
    for r in range(r0, r1):
        s = order[r]
        _min_block(pred, tg, yidx, off[s], off[s + 1], w, out[s])


def _min_grouped_ragged(pred, tg, off, order, w):
    """pred (A, L, 25) and tg (K, L, 25) f32 packed along time (sample s holds frames
    off[s]:off[s + 1]); order: the samples in visiting order -> (N, A) float64, the minimum
    grouped DTW of each generation over the sample's K targets (whole clips, no pruning)."""
    n = off.shape[0] - 1
    out = np.empty((n, pred.shape[0]))
    run_chunks(_min_grouped_samples, n, pred, tg, off, order, w, out)
    return out


# ----------------------------------------------------------------------------- pruned minima
# A "triple" r is one (generation, reaction) pair: x = X[xr[r], to[r]:to[r] + tl[r]] and
# y = Y[yr[r], same frames], scored for slot sl[r] (one generation of one speaker or sample).


@njit(cache=True, error_model="numpy")
def _lane_groups(order, tl, width):
    """Start pointers of lane groups over ``order`` (triples sorted by length, longest first):
    at most ``width`` triples of one length per group."""
    m = order.shape[0]
    gp = np.empty(m + 1, dtype=np.int64)
    g = 0
    i = 0
    while i < m:
        gp[g] = i
        g += 1
        t = tl[order[i]]
        j = i + 1
        while j < m and j - i < width and tl[order[j]] == t:
            j += 1
        i = j
    gp[g] = m
    return gp[:g + 1]


@njit(cache=True, error_model="numpy")
def _fill_lane_masks(x, lane, ka, kv, km):
    """``_fill_lane`` plus the AU masks of x into km[:, lane]; True when x's AUs are 0/1."""
    _fill_lane(x, lane, ka, kv)
    binary = True
    for a in range(x.shape[0]):
        m = 0
        for c in range(AU_END):
            v = x[a, c]
            if v == 1.0:
                m |= 1 << c
            elif v != 0.0:
                binary = False
        km[a, lane] = m
    return binary


@njit(cache=True, error_model="numpy")
def _scratch64(t):
    """float64 and int64 scratch for ``_exact_group`` at up to t frames."""
    nv = EMOTION_DIM - AU_END
    nf = t * W * (2 * AU_END + 2 * nv + 2) + 6 * (t + 1) * W
    return np.empty(nf), np.empty(2 * t * W, dtype=np.int64)


@njit(cache=True, error_model="numpy")
def _exact_group(X, Y, xr, yr, to, tl, sel, lims, w, val, fbuf, ibuf):
    """Exact float64 grouped DTW (``_lane_group``) of the triples ``sel`` (equal length, at most
    W) -> val[sel]; a lane may stop early (inf) once it cannot reach ``lims[sel]``. fbuf, ibuf:
    ``_scratch64`` of at least this length."""
    t = tl[sel[0]]
    nv = EMOTION_DIM - AU_END
    na = t * AU_END * W
    nb = t * nv * W
    xa = fbuf[:na].reshape((t, AU_END, W))
    ya = fbuf[na:2 * na].reshape((t, AU_END, W))
    xv = fbuf[2 * na:2 * na + nb].reshape((t, nv, W))
    yv = fbuf[2 * na + nb:2 * na + 2 * nb].reshape((t, nv, W))
    o = 2 * na + 2 * nb
    cau = fbuf[o:o + 2 * t * W].reshape((t, 2, W))
    o += 2 * t * W
    rows = fbuf[o:o + 6 * (t + 1) * W].reshape((2, 3, t + 1, W))
    xm = ibuf[:t * W].reshape((t, W))
    ym = ibuf[t * W:2 * t * W].reshape((t, W))
    lim = np.full(W, -np.inf)  # padding lanes never hold the group back
    nl = sel.shape[0]
    for lane in range(nl, W):  # padding lanes: zero sequences
        xa[:, :, lane] = 0.0
        ya[:, :, lane] = 0.0
        xv[:, :, lane] = 0.0
        yv[:, :, lane] = 0.0
        xm[:, lane] = 0
        ym[:, lane] = 0
    bits = True
    for lane in range(nl):
        r = sel[lane]
        f = to[r]
        bx = _fill_lane_masks(X[xr[r], f:f + t], lane, xa, xv, xm)
        by = _fill_lane_masks(Y[yr[r], f:f + t], lane, ya, yv, ym)
        bits = bits and bx and by
        lim[lane] = lims[r]
    res = np.empty(W)
    _lane_group(xa, xv, xm, ya, yv, ym, runtime_bool(bits), w, lim, rows, cau, res)
    for lane in range(nl):
        val[sel[lane]] = res[lane]


@njit(cache=True, error_model="numpy")
def _exact_group_vafe(X, Y, xr, yr, to, tl, sel, lims, w, val, au, fbuf):
    """``_exact_group`` for triples whose exact AU value au[r] is known (``_lane_vafe``)."""
    t = tl[sel[0]]
    nv = t * (EMOTION_DIM - AU_END) * W
    xv = fbuf[:nv].reshape((t, EMOTION_DIM - AU_END, W))
    yv = fbuf[nv:2 * nv].reshape((t, EMOTION_DIM - AU_END, W))
    rows = fbuf[2 * nv:2 * nv + 4 * (t + 1) * W]
    lim = np.full(W, -np.inf)  # padding lanes never hold the group back
    aus = np.zeros(W)
    nl = sel.shape[0]
    xv[:, :, nl:] = 0.0  # padding lanes: zero sequences
    yv[:, :, nl:] = 0.0
    for lane in range(nl):
        r = sel[lane]
        f = to[r]
        _fill_va_fe(X[xr[r], f:f + t], lane, xv)
        _fill_va_fe(Y[yr[r], f:f + t], lane, yv)
        lim[lane] = lims[r]
        aus[lane] = au[r]
    res = np.empty(W)
    _lane_vafe(xv, yv, aus, w, lim, rows, res)
    for lane in range(nl):
        val[sel[lane]] = res[lane]


_PER = 4  # lane groups per chunk of work: one scratch allocation each


@njit(cache=True, nogil=True, error_model="numpy")
def _exact_chunks(c0, c1, X, Y, xr, yr, to, tl, order, gp, lims, w, val, au):
    """Chunks c0:c1 of ``_exact_many`` (``_PER`` lane groups each)."""
    ng = gp.shape[0] - 1
    for c in range(c0, c1):
        g0 = c * _PER
        fbuf, ibuf = _scratch64(tl[order[gp[g0]]])  # longest first: the chunk's largest T
        for g in range(g0, min(ng, g0 + _PER)):
            sel = order[gp[g]:gp[g + 1]]
            if au[sel[0]] >= 0.0:
                _exact_group_vafe(X, Y, xr, yr, to, tl, sel, lims, w, val, au, fbuf)
            else:
                _exact_group(X, Y, xr, yr, to, tl, sel, lims, w, val, fbuf, ibuf)


def _exact_many(X, Y, xr, yr, to, tl, tasks, lims, w, val, au) -> None:
    """``_exact_group`` over the triples ``tasks``, W at a time, in parallel chunks of a few
    lane groups, longest first; triples with a known exact AU value (au[r] >= 0) go to
    ``_exact_group_vafe``, in lane groups of their own."""
    key = 2 * tl + (au >= 0.0)  # per triple: groups never mix lengths or kinds
    order = tasks[np.argsort(-key[tasks], kind="stable")]
    gp = _lane_groups(order, key, W)
    run_chunks(_exact_chunks, -(-(gp.shape[0] - 1) // _PER), X, Y, xr, yr, to, tl, order, gp,
               lims, w, val, au)


@njit(cache=True, nogil=True, error_model="numpy")
def _bounds_chunks(c0, c1, X, Y, cx, cy, xr, yr, to, tl, order, gp, fe, gb):
    """Chunks c0:c1 of ``_bounds_many`` (``_PER`` lane groups each)."""
    ng = gp.shape[0] - 1
    for c in range(c0, c1):
        g0 = c * _PER
        fbuf, ibuf = scratch32(tl[order[gp[g0]]])  # longest first: the chunk's largest T
        for g in range(g0, min(ng, g0 + _PER)):
            bound_lanes(X, Y, cx, cy, xr, yr, to, tl, order[gp[g]:gp[g + 1]], fe, gb, fbuf,
                        ibuf)


def _bounds_many(X, Y, cx, cy, xr, yr, to, tl, tasks, fe: bool, gb) -> None:
    """Group lower bounds gb[:, tasks] of the triples ``tasks`` (``bound_lanes``: AU and VA,
    or FE with ``fe``), W32 or W16 at a time, in parallel chunks of a few lane groups, longest
    first."""
    order = tasks[np.argsort(-tl[tasks], kind="stable")]
    gp = _lane_groups(order, tl, W32 if fe else W16)
    run_chunks(_bounds_chunks, -(-(gp.shape[0] - 1) // _PER), X, Y, cx, cy, xr, yr, to, tl,
               order, gp, fe, gb)


@njit(cache=True, error_model="numpy")
def _partial(slot_ptr, gb, w, lb, best, skip):
    """lb[r] = ``grouped_bound`` of triple r's group bounds gb[:, r] for the triples of each
    slot (all of them, except ``skip[s]``) whose previous lb[r] does not exceed the slot's
    best; returns those triples (the ones worth the next, tighter or exact, step)."""
    ns = slot_ptr.shape[0] - 1
    take = np.empty(slot_ptr[ns], dtype=np.int64)
    c = 0
    for s in range(ns):
        for r in range(slot_ptr[s], slot_ptr[s + 1]):
            if r != skip[s] and not lb[r] > best[s]:
                lb[r] = grouped_bound(gb[0, r], gb[1, r], gb[2, r], w)
                take[c] = r
                c += 1
    return take[:c]


@njit(cache=True, error_model="numpy")
def _choice_triples(slot_ptr):
    """The triples of the slots that hold more than one (a minimum to choose)."""
    ns = slot_ptr.shape[0] - 1
    many = np.empty(slot_ptr[ns], dtype=np.int64)
    c = 0
    for s in range(ns):
        if slot_ptr[s + 1] - slot_ptr[s] > 1:
            for r in range(slot_ptr[s], slot_ptr[s + 1]):
                many[c] = r
                c += 1
    return many[:c]


@njit(cache=True, error_model="numpy")
def _candidates(slot_ptr, lb, cand):
    """Per non-empty slot the triple with the smallest lb (the first of equals) into cand[s];
    returns those triples."""
    ns = slot_ptr.shape[0] - 1
    out = np.empty(ns, dtype=np.int64)
    nc = 0
    for s in range(ns):
        lo = slot_ptr[s]
        if slot_ptr[s + 1] > lo:
            k = lo
            for r in range(lo + 1, slot_ptr[s + 1]):
                if lb[r] < lb[k]:
                    k = r
            cand[s] = k
            out[nc] = k
            nc += 1
    return out[:nc]


@njit(cache=True, error_model="numpy")
def _best_of_candidates(cand, val, best):
    """best[s] = the candidate's exact value where it is below best[s]."""
    for s in range(cand.shape[0]):
        if cand[s] >= 0 and val[cand[s]] < best[s]:
            best[s] = val[cand[s]]


@njit(cache=True, error_model="numpy")
def _may_win(slot_ptr, rest, gb, w, best, lb, lims):
    """Completes the bound lb of the triples ``rest`` (with FE) and sets every triple's limit
    lims[r] to its slot's best; returns those of ``rest`` whose bound does not exceed it."""
    m = lb.shape[0]
    inrest = np.zeros(m, dtype=np.bool_)
    inrest[rest] = True
    many = np.empty(m, dtype=np.int64)
    c = 0
    for s in range(slot_ptr.shape[0] - 1):
        for r in range(slot_ptr[s], slot_ptr[s + 1]):
            lims[r] = best[s]
            if inrest[r]:  # complete bound (with FE); the exact value only when it may win
                lb[r] = grouped_bound(gb[0, r], gb[1, r], gb[2, r], w)
                if not lb[r] > best[s]:
                    many[c] = r
                    c += 1
    return many[:c]


@njit(cache=True, error_model="numpy")
def _best_of_rest(slot_ptr, cand, val, best):
    """best[s] = the smallest exact value among the slot's other triples where below it."""
    for s in range(slot_ptr.shape[0] - 1):
        for r in range(slot_ptr[s], slot_ptr[s + 1]):
            if r != cand[s] and val[r] < best[s]:
                best[s] = val[r]


def _min_pruned(X, Y, xr, yr, to, tl, slot_ptr, w):
    """Minimum grouped DTW per slot (triples slot_ptr[s]:slot_ptr[s + 1]) -> (S,) float64,
    equal to the minimum over every triple's exact value (NaN values never win; inf when none).
    A cascade of exact lower bounds (``dtw_bounds``), each step only on the triples the one
    before could not rule out:

    1. float32 DTW bounds of the AU and VA groups of every triple whose slot has more than one
       (FE bounded by 0): the partial bound p[r];
    2. per slot, the triple with the smallest p exactly (the likely minimum): the slot's best;
    3. float32 FE bounds of the other triples with p <= best, completing their bound lb;
    4. exactly, the triples with lb <= best (usually none), each abandoned as soon as its
       running bound exceeds best.
    A skipped triple's exact value is >= its bound > best >= the minimum, so the minimum (and
    which float it is) is the one the full computation gives."""
    m = xr.shape[0]
    ns = slot_ptr.shape[0] - 1
    gb = np.zeros((4, m))  # group bounds; gb[3]: the exact AU value where known, else -1
    gb[3] = -1.0
    lb = np.zeros(m)
    cand = np.full(ns, -1, dtype=np.int64)
    many = _choice_triples(slot_ptr)
    cx = frame_codes(X)  # AU masks and flags, once per sequence
    cy = frame_codes(Y)
    if many.shape[0] > 0:
        _bounds_many(X, Y, cx, cy, xr, yr, to, tl, many, False, gb)
    best = np.full(ns, np.inf)
    _partial(slot_ptr, gb, w, lb, best, cand)  # p = AU and VA bounds, FE bounded by 0
    first = _candidates(slot_ptr, lb, cand)
    val = np.full(m, np.inf)
    _exact_many(X, Y, xr, yr, to, tl, first, np.full(m, np.inf), w, val, gb[3])
    _best_of_candidates(cand, val, best)
    rest = _partial(slot_ptr, gb, w, lb, best, cand)  # the others that p cannot rule out
    if rest.shape[0] == 0:
        return best
    _bounds_many(X, Y, cx, cy, xr, yr, to, tl, rest, True, gb)
    lims = np.full(m, np.inf)
    many = _may_win(slot_ptr, rest, gb, w, best, lb, lims)
    if many.shape[0] == 0:
        return best
    _exact_many(X, Y, xr, yr, to, tl, many, lims, w, val, gb[3])
    _best_of_rest(slot_ptr, cand, val, best)
    return best


def _pruned_equal(pred: np.ndarray, gt: np.ndarray, ptr: np.ndarray, idx: np.ndarray
                  ) -> np.ndarray:
    """Triples of the equal-length problem (slot i * alpha + k) -> (N, alpha) minima."""
    n, alpha, t = pred.shape[:3]
    cnt = np.repeat(np.diff(ptr), alpha)  # neighbours per slot
    slot_ptr = np.zeros(n * alpha + 1, dtype=np.int64)
    np.cumsum(cnt, out=slot_ptr[1:])
    xr = np.repeat(np.arange(n * alpha, dtype=np.int64), cnt)
    yr = np.concatenate([idx[ptr[i]:ptr[i + 1]] for i in range(n) for _ in range(alpha)]
                        + [np.empty(0, np.int64)]).astype(np.int64)
    to = np.zeros(xr.shape[0], dtype=np.int64)
    tl = np.full(xr.shape[0], t, dtype=np.int64)
    best = _min_pruned(pred.reshape(n * alpha, t, EMOTION_DIM), gt, xr, yr, to, tl, slot_ptr, _W)
    return best.reshape(n, alpha)


def _pruned_ragged(pred: np.ndarray, tg: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Triples of the ragged problem (slot s * A + k, targets q) -> (N, A) minima."""
    alpha, kk = pred.shape[0], tg.shape[0]
    n = off.shape[0] - 1
    ns = n * alpha
    slot_ptr = np.arange(ns + 1, dtype=np.int64) * kk
    xr = np.tile(np.repeat(np.arange(alpha, dtype=np.int64), kk), n)
    yr = np.tile(np.arange(kk, dtype=np.int64), ns)
    to = np.repeat(np.asarray(off[:-1], dtype=np.int64), alpha * kk)
    tl = np.repeat(np.diff(np.asarray(off, dtype=np.int64)), alpha * kk)
    return _min_pruned(pred, tg, xr, yr, to, tl, slot_ptr, _W).reshape(n, alpha)


# ----------------------------------------------------------------------------- wrappers
def neighbour_csr(neighbours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, N) bool/0-1 matrix -> (row pointer (N + 1,), column indices) int64."""
    mask = np.asarray(neighbours) == 1
    counts = mask.sum(axis=1)
    ptr = np.zeros(mask.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    idx = np.nonzero(mask)[1].astype(np.int64)
    return ptr, idx


def _check_engine_shapes(pred, gt, neighbours) -> None:
    """Shapes the batched engines need: pred (N, alpha, T, 25), gt (M, T, 25), nb (N, M)."""
    p, g, nb = np.shape(pred), np.shape(gt), np.shape(neighbours)
    if len(p) != 4 or p[3] != EMOTION_DIM:
        raise ValueError(f"pred: expected shape (N, alpha, T, {EMOTION_DIM}), got {p}")
    if len(g) != 3 or g[2] != EMOTION_DIM:
        raise ValueError(f"gt: expected shape (N, T, {EMOTION_DIM}), got {g}")
    if g[1] != p[2]:
        raise ValueError(
            f"gt: expected T = {p[2]} frames like pred (the batched engine needs equal lengths; "
            f"use grouped_dtw for unequal ones), got {g[1]}"
        )
    if nb != (p[0], g[0]):
        raise ValueError(f"neighbours: expected shape ({p[0]}, {g[0]}), got {nb}")


def min_grouped_dtw(pred, gt, neighbours, *, n_jobs: int = -1, device: str = "cpu",
                    abandon: bool = True) -> np.ndarray:
    """Per (speaker, generation) minimum grouped DTW over the appropriate real reactions.

    pred: (N, alpha, T, 25); gt: (N, T, 25); neighbours: (N, N) 0/1 (row i lists the rows j of
    ``gt`` appropriate for speaker i; every row non-empty). Returns (N, alpha) float64 with
    ``out[i, k] = min_{j: nb[i, j] == 1} grouped_dtw(pred[i, k], gt[j])``. ``device`` "cuda..."
    runs the GPU engine (``reactbench.metrics.dtw_cuda``). ``abandon`` (default) skips the pairs
    whose float32 lower bound shows they cannot be the minimum; False computes every pair in
    full (the same values, slower). Inputs are trusted (validated by the public callers), except
    for the shapes, which the compiled kernels rely on; a pair holding NaN or inf is always
    computed in full, and a NaN distance never wins the minimum (inf when every pair is NaN).
    """
    _check_engine_shapes(pred, gt, neighbours)
    if check_device(device) != "cpu":
        return min_grouped_dtw_cuda(pred, gt, neighbours, device=device)
    pred = np.ascontiguousarray(pred, dtype=np.float32)
    gt = np.ascontiguousarray(gt, dtype=np.float32)
    ptr, idx = neighbour_csr(neighbours)
    with numba_threads(n_jobs):
        if abandon:
            return _pruned_equal(pred, gt, ptr, idx)
        return _min_grouped(pred, gt, ptr, idx, _W)


def min_grouped_dtw_ragged(pred: np.ndarray, tg: np.ndarray, off: np.ndarray,
                           order: np.ndarray, *, n_jobs: int = -1,
                           abandon: bool = True) -> np.ndarray:
    """Per (sample, generation) minimum grouped DTW over the sample's targets, on variable-length
    samples packed along time: pred (A, L, 25), tg (K, L, 25) float32, sample s = frames
    off[s]:off[s + 1], visited in ``order`` (longest first balances the threads) when
    ``abandon`` is False. Returns (N, A) float64; each value is the one ``grouped_dtw`` gives
    (whole clips, no chunking); ``abandon`` prunes as ``min_grouped_dtw`` does."""
    with numba_threads(n_jobs):
        if abandon:
            return _pruned_ragged(pred, tg, off)
        return _min_grouped_ragged(pred, tg, off, order, _W)


def _check_pair(x: np.ndarray, y: np.ndarray, width: int | None = None) -> None:
    """Two non-empty, finite (T, d) arrays with the same d (``width`` when given)."""
    want = "with the same d" if width is None else f"with d = {width}"
    if (x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or 0 in x.shape or 0 in y.shape
            or (width is not None and x.shape[1] != width)):
        raise ValueError(
            f"x, y: expected two non-empty (T, d) arrays {want}, got {x.shape} and {y.shape}"
        )
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x, y: expected finite values (found NaN or inf)")


def grouped_dtw(x, y) -> float:
    """Grouped FRDist distance of two (T, 25) sequences (float32 cast, float64 sums)."""
    x = as_float32(x, "x")
    y = as_float32(y, "y")
    _check_pair(x, y, EMOTION_DIM)
    if x.shape[0] != y.shape[0]:  # unequal lengths: one DTW per group
        return float(sum(w * _dtw_single(x[:, a:b].astype(np.float64), y[:, a:b].astype(
            np.float64)) for a, b, w in DTW_GROUPS))
    t = x.shape[0]
    xt, yt = np.empty((EMOTION_DIM, t)), np.empty((EMOTION_DIM, t))
    xm, ym = np.empty(t, dtype=np.int64), np.empty(t, dtype=np.int64)
    bits = _prepare(x, xt, xm) & _prepare(y, yt, ym)
    return float(_grouped_pair(xt, xm, yt, ym, bits, _W, np.inf, np.empty((2, 3, t)),
                               np.empty((3, 3, t + 1))))


def dtw(x, y) -> float:
    """Multivariate DTW of x (Tx, d) and y (Ty, d) or 1-d series, the value of
    ``tslearn.metrics.dtw`` (sqrt of the minimal accumulated squared Euclidean cost)."""
    x = as_float64(x, "x")
    y = as_float64(y, "y")
    if x.ndim == 1:
        x = x[:, None]
    if y.ndim == 1:
        y = y[:, None]
    _check_pair(x, y)
    return float(_dtw_single(np.ascontiguousarray(x), np.ascontiguousarray(y)))
