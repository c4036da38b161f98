"""Compile the kernels the tests need into the on-disk kernel cache before the test workers start.

``python -m tests.helpers.warm_kernels [--librosa] METRIC...`` scores a tiny case under every
protocol with the named metrics only (:func:`reactbench.metrics.warm.warm`), so that the kernels
behind them (and the argument types the public functions pass) are compiled once and cached
(:mod:`reactbench.jit`). ``--librosa`` then also runs the librosa reference of the audio tests on
a tiny signal (:func:`warm_librosa`): importing ``librosa.util`` compiles numba ufuncs with
eager signatures (about 18 s of CPU in a fresh cache, 2 s to load from it). The xdist controller
(tests/conftest.py) runs :data:`GROUPS` in parallel processes, one per group, and adds
``--librosa`` to the group that compiles for the shorter time (:data:`LIBROSA_GROUP`).
"""

from __future__ import annotations

import sys

import numpy as np

from reactbench.metrics.warm import GROUPS, warm

__all__ = ["GROUPS", "LIBROSA_GROUP", "warm", "warm_librosa"]

# index in GROUPS of the group with the shorter compile time (the metrics besides FRDist)
LIBROSA_GROUP = 1


def warm_librosa() -> bool:
    """Run the calls of the audio tests' librosa reference (stft, mel filters, power_to_db,
    mfcc) on a 1280-sample signal, so that the numba kernels they load land in the kernel
    cache; False when librosa is not installed."""
    try:
        import librosa  # optional here: only the audio tests' reference needs it
    except ImportError:
        return False
    y = np.sin(np.arange(1280, dtype=np.float32))
    power = np.abs(librosa.stft(y, n_fft=640, hop_length=640, win_length=640,
                                center=False)) ** 2
    mel = librosa.filters.mel(sr=16000, n_fft=640, n_mels=26, fmin=0.0, fmax=8000.0)
    db = librosa.power_to_db(mel @ power, ref=1.0, amin=1e-10, top_db=None)
    librosa.feature.mfcc(S=db, n_mfcc=13)
    return True


if __name__ == "__main__":
    args = sys.argv[1:]
    warm(tuple(a for a in args if a != "--librosa"))
    if "--librosa" in args:
        warm_librosa()
