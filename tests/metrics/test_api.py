"""compute_metrics: result object, protocols, versions, subsets and bootstrap intervals."""

from __future__ import annotations

import json

import numpy as np
import pytest

import reactbench.metrics as M
from reactbench.metrics import (
    DIRECTIONS,
    METRIC_GROUPS,
    METRIC_NAMES,
    METRIC_VERSIONS,
    PROTOCOLS,
    compute_metrics,
    tlcc_offsets,
)
from reactbench.protocols import CORRECTED, OFFICIAL
from tests.metrics.conftest import make_emotions


def _args(c):
    return c["pred"], c["listener_gt"], c["speaker"], c["neighbours"]


def test_public_names():
    for name in ("compute_metrics", "ccc", "dtw", "fr_corr", "fr_dist", "fr_div", "fr_var",
                 "fr_dvs", "fr_rea", "fr_syn", "tlcc_offsets", "frechet_distance"):
        assert callable(getattr(M, name))
    assert METRIC_NAMES == ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRRea", "FRSyn",
                            "MAE")
    assert OFFICIAL.metrics == METRIC_NAMES[:7]
    assert set(DIRECTIONS) == set(METRIC_NAMES) == set(METRIC_VERSIONS)
    assert {DIRECTIONS[m] for m in ("FRDist", "FRRea", "FRSyn")} == {"lower"}
    assert {DIRECTIONS[m] for m in ("FRCorr", "FRDiv", "FRVar", "FRDvs")} == {"higher"}
    assert [m for g in METRIC_GROUPS.values() for m in g] == list(METRIC_NAMES)
    assert M.METRIC_LABELS["FRRea"] == "FRRea-feat"
    assert PROTOCOLS == ("official", "corrected", "react2025", "react2025-corrected", "react2026")


def test_result_object(small_case):
    s = compute_metrics(*_args(small_case))
    assert list(s) == list(OFFICIAL.metrics)
    assert all(isinstance(v, float) and np.isfinite(v) for v in s.values())
    assert s.protocol == "official" and s.ci == {} and s.extra == {}
    assert s.versions["FRRea"] == "feat-1-emotion" and s.realism_features == "emotion"
    assert set(s.timings) == set(OFFICIAL.metrics)
    d = json.loads(json.dumps(s.to_dict()))
    assert d["protocol"] == "official" and d["metrics"]["FRDist"] == s["FRDist"]


def test_subset_order_and_alias(small_case):
    s = compute_metrics(*_args(small_case), metrics=["FRSyn", "FRRea-feat", "FRCorr"])
    assert list(s) == ["FRCorr", "FRRea", "FRSyn"]
    full = compute_metrics(*_args(small_case))
    assert all(s[m] == pytest.approx(full[m]) for m in s)


def test_corrected_protocol(small_case):
    # small_case has T = 40, too short for corrected FRSyn (test_validation covers that error)
    no_syn = [m for m in CORRECTED.metrics if m != "FRSyn"]
    s = compute_metrics(*_args(small_case), protocol="corrected", metrics=no_syn)
    alpha = small_case["pred"].shape[1]
    assert s.protocol == "corrected"
    assert s.extra["FRCorr/gen"] == pytest.approx(s["FRCorr"] / alpha)
    assert s.extra["FRDist/gen"] == pytest.approx(s["FRDist"] / alpha)
    o = compute_metrics(*_args(small_case))
    for m in ("FRDist", "FRDiv", "FRVar", "FRDvs", "FRRea"):
        assert s[m] == pytest.approx(o[m])


def test_3dmm_changes_feature_space(small_case):
    rng = np.random.default_rng(0)
    n, alpha, t = small_case["pred"].shape[:3]
    s = compute_metrics(*_args(small_case), metrics=["FRRea"],
                        pred_3dmm=rng.standard_normal((n, alpha, t, 58)),
                        listener_3dmm=rng.standard_normal((n, t, 58)))
    assert s.versions["FRRea"] == "feat-1-emotion+3dmm"
    assert s.realism_features == "emotion+3dmm"


def _shift(x, lag):
    """pred[t] = x[t - lag] (trailing by lag frames); the first frames repeat x[0]."""
    return np.concatenate([np.repeat(x[:1], lag, axis=0), x[:-lag]]) if lag else x.copy()


def test_frsyn_official_vs_corrected_with_constant_column():
    rng = np.random.default_rng(7)
    t = 200
    sp = np.cumsum(rng.standard_normal((2, t, 25)), axis=1).astype(np.float32)
    pred = np.stack([[_shift(sp[i], lag) for lag in (3, 5)] for i in range(2)])
    off = tlcc_offsets(pred, sp, protocol="official")
    np.testing.assert_array_equal(off, [[-3, -5], [-3, -5]])
    sp[:, :, 4] = 0.0  # an AU never active in the speaker: every official lag score is NaN
    pred[:, :, :, 4] = 0.0
    assert compute_metrics(pred, sp, sp, np.eye(2), metrics=["FRSyn"])["FRSyn"] == 49.0
    cor = compute_metrics(pred, sp, sp, np.eye(2), metrics=["FRSyn"], protocol="corrected")
    assert cor["FRSyn"] == pytest.approx(4.0)  # mean of |-3| and |-5| over all generations


def test_bootstrap_matches_recomputation_on_resampled_rows(small_case):
    pred, gt, sp, nb = _args(small_case)
    n = pred.shape[0]
    b, seed = 12, 3
    s = compute_metrics(pred, gt, sp, nb, bootstrap=b, seed=seed)
    weights = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=b)
    samples = {m: [] for m in OFFICIAL.metrics}
    y = pred.reshape(n, -1).astype(np.float64)
    for w in weights:
        idx = np.repeat(np.arange(n), w)
        r = compute_metrics(pred[idx], gt, sp[idx], nb[idx])
        for m in OFFICIAL.metrics:
            samples[m].append(r[m])
        # FRDvs: mean over pairs of draws of different speakers
        pairs = [(a, c) for a in idx for c in idx if a != c]
        dvs = np.mean([np.sum((y[a] - y[c]) ** 2) for a, c in pairs]) / y.shape[1]
        samples["FRDvs"][-1] = dvs
    for m in OFFICIAL.metrics:
        lo, hi = np.percentile(samples[m], [2.5, 97.5])
        assert s.ci[m] == pytest.approx((lo, hi), rel=1e-6, abs=1e-9), m
    again = compute_metrics(pred, gt, sp, nb, bootstrap=b, seed=seed)
    assert again.ci == s.ci
    assert s.to_dict()["bootstrap"] == b


def test_bootstrap_interval_contains_estimate_on_larger_set():
    rng = np.random.default_rng(8)
    n, alpha, t = 30, 2, 30
    pred = make_emotions(rng, (n, alpha, t))
    gt = make_emotions(rng, (n, t))
    s = compute_metrics(pred, gt, gt, np.eye(n), bootstrap=200, seed=1,
                        metrics=["FRCorr", "FRDiv", "FRVar", "FRDvs"])
    for m, (lo, hi) in s.ci.items():
        assert lo <= s[m] <= hi, m
        assert lo < hi


def test_cuda_device_without_cuda_is_a_clear_error(small_case):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA present: the GPU tests cover device='cuda'")
    with pytest.raises(ValueError, match="cuda"):
        compute_metrics(*_args(small_case), metrics=["FRDist"], device="cuda")


def test_progress_prints_metric_names_on_a_terminal_only(small_case, capsys, monkeypatch):
    compute_metrics(*_args(small_case), metrics=["FRVar", "FRDiv"], progress=True)
    assert capsys.readouterr() == ("", "")  # captured: not a terminal
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    compute_metrics(*_args(small_case), metrics=["FRVar", "FRDiv"], progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "FRDiv" in err and "FRVar" in err


def test_every_metric_function_takes_protocol(small_case):
    c = small_case
    calls = {
        "FRCorr": lambda p: M.fr_corr(c["pred"], c["listener_gt"], c["neighbours"], protocol=p),
        "FRDist": lambda p: M.fr_dist(c["pred"], c["listener_gt"], c["neighbours"], protocol=p),
        "FRDiv": lambda p: M.fr_div(c["pred"], protocol=p),
        "FRVar": lambda p: M.fr_var(c["pred"], protocol=p),
        "FRDvs": lambda p: M.fr_dvs(c["pred"], protocol=p),
        "FRRea": lambda p: M.fr_rea(c["pred"], c["listener_gt"], c["neighbours"], protocol=p),
    }
    full = compute_metrics(*_args(c), protocol="corrected", metrics=list(calls))
    for name, call in calls.items():
        assert call("corrected") == pytest.approx(full[name]), name
        with pytest.raises(ValueError, match="protocol"):
            call("offical")
