"""Exact lower bounds of the grouped DTW distance from a float32 dynamic programme.

The FRDist engine (``reactbench.metrics.dtw_engine``) needs, per (generation, neighbour) pair, a
number that is never larger than the float64 grouped distance the engine computes, yet close to
it, so that neighbours which cannot beat the best one are skipped without their exact DTW.
Cheap classic bounds (per-row or per-column cost minima, envelopes, first/last frames, a running
row minimum during the DP) are far too loose for unconstrained DTW on long clips: on REACT-like
data they reach about a fifth of the distance, while the neighbours of a generation lie within 5
to 30 % of each other. The bound here is the same DTW computed in float32, 8 alignments per AVX2
instruction (``lane_auva32`` for the AU and VA groups, ``lane_fe32`` for FE: two passes, so that
the engine can bound the cheap groups first), shrunk by a proven rounding margin; it is typically
within 0.1 % of the exact distance.

Validity (``group_bound``), for one group with k <= 15 columns, equal lengths T, finite inputs
(a pair holding NaN or inf gets the bound 0), n = 2T + k + 2 and u = 2^-24:

1. Monotonicity: for a non-negative cost c, ``fl(c + m)`` is non-decreasing in m and >= m, and
   the recurrence ``D = fl(c + min(three predecessors))`` takes an exact minimum. By induction
   over the cells in DP order, the computed value of any cell is <= the cost of any warping path
   to it summed in path order with the same rounding (``S_i = fl(c_i + S_{i-1})``).
2. float32 side. AU and VA costs are ``fl(sum fl(fl(x - y)^2))`` (the 16-pair pass takes the
   last VA term by a fused multiply-add, one rounding fewer), at most (1 + u)^(k+2) times the
   exact cost (binary AUs: an exact popcount). FE costs use the expanded form
   ``max(0, fl(|x|^2 + |y|^2 - 2 x.y))`` (a fused multiply-add chain, squared norms rounded once
   from float64): at most the exact cost plus e = 16 * 2^-21 * (max_a |x_a|^2 + max_b |y_b|^2),
   and never negative. A warping path has at most 2T - 1 cells, so for an exact optimal path P*
   (exact value V*) step 1 gives V32 <= (1 + u)^n (V* + 2T e) + A, where A <= n * 2T * 2^-144
   covers underflow (at most 2^-149 per operation). A float32 cost that overflows is >= the
   float32 maximum and so bounds any finite V32 on its own.
3. float64 side: the engine's value V64 is the float64 path sum of its own argmin path, every
   rounding at least (1 - 2^-53) times the exact result, so V64 >= (1 - 2^-53)^n V* less
   n * 2T * 2^-1069 of underflow.
4. Hence V64 >= V32 (1 - n 2^-20) - 2T e (1 + n 2^-20) - n * 2T * 2^-120 whenever n 2^-20 < 1:
   a margin 16 times the rounding terms, so the margin's own float64 rounding stays inside it.
   A non-finite V32 gives the bound 0.
5. The grouped distance is ``fl(fl(fl(w0 sqrt D0) + fl(w1 sqrt D1)) + fl(w2 sqrt D2))`` with
   positive weights; sqrt, the products and the sums are correctly rounded, hence monotone, so
   the same expression on the group bounds is <= the grouped distance (``grouped_bound``);
   so is the expression with any group bound replaced by 0 (a group not computed yet).

A binary-AU group's float32 costs and sums are small integers (below 2^24 for T < 500 000), so
its V32 is exact; the margin only makes that bound a little smaller. The 16-pair pass
(``dtw_bounds16``) runs that group in unsigned 16-bit integers with saturating additions: a
saturating sum is never above the true sum and is monotone, so step 1 holds and the value is
the exact AU value below 65535, and a lower bound of it at 65535; it needs no margin.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from reactbench.jit import runtime_bool
from reactbench.metrics.constants import DTW_GROUPS
from reactbench.metrics.dtw_bounds16 import (
    NONBINARY,
    NONFINITE,
    SATURATED,
    W16,
    fill_auva16,
    frame_codes,
    lane_auva16,
)
from reactbench.metrics.dtw_bounds_fe import fe_error, fill_fe32, lane_fe32
from reactbench.metrics.dtw_simd32 import (
    W32,
    add32,
    high16f,
    lane32,
    load32,
    low16f,
    min32,
    mul32,
    pack16,
    popxor16,
    splat32,
    store32,
    sub32,
)

_AU = 15
_FE = 8  # FE columns; the FE lane arrays hold one more: the row's squared norm


@njit(cache=True, error_model="numpy")
def group_bound(v32: float, t: int, k: int, e: float) -> float:
    """Lower bound of the float64 DTW value (accumulated cost) of one group from its float32
    value ``v32`` (T = t frames, k columns, per-cell absolute cost error at most ``e``); see the
    module docstring for the proof."""
    n = 2.0 * t + k + 2.0
    rel = n * 2.0**-20
    if not np.isfinite(v32) or rel >= 1.0:
        return 0.0
    lb = np.float64(v32) * (1.0 - rel) - (2.0 * t) * e * (1.0 + rel) - n * (2.0 * t) * 2.0**-120
    return lb if lb > 0.0 else 0.0


@njit(cache=True, error_model="numpy")
def grouped_bound(b_au: float, b_va: float, b_fe: float, w) -> float:
    """Lower bound of the grouped distance ``w0 sqrt(D_AU) + w1 sqrt(D_VA) + w2 sqrt(D_FE)``
    (same operation order as the engine) from lower bounds of the three group values
    (``group_bound``); a group bounded by 0 still gives a bound (step 5)."""
    return w[0] * np.sqrt(b_au) + w[1] * np.sqrt(b_va) + w[2] * np.sqrt(b_fe)


@njit(cache=True, error_model="numpy")
def _finite(code) -> bool:
    """No frame of a sequence's codes (``frame_codes``) holds a NaN or inf."""
    for a in range(code.shape[0]):
        if code[a] & NONFINITE:
            return False
    return True


@njit(cache=True, error_model="numpy")
def fill_auva32(x, lane, ka, kv, km, dup):
    """Copy x (T, 25) f32 into lane ``lane`` of ka (T, 15, W32) (AU), kv (T, 2, W32) (VA) and
    the AU masks km (T, W32) int32 (with ``dup`` the mask is stored in both 16-bit halves, the
    layout ``popxor16`` needs for y). Returns True when every AU value is 0 or 1."""
    binary = True
    for a in range(x.shape[0]):
        m = 0
        for c in range(_AU):
            v = x[a, c]
            ka[a, c, lane] = v
            if v == 1.0:
                m |= 1 << c
            elif v != 0.0:
                binary = False
        km[a, lane] = m | (m << 16) if dup else m
        kv[a, 0, lane] = x[a, _AU]
        kv[a, 1, lane] = x[a, _AU + 1]
    return binary


@njit(cache=True, error_model="numpy")
def lane_auva32(XA, XV, XM, YA, YV, YM, bits, rows, cau, out):
    """W32 DTWs of the AU and VA groups in float32, lane l = one (x, y) pair of equal length
    T; writes the accumulated cost of each group, out (2, W32) float32 (no square root).

    XA, YA (T, 15, W32) and XV, YV (T, 2, W32) float32, lane-minor (``fill_auva32``); XM, YM
    (T, W32) int32 AU masks, YM in both 16-bit halves (used when ``bits``: the AU costs of two
    rows are then one popcount); rows (2, 2, T + 1, W32) and cau (T, 2, W32) float32 scratch.
    Rows go in strips of two (a, a + 1) sharing each load of y's frame b; the top row's cells
    feed the bottom row's in registers.
    """
    t = XM.shape[0]
    inf = splat32(np.inf)
    st = (t + 1) * W32
    for g in range(2):  # virtual row -1 (buffer 1): D(-1, -1) = 0
        for b in range(1, t + 1):
            store32(rows, (2 + g) * st + b * W32, inf)
        store32(rows, (2 + g) * st, splat32(0.0))
    t0 = inf
    t1 = inf
    u0 = inf
    u1 = inf
    for a in range(0, t, 2):
        a2 = a + 1 if a + 1 < t else a  # x frame of the bottom row (a dummy when T is odd)
        s = (a // 2) % 2
        p0 = (1 - s) * 2 * st
        p1 = p0 + st
        n0 = s * 2 * st
        n1 = n0 + st
        if not bits:
            xa = a * _AU * W32
            za = a2 * _AU * W32
            for b in range(t):
                yb = b * _AU * W32
                y = load32(YA, yb)
                d = sub32(load32(XA, xa), y)
                e = sub32(load32(XA, za), y)
                s1 = mul32(d, d)
                s2 = mul32(e, e)
                for c in range(1, _AU):
                    y = load32(YA, yb + c * W32)
                    d = sub32(load32(XA, xa + c * W32), y)
                    e = sub32(load32(XA, za + c * W32), y)
                    s1 = add32(s1, mul32(d, d))
                    s2 = add32(s2, mul32(e, e))
                store32(cau, 2 * b * W32, s1)
                store32(cau, (2 * b + 1) * W32, s2)
        x15 = load32(XV, 2 * a * W32)
        x16 = load32(XV, (2 * a + 1) * W32)
        z15 = load32(XV, 2 * a2 * W32)
        z16 = load32(XV, (2 * a2 + 1) * W32)
        xz = pack16(load32(XM, a * W32), load32(XM, a2 * W32))  # rows a, a + 1
        q0 = load32(rows, p0)
        q1 = load32(rows, p1)
        store32(rows, n0, inf)
        store32(rows, n1, inf)
        t0 = inf  # D[a, b - 1] per group (top row)
        t1 = inf
        u0 = inf  # D[a + 1, b - 1] per group (bottom row)
        u1 = inf
        if bits:  # binary AUs: popcounts of the XOR, both rows at once (exact integers)
            for b in range(t):
                y = load32(YV, 2 * b * W32)
                d = sub32(x15, y)
                e = sub32(z15, y)
                sd = mul32(d, d)
                se = mul32(e, e)
                y = load32(YV, (2 * b + 1) * W32)
                d = sub32(x16, y)
                e = sub32(z16, y)
                cd = add32(sd, mul32(d, d))
                ce = add32(se, mul32(e, e))
                pc = popxor16(xz, load32(YM, b * W32))
                o = (b + 1) * W32
                r0 = load32(rows, p0 + o)
                r1 = load32(rows, p1 + o)
                # top row a: diagonal q = D[a-1, b-1], up r = D[a-1, b], left t = D[a, b-1]
                h0 = add32(low16f(pc), min32(t0, min32(q0, r0)))
                h1 = add32(cd, min32(t1, min32(q1, r1)))
                # bottom row a + 1: diagonal t = D[a, b-1], up h = D[a, b], left u
                u0 = add32(high16f(pc), min32(u0, min32(t0, h0)))
                u1 = add32(ce, min32(u1, min32(t1, h1)))
                store32(rows, n0 + o, u0)
                store32(rows, n1 + o, u1)
                t0 = h0
                t1 = h1
                q0 = r0
                q1 = r1
        else:  # the same cells with the AU costs of this strip from cau
            for b in range(t):
                y = load32(YV, 2 * b * W32)
                d = sub32(x15, y)
                e = sub32(z15, y)
                sd = mul32(d, d)
                se = mul32(e, e)
                y = load32(YV, (2 * b + 1) * W32)
                d = sub32(x16, y)
                e = sub32(z16, y)
                cd = add32(sd, mul32(d, d))
                ce = add32(se, mul32(e, e))
                o = (b + 1) * W32
                r0 = load32(rows, p0 + o)
                r1 = load32(rows, p1 + o)
                h0 = add32(load32(cau, 2 * b * W32), min32(t0, min32(q0, r0)))
                h1 = add32(cd, min32(t1, min32(q1, r1)))
                u0 = add32(load32(cau, (2 * b + 1) * W32), min32(u0, min32(t0, h0)))
                u1 = add32(ce, min32(u1, min32(t1, h1)))
                store32(rows, n0 + o, u0)
                store32(rows, n1 + o, u1)
                t0 = h0
                t1 = h1
                q0 = r0
                q1 = r1
    if t % 2 == 1:  # the last strip's bottom row was a dummy
        u0 = t0
        u1 = t1
    for lane in range(W32):
        out[0, lane] = lane32(u0, lane)
        out[1, lane] = lane32(u1, lane)


@njit(cache=True, error_model="numpy")
def scratch32(t: int):
    """Float32 and int32 scratch for ``bound_lanes`` at up to t frames (reused across groups;
    large enough for every pass)."""
    nf = t * W32 * (2 * _AU + 2 * 2 + 2) + 4 * (t + 1) * W32
    return np.empty(nf, dtype=np.float32), np.empty(2 * t * W32 + 2 * (t + 1) * W32,
                                                    dtype=np.int32)


@njit(cache=True, error_model="numpy")
def _pair(X, Y, xr, yr, to, r, t):
    """Pair r: x = X[xr[r], to[r]:to[r] + t], y = Y[yr[r], same frames] (also for codes)."""
    return X[xr[r], to[r]:to[r] + t], Y[yr[r], to[r]:to[r] + t]


@njit(cache=True, error_model="numpy")
def _fe_lanes(X, Y, cx, cy, xr, yr, to, t, sel, gb, fbuf):
    """gb[2, sel] from ``lane_fe32`` (at most W32 pairs)."""
    nl = sel.shape[0]
    nf = t * (_FE + 1) * W32
    xf = fbuf[:nf].reshape((t, _FE + 1, W32))
    yf = fbuf[nf:2 * nf].reshape((t, _FE + 1, W32))
    rows = fbuf[2 * nf:2 * nf + 2 * (t + 1) * W32]
    xf[:, :, nl:] = 0.0  # padding lanes: zero sequences
    yf[:, :, nl:] = 0.0
    norms = np.zeros(W32)
    finite = np.ones(W32, dtype=np.bool_)
    for lane in range(nl):
        x, y = _pair(X, Y, xr, yr, to, sel[lane], t)
        kx, ky = _pair(cx, cy, xr, yr, to, sel[lane], t)
        finite[lane] = _finite(kx) and _finite(ky)
        norms[lane] = fill_fe32(x, lane, xf) + fill_fe32(y, lane, yf)
    v = np.empty(W32, dtype=np.float32)
    lane_fe32(xf, yf, rows, v)
    for lane in range(nl):
        gb[2, sel[lane]] = (group_bound(v[lane], t, _FE, fe_error(norms[lane]))
                            if finite[lane] else 0.0)


@njit(cache=True, error_model="numpy")
def _auva32_lanes(X, Y, cx, cy, xr, yr, to, t, sel, gb, fbuf, ibuf):
    """gb[0:2, sel] from ``lane_auva32`` (at most W32 pairs, any AU values)."""
    nl = sel.shape[0]
    na = t * _AU * W32
    nv = t * 2 * W32
    xa = fbuf[:na].reshape((t, _AU, W32))
    ya = fbuf[na:2 * na].reshape((t, _AU, W32))
    xv = fbuf[2 * na:2 * na + nv].reshape((t, 2, W32))
    yv = fbuf[2 * na + nv:2 * na + 2 * nv].reshape((t, 2, W32))
    o = 2 * na + 2 * nv
    cau = fbuf[o:o + 2 * t * W32].reshape((t, 2, W32))
    o += 2 * t * W32
    rows = fbuf[o:o + 4 * (t + 1) * W32]
    xm = ibuf[:t * W32].reshape((t, W32))
    ym = ibuf[t * W32:2 * t * W32].reshape((t, W32))
    xa[:, :, nl:] = 0.0  # padding lanes: zero sequences
    ya[:, :, nl:] = 0.0
    xv[:, :, nl:] = 0.0
    yv[:, :, nl:] = 0.0
    xm[:, nl:] = 0
    ym[:, nl:] = 0
    finite = np.ones(W32, dtype=np.bool_)
    bits = True
    for lane in range(nl):
        x, y = _pair(X, Y, xr, yr, to, sel[lane], t)
        kx, ky = _pair(cx, cy, xr, yr, to, sel[lane], t)
        finite[lane] = _finite(kx) and _finite(ky)
        bx = fill_auva32(x, lane, xa, xv, xm, False)
        by = fill_auva32(y, lane, ya, yv, ym, True)
        bits = bits and bx and by
    out = np.empty((2, W32), dtype=np.float32)
    lane_auva32(xa, xv, xm, ya, yv, ym, runtime_bool(bits), rows, cau, out)
    for lane in range(nl):
        r = sel[lane]
        gb[0, r] = group_bound(out[0, lane], t, _AU, 0.0) if finite[lane] else 0.0
        gb[1, r] = group_bound(out[1, lane], t, 2, 0.0) if finite[lane] else 0.0
        gb[3, r] = -1.0


@njit(cache=True, error_model="numpy")
def bound_lanes(X, Y, cx, cy, xr, yr, to, tl, sel, fe, gb, fbuf, ibuf):
    """Lower bounds of group values of the pairs ``sel`` (equal length; at most W32 with
    ``fe``, else W16), from their lane DTWs: with ``fe`` False the AU and VA groups (gb[0, r],
    gb[1, r]), else the FE group (gb[2, r]). Pair r is x = X[xr[r], to[r]:to[r] + tl[r]] and
    y = Y[yr[r], same frames] (f32); a pair holding a non-finite value anywhere gets 0.
    The AU and VA pass runs ``lane_auva16`` when every AU value is 0 or 1 (the AU bound is
    then the exact AU value, or 65535 when saturated), else ``lane_auva32`` per half; gb[3, r]
    is the exact AU value where the pass found it (finite, binary, not saturated), else -1.
    cx, cy: ``frame_codes`` of X and Y; fbuf, ibuf: ``scratch32`` of at least this length."""
    t = tl[sel[0]]
    if fe:
        _fe_lanes(X, Y, cx, cy, xr, yr, to, t, sel, gb, fbuf)
        return
    nl = sel.shape[0]
    nv = t * 4 * W32
    xv = fbuf[:nv].reshape((t, 2, 2, W32))
    yv = fbuf[nv:2 * nv].reshape((t, 2, 2, W32))
    rv = fbuf[2 * nv:2 * nv + 4 * (t + 1) * W32]
    xm = ibuf[:t * W32].reshape((t, W32))
    ym = ibuf[t * W32:2 * t * W32].reshape((t, W32))
    ra = ibuf[2 * t * W32:2 * t * W32 + 2 * (t + 1) * W32]
    xv[:] = 0.0  # padding lanes: zero sequences
    yv[:] = 0.0
    xm[:] = 0
    ym[:] = 0
    finite = np.ones(W16, dtype=np.bool_)
    bits = True
    for lane in range(nl):
        x, y = _pair(X, Y, xr, yr, to, sel[lane], t)
        kx, ky = _pair(cx, cy, xr, yr, to, sel[lane], t)
        flags = fill_auva16(x, kx, lane, xv, xm) | fill_auva16(y, ky, lane, yv, ym)
        finite[lane] = not flags & NONFINITE
        bits = bits and not flags & NONBINARY
    if not bits:
        for h in range(0, nl, W32):
            _auva32_lanes(X, Y, cx, cy, xr, yr, to, t, sel[h:h + W32], gb, fbuf, ibuf)
        return
    out = np.empty((2, W16))
    lane_auva16(xv, xm, yv, ym, rv, ra, out)
    for lane in range(nl):
        r = sel[lane]
        gb[0, r] = out[0, lane] if finite[lane] else 0.0
        gb[1, r] = group_bound(out[1, lane], t, 2, 0.0) if finite[lane] else 0.0
        exact = finite[lane] and out[0, lane] < SATURATED
        gb[3, r] = out[0, lane] if exact else -1.0


def lower_bounds(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Lower bounds of ``grouped_dtw(x[p], y[p])`` for P pairs: x, y (P, T, 25) float32 ->
    (P,) float64, each <= the engine's float64 grouped distance (module docstring)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.float32)
    if x.ndim != 3 or x.shape != y.shape or x.shape[2] != 25 or x.shape[1] == 0:
        raise ValueError(f"x, y: expected two (P, T, 25) arrays of one shape with T >= 1, got "
                         f"{x.shape} and {y.shape}")
    p, t = x.shape[:2]
    idx = np.arange(p, dtype=np.int64)
    gb = np.empty((4, p))
    w = np.array([g[2] for g in DTW_GROUPS], dtype=np.float64)
    fbuf, ibuf = scratch32(t)
    to, tl = np.zeros(p, np.int64), np.full(p, t, np.int64)
    cx, cy = frame_codes(x), frame_codes(y)
    for g0 in range(0, p, W16):
        bound_lanes(x, y, cx, cy, idx, idx, to, tl, idx[g0:g0 + W16], runtime_bool(False), gb,
                    fbuf, ibuf)
    for g0 in range(0, p, W32):
        bound_lanes(x, y, cx, cy, idx, idx, to, tl, idx[g0:g0 + W32], runtime_bool(True), gb,
                    fbuf, ibuf)
    return np.array([grouped_bound(gb[0, r], gb[1, r], gb[2, r], w) for r in range(p)])
