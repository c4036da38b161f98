"""Every bad input raises ValueError naming the argument, the index and what was expected."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.metrics import compute_metrics, fr_div, fr_dvs, fr_syn


def _call(case, **changes):
    args = dict(case)
    args.update(changes)
    return compute_metrics(args["pred"], args["listener_gt"], args["speaker"],
                           args["neighbours"], **{k: v for k, v in args.items()
                                                  if k not in ("pred", "listener_gt", "speaker",
                                                               "neighbours")})


@pytest.mark.parametrize("name,bad,pattern", [
    ("pred", lambda c: c["pred"][0], r"pred: expected a 4-d array"),
    ("pred", lambda c: c["pred"][..., :24], r"pred: expected last dimension 25"),
    ("listener_gt", lambda c: c["listener_gt"][:, :, :3], r"listener_gt: expected last dim"),
    ("listener_gt", lambda c: c["listener_gt"][:-1], r"listener_gt: expected N = 5"),
    ("speaker", lambda c: c["speaker"][:, :-1], r"speaker: expected T = 40"),
    ("neighbours", lambda c: c["neighbours"][:-1], r"neighbours: expected an \(N, N\)"),
    ("pred", lambda c: np.zeros((5, 0, 40, 25)), r"pred: empty array"),
    ("pred", lambda c: np.full(c["pred"].shape, "a"), r"pred: expected a numeric array"),
])
def test_shapes(small_case, name, bad, pattern):
    with pytest.raises(ValueError, match=pattern):
        _call(small_case, **{name: bad(small_case)})


@pytest.mark.parametrize("name", ["pred", "listener_gt", "speaker"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite(small_case, name, value):
    arr = small_case[name].copy()
    idx = (1,) * arr.ndim
    arr[idx] = value
    with pytest.raises(ValueError, match=rf"{name}: non-finite value .* at index \(1, 1"):
        _call(small_case, **{name: arr})


def test_empty_neighbour_row(small_case):
    nb = small_case["neighbours"].copy()
    nb[3] = 0
    with pytest.raises(ValueError, match=r"neighbours: row 3 has no appropriate reaction"):
        _call(small_case, neighbours=nb)
    # metrics that do not use the neighbours accept it
    s = _call(small_case, neighbours=nb, metrics=["FRDiv", "FRVar"])
    assert set(s) == {"FRDiv", "FRVar"}


def test_non_binary_neighbours(small_case):
    nb = small_case["neighbours"].copy()
    nb[2, 4] = 0.5
    with pytest.raises(ValueError, match=r"neighbours: value 0.5 at index \(2, 4\); expected a "
                                         r"binary matrix"):
        _call(small_case, neighbours=nb)


def test_alpha_one_and_n_one(small_case):
    # official: alpha = 1 gives FRDiv = 0.0, as the challenge code (test_edge_cases covers it)
    with pytest.raises(ValueError, match=r"pred: FRDiv needs alpha >= 2"):
        fr_div(small_case["pred"][:, :1], protocol="corrected")
    with pytest.raises(ValueError, match=r"pred: FRDvs needs N >= 2"):
        fr_dvs(small_case["pred"][:1])
    # alpha = 1 is fine for metrics that need no pairs
    s = _call(small_case, pred=small_case["pred"][:, :1], metrics=["FRCorr", "FRSyn"])
    assert set(s) == {"FRCorr", "FRSyn"}


def test_bad_options(small_case):
    with pytest.raises(ValueError, match=r"protocol: expected one of"):
        _call(small_case, protocol="paper")
    with pytest.raises(ValueError, match=r"metrics: unknown metric 'FID'"):
        _call(small_case, metrics=["FID"])
    with pytest.raises(ValueError, match=r"bootstrap: expected a non-negative integer"):
        _call(small_case, bootstrap=-1)
    with pytest.raises(ValueError, match=r"device: expected 'cpu' or 'cuda"):
        _call(small_case, device="tpu")
    with pytest.raises(ValueError, match=r"protocol"):
        fr_syn(small_case["pred"], small_case["speaker"], protocol="x")


def test_3dmm_inputs(small_case):
    n, alpha, t = small_case["pred"].shape[:3]
    with pytest.raises(ValueError, match=r"listener_3dmm: expected both"):
        _call(small_case, pred_3dmm=np.zeros((n, alpha, t, 58)))
    with pytest.raises(ValueError, match=r"pred_3dmm: expected last dimension 58"):
        _call(small_case, pred_3dmm=np.zeros((n, alpha, t, 57)),
              listener_3dmm=np.zeros((n, t, 58)))
    with pytest.raises(ValueError, match=r"pred_3dmm: expected shape \(5, 3, 40, 58\)"):
        _call(small_case, pred_3dmm=np.zeros((n, alpha + 1, t, 58)),
              listener_3dmm=np.zeros((n, t, 58)))


def test_torch_and_list_inputs(small_case):
    torch = pytest.importorskip("torch")
    c = small_case
    a = _call(c, metrics=["FRVar", "FRCorr"])
    b = compute_metrics(torch.from_numpy(c["pred"]), c["listener_gt"].tolist(),
                        c["speaker"], torch.from_numpy(c["neighbours"]),
                        metrics=["FRVar", "FRCorr"])
    assert dict(a) == pytest.approx(dict(b))


def test_frrea_needs_two_windows_each():
    rng = np.random.default_rng(0)
    pred = rng.random((1, 1, 30, 25), dtype=np.float32)
    gt = rng.random((1, 30, 25), dtype=np.float32)
    with pytest.raises(ValueError, match=r"pred: FRRea-feat needs at least 2 generated windows"):
        compute_metrics(pred, gt, gt, np.ones((1, 1)), metrics=["FRRea"])
    pred2 = rng.random((1, 2, 30, 25), dtype=np.float32)
    with pytest.raises(ValueError, match=r"neighbours: FRRea-feat needs at least 2 real windows"):
        compute_metrics(pred2, gt, gt, np.ones((1, 1)), metrics=["FRRea"])
