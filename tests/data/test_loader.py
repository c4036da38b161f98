"""The loader (reactbench.data.loader): round trip on the tiny synthetic dataset, and every bad
input refused with a DataError naming the file and what was expected."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.data import SplitData, dataset_identity, layout, load_split, resolve_data
from reactbench.data.audio import LOGMEL_DIM, MFCC_DIM
from reactbench.errors import DataError
from tests.conftest import TINY_FRAMES, TINY_PAIRS
from tests.data.damage import BAD_INPUTS, au_out_of_range, clip_files, emotion_file


def test_round_trip_matches_files(tiny_dataset):
    d = load_split(tiny_dataset, "test")
    assert isinstance(d, SplitData)
    M = TINY_PAIRS["test"]
    assert d.n == 2 * M and d.frames == TINY_FRAMES
    assert d.speaker_emotion.shape == (2 * M, TINY_FRAMES, 25)
    assert d.speaker_3dmm.shape == (2 * M, TINY_FRAMES, 58)
    assert d.speaker_audio["mfcc"].shape == (2 * M, TINY_FRAMES, MFCC_DIM)
    assert d.listener_audio["logmel"].shape == (2 * M, TINY_FRAMES, LOGMEL_DIM)
    pairs = layout.read_split_csv(tiny_dataset, "test")
    # mirrored order: row k+M swaps the roles of row k
    for k, (spk, lst) in enumerate(pairs):
        assert d.speaker_ids[k] == spk and d.listener_ids[k] == lst
        assert d.speaker_ids[k + M] == lst and d.listener_ids[k + M] == spk
        np.testing.assert_array_equal(d.speaker_emotion[k + M], d.listener_emotion[k])
        np.testing.assert_array_equal(d.listener_3dmm[k + M], d.speaker_3dmm[k])
        emo = layout.read_emotion(layout.emotion_path(tiny_dataset, "test", spk))
        np.testing.assert_array_equal(d.speaker_emotion[k], emo[:TINY_FRAMES])
    assert d.neighbours.shape == (2 * M, 2 * M)
    assert np.all(np.diag(d.neighbours) == 1)


def test_cache_gives_same_arrays(tiny_dataset):
    a = load_split(tiny_dataset, "val", cache=False)
    b = load_split(tiny_dataset, "val")
    c = load_split(tiny_dataset, "val")
    for x in (b, c):
        np.testing.assert_array_equal(a.listener_emotion, x.listener_emotion)
        np.testing.assert_array_equal(a.speaker_audio["mfcc"], x.speaker_audio["mfcc"])


def test_identity_is_stable(tiny_dataset):
    a = dataset_identity(tiny_dataset, "test")
    b = dataset_identity(tiny_dataset, "test")
    assert a == b and a["generator"]["version"]
    assert a["content_hash"] != dataset_identity(tiny_dataset, "val")["content_hash"]


def test_resolve_data_explicit(tiny_dataset):
    assert resolve_data(tiny_dataset) == tiny_dataset.resolve()


def test_any_sample_rate_stereo_wav_and_frame_cut(micro_copy):
    import soundfile as sf

    from reactbench.data.audio import wav_features

    clip = layout.read_split_csv(micro_copy, "test")[0][0]
    p = layout.audio_path(micro_copy, "test", clip)
    before = wav_features(p, frames=100)
    y, sr = sf.read(p)
    import soxr  # librosa.resample's default (soxr_hq), without compiling librosa's kernels

    y44 = soxr.resample(y, sr, 44100, quality="soxr_hq")
    sf.write(p, np.stack([y44, y44], axis=1), 44100)
    d = load_split(micro_copy, "test", frames=80, cache=False)
    assert d.frames == 80 and d.speaker_audio["mfcc"].shape[1] == 80
    r = np.corrcoef(d.speaker_audio["logmel"][0].ravel(), before["logmel"][:80].ravel())[0, 1]
    assert r > 0.95


def test_no_audio_no_neighbours_and_subset(tiny_dataset):
    d = load_split(tiny_dataset, "val", audio=False, neighbours=False)
    assert d.speaker_audio == {} and d.neighbours is None and d.video_dirs is None
    full = load_split(tiny_dataset, "val")
    sub = full.subset([0, 5])
    assert sub.n == 2 and sub.neighbours.shape == (2, 2)
    np.testing.assert_array_equal(sub.listener_emotion[1], full.listener_emotion[5])
    assert sub.identity["rows"] == [0, 5]


def test_default_dataset_identity_has_generator(tiny_dataset):
    ident = dataset_identity(tiny_dataset, "val")
    assert set(ident) >= {"root", "split", "content_hash", "generator"}


@pytest.mark.parametrize("damage", BAD_INPUTS, ids=lambda f: f.__name__)
def test_loader_names_file_and_expectation(micro_copy, damage):
    path, expected = damage(micro_copy)
    with pytest.raises(DataError) as info:
        load_split(micro_copy, "test", cache=False)
    msg = str(info.value)
    assert str(path) in msg and expected in msg


def test_trailing_blank_lines_and_bom_are_harmless(micro_copy):
    before = load_split(micro_copy, "test", audio=False, cache=False)
    p = emotion_file(micro_copy)
    p.write_text(p.read_text() + "\n\n")
    csv = layout.split_csv_path(micro_copy, "test")
    csv.write_text("\ufeff" + csv.read_text())
    after = load_split(micro_copy, "test", audio=False, cache=False)
    np.testing.assert_array_equal(before.speaker_emotion, after.speaker_emotion)
    assert after.speaker_ids == before.speaker_ids


def test_out_of_range_ground_truth_is_refused_even_from_cache(micro_copy):
    load_split(micro_copy, "test", audio=False)  # cached while sound
    p, expected = au_out_of_range(micro_copy)
    with pytest.raises(DataError, match=r"AU value\(s\) outside \[0, 1\], first 7") as info:
        load_split(micro_copy, "test", audio=False)
    assert str(p) in str(info.value)


def test_truncated_clip_states_the_frames_actually_expected(micro_copy):
    ep, fp = clip_files(micro_copy)
    ep.write_text("\n".join(ep.read_text().splitlines()[:59]) + "\n")  # header + 58 frames
    np.save(fp, np.load(fp)[:58])
    with pytest.raises(DataError) as info:  # default 750: the clips' common length 100 is used
        load_split(micro_copy, "test", audio=False, cache=False)
    msg = str(info.value)
    assert str(ep) in msg and "58 frames, expected 100" in msg and "at least 750" not in msg
    with pytest.raises(DataError, match="58 frames, expected at least 80"):
        load_split(micro_copy, "test", frames=80, audio=False, cache=False)
