"""GPU grouped-DTW engine (reactbench.metrics.dtw_cuda) against the CPU engine and tslearn.

The CPU-runnable tests cover the CUDA-absent error and the torch wavefront engine (the same
orchestration code as the GPU path, run on CPU tensors); ``@pytest.mark.gpu`` tests need CUDA.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reactbench.metrics import dtw_strips
from reactbench.metrics.constants import DTW_GROUPS
from reactbench.metrics.dtw_cuda import (
    _min_grouped_dtw,
    _triples_torch,
    min_grouped_dtw_cuda,
    min_grouped_dtw_ragged_cuda,
    resolve_cuda_device,
    triton_available,
)
from reactbench.metrics.dtw_engine import grouped_dtw, min_grouped_dtw, min_grouped_dtw_ragged

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _inputs(seed: int, n: int = 6, alpha: int = 3, t: int = 14, ty: int | None = None):
    """Emotion-like random inputs with ragged neighbour rows (1 to n neighbours)."""
    rng = np.random.default_rng(seed)
    ty = t if ty is None else ty
    pred = rng.random((n, alpha, t, 25)).astype(np.float32)
    pred[..., :15] = pred[..., :15] > 0.6
    pred[..., 15:17] = 2 * pred[..., 15:17] - 1
    gt = rng.random((n, ty, 25)).astype(np.float32)
    gt[..., :15] = gt[..., :15] > 0.6
    if ty == t:
        gt[1] = pred[1, 0]  # an exact match: distance 0 for (1, 0) when 1 is its own neighbour
    nb = np.zeros((n, n))
    for i in range(n):
        k = 1 + i % n
        nb[i, rng.choice(n, size=k, replace=False)] = 1
    nb[1, 1] = 1
    return pred, gt, nb


def _reference_min(pred, gt, nb) -> np.ndarray:
    """Obviously-correct loop over (speaker, generation, neighbour) with the single-pair DTW."""
    n, alpha = pred.shape[:2]
    out = np.empty((n, alpha))
    for i in range(n):
        for k in range(alpha):
            out[i, k] = min(grouped_dtw(pred[i, k], gt[j]) for j in np.flatnonzero(nb[i] == 1))
    return out


def _tslearn_grouped(x, y) -> float:
    from tslearn.metrics import dtw

    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    # be="numpy": what tslearn picks for numpy arrays, named (see tests/metrics/reference.py)
    return sum(w * dtw(x[:, a:b], y[:, a:b], be="numpy") for a, b, w in DTW_GROUPS)


# ----------------------------------------------------------------------------- CPU tests
def test_error_when_cuda_absent(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    pred, gt, nb = _inputs(0)
    with pytest.raises(ValueError, match=r"device='cuda' requested but"):
        min_grouped_dtw_cuda(pred, gt, nb, device="cuda")


def test_error_on_non_cuda_device():
    with pytest.raises(ValueError, match="device: expected 'cuda'"):
        resolve_cuda_device("cpu")


def test_unknown_engine():
    pred, gt, nb = _inputs(0)
    with pytest.raises(ValueError, match="engine: expected one of"):
        _min_grouped_dtw(pred, gt, nb, torch.device("cpu"), "cudnn")


@pytest.mark.parametrize("seed", [0, 1])
def test_torch_engine_matches_cpu_engine(seed):
    pred, gt, nb = _inputs(seed)
    ref = min_grouped_dtw(pred, gt, nb, n_jobs=1)
    out = _min_grouped_dtw(pred, gt, nb, torch.device("cpu"), "torch", chunk_triples=7)
    assert out.shape == ref.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    assert out[1, 0] == 0.0


def test_torch_engine_unequal_lengths_matches_pair_loop():
    pred, gt, nb = _inputs(5, n=4, alpha=2, t=9, ty=12)
    out = _min_grouped_dtw(pred, gt, nb, torch.device("cpu"), "torch")
    np.testing.assert_allclose(out, _reference_min(pred, gt, nb), rtol=1e-12)


@pytest.mark.tslearn
def test_torch_engine_matches_tslearn_unequal_lengths():
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.standard_normal((2, 9, 25)).astype(np.float32))
    y = torch.from_numpy(rng.standard_normal((2, 13, 25)).astype(np.float32))
    xi, yi = torch.tensor([0, 1, 1]), torch.tensor([1, 0, 1])
    out = _triples_torch(x, y, xi, yi).numpy()
    ref = [_tslearn_grouped(x[a], y[b]) for a, b in zip(xi.tolist(), yi.tolist())]
    np.testing.assert_allclose(out, ref, rtol=1e-12)


def test_bad_input_names_argument():
    pred, gt, nb = _inputs(0)
    nb[2] = 0
    with pytest.raises(ValueError, match="neighbours: row 2"):
        _min_grouped_dtw(pred, gt, nb, torch.device("cpu"), "torch")
    pred[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="pred: non-finite"):
        _min_grouped_dtw(pred, gt, np.ones((6, 6)), torch.device("cpu"), "torch")


# ----------------------------------------------------------------------------- GPU tests
@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("engine", ["strips", "triton", "torch"])
@pytest.mark.parametrize("seed,t,ty", [(0, 14, None), (1, 33, None), (2, 20, 27)])
def test_gpu_matches_cpu_engine(engine, seed, t, ty):
    if engine == "triton" and not triton_available():
        pytest.skip("triton not installed")
    if engine == "strips" and not dtw_strips.available():
        pytest.skip("this torch cannot compile CUDA C at run time")
    pred, gt, nb = _inputs(seed, t=t, ty=ty)
    # the CPU engine's batched path assumes equal lengths; unequal ones use the pair loop
    ref = min_grouped_dtw(pred, gt, nb, n_jobs=1) if ty is None else _reference_min(pred, gt, nb)
    out = min_grouped_dtw_cuda(pred, gt, nb, device="cuda", engine=engine)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    if ty is None:
        assert out[1, 0] == 0.0


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("nb_per_prog,num_warps,y_dtype,au_bits",
                         [(1, 4, "float64", True), (1, 4, "float64", False),
                          (1, 4, "float32", False), (1, 2, "float64", True),
                          (1, 8, "float64", True), (2, 8, "float64", True),
                          (4, 8, "float32", True)])
def test_triton_configs_full_length(nb_per_prog, num_warps, y_dtype, au_bits):
    """T = 750 pairs, every launch configuration, against the numba single-pair DTW."""
    if not triton_available():
        pytest.skip("triton not installed")
    from reactbench.metrics.dtw_cuda import _triples_triton

    rng = np.random.default_rng(7)
    x = rng.random((3, 750, 25)).astype(np.float32)
    y = rng.random((4, 750, 25)).astype(np.float32)
    x[..., :15] = x[..., :15] > 0.7
    y[..., :15] = y[..., :15] > 0.7
    xi = np.array([0, 1, 2, 2, 0])
    yi = np.array([3, 0, 1, 2, 3])
    dev = torch.device("cuda")
    out = _triples_triton(torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev),
                          torch.from_numpy(xi).to(dev), torch.from_numpy(yi).to(dev),
                          nb=nb_per_prog, num_warps=num_warps, y_dtype=y_dtype,
                          au_bits=au_bits).cpu().numpy()
    ref = np.array([grouped_dtw(x[a], y[b]) for a, b in zip(xi, yi)])
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    ts = _tslearn_grouped(x[0], y[3])
    np.testing.assert_allclose(out[0], ts, rtol=1e-10)


@pytest.mark.gpu
@needs_cuda
def test_gpu_self_distance_is_zero():
    pred, gt, nb = _inputs(4, t=40)
    gt = pred[:, 2].copy()
    out = min_grouped_dtw_cuda(pred, gt, np.eye(6), device="cuda")
    assert np.all(out[:, 2] == 0.0)
    assert np.all(out >= 0.0)


needs_strips = pytest.mark.skipif(not (torch.cuda.is_available() and dtw_strips.available()),
                                  reason="needs CUDA and run-time CUDA C compilation")


@pytest.mark.gpu
@needs_strips
@pytest.mark.parametrize("t,ty,binary", [(750, 750, True), (750, 750, False), (5, 3, True),
                                         (31, 64, True), (97, 33, False), (300, 2100, True),
                                         (3, 3, True), (58, 58, False), (2100, 2100, True)])
def test_strips_bit_identical_to_cpu(t, ty, binary):
    """Every strip length (1, a full warp of columns, registers, local memory), bit masks and
    float AU columns: the same float64 values as the numba single-pair DTW, to the last bit for
    equal lengths."""
    from reactbench.metrics.dtw_cuda import _triples_strips

    rng = np.random.default_rng(t + ty)
    x = rng.random((3, t, 25)).astype(np.float32)
    y = rng.random((4, ty, 25)).astype(np.float32)
    if binary:
        x[..., :15] = x[..., :15] > 0.7
        y[..., :15] = y[..., :15] > 0.7
    xi = np.array([0, 1, 2, 2, 0])
    yi = np.array([3, 0, 1, 2, 3])
    dev = torch.device("cuda")
    out = _triples_strips(torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev),
                          torch.from_numpy(xi).to(dev), torch.from_numpy(yi).to(dev))
    ref = np.array([grouped_dtw(x[a], y[b]) for a, b in zip(xi, yi)])
    if t == ty:  # every protocol's case (a generation against a reaction of its length)
        np.testing.assert_array_equal(out.cpu().numpy(), ref)
    else:  # x longer than y: the last bit of the weighted sum may differ
        np.testing.assert_allclose(out.cpu().numpy(), ref, rtol=4e-16, atol=0)


@pytest.mark.gpu
@needs_strips
def test_strips_ragged_matches_cpu_ragged():
    """Variable-length samples (several strip lengths in one call), K targets each."""
    rng = np.random.default_rng(3)
    lengths = np.array([58, 200, 61, 750, 1300, 90])
    off = np.concatenate([[0], np.cumsum(lengths)])
    a, k = 4, 3
    pred = rng.random((a, off[-1], 25)).astype(np.float32)
    tg = rng.random((k, off[-1], 25)).astype(np.float32)
    pred[..., :15] = pred[..., :15] > 0.6
    tg[..., :15] = tg[..., :15] > 0.6
    tg[1, off[2]:off[3]] = pred[2, off[2]:off[3]]  # an exact match: 0 for (sample 2, gen 2)
    order = np.argsort(-lengths, kind="stable")
    ref = min_grouped_dtw_ragged(pred, tg, off, order, n_jobs=1)
    out = min_grouped_dtw_ragged_cuda(pred, tg, off, device="cuda")
    np.testing.assert_array_equal(out, ref)
    assert out[2, 2] == 0.0
