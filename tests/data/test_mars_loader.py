"""The MARS-layout loader (load_clips) and its data check on hand-written trees."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from reactbench.data import mars_layout as ml
from reactbench.data.mars import load_clips
from reactbench.data.mars_check import dataset_report
from reactbench.errors import DataError
from tests.data._mars import SR, attributes, write_clip, write_tree

DYADS = {"ses0": [70, 90], "ses10": [120], "ses2": [60, 80, 100]}


@pytest.fixture
def tree(tmp_path):
    return write_tree(tmp_path / "mars", DYADS)


def test_sorted_order_pairing_and_lengths(tree):
    d = load_clips(tree, "test")
    # sessions sort by name as text: ses10 before ses2
    assert d.sample_ids == ["speaker/ses0/d0", "speaker/ses0/d1",
                            "speaker/ses10/d0", "speaker/ses2/d0",
                            "speaker/ses2/d1", "speaker/ses2/d2"]
    assert d.listener_ids == [c.replace("speaker/", "listener/") for c in d.sample_ids]
    assert d.sessions == ["ses0", "ses0", "ses10", "ses2", "ses2", "ses2"]
    assert d.lengths.tolist() == [70, 90, 120, 60, 80, 100] and d.fps == 30
    for k in range(d.n):
        T = d.lengths[k]
        assert d.speaker_emotion[k].shape == (T, 25) and d.speaker_emotion[k].dtype == np.float32
        assert d.listener_emotion[k].shape == (T, 25)
        assert d.speaker_3dmm[k].shape == (T, 58) and d.listener_3dmm[k].dtype == np.float32
        assert d.speaker_audio["wav2vec"][k].shape == (T, 768)
        assert d.speaker_audio["wav2vec"][k].dtype == np.float32
    ref = np.load(ml.clip_path(tree, "test", ml.ATTRIBUTES_DIR, "listener/ses2/d1"))
    np.testing.assert_array_equal(d.listener_emotion[4], ref.astype(np.float32))
    assert d.pools["listener/ses2"] == ["listener/ses2/d0", "listener/ses2/d1",
                                            "listener/ses2/d2"]
    assert not d.bidirectional


def test_bidirectional_appends_listener_inputs(tree):
    d = load_clips(tree, "test", bidirectional=True)
    assert d.n == 12 and d.bidirectional
    assert d.sample_ids[6:] == [c.replace("speaker/", "listener/") for c in d.sample_ids[:6]]
    assert d.listener_ids[6] == "speaker/ses0/d0"


def test_identity_is_a_content_hash(tree, tmp_path):
    a = load_clips(tree, "test").identity
    copy = shutil.copytree(tree, tmp_path / "copy")
    b = load_clips(copy, "test").identity
    assert a["content_hash"] == b["content_hash"] and a["root"] != b["root"]
    write_clip(copy, "test", "speaker/ses0/d0", 70, seed=999)
    write_clip(copy, "test", "listener/ses0/d0", 70, seed=998)
    assert load_clips(copy, "test").identity["content_hash"] != a["content_hash"]


def test_optional_modalities(tree):
    shutil.rmtree(tree / "test" / ml.AUDIO_FEATURES_DIR)
    d = load_clips(tree, "test")
    assert d.speaker_audio == {}
    with pytest.raises(DataError, match="audio-features"):
        load_clips(tree, "test", audio_features=True)
    d = load_clips(tree, "test", coefficients=False, audio=False)
    assert d.speaker_3dmm == [] and d.speaker_wavs == []


def test_a_session_with_one_listener_loads(tmp_path):
    root = write_tree(tmp_path / "m", {"ses0": [70], "ses1": [80, 90]})
    d = load_clips(root, "test")
    assert d.pools["listener/ses0"] == ["listener/ses0/d0"]
    rep = dataset_report(root)
    assert rep.errors == []
    assert any("one listener in session ses0" in m for _, m in rep.warnings)


def _damage(root, cid, modality, arr):
    np.save(ml.clip_path(root, "test", modality, cid), arr)


BAD = {
    "missing paired": (lambda r: ml.clip_path(r, "test", ml.ATTRIBUTES_DIR,
                                              "listener/ses0/d1").unlink(),
                       r"listener/ses0/d1\.npy: file not found; expected the paired clip of "
                       r"speaker/ses0/d1"),
    "paired of another length": (
        lambda r: _damage(r, "listener/ses0/d1", ml.ATTRIBUTES_DIR, attributes(91, 1)),
        r"listener/ses0/d1\.npy: 91 frames, but its paired clip speaker/ses0/d1 has 90"),
    "too short": (lambda r: write_clip(r, "test", "speaker/ses2/d0", 40)
                  or write_clip(r, "test", "listener/ses2/d0", 40),
                  r"speaker/ses2/d0\.npy: clip speaker/ses2/d0 has 40 frames; expected "
                  r"at least 58"),
    "wrong width": (lambda r: _damage(r, "speaker/ses0/d0", ml.ATTRIBUTES_DIR,
                                      np.zeros((70, 24))),
                    r"speaker/ses0/d0\.npy: array of shape \(70, 24\); expected facial "
                    r"attributes of shape \(T, 25\)"),
    "object dtype": (lambda r: np.save(ml.clip_path(r, "test", ml.ATTRIBUTES_DIR,
                                                    "speaker/ses0/d0"),
                                       np.array([{"a": 1}], dtype=object), allow_pickle=True),
                     r"speaker/ses0/d0\.npy: cannot read it as a numeric \.npy .*pickled"),
    "string dtype": (lambda r: _damage(r, "speaker/ses0/d0", ml.ATTRIBUTES_DIR,
                                       np.full((70, 25), "x")),
                     r"dtype <U1; expected facial attributes of shape \(T, 25\) of integers"),
    "1-D frames": (lambda r: _damage(r, "speaker/ses0/d0", ml.ATTRIBUTES_DIR, np.zeros(25)),
                   r"speaker/ses0/d0\.npy: 1-D array of shape \(25,\); expected facial "
                   r"attributes of shape \(T, 25\)"),
    "NaN": (lambda r: _damage(r, "speaker/ses0/d0", ml.ATTRIBUTES_DIR,
                              np.where(np.eye(70, 25) > 0, np.nan, attributes(70, 3))),
            r"NaN/inf value"),
    "coefficients of another length": (
        lambda r: _damage(r, "speaker/ses0/d0", ml.COEFFICIENTS_DIR, np.zeros((67, 58))),
        r"coefficients/speaker/ses0/d0\.npy: 3DMM coefficients has 67 frames, but the facial "
        r"attributes .* have 70"),
    "coefficients of wrong width": (
        lambda r: _damage(r, "listener/ses0/d0", ml.COEFFICIENTS_DIR, np.zeros((70, 57))),
        r"shape \(70, 57\); expected 3DMM coefficients of shape \(T, 58\)"),
    "missing coefficients": (
        lambda r: ml.clip_path(r, "test", ml.COEFFICIENTS_DIR, "speaker/ses0/d0").unlink(),
        r"coefficients/speaker/ses0/d0\.npy: file not found"),
    "features at 25 fps": (
        lambda r: _damage(r, "speaker/ses10/d0", ml.AUDIO_FEATURES_DIR, np.zeros((100, 768))),
        r"audio features has 100 frames, but .* have 120 .*100 frames is the clip's duration at "
        r"25 fps, expected 30 fps"),
    "short wav": (
        lambda r: sf.write(ml.clip_path(r, "test", ml.AUDIO_DIR, "speaker/ses0/d0"),
                           np.zeros(SR), SR),
        r"audio/speaker/ses0/d0\.wav: audio \(16000 Hz\) has 30 frames, but .* have 70"),
    "missing wav": (
        lambda r: ml.clip_path(r, "test", ml.AUDIO_DIR, "listener/ses2/d2").unlink(),
        r"audio/listener/ses2/d2\.wav: file not found"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_clear_error(tree, case):
    damage, message = BAD[case]
    damage(tree)
    with pytest.raises(DataError, match=message):
        load_clips(tree, "test")
    errors = dataset_report(tree).errors
    assert errors, case
    assert any(r"test/" in f for f, _ in errors)


def test_min_frames_parameter(tree):
    write_clip(tree, "test", "speaker/ses2/d0", 40)
    write_clip(tree, "test", "listener/ses2/d0", 40)
    assert load_clips(tree, "test", min_frames=30).lengths.min() == 40
    with pytest.raises(DataError, match="min_frames"):
        load_clips(tree, "test", min_frames=0)


def test_listener_without_speaker(tree):
    write_clip(tree, "test", "listener/ses0/extra", 75, seed=50)
    d = load_clips(tree, "test")
    assert "listener/ses0/extra" in d.pools["listener/ses0"]
    assert any("has no speaker" in m for _, m in dataset_report(tree).warnings)
    with pytest.raises(DataError, match="expected the paired clip of listener/ses0/extra"):
        load_clips(tree, "test", bidirectional=True)


def test_not_a_mars_split(tmp_path):
    with pytest.raises(DataError, match="facial-attributes"):
        load_clips(tmp_path, "test")
    with pytest.raises(DataError, match="unknown split"):
        load_clips(tmp_path, "dev")
    assert dataset_report(tmp_path).errors
