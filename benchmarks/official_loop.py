"""A re-creation of the official REACT2024 metric loop, for speed and value comparisons only.

Written from a description of the challenge code (``docs/metrics.md`` describes what it
computes), not copied from it: the same per-item functions (a per-column CCC with a local
corrcoef, ``tslearn.metrics.dtw`` per group and pair, a per-lag/per-column ``np.corrcoef`` TLCC),
the same ``multiprocessing.Pool(p).starmap`` fan-out with one task per speaker row, float32 numpy
inputs, and the torch float32 FRDiv / FRVar / FRDvs. This is benchmark code, not part of the
package; reactbench's own metrics live in ``reactbench.metrics``.

One choice the description leaves open: each task carries only its own speaker's data (its
generations and the real reactions of its appropriate rows), the least pickling a task can need.

All functions take ``pred`` (N, alpha, T, 25), ``listener_gt`` (N_gt, T, 25), ``speaker``
(N, T, 25) and ``neighbours`` (N, N_gt) 0/1 numpy arrays.
"""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
import torch

TLCC_LAGS = range(-(2 * 25 - 1), 2 * 25)  # -49 .. 49 (seconds=2, fps=25)


# ----------------------------------------------------------------------------- CCC / FRCorr
def _corrcoef(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r of two 1-d series through np.cov (float64); NaN -> 0, clipped to [-1, 1]."""
    c = np.cov(x, y)
    d = np.sqrt(np.diag(c))
    c = c / np.outer(d, d)
    c = np.clip(np.nan_to_num(c), -1, 1)
    return float(c[0, 1])


def concordance_correlation_coefficient(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean over the 25 columns of Lin's CCC (population moments in float32, +1e-8)."""
    values = []
    for c in range(y_true.shape[1]):
        t = y_true[:, c]
        p = y_pred[:, c]
        cor = _corrcoef(t, p)
        mean_t, mean_p = np.mean(t), np.mean(p)
        var_t, var_p = np.var(t), np.var(p)
        sd_t, sd_p = np.std(t), np.std(p)
        numerator = 2 * cor * sd_t * sd_p
        denominator = var_t + var_p + (mean_t - mean_p) ** 2 + 1e-8
        values.append(numerator / denominator)
    return float(np.mean(values))


def _frc_task(pred_k: np.ndarray, appropriate: np.ndarray) -> float:
    total = 0.0
    for i in range(pred_k.shape[0]):
        ccs = [concordance_correlation_coefficient(appropriate[j], pred_k[i])
               for j in range(appropriate.shape[0])]
        total += max(ccs)
    return total


# ----------------------------------------------------------------------------- DTW / FRDist
def _frd_task(pred_k: np.ndarray, appropriate: np.ndarray) -> float:
    from tslearn.metrics import dtw

    total = 0.0
    for i in range(pred_k.shape[0]):
        dists = []
        for j in range(appropriate.shape[0]):
            x, y = pred_k[i], appropriate[j]
            dist = (1 / 15 * dtw(x[:, :15], y[:, :15]) + dtw(x[:, 15:17], y[:, 15:17])
                    + 1 / 8 * dtw(x[:, 17:], y[:, 17:]))
            dists.append(dist)
        total += min(dists)
    return total


# ----------------------------------------------------------------------------- TLCC / FRSyn
def calculate_tlcc(x: np.ndarray, y: np.ndarray) -> int:
    """Offset (49 - argmax over lag scores; torch.argmax returns the first NaN when present)."""
    scores = []
    for lag in TLCC_LAGS:
        rs = []
        for c in range(x.shape[1]):
            if lag > 0:
                a, b = x[lag:, c], y[:-lag, c]
            elif lag < 0:
                a, b = x[:lag, c], y[-lag:, c]
            else:
                a, b = x[:, c], y[:, c]
            rs.append(np.corrcoef(a, b)[0, 1])
        scores.append(torch.mean(torch.tensor(rs, dtype=torch.float32)))
    scores = torch.stack(scores)
    return int(TLCC_LAGS.stop - 1 - int(torch.argmax(scores)))


def _tlcc_task(pred_k: np.ndarray, speaker_k: np.ndarray) -> int:
    for i in range(pred_k.shape[0]):
        offset = calculate_tlcc(pred_k[i], speaker_k)
        return abs(offset)  # the official worker returns inside the loop: generation 0 only
    return 0


# ----------------------------------------------------------------------------- fan-out
def _tasks(pred, listener_gt, neighbours):
    for k in range(pred.shape[0]):
        idx = np.argwhere(neighbours[k] == 1).reshape(-1)
        yield pred[k], listener_gt[idx]


def _pool_mean(func, args, n: int, processes: int) -> float:
    old = np.seterr(divide="ignore", invalid="ignore")
    try:
        with mp.get_context("fork").Pool(processes) as pool:
            out = pool.starmap(func, args)
    finally:
        np.seterr(**old)
    return float(np.sum(out) / n)


def compute_frc_mp(pred, listener_gt, neighbours, processes: int = 2) -> float:
    """FRCorr: mean over speakers of the sum over generations of the max CCC over neighbours."""
    pred = np.asarray(pred, dtype=np.float32)
    gt = np.asarray(listener_gt, dtype=np.float32)
    return _pool_mean(_frc_task, _tasks(pred, gt, neighbours), pred.shape[0], processes)


def compute_frd_mp(pred, listener_gt, neighbours, processes: int = 2) -> float:
    """FRDist: mean over speakers of the sum over generations of the min grouped DTW."""
    pred = np.asarray(pred, dtype=np.float32)
    gt = np.asarray(listener_gt, dtype=np.float32)
    return _pool_mean(_frd_task, _tasks(pred, gt, neighbours), pred.shape[0], processes)


def compute_tlcc_mp(pred, speaker, processes: int = 2) -> float:
    """FRSyn: mean over speakers of |offset| of generation 0."""
    pred = np.asarray(pred, dtype=np.float32)
    sp = np.asarray(speaker, dtype=np.float32)
    args = ((pred[k], sp[k]) for k in range(pred.shape[0]))
    return _pool_mean(_tlcc_task, args, pred.shape[0], processes)


def compute_s_mse(pred) -> float:
    """FRDiv (S-MSE): mean over speakers of the pairwise squared distance of generations."""
    pred = torch.as_tensor(np.asarray(pred, dtype=np.float32))
    n, alpha, t, d = pred.shape
    if alpha == 1:
        return 0.0
    total = 0.0
    for b in range(n):
        x = pred[b].reshape(alpha, -1)
        dist = torch.cdist(x, x) ** 2
        total += float(dist.sum() / (alpha * (alpha - 1) * t * d))
    return total / n


def compute_frvar(pred) -> float:
    """FRVar: unbiased variance over time, averaged over (N, alpha, D)."""
    pred = torch.as_tensor(np.asarray(pred, dtype=np.float32))
    return float(torch.var(pred, dim=2).mean())


def compute_frdvs(pred) -> float:
    """FRDvs: pairwise squared distances across speakers for each generation index."""
    pred = torch.as_tensor(np.asarray(pred, dtype=np.float32))
    n, alpha, t, d = pred.shape
    y = pred.reshape(n, alpha, t * d).transpose(0, 1)
    dist = torch.cdist(y, y) ** 2
    return float(dist.sum() / (n * (n - 1) * alpha) / (t * d))


def warm_up() -> None:
    """Compile tslearn's numba DTW and import torch's CPU kernels once in the parent process, so
    forked workers do not each pay a one-off JIT cost inside the timed region."""
    from tslearn.metrics import dtw

    rng = np.random.default_rng(0)
    x = rng.random((8, 25), dtype=np.float32)
    dtw(x[:, :15], x[:, :15])
    concordance_correlation_coefficient(x, x[::-1])
    calculate_tlcc(rng.random((60, 25)), rng.random((60, 25)))


OFFICIAL_METRICS = {
    "FRCorr": lambda a, p: compute_frc_mp(a["pred"], a["listener_gt"], a["neighbours"], p),
    "FRDist": lambda a, p: compute_frd_mp(a["pred"], a["listener_gt"], a["neighbours"], p),
    "FRDiv": lambda a, p: compute_s_mse(a["pred"]),
    "FRVar": lambda a, p: compute_frvar(a["pred"]),
    "FRDvs": lambda a, p: compute_frdvs(a["pred"]),
    "FRSyn": lambda a, p: compute_tlcc_mp(a["pred"], a["speaker"], p),
}
