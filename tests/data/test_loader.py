"""Loader round-trip on the tiny synthetic dataset."""

import numpy as np

from reactbench.data import SplitData, dataset_identity, layout, load_split, resolve_data
from reactbench.data.audio import LOGMEL_DIM, MFCC_DIM
from tests.conftest import TINY_FRAMES, TINY_PAIRS


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
    import librosa

    y44 = librosa.resample(y, orig_sr=sr, target_sr=44100)
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
