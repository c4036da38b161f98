"""Slow, obviously-correct re-implementations of the official metric code (spec section 3),
written as plain loops over numpy/scipy/tslearn for the reference tests."""

from __future__ import annotations

import numpy as np

GROUPS = ((0, 15, 1.0 / 15.0), (15, 17, 1.0), (17, 25, 1.0 / 8.0))


def ccc_official(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Per-column CCC on float32 columns (np.cov-based r, NaN -> 0, clipped), column mean."""
    vals = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in range(y_true.shape[1]):
            t = y_true[:, c].astype(np.float32)
            p = y_pred[:, c].astype(np.float32)
            cov = np.cov(t, p)
            sd = np.sqrt(np.diag(cov))
            r = cov / sd[:, None] / sd[None, :]
            r = float(np.clip(np.nan_to_num(r, nan=0.0), -1, 1)[0, 1])
            mt, mp = np.mean(t), np.mean(p)
            vt, vp = np.var(t), np.var(p)
            st, sp = np.std(t), np.std(p)
            vals.append(2 * r * st * sp / (vt + vp + (mt - mp) ** 2 + 1e-8))
    return float(np.mean(vals))


def ccc_corrected(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    vals = []
    for c in range(y_true.shape[1]):
        t = y_true[:, c].astype(np.float64)
        p = y_pred[:, c].astype(np.float64)
        ct, cp = np.all(t == t[0]), np.all(p == p[0])
        if ct or cp:
            if ct and cp and t[0] == p[0]:
                vals.append(1.0)
            continue
        cov = np.mean((t - t.mean()) * (p - p.mean()))
        vals.append(2 * cov / (t.var() + p.var() + (t.mean() - p.mean()) ** 2))
    return float(np.mean(vals)) if vals else 0.0


def grouped_dtw_tslearn(x: np.ndarray, y: np.ndarray) -> float:
    from tslearn.metrics import dtw

    x = x.astype(np.float32).astype(np.float64)
    y = y.astype(np.float32).astype(np.float64)
    # be="numpy": the backend tslearn picks for numpy arrays, named (tslearn otherwise finds it
    # by formatting both arrays as text on every call)
    return sum(w * dtw(x[:, a:b], y[:, a:b], be="numpy") for a, b, w in GROUPS)


def tlcc_scores_official(x: np.ndarray, y: np.ndarray, max_lag: int = 49) -> np.ndarray:
    scores = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for lag in range(-max_lag, max_lag + 1):
            if lag > 0:
                xs, ys = x[lag:], y[:-lag]
            elif lag < 0:
                xs, ys = x[:lag], y[-lag:]
            else:
                xs, ys = x, y
            rs = []
            for c in range(x.shape[1]):
                if len(xs) < 2:
                    rs.append(np.nan)
                    continue
                rs.append(np.corrcoef(xs[:, c].astype(np.float64),
                                      ys[:, c].astype(np.float64))[0, 1])
            scores.append(np.float32(np.mean(np.asarray(rs, dtype=np.float32))))
    return np.asarray(scores, dtype=np.float32)


def tlcc_offset_official(x: np.ndarray, y: np.ndarray, max_lag: int = 49) -> int:
    s = tlcc_scores_official(x, y, max_lag)
    nan = np.flatnonzero(np.isnan(s))
    idx = int(nan[0]) if nan.size else int(np.argmax(s))
    return max_lag - idx


def fr_corr_loop(pred, gt, nb, ccc_fn=ccc_official) -> float:
    n, alpha = pred.shape[:2]
    total = 0.0
    for k in range(n):
        js = np.flatnonzero(nb[k] == 1)
        for i in range(alpha):
            total += max(ccc_fn(gt[j], pred[k, i]) for j in js)
    return total / n


def fr_dist_loop(pred, gt, nb) -> float:
    n, alpha = pred.shape[:2]
    total = 0.0
    for k in range(n):
        js = np.flatnonzero(nb[k] == 1)
        for i in range(alpha):
            total += min(grouped_dtw_tslearn(pred[k, i], gt[j]) for j in js)
    return total / n


def fr_div_loop(pred) -> float:
    n, alpha, t, d = pred.shape
    out = []
    for b in range(n):
        x = pred[b].reshape(alpha, t * d).astype(np.float64)
        s = sum(np.sum((x[i] - x[j]) ** 2) for i in range(alpha) for j in range(alpha))
        out.append(s / (alpha * (alpha - 1) * t * d))
    return float(np.mean(out))


def fr_dvs_loop(pred) -> float:
    n, alpha, t, d = pred.shape
    y = pred.reshape(n, alpha, t * d).transpose(1, 0, 2).astype(np.float64)
    s = sum(np.sum((y[i, k] - y[i, l]) ** 2) for i in range(alpha) for k in range(n)
            for l in range(n))
    return s / (n * (n - 1) * alpha) / (t * d)


def fr_var_loop(pred) -> float:
    return float(np.var(pred.astype(np.float64), axis=2, ddof=1).mean())
