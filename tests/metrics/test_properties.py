"""Hypothesis properties of the per-item functions and metrics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from reactbench.metrics import ccc, dtw, fr_div, fr_var, frechet_distance, grouped_dtw, tlcc_offsets

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
floats = st.floats(-10, 10, allow_nan=False, width=32)


def seqs(t_min=1, t_max=12, d=3):
    return st.integers(t_min, t_max).flatmap(lambda t: arrays(np.float32, (t, d), elements=floats))


@SETTINGS
@given(seqs(), seqs())
def test_dtw_symmetric_nonnegative(x, y):
    a, b = dtw(x, y), dtw(y, x)
    assert a == pytest.approx(b, rel=1e-12, abs=1e-12)
    assert a >= 0.0


@SETTINGS
@given(seqs())
def test_dtw_self_is_zero(x):
    assert dtw(x, x) == 0.0


@SETTINGS
@given(st.integers(1, 12).flatmap(
    lambda t: st.tuples(arrays(np.float32, (t, 3), elements=floats),
                        arrays(np.float32, (t, 3), elements=floats))))
def test_dtw_at_most_euclidean(pair):
    x, y = pair
    euclid = float(np.sqrt(np.sum((x.astype(np.float64) - y.astype(np.float64)) ** 2)))
    assert 0.0 <= dtw(x, y) <= euclid * (1 + 1e-12) + 1e-12


@SETTINGS
@given(st.integers(1, 10).flatmap(
    lambda t: st.tuples(arrays(np.float32, (t, 25), elements=st.floats(0, 1, width=32)),
                        arrays(np.float32, (t, 25), elements=st.floats(0, 1, width=32)))))
def test_grouped_dtw_symmetric_and_self_zero(pair):
    x, y = pair
    assert grouped_dtw(x, y) == pytest.approx(grouped_dtw(y, x), rel=1e-12, abs=1e-12)
    assert grouped_dtw(x, x) == 0.0


def _non_constant(x):
    return bool(np.all(x.max(axis=0) > x.min(axis=0)))


@SETTINGS
@given(arrays(np.float32, (8, 4), elements=st.floats(-5, 5, width=32)),
       arrays(np.float32, (8, 4), elements=st.floats(-5, 5, width=32)))
def test_ccc_bounds_and_self(x, y):
    for protocol in ("official", "corrected"):
        v = ccc(x, y, protocol=protocol)
        assert -1.0 - 1e-6 <= v <= 1.0 + 1e-6
    # spread large enough that the official +1e-8 in the denominator stays below 1e-5
    if _non_constant(x) and np.all(x.std(axis=0) > 5e-2):
        assert ccc(x, x) == pytest.approx(1.0, abs=1e-5)
        assert ccc(x, x, protocol="corrected") == pytest.approx(1.0, abs=1e-9)


@SETTINGS
@given(arrays(np.float32, (3, 6, 25), elements=st.floats(-1, 1, width=32)),
       st.integers(2, 4))
def test_frdiv_zero_when_generations_equal(base, alpha):
    pred = np.repeat(base[:, None], alpha, axis=1)
    assert fr_div(pred) == 0.0


@SETTINGS
@given(arrays(np.float32, (2, 2, 1, 25), elements=st.floats(-1, 1, width=32)),
       st.integers(2, 8))
def test_frvar_zero_for_constant_sequences(frame, t):
    assert fr_var(np.repeat(frame, t, axis=2)) == 0.0


@SETTINGS
@given(st.integers(-20, 20), st.integers(0, 2**31 - 1))
def test_tlcc_offset_equals_planted_lag(lag, seed):
    rng = np.random.default_rng(seed)
    t = 160
    base = np.cumsum(rng.standard_normal((t + 40, 25)), axis=0).astype(np.float32)
    speaker = base[20:20 + t]
    pred = base[20 - lag:20 - lag + t]  # pred[t] = speaker[t - lag]
    for protocol in ("official", "corrected"):
        assert tlcc_offsets(pred[None, None], speaker[None], protocol=protocol)[0, 0] == -lag


@SETTINGS
@given(st.integers(3, 40), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_frechet_self_is_zero(n, f, seed):
    x = np.random.default_rng(seed).standard_normal((n, f)) * 3
    d = frechet_distance(x, x)
    assert 0.0 <= d <= 1e-6 * (1 + np.trace(np.atleast_2d(np.cov(x, rowvar=False))))
