"""FRRea-feat: Frechet distance, window features, the appropriate real set."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from reactbench.metrics import compute_metrics, fr_rea, frechet_distance
from reactbench.metrics.constants import REA_HOP, REA_WINDOW
from reactbench.metrics.frechet import frechet_from_stats, window_features
from tests.metrics.conftest import make_emotions


def _scipy_frechet(x, y):
    m1, m2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * covmean))


def test_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 6))
    y = rng.standard_normal((150, 6)) @ rng.standard_normal((6, 6)) + 0.5
    assert frechet_distance(x, y) == pytest.approx(_scipy_frechet(x, y), rel=1e-8)


def test_singular_covariances():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 4))
    x[:, 2] = 0.0  # a dead feature (an AU never active)
    y = x + 0.1
    d = frechet_distance(x, y)
    assert d == pytest.approx(4 * 0.1**2, abs=1e-6)  # only the mean shift remains
    assert frechet_from_stats(np.zeros(3), np.zeros((3, 3)), np.ones(3), np.zeros((3, 3))) == 3.0


def test_frechet_bad_input():
    with pytest.raises(ValueError, match="x, y: expected"):
        frechet_distance(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        frechet_distance(np.zeros((1, 2)), np.zeros((4, 2)))


def test_window_features_match_loop():
    rng = np.random.default_rng(2)
    seq = rng.random((3, 130, 4)).astype(np.float32)
    f = window_features(seq)
    starts = range(0, 130 - REA_WINDOW + 1, REA_HOP)
    assert f.shape == (3, len(starts), 12)
    for m in range(3):
        for w, s in enumerate(starts):
            win = seq[m, s:s + REA_WINDOW].astype(np.float64)
            expect = np.concatenate([win.mean(0), win.std(0),
                                     np.abs(np.diff(win, axis=0)).mean(0)])
            np.testing.assert_allclose(f[m, w], expect, rtol=1e-9, atol=1e-12)
    short = window_features(seq[:, :10])
    assert short.shape == (3, 1, 12)


def test_fr_rea_uses_appropriate_real_set():
    rng = np.random.default_rng(3)
    n, alpha, t = 6, 2, 100
    gt = make_emotions(rng, (n, t))
    gt[3:] = make_emotions(rng, (3, t), binary_au=False) * 3  # far away rows 3..5
    pred = np.repeat(gt[:3][:, None], alpha, axis=1)
    pred = np.concatenate([pred, pred])  # rows 3..5 generate like rows 0..2
    near = np.zeros((n, n))
    near[:, :3] = 1  # only rows 0..2 are appropriate
    far = np.zeros((n, n))
    far[:, 3:] = 1
    assert fr_rea(pred, gt, near) < 0.05 * fr_rea(pred, gt, far)
    # the real set is a union: listing a row twice changes nothing
    s = compute_metrics(pred, gt, gt, near, metrics=["FRRea"])
    assert s["FRRea"] == pytest.approx(fr_rea(pred, gt, near))
