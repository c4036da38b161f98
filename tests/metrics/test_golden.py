"""Official REACT2024 outputs (golden files from the challenge code) vs reactbench."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reactbench.metrics import ccc, compute_metrics, tlcc_offsets
from reactbench.metrics.concordance import max_ccc
from reactbench.metrics.dtw_engine import min_grouped_dtw, neighbour_csr
from reactbench.metrics.tlcc import tlcc_scores

DATA = Path(__file__).parent / "data"
CASES = sorted(p.stem for p in DATA.glob("*.npz"))
# (metric, golden key, relative tolerance): the README's expected agreement
SCALARS = [
    ("FRCorr", "out_FRCorr_mp", 1e-6), ("FRDist", "out_FRDist_mp", 1e-6),
    ("FRVar", "out_FRVar", 1e-6), ("FRDiv", "out_FRDiv", 1e-5), ("FRDvs", "out_FRDvs", 1e-5),
    ("FRSyn", "out_FRSyn_mp", 0.0),
]


@pytest.fixture(scope="module", params=CASES)
def case(request):
    with np.load(DATA / f"{request.param}.npz") as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def official(case):
    return compute_metrics(case["pred"], case["listener_gt"], case["speaker"], case["neighbour"])


def test_cases_present():
    assert len(CASES) == 3


@pytest.mark.parametrize("name,key,rtol", SCALARS)
def test_official_scalars(official, case, name, key, rtol):
    assert official[name] == pytest.approx(float(case[key]), rel=rtol, abs=1e-12)
    assert official.protocol == "official"


def test_serial_variants_agree(case, official):
    assert official["FRCorr"] == pytest.approx(float(case["out_FRCorr_seq"]), rel=1e-6)
    assert official["FRDist"] == pytest.approx(float(case["out_FRDist_seq"]), rel=1e-6)


def test_corrected_frsyn_is_all_generation_tlcc(case):
    # the golden cases have no constant column, so corrected = the serial all-generation TLCC
    s = compute_metrics(case["pred"], case["listener_gt"], case["speaker"], case["neighbour"],
                        protocol="corrected", metrics=["FRSyn"])
    assert s["FRSyn"] == pytest.approx(float(case["out_FRSyn_allpreds"]), rel=1e-6)


def test_per_item_max_ccc_and_min_dtw(case):
    pred, gt, nb = case["pred"], case["listener_gt"], case["neighbour"]
    np.testing.assert_allclose(max_ccc(pred, gt, *neighbour_csr(nb)), case["out_per_max_ccc"],
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(min_grouped_dtw(pred, gt, nb), case["out_per_min_dtw"],
                               rtol=1e-6, atol=1e-9)


def test_ccc_all_candidates(case):
    pred, gt = case["pred"], case["listener_gt"]
    n, alpha = pred.shape[:2]
    got = np.array([[[ccc(gt[j], pred[i, k]) for j in range(n)] for k in range(alpha)]
                    for i in range(n)])
    np.testing.assert_allclose(got, case["out_per_ccc_all"], rtol=1e-6, atol=1e-7)


def test_tlcc_offsets_peak_center(case):
    pred, sp = case["pred"], case["speaker"]
    np.testing.assert_array_equal(tlcc_offsets(pred, sp), case["out_per_tlcc_offset"])
    n, alpha = pred.shape[:2]
    peak = np.empty((n, alpha))
    center = np.empty((n, alpha))
    for i in range(n):
        for k in range(alpha):
            sc = tlcc_scores(pred[i, k], sp[i]).astype(np.float64)
            center[i, k] = sc[sc.size // 2]
            cur = sc[0]  # Python max(): the first element unless a later one is greater
            for v in sc[1:]:
                if v > cur:
                    cur = v
            peak[i, k] = cur
    np.testing.assert_allclose(center, case["out_per_tlcc_center"], rtol=1e-6, atol=1e-6,
                               equal_nan=True)
    np.testing.assert_allclose(peak, case["out_per_tlcc_peak"], rtol=1e-6, atol=1e-6,
                               equal_nan=True)
