"""Degenerate inputs: too few frames, rows or generations, bad options, dtypes, overflow, and
bootstrap resamples on which a metric is undefined."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reactbench.metrics import (
    ccc,
    compute_metrics,
    dtw,
    fr_div,
    fr_dvs,
    fr_syn,
    frechet_distance,
    grouped_dtw,
    tlcc_offsets,
)
from reactbench.metrics.diversity import dvs_stats, fr_dvs_bootstrap
from reactbench.metrics.tlcc import tlcc_scores


@pytest.fixture
def audit():
    """The audit's setup: pred (3, 2, 60, 25), listener_gt and speaker (3, 60, 25), eye(3)."""
    r = np.random.default_rng(0)
    p = r.random((3, 2, 60, 25), dtype=np.float32)
    lg, sp = r.random((2, 3, 60, 25), dtype=np.float32)
    return p, lg, sp, np.eye(3)


def _degenerate_seed(n: int, b: int) -> int:
    """A seed whose b resamples of n rows all draw a single row n times (as compute_metrics)."""
    for seed in range(1000):
        w = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=b)
        if (w.max(axis=1) == n).all():
            return seed
    raise AssertionError("no degenerate seed found")


# 1 ---------------------------------------------------------------------------------------
def test_corrected_frsyn_refuses_too_short_sequences(audit):
    p, _, sp, _ = audit
    with pytest.raises(ValueError, match=r"pred: corrected FRSyn needs T >= 50 frames.*T = 2"):
        fr_syn(p[:, :, :2], sp[:, :2], protocol="corrected")
    with pytest.raises(ValueError, match=r"T >= 50"):
        tlcc_offsets(p[:, :, :49], sp[:, :49], protocol="corrected")
    with pytest.raises(ValueError, match=r"T >= 50"):
        tlcc_scores(p[0, 0, :10], sp[0, :10], protocol="corrected")
    # the official protocol keeps its documented NaN rule: |offset| = 49 for T <= 50
    assert fr_syn(p[:, :, :2], sp[:, :2]) == 49.0
    assert np.isfinite(fr_syn(p[:, :, :50], sp[:, :50], protocol="corrected"))


# 2 ---------------------------------------------------------------------------------------
def test_frdvs_bootstrap_single_speaker_resample_is_undefined(audit):
    p = audit[0]
    q, _, _ = dvs_stats(p)
    out = fr_dvs_bootstrap(p, q, np.array([[3, 0, 0], [1, 1, 1]]))
    assert np.isnan(out[0]) and np.isfinite(out[1]) and out[1] > 0


# 3 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("bootstrap", [1, True, np.bool_(True), 10**13])
def test_bootstrap_must_be_zero_or_at_least_two(audit, bootstrap):
    with pytest.raises(ValueError, match=r"bootstrap: expected .* B >= 2"):
        compute_metrics(*audit, metrics=["FRDiv"], bootstrap=bootstrap)


@pytest.mark.filterwarnings("error")
def test_metric_undefined_on_every_resample_gets_no_interval(audit):
    p, lg, sp, _ = audit
    seed = _degenerate_seed(2, 2)
    s = compute_metrics(p[:2], lg[:2], sp[:2], np.eye(2), metrics=["FRDiv", "FRDvs", "FRRea"],
                        bootstrap=2, seed=seed)
    assert set(s.ci) == {"FRDiv"} and set(s.ci_missing) == {"FRDvs", "FRRea"}
    assert "undefined on all 2 bootstrap resamples" in s.ci_missing["FRDvs"]
    d = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert set(d["ci"]) == {"FRDiv"} and set(d["ci_missing"]) == {"FRDvs", "FRRea"}


# 4 ---------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("error")
def test_frrea_bootstrap_short_sequences_emit_no_warning(audit):
    p, lg, sp, nb = audit  # T = 60 < 75: one window per real reaction
    s = compute_metrics(p, lg, sp, nb, metrics=["FRRea"], bootstrap=30, seed=0)
    lo, hi = s.ci["FRRea"]
    assert np.isfinite([lo, hi]).all() and lo <= hi


# 5 ---------------------------------------------------------------------------------------
def test_frdiv_alpha_one_is_zero_officially_and_an_error_when_corrected(audit):
    p1 = audit[0][:, :1]
    s = compute_metrics(p1, *audit[1:], metrics=["FRDiv"], bootstrap=2)
    assert s["FRDiv"] == 0.0 and s.ci["FRDiv"] == (0.0, 0.0)
    assert fr_div(p1) == 0.0
    with pytest.raises(ValueError, match=r"pred: FRDiv needs alpha >= 2.*official protocol"):
        compute_metrics(p1, *audit[1:], metrics=["FRDiv"], protocol="corrected")
    # the spec documents no official value for FRDvs with N = 1: still a clear error
    with pytest.raises(ValueError, match=r"pred: FRDvs needs N >= 2"):
        fr_dvs(audit[0][:1])


# 6 ---------------------------------------------------------------------------------------
def test_ccc_overflowing_float32_raises(audit):
    p, lg, sp, nb = audit
    with pytest.raises(ValueError, match=r"FRCorr is undefined.*overflow.*float32"):
        compute_metrics(p * 1e20, lg, sp, nb, metrics=["FRCorr"])
    # one overflowing neighbour among finite ones is not silently skipped by the max
    big = lg.copy()
    big[1] *= 1e20
    with pytest.raises(ValueError, match=r"FRCorr is undefined"):
        compute_metrics(p, big, sp, np.ones((3, 3)), metrics=["FRCorr"])
    x = lg[0]
    with pytest.raises(ValueError, match=r"x, y: the CCC is not finite.*float32"):
        ccc(x * 1e20, x * 1e20)
    assert ccc(x * 1e20, x * 1e20, protocol="corrected") == pytest.approx(1.0)


# 7 ---------------------------------------------------------------------------------------
def test_non_real_dtypes_are_refused(audit):
    p, lg, sp, nb = audit
    with pytest.raises(ValueError, match=r"neighbours: expected real numbers"):
        compute_metrics(p, lg, sp, nb + 1j, metrics=["FRCorr"])
    with pytest.raises(ValueError, match=r"neighbours: expected a numeric array"):
        compute_metrics(p, lg, sp, nb.astype(str), metrics=["FRCorr"])
    ok = compute_metrics(p, lg, sp, nb.astype(bool), metrics=["FRCorr"])
    assert ok["FRCorr"] == compute_metrics(p, lg, sp, nb, metrics=["FRCorr"])["FRCorr"]
    a, b = lg[0], lg[1]
    for fn in (dtw, grouped_dtw, frechet_distance):
        with pytest.raises(ValueError, match=r"x: expected real numbers"):
            fn(a + 1j, b)
        with pytest.raises(ValueError, match=r"y: expected a numeric array"):
            fn(a, b.astype(str))


# 8 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda: grouped_dtw(np.zeros((0, 25)), np.zeros((0, 25))),
    lambda: grouped_dtw(np.zeros((0, 25)), np.zeros((5, 25))),
    lambda: ccc(np.zeros((5, 0)), np.zeros((5, 0))),
    lambda: frechet_distance(np.zeros((4, 0)), np.zeros((5, 0))),
    lambda: tlcc_scores(np.zeros((5, 0)), np.zeros((5, 0))),
])
def test_empty_inputs_raise(call):
    with pytest.raises(ValueError, match=r"x, y: expected .*(non-empty|d >= 1|F >= 1)"):
        call()


# 9 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,pattern", [
    ({"metrics": 5}, r"metrics: expected None, a metric name or a list"),
    ({"metrics": [["FRDiv"]]}, r"metrics: unknown metric \['FRDiv'\]"),
    ({"n_jobs": "2"}, r"n_jobs: expected a non-zero integer"),
    ({"n_jobs": 1.5}, r"n_jobs: expected a non-zero integer"),
    ({"n_jobs": None}, r"n_jobs: expected a non-zero integer"),
    ({"n_jobs": True}, r"n_jobs: expected a non-zero integer"),
    ({"seed": -1, "bootstrap": 2}, r"seed: expected a non-negative integer"),
    ({"seed": "x", "bootstrap": 2}, r"seed: expected a non-negative integer"),
    ({"neighbours": [[1, 0, 0], [1, 0], [1]]}, r"neighbours: cannot convert to an array"),
])
def test_bad_arguments_name_themselves(audit, kwargs, pattern):
    p, lg, sp, nb = audit
    args = {"pred": p, "listener_gt": lg, "speaker": sp, "neighbours": nb,
            "metrics": ["FRCorr"]} | kwargs
    with pytest.raises(ValueError, match=pattern):
        compute_metrics(**args)


def test_seed_is_read_only_with_bootstrap_and_other_raw_errors(audit):
    p, lg, sp, nb = audit
    for seed in (-1, "x"):
        assert "FRDiv" in compute_metrics(p, lg, sp, nb, metrics=["FRDiv"], seed=seed)
    with pytest.raises(ValueError, match=r"n_jobs: expected a non-zero integer"):
        tlcc_offsets(p, sp, n_jobs="2")
    with pytest.raises(ValueError, match=r"x: expected a numeric array"):
        dtw("ab", "cd")


# 10 --------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("error")
def test_float64_beyond_float32_range_is_named(audit):
    p, lg, sp, nb = audit
    big = p.astype(np.float64)
    big[0, 1, 2, 3] = 1e39
    with pytest.raises(ValueError, match=r"pred: value 1e\+39 at index \(0, 1, 2, 3\) is outside "
                                         r"the float32 range"):
        compute_metrics(big, lg, sp, nb, metrics=["FRDiv"])
    with pytest.raises(ValueError, match=r"x: value .* outside the float32 range"):
        grouped_dtw(big[0, 1], lg[0])
    inf = p.astype(np.float64)
    inf[0, 0, 0, 0] = np.inf  # a real inf is still reported as non-finite
    with pytest.raises(ValueError, match=r"pred: non-finite value inf"):
        compute_metrics(inf, lg, sp, nb, metrics=["FRDiv"])


# 11 --------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", ["cudax", "cuda:", "cuda:0x", "CPU", None])
def test_invalid_device_names(audit, device):
    with pytest.raises(ValueError, match=r"device: expected 'cpu' or 'cuda\[:k\]'"):
        compute_metrics(*audit, metrics=["FRDist"], device=device)


def test_each_array_is_validated_exactly_when_a_metric_reads_it(audit):
    p, lg, sp, nb = audit
    bad_lg, bad_sp = lg.copy(), sp.copy()
    bad_lg[0, 0, 0] = np.nan
    bad_sp[0, 0, 0] = np.nan
    for m in ("FRCorr", "FRDist", "FRRea"):
        with pytest.raises(ValueError, match=r"listener_gt: non-finite"):
            compute_metrics(p, bad_lg, sp, nb, metrics=[m])
        assert m in compute_metrics(p, lg, bad_sp, nb, metrics=[m])
    with pytest.raises(ValueError, match=r"speaker: non-finite"):
        compute_metrics(p, lg, bad_sp, nb, metrics=["FRSyn"])
    s = compute_metrics(p, bad_lg, sp, None, metrics=["FRSyn", "FRDiv", "FRVar", "FRDvs"])
    assert set(s) == {"FRSyn", "FRDiv", "FRVar", "FRDvs"}
