"""The stateful layer (ReactionMetrics): batches in any order give the functional layer's scores,
which match the reference loops; misuse is refused with a message that says what to do."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.metrics import ReactionMetrics, compute_metrics

from . import reference as ref


def _feed(metric, pred, order, batch=2, face=None):
    for i in range(0, len(order), batch):
        rows = order[i:i + batch]
        metric.update(pred[rows], rows, None if face is None else face[rows])


@pytest.mark.parametrize("protocol", ["official", "corrected"])
def test_batches_in_any_order_give_the_functional_scores_and_the_reference(small_case,
                                                                         protocol):
    c = small_case
    pred, gt, sp, nb = c["pred"], c["listener_gt"], c["speaker"], c["neighbours"]
    metrics = ["FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs"]
    metric = ReactionMetrics(gt, sp, nb, protocol=protocol, metrics=metrics, n_jobs=1,
                             bootstrap=20, seed=3)
    order = np.random.default_rng(0).permutation(len(pred))
    _feed(metric, pred, order)
    got = metric.compute()
    want = compute_metrics(pred, gt, sp, nb, protocol=protocol, metrics=metrics, n_jobs=1,
                           bootstrap=20, seed=3)
    assert dict(got) == dict(want) and got.ci == want.ci
    ccc = ref.ccc_official if protocol == "official" else ref.ccc_corrected
    if protocol == "official":  # the corrected FRCorr/FRDist average over generations
        assert got["FRCorr"] == pytest.approx(ref.fr_corr_loop(pred, gt, nb, ccc), rel=1e-6)
        assert got["FRDist"] == pytest.approx(ref.fr_dist_loop(pred, gt, nb), rel=1e-9)
    assert got["FRDiv"] == pytest.approx(ref.fr_div_loop(pred), rel=1e-9)
    assert got["FRVar"] == pytest.approx(ref.fr_var_loop(pred), rel=1e-9)
    assert got["FRDvs"] == pytest.approx(ref.fr_dvs_loop(pred), rel=1e-9)
    metric.reset()
    assert metric.missing == list(range(len(pred)))


def test_from_split_and_3dmm_batches(tiny_dataset):
    from reactbench.data import load_split

    split = load_split(tiny_dataset, "test", audio=False)
    rng = np.random.default_rng(1)
    pred = np.repeat(split.listener_emotion[:, None], 2, axis=1)
    face = np.repeat(split.listener_3dmm[:, None], 2, axis=1) + rng.normal(
        0, 0.01, (split.n, 2, split.frames, 58)).astype(np.float32)
    metric = ReactionMetrics.from_split(split, with_3dmm=True, metrics=["FRRea", "FRCorr"],
                                        n_jobs=1)
    _feed(metric, pred, np.arange(split.n)[::-1], batch=3, face=face)
    got = metric.compute()
    want = compute_metrics(pred, split.listener_emotion, split.speaker_emotion,
                           split.neighbours, metrics=["FRRea", "FRCorr"], n_jobs=1,
                           pred_3dmm=face, listener_3dmm=split.listener_3dmm)
    assert dict(got) == dict(want) and got.realism_features == "emotion+3dmm"


def test_misuse_is_refused(small_case):
    c = small_case
    pred, gt, sp, nb = c["pred"], c["listener_gt"], c["speaker"], c["neighbours"]
    metric = ReactionMetrics(gt, sp, nb, n_jobs=1)
    metric.update(pred[:2], [0, 1])
    with pytest.raises(ValueError, match=r"3 of 5 rows have no reactions yet \(first: \[2, 3, 4\]"):
        metric.compute()
    with pytest.raises(ValueError, match=r"rows \[1\] given twice"):
        metric.update(pred[1:3], [1, 2])
    with pytest.raises(ValueError, match=r"rows \[3\] given twice"):
        metric.update(pred[2:4], [3, 3])
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 5\)"):
        metric.update(pred[2:3], [5])
    with pytest.raises(ValueError, match="expected 2 integer row indices"):
        metric.update(pred[2:4], [2])
    with pytest.raises(ValueError, match=r"differs from the earlier batches"):
        metric.update(pred[2:3, :2], [2])
    with pytest.raises(ValueError, match="give it with every batch or with none"):
        metric.update(pred[2:3], [2], pred_3dmm=np.zeros((1, 3, pred.shape[2], 58)))
    with pytest.raises(ValueError, match=r"pred: expected a 4-d array \(N, alpha, T, 25\)"):
        metric.update(pred[2], [2])
    with pytest.raises(ValueError, match="unknown option"):
        ReactionMetrics(gt, sp, nb, protocl="official")
    with pytest.raises(ValueError, match="protocol"):
        ReactionMetrics(gt, sp, nb, protocol="offical")
    with pytest.raises(ValueError, match=r"disagree on N: \[4, 5\]"):
        ReactionMetrics(gt[:4], sp, nb)
    with pytest.raises(ValueError, match="n= when no requested metric reads them"):
        ReactionMetrics(metrics=["FRDiv"])
    only_div = ReactionMetrics(n=5, metrics=["FRDiv"])
    _feed(only_div, pred, np.arange(5))
    assert only_div.compute()["FRDiv"] == pytest.approx(ref.fr_div_loop(pred), rel=1e-9)
