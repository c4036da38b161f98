"""Arrays a Python user actually has: torch tensors (any dtype, sparse), scipy.sparse neighbours,
lists, Fortran-order, memory-mapped and read-only arrays give the numbers of the plain float32
arrays; None, misplaced axes and swapped (alpha, N) axes raise a ValueError that says what to do."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.metrics import compute_metrics, fr_corr, frechet_distance, tlcc_offsets

_FAST = ["FRCorr", "FRDiv", "FRVar", "FRDvs", "FRRea", "FRSyn"]


def _scores(case, **changes):
    args = dict(case) | changes
    return compute_metrics(args.pop("pred"), args.pop("listener_gt"), args.pop("speaker"),
                           args.pop("neighbours"), **({"metrics": _FAST} | args))


def _same(a, b, rtol=0.0):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=rtol, abs=0.0), k


@pytest.mark.parametrize("layout", ["fortran", "strided", "readonly", "lists", "float64"])
def test_array_layouts_give_the_same_numbers(small_case, layout):
    def conv(x):
        if layout == "fortran":
            return np.asfortranarray(x)
        if layout == "strided":
            return np.repeat(x, 2, axis=-2)[..., ::2, :]
        if layout == "readonly":
            y = x.copy()
            y.flags.writeable = False
            return y
        if layout == "lists":
            return x.tolist()
        return x.astype(np.float64)

    changed = {k: conv(v) for k, v in small_case.items()}
    _same(_scores(changed), _scores(small_case))


def test_memory_mapped_arrays(small_case, tmp_path):
    changed = {}
    for k, v in small_case.items():
        np.save(tmp_path / f"{k}.npy", v)
        changed[k] = np.load(tmp_path / f"{k}.npy", mmap_mode="r")
    _same(_scores(changed), _scores(small_case))


def test_torch_tensors_including_bfloat16(small_case):
    torch = pytest.importorskip("torch")
    as_t = {k: torch.from_numpy(np.asarray(v)) for k, v in small_case.items()}
    _same(_scores(as_t | {"pred": as_t["pred"].requires_grad_()}), _scores(small_case))
    # bfloat16 has no numpy dtype: it used to raise a raw TypeError; float32 holds it exactly
    bf = as_t["pred"].detach().bfloat16()
    _same(_scores(small_case, pred=bf), _scores(small_case, pred=bf.float().numpy()))
    off = tlcc_offsets(bf, as_t["speaker"].bfloat16())
    assert off.shape == small_case["pred"].shape[:2]


@pytest.mark.parametrize("kind", ["csr_matrix", "csr_array", "coo_matrix", "torch_sparse"])
def test_sparse_neighbours(small_case, kind):
    nb = small_case["neighbours"]
    if kind == "torch_sparse":
        torch = pytest.importorskip("torch")
        sparse = torch.from_numpy(np.asarray(nb, dtype=np.float64)).to_sparse()
    else:
        scipy_sparse = pytest.importorskip("scipy.sparse")
        sparse = getattr(scipy_sparse, kind)(nb)
    _same(_scores(small_case, neighbours=sparse), _scores(small_case))
    assert fr_corr(small_case["pred"], small_case["listener_gt"], sparse) == \
        _scores(small_case, metrics=["FRCorr"])["FRCorr"]


@pytest.mark.parametrize("name,readers", [
    ("listener_gt", "FRCorr, FRDist, FRRea"), ("speaker", "FRSyn"),
    ("neighbours", "FRCorr, FRDist, FRRea"),
])
def test_none_for_a_read_argument_names_the_metrics(small_case, name, readers):
    with pytest.raises(ValueError, match=rf"{name}: got None, but {readers} read\(s\) it; pass "
                                         rf"the array, or request only metrics"):
        compute_metrics(**(small_case | {name: None}))
    # not read by the requested metrics: fine
    assert "FRDiv" in compute_metrics(**(small_case | {name: None}), metrics=["FRDiv"])


@pytest.mark.parametrize("name,bad,hint", [
    ("pred", lambda c: c["pred"][:, 0], r"pass pred\[:, None\] for shape \(N, 1, T, 25\)"),
    ("pred", lambda c: np.moveaxis(c["pred"], 1, -1), r"np\.moveaxis\(pred, -1, 1\)"),
    ("pred", lambda c: c["pred"].swapaxes(2, 3), r"pred\.swapaxes\(2, 3\)"),
    ("listener_gt", lambda c: c["listener_gt"].swapaxes(1, 2),
     r"listener_gt\.swapaxes\(1, 2\)"),
    ("pred", lambda c: c["pred"].swapaxes(0, 1),
     r"listener_gt: expected N = 3 rows.*pred's first two axes look swapped"),
])
def test_misplaced_axes_say_what_to_do(small_case, name, bad, hint):
    with pytest.raises(ValueError, match=hint):
        _scores(small_case, **{name: bad(small_case)})


def test_swapped_alpha_axis_hint_in_tlcc_offsets(small_case):
    with pytest.raises(ValueError, match=r"speaker: expected N = 3.*look swapped"):
        tlcc_offsets(small_case["pred"].swapaxes(0, 1), small_case["speaker"])


def test_object_array_error_says_how_to_convert(small_case):
    with pytest.raises(ValueError, match=r"pred: expected a numeric array .*np\.asarray"):
        _scores(small_case, pred=np.array(small_case["pred"], dtype=object))


@pytest.mark.parametrize("which", ["x", "y"])
def test_frechet_one_sample_names_the_argument(which):
    rng = np.random.default_rng(0)
    xy = {"x": rng.random((5, 3)), "y": rng.random((5, 3))}
    xy[which] = xy[which][:1]
    with pytest.raises(ValueError, match=rf"{which}: expected at least 2 samples"):
        frechet_distance(**xy)


@pytest.mark.parametrize("name,suggestion", [
    ("frcorr", "FRCorr"), ("FRCor", "FRCorr"), ("FRSync", "FRSyn"), ("frrea-feat", "FRRea-feat"),
])
def test_unknown_metric_suggests_the_near_name(small_case, name, suggestion):
    with pytest.raises(ValueError, match=rf"unknown metric '{name}' \(did you mean "
                                         rf"'{suggestion}'\?\)"):
        _scores(small_case, metrics=[name])


def test_unknown_metric_without_a_near_name(small_case):
    with pytest.raises(ValueError, match=r"unknown metric 'FID'; expected names"):
        _scores(small_case, metrics=["FID"])


def test_ragged_sequences_say_to_use_one_length(small_case):
    lg = list(small_case["listener_gt"])
    lg[1] = lg[1][:-3]
    with pytest.raises(ValueError, match=r"listener_gt: cannot convert.*same number of frames T"):
        _scores(small_case, listener_gt=lg)


def test_neighbour_index_lists_say_how_to_build_the_matrix(small_case):
    n = small_case["pred"].shape[0]
    with pytest.raises(ValueError, match=r"neighbours: expected an \(N, N\).*nb\[k, idx_k\]"):
        _scores(small_case, neighbours=[[k] for k in range(n)])
