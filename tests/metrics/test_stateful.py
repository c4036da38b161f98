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


@pytest.mark.tslearn
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


# ----------------------------------------------------------------------------- REACT2025/2026
ALL_2025 = ["FRCorr", "FRDist", "FRSyn", "FRDiv", "FRVar", "MAE"]


@pytest.mark.parametrize("protocol", ["react2025", "react2025-corrected", "react2026"])
def test_ragged_batches_in_any_order_give_compute_metrics(protocol):
    from tests.metrics.react2025_cases import make_case

    preds, targets, speakers = make_case(11, 6, 3, lo=58, hi=150)
    assert len({p.shape[1] for p in preds}) > 1
    metric = ReactionMetrics(speaker=speakers, targets=targets, protocol=protocol,
                             metrics=ALL_2025, n_jobs=1, bootstrap=20, seed=4)
    order = np.random.default_rng(1).permutation(len(preds))
    for i in range(0, len(order), 4):  # batches of ragged lists
        rows = order[i:i + 4]
        metric.update([preds[k] for k in rows], rows)
    got = metric.compute()
    want = compute_metrics(preds, None, speakers, None, targets=targets, protocol=protocol,
                           metrics=ALL_2025, n_jobs=1, bootstrap=20, seed=4)
    assert dict(got) == dict(want) and got.ci == want.ci and got.protocol == want.protocol
    metric.reset()
    same = ReactionMetrics(speaker=np.stack([s[:58] for s in speakers]),
                           targets=np.stack([t[:, :58] for t in targets]), protocol=protocol,
                           metrics=["FRCorr", "FRSyn"], n_jobs=1)
    cut = np.stack([p[:, :58] for p in preds])
    same.update(cut[:3], [0, 1, 2])  # one (B, alpha, T, 25) array
    same.update(list(cut[3:]), [3, 4, 5])
    want = compute_metrics(list(cut), None, [s[:58] for s in speakers], None,
                           targets=[t[:, :58] for t in targets], protocol=protocol,
                           metrics=["FRCorr", "FRSyn"], n_jobs=1)
    assert dict(same.compute()) == dict(want)


def test_from_clips_scores_a_mars_split_with_its_targets(tmp_path):
    from reactbench.data.mars import load_clips
    from reactbench.data.targets import build_targets
    from tests.data._mars import write_tree

    root = write_tree(tmp_path / "m", {"ses0": [60, 90, 130], "ses1": [70, 75]})
    clips = load_clips(root, "test", audio=False, audio_features=False)
    targets = build_targets(clips)
    rng = np.random.default_rng(2)
    preds = [np.clip(np.repeat(s[None], 2, axis=0)
                     + rng.normal(0, 0.1, (2, *s.shape)).astype(np.float32), 0, 1)
             for s in clips.speaker_emotion]
    metric = ReactionMetrics.from_clips(clips, targets, metrics=ALL_2025, n_jobs=1)
    metric.update(preds[::-1], np.arange(clips.n)[::-1])
    want = compute_metrics(preds, None, clips.speaker_emotion, None, targets=targets.targets,
                           protocol="react2025", metrics=ALL_2025, n_jobs=1)
    assert dict(metric.compute()) == dict(want)


def test_ragged_misuse_is_refused():
    from tests.metrics.react2025_cases import make_case

    preds, targets, speakers = make_case(12, 3, 2, lo=60, hi=90)
    metric = ReactionMetrics(speaker=speakers, targets=targets, protocol="react2025", n_jobs=1)
    t1 = preds[1].shape[1]
    with pytest.raises(ValueError, match=rf"pred\[0\] \(row 1\): expected T_k = {t1} frames"):
        metric.update([preds[1][:, :-1]], [1])
    metric.update([preds[0]], [0])
    with pytest.raises(ValueError, match=r"pred\[0\] \(row 2\): expected alpha = 2 "):
        metric.update([preds[2][:1]], [2])
    with pytest.raises(ValueError, match=r"pred\[0\]: expected shape \(alpha, T_k, 25\)"):
        metric.update([preds[2][0]], [2])
    with pytest.raises(ValueError, match=r"pred: expected a list of B arrays"):
        metric.update(preds[2], [2])
    with pytest.raises(ValueError, match=r"rows \[0\] given twice"):
        metric.update([preds[0]], [0])
    with pytest.raises(ValueError, match="pred_3dmm: protocol 'react2025' has no FRRea-feat"):
        metric.update([preds[2]], [2], pred_3dmm=np.zeros((1, 2, preds[2].shape[1], 58)))
    with pytest.raises(ValueError, match=r"2 of 3 rows have no reactions yet"):
        metric.compute()
    with pytest.raises(ValueError, match=r"targets\[1\]: expected T_k = \d+ frames like "
                                         r"speaker\[1\]"):
        ReactionMetrics(speaker=speakers, targets=[targets[0], targets[2], targets[1]],
                        protocol="react2025")
    with pytest.raises(ValueError, match=r"targets\[2\]: expected K = 10 targets"):
        ReactionMetrics(targets=[targets[0], targets[1], targets[2][:3]], protocol="react2026")
    with pytest.raises(ValueError, match=r"speaker\[0\]: expected shape \(T_k, 25\)"):
        ReactionMetrics(speaker=[s[:, :24] for s in speakers], protocol="react2025")
    with pytest.raises(ValueError, match=r"targets: expected a list of N arrays \(K, T_k, 25\) "
                                         r"or one array"):
        ReactionMetrics(targets=np.zeros((3, 60, 25)), protocol="react2025")
    with pytest.raises(ValueError, match=r"disagree on N: \[2, 3\]"):
        ReactionMetrics(speaker=speakers[:2], protocol="react2025", n=3)
    with pytest.raises(ValueError, match="neighbours: protocol 'react2025' does not read it"):
        ReactionMetrics(speaker=speakers, targets=targets, neighbours=np.eye(3),
                        protocol="react2025")
    with pytest.raises(ValueError, match="targets: protocol 'official' takes"):
        ReactionMetrics(speaker=speakers, targets=targets)
