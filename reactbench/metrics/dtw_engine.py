"""Exact grouped DTW on the CPU (numba), the engine behind FRDist.

Value semantics (``official_react2024.md`` section 3.3): one DTW per column group (AU 0:15, VA
15:17, FE 17:25), each a multivariate DTW with steps (i-1, j), (i, j-1), (i-1, j-1), local cost
the squared Euclidean distance over the group's columns, value = sqrt of the minimal accumulated
cost (``tslearn.metrics.dtw``); the grouped distance is ``1/15 DTW_AU + 1 DTW_VA + 1/8 DTW_FE``.
Inputs are float32 (as the official code casts them); every cost and sum is float64, summed in
the same order as tslearn, so values agree with tslearn to rounding.

Speed without changing a value:

* the three groups share one pass over the (T, T) grid: per row of ``x`` the three cost rows are
  computed column-group by column-group (vectorised over ``y``'s frames) and then the three DP
  recurrences advance together;
* ``min_grouped_dtw`` is parallel over (speaker, generation) pairs; the neighbours of a pair are
  visited in order of their diagonal-path cost, whose value (an upper bound of the DTW, computed in
  the same float order) seeds the best-so-far;
* early abandoning: after each DP row, ``sum_g w_g sqrt(min_b D_g[a, b])`` is a lower bound of the
  final distance (every warping path crosses every row and costs are non-negative, and IEEE
  rounding is monotone), so a neighbour is dropped once that bound exceeds the best distance found;
  the minimum is therefore exact.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from reactbench.metrics.constants import AU_COLUMNS, DTW_GROUPS, EMOTION_DIM

AU_END = AU_COLUMNS[1]

_G0, _G1, _G2 = DTW_GROUPS
_W = np.array([g[2] for g in DTW_GROUPS], dtype=np.float64)
_BOUNDS = np.array([g[0] for g in DTW_GROUPS] + [DTW_GROUPS[-1][1]], dtype=np.int64)


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
def _prepare(x, reverse, xt, masks):
    """x (T, 25) f32 -> xt (25, T) float64 (time reversed if asked) and AU bit masks (T,).

    Returns True when every AU value is 0 or 1 (then the AU cost is a popcount, exactly the
    same float64 value as the sum of squared differences)."""
    t = x.shape[0]
    binary = True
    for a in range(t):
        src = t - 1 - a if reverse else a
        m = 0
        for c in range(EMOTION_DIM):
            v = x[src, c]
            xt[c, a] = np.float64(v)
            if c < AU_END:
                if v == 1.0:
                    m |= 1 << c
                elif v != 0.0:
                    binary = False
        masks[a] = m
    return binary


@njit(cache=True, error_model="numpy")
def _acc_sq(cost, xs, ys, n):
    for a in range(n):
        d = xs[a] - ys[a]
        cost[a] += d * d


@njit(cache=True, error_model="numpy", fastmath={"nnan", "nsz"})
def _diag_step(d_cur, p0, p1, q, cost, n):
    """One anti-diagonal of the DP: d = cost + min(three predecessors); returns min(d)."""
    for a in range(n):
        v = p0[a] if p0[a] < p1[a] else p1[a]
        v = v if v < q[a] else q[a]
        d_cur[a] = cost[a] + v
    m = np.inf
    for a in range(n):
        m = m if m < d_cur[a] else d_cur[a]
    return m


@njit(cache=True, error_model="numpy")
def _grouped_pair(xt, xm, yr, ymr, bits, bounds, w, best, cost, buf):
    """Grouped DTW of x against y, both length T, by anti-diagonal wavefront.

    xt (25, T) float64 = x transposed; yr (25, T) float64 = y transposed and reversed in time;
    xm/ymr (T,) AU bit masks (used when ``bits``); cost (3, T) and buf (3, 3, T + 2) scratch.
    Cell (a, b) lies on diagonal s = a + b at position a; its cost pairs x[a] with
    y[b] = yr[:, T - 1 - s + a], so every diagonal is a contiguous slice of both inputs. Each cell
    is ``cost + min`` of the same three predecessors as the row-wise DP, so values are identical.
    Every warping path visits diagonal s or s - 1, so ``sum_g w_g sqrt(min over both)`` bounds
    the result from below; returns inf as soon as that bound exceeds ``best``.
    """
    t = xt.shape[1]
    for g in range(3):
        for q in range(3):
            for a in range(t + 2):
                buf[g, q, a] = np.inf
    mp0 = np.inf
    mp1 = np.inf
    mp2 = np.inf
    c0 = cost[0]
    c1 = cost[1]
    c2 = cost[2]
    for s in range(2 * t - 1):
        lo = max(0, s - t + 1)
        hi = min(s, t - 1)
        n = hi - lo + 1
        off = t - 1 - s + lo
        if bits:
            xs = xm[lo:hi + 1]
            ys = ymr[off:off + n]
            for a in range(n):
                c0[a] = np.float64(_popcount(xs[a] ^ ys[a]))
        else:
            for a in range(n):
                c0[a] = 0.0
            for c in range(bounds[0], bounds[1]):
                _acc_sq(c0, xt[c, lo:hi + 1], yr[c, off:off + n], n)
        for a in range(n):
            c1[a] = 0.0
            c2[a] = 0.0
        for c in range(bounds[1], bounds[2]):
            _acc_sq(c1, xt[c, lo:hi + 1], yr[c, off:off + n], n)
        for c in range(bounds[2], bounds[3]):
            _acc_sq(c2, xt[c, lo:hi + 1], yr[c, off:off + n], n)
        cu = s % 3
        p1 = (s + 2) % 3
        p2 = (s + 1) % 3
        if s == 0:
            for g in range(3):
                buf[g, cu, 1] = cost[g, 0]
            m0 = c0[0]
            m1 = c1[0]
            m2 = c2[0]
        else:
            m0 = _diag_step(buf[0, cu, lo + 1:hi + 2], buf[0, p1, lo:hi + 1],
                            buf[0, p1, lo + 1:hi + 2], buf[0, p2, lo:hi + 1], c0, n)
            m1 = _diag_step(buf[1, cu, lo + 1:hi + 2], buf[1, p1, lo:hi + 1],
                            buf[1, p1, lo + 1:hi + 2], buf[1, p2, lo:hi + 1], c1, n)
            m2 = _diag_step(buf[2, cu, lo + 1:hi + 2], buf[2, p1, lo:hi + 1],
                            buf[2, p1, lo + 1:hi + 2], buf[2, p2, lo:hi + 1], c2, n)
        for g in range(3):
            buf[g, cu, lo] = np.inf
            buf[g, cu, hi + 2] = np.inf
        lb = (w[0] * np.sqrt(min(m0, mp0)) + w[1] * np.sqrt(min(m1, mp1))
              + w[2] * np.sqrt(min(m2, mp2)))
        if lb > best:
            return np.inf
        mp0 = m0
        mp1 = m1
        mp2 = m2
    cu = (2 * t - 2) % 3
    return w[0] * np.sqrt(buf[0, cu, t]) + w[1] * np.sqrt(buf[1, cu, t]) + w[2] * np.sqrt(
        buf[2, cu, t]
    )


@njit(cache=True, error_model="numpy")
def _diagonal_bound(xt, yr, bounds, w):
    """Grouped cost of the diagonal warping path (equal lengths): an upper bound of the DTW,
    accumulated in the same float order as the DP so it bounds the computed value too."""
    t = xt.shape[1]
    acc = np.zeros(3)
    for a in range(t):
        for g in range(3):
            s = 0.0
            for c in range(bounds[g], bounds[g + 1]):
                diff = xt[c, a] - yr[c, t - 1 - a]
                s += diff * diff
            acc[g] = s + acc[g]
    return w[0] * np.sqrt(acc[0]) + w[1] * np.sqrt(acc[1]) + w[2] * np.sqrt(acc[2])


@njit(cache=True, parallel=True, error_model="numpy")
def _min_grouped(pred, gt, nb_ptr, nb_idx, bounds, w, abandon):
    """pred (N, alpha, T, 25) f32, gt (M, T, 25) f32; CSR neighbours -> (N, alpha) float64."""
    n, alpha, t, d = pred.shape
    out = np.empty((n, alpha))
    for task in prange(n * alpha):
        i = task // alpha
        k = task % alpha
        start = nb_ptr[i]
        cnt = nb_ptr[i + 1] - start
        xt = np.empty((d, t))
        xm = np.empty(t, dtype=np.int64)
        xbin = _prepare(pred[i, k], False, xt, xm)
        yrs = np.empty((cnt, d, t))
        yms = np.empty((cnt, t), dtype=np.int64)
        ybin = np.empty(cnt, dtype=np.bool_)
        for q in range(cnt):
            ybin[q] = _prepare(gt[nb_idx[start + q]], True, yrs[q], yms[q])
        cost = np.empty((3, t))
        buf = np.empty((3, 3, t + 2))
        best = np.inf
        order = np.arange(cnt)
        if abandon and cnt > 1:
            # visit neighbours by increasing diagonal-path cost, an upper bound of the DTW
            # computed in the same float order: seeding `best` with the smallest keeps the
            # minimum exact (the minimiser's row bounds never exceed its value <= best)
            ub = np.empty(cnt)
            for q in range(cnt):
                ub[q] = _diagonal_bound(xt, yrs[q], bounds, w)
            order = np.argsort(ub)
            best = ub[order[0]]
        for r in range(cnt):
            q = order[r]
            dist = _grouped_pair(xt, xm, yrs[q], yms[q], xbin and ybin[q], bounds, w,
                                 best if abandon else np.inf, cost, buf)
            if dist < best:
                best = dist
        out[i, k] = best
    return out


# ----------------------------------------------------------------------------- wrappers
def _n_threads(n_jobs: int) -> int:
    import numba

    avail = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None or n_jobs == 0:
        return 1
    if n_jobs < 0:
        return max(1, min(avail, (os.cpu_count() or 1) + 1 + n_jobs))
    return max(1, min(avail, int(n_jobs)))


def neighbour_csr(neighbours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, N) bool/0-1 matrix -> (row pointer (N + 1,), column indices) int64."""
    mask = np.asarray(neighbours) == 1
    counts = mask.sum(axis=1)
    ptr = np.zeros(mask.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    idx = np.nonzero(mask)[1].astype(np.int64)
    return ptr, idx


def min_grouped_dtw(pred, gt, neighbours, *, n_jobs: int = -1, device: str = "cpu",
                    abandon: bool = True) -> np.ndarray:
    """Per (speaker, generation) minimum grouped DTW over the appropriate real reactions.

    pred: (N, alpha, T, 25); gt: (N, T, 25); neighbours: (N, N) 0/1 (row i lists the rows j of
    ``gt`` appropriate for speaker i; every row non-empty). Returns (N, alpha) float64 with
    ``out[i, k] = min_{j: nb[i, j] == 1} grouped_dtw(pred[i, k], gt[j])``. ``device`` "cuda..."
    runs the GPU engine (``reactbench.metrics.dtw_cuda``). Inputs are trusted (validated by the
    public callers).
    """
    if str(device).startswith("cuda"):
        from reactbench.metrics.dtw_cuda import min_grouped_dtw_cuda

        return min_grouped_dtw_cuda(pred, gt, neighbours, device=device)
    if str(device) != "cpu":
        raise ValueError(f"device: expected 'cpu' or 'cuda[:k]', got {device!r}")
    import numba

    pred = np.ascontiguousarray(pred, dtype=np.float32)
    gt = np.ascontiguousarray(gt, dtype=np.float32)
    ptr, idx = neighbour_csr(neighbours)
    old = numba.get_num_threads()
    numba.set_num_threads(_n_threads(n_jobs))
    try:
        return _min_grouped(pred, gt, ptr, idx, _BOUNDS, _W, bool(abandon))
    finally:
        numba.set_num_threads(old)


def grouped_dtw(x, y) -> float:
    """Grouped FRDist distance of two (T, 25) sequences (float32 cast, float64 sums)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != EMOTION_DIM or y.ndim != 2 or y.shape[1] != EMOTION_DIM:
        raise ValueError(
            f"x, y: expected two (T, {EMOTION_DIM}) arrays, got {x.shape} and {y.shape}"
        )
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x, y: expected finite values (found NaN or inf)")
    if x.shape[0] != y.shape[0]:  # unequal lengths: one DTW per group
        return float(sum(w * _dtw_single(x[:, a:b].astype(np.float64), y[:, a:b].astype(
            np.float64)) for a, b, w in DTW_GROUPS))
    t = x.shape[0]
    xt, yr = np.empty((EMOTION_DIM, t)), np.empty((EMOTION_DIM, t))
    xm, ym = np.empty(t, dtype=np.int64), np.empty(t, dtype=np.int64)
    bits = _prepare(x, False, xt, xm) & _prepare(y, True, yr, ym)
    return float(_grouped_pair(xt, xm, yr, ym, bits, _BOUNDS, _W, np.inf, np.empty((3, t)),
                               np.empty((3, 3, t + 2))))


def dtw(x, y) -> float:
    """Multivariate DTW of x (Tx, d) and y (Ty, d) or 1-d series, the value of
    ``tslearn.metrics.dtw`` (sqrt of the minimal accumulated squared Euclidean cost)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if y.ndim == 1:
        y = y[:, None]
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or 0 in x.shape or 0 in y.shape:
        raise ValueError(
            f"x, y: expected two non-empty (T, d) arrays with the same d, got {x.shape} and "
            f"{y.shape}"
        )
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x, y: expected finite values (found NaN or inf)")
    return float(_dtw_single(np.ascontiguousarray(x), np.ascontiguousarray(y)))
