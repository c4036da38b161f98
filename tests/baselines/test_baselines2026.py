"""The REACT2026 naive baselines: their definitions (spec section 5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reactbench.baselines.b26_meanfr import BMeanFr2026, listener_mean_frame
from reactbench.baselines.b26_mime import BMime2026
from reactbench.baselines.b26_random import BRandom2026
from reactbench.baselines.gt_identical import GTIdentical

from reactbench import registry
from reactbench.data.mars import load_clips
from reactbench.data.targets import build_targets
from reactbench.errors import ModelError
from reactbench.harness.clip_runner import force_identity, score_clips
from reactbench.protocols import REACT2025, REACT2025_CORRECTED
from tests.data import _mars


@pytest.fixture(scope="module")
def mars(tmp_path_factory):
    """Train and test splits: two sessions, clips of 60..200 frames."""
    root = tmp_path_factory.mktemp("mars26") / "mars"
    for split, stems in (("train", {"sessA/t1": 80, "sessA/t2": 120, "sessB/t3": 61}),
                         ("test", {"sessA/a": 60, "sessA/b": 200, "sessA/c": 90,
                                   "sessB/d": 150})):
        for i, (stem, n) in enumerate(stems.items()):
            for j, role in enumerate(("speaker", "listener")):
                _mars.write_clip(root, split, f"{role}/{stem}", n, seed=100 * i + j,
                                 wav=False, features=False)
    return load_clips(root, "test", audio=False), load_clips(root, "train", audio=False)


def test_registered_names_and_group():
    assert registry.expand_models("baselines2026") == [
        "b26_random", "b26_mime", "b26_meanfr", "gt_identical"]
    assert "baselines2026" not in registry.MODEL_GROUPS  # a protocol group beside them


def test_b_random_is_shaped_like_real_data_and_seeded(mars):
    test, _ = mars
    out = BRandom2026().generate_samples(test, [], alpha=10, seed=1234)
    assert [x.shape for x in out] == [(10, int(n), 25) for n in test.lengths]
    x = np.concatenate([o.reshape(-1, 25) for o in out])
    assert set(np.unique(x[:, :15])) == {0.0, 1.0}
    assert (np.abs(x[:, 15:17]) <= 1).all() and x[:, 15:17].std() > 0.3
    np.testing.assert_allclose(x[:, 17:].sum(axis=1), 1.0, rtol=1e-6)
    assert (x[:, 17:] >= 0).all()
    again = BRandom2026().generate_samples(test, [], alpha=10, seed=1234)
    assert all(np.array_equal(a, b) for a, b in zip(out, again))
    # the stream of a fresh torch generator seeded with the seed: AU of sample 0 first
    g = torch.Generator().manual_seed(1234)
    au0 = torch.randint(0, 2, (10, int(test.lengths[0]), 15), generator=g).float().numpy()
    np.testing.assert_array_equal(out[0][..., :15], au0)


def test_b_mime_repeats_the_speaker(mars):
    test, _ = mars
    out = BMime2026().generate_samples(test, [], alpha=3, seed=0)
    for o, s in zip(out, test.speaker_emotion):
        assert o.shape == (3, len(s), 25) and all(np.array_equal(g, s) for g in o)


def test_b_meanfr_is_the_frame_weighted_mean_of_train_listeners(mars):
    test, train = mars
    frames = np.concatenate([train.attributes[c] for c in sorted(train.attributes)
                             if c.startswith("listener/")]).astype(np.float64)
    expected = (frames.sum(axis=0) / len(frames)).astype(np.float32)
    np.testing.assert_array_equal(listener_mean_frame(train), expected)
    model = BMeanFr2026()
    model.fit(train)
    out = model.generate_samples(test, [], alpha=2, seed=0)
    assert all(o.shape == (2, int(n), 25) and (o == expected).all()
               for o, n in zip(out, test.lengths))


def test_gt_identical_forced_and_real_frcorr(mars):
    test, _ = mars
    targets = build_targets(test)
    preds = GTIdentical().generate_samples(test, targets.targets, alpha=10, seed=0)
    assert all(np.array_equal(p, t) for p, t in zip(preds, targets.targets))
    kw = dict(metrics=["FRCorr", "FRDist"], bootstrap=0, seed=0, n_jobs=1, device="cpu",
              progress=False, round_au=False, log=lambda _m: None)
    scores = score_clips(preds, test, targets, protocol=REACT2025, **kw)
    real = scores["FRCorr"]
    force_identity(scores, preds, targets.targets, 10, lambda _m: None, "gt_identical")
    assert scores["FRCorr"] == 10.0 and scores.extra["FRCorr/real"] == real
    assert real < 10.0 and scores["FRDist"] == 0.0
    notes = []
    preds[0] = preds[0] + 1e-3  # no longer identical: the real value stays
    scores = score_clips(preds, test, targets, protocol=REACT2025_CORRECTED, **kw)
    force_identity(scores, preds, targets.targets, 10, notes.append, "gt_identical")
    assert "FRCorr/real" not in scores.extra and notes
    with pytest.raises(ModelError, match="alpha <= 10"):
        GTIdentical().generate_samples(test, targets.targets, alpha=11, seed=0)


def test_whole_sample_baselines_refuse_the_react2024_path():
    with pytest.raises(ModelError, match="b26_mime is a REACT2026 naive baseline"):
        BMime2026().generate(None, alpha=1, seed=0)
