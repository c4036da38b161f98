"""Time-lagged cross-correlation (TLCC) offsets behind FRSyn, vectorised with numba.

``official`` (``official_react2024.md`` section 3.6): for lags -49..49, x = generated reaction,
y = speaker; lag L > 0 pairs x[L:] with y[:-L], L < 0 pairs x[:L] with y[-L:]; per column the
Pearson r (float64; a constant window gives NaN); the lag score is the float32 mean of the 25
values (NaN if any is NaN). ``offset = 49 - argmax(scores)``, where argmax returns the first NaN
if any score is NaN (so |offset| = 49 whenever a column is constant), else the first maximum.

``corrected``: a column constant in either window is left out of the lag's column mean, except
when both windows hold the same constant (counts as r = 1); a lag with no usable column is
skipped; argmax is the first maximum over the remaining lags; with none left |offset| = 49.
``corrected`` refuses T < 50 (some lag would pair no frame; the official code's T <= 50 answer is
the NaN rule's 49, not a measurement).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from reactbench.metrics.constants import TLCC_MAX_LAG, TLCC_N_LAGS
from reactbench.metrics.threads import numba_threads, run_chunks
from reactbench.metrics.validate import (
    as_float32,
    check_finite,
    check_n_jobs,
    check_pred,
    check_protocol,
    check_sequences,
    check_tlcc_frames,
)


@njit(cache=True, error_model="numpy")
def _changes(x):
    """x (T, D) -> (T, D) int64 prefix count of frame-to-frame changes per column."""
    t, d = x.shape
    out = np.zeros((t, d), dtype=np.int64)
    for a in range(1, t):
        for c in range(d):
            out[a, c] = out[a - 1, c] + (1 if x[a, c] != x[a - 1, c] else 0)
    return out


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "nsz", "contract"})
def _pearson(xs, ys):
    """Pearson r of two non-constant float64 windows (two-pass, vectorised sums)."""
    n = xs.shape[0]
    mx = 0.0
    my = 0.0
    for a in range(n):
        mx += xs[a]
        my += ys[a]
    mx /= n
    my /= n
    sxy = 0.0
    sxx = 0.0
    syy = 0.0
    for a in range(n):
        u = xs[a] - mx
        v = ys[a] - my
        sxy += u * v
        sxx += u * u
        syy += v * v
    return (sxy / (n - 1)) / np.sqrt(sxx / (n - 1)) / np.sqrt(syy / (n - 1))


@njit(cache=True, error_model="numpy")
def _scores(x, y, chx, chy, corrected, max_lag):
    """Lag scores (2 max_lag + 1,) float32 of x, y (D, T) float64, i.e. transposed (T, D)
    sequences, with their change counts chx, chy (T, D) (see module docstring)."""
    d, t = x.shape
    nl = 2 * max_lag + 1
    out = np.empty(nl, dtype=np.float32)
    for li in range(nl):
        lag = li - max_lag
        if lag >= 0:
            xs = lag
            ys = 0
        else:
            xs = 0
            ys = -lag
        n = t - abs(lag)
        if n < 1:
            out[li] = np.nan
            continue
        total = 0.0
        used = 0
        bad = False
        for c in range(d):
            cx = chx[xs + n - 1, c] - chx[xs, c] == 0
            cy = chy[ys + n - 1, c] - chy[ys, c] == 0
            if cx or cy:
                if corrected:
                    if cx and cy and x[c, xs] == y[c, ys]:
                        total += 1.0
                        used += 1
                    continue
                bad = True
                break
            r = _pearson(x[c, xs:xs + n], y[c, ys:ys + n])
            if r > 1.0:
                r = 1.0
            elif r < -1.0:
                r = -1.0
            total += np.float64(np.float32(r))
            used += 1
        if bad or used == 0:
            out[li] = np.nan
        else:
            out[li] = np.float32(total / used)
    return out


@njit(cache=True, error_model="numpy")
def _offset(scores, corrected, max_lag):
    """49 - argmax (official: first NaN wins; corrected: NaN lags skipped)."""
    best = -1
    bv = -np.inf
    for li in range(scores.shape[0]):
        s = scores[li]
        if np.isnan(s):
            if corrected:
                continue
            return max_lag - li
        if best < 0 or s > bv:
            best = li
            bv = s
    if best < 0:
        return max_lag
    return max_lag - best


@njit(cache=True, nogil=True, error_model="numpy")
def _offsets(t0, t1, pred, speaker, n_gen, corrected, max_lag, out):
    """Tasks t0:t1 (task = i * n_gen + k) of pred (N, alpha, T, D), speaker (N, T, D) f32 ->
    out[i, k], the offset of generation k of speaker i."""
    for task in range(t0, t1):
        i = task // n_gen
        k = task % n_gen
        x = pred[i, k]
        y = speaker[i]
        sc = _scores(_transposed(x), _transposed(y), _changes(x), _changes(y), corrected,
                     max_lag)
        out[i, k] = _offset(sc, corrected, max_lag)


@njit(cache=True, nogil=True, error_model="numpy")
def _offsets_ragged(t0, t1, pred, speaker, off, order, n_gen, corrected, max_lag, out):
    """Tasks t0:t1 (task = r * n_gen + k, sample order[r]) of pred (A, L, D), speaker (L, D) f32
    packed along time (sample s holds frames off[s]:off[s + 1]) -> out[s, k], the offset of
    generation k."""
    for task in range(t0, t1):
        s = order[task // n_gen]
        k = task % n_gen
        x = pred[k, off[s]:off[s + 1]]
        y = speaker[off[s]:off[s + 1]]
        sc = _scores(_transposed(x), _transposed(y), _changes(x), _changes(y), corrected,
                     max_lag)
        out[s, k] = _offset(sc, corrected, max_lag)


@njit(cache=True, error_model="numpy")
def _transposed(x):
    """(T, D) f32 -> (D, T) float64, contiguous per column."""
    t, d = x.shape
    out = np.empty((d, t))
    for a in range(t):
        for c in range(d):
            out[c, a] = np.float64(x[a, c])
    return out


def offsets(pred: np.ndarray, speaker: np.ndarray, n_gen: int, corrected: bool,
            max_lag: int = TLCC_MAX_LAG) -> np.ndarray:
    """(N, n_gen) signed offsets for generations 0..n_gen-1 (trusted float32 inputs), lags
    -max_lag..max_lag."""
    out = np.empty((pred.shape[0], n_gen), dtype=np.int64)
    run_chunks(_offsets, pred.shape[0] * n_gen, pred, speaker, int(n_gen), bool(corrected),
               int(max_lag), out)
    return out


def offsets_ragged(pred: np.ndarray, speaker: np.ndarray, off: np.ndarray, order: np.ndarray,
                   n_gen: int, corrected: bool, max_lag: int = TLCC_MAX_LAG) -> np.ndarray:
    """(N, n_gen) signed offsets of variable-length samples packed along time (trusted float32
    inputs, as :class:`reactbench.metrics.ragged.Ragged` holds them)."""
    out = np.empty((off.shape[0] - 1, n_gen), dtype=np.int64)
    run_chunks(_offsets_ragged, out.shape[0] * n_gen, pred, speaker, off, order, int(n_gen),
               bool(corrected), int(max_lag), out)
    return out


def tlcc_scores(x, y, *, protocol: str = "official") -> np.ndarray:
    """The 99 lag scores (float32, lags -49..49) of a generated reaction x and speaker y (T, 25)."""
    proto = check_protocol(protocol)
    x = as_float32(x, "x")
    y = as_float32(y, "y")
    if x.ndim != 2 or x.shape != y.shape or 0 in x.shape:
        raise ValueError(
            f"x, y: expected two non-empty (T, d) arrays of one shape, got {x.shape}, {y.shape}"
        )
    check_tlcc_frames(x.shape[0], proto.corrected, proto.tlcc_max_lag)
    check_finite(x, "x")
    check_finite(y, "y")
    return _scores(_transposed(x), _transposed(y), _changes(x), _changes(y),
                   proto.corrected, proto.tlcc_max_lag)


def tlcc_offsets(pred, speaker, *, protocol: str = "official", all_generations: bool = True,
                 n_jobs: int = -1) -> np.ndarray:
    """Signed TLCC offsets, (N, alpha) int64 (or (N, 1) with ``all_generations=False``).

    pred: (N, alpha, T, 25) generated reactions; speaker: (N, T, 25). ``offset = 49 - argmax``
    over the 99 lags -49..49 (see the module docstring for the NaN rule of each protocol); a
    prediction trailing the speaker by L frames gives -L. FRSyn is the mean of ``|offset|``.
    ``corrected`` needs T >= 50 (every lag pairs at least one frame); ``official`` takes any T.
    """
    proto = check_protocol(protocol)
    check_n_jobs(n_jobs)
    p = check_pred(pred)
    s = check_sequences(speaker, "speaker", p.shape[0], p.shape[2], alpha=p.shape[1])
    check_tlcc_frames(p.shape[2], proto.corrected, proto.tlcc_max_lag)
    with numba_threads(n_jobs):
        return offsets(p, s, p.shape[1] if all_generations else 1, proto.corrected,
                       proto.tlcc_max_lag)


__all__ = ["tlcc_offsets", "tlcc_scores", "TLCC_N_LAGS"]
