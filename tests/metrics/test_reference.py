"""reactbench metrics vs slow reference loops (tests/metrics/reference.py) on seeded inputs."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.metrics import (
    ccc,
    compute_metrics,
    dtw,
    fr_corr,
    fr_dist,
    fr_div,
    fr_dvs,
    fr_syn,
    fr_var,
    grouped_dtw,
    tlcc_offsets,
)
from reactbench.metrics.dtw_engine import min_grouped_dtw
from reactbench.metrics.tlcc import tlcc_scores
from tests.metrics import reference as ref
from tests.metrics.conftest import make_emotions, make_neighbours


@pytest.mark.tslearn
@pytest.mark.parametrize("binary_au", [True, False])
def test_grouped_dtw_matches_tslearn(binary_au):
    rng = np.random.default_rng(0)
    for t in (1, 2, 7, 33):
        x = make_emotions(rng, (t,), binary_au)
        y = make_emotions(rng, (t,), binary_au)
        assert grouped_dtw(x, y) == pytest.approx(ref.grouped_dtw_tslearn(x, y), rel=1e-12,
                                                  abs=1e-12)


@pytest.mark.tslearn
def test_grouped_dtw_unequal_lengths():
    rng = np.random.default_rng(1)
    x, y = make_emotions(rng, (20,)), make_emotions(rng, (31,))
    assert grouped_dtw(x, y) == pytest.approx(ref.grouped_dtw_tslearn(x, y), rel=1e-12)


@pytest.mark.tslearn
def test_dtw_matches_tslearn():
    from tslearn.metrics import dtw as tdtw

    rng = np.random.default_rng(2)
    for shape_x, shape_y in (((30, 3), (30, 3)), ((12, 2), (25, 2)), ((17,), (9,))):
        x, y = rng.standard_normal(shape_x), rng.standard_normal(shape_y)
        assert dtw(x, y) == pytest.approx(tdtw(x, y), rel=1e-12)


@pytest.mark.tslearn
@pytest.mark.parametrize("binary_au", [True, False])
def test_min_grouped_dtw_ragged_neighbours(binary_au):
    rng = np.random.default_rng(3)
    n, alpha, t = 6, 2, 25
    pred = make_emotions(rng, (n, alpha, t), binary_au)
    gt = make_emotions(rng, (n, t), binary_au)
    nb = make_neighbours(rng, n, 1, 5)
    expect = np.array([[min(ref.grouped_dtw_tslearn(pred[i, k], gt[j])
                            for j in np.flatnonzero(nb[i])) for k in range(alpha)]
                       for i in range(n)])
    for abandon in (True, False):
        got = min_grouped_dtw(pred, gt, nb, n_jobs=1, abandon=abandon)
        np.testing.assert_allclose(got, expect, rtol=1e-12)


def test_early_abandoning_keeps_exact_minimum():
    # one neighbour is a near-copy, the rest far away: abandoning must not change the minimum
    rng = np.random.default_rng(4)
    n, alpha, t = 4, 3, 60
    gt = make_emotions(rng, (n, t))
    pred = make_emotions(rng, (n, alpha, t))
    pred[:, 0] = gt[(np.arange(n) + 1) % n]
    nb = np.ones((n, n))
    full = min_grouped_dtw(pred, gt, nb, abandon=False)
    np.testing.assert_array_equal(min_grouped_dtw(pred, gt, nb, abandon=True), full)
    assert np.all(full[:, 0] == 0.0)


@pytest.mark.parametrize("protocol,fn", [("official", ref.ccc_official),
                                         ("corrected", ref.ccc_corrected)])
def test_ccc_matches_reference(protocol, fn):
    rng = np.random.default_rng(5)
    for _ in range(5):
        x = make_emotions(rng, (30,), dead_au=0.3)
        y = make_emotions(rng, (30,), dead_au=0.3)
        assert ccc(x, y, protocol=protocol) == pytest.approx(fn(x, y), rel=1e-6, abs=1e-7)


def test_tlcc_matches_reference():
    rng = np.random.default_rng(6)
    for dead in (0.0, 0.2):
        x = make_emotions(rng, (80,), binary_au=False, dead_au=dead)
        y = make_emotions(rng, (80,), binary_au=False, dead_au=dead)
        np.testing.assert_allclose(tlcc_scores(x, y), ref.tlcc_scores_official(x, y),
                                   rtol=1e-6, atol=1e-7)
        pred = x[None, None]
        assert tlcc_offsets(pred, y[None])[0, 0] == ref.tlcc_offset_official(x, y)


@pytest.mark.tslearn
def test_functions_match_loops(small_case):
    c = small_case
    pred, gt, sp, nb = c["pred"], c["listener_gt"], c["speaker"], c["neighbours"]
    assert fr_corr(pred, gt, nb) == pytest.approx(ref.fr_corr_loop(pred, gt, nb), rel=1e-6)
    assert fr_corr(pred, gt, nb, protocol="corrected") == pytest.approx(
        ref.fr_corr_loop(pred, gt, nb, ref.ccc_corrected), rel=1e-6)
    assert fr_dist(pred, gt, nb) == pytest.approx(ref.fr_dist_loop(pred, gt, nb), rel=1e-9)
    assert fr_div(pred) == pytest.approx(ref.fr_div_loop(pred), rel=1e-9)
    assert fr_dvs(pred) == pytest.approx(ref.fr_dvs_loop(pred), rel=1e-9)
    assert fr_var(pred) == pytest.approx(ref.fr_var_loop(pred), rel=1e-9)
    gen0 = np.mean([abs(ref.tlcc_offset_official(pred[k, 0], sp[k])) for k in range(len(sp))])
    assert fr_syn(pred, sp) == pytest.approx(gen0)
    scores = compute_metrics(pred, gt, sp, nb, n_jobs=1)
    assert scores["FRDist"] == pytest.approx(ref.fr_dist_loop(pred, gt, nb), rel=1e-9)
