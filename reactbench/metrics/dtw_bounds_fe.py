"""The FE bound pass of the FRDist engine: the float32 DTW of the FE group, W32 pairs at once.

The cost is the expanded form ``max(0, fl(|x|^2 + |y|^2 - 2 x.y))`` (a fused multiply-add
chain, squared norms rounded once from float64), within ``fe_error`` of the exact cost; the
proof that the resulting bound never exceeds the float64 value is in ``dtw_bounds``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from reactbench.metrics.dtw_simd32 import (
    W32,
    add32,
    fma32,
    lane32,
    load32,
    max32,
    min32,
    mul32,
    splat32,
    store32,
)

_AU = 15
_FE = 8  # FE columns; the FE lane arrays hold one more: the row's squared norm


@njit(cache=True, error_model="numpy")
def fe_error(norms: float) -> float:
    """Per-cell absolute error bound e of the float32 FE cost (expanded form) for a pair whose
    largest FE squared norms sum to ``norms`` (module docstring, step 2)."""
    return 16.0 * 2.0**-21 * norms * (1.0 + 2.0**-20)


@njit(cache=True, error_model="numpy")
def fill_fe32(x, lane, kf):
    """Copy the FE columns of x (T, 25) f32 into lane ``lane`` of kf (T, 9, W32), the row's
    squared norm (rounded once from float64) last. Returns the largest squared norm."""
    top = 0.0
    for a in range(x.shape[0]):
        nrm = 0.0
        for c in range(_FE):
            v = x[a, _AU + 2 + c]
            kf[a, c, lane] = v
            nrm += np.float64(v) * np.float64(v)
        kf[a, _FE, lane] = nrm
        top = max(top, nrm)
    return top


@njit(cache=True, error_model="numpy")
def lane_fe32(XF, YF, rows, out):
    """W32 DTWs of the FE group in float32, lane l = one (x, y) pair of equal length T; writes
    the accumulated cost, out (W32,) float32 (no square root).

    XF, YF (T, 9, W32) float32, lane-minor (``fill_fe32``: 8 FE columns and the squared norm);
    rows (2, T + 1, W32) scratch. The cost is the expanded form |x|^2 + |y|^2 - 2 x.y (a fused
    multiply-add chain), clamped at 0 (the module docstring's e term); rows go in strips of two
    as in ``lane_auva32``.
    """
    t = XF.shape[0]
    inf = splat32(np.inf)
    zero = splat32(0.0)
    m2 = splat32(-2.0)
    st = (t + 1) * W32
    for b in range(1, t + 1):  # virtual row -1 (buffer 1): D(-1, -1) = 0
        store32(rows, st + b * W32, inf)
    store32(rows, st, splat32(0.0))
    t2 = inf
    u2 = inf
    k = _FE + 1
    for a in range(0, t, 2):
        a2 = a + 1 if a + 1 < t else a  # x frame of the bottom row (a dummy when T is odd)
        s = (a // 2) % 2
        p2 = (1 - s) * st
        n2 = s * st
        xv = a * k * W32
        zv = a2 * k * W32
        x17 = load32(XF, xv)
        x18 = load32(XF, xv + W32)
        x19 = load32(XF, xv + 2 * W32)
        x20 = load32(XF, xv + 3 * W32)
        x21 = load32(XF, xv + 4 * W32)
        x22 = load32(XF, xv + 5 * W32)
        x23 = load32(XF, xv + 6 * W32)
        x24 = load32(XF, xv + 7 * W32)
        z17 = load32(XF, zv)
        z18 = load32(XF, zv + W32)
        z19 = load32(XF, zv + 2 * W32)
        z20 = load32(XF, zv + 3 * W32)
        z21 = load32(XF, zv + 4 * W32)
        z22 = load32(XF, zv + 5 * W32)
        z23 = load32(XF, zv + 6 * W32)
        z24 = load32(XF, zv + 7 * W32)
        nx = load32(XF, xv + 8 * W32)
        nz = load32(XF, zv + 8 * W32)
        q2 = load32(rows, p2)
        store32(rows, n2, inf)
        t2 = inf  # D[a, b - 1] (top row)
        u2 = inf  # D[a + 1, b - 1] (bottom row)
        for b in range(t):
            yb = b * k * W32
            y = load32(YF, yb)
            sd = mul32(x17, y)
            se = mul32(z17, y)
            y = load32(YF, yb + W32)
            sd = fma32(x18, y, sd)
            se = fma32(z18, y, se)
            y = load32(YF, yb + 2 * W32)
            sd = fma32(x19, y, sd)
            se = fma32(z19, y, se)
            y = load32(YF, yb + 3 * W32)
            sd = fma32(x20, y, sd)
            se = fma32(z20, y, se)
            y = load32(YF, yb + 4 * W32)
            sd = fma32(x21, y, sd)
            se = fma32(z21, y, se)
            y = load32(YF, yb + 5 * W32)
            sd = fma32(x22, y, sd)
            se = fma32(z22, y, se)
            y = load32(YF, yb + 6 * W32)
            sd = fma32(x23, y, sd)
            se = fma32(z23, y, se)
            y = load32(YF, yb + 7 * W32)
            sd = fma32(x24, y, sd)
            se = fma32(z24, y, se)
            y = load32(YF, yb + 8 * W32)
            cd = max32(fma32(m2, sd, add32(nx, y)), zero)
            ce = max32(fma32(m2, se, add32(nz, y)), zero)
            r2 = load32(rows, p2 + (b + 1) * W32)
            h2 = add32(cd, min32(t2, min32(q2, r2)))
            u2 = add32(ce, min32(u2, min32(t2, h2)))
            store32(rows, n2 + (b + 1) * W32, u2)
            t2 = h2
            q2 = r2
    if t % 2 == 1:  # the last strip's bottom row was a dummy
        u2 = t2
    for lane in range(W32):
        out[lane] = lane32(u2, lane)
