"""Seeded variable-length inputs for the REACT2025/2026 reference tests."""

from __future__ import annotations

import numpy as np

from benchmarks.official_loop_react2025 import sequence


def make_case(seed: int, n: int, alpha: int, k: int = 10, lo: int = 58,
              hi: int = 400) -> tuple[list, list, list]:
    """(preds, targets, speakers): N samples of lengths in [lo, hi]; targets drawn with
    duplicates from a few clips (target 0 the paired one); some constant columns; generation 0
    of every third sample trails its speaker (continuous AU values there) by a few frames; one
    speaker column changes only near its end (constant lag windows, NaN lag scores)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(lo, hi + 1, n)
    preds, targets, speakers = [], [], []
    for s, t in enumerate(lengths):
        t = int(t)
        sp = sequence(rng, t)
        pool = [sequence(rng, t) for _ in range(4)]
        idx = [0] + list(rng.integers(0, len(pool), k - 1))
        tg = np.stack([pool[i] for i in idx])
        pred = np.stack([sequence(rng, t) for _ in range(alpha)])
        if s % 3 == 0:  # continuous AU values: no constant window, a measured offset
            sp[:, :15] = rng.standard_normal((t, 15)).cumsum(axis=0) / 10.0
            lag = int(rng.integers(1, 8))
            pred[0, lag:] = sp[:-lag]
            pred[0, :lag] = sp[0]
        if s % 4 == 1:
            pred[:, :, 2] = 0.0  # a constant AU column in every generation
            tg[0, :, 5] = 1.0
        if s % 4 == 2:
            sp[:, 7] = 0.0
            sp[-3:, 7] = 1.0  # changes only in its last frames
        if s % 5 == 3:
            pred[1] = tg[2]  # a generation equal to a (duplicated) target
        preds.append(pred)
        targets.append(tg)
        speakers.append(sp)
    return preds, targets, speakers
