"""The SIMD-lane CPU engine (8 DTWs in lock-step) gives exactly the single-pair values."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.metrics import grouped_dtw
from reactbench.metrics.dtw_engine import min_grouped_dtw
from reactbench.metrics.simd_lanes import W
from tests.metrics.conftest import make_emotions, make_neighbours


def _pairwise_min(pred, gt, nb):
    return np.array([[min(grouped_dtw(pred[i, k], gt[j]) for j in np.flatnonzero(nb[i]))
                      for k in range(pred.shape[1])] for i in range(pred.shape[0])])


@pytest.mark.parametrize("t", [1, 2, 3, 8, 17])
def test_lanes_bit_identical_to_single_pairs(t):
    # alpha x |J| spans several lane groups and a padded last group; binary and non-binary
    # AU rows are mixed inside groups (a group falls back to the float AU sum)
    rng = np.random.default_rng(t)
    n, alpha = 7, 4
    pred = make_emotions(rng, (n, alpha, t))
    gt = make_emotions(rng, (n, t))
    pred[1, 2] = make_emotions(rng, (t,), binary_au=False)
    gt[3] = make_emotions(rng, (t,), binary_au=False)
    nb = make_neighbours(rng, n, 1, 5)
    nb[:, 3] = 1
    assert alpha * nb.sum(axis=1).max() > W
    expect = _pairwise_min(pred, gt, nb)
    for abandon in (True, False):
        for n_jobs in (1, 2):
            got = min_grouped_dtw(pred, gt, nb, n_jobs=n_jobs, abandon=abandon)
            np.testing.assert_array_equal(got, expect)


def test_lane_group_abandons_only_when_every_lane_is_beaten():
    # generation 0 equals a neighbour (distance 0): its far neighbours share lane groups with
    # other generations' pairs, whose minima must survive
    rng = np.random.default_rng(11)
    n, alpha, t = 3, 5, 30
    gt = make_emotions(rng, (n, t))
    pred = make_emotions(rng, (n, alpha, t))
    pred[:, 0] = gt[(np.arange(n) + 1) % n]
    nb = np.ones((n, n))
    got = min_grouped_dtw(pred, gt, nb, abandon=True)
    np.testing.assert_array_equal(got, _pairwise_min(pred, gt, nb))
    assert np.all(got[:, 0] == 0.0)


def test_engine_refuses_unequal_lengths_and_bad_neighbour_shape():
    rng = np.random.default_rng(0)
    pred = rng.random((2, 2, 20, 25)).astype(np.float32)
    with pytest.raises(ValueError, match="gt: expected T = 20"):
        min_grouped_dtw(pred, rng.random((2, 27, 25)), np.ones((2, 2)), n_jobs=1)
    with pytest.raises(ValueError, match="neighbours: expected shape"):
        min_grouped_dtw(pred, rng.random((2, 20, 25)), np.ones((3, 3)), n_jobs=1)
