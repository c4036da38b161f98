"""Audio features: shapes at 25 fps, any sample rate, stereo, the per-file cache."""

from __future__ import annotations

import os

import numpy as np
import pytest
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


def _librosa_features(y: np.ndarray, frames: int) -> dict[str, np.ndarray]:
    """The reference: both streams computed by librosa's own functions (16 kHz input)."""
    import librosa  # the reference implementation the numpy/scipy features must equal

    y = np.pad(y, (0, max(0, frames * 640 - len(y))))[: frames * 640].astype(np.float32)
    power = np.abs(librosa.stft(y, n_fft=640, hop_length=640, win_length=640,
                                center=False)) ** 2
    out = {}
    for name, bands in (("mfcc", 26), ("logmel", LOGMEL_DIM)):
        mel = librosa.filters.mel(sr=16000, n_fft=640, n_mels=bands, fmin=0.0, fmax=8000.0)
        db = librosa.power_to_db(mel @ power, ref=1.0, amin=1e-10, top_db=None)
        if name == "mfcc":
            db = librosa.feature.mfcc(S=db, n_mfcc=MFCC_DIM)
        out[name] = np.ascontiguousarray(db.T[:frames], dtype=np.float32)
    return out


def test_features_bit_identical_to_librosa():
    rng = np.random.default_rng(3)
    signals = {
        "tone": (_tone(16000, seconds=30.0), 750),  # 750 frames: several FFT blocks
        "noise": (rng.normal(0, 0.1, 16000 * 3).astype(np.float32), 80),
        "silence then speech-like bursts": (
            np.concatenate([np.zeros(8000, np.float32),
                            (rng.normal(0, 1, 24000) * np.hanning(24000)).astype(np.float32)]),
            50),
        "short, zero-padded": (_tone(16000, seconds=0.1), 7),
    }
    for what, (y, frames) in signals.items():
        ours = audio_features(y, 16000, frames=frames)
        ref = _librosa_features(y, frames)
        for name in ("mfcc", "logmel"):
            assert ours[name].dtype == np.float32, (what, name)
            np.testing.assert_array_equal(ours[name], ref[name], err_msg=f"{what} {name}")


def test_mel_filters_bit_identical_to_librosa():
    import librosa  # the reference implementation of the mel filter bank

    from reactbench.data import audio

    for bands in (26, LOGMEL_DIM, 40):
        ref = librosa.filters.mel(sr=16000, n_fft=640, n_mels=bands, fmin=0.0, fmax=8000.0)
        np.testing.assert_array_equal(audio._mel_basis(bands), ref)


@pytest.mark.parametrize("sr", [16000, 44100])
def test_features_do_not_import_librosa(tmp_path, sr):
    import subprocess  # a fresh interpreter: librosa must not be loaded by the feature code
    import sys  # the same interpreter as the tests

    p = tmp_path / "x.wav"
    sf.write(p, _tone(sr), sr)
    code = ("import sys; from reactbench.data.audio import cached_wav_features as f; "
            f"f(__import__('pathlib').Path({str(p)!r}), cache=False); "
            "print('librosa' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


@pytest.mark.parametrize(("sr", "n"), [(44100, 44100), (48000, 12345), (8000, 7999),
                                       (22050, 1), (16000, 640)])
def test_resample_bit_identical_to_librosa(sr, n):
    import librosa  # the reference: librosa.resample with its default (soxr_hq)

    from reactbench.data import audio

    y = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 0.3
    got = audio._resample(y, sr)
    ref = librosa.resample(y, orig_sr=sr, target_sr=16000)
    assert got.dtype == ref.dtype == np.float32
    np.testing.assert_array_equal(got, ref)


def test_window_bit_identical_to_scipy():
    from scipy.signal import get_window  # the reference periodic Hann window

    from reactbench.data import audio

    np.testing.assert_array_equal(audio._window()[:, 0], get_window("hann", 640, fftbins=True))
