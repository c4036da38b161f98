"""REACT2025/2026 metrics on variable-length samples against a plain re-creation of the official
loops (benchmarks/official_loop_react2025.py), a golden file, properties, and input checks; and
the official CCC's float32 moments (numpy's pairwise reductions)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import official_loop_react2025 as ref
from reactbench.metrics import compute_metrics, tlcc_offsets
from reactbench.metrics.concordance import ccc
from reactbench.metrics.npsum import column_mean_var_f32, pairwise_sum_f32
from reactbench.metrics.ragged import check_ragged
from reactbench.metrics.tlcc import offsets_ragged
from tests.metrics.react2025_cases import make_case

ALL = ["FRCorr", "FRDist", "FRSyn", "FRDiv", "FRVar", "MAE"]
REL = {"FRCorr": 1e-6, "FRDist": 1e-6, "FRDiv": 1e-5, "FRVar": 1e-6, "MAE": 1e-6}
GOLDEN = Path(__file__).parent / "data" / "react2025" / "N5_a3_K10.npz"


def _score(preds, targets, speakers, protocol="react2025", metrics=ALL, **kw):
    return compute_metrics(preds, None, speakers, None, targets=targets, protocol=protocol,
                           metrics=metrics, **kw)


def _assert_close(got, want):
    for m, v in want.items():
        if m == "FRSyn":
            assert got[m] == v, m  # the same float32 mean of the same integer offsets
        else:
            assert got[m] == pytest.approx(v, rel=REL[m], abs=1e-12), m


@pytest.mark.tslearn
@pytest.mark.parametrize("seed, n, alpha", [(0, 6, 3), (1, 4, 10)])
def test_every_metric_matches_the_official_loops(seed, n, alpha, monkeypatch):
    # the official loops' tslearn DTW with its backend named: numpy, what tslearn picks for
    # numpy arrays after formatting both as text on every call (the same values, less time)
    monkeypatch.setattr(ref, "dtw", functools.partial(ref.dtw, be="numpy"))
    preds, targets, speakers = make_case(seed, n, alpha)
    want = ref.all_metrics(preds, targets, speakers)
    _assert_close(_score(preds, targets, speakers), want)
    r26 = _score(preds, targets, speakers, protocol="react2026", metrics=None)
    assert list(r26) == ALL[:5] + ["MAE"]
    _assert_close(r26, want)


def test_tlcc_offsets_are_exact_per_sample_including_short_clips_and_constant_windows():
    preds, targets, speakers = make_case(2, 9, 2, lo=58, hi=90)
    rg = check_ragged(preds, speakers, None, need_speaker=True, need_targets=False,
                      protocol_name="react2025")
    got = offsets_ragged(rg.pred, rg.speaker, rg.offsets, rg.order, 2, False)
    want = [[ref.tlcc_offset(p[i], s) for i in range(2)] for p, s in zip(preds, speakers)]
    assert got.tolist() == want
    assert any(abs(o) < 49 for row in want for o in row)  # measured offsets, not only the 49 rule


def test_the_golden_file():
    g = np.load(GOLDEN)
    cuts = np.cumsum(g["lengths"])[:-1]
    preds = np.split(g["pred"], cuts, axis=1)
    targets = np.split(g["targets"], cuts, axis=1)
    speakers = np.split(g["speaker"], cuts, axis=0)
    got = _score(preds, targets, speakers)
    _assert_close(got, {m: float(g[f"out_{m}"]) for m in ALL})
    rg = check_ragged(preds, speakers, None, need_speaker=True, need_targets=False,
                      protocol_name="react2025")
    off = offsets_ragged(rg.pred, rg.speaker, rg.offsets, rg.order, 1, False)[:, 0]
    assert off.tolist() == g["out_per_tlcc_offset"].tolist()


def test_one_array_scores_like_the_list_of_its_rows():
    preds, targets, speakers = make_case(4, 3, 3, lo=80, hi=80)
    a = _score(preds, targets, speakers)
    b = _score(np.stack(preds), np.stack(targets), np.stack(speakers))
    assert dict(a) == dict(b)


def test_corrected_scores_every_generation_like_the_react2024_corrected_kernels():
    preds, targets, speakers = make_case(5, 4, 3, lo=70, hi=70)
    r = _score(preds, targets, speakers, protocol="react2025-corrected",
               metrics=["FRSyn", "FRCorr"])
    off = tlcc_offsets(np.stack(preds), np.stack(speakers), protocol="corrected")
    assert r["FRSyn"] == pytest.approx(np.abs(off).mean(), rel=1e-12)
    want = np.mean([sum(max(ccc(t, p, protocol="corrected") for t in tg) for p in pr)
                    for pr, tg in zip(preds, targets)])
    assert r["FRCorr"] == pytest.approx(want, rel=1e-12)
    assert r.protocol == "react2025-corrected" and "FRCorr/gen" in r.extra


def test_bootstrap_resamples_samples():
    preds, targets, speakers = make_case(6, 5, 2, lo=58, hi=120)
    r = _score(preds, targets, speakers, metrics=["FRVar", "MAE"], bootstrap=50, seed=1)
    for m in ("FRVar", "MAE"):
        lo, hi = r.ci[m]
        assert lo <= r[m] <= hi


_CASE = make_case(11, 6, 3, lo=58, hi=110)


@functools.cache
def _full():
    """Every metric of ``_CASE`` (scored on first use, not while the module is collected)."""
    return _score(*_CASE)


@settings(max_examples=6, deadline=None)
@given(st.permutations(range(6)))
def test_permuting_samples_leaves_every_metric_unchanged(perm):
    preds, targets, speakers = ([x[i] for i in perm] for x in _CASE)
    got = _score(preds, targets, speakers)
    for m in ALL:
        assert got[m] == pytest.approx(_full()[m], rel=1e-6), m


@settings(max_examples=5, deadline=None)
@given(st.integers(1, 5))
def test_splitting_the_samples_and_recombining_by_count_gives_the_same_means(cut):
    first = _score(*(x[:cut] for x in _CASE))
    second = _score(*(x[cut:] for x in _CASE))
    n = len(_CASE[0])
    for m in ("FRCorr", "FRDist", "FRDiv", "FRVar", "MAE", "FRSyn"):
        combined = (cut * first[m] + (n - cut) * second[m]) / n
        assert combined == pytest.approx(_full()[m], rel=1e-6), m


# ---- input checks ----------------------------------------------------------------------------

def _small():
    return make_case(3, 3, 2, lo=60, hi=70)


@pytest.mark.parametrize("mutate, match", [
    (lambda p, t, s: (p, t, [s[0], s[1][:-1], s[2]]), r"speaker\[1\]: expected T_k = \d+"),
    (lambda p, t, s: (p, [t[0], t[1], t[2][:, :-2]], s), r"targets\[2\]: expected T_k = \d+"),
    (lambda p, t, s: ([p[0], p[1][..., :24], p[2]], t, s), r"pred\[1\]: expected shape"),
    (lambda p, t, s: ([p[0], p[1][:1], p[2]], t, s), r"pred\[1\]: expected alpha = 2"),
    (lambda p, t, s: ([], t, s), r"pred: expected a non-empty list"),
    (lambda p, t, s: (p, [t[0], t[1][:0], t[2]], s), r"targets\[1\]: expected K >= 1"),
    (lambda p, t, s: (p, [t[0], t[1][:4], t[2]], s), r"targets\[1\]: expected K = 10"),
    (lambda p, t, s: (p, t[:2], s), r"targets: expected N = 3 items"),
    (lambda p, t, s: (p, t, None), r"speaker: got None, but FRSyn reads it"),
    (lambda p, t, s: (p, None, s), r"targets: got None"),
])
def test_bad_variable_length_input_names_the_argument_and_index(mutate, match):
    p, t, s = mutate(*_small())
    with pytest.raises(ValueError, match=match):
        _score(p, t, s)


def test_protocol_mismatches_are_refused():
    p, t, s = _small()
    with pytest.raises(ValueError, match=r"targets: protocol 'official' takes appropriate"):
        compute_metrics(np.stack([x[:, :60] for x in p]), None, None, None, targets=t,
                        metrics=["FRDiv"])
    with pytest.raises(ValueError, match=r"pred: protocol 'official' takes one \(N, alpha"):
        compute_metrics(p, None, None, None, metrics=["FRDiv"])
    with pytest.raises(ValueError, match=r"neighbours: protocol 'react2025' does not read it"):
        compute_metrics(p, None, s, np.eye(3), targets=t, protocol="react2025")
    with pytest.raises(ValueError, match=r"metrics: FRDvs is not defined under protocol "
                                         r"'react2025'"):
        _score(p, t, s, metrics=["FRDvs"])
    with pytest.raises(ValueError, match=r"metrics: MAE is not defined under protocol "
                                         r"'official'"):
        compute_metrics(np.stack([x[:, :60] for x in p]), None, None, None, metrics=["MAE"])


def test_alpha_one_and_too_few_targets_are_errors():
    p, t, s = _small()
    one = [x[:1] for x in p]
    with pytest.raises(ValueError, match=r"pred: FRDiv needs alpha >= 2 .* refuses alpha = 1"):
        _score(one, t, s, metrics=["FRDiv"])
    few = [x[:1] for x in t]
    with pytest.raises(ValueError, match=r"targets: MAE .* needs K >= alpha = 2 .* got K = 1"):
        _score(p, few, s, metrics=["MAE"])
    with pytest.raises(ValueError, match=r"pred\[0\]: corrected FRSyn needs T >= 50"):
        _score([x[:, :40] for x in p], [x[:, :40] for x in t], [x[:40] for x in s],
               protocol="react2025-corrected", metrics=["FRSyn"])


# ---- numpy's float32 reductions in the official CCC ------------------------------------------

@pytest.mark.parametrize("n", [1, 7, 8, 9, 127, 128, 129, 750, 751, 3000, 9001])
def test_float32_moments_equal_numpys_column_reductions(n):
    rng = np.random.default_rng(n)
    x = (1000.0 + 0.01 * rng.standard_normal((n, 25))).astype(np.float32)
    x[:, 1::2] = rng.standard_normal((n, 12)).astype(np.float32) * 50
    mean, var = np.empty(25, np.float32), np.empty(25, np.float32)
    column_mean_var_f32(x, mean, var, np.empty_like(x))
    assert np.array_equal(mean, [np.mean(x[:, c]) for c in range(25)])
    assert np.array_equal(var, [np.var(x[:, c]) for c in range(25)])
    assert pairwise_sum_f32(x[:, 3]) == np.sum(x[:, 3])


def test_ccc_of_a_large_mean_tiny_spread_column_equals_the_official_formula():
    rng = np.random.default_rng(0)
    for t in (58, 750, 2000):
        a = rng.random((t, 25)).astype(np.float32)
        b = rng.random((t, 25)).astype(np.float32)
        a[:, 4] = (1000 + 0.01 * rng.standard_normal(t)).astype(np.float32)
        b[:, 4] = (1000 + 0.01 * rng.standard_normal(t)).astype(np.float32)
        want = ref.ccc(a, b)
        assert ccc(a, b) == pytest.approx(want, rel=1e-12)
        r24 = compute_metrics(b[None, None], a[None], None, np.ones((1, 1)), metrics=["FRCorr"])
        assert r24["FRCorr"] == pytest.approx(want, rel=1e-12)
