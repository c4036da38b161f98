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
from numba import njit, prange

from reactbench.metrics.constants import DTW_GROUPS, EMOTION_DIM

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


@njit(cache=True, error_model="numpy")
def _grouped_pair(x, yt, bounds, w, best, cost, d_prev, d_cur):
    """Grouped DTW of x (T, 25) float32 against yt (25, T) float32 (y transposed).

    Returns the weighted distance, or inf when abandoned because a row lower bound exceeded
    ``best``. ``cost`` (3, T), ``d_prev``/``d_cur`` (3, T + 1) are float64 scratch buffers.
    """
    t = x.shape[0]
    ty = yt.shape[1]
    for g in range(3):
        for b in range(ty + 1):
            d_prev[g, b] = np.inf
        d_prev[g, 0] = 0.0
    for a in range(t):
        # cost rows, summed over each group's columns in ascending order (as tslearn does)
        for g in range(3):
            for b in range(ty):
                cost[g, b] = 0.0
            for c in range(bounds[g], bounds[g + 1]):
                xv = np.float64(x[a, c])
                for b in range(ty):
                    diff = xv - np.float64(yt[c, b])
                    cost[g, b] += diff * diff
        # the three DP recurrences advance together
        c0 = np.inf
        c1 = np.inf
        c2 = np.inf
        m0 = np.inf
        m1 = np.inf
        m2 = np.inf
        for b in range(ty):
            p = d_prev[0, b + 1]
            q = d_prev[0, b]
            if q < p:
                p = q
            if c0 < p:
                p = c0
            c0 = cost[0, b] + p
            d_cur[0, b + 1] = c0
            if c0 < m0:
                m0 = c0
            p = d_prev[1, b + 1]
            q = d_prev[1, b]
            if q < p:
                p = q
            if c1 < p:
                p = c1
            c1 = cost[1, b] + p
            d_cur[1, b + 1] = c1
            if c1 < m1:
                m1 = c1
            p = d_prev[2, b + 1]
            q = d_prev[2, b]
            if q < p:
                p = q
            if c2 < p:
                p = c2
            c2 = cost[2, b] + p
            d_cur[2, b + 1] = c2
            if c2 < m2:
                m2 = c2
        for g in range(3):
            d_cur[g, 0] = np.inf
        lb = w[0] * np.sqrt(m0) + w[1] * np.sqrt(m1) + w[2] * np.sqrt(m2)
        if lb > best:
            return np.inf
        d_prev, d_cur = d_cur, d_prev
    return w[0] * np.sqrt(d_prev[0, ty]) + w[1] * np.sqrt(d_prev[1, ty]) + w[2] * np.sqrt(
        d_prev[2, ty]
    )


@njit(cache=True, error_model="numpy")
def _diagonal_bound(x, yt, bounds, w):
    """Grouped cost of the diagonal warping path (equal lengths): an upper bound of the DTW,
    accumulated in the same float order as the DP so it bounds the computed value too."""
    t = x.shape[0]
    acc = np.zeros(3)
    for a in range(t):
        for g in range(3):
            s = 0.0
            for c in range(bounds[g], bounds[g + 1]):
                diff = np.float64(x[a, c]) - np.float64(yt[c, a])
                s += diff * diff
            acc[g] = s + acc[g]
    return w[0] * np.sqrt(acc[0]) + w[1] * np.sqrt(acc[1]) + w[2] * np.sqrt(acc[2])


@njit(cache=True, parallel=True, error_model="numpy")
def _min_grouped(pred, gtt, nb_ptr, nb_idx, bounds, w, abandon):
    """pred (N, alpha, T, 25) f32, gtt (N, 25, T) f32; CSR neighbours -> (N, alpha) float64."""
    n, alpha, t, _ = pred.shape
    out = np.empty((n, alpha))
    for task in prange(n * alpha):
        i = task // alpha
        k = task % alpha
        x = pred[i, k]
        start = nb_ptr[i]
        stop = nb_ptr[i + 1]
        cnt = stop - start
        cost = np.empty((3, t))
        d_prev = np.empty((3, t + 1))
        d_cur = np.empty((3, t + 1))
        best = np.inf
        if abandon and cnt > 1 and gtt.shape[2] == t:
            ub = np.empty(cnt)
            for q in range(cnt):
                ub[q] = _diagonal_bound(x, gtt[nb_idx[start + q]], bounds, w)
            order = np.argsort(ub)
            best = ub[order[0]]
            for q in range(cnt):
                j = nb_idx[start + order[q]]
                dist = _grouped_pair(x, gtt[j], bounds, w, best, cost, d_prev, d_cur)
                if dist < best:
                    best = dist
            # exact: the minimiser's value is <= the seed bound, so its row bounds never
            # exceed `best` and it is never abandoned
        else:
            for q in range(cnt):
                j = nb_idx[start + q]
                dist = _grouped_pair(x, gtt[j], bounds, w, np.inf if not abandon else best,
                                     cost, d_prev, d_cur)
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
    gtt = np.ascontiguousarray(np.asarray(gt, dtype=np.float32).transpose(0, 2, 1))
    ptr, idx = neighbour_csr(neighbours)
    old = numba.get_num_threads()
    numba.set_num_threads(_n_threads(n_jobs))
    try:
        return _min_grouped(pred, gtt, ptr, idx, _BOUNDS, _W, bool(abandon))
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
    cost = np.empty((3, y.shape[0]))
    d_prev = np.empty((3, y.shape[0] + 1))
    d_cur = np.empty((3, y.shape[0] + 1))
    return float(_grouped_pair(x, np.ascontiguousarray(y.T), _BOUNDS, _W, np.inf, cost, d_prev,
                               d_cur))


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
