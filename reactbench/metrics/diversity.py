"""FRDiv (S-MSE), FRVar and FRDvs kernels (``official_react2024.md`` sections 3.4-3.5).

All three are per-element squared distances or variances computed in float64 (the official code
uses float32 ``torch.cdist``; agreement is about 1e-5 relative). Pair sums use the centred
identity ``sum_{a,b} ||x_a - x_b||^2 = 2 n sum_a ||x_a - mean||^2``, which is exactly 0 when all
items are equal. Each kernel returns per-speaker contributions (for the bootstrap) or the
sufficient statistics FRDvs needs to be recomputed on resampled rows.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from reactbench.metrics.threads import ROWS_PER_CALL, run_chunks


@njit(cache=True, error_model="numpy", inline="always")
def _add_gen_ss(g, k, acc):
    """g (alpha, E) f32, generations of E elements -> ``acc`` plus the squared deviations of
    element k's generations from their mean (float64, added one by one)."""
    alpha = g.shape[0]
    m = 0.0
    for a in range(alpha):
        m += np.float64(g[a, k])
    m /= alpha
    for a in range(alpha):
        v = np.float64(g[a, k]) - m
        acc += v * v
    return acc


@njit(cache=True, error_model="numpy", inline="always")
def _time_var_sum(z, o0, t):
    """z (alpha, L, D) f32 -> the sum over (alpha, D) of the unbiased variance over the t
    frames o0:o0 + t (float64)."""
    alpha, _, d = z.shape
    total = 0.0
    mean = np.zeros(d)
    ss = np.zeros(d)
    for a in range(alpha):
        mean[:] = 0.0
        ss[:] = 0.0
        for f in range(o0, o0 + t):
            for c in range(d):
                mean[c] += np.float64(z[a, f, c])
        for c in range(d):
            mean[c] /= t
        for f in range(o0, o0 + t):
            for c in range(d):
                v = np.float64(z[a, f, c]) - mean[c]
                ss[c] += v * v
        for c in range(d):
            total += ss[c] / (t - 1)
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def _div_rows(i0, i1, x, out):
    """Rows i0:i1 of x (N, alpha, E) f32 -> out[i] = the sum over elements of squared
    deviations from the generation mean (float64; exactly 0 when all generations are equal)."""
    e = x.shape[2]
    for i in range(i0, i1):
        acc = 0.0
        for k in range(e):
            acc = _add_gen_ss(x[i], k, acc)
        out[i] = acc


@njit(cache=True, nogil=True, error_model="numpy")
def _var_rows(i0, i1, x, out):
    """Rows i0:i1 of x (N, alpha, T, D) f32 -> out[i] = the mean over (alpha, D) of the
    unbiased variance over T."""
    _, alpha, t, d = x.shape
    for i in range(i0, i1):
        out[i] = _time_var_sum(x[i], 0, t) / (alpha * d)


@njit(cache=True, error_model="numpy")
def _generation_means(y):
    """y (N, alpha, E) f32 -> (alpha, E) float64, each generation's mean over speakers."""
    n, alpha, e = y.shape
    mean = np.zeros((alpha, e))
    for a in range(alpha):
        for i in range(n):
            for k in range(e):
                mean[a, k] += np.float64(y[i, a, k])
        for k in range(e):
            mean[a, k] /= n
    return mean


@njit(cache=True, nogil=True, error_model="numpy")
def _dvs_rows(i0, i1, y, mean, out):
    """Rows i0:i1 of y (N, alpha, E) f32 -> out[i] = the sum over generations and elements of
    squared deviations from ``mean`` (alpha, E), the per-generation mean over speakers."""
    alpha, e = mean.shape
    for i in range(i0, i1):
        out[i] = 0.0
        for a in range(alpha):
            acc = 0.0
            for k in range(e):
                v = np.float64(y[i, a, k]) - mean[a, k]
                acc += v * v
            out[i] += acc


@njit(cache=True, nogil=True, error_model="numpy")
def _ragged_div_var(r0, r1, pred, off, order, out_div, out_var):
    """Samples order[r0:r1] of pred (A, L, D) f32 packed along time (sample s = frames
    off[s]:off[s + 1]) -> out_div[s] the sum of squared deviations from the generation mean,
    out_var[s] the mean over (A, D) of the unbiased variance over time (float64)."""
    alpha, _, d = pred.shape
    for r in range(r0, r1):
        s = order[r]
        o0 = off[s]
        t = off[s + 1] - o0
        acc = 0.0
        for f in range(o0, o0 + t):
            for c in range(d):
                acc = _add_gen_ss(pred[:, f], c, acc)
        out_div[s] = acc
        out_var[s] = _time_var_sum(pred, o0, t) / (alpha * d)


def ragged_div_var(pred: np.ndarray, off: np.ndarray,
                   order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample S-MSE (N,) and temporal variance (N,) of variable-length samples packed along
    time (pred (A, L, D) float32; sample s = frames off[s]:off[s + 1]). S-MSE is the mean over
    ordered generation pairs of the per-element squared difference (needs A >= 2); the variance
    is unbiased over time (needs T_k >= 2), averaged over generations and columns."""
    alpha, _, d = pred.shape
    n = off.shape[0] - 1
    ss = np.empty(n)
    var = np.empty(n)
    run_chunks(_ragged_div_var, n, pred, off, order, ss, var)
    lengths = np.diff(off).astype(np.float64)
    div = 2.0 * alpha * ss / (alpha * (alpha - 1) * lengths * d) if alpha > 1 else np.zeros(n)
    return div, var


def per_speaker_div(pred: np.ndarray) -> np.ndarray:
    """pred (N, alpha, T, D) -> (N,) S-MSE per speaker: mean over ordered generation pairs
    (i != i') of the per-element squared difference; 0 for alpha = 1 (the official value)."""
    n, alpha, t, d = pred.shape
    if alpha < 2:
        return np.zeros(n)
    ss = np.empty(n)
    run_chunks(_div_rows, n, pred.reshape(n, alpha, t * d), ss, step=ROWS_PER_CALL)
    return 2.0 * alpha * ss / (alpha * (alpha - 1) * t * d)


def per_speaker_var(pred: np.ndarray) -> np.ndarray:
    """pred (N, alpha, T, D) -> (N,) mean over (alpha, D) of the unbiased variance over time."""
    out = np.empty(pred.shape[0])
    run_chunks(_var_rows, pred.shape[0], pred, out, step=ROWS_PER_CALL)
    return out


def dvs_stats(pred: np.ndarray) -> tuple[np.ndarray, float, tuple[int, int, int, int]]:
    """Per-speaker squared norms of the generation-wise centred rows.

    Returns ``q`` (N,) = sum_i ||Y_ik - mean_k Y_i||^2 (float64), its total, and the shape.
    """
    n, alpha, t, d = pred.shape
    y = pred.reshape(n, alpha, t * d)
    q = np.empty(n)
    run_chunks(_dvs_rows, n, y, _generation_means(y), q, step=ROWS_PER_CALL)
    return q, float(q.sum()), (n, alpha, t, d)


def fr_dvs_value(q_total: float, shape: tuple[int, int, int, int]) -> float:
    """FRDvs = sum_i sum_{k,l} ||Y_ik - Y_il||^2 / (N (N - 1) alpha) / (T D)."""
    n, alpha, t, d = shape
    return 2.0 * n * q_total / (n * (n - 1) * alpha) / (t * d)


def fr_dvs_bootstrap(pred: np.ndarray, q: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """FRDvs on resampled speaker rows. weights: (B, N) multiplicities (rows sum to N).

    The resample's FRDvs is the mean per-element squared distance over pairs of draws of
    *different* speakers (a speaker drawn twice is not a pair of two speakers; counting such
    pairs as 0 would bias every resample down by (N - 1) / N):
    ``sum_{k != l} m_k m_l D_kl / (N^2 - sum_k m_k^2) / (alpha T D)``, where
    ``sum_{k,l} m_k m_l D_kl = 2 N (sum_k m_k ||z_k||^2 - ||sum_k m_k z_k||^2 / N)`` with z
    centred at the full-sample mean (D_kk = 0). A resample without two different speakers is
    NaN (undefined, left out of the interval).
    """
    n, alpha, t, d = pred.shape
    b = weights.shape[0]
    w = weights.astype(np.float64)
    first = w @ q  # (B,)
    second = np.zeros(b)
    for i in range(alpha):
        y = pred[:, i].reshape(n, t * d).astype(np.float64)
        z = y - y.mean(axis=0, keepdims=True)
        for s in range(0, b, 64):
            sz = w[s:s + 64] @ z
            second[s:s + 64] += np.einsum("be,be->b", sz, sz)
    pair_sum = 2.0 * n * (first - second / n)
    pairs = float(n) * n - (w * w).sum(axis=1)
    out = np.full(b, np.nan)  # a resample drawing one speaker N times has no pair: undefined
    np.divide(pair_sum, pairs, out=out, where=pairs > 0)
    return out / (alpha * t * d)
