"""FRRea-feat: Frechet distance between generated and appropriate real reactions in a feature
space that sees dynamics (``metrics.md``, section FRRea). This is NOT the official image FID.

Feature space ``feat-1`` (versioned by :data:`REA_FEATURES_VERSION`):

* every sequence is cut into windows of ``REA_WINDOW`` = 50 frames (2 s at 25 fps) every
  ``REA_HOP`` = 25 frames (windows that fit entirely; a sequence shorter than a window is one
  window); T = 750 gives 29 windows;
* per window and per column: the mean, the (population) standard deviation and the mean absolute
  frame-to-frame difference (speed); for the 25-d emotion that is 75 features per window, and with
  3DMM (58-d) another 174 (249 in all): ``emotion`` or ``emotion+3dmm``;
* generated set: the windows of every generated reaction ``pred[k, i]`` of the evaluated speakers;
  real set: the windows of ``listener_gt[j]`` for every j appropriate to at least one evaluated
  speaker (the union of the neighbour rows, each real reaction counted once);
* distance ``||mu_g - mu_r||^2 + tr(S_g) + tr(S_r) - 2 tr((S_g^1/2 S_r S_g^1/2)^1/2)`` with
  unbiased covariances, all in float64; the matrix square root goes through symmetric
  eigendecompositions (exact for singular covariances); if that fails to be finite, a ridge
  ``FRECHET_EPS * I`` is added to both covariances (pytorch-fid's remedy).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from reactbench.metrics.constants import FRECHET_EPS, REA_HOP, REA_WINDOW
from reactbench.metrics.threads import run_chunks
from reactbench.metrics.validate import as_float64

REA_FEATURES_VERSION = "feat-1"


def _window_starts(t: int) -> tuple[int, np.ndarray]:
    w = min(REA_WINDOW, t)
    return w, np.arange(0, t - w + 1, REA_HOP)


@njit(cache=True, nogil=True, error_model="numpy")
def _window_rows(i0, i1, seq, starts, w, out):
    """Sequences i0:i1 of seq (M, T, C) f32 -> out (M, n_windows, 3 C) float64 (mean | std |
    mean |diff|)."""
    c = seq.shape[2]
    nw = starts.shape[0]
    for i in range(i0, i1):
        for q in range(nw):
            s = starts[q]
            for col in range(c):
                mean = 0.0
                for f in range(s, s + w):
                    mean += np.float64(seq[i, f, col])
                mean /= w
                ss = 0.0
                sp = 0.0
                for f in range(s, s + w):
                    v = np.float64(seq[i, f, col]) - mean
                    ss += v * v
                for f in range(s + 1, s + w):
                    sp += abs(np.float64(seq[i, f, col]) - np.float64(seq[i, f - 1, col]))
                out[i, q, col] = mean
                out[i, q, c + col] = np.sqrt(ss / w)
                out[i, q, 2 * c + col] = sp / max(w - 1, 1)


def window_features(seq: np.ndarray) -> np.ndarray:
    """seq (M, T, C) -> (M, n_windows, 3 C) float64: per-window mean, std, mean |diff|."""
    seq = np.ascontiguousarray(seq, dtype=np.float32)
    w, starts = _window_starts(seq.shape[1])
    out = np.empty((seq.shape[0], starts.shape[0], 3 * seq.shape[2]))
    run_chunks(_window_rows, seq.shape[0], seq, starts.astype(np.int64), w, out)
    return out


def reaction_features(emotion: np.ndarray, face_3dmm: np.ndarray | None = None) -> np.ndarray:
    """emotion (M, T, 25) [+ face_3dmm (M, T, 58)] -> (M, n_windows, F) float64."""
    f = window_features(emotion)
    if face_3dmm is not None:
        f = np.concatenate([f, window_features(face_3dmm)], axis=2)
    return f


def _trace_sqrt_product(s1: np.ndarray, s2: np.ndarray) -> float:
    """tr((S1 S2)^1/2) for symmetric PSD S1, S2 via tr((S1^1/2 S2 S1^1/2)^1/2)."""
    w, v = np.linalg.eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    mid = root @ s2 @ root
    ev = np.linalg.eigvalsh((mid + mid.T) / 2.0)
    return float(np.sqrt(np.clip(ev, 0.0, None)).sum())


def frechet_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance of two Gaussians (mu (F,), sigma (F, F)), float64, never negative."""
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    s1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    s2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(
            f"mu1, sigma1, mu2, sigma2: expected (F,), (F, F), (F,), (F, F), got {mu1.shape}, "
            f"{s1.shape}, {mu2.shape}, {s2.shape}"
        )
    diff = mu1 - mu2
    try:
        tr = _trace_sqrt_product(s1, s2)
        ok = np.isfinite(tr)
    except np.linalg.LinAlgError:
        ok = False
    if not ok:
        ridge = FRECHET_EPS * np.eye(s1.shape[0])
        tr = _trace_sqrt_product(s1 + ridge, s2 + ridge)
    d = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr)
    return max(d, 0.0)


def stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x (n, F) -> mean (F,), unbiased covariance (F, F), float64."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] < 2:
        raise ValueError(f"features: expected at least 2 samples for a covariance, got {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def frechet_distance(x, y) -> float:
    """Frechet distance between two sample sets x (n1, F) and y (n2, F) (Gaussian fit)."""
    x = as_float64(x, "x")
    y = as_float64(y, "y")
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or x.shape[1] == 0:
        raise ValueError(
            f"x, y: expected (n, F) arrays with the same F >= 1, got {x.shape}, {y.shape}"
        )
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x, y: expected finite features (found NaN or inf)")
    for name, arr in (("x", x), ("y", y)):
        if arr.shape[0] < 2:
            raise ValueError(f"{name}: expected at least 2 samples (rows) for a covariance, got "
                             f"shape {arr.shape}")
    return frechet_from_stats(*stats(x), *stats(y))


class ReaStats:
    """Per-row sufficient statistics so FRRea-feat can be recomputed on resampled speakers.

    gen_*: per speaker sums over its alpha * n_windows generated windows; real_*: per real row j.
    Features are centred at a common point first (conditioning of the second moments).
    """

    def __init__(self, gen: np.ndarray, real: np.ndarray, neighbours: np.ndarray):
        # gen (N, alpha * W, F), real (N, W, F), neighbours (N, N) bool
        self.center = real.reshape(-1, real.shape[-1]).mean(axis=0)
        g = gen - self.center
        r = real - self.center
        self.gen_n = np.full(g.shape[0], g.shape[1], dtype=np.float64)
        self.gen_s1 = g.sum(axis=1)
        self.gen_s2 = np.einsum("nwf,nwg->nfg", g, g)
        self.real_n = np.full(r.shape[0], r.shape[1], dtype=np.float64)
        self.real_s1 = r.sum(axis=1)
        self.real_s2 = np.einsum("nwf,nwg->nfg", r, r)
        self.neighbours = neighbours

    @staticmethod
    def _moments(w, n, s1, s2):
        """Weighted mean (B, F) and unbiased covariance (B, F, F) for row weights w (B, N);
        NaN where undefined (fewer than 2 samples for the covariance, none for the mean)."""
        cnt = w @ n
        m1 = np.full((w.shape[0], s1.shape[1]), np.nan)
        np.divide(w @ s1, cnt[:, None], out=m1, where=cnt[:, None] > 0)
        f = s1.shape[1]
        m2 = (w @ s2.reshape(s2.shape[0], -1)).reshape(-1, f, f)
        dof = (cnt - 1)[:, None, None]
        cov = np.full(m2.shape, np.nan)
        np.divide(m2 - cnt[:, None, None] * np.einsum("bf,bg->bfg", m1, m1), dof, out=cov,
                  where=dof > 0)
        return m1, (cov + cov.transpose(0, 2, 1)) / 2.0

    def values(self, weights: np.ndarray, chunk: int = 64) -> np.ndarray:
        """FRRea-feat for each row of speaker multiplicities ``weights`` (B, N) -> (B,); NaN for a
        resample whose appropriate real set has fewer than 2 windows (left out of the CI)."""
        w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        out = np.empty(w.shape[0])
        for s in range(0, w.shape[0], chunk):
            wc = w[s:s + chunk]
            mg, sg = self._moments(wc, self.gen_n, self.gen_s1, self.gen_s2)
            used = ((wc > 0).astype(np.float64) @ self.neighbours > 0).astype(np.float64)
            mr, sr = self._moments(used, self.real_n, self.real_s1, self.real_s2)
            real_count = used @ self.real_n
            for b in range(wc.shape[0]):
                if real_count[b] < 2:  # too few real windows in this resample: undefined
                    out[s + b] = np.nan
                    continue
                out[s + b] = frechet_from_stats(mg[b], sg[b], mr[b], sr[b])
        return out


def rea_inputs(pred, listener_gt, pred_3dmm=None, listener_3dmm=None):
    """Window features of the generated (N, alpha * W, F) and real (N, W, F) reactions."""
    n, alpha, t, _ = pred.shape
    gen_e = pred.reshape(n * alpha, t, pred.shape[-1])
    gen_f = None if pred_3dmm is None else pred_3dmm.reshape(n * alpha, t, pred_3dmm.shape[-1])
    gen = reaction_features(gen_e, gen_f)
    real = reaction_features(listener_gt, listener_3dmm)
    return gen.reshape(n, alpha * gen.shape[1], gen.shape[2]), real


def fr_rea_value(gen: np.ndarray, real: np.ndarray, neighbours: np.ndarray) -> float:
    """FRRea-feat from window features (see :func:`rea_inputs`) and a bool (N, N) matrix."""
    used = neighbours.any(axis=0)
    g = gen.reshape(-1, gen.shape[-1])
    r = real[used].reshape(-1, real.shape[-1])
    if g.shape[0] < 2:
        raise ValueError(
            f"pred: FRRea-feat needs at least 2 generated windows for a covariance, got "
            f"{g.shape[0]} (N * alpha * windows); use more speakers, generations or frames"
        )
    if r.shape[0] < 2:
        raise ValueError(
            f"neighbours: FRRea-feat needs at least 2 real windows for a covariance, got "
            f"{r.shape[0]} from {int(used.sum())} appropriate real reaction(s)"
        )
    return frechet_from_stats(*stats(g), *stats(r))
