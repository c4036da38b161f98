"""Audio features: shapes at 25 fps, any sample rate, stereo, the per-file cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
from tests.helpers import librosa_pairs as lp

ROOT = Path(__file__).resolve().parents[2]
_tone = lp.tone


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


NO_LIBROSA_RATES = (16000, 44100)


def _wav(folder: Path, sr: int) -> Path:
    """A 2 s tone at ``sr`` Hz written to ``folder``."""
    path = folder / f"tone-{sr}.wav"
    sf.write(path, _tone(sr), sr)
    return path


@pytest.fixture(scope="module")
def librosa_pairs(tmp_path_factory) -> dict[str, np.ndarray]:
    """Our arrays and librosa's for every case (tests/helpers/librosa_pairs.py), computed in a
    fresh interpreter that imports librosa without compiling its ufuncs up front; before that,
    the same interpreter computes our features of a tone at each of NO_LIBROSA_RATES and records
    whether librosa was imported (``librosa imported after <wav>``)."""
    folder = tmp_path_factory.mktemp("librosa")
    wavs = [str(_wav(folder, sr)) for sr in NO_LIBROSA_RATES]
    out = folder / "pairs.npz"
    subprocess.run([sys.executable, "-m", "tests.helpers.librosa_pairs", str(out), *wavs],
                   cwd=ROOT, check=True, timeout=300)
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


def _assert_pair(pairs: dict[str, np.ndarray], case: str) -> None:
    ours, ref = pairs[f"{case}|ours"], pairs[f"{case}|librosa"]
    assert ours.dtype == ref.dtype == np.float32, case
    np.testing.assert_array_equal(ours, ref, err_msg=case)


def test_features_bit_identical_to_librosa(librosa_pairs):
    for what in lp.feature_signals():
        for name in lp.STREAMS:
            _assert_pair(librosa_pairs, f"features {what} {name}")


def test_mel_filters_bit_identical_to_librosa(librosa_pairs):
    for bands in lp.MEL_BANDS:
        _assert_pair(librosa_pairs, f"mel {bands}")


@pytest.mark.parametrize("sr", NO_LIBROSA_RATES)
def test_features_do_not_import_librosa(librosa_pairs, sr):
    """A fresh interpreter computes our features of a file at ``sr`` (and of those at the rates
    before it) without importing librosa (checked in the librosa_pairs process, before it
    imports librosa)."""
    (imported,) = [v for k, v in librosa_pairs.items()
                   if k.startswith("librosa imported after ") and k.endswith(f"tone-{sr}.wav")]
    assert imported.item() is False


@pytest.mark.parametrize(("sr", "n"), lp.RESAMPLE_CASES)
def test_resample_bit_identical_to_librosa(librosa_pairs, sr, n):
    """librosa.resample with its default (soxr_hq), bit for bit."""
    _assert_pair(librosa_pairs, f"resample {sr} {n}")


def test_window_bit_identical_to_scipy():
    from scipy.signal import get_window  # the reference periodic Hann window

    from reactbench.data import audio

    np.testing.assert_array_equal(audio._window()[:, 0], get_window("hann", 640, fftbins=True))
