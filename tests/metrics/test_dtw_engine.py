"""The pruned FRDist engine returns exactly the minima of the full computation."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.metrics import grouped_dtw
from reactbench.metrics.dtw_engine import min_grouped_dtw, min_grouped_dtw_ragged
from tests.metrics.conftest import make_emotions, make_neighbours, make_smooth_emotions


def _both(pred, gt, nb, n_jobs=1):
    pruned = min_grouped_dtw(pred, gt, nb, n_jobs=n_jobs, abandon=True)
    full = min_grouped_dtw(pred, gt, nb, n_jobs=n_jobs, abandon=False)
    return pruned, full


@pytest.mark.parametrize("seed", [0, 1])
def test_pruned_bit_identical_on_smooth_clips(seed):
    # neighbours within a few per cent of each other: most pairs are skipped by their bound
    rng = np.random.default_rng(seed)
    n, alpha, t = 6, 3, 80
    gt = make_smooth_emotions(rng, (n, t))
    pred = make_smooth_emotions(rng, (n, alpha, t))
    nb = make_neighbours(rng, n, 2, 6)
    for n_jobs in (1, 2):
        pruned, full = _both(pred, gt, nb, n_jobs)
        np.testing.assert_array_equal(pruned, full)
    expect = [[min(grouped_dtw(pred[i, k], gt[j]) for j in np.flatnonzero(nb[i]))
               for k in range(alpha)] for i in range(n)]
    np.testing.assert_array_equal(pruned, expect)


@pytest.mark.parametrize("t", [1, 2, 5, 33])
def test_pruned_bit_identical_random(t):
    rng = np.random.default_rng(t)
    n, alpha = 7, 4
    pred = make_emotions(rng, (n, alpha, t))
    gt = make_emotions(rng, (n, t))
    pred[2, 1] = make_emotions(rng, (t,), binary_au=False)
    gt[4] = make_emotions(rng, (t,), binary_au=False)
    nb = make_neighbours(rng, n, 1, 6)
    pruned, full = _both(pred, gt, nb)
    np.testing.assert_array_equal(pruned, full)


def test_ties_and_copies():
    rng = np.random.default_rng(3)
    n, alpha, t = 5, 3, 40
    gt = make_smooth_emotions(rng, (n, t))
    gt[1] = gt[0]  # identical neighbours: a tie for the minimum
    gt[3] = gt[2]
    pred = make_smooth_emotions(rng, (n, alpha, t))
    pred[0, 0] = gt[0]  # a generation equal to a neighbour: distance 0
    pred[1, 1] = pred[1, 0]  # identical generations
    pred[2] = np.tile(pred[2, :, :1], (1, t, 1))  # constant sequences
    gt[4] = np.tile(gt[4, :1], (t, 1))
    nb = np.ones((n, n))
    pruned, full = _both(pred, gt, nb)
    np.testing.assert_array_equal(pruned, full)
    assert pruned[0, 0] == 0.0 and pruned[1, 0] == pruned[1, 1]


def test_single_neighbour_and_empty_rows():
    rng = np.random.default_rng(4)
    n, alpha, t = 4, 2, 20
    pred = make_emotions(rng, (n, alpha, t))
    gt = make_emotions(rng, (n, t))
    nb = np.eye(n)
    nb[3] = 0  # no neighbour: inf, as the full computation gives
    pruned, full = _both(pred, gt, nb)
    np.testing.assert_array_equal(pruned, full)
    assert np.all(np.isinf(pruned[3]))


@pytest.mark.parametrize("case", range(4))
def test_non_finite_values_handled_as_the_full_computation(case):
    rng = np.random.default_rng(10 + case)
    n, alpha, t = 3, 2, 12
    pred = make_emotions(rng, (n, alpha, t))
    gt = make_emotions(rng, (n, t))
    if case == 0:
        pred[0, 0, 3, 16] = np.nan
    elif case == 1:
        gt[1, 5, 2] = np.nan
    elif case == 2:
        gt[:, 5, 20] = np.nan
    else:
        pred[1, 1, 0, 0] = np.inf
    pruned, full = _both(pred, gt, np.ones((n, n)))
    np.testing.assert_array_equal(pruned, full)


def _pack(samples):
    """List of (A, T_s, 25) -> packed (A, L, 25), offsets, longest-first order."""
    lens = [s.shape[1] for s in samples]
    off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    return (np.ascontiguousarray(np.concatenate(samples, axis=1)), off,
            np.argsort(-np.asarray(lens), kind="stable").astype(np.int64))


def test_ragged_pruned_bit_identical():
    rng = np.random.default_rng(8)
    alpha, kk = 3, 4
    lens = [30, 7, 30, 1, 52, 2]
    pred, off, order = _pack([make_smooth_emotions(rng, (alpha, t)) for t in lens])
    tg, _, _ = _pack([make_smooth_emotions(rng, (kk, t)) for t in lens])
    tg[1, off[2]:off[3]] = pred[0, off[2]:off[3]]  # a target equal to a generation
    pruned = min_grouped_dtw_ragged(pred, tg, off, order, n_jobs=2, abandon=True)
    full = min_grouped_dtw_ragged(pred, tg, off, order, n_jobs=2, abandon=False)
    np.testing.assert_array_equal(pruned, full)
    assert pruned[2, 0] == 0.0
    expect = [[min(grouped_dtw(pred[k, off[s]:off[s + 1]], tg[q, off[s]:off[s + 1]])
                   for q in range(kk)) for k in range(alpha)] for s in range(len(lens))]
    np.testing.assert_array_equal(pruned, expect)


def test_ragged_single_target():
    rng = np.random.default_rng(9)
    pred, off, order = _pack([make_emotions(rng, (2, t)) for t in (5, 9)])
    tg, _, _ = _pack([make_emotions(rng, (1, t)) for t in (5, 9)])
    pruned = min_grouped_dtw_ragged(pred, tg, off, order, n_jobs=1, abandon=True)
    np.testing.assert_array_equal(
        pruned, min_grouped_dtw_ragged(pred, tg, off, order, n_jobs=1, abandon=False))


def test_likely_minimum_beaten_through_its_fe_group():
    # neighbour 0 equals the generation in AU and VA but not in FE (partial bound 0: the
    # likely minimum, computed first); neighbour 1 differs a little in VA only and wins, found
    # through its full bound; neighbour 2 equals neighbour 1 (a tie, bound equal to the value)
    rng = np.random.default_rng(14)
    alpha, t = 2, 40
    pred = make_smooth_emotions(rng, (1, alpha, t))
    gt = np.repeat(pred[0, :1], 3, axis=0)
    gt[0, :, 17:] = make_smooth_emotions(rng, (t,))[:, 17:] ** 0.1
    gt[1, :, 15] = np.clip(gt[1, :, 15] + 0.01, -1, 1)
    gt[2] = gt[1]
    nb = np.ones((1, 3))
    pruned, full = _both(pred, gt, nb)
    np.testing.assert_array_equal(pruned, full)
    d = [grouped_dtw(pred[0, 0], g) for g in gt]
    assert d[1] == d[2] < d[0] and pruned[0, 0] == d[1]


def test_bound_equal_to_the_value_and_ties():
    # neighbours differing from the generation in AU only: the bound is the exact value, two
    # of them tie for the minimum (the second is re-checked with its bound equal to the best),
    # one more AU difference loses
    rng = np.random.default_rng(15)
    t = 30
    pred = make_smooth_emotions(rng, (1, 1, t))
    gt = np.repeat(pred[0], 4, axis=0)
    gt[0, 3, 2] = 1.0 - gt[0, 3, 2]
    gt[1, 7, 5] = 1.0 - gt[1, 7, 5]
    gt[2, 3, 2] = 1.0 - gt[2, 3, 2]
    gt[2, 9, 9] = 1.0 - gt[2, 9, 9]
    gt[3, :, 16] = np.clip(gt[3, :, 16] + 0.5, -1, 1)
    pruned, full = _both(pred, gt, np.ones((1, 4)))
    np.testing.assert_array_equal(pruned, full)
    assert pruned[0, 0] == grouped_dtw(pred[0, 0], gt[0]) == grouped_dtw(pred[0, 0], gt[1])


def test_losing_re_checks_abandoned_with_loose_fe_bounds():
    # FE values in the thousands make the FE bound's rounding margin swallow small FE
    # differences: the losers' bounds equal the winner's value (the winner is computed first),
    # so they are re-checked exactly and abandoned together once their FE rows exceed it
    rng = np.random.default_rng(16)
    t = 30
    pred = make_smooth_emotions(rng, (1, 1, t))
    pred[..., 17:] *= 1000.0
    gt = np.repeat(pred[0], 4, axis=0)
    gt[:, :, 15] = np.clip(gt[:, :, 15] + 0.01, -1, 1)  # the same partial bound for all
    for j, noise in enumerate((0.0, 0.3, 0.5, 0.7)):
        gt[j, :, 17:] += noise * rng.standard_normal((t, 8)).astype(np.float32)
    pruned, full = _both(pred, gt, np.ones((1, 4)))
    np.testing.assert_array_equal(pruned, full)
    d = [grouped_dtw(pred[0, 0], g) for g in gt]
    assert pruned[0, 0] == d[0] == min(d)
