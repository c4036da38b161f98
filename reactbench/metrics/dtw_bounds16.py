"""The AU and VA bound pass of the FRDist engine on 2 W32 pairs at once, for binary AUs.

With AU values 0 and 1 the AU cost of two frames is the popcount of the XOR of their 15-bit
masks, and the AU DTW is a sum of such integers: with 16-bit unsigned lanes (twice as many per
register as float32) the dynamic programme is exact integer arithmetic, saturating at 65535
(``addsat16`` never returns more than the sum, so a saturated value is still a lower bound).
Below saturation the value equals the engine's float64 AU value exactly (integer sums below
2^53). The VA group runs beside it in float32 on two vectors of W32 lanes, its cost
``fl(d1^2 + fl(d0^2))`` by one fused multiply-add (fewer roundings than the plain sum, so the
rounding margin of ``dtw_bounds`` still covers it).

Lane p of a group: AU in uint16 lane p (int32 element p // 2, half p % 2), VA in vector half
p // W32, lane p % W32.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from reactbench.metrics.dtw_simd32 import (
    W32,
    add32,
    addsat16,
    fma32,
    lane16,
    lane32,
    load32,
    min16,
    min32,
    mul32,
    popxor16,
    splat16,
    splat32,
    store32,
    sub32,
)
from reactbench.metrics.threads import ROWS_PER_CALL, run_chunks

W16 = 2 * W32  # pairs per group
SATURATED = 65535


NONBINARY = 1 << 15  # frame code flags beside the 15 AU bits
NONFINITE = 1 << 16


def frame_codes(X: np.ndarray) -> np.ndarray:
    """X (R, L, 25) f32 -> (R, L) int32, one code per frame: the AU bit mask (bit c set when
    AU c is 1), plus NONBINARY when an AU value is neither 0 nor 1 and NONFINITE when any of
    the 25 values is NaN or inf. Computed once per sequence, not once per pair."""
    out = np.empty(X.shape[:2], dtype=np.int32)
    run_chunks(_frame_code_rows, X.shape[0], X, out, step=ROWS_PER_CALL)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _frame_code_rows(i0, i1, X, out):
    """Sequences i0:i1 of ``frame_codes``."""
    n = X.shape[1]
    for i in range(i0, i1):
        for a in range(n):
            m = 0
            for c in range(X.shape[2]):
                v = X[i, a, c]
                if not np.isfinite(v):
                    m |= NONFINITE
                if c < 15:
                    if v == 1.0:
                        m |= 1 << c
                    elif v != 0.0:
                        m |= NONBINARY
            out[i, a] = m


@njit(cache=True, error_model="numpy")
def fill_auva16(x, code, lane, kv, km):
    """Copy x (T, 25) f32 with its frame codes (T,) (``frame_codes``) into pair ``lane`` of kv
    (T, 2, 2, W32) (VA columns, vector halves) and km (T, W32) int32 (AU masks in uint16 lanes;
    km must hold zeros there). Returns the OR of the frames' flags (NONBINARY, NONFINITE); the
    masks mean nothing when NONBINARY is set."""
    h = lane // W32
    q = lane % W32
    e = lane // 2
    sh = 16 * (lane % 2)
    flags = 0
    for a in range(x.shape[0]):
        m = code[a]
        flags |= m
        km[a, e] |= np.int32((m & 0x7FFF) << sh)  # km starts at 0 (the caller zeroes it)
        kv[a, 0, h, q] = x[a, 15]
        kv[a, 1, h, q] = x[a, 16]
    return flags & (NONBINARY | NONFINITE)


@njit(cache=True, error_model="numpy")
def lane_auva16(XV, XM, YV, YM, rv, ra, out):
    """W16 DTWs of the AU group (exact uint16) and the VA group (float32), pair p = one (x, y)
    of equal length T; writes out (2, W16) float64: the AU value (65535 when saturated) and the
    float32 VA value (no square root).

    XV, YV (T, 2, 2, W32) float32 and XM, YM (T, W32) int32 (``fill_auva16``); rv (2, T + 1,
    2, W32) float32 and ra (2, T + 1, W32) int32 scratch. One row at a time: with three groups
    of vectors per cell every value stays in a register.
    """
    t = XM.shape[0]
    inf = splat32(np.inf)
    top = splat16(SATURATED)
    sv = (t + 1) * 2 * W32
    sa = (t + 1) * W32
    for b in range(1, t + 1):  # virtual row -1 (buffer 1): D(-1, -1) = 0
        store32(rv, sv + 2 * b * W32, inf)
        store32(rv, sv + (2 * b + 1) * W32, inf)
        store32(ra, sa + b * W32, top)
    store32(rv, sv, splat32(0.0))
    store32(rv, sv + W32, splat32(0.0))
    store32(ra, sa, splat16(0))
    ta = top
    t0 = inf
    t1 = inf
    for a in range(t):
        s = a % 2
        pv = (1 - s) * sv
        nv = s * sv
        pa = (1 - s) * sa
        na = s * sa
        x0 = load32(XV, 4 * a * W32)  # V, half 0
        x1 = load32(XV, (4 * a + 1) * W32)  # V, half 1
        x2 = load32(XV, (4 * a + 2) * W32)  # A, half 0
        x3 = load32(XV, (4 * a + 3) * W32)  # A, half 1
        xm = load32(XM, a * W32)
        qa = load32(ra, pa)
        q0 = load32(rv, pv)
        q1 = load32(rv, pv + W32)
        store32(ra, na, top)
        store32(rv, nv, inf)
        store32(rv, nv + W32, inf)
        ta = top  # D[a, b - 1]: AU, VA half 0, VA half 1
        t0 = inf
        t1 = inf
        for b in range(t):
            yb = 4 * b * W32
            d = sub32(x0, load32(YV, yb))
            e = sub32(x1, load32(YV, yb + W32))
            f = sub32(x2, load32(YV, yb + 2 * W32))
            g = sub32(x3, load32(YV, yb + 3 * W32))
            o = (b + 1) * W32
            r = load32(ra, pa + o)
            r0 = load32(rv, pv + 2 * o)
            r1 = load32(rv, pv + 2 * o + W32)
            # diagonal q = D[a-1, b-1], up r = D[a-1, b], left t = D[a, b-1]
            ta = addsat16(popxor16(xm, load32(YM, b * W32)), min16(ta, min16(qa, r)))
            t0 = add32(fma32(f, f, mul32(d, d)), min32(t0, min32(q0, r0)))
            t1 = add32(fma32(g, g, mul32(e, e)), min32(t1, min32(q1, r1)))
            store32(ra, na + o, ta)
            store32(rv, nv + 2 * o, t0)
            store32(rv, nv + 2 * o + W32, t1)
            qa = r
            q0 = r0
            q1 = r1
    for lane in range(W32):
        out[0, 2 * lane] = lane16(ta, 2 * lane)
        out[0, 2 * lane + 1] = lane16(ta, 2 * lane + 1)
        out[1, lane] = lane32(t0, lane)
        out[1, W32 + lane] = lane32(t1, lane)
