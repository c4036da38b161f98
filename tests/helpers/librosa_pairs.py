"""reactbench's audio features and librosa's, computed side by side in one interpreter.

``python -m tests.helpers.librosa_pairs OUT.npz [WAV...]`` writes, for every case of the audio
tests, the array reactbench computes (``<case>|ours``) and librosa's (``<case>|librosa``): the
two feature streams of :func:`feature_signals`, the mel filter banks of :data:`MEL_BANDS` and
the resampled signals of :data:`RESAMPLE_CASES`. Both come from one process, so both use the same
BLAS (its thread count changes the last bits of a large matrix product).

First, before anything imports librosa, it computes reactbench's features of each ``WAV``
(:func:`~reactbench.data.audio.cached_wav_features`, no cache) and writes whether librosa was
imported once that file's features were computed (``librosa imported after <WAV>``).

Importing librosa compiles every numba ufunc it declares with explicit types, about 18 s of
CPU in a new environment, though none lies on these paths (stft, filters.mel, power_to_db,
feature.mfcc, resample). In this process (librosa loads its submodules on first use), numba's
``vectorize`` and ``guvectorize`` drop those types: each ufunc is then compiled on its first
call, for the types of that call, by the same numba (one that were called would compute the
same values).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from reactbench.data import audio
from reactbench.data.audio import LOGMEL_DIM, MFCC_DIM, audio_features

STREAMS = ("mfcc", "logmel")
MEL_BANDS = (26, LOGMEL_DIM, 40)
RESAMPLE_CASES = ((44100, 44100), (48000, 12345), (8000, 7999), (22050, 1), (16000, 640))


def tone(sr: int, seconds: float = 2.0, f: float = 220.0) -> np.ndarray:
    """(sr * seconds,) float32 sine at ``f`` Hz, amplitude 0.3."""
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def feature_signals() -> dict[str, tuple[np.ndarray, int]]:
    """name -> (16 kHz float32 signal, frames)."""
    rng = np.random.default_rng(3)
    return {
        "tone": (tone(16000, seconds=30.0), 750),  # 750 frames: several FFT blocks
        "noise": (rng.normal(0, 0.1, 16000 * 3).astype(np.float32), 80),
        "silence then speech-like bursts": (
            np.concatenate([np.zeros(8000, np.float32),
                            (rng.normal(0, 1, 24000) * np.hanning(24000)).astype(np.float32)]),
            50),
        "short, zero-padded": (tone(16000, seconds=0.1), 7),
    }


def resample_signal(n: int) -> np.ndarray:
    """(n,) float32 seeded noise."""
    return np.random.default_rng(n).standard_normal(n).astype(np.float32) * 0.3


def librosa_features(y: np.ndarray, frames: int) -> dict[str, np.ndarray]:
    """Both streams computed by librosa's own functions (16 kHz input)."""
    import librosa

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


def lazy_numba_ufuncs() -> None:
    """Make numba's ``vectorize`` and ``guvectorize`` ignore explicit types from now on in this
    process (see the module docstring)."""
    import numba

    eager_v, eager_gu = numba.vectorize, numba.guvectorize

    def vectorize(*args, **kws):
        return eager_v(*args, **kws) if args and callable(args[0]) else eager_v(**kws)

    def guvectorize(*args, **kws):
        layout = kws.pop("signature", None) or args[-1]
        return eager_gu(layout, **kws)

    numba.vectorize, numba.guvectorize = vectorize, guvectorize


def librosa_imported_after(wavs: list[str]) -> dict[str, np.ndarray]:
    """``librosa imported after <wav>``: whether librosa is imported once reactbench's features
    of ``wav`` (and of the files before it) were computed."""
    out = {}
    for wav in wavs:
        audio.cached_wav_features(Path(wav), cache=False)
        out[f"librosa imported after {wav}"] = np.array("librosa" in sys.modules)
    return out


def pairs() -> dict[str, np.ndarray]:
    """``<case>|ours`` and ``<case>|librosa`` for every case."""
    import librosa

    out = {}
    for what, (y, frames) in feature_signals().items():
        ours = audio_features(y, 16000, frames=frames)
        ref = librosa_features(y, frames)
        for name in STREAMS:
            out[f"features {what} {name}|ours"] = ours[name]
            out[f"features {what} {name}|librosa"] = ref[name]
    for bands in MEL_BANDS:
        out[f"mel {bands}|ours"] = audio._mel_basis(bands)
        out[f"mel {bands}|librosa"] = librosa.filters.mel(sr=16000, n_fft=640, n_mels=bands,
                                                          fmin=0.0, fmax=8000.0)
    for sr, n in RESAMPLE_CASES:
        y = resample_signal(n)
        out[f"resample {sr} {n}|ours"] = audio._resample(y, sr)
        out[f"resample {sr} {n}|librosa"] = librosa.resample(y, orig_sr=sr, target_sr=16000)
    return out


if __name__ == "__main__":
    imported = librosa_imported_after(sys.argv[2:])
    lazy_numba_ufuncs()
    np.savez(sys.argv[1], **imported, **pairs())
