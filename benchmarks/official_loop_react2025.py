"""A plain re-creation of the REACT2025/2026 official metric loops, for value and speed
comparisons (the reference tests in ``tests/metrics/test_react2025.py`` and
``benchmarks/metrics_react2025.py`` both use it). Benchmark code, not part of the package.

Written from a reading of the challenge code's metric functions: per-sample python loops over
numpy, torch and tslearn in the dtypes and reduction order the official code uses (numpy float32
means, float64 Pearson r, tslearn DTW, float32 ``torch.cdist``, ``torch.var``, torch means).
Nothing here uses reactbench's kernels. Inputs: ``preds`` a list of N float32 arrays (A, T_k,
25), ``targets`` N arrays (K, T_k, 25), ``speakers`` N arrays (T_k, 25).

:func:`sequence` draws the synthetic attribute sequences that the tests and the benchmark feed
to both implementations.
"""

from __future__ import annotations

import numpy as np
import torch

GROUPS = ((0, 15, 1 / 15), (15, 17, 1), (17, 25, 1 / 8))


def dtw(x: np.ndarray, y: np.ndarray, **kw) -> float:
    """``tslearn.metrics.dtw(x, y, **kw)``."""
    from tslearn.metrics import dtw as tslearn_dtw  # on first use: tslearn imports scikit-learn

    return tslearn_dtw(x, y, **kw)


def _corrcoef(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """np.cov-based correlation matrix with NaN -> 0 and clipping (the FRCorr code's copy)."""
    c = np.cov(x, y)
    sd = np.sqrt(np.diag(c).real)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = c / sd[:, None]
        c = c / sd[None, :]
    c = np.nan_to_num(c)
    np.clip(c, -1, 1, out=c)
    return c


def ccc(y_true: np.ndarray, y_pred: np.ndarray) -> np.float64:
    """Column-mean CCC of two (T, 25) float32 arrays; float32 moments, float64 r."""
    values = []
    for c in range(y_true.shape[1]):
        cor = _corrcoef(y_true[:, c], y_pred[:, c])[0][1]
        mean_t, mean_p = np.mean(y_true[:, c]), np.mean(y_pred[:, c])
        var_t, var_p = np.var(y_true[:, c]), np.var(y_pred[:, c])
        sd_t, sd_p = np.std(y_true[:, c]), np.std(y_pred[:, c])
        numerator = 2 * cor * sd_t * sd_p
        denominator = var_t + var_p + (mean_t - mean_p) ** 2
        values.append(numerator / (denominator + 1e-8))
    return np.mean(values)


def fr_corr(preds, targets) -> float:
    """Mean over samples of sum_i max_j CCC(targets[k][j], preds[k][i])."""
    per = []
    for pred, target in zip(preds, targets):
        total = 0
        for i in range(pred.shape[0]):
            total += max(ccc(target[j], pred[i]) for j in range(target.shape[0]))
        per.append(total)
    return float(np.mean(per))


def grouped_dtw(x: np.ndarray, y: np.ndarray) -> float:
    """1/15 DTW(AU) + DTW(VA) + 1/8 DTW(FE), tslearn on float32 inputs."""
    res = 0
    for st, ed, weight in GROUPS:
        res += weight * dtw(x.astype(np.float32)[:, st:ed], y.astype(np.float32)[:, st:ed])
    return res


def fr_dist(preds, targets) -> float:
    """Mean over samples of sum_i min_j grouped DTW(preds[k][i], targets[k][j])."""
    per = []
    for pred, target in zip(preds, targets):
        total = 0
        for i in range(pred.shape[0]):
            total += min(grouped_dtw(pred[i], target[j]) for j in range(target.shape[0]))
        per.append(total)
    return float(np.mean(per))


def _crosscorr(x: torch.Tensor, y: torch.Tensor, lag: int) -> torch.Tensor:
    values = []
    for c in range(y.shape[-1]):
        if lag > 0:
            a, b = x[lag:, c], y[:-lag, c]
        elif lag < 0:
            a, b = x[:lag, c], y[-lag:, c]
        else:
            a, b = x[:, c], y[:, c]
        with np.errstate(divide="ignore", invalid="ignore"):
            values.append(np.corrcoef(a.numpy(), b.numpy())[0, 1].item())
    return torch.mean(torch.Tensor(values))


def tlcc_offset(x: np.ndarray, y: np.ndarray) -> int:
    """49 - argmax over the lag scores of lags -49..49 (torch argmax: the first NaN wins)."""
    xt, yt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))
    scores = [_crosscorr(xt, yt, lag) for lag in range(-49, 50)]
    return int(len(scores) // 2 - torch.argmax(torch.Tensor(scores)))


def fr_syn(preds, speakers) -> tuple[float, list[int]]:
    """Float32 mean over samples of |offset| of generation 0 only; and the signed offsets."""
    offsets = [tlcc_offset(pred[0], sp) for pred, sp in zip(preds, speakers)]
    value = torch.mean(torch.Tensor([abs(o) for o in offsets])).item()
    return value, offsets


def fr_div(preds) -> float:
    """S-MSE per sample with float32 torch.cdist, float32 running sum, mean over samples."""
    dist = 0
    for pred in preds:
        p = torch.from_numpy(pred)
        assert p.shape[0] > 1
        flat = p.reshape(p.shape[0], -1)
        d = torch.pow(torch.cdist(flat, flat), 2)
        dist += torch.sum(d) / (flat.shape[0] * (flat.shape[0] - 1) * flat.shape[1])
    return float(dist / len(preds))


def fr_var(preds) -> float:
    """Mean over samples, generations and columns of torch.var over time (unbiased)."""
    variance = [torch.var(torch.from_numpy(pred), dim=1) for pred in preds]
    return torch.mean(torch.stack(variance, dim=0)).item()


def mae(preds, targets) -> float:
    """Per sample: mean over i of the mean over the first A targets of the float32 MAE of
    columns 15..24; numpy mean over samples."""
    per = []
    for pred, target in zip(preds, targets):
        a = pred.shape[0]
        total = 0
        for i in range(a):
            pair = [np.mean(np.abs(target[j][:, 15:] - pred[i][:, 15:])) for j in range(a)]
            total += np.mean(pair)
        per.append(total / a)
    return float(np.mean(per))


def all_metrics(preds, targets, speakers, with_mae: bool = True) -> dict[str, float]:
    """Every REACT2025/2026 metric of the official loops."""
    out = {"FRCorr": fr_corr(preds, targets), "FRDist": fr_dist(preds, targets),
           "FRSyn": fr_syn(preds, speakers)[0], "FRDiv": fr_div(preds), "FRVar": fr_var(preds)}
    if with_mae:
        out["MAE"] = mae(preds, targets)
    return out


def sequence(rng: np.random.Generator, t: int) -> np.ndarray:
    """(t, 25) float32: binary AUs, smooth valence/arousal in [-1, 1], expression probabilities."""
    steps = rng.standard_normal((t, 25)).cumsum(axis=0) / np.sqrt(np.arange(1, t + 1))[:, None]
    x = np.empty((t, 25), dtype=np.float32)
    x[:, :15] = steps[:, :15] > rng.uniform(-0.5, 1.0, 15)
    x[:, 15:17] = np.tanh(steps[:, 15:17])
    e = np.exp(steps[:, 17:])
    x[:, 17:] = e / e.sum(axis=1, keepdims=True)
    return x
