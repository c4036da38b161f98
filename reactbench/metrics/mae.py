"""MAE as the REACT2025/2026 code computes it, in its float32 arithmetic, bit for bit.

Per sample, with A generations and the sample's targets (target 0 the paired listener):

    MAE_k = (1/A) sum_{i<A} mean_{j<A} mean_{t, c in columns} |targets[j][t, c] - pred[i][t, c]|

over the columns [15, 25) (valence, arousal, expression probabilities): a mean over the first A
targets (not a minimum over all K). Every step is numpy float32 as in the official code: each pair
mean is a float32 pairwise sum over the (T_k x 10) differences divided by the count (float64
division rounded to float32); the A pair means of generation i are averaged likewise; those A
averages are added one by one in float32 and divided by A in float32. MAE is the ``np.mean`` of
the per-sample values.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from reactbench.metrics.npsum import pairwise_sum_f32
from reactbench.metrics.threads import run_chunks


@njit(cache=True, nogil=True, error_model="numpy")
def _mae(r0, r1, pred, tg, off, order, c0, c1, out):
    """Samples order[r0:r1] of pred (A, L, D), tg (K >= A, L, D) f32 packed along time ->
    out[s] f32, the sample's MAE."""
    alpha = pred.shape[0]
    w = c1 - c0
    fa = np.float32(alpha)
    for r in range(r0, r1):
        s = order[r]
        o0 = off[s]
        t = off[s + 1] - o0
        buf = np.empty(t * w, dtype=np.float32)
        pair = np.empty(alpha, dtype=np.float32)
        total = np.float32(0.0)
        for i in range(alpha):
            for j in range(alpha):
                q = 0
                for f in range(o0, o0 + t):
                    for c in range(c0, c1):
                        buf[q] = abs(tg[j, f, c] - pred[i, f, c])
                        q += 1
                pair[j] = np.float32(np.float64(pairwise_sum_f32(buf)) / (t * w))
            total = total + np.float32(np.float64(pairwise_sum_f32(pair)) / alpha)
        out[s] = total / fa


def per_sample_mae(pred: np.ndarray, tg: np.ndarray, off: np.ndarray, order: np.ndarray,
                   columns: tuple[int, int] = (15, 25)) -> np.ndarray:
    """(N,) float32 per-sample MAE of variable-length samples packed along time: pred (A, L, D),
    tg (K, L, D) float32 with K >= A (trusted), sample s = frames off[s]:off[s + 1]."""
    out = np.empty(off.shape[0] - 1, dtype=np.float32)
    run_chunks(_mae, off.shape[0] - 1, pred, tg, off, order, int(columns[0]), int(columns[1]),
               out)
    return out
