"""The float32 lower bound of the grouped DTW distance never exceeds the exact value."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from reactbench.metrics import grouped_dtw
from reactbench.metrics.dtw_bounds import group_bound, lower_bounds
from tests.metrics.conftest import make_emotions, make_smooth_emotions


def _exact(x, y):
    return np.array([grouped_dtw(a, b) for a, b in zip(x, y)])


@pytest.mark.parametrize("t", [1, 2, 3, 8, 17, 60])
@pytest.mark.parametrize("binary_au", [True, False])
def test_bound_at_most_exact(t, binary_au):
    rng = np.random.default_rng(t)
    p = 13  # two lane groups, the second padded
    x = make_emotions(rng, (p, t), binary_au)
    y = make_emotions(rng, (p, t), binary_au)
    lb, ex = lower_bounds(x, y), _exact(x, y)
    assert np.all(lb <= ex)
    assert np.all(lb >= 0.99 * ex)  # tight: within 1 %


def test_bound_tight_on_smooth_clips():
    rng = np.random.default_rng(5)
    x, y = make_smooth_emotions(rng, (8, 200)), make_smooth_emotions(rng, (8, 200))
    lb, ex = lower_bounds(x, y), _exact(x, y)
    assert np.all(lb <= ex) and np.all(lb >= 0.999 * ex)


def test_bound_adversarial_inputs():
    rng = np.random.default_rng(6)
    t = 24
    base = make_emotions(rng, (t,))
    const = np.tile(base[:1], (t, 1))
    big = (rng.standard_normal((t, 25)) * 1e15).astype(np.float32)
    tiny = (rng.standard_normal((t, 25)) * 1e-25).astype(np.float32)
    huge = np.full((t, 25), 3e38, np.float32)
    pairs = [(base, base), (const, const), (const, base), (base, const), (big, tiny),
             (tiny, tiny[::-1]), (big, big[::-1]), (huge, -huge), (huge, huge),
             (np.zeros((t, 25), np.float32), np.ones((t, 25), np.float32))]
    x = np.stack([a for a, _ in pairs])
    y = np.stack([b for _, b in pairs])
    lb, ex = lower_bounds(x, y), _exact(x, y)
    assert np.all(lb <= ex)
    assert lb[0] == 0.0 and lb[1] == 0.0  # identical sequences: exact 0, bound 0
    assert lb[3] > 0.9 * ex[3]


def test_non_finite_pair_gets_zero_bound():
    rng = np.random.default_rng(7)
    x = make_emotions(rng, (3, 10))
    y = make_emotions(rng, (3, 10))
    x[0, 4, 16] = np.nan
    y[1, 2, 20] = np.inf
    lb = lower_bounds(x, y)
    assert lb[0] == 0.0 and lb[1] == 0.0 and lb[2] > 0.0


def test_group_bound_margins():
    assert group_bound(np.inf, 10, 2, 0.0) == 0.0
    assert group_bound(np.nan, 10, 2, 0.0) == 0.0
    assert group_bound(100.0, 10**7, 2, 0.0) == 0.0  # margin no longer below 1: no bound
    assert group_bound(0.0, 10, 2, 0.0) == 0.0
    v = group_bound(100.0, 750, 2, 0.0)
    assert 100.0 * (1 - 2e-3) < v < 100.0  # (2T + 4) 2^-20 below


def test_lower_bounds_refuses_bad_shapes():
    with pytest.raises(ValueError, match="x, y: expected two"):
        lower_bounds(np.zeros((2, 5, 25)), np.zeros((2, 6, 25)))
    with pytest.raises(ValueError, match="x, y: expected two"):
        lower_bounds(np.zeros((2, 5, 24)), np.zeros((2, 5, 24)))


_finite = st.floats(-1e6, 1e6, allow_nan=False, width=32)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 12), st.just(25)),
              elements=_finite), st.data())
def test_bound_never_exceeds_exact(x, data):
    y = data.draw(arrays(np.float32, x.shape, elements=_finite))
    assert np.all(lower_bounds(x, y) <= _exact(x, y))


def test_binary_au_bound_is_the_exact_au_value():
    # only AU columns differ (VA and FE equal): the 16-bit AU pass is exact, so the bound is
    # the grouped distance itself, bit for bit
    rng = np.random.default_rng(12)
    p, t = 21, 30  # two 16-pair groups, the second padded
    x = make_emotions(rng, (p, t))
    y = make_emotions(rng, (p, t))
    y[..., 15:] = x[..., 15:]
    lb, ex = lower_bounds(x, y), _exact(x, y)
    np.testing.assert_array_equal(lb, ex)


def test_mixed_binary_and_float_au_in_one_group():
    # one non-binary AU pair sends its group to the float32 AU pass (per half)
    rng = np.random.default_rng(13)
    p, t = 19, 25
    x = make_emotions(rng, (p, t))
    y = make_emotions(rng, (p, t))
    x[3] = make_emotions(rng, (t,), binary_au=False)
    lb, ex = lower_bounds(x, y), _exact(x, y)
    assert np.all(lb <= ex) and np.all(lb >= 0.99 * ex)


def test_saturated_au_value_is_still_a_bound():
    # every AU opposite on every frame: 15 per cell, 15 T > 65535 saturates the 16-bit lanes
    t = 4400
    x = np.zeros((1, t, 25), np.float32)
    y = np.zeros((1, t, 25), np.float32)
    x[..., :15] = 1.0
    lb, ex = lower_bounds(x, y), _exact(x, y)
    assert ex[0] == pytest.approx(np.sqrt(15 * t) / 15)
    assert lb[0] == np.sqrt(65535.0) / 15 < ex[0]
