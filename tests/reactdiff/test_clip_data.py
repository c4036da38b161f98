"""The variable-length training adapter: crops cover clips, short clips, equal-length batches,
per-clip arrays from a MARS split, and errors that name the clip."""

from __future__ import annotations

import numpy as np
import pytest
from reactbench.reactdiff.clip_data import (
    ClipArrays,
    ClipCropDataset,
    CropBatches,
    all_frames,
    clip_arrays,
    clip_widths,
    crop_length,
    crop_rng,
    describe_crops,
    is_clip_split,
    length_batches,
    plan_crops,
)
from reactbench.reactdiff.config import MARS_WINDOW, for_layout, preset_config

from reactbench.errors import ModelError

from .fakes import random_split


@pytest.fixture(scope="module")
def mars(tmp_path_factory):
    """A tiny synthetic MARS dataset (2 sessions, clips of 58-300 frames)."""
    from reactbench.data import mars_synthetic

    out = tmp_path_factory.mktemp("mars-rd") / "mars"
    return mars_synthetic.generate(out, sessions=2, dyads={"train": 2, "val": 1, "test": 1},
                                   min_frames=58, max_frames=300, seed=0)


@pytest.fixture(scope="module")
def train_split(mars):
    from reactbench.data.mars import load_clips

    return load_clips(mars, "train", bidirectional=True, audio=False, audio_features=True)


def _frames(crops, k):
    covered = set()
    for c in crops:
        if c.clip == k:
            covered |= set(range(c.start, c.start + c.size))
    return covered


@pytest.mark.parametrize("seed", range(5))
def test_crops_cover_every_clip_that_holds_one(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(20, 700, 40)
    crop, ws = 120, 30
    plan = plan_crops(lengths, crop, ws, crop_rng(seed, 1, 0))
    for k, t in enumerate(lengths):
        mine = [c for c in plan.crops if c.clip == k]
        assert all(0 <= c.start and c.start + c.size <= t for c in mine)
        if t < ws:
            assert k in plan.skipped and not mine
        elif t >= crop:  # ceil(T / C) crops of C frames that cover the whole clip
            assert len(mine) == -(-t // crop) and {c.size for c in mine} == {crop}
            assert _frames(plan.crops, k) == set(range(t))
        else:  # one crop of the clip's whole windows
            assert [c.size for c in mine] == [t // ws * ws]
    assert plan.skipped == [k for k, t in enumerate(lengths) if t < ws]


def test_short_clip_crops_move_and_whole_clip_crops():
    starts = {plan_crops([95], 120, 30, crop_rng(0, 1, e)).crops[0].start for e in range(50)}
    assert starts == {0, 1, 2, 3, 4, 5}  # 95 frames -> 90 (3 windows) at every start
    plan = plan_crops([95, 200], 0, 30, crop_rng(0, 1, 0))  # crop 0: whole clips
    assert [c.size for c in plan.crops] == [90, 180]
    assert crop_length(240, 240, 30) == 240 and crop_length(59, 240, 30) == 30
    with pytest.raises(ModelError, match="multiple of the window"):
        plan_crops([100], 50, 30, crop_rng(0))


def test_batches_hold_one_length_and_every_crop_once():
    lengths = [40, 65, 90, 300, 301, 500, 1000, 25]
    plan = plan_crops(lengths, 120, 30, crop_rng(0, 1, 0))
    batches = length_batches(plan.crops, 3, crop_rng(0))
    assert all(len({c.size for c in b}) == 1 and 1 <= len(b) <= 3 for b in batches)
    assert sorted((c.clip, c.start) for b in batches for c in b) == \
        sorted((c.clip, c.start) for c in plan.crops)


def test_processes_share_each_batch_and_epochs_differ():
    lengths = np.arange(60, 900, 37)
    one = CropBatches(lengths, 120, 30, 8, seed=0, stage=1)
    parts = [list(CropBatches(lengths, 120, 30, 8, seed=0, stage=1, rank=r, world=2))
             for r in range(2)]
    merged = [sorted(a + b) for a, b in zip(*parts)]
    full = [sorted(b) for b in one if len(b) >= 2]
    assert merged == full and len(parts[0]) == len(parts[1])
    assert CropBatches(lengths, 120, 30, 8, 0, 1, world=2).dropped == \
        sum(len(b) for b in one if len(b) < 2)
    first = list(one)
    one.set_epoch(1)
    assert list(one) != first and len(list(one)) == len(first)
    val = CropBatches(lengths, 120, 30, 8, seed=0, stage=1, train=False)
    before = list(val)
    val.set_epoch(3)
    assert list(val) == before  # validation crops are the same every epoch


def test_clip_arrays_from_a_mars_split(train_split):
    cfg = for_layout(preset_config("small"), "mars")
    assert cfg.model.window == MARS_WINDOW and is_clip_split(train_split)
    assert not is_clip_split(random_split(4, 20))
    arrays = clip_arrays(train_split, cfg)
    assert arrays.n == train_split.n and list(arrays.lengths) == list(train_split.lengths)
    widths = clip_widths(cfg.model.streams, arrays)
    assert widths == {"au": 15, "fe": 8, "va": 2, "3dmm": 58, "wav2vec": 768}
    for k, t in enumerate(train_split.lengths):
        assert arrays.listener["wav2vec"][k].shape == (t, 768)
        assert arrays.speaker["au"][k].shape == (t, 15)
        np.testing.assert_array_equal(arrays.listener_emotion[k], train_split.listener_emotion[k])
        np.testing.assert_array_equal(arrays.listener_3dmm[k], train_split.listener_3dmm[k])
        np.testing.assert_array_equal(arrays.speaker["va"][k],
                                      train_split.speaker_emotion[k][:, 15:17])
    assert all_frames(arrays, "3dmm_target").shape == (int(train_split.lengths.sum()), 58)
    ds = ClipCropDataset(arrays, cfg, 2, seed=0)
    item = ds[(1, 30, 60)]
    assert item["listener"]["au"].shape == (60, 15) and item["noise"].shape == (2, 30, 32)
    np.testing.assert_array_equal(item["speaker"]["3dmm"], train_split.speaker_3dmm[1][30:90])
    text = describe_crops(arrays.lengths, arrays.ids, cfg, 1)
    assert "crops per epoch" in text and "not used" not in text


def test_missing_or_misaligned_inputs_name_the_clip(mars, train_split):
    from reactbench.data.mars import load_clips

    cfg = for_layout(preset_config("small"), "mars")
    no_audio = load_clips(mars, "train", bidirectional=True, audio=False, audio_features=False)
    with pytest.raises(ModelError, match="audio feature 'wav2vec'"):
        clip_arrays(no_audio, cfg)
    bad = load_clips(mars, "train", bidirectional=True, audio=False, audio_features=True)
    bad.speaker_audio["wav2vec"][2] = bad.speaker_audio["wav2vec"][2][:-5]
    with pytest.raises(ModelError, match=f"clip {bad.sample_ids[2]}: stream 'wav2vec' has"):
        clip_arrays(bad, cfg)
    no_face = load_clips(mars, "train", coefficients=False, audio=False, audio_features=True)
    with pytest.raises(ModelError, match=f"clip {no_face.sample_ids[0]}: .*coefficients"):
        clip_arrays(no_face, cfg)


def test_clips_shorter_than_a_window_are_counted():
    arrays = ClipArrays(speaker={}, listener={}, listener_emotion=[], listener_3dmm=[],
                        ids=["speaker/s0/a", "speaker/s0/b", "speaker/s1/c"],
                        lengths=np.array([20, 400, 10]))
    cfg = for_layout(preset_config("small"), "mars")
    text = describe_crops(arrays.lengths, arrays.ids, cfg, 1)
    assert "2 clip(s) shorter than one window (30 frames) not used: speaker/s0/a, " \
        "speaker/s1/c" in text
