"""Audio features: shapes at 25 fps, any sample rate, stereo, the per-file cache."""

from __future__ import annotations

import os

import numpy as np
import soundfile as sf

from reactbench.data.audio import (
    LOGMEL_DIM,
    MFCC_DIM,
    audio_features,
    cached_wav_features,
    logmel_features,
    mfcc_features,
)


def _tone(sr, seconds=2.0, f=220.0):
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def test_shapes_at_25_fps():
    y = _tone(16000)
    assert mfcc_features(y).shape == (50, MFCC_DIM)
    assert logmel_features(y).shape == (50, LOGMEL_DIM)
    assert mfcc_features(y, frames=60).shape == (60, MFCC_DIM)  # zero-padded
    assert logmel_features(y, frames=10).shape == (10, LOGMEL_DIM)


def test_any_sample_rate_gives_similar_features():
    a = audio_features(_tone(16000), 16000, frames=50)
    b = audio_features(_tone(44100), 44100, frames=50)
    assert a["mfcc"].shape == b["mfcc"].shape
    assert np.corrcoef(a["logmel"][5:-5].ravel(), b["logmel"][5:-5].ravel())[0, 1] > 0.95


def test_cache_hits_and_invalidates(tmp_path):
    p = tmp_path / "x.wav"
    sf.write(p, np.stack([_tone(22050), _tone(22050)], axis=1), 22050)  # stereo, 22.05 kHz
    f1, n1 = cached_wav_features(p)
    f2, n2 = cached_wav_features(p)
    assert n1 == n2 == 50 and f1["mfcc"].shape == (50, MFCC_DIM)
    np.testing.assert_array_equal(f1["logmel"], f2["logmel"])
    sf.write(p, _tone(22050, seconds=1.0), 22050)
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    f3, n3 = cached_wav_features(p)
    assert n3 == 25 and f3["mfcc"].shape == (25, MFCC_DIM)
