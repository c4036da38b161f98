"""Seeded random inputs for the metric tests."""

from __future__ import annotations

import numpy as np
import pytest


def make_emotions(rng: np.random.Generator, shape: tuple[int, ...], binary_au: bool = True,
                  dead_au: float = 0.0) -> np.ndarray:
    """Random (..., T, 25) emotions: AUs 0/1 (or uniform), VA in [-1, 1], FE rows summing to 1."""
    x = rng.random(shape + (25,), dtype=np.float32)
    if binary_au:
        x[..., :15] = (x[..., :15] > 0.5)
    if dead_au:
        dead = rng.random(shape[:-1] + (1, 15)) < dead_au
        x[..., :15] = np.where(dead, 0.0, x[..., :15])
    x[..., 15:17] = 2 * x[..., 15:17] - 1
    x[..., 17:] /= x[..., 17:].sum(-1, keepdims=True)
    return x.astype(np.float32)


def make_neighbours(rng: np.random.Generator, n: int, lo: int = 1, hi: int = 4) -> np.ndarray:
    """(n, n) float64 0/1 with a ragged number (lo..hi) of neighbours per row."""
    nb = np.zeros((n, n))
    for i in range(n):
        nb[i, rng.choice(n, size=int(rng.integers(lo, min(hi, n) + 1)), replace=False)] = 1
    return nb


@pytest.fixture
def small_case():
    rng = np.random.default_rng(123)
    n, alpha, t = 5, 3, 40
    return {
        "pred": make_emotions(rng, (n, alpha, t)),
        "listener_gt": make_emotions(rng, (n, t)),
        "speaker": make_emotions(rng, (n, t)),
        "neighbours": make_neighbours(rng, n),
    }


def make_smooth_emotions(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """AR(1)-smooth emotions like real clips: runs of AUs, slowly moving VA and FE."""
    z = rng.standard_normal(shape + (25,))
    for a in range(1, shape[-1]):
        z[..., a, :] = 0.95 * z[..., a - 1, :] + 0.3 * z[..., a, :]
    x = np.empty(z.shape, np.float32)
    x[..., :15] = z[..., :15] > 0.8
    x[..., 15:17] = np.tanh(0.8 * z[..., 15:17])
    fe = np.exp(1.5 * z[..., 17:])
    x[..., 17:] = fe / fe.sum(-1, keepdims=True)
    return x
