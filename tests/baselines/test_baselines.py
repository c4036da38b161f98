"""The baselines' official definitions, checked on their outputs directly."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.data import load_split
from reactbench.harness import generate_offline, generate_online
from reactbench.registry import create_model

ALPHA = 3


@pytest.fixture(scope="module")
def splits(tiny_dataset):
    return (load_split(tiny_dataset, "train", audio=False, neighbours=False),
            load_split(tiny_dataset, "test", audio=False))


def predict(name, splits, *, online=False, batch_size=3, seed=0):
    train, test = splits
    model = create_model(name)
    model.fit(train if model.needs_train else None, seed=seed)
    fn = generate_online if online else generate_offline
    kw = {"window": 40} if online else {}
    return fn(model, test, alpha=ALPHA, seed=seed, batch_size=batch_size, name=name,
              **kw).emotion


def test_mime_and_gt_copy_speaker_and_listener(splits):
    _, test = splits
    mime, gt = predict("b_mime", splits), predict("gt", splits)
    for i in range(ALPHA):
        np.testing.assert_array_equal(mime[:, i], test.speaker_emotion)
        np.testing.assert_array_equal(gt[:, i], test.listener_emotion)


def test_mean_sequence_and_mean_frame(splits):
    train, _ = splits
    both = np.concatenate([train.speaker_emotion, train.listener_emotion]).astype(np.float64)
    seq, fr = predict("b_meanseq", splits), predict("b_meanfr", splits)
    np.testing.assert_allclose(seq[0, 0], both.mean(0), atol=1e-6)
    np.testing.assert_allclose(fr[0, 0], np.broadcast_to(both.mean((0, 1)), fr[0, 0].shape),
                               atol=1e-6)
    assert (seq == seq[:1, :1]).all() and (fr == fr[:1, :1, :1]).all()


def test_random_is_uniform_seeded_and_batch_independent(splits):
    a = predict("b_random", splits, batch_size=3)
    b = predict("b_random", splits, batch_size=8)
    c = predict("b_random", splits, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() < 1 and abs(a.mean() - 0.5) < 0.02


def test_nn_returns_distinct_real_training_listeners(splits):
    train, _ = splits
    pred = predict("b_nn", splits)
    flat = train.listener_emotion.reshape(train.n, -1)
    for row in pred:
        idx = [int(np.flatnonzero((flat == g.ravel()).all(1))[0]) for g in row]
        assert len(set(idx)) == ALPHA


@pytest.mark.parametrize("name", ["b_mime", "b_meanseq", "b_meanfr", "gt", "b_random"])
def test_online_equals_offline_for_frame_wise_baselines(name, splits):
    off = predict(name, splits)
    on = predict(name, splits, online=True)
    if name == "b_random":  # drawn per window: same distribution, other numbers
        assert on.shape == off.shape and 0 <= on.min() and on.max() < 1
    else:
        np.testing.assert_array_equal(on, off)


def test_nn_online_uses_the_prefix_only(splits):
    _, test = splits
    on = predict("b_nn", splits, online=True)
    assert on.shape == (test.n, ALPHA, test.frames, 25) and np.isfinite(on).all()
