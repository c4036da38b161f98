"""Exact grouped DTW on the GPU, the ``device="cuda"`` engine behind FRDist.

Same values as the CPU engine (:mod:`reactbench.metrics.dtw_engine`) and ``tslearn.metrics.dtw``:
per column group (AU 0:15, VA 15:17, FE 17:25) a multivariate DTW with steps (i-1, j), (i, j-1),
(i-1, j-1), local cost the squared Euclidean distance over the group's columns (inputs cast to
float32, every cost and sum in float64), value = sqrt of the minimal accumulated cost; the grouped
distance is ``1/15 DTW_AU + 1 DTW_VA + 1/8 DTW_FE`` and FRDist keeps its minimum over the
appropriate real reactions. Hard min, no band, no soft-DTW.

Three engines, all batched over all (speaker, generation, neighbour) triples:

* ``strips`` (the fastest; CUDA C compiled at run time, :mod:`reactbench.metrics.dtw_strips`):
  one warp per triple and group, each lane a strip of columns, rows swept as a wavefront.
* ``triton`` (the fast one; Triton ships with CUDA builds of PyTorch): one program per triple and
  group, sweeping the rows of the DP. A row is one associative scan: with ``P`` the previous row,
  ``c`` the cost row and ``R_j = min(P_j, D_j)``, the recurrence
  ``D_j = c_j + min(P_j, P_{j-1}, D_{j-1})`` becomes ``D_j = c_j + min(P_j, R_{j-1})`` and
  ``R_j = min(P_j, c_j + R_{j-1})``: both are (min, +)-affine in ``R_{j-1}``, so the row is an
  inclusive scan of such maps, exact (only additions of non-negative numbers and minima, no
  cancellation; ``DTW(x, x)`` is exactly 0).
* ``torch`` (fallback, any torch device): the textbook anti-diagonal wavefront over cost matrices,
  the same arithmetic as tslearn; slow on big inputs, used when Triton is missing and in CPU tests.
"""

from __future__ import annotations

import math

import numpy as np

from reactbench.metrics import dtw_strips
from reactbench.metrics.constants import AU_COLUMNS, DTW_GROUPS, EMOTION_DIM
from reactbench.metrics.validate import (
    check_neighbours,
    check_pred,
    check_sequences,
    is_cuda_device,
)

_BIG = 1e300  # "infinity" of the DP: finite so no inf - inf or inf * 0 can appear
_ENGINES = ("auto", "strips", "triton", "torch")


# ----------------------------------------------------------------------------- device checks
def resolve_cuda_device(device: str = "cuda"):
    """``"cuda"`` / ``"cuda:k"`` -> ``torch.device``; a clear ValueError when CUDA is unusable."""
    import torch  # optional GPU dependency: imported only on this path

    name = str(device)
    if not is_cuda_device(name):
        raise ValueError(
            f"device: expected 'cuda' or 'cuda:k' for the GPU DTW engine, got {name!r}"
        )
    if not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise ValueError(
            f"device={name!r} requested but torch.cuda.is_available() is False (torch "
            f"{torch.__version__}, {build}); use device='cpu' or run on a machine with a GPU"
        )
    dev = torch.device(name)
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(
            f"device={name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist"
        )
    return dev


def triton_available() -> bool:
    """True when Triton imports (it is never imported at module load)."""
    try:
        import triton  # noqa: F401
    except Exception:
        return False
    return True


# ----------------------------------------------------------------------------- public entry
def min_grouped_dtw_cuda(pred, gt, neighbours, *, device: str = "cuda",
                         engine: str = "auto") -> np.ndarray:
    """Per (speaker, generation) minimum grouped DTW over the appropriate real reactions, on GPU.

    pred: (N, alpha, T, 25); gt: (N, T', 25); neighbours: (N, N) 0/1 with
    ``neighbours[i, j] == 1`` when ``gt[j]`` is appropriate for speaker i (every row non-empty).
    Returns (N, alpha) float64, ``out[i, k] = min_j grouped_dtw(pred[i, k], gt[j])``, the same
    values as ``reactbench.metrics.dtw_engine.min_grouped_dtw`` (to float64 rounding).
    ``engine``: "strips" (fastest), "triton", "torch" (slow fallback) or "auto" (strips when
    this torch compiles CUDA C at run time, else triton when it imports, else torch).
    """
    dev = resolve_cuda_device(device)
    return _min_grouped_dtw(pred, gt, neighbours, dev, engine)


def _check_inputs(pred, gt, neighbours) -> tuple[np.ndarray, np.ndarray, np.ndarray]:

    p = check_pred(pred, "pred")
    g = check_sequences(gt, "gt", n=p.shape[0])
    nb = check_neighbours(neighbours, p.shape[0], "neighbours")
    return p, g, nb


def _triples(nb: np.ndarray, alpha: int) -> tuple[np.ndarray, np.ndarray]:
    """(x row of pred.reshape(N * alpha, ...), gt row) of every triple, sorted by gt row so that
    programs running side by side read the same reaction (cache reuse). int64 arrays."""
    rows, cols = np.nonzero(nb)
    order = np.argsort(cols, kind="stable")
    rows, cols = rows[order], cols[order]
    gen = np.arange(alpha, dtype=np.int64)
    x_idx = (rows.astype(np.int64)[:, None] * alpha + gen[None, :]).reshape(-1)
    y_idx = np.repeat(cols.astype(np.int64), alpha)
    return x_idx, y_idx


def _min_grouped_dtw(pred, gt, neighbours, dev, engine: str = "auto",
                     chunk_triples: int | None = None) -> np.ndarray:
    """Engine-agnostic body of :func:`min_grouped_dtw_cuda` on any torch device ``dev``."""
    import torch  # optional GPU dependency: imported only on this path

    if engine not in _ENGINES:
        raise ValueError(f"engine: expected one of {_ENGINES}, got {engine!r}")
    if engine == "auto":
        engine = ("strips" if dev.type == "cuda" and dtw_strips.available() else
                  "triton" if dev.type == "cuda" and triton_available() else "torch")
    if engine == "strips" and not dtw_strips.available():
        raise ValueError("engine='strips' needs torch.cuda._compile_kernel (PyTorch >= 2.8 "
                         "with CUDA); use engine='triton' or 'torch'")
    if engine == "triton" and not triton_available():
        raise ValueError("engine='triton' requested but triton does not import; "
                         "pip install triton, or use engine='torch'")
    p, g, nb = _check_inputs(pred, gt, neighbours)
    n, alpha, t, d = p.shape
    x_idx, y_idx = _triples(nb, alpha)
    x = torch.from_numpy(p.reshape(n * alpha, t, d)).to(dev, non_blocking=True)
    y = torch.from_numpy(g).to(dev, non_blocking=True)
    xi = torch.from_numpy(x_idx).to(dev)
    yi = torch.from_numpy(y_idx).to(dev)
    if engine == "strips":
        dist = _triples_strips(x, y, xi, yi)
    elif engine == "triton":
        dist = _triples_triton(x, y, xi, yi)
    else:
        dist = _triples_torch(x, y, xi, yi, chunk_triples)
    best = torch.full((n * alpha,), math.inf, dtype=torch.float64, device=dev)
    best.scatter_reduce_(0, xi, dist, reduce="amin")
    return best.reshape(n, alpha).cpu().numpy()


def _weighted(per_group: list) -> object:
    """sum_g w_g * sqrt(cost_g), in the official order (AU, VA, FE); float64 tensors."""
    out = None
    for (_, _, w), cost in zip(DTW_GROUPS, per_group):
        term = w * cost.sqrt()
        out = term if out is None else out + term
    return out


# ----------------------------------------------------------------------------- triton engine
_KERNEL = None


def _build_kernel():
    """Compile-on-first-use Triton kernel (module import stays Triton-free)."""
    global _KERNEL
    if _KERNEL is not None:
        return _KERNEL
    import triton  # optional (GPU extra): imported only on this path
    import triton.language as tl

    @triton.jit
    def _combine(a1, g1, f1, a2, g2, f2):
        # compose (min,+)-affine maps r -> min(g, a + r) (the R recurrence) and
        # r -> min(f, a + r) (the D output of the segment's last element)
        return a1 + a2, tl.minimum(g2, a2 + g1), tl.minimum(f2, a2 + g1)

    # Triton resolves the names a kernel calls through the module's globals
    globals()["_combine"] = _combine

    @triton.jit
    def _kernel(X, YT, XB, YB, XI, YI, OUT, n_triples, TX, TY,
                C0: tl.constexpr, C1: tl.constexpr, D: tl.constexpr, BITS: tl.constexpr,
                NB: tl.constexpr, BLOCK: tl.constexpr):
        # X: (Nx, TX, D) f32; YT: (Ny, D, TY) f32 or f64; XI/YI: (n_triples,) int64; OUT: f64
        # costs. BITS: the group's columns are 0/1 and packed into XB (Nx, TX) / YB (Ny, TY)
        # int32 bit masks, so its cost is popcount(x ^ y), the same integer the float sum gives.
        pid = tl.program_id(0)
        rows = pid * NB + tl.arange(0, NB)
        rmask = rows < n_triples
        xi = tl.load(XI + rows, mask=rmask, other=0)
        yi = tl.load(YI + rows, mask=rmask, other=0)
        cols = tl.arange(0, BLOCK)
        cmask = cols < TY
        m2 = rmask[:, None] & cmask[None, :]
        x_row = X + xi * (TX * D)
        y_ptr = YT + (yi * (D * TY))[:, None] + cols[None, :]
        xb_row = XB + xi * TX
        yb = tl.zeros([NB, BLOCK], tl.int32)
        if BITS:
            yb = tl.load(YB + (yi * TY)[:, None] + cols[None, :], mask=m2, other=0)
        prev = tl.full([NB, BLOCK], 1e300, tl.float64)
        r0 = tl.zeros([NB, BLOCK], tl.float64)  # R_{-1}: 0 on row 0 (D[-1, -1] = 0), then BIG
        for i in tl.range(0, TX):
            if BITS:
                v = tl.load(xb_row + i, mask=rmask, other=0)[:, None] ^ yb
                v = v - ((v >> 1) & 0x55555555)
                v = (v & 0x33333333) + ((v >> 2) & 0x33333333)
                v = (v + (v >> 4)) & 0x0F0F0F0F
                v = (v + (v >> 8)) & 0x00FF00FF
                v = (v + (v >> 16)) & 0x0000FFFF
                c = v.to(tl.float64)
            else:
                c = tl.zeros([NB, BLOCK], tl.float64)
                for k in tl.static_range(C0, C1):
                    xv = tl.load(x_row + i * D + k, mask=rmask, other=0.0).to(tl.float64)
                    yv = tl.load(y_ptr + k * TY, mask=m2, other=0.0).to(tl.float64)
                    diff = xv[:, None] - yv
                    c += diff * diff
            c = tl.where(m2, c, 0.0)
            a, g, f = tl.associative_scan((c, prev, c + prev), 1, _combine)
            prev = tl.minimum(f, a + r0)
            r0 = tl.full([NB, BLOCK], 1e300, tl.float64)
        last = tl.sum(tl.where(cols[None, :] == TY - 1, prev, 0.0), axis=1)
        tl.store(OUT + rows, last, mask=rmask)

    _KERNEL = _kernel
    return _KERNEL


# launch configuration (tuned on an H100): triples per program, warps per program, the dtype
# in which the reactions are kept on the device (float64 saves a slow per-element float32 ->
# float64 conversion in the cost loop), and whether binary AU columns use the bit-mask cost.
# Every setting gives the same values.
TRITON_CONFIG = {"nb": 1, "num_warps": 4, "y_dtype": "float64", "au_bits": True}


_pack_bits = dtw_strips.pack_bits


def _triples_strips(x, y, xi, yi):
    """Weighted grouped DTW of every triple on the strip-wavefront kernel: x (Nx, TX, 25),
    y (Ny, TY, 25) float32 on the GPU, xi / yi (n,) int64 -> (n,) float64."""
    import torch  # optional GPU dependency: imported only on this path

    nx, tx = x.shape[:2]
    dev = x.device
    x_off = torch.arange(nx, device=dev, dtype=torch.int64) * tx
    x_len = torch.full((nx,), tx, device=dev, dtype=torch.int32)
    y_len = torch.full((y.shape[0],), y.shape[1], device=dev, dtype=torch.int32)
    costs = dtw_strips.grouped_pair_costs(x.reshape(nx * tx, -1), x_off, x_len, y, y_len,
                                          xi, yi, DTW_GROUPS, AU_COLUMNS)
    return _weighted(costs)


def _triples_triton(x, y, xi, yi, nb: int | None = None, num_warps: int | None = None,
                    y_dtype: str | None = None, au_bits: bool | None = None):
    """Weighted grouped DTW of every triple: x (Nx, TX, 25) f32, y (Ny, TY, 25) f32 on the GPU,
    xi / yi (n,) int64 -> (n,) float64."""
    import torch  # optional GPU dependency: imported only on this path
    import triton  # optional (GPU extra): imported only on this path

    kernel = _build_kernel()
    cfg = TRITON_CONFIG
    nb = nb or cfg["nb"]
    num_warps = num_warps or cfg["num_warps"]
    y_dtype = getattr(torch, y_dtype or cfg["y_dtype"])
    au_bits = cfg["au_bits"] if au_bits is None else au_bits
    n = xi.shape[0]
    tx, ty = x.shape[1], y.shape[1]
    yt = y.transpose(1, 2).to(y_dtype).contiguous()
    block = max(16, triton.next_power_of_2(ty))
    grid = (triton.cdiv(n, nb),)
    costs = []
    for c0, c1, _ in DTW_GROUPS:
        xb = yb = None
        if au_bits and (c0, c1) == AU_COLUMNS:
            xb = _pack_bits(x, c0, c1)
            yb = _pack_bits(y, c0, c1) if xb is not None else None
        bits = xb is not None and yb is not None
        if not bits:
            xb = yb = xi  # unused placeholders
        out = torch.empty(n, dtype=torch.float64, device=x.device)
        kernel[grid](x, yt, xb, yb, xi, yi, out, n, tx, ty, C0=c0, C1=c1, D=EMOTION_DIM,
                     BITS=bits, NB=nb, BLOCK=block, num_warps=num_warps)
        costs.append(out)
    return _weighted(costs)


# ----------------------------------------------------------------------------- torch engine
def _dtw_costs_torch(xg, yg):
    """Accumulated DTW cost of each pair: xg (B, TX, d), yg (B, TY, d) float64 -> (B,) float64.

    Anti-diagonal wavefront over a padded (TX + 1, TY + 1) table; cost summed column by column in
    ascending order and ``c + min(up, left, diag)``, the same arithmetic as tslearn.
    """
    import torch  # optional GPU dependency: imported only on this path

    b, tx, d = xg.shape
    ty = yg.shape[1]
    cost = torch.zeros((b, tx, ty), dtype=torch.float64, device=xg.device)
    for k in range(d):
        diff = xg[:, :, None, k] - yg[:, None, :, k]
        cost += diff * diff
    w = ty + 1
    table = torch.full((b, (tx + 1) * w), _BIG, dtype=torch.float64, device=xg.device)
    table[:, 0] = 0.0
    flat_cost = cost.reshape(b, -1)
    for s in range(2, tx + ty + 1):
        i = torch.arange(max(1, s - ty), min(tx, s - 1) + 1, device=xg.device)
        j = s - i
        idx = i * w + j
        step = torch.minimum(torch.minimum(table[:, idx - w], table[:, idx - 1]),
                             table[:, idx - w - 1])
        table[:, idx] = flat_cost[:, (i - 1) * ty + (j - 1)] + step
    return table[:, -1]


def _triples_torch(x, y, xi, yi, chunk_triples: int | None = None):
    """Torch fallback of :func:`_triples_triton` (any device): (n,) float64."""
    import torch  # optional GPU dependency: imported only on this path

    n = xi.shape[0]
    tx, ty = x.shape[1], y.shape[1]
    if chunk_triples is None:  # ~ 256 MiB of float64 cost + table per chunk
        chunk_triples = max(1, (256 << 20) // (16 * (tx + 1) * (ty + 1)))
    out = torch.empty(n, dtype=torch.float64, device=x.device)
    for lo in range(0, n, chunk_triples):
        sl = slice(lo, min(n, lo + chunk_triples))
        xb = x[xi[sl]].to(torch.float64)
        yb = y[yi[sl]].to(torch.float64)
        costs = [_dtw_costs_torch(xb[..., c0:c1], yb[..., c0:c1]) for c0, c1, _ in DTW_GROUPS]
        out[sl] = _weighted(costs)
    return out


# ----------------------------------------------------------------------------- ragged samples
def min_grouped_dtw_ragged_cuda(pred: np.ndarray, tg: np.ndarray, off: np.ndarray, *,
                                device: str = "cuda") -> np.ndarray:
    """Per (sample, generation) minimum grouped DTW over the sample's targets on the GPU, for
    variable-length samples packed along time: pred (A, L, 25), tg (K, L, 25) float32, sample s
    = frames off[s]:off[s + 1]. Returns (N, A) float64, the values of
    :func:`reactbench.metrics.dtw_engine.min_grouped_dtw_ragged` (to float64 rounding; whole
    clips, no chunking). Samples are grouped by strip length so that each launch pads its
    targets only to the longest clip of its group. Needs the ``strips`` engine."""
    import torch  # optional GPU dependency: imported only on this path

    dev = resolve_cuda_device(device)
    if not dtw_strips.available():
        raise ValueError("FRDist on variable-length clips on the GPU needs "
                         "torch.cuda._compile_kernel (PyTorch >= 2.8 with CUDA); use "
                         "device='cpu'")
    a, total, _ = pred.shape
    k = tg.shape[0]
    off = np.asarray(off, dtype=np.int64)
    lengths = np.diff(off)
    n = lengths.size
    x = torch.from_numpy(np.ascontiguousarray(pred, dtype=np.float32)).to(dev)
    x = x.reshape(a * total, -1)
    t = torch.from_numpy(np.ascontiguousarray(tg, dtype=np.float32)).to(dev)
    t = t.reshape(k * total, -1)
    strips = np.array([dtw_strips.strip_for(int(v)) for v in lengths])
    out = np.empty((n, a), dtype=np.float64)
    for strip in np.unique(strips):
        samples = np.flatnonzero(strips == strip)
        nb, tmax = samples.size, int(lengths[samples].max())
        lens = lengths[samples]
        # targets of the group padded to tmax: y row q = k * nb + u is target k of sample u
        frame = np.arange(tmax)[None, :]
        rows = (np.arange(k)[:, None, None] * total + off[samples][None, :, None]
                + np.minimum(frame, lens[:, None] - 1)[None]).reshape(k * nb, tmax)
        y = t[torch.from_numpy(rows).to(dev)]
        valid = torch.from_numpy(np.tile(frame < lens[:, None], (k, 1))).to(dev)
        y = torch.where(valid[..., None], y, torch.zeros((), device=dev))
        y_len = torch.from_numpy(np.tile(lens, k).astype(np.int32)).to(dev)
        # x row r = g * nb + u is generation g of sample u
        x_off = torch.from_numpy((np.arange(a)[:, None] * total
                                  + off[samples][None, :]).reshape(-1)).to(dev)
        x_len = torch.from_numpy(np.tile(lens, a).astype(np.int32)).to(dev)
        # pairs ordered (u, target, generation): pairs reading the same target are adjacent
        u, kk, g = np.meshgrid(np.arange(nb), np.arange(k), np.arange(a), indexing="ij")
        xi = torch.from_numpy((g * nb + u).reshape(-1).astype(np.int64)).to(dev)
        yi = torch.from_numpy((kk * nb + u).reshape(-1).astype(np.int64)).to(dev)
        costs = dtw_strips.grouped_pair_costs(x, x_off, x_len, y, y_len, xi, yi, DTW_GROUPS,
                                              AU_COLUMNS)
        dist = _weighted(costs).reshape(nb, k, a).amin(dim=1)
        out[samples] = dist.cpu().numpy()
    return out
