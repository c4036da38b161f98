"""Concordance correlation coefficient (CCC) as FRCorr uses it, vectorised with numba.

``official`` (the challenge code of REACT2024, reused unchanged by REACT2025/2026): per column c
of two (T, 25) arrays, ``r`` = Pearson correlation (float64 covariance, NaN -> 0, clipped to
[-1, 1]); mean, population variance and standard deviation exactly as numpy computes them on a
float32 column (float32 pairwise sums, :mod:`reactbench.metrics.npsum`);
``ccc_c = 2 r sd_t sd_p / (var_t + var_p + (mu_t - mu_p)^2 + 1e-8)`` with the denominator in
float32; the value is the plain mean over the 25 columns (a constant column gives 0).

``corrected`` (``metrics.md``): Lin's CCC per column without the epsilon; a column constant in
either array is left out of the column mean, except a constant column equal to the same constant
in the other array, which counts as perfect agreement (1). With no usable column the value is 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from reactbench.metrics.constants import CCC_EPS
from reactbench.metrics.npsum import column_mean_var_f32
from reactbench.metrics.threads import run_chunks
from reactbench.metrics.validate import as_float32, check_finite, check_protocol

_EPS32 = np.float32(CCC_EPS)


@njit(cache=True, error_model="numpy")
def _col_stats(x):
    """x (T, D) f32 -> float64 mean (D,), float64 centred sum of squares (D,), constant (D,),
    and numpy's float32 mean and population variance of each column (D,) x 2."""
    t, d = x.shape
    m32 = np.empty(d, dtype=np.float32)
    v32 = np.empty(d, dtype=np.float32)
    column_mean_var_f32(x, m32, v32, np.empty((t, d), dtype=np.float32))
    mean = np.zeros(d)
    for a in range(t):
        for c in range(d):
            mean[c] += np.float64(x[a, c])
    for c in range(d):
        mean[c] /= t
    ss = np.zeros(d)
    const = np.ones(d, dtype=np.bool_)
    for a in range(t):
        for c in range(d):
            v = np.float64(x[a, c]) - mean[c]
            ss[c] += v * v
            if x[a, c] != x[0, c]:
                const[c] = False
    return mean, ss, const, m32, v32


@njit(cache=True, error_model="numpy")
def _put_stats(j, stats, gm, gs, gc, gf, gv):
    """Row j of the (rows, D) stat arrays <- one ``_col_stats`` result (element by element: a
    row assignment would compile numba's shape-mismatch error formatting)."""
    m, s, c, f, v = stats
    for col in range(m.shape[0]):
        gm[j, col] = m[col]
        gs[j, col] = s[col]
        gc[j, col] = c[col]
        gf[j, col] = f[col]
        gv[j, col] = v[col]


@njit(cache=True, error_model="numpy")
def _ccc_pair(x, mx, ssx, cx, fx, vx, y, my, ssy, cy, fy, vy, corrected, acc):
    """25-column mean CCC of x and y (T, D) given their column stats (``_col_stats``: float64
    mean m, sum of squares ss, constant flags c, float32 mean f and variance v); ``acc`` (D,)
    scratch."""
    t, d = x.shape
    for c in range(d):
        acc[c] = 0.0
    for a in range(t):
        for c in range(d):
            acc[c] += (np.float64(x[a, c]) - mx[c]) * (np.float64(y[a, c]) - my[c])
    total = 0.0
    used = 0
    for c in range(d):
        if corrected:
            if cx[c] or cy[c]:
                if cx[c] and cy[c] and x[0, c] == y[0, c]:
                    total += 1.0
                    used += 1
                continue
            sxy = acc[c] / t
            den = ssx[c] / t + ssy[c] / t + (mx[c] - my[c]) ** 2
            total += 2.0 * sxy / den
            used += 1
        else:
            cov = acc[c] / (t - 1)
            sdx = np.sqrt(ssx[c] / (t - 1))
            sdy = np.sqrt(ssy[c] / (t - 1))
            r = cov / sdx / sdy
            if np.isnan(r):
                r = 0.0
            elif r > 1.0:
                r = 1.0
            elif r < -1.0:
                r = -1.0
            # numpy's float32 mean/var/std of the float32 columns
            mu_x = fx[c]
            mu_y = fy[c]
            var_x = vx[c]
            var_y = vy[c]
            sd_x = np.sqrt(var_x)
            sd_y = np.sqrt(var_y)
            diff = mu_x - mu_y
            den32 = var_x + var_y + diff * diff + _EPS32
            total += 2.0 * r * np.float64(sd_x) * np.float64(sd_y) / np.float64(den32)
            used += 1
    if used == 0:
        return 0.0
    return total / used if corrected else total / d


@njit(cache=True, error_model="numpy")
def _target_stats(g, o0, o1):
    """Column statistics (``_col_stats``, stacked) of frames o0:o1 of every sequence of g
    (M, T, D) f32."""
    ng, _, d = g.shape
    gm = np.empty((ng, d))
    gs = np.empty((ng, d))
    gc = np.empty((ng, d), dtype=np.bool_)
    gf = np.empty((ng, d), dtype=np.float32)
    gv = np.empty((ng, d), dtype=np.float32)
    for j in range(ng):
        _put_stats(j, _col_stats(g[j, o0:o1]), gm, gs, gc, gf, gv)
    return gm, gs, gc, gf, gv


@njit(cache=True, nogil=True, error_model="numpy")
def _max_ccc_tasks(t0, t1, pred, gt, nb_ptr, nb_idx, corrected, stats, out):
    """Tasks t0:t1 (speaker i = task // alpha, generation task % alpha) of ``_max_ccc``."""
    alpha, d = pred.shape[1], pred.shape[3]
    gm, gs, gc, gf, gv = stats
    acc = np.empty(d)
    for task in range(t0, t1):
        i = task // alpha
        k = task % alpha
        x = pred[i, k]
        mx, ssx, cx, fx, vx = _col_stats(x)
        best = -np.inf
        for q in range(nb_ptr[i], nb_ptr[i + 1]):
            j = nb_idx[q]
            v = _ccc_pair(x, mx, ssx, cx, fx, vx, gt[j], gm[j], gs[j], gc[j], gf[j], gv[j],
                          corrected, acc)
            if v > best:
                best = v
            elif v != v:  # NaN (float32 overflow): keep it, max_ccc raises
                best = v
                break
        out[i, k] = best


def _max_ccc(pred, gt, nb_ptr, nb_idx, corrected):
    """pred (N, alpha, T, D), gt (N, T, D) f32; CSR neighbours -> (N, alpha) max CCC."""
    n, alpha = pred.shape[:2]
    out = np.empty((n, alpha))
    run_chunks(_max_ccc_tasks, n * alpha, pred, gt, nb_ptr, nb_idx, corrected,
               _target_stats(gt, 0, gt.shape[1]), out, step=_STEP)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _max_ccc_samples(r0, r1, pred, tg, off, order, corrected, out):
    """Samples order[r0:r1] of ``_max_ccc_ragged``."""
    alpha, _, d = pred.shape
    kk = tg.shape[0]
    for r in range(r0, r1):
        s = order[r]
        o0 = off[s]
        o1 = off[s + 1]
        gm, gs, gc, gf, gv = _target_stats(tg, o0, o1)
        acc = np.empty(d)
        for i in range(alpha):
            x = pred[i, o0:o1]
            mx, ssx, cx, fx, vx = _col_stats(x)
            best = -np.inf
            for j in range(kk):
                v = _ccc_pair(x, mx, ssx, cx, fx, vx, tg[j, o0:o1], gm[j], gs[j], gc[j], gf[j],
                              gv[j], corrected, acc)
                if v > best:
                    best = v
                elif v != v:  # NaN (float32 overflow): keep it, the caller raises
                    best = v
                    break
            out[s, i] = best


def _max_ccc_ragged(pred, tg, off, order, corrected):
    """pred (A, L, D) and tg (K, L, D) f32 packed along time (sample s holds frames
    off[s]:off[s + 1]); order: the samples in visiting order -> (N, A) max CCC over the sample's
    K targets."""
    out = np.empty((off.shape[0] - 1, pred.shape[0]))
    run_chunks(_max_ccc_samples, off.shape[0] - 1, pred, tg, off, order, corrected, out)
    return out


# generations per call of the chunk kernel (a call from Python costs tens of microseconds)
_STEP = 32

_OVERFLOW = (f"values overflow the float32 variances of the official CCC (keep |values| below "
             f"about {float(np.sqrt(np.finfo(np.float32).max)):.2g})")


def max_ccc(pred: np.ndarray, gt: np.ndarray, nb_ptr: np.ndarray, nb_idx: np.ndarray,
            corrected: bool = False) -> np.ndarray:
    """(N, alpha) max over neighbours of the CCC (trusted float32 inputs, CSR neighbours).

    A CCC that is not finite raises (FRCorr would be undefined)."""
    out = _max_ccc(pred, gt, nb_ptr, nb_idx, bool(corrected))
    bad = ~np.isfinite(out)
    if bad.any():
        i, k = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(
            f"pred, listener_gt: FRCorr is undefined: the CCC of speaker {i}, generation {k} is "
            f"not finite; {_OVERFLOW}"
        )
    return out


def max_ccc_ragged(pred: np.ndarray, tg: np.ndarray, off: np.ndarray, order: np.ndarray,
                   corrected: bool = False) -> np.ndarray:
    """(N, A) max over each sample's targets of the CCC; packed inputs as
    :class:`reactbench.metrics.ragged.Ragged` holds them (trusted). A CCC that is not finite
    raises, naming the sample."""
    out = _max_ccc_ragged(pred, tg, off, order, bool(corrected))
    bad = ~np.isfinite(out)
    if bad.any():
        i, k = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(
            f"pred[{i}], targets[{i}]: FRCorr is undefined: the CCC of generation {k} is not "
            f"finite; {_OVERFLOW}"
        )
    return out


def ccc(x, y, *, protocol: str = "official") -> float:
    """Column-mean CCC of two (T, 25) (or (T, d)) arrays; ``x`` real, ``y`` generated.

    See the module docstring for the ``official`` and ``corrected`` semantics.
    """
    corrected = check_protocol(protocol).corrected
    x = as_float32(x, "x")
    y = as_float32(y, "y")
    if x.ndim == 1:
        x = x[:, None]
    if y.ndim == 1:
        y = y[:, None]
    if x.ndim != 2 or x.shape != y.shape or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(
            f"x, y: expected two (T, d) arrays of the same shape with T >= 2 and d >= 1, got "
            f"{x.shape} and {y.shape}"
        )
    check_finite(x, "x")
    check_finite(y, "y")
    acc = np.empty(x.shape[1])
    v = float(_ccc_pair(x, *_col_stats(x), y, *_col_stats(y), corrected, acc))
    if not np.isfinite(v):
        raise ValueError(f"x, y: the CCC is not finite; {_OVERFLOW}")
    return v
