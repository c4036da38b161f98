"""The synthetic voice: its sample-rate upsampling and sparse harmonics give the values of the
plain dense formulas (the generated wav files must not change)."""

from __future__ import annotations

import numpy as np

from reactbench.constants import FPS
from reactbench.data.synthetic_model import SAMPLE_RATE, _upsample, voice


def _dense_voice(rng: np.random.Generator, controls: dict, f0: float, T: int) -> np.ndarray:
    """The waveform by the dense formulas: np.interp and every harmonic at every sample."""
    hop = SAMPLE_RATE // FPS
    ts, tf = np.arange(T * hop), (np.arange(T) + 0.5) * hop
    env = np.interp(ts, tf, controls["voiced"] * controls["loud"])
    f0s = f0 * np.interp(ts, tf, controls["pitch"])
    vowel = np.interp(ts, tf, controls["vowel"])
    phase = 2 * np.pi * np.cumsum(f0s) / SAMPLE_RATE
    k = np.arange(1, 11)
    spec_a, spec_b = 1.0 / k, np.exp(-(((k - 4.0) / 2.0) ** 2)) + 0.3 / k
    v = np.zeros(T * hop)
    for i, kk in enumerate(k):
        v += ((1 - vowel) * spec_a[i] + vowel * spec_b[i]) * np.sin(kk * phase)
    noise = rng.standard_normal(T * hop)
    fric = np.interp(ts, tf, controls["fric"])
    return np.clip(0.25 * env * v + (0.003 + 0.02 * fric) * noise, -0.99, 0.99).astype(np.float32)


def test_upsample_equals_interp_bit_for_bit():
    rng = np.random.default_rng(0)
    for T in (1, 2, 3, 100):
        for hop in (2, 8, 640):
            ts, tf = np.arange(T * hop), (np.arange(T) + 0.5) * hop
            for trial in range(20):
                v = rng.normal(size=T) * rng.choice([1e-3, 1.0, 1e3])
                v[rng.random(T) < 0.3] = 0.0
                v[rng.random(T) < 0.2] = -0.0
                ref = np.interp(ts, tf, v)
                got = _upsample(v, hop)
                np.testing.assert_array_equal(got, ref, err_msg=f"T={T} hop={hop}")
                assert np.array_equal(np.signbit(got), np.signbit(ref)), (T, hop, trial)


def test_voice_equals_dense_formulas():
    rng = np.random.default_rng(1)
    T = 200
    speak = rng.random(T) < 0.5
    controls = {
        "voiced": np.where(speak & (rng.random(T) < 0.6), 1.0, 0.0),
        "fric": (speak & (rng.random(T) < 0.3)).astype(float),
        "loud": rng.uniform(0.05, 1.2, T),
        "pitch": rng.uniform(0.6, 1.8, T),
        "vowel": rng.random(T),
    }
    got = voice(np.random.default_rng(7), controls, 140.0, T)
    ref = _dense_voice(np.random.default_rng(7), controls, 140.0, T)
    assert got.dtype == np.float32 and got.shape == (T * SAMPLE_RATE // FPS,)
    np.testing.assert_array_equal(got, ref)
    silent = {**controls, "voiced": np.zeros(T)}  # no harmonics at all: noise only
    np.testing.assert_array_equal(voice(np.random.default_rng(7), silent, 140.0, T),
                                  _dense_voice(np.random.default_rng(7), silent, 140.0, T))
