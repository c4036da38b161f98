"""Grouped DTW on the GPU as a strip wavefront: one warp per (x, y) pair and column group.

The fastest ``device="cuda"`` engine behind FRDist (``engine="strips"``), compiled at run time
from the CUDA C source below with NVRTC (through ``torch.cuda._compile_kernel``; when that is
missing the Triton engine of :mod:`reactbench.metrics.dtw_cuda` is used instead).

Layout. Lane ``l`` of the warp owns the columns ``[l * S, (l + 1) * S)`` of the DP (``S`` = the
strip, ``ceil(T_y / 32)``) and keeps its part of the previous row in registers. At step ``s``
lane ``l`` computes row ``i = s - l`` of its strip, left to right; the value left of its first
column (row ``i``) and the one diagonally above it (row ``i - 1``) are the last values lane
``l - 1`` computed at steps ``s - 1`` and ``s - 2``, passed by one warp shuffle per step. A pair
takes ``T_x + 31`` steps of ``S`` cells each: about ``4 %`` idle lanes at T 750 and no
synchronisation beyond the shuffle. The ``y`` columns are stored strip-interleaved
(``[S][group width][32]``) so that the 32 lanes read one 128-byte line per value.

Arithmetic: the same as the CPU engine and tslearn. Local cost = the squared Euclidean distance
over the group's columns in float64, summed in ascending column order (NVRTC runs with
``--fmad=false``: no fused multiply-add changes a rounding); accumulated cost ``c + min(up, left,
diagonal)`` in float64. Binary AU columns (every value exactly 0 or 1) use a bit mask per frame:
the cost is ``popc(x ^ y)`` and the accumulated cost an exact integer, the same numbers the float
sums give. The kernel returns accumulated costs; the caller takes square roots and weights.
"""

from __future__ import annotations

import math

_BIG = 1e300  # "infinity" of the float DP
_BIG_INT = 1 << 30  # "infinity" of the integer DP (costs <= 15 per cell: no overflow)

_SOURCE = r"""
#define STRIP %(strip)d
#define WIDTH %(width)d
#define BITS %(bits)d
#define UNROLL _Pragma("%(unroll)s")
typedef %(ytype)s ytype;

extern "C" __global__ void dtw_strips(
    const float* __restrict__ X, const ytype* __restrict__ Y,
    const int* __restrict__ XB, const int* __restrict__ YB,
    const long long* __restrict__ x_off, const int* __restrict__ x_len,
    const long long* __restrict__ y_base, const int* __restrict__ y_len,
    const long long* __restrict__ xi, const long long* __restrict__ yi,
    double* __restrict__ out, const long long* __restrict__ meta)
{
    // meta: n_pairs, x row stride (columns per frame of X), first column
    const long long n = meta[0];
    const int stride = (int)meta[1], c0 = (int)meta[2];
    const int lane = threadIdx.x & 31;
    const long long t = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (t >= n) return;  // the whole warp leaves together
    const long long xr = xi[t], yr = yi[t];
    const long long xo = x_off[xr];
    const int tx = x_len[xr], ty = y_len[yr];
    const long long yo = y_base[yr];
    const unsigned full = 0xffffffffu;
    const int last_lane = (ty - 1) / STRIP, last_col = (ty - 1) %% STRIP;
    if (BITS) {
        int prev[STRIP];
        int ym[STRIP];
        UNROLL
        for (int k = 0; k < STRIP; ++k) {
            prev[k] = %(big_int)d;
            ym[k] = YB[yo + (long long)k * 32 + lane];
        }
        int mine = %(big_int)d;           // my last value of the row computed last step
        int diag = lane == 0 ? 0 : %(big_int)d;  // D[i - 1][j0 - 1]; D[-1][-1] = 0
        for (int s = 0; s < tx + 31; ++s) {
            int from_left = __shfl_up_sync(full, mine, 1);
            if (lane == 0) from_left = %(big_int)d;
            const int i = s - lane;
            if (i >= 0 && i < tx) {
                const int xm = XB[xo + i];
                int left = from_left, dg = diag;
                UNROLL
                for (int k = 0; k < STRIP; ++k) {
                    const int up = prev[k];
                    const int m1 = up < dg ? up : dg;
                    const int v = __popc(xm ^ ym[k]) + (m1 < left ? m1 : left);
                    dg = up;
                    left = v;
                    prev[k] = v;
                }
                mine = prev[STRIP - 1];
                diag = from_left;
                if (i == tx - 1 && lane == last_lane) {
                    int r = 0;
                    UNROLL
                    for (int k = 0; k < STRIP; ++k) if (k == last_col) r = prev[k];
                    out[t] = (double)r;
                }
            }
        }
        return;
    }
    double prev[STRIP];
    UNROLL
    for (int k = 0; k < STRIP; ++k) prev[k] = %(big)r;
    double mine = %(big)r;
    double diag = lane == 0 ? 0.0 : %(big)r;
    const ytype* yl = Y + yo + lane;
    for (int s = 0; s < tx + 31; ++s) {
        double from_left = __shfl_up_sync(full, mine, 1);
        if (lane == 0) from_left = %(big)r;
        const int i = s - lane;
        if (i >= 0 && i < tx) {
            double xv[WIDTH];
            #pragma unroll
            for (int g = 0; g < WIDTH; ++g) xv[g] = (double)X[(xo + i) * stride + c0 + g];
            double left = from_left, dg = diag;
            UNROLL
            for (int k = 0; k < STRIP; ++k) {
                double c = 0.0;
                #pragma unroll
                for (int g = 0; g < WIDTH; ++g) {
                    const double d = xv[g] - (double)yl[(k * WIDTH + g) * 32];
                    c = c + d * d;
                }
                const double up = prev[k];
                const double m1 = up < dg ? up : dg;  // off the left-to-right chain
                const double v = c + (m1 < left ? m1 : left);
                dg = up;
                left = v;
                prev[k] = v;
            }
            mine = prev[STRIP - 1];
            diag = from_left;
            if (i == tx - 1 && lane == last_lane) {
                double r = 0.0;
                UNROLL
                for (int k = 0; k < STRIP; ++k) if (k == last_col) r = prev[k];
                out[t] = r;
            }
        }
    }
}
"""

_KERNELS: dict[tuple, object] = {}
# the dtype the y columns are kept in on the device: "float64" saves a conversion per value in
# the inner loop, "float32" halves the bytes read; the same values either way
# (fastest on an H100: float32, 8 warps per block; benchmarks/metrics_gpu.py sweeps them)
CONFIG = {"y_dtype": "float32", "warps_per_block": 8}


def available() -> bool:
    """True when this torch can compile CUDA C at run time (``torch.cuda._compile_kernel``)."""
    import torch  # optional GPU dependency: imported only on this path

    return callable(getattr(torch.cuda, "_compile_kernel", None))


def strip_for(frames: int) -> int:
    """Strip length for sequences of ``frames`` columns: ceil(frames / 32), rounded up to a
    multiple of 4 above 16 (fewer distinct kernels to compile)."""
    s = max(1, math.ceil(frames / 32))
    return s if s <= 16 else 4 * math.ceil(s / 4)


def kernel(strip: int, width: int, bits: bool, y_dtype: str = "float32"):
    """The compiled kernel for one strip length, group width, cost kind (bit masks or floats)
    and y dtype (compiled once per process)."""
    key = (strip, width, bool(bits), y_dtype)
    if key not in _KERNELS:
        import torch  # optional GPU dependency: imported only on this path

        # registers for the strip when fully unrolled; long strips live in local memory
        unroll = "unroll" if strip <= 64 else "unroll 4"
        ytype = {"float32": "float", "float64": "double"}[y_dtype]
        src = _SOURCE % {"strip": strip, "width": width, "bits": int(bool(bits)), "big": _BIG,
                         "big_int": _BIG_INT, "unroll": unroll, "ytype": ytype}
        _KERNELS[key] = torch.cuda._compile_kernel(src, "dtw_strips",
                                                  nvcc_options=["--fmad=false"])
    return _KERNELS[key]


def interleave(y, strip: int, c0: int, c1: int, dtype: str = "float32"):
    """(Ny, T, 25) float32 -> the group's columns strip-interleaved, (Ny, strip, c1 - c0, 32)
    contiguous in ``dtype`` (zero-padded to 32 * strip frames)."""
    import torch  # optional GPU dependency: imported only on this path

    ny, t, _ = y.shape
    pad = 32 * strip
    g = torch.zeros((ny, pad, c1 - c0), dtype=getattr(torch, dtype), device=y.device)
    g[:, :t] = y[:, :, c0:c1]
    return g.reshape(ny, 32, strip, c1 - c0).permute(0, 2, 3, 1).contiguous()


def interleave_bits(mask, strip: int):
    """(Ny, T) int32 bit masks -> (Ny, strip, 32) int32 contiguous (zero-padded)."""
    import torch  # optional GPU dependency: imported only on this path

    ny, t = mask.shape
    g = torch.zeros((ny, 32 * strip), dtype=torch.int32, device=mask.device)
    g[:, :t] = mask
    return g.reshape(ny, 32, strip).permute(0, 2, 1).contiguous()


def pack_bits(x, c0: int, c1: int):
    """(..., T, 25) tensor -> (..., T) int32 bit masks of columns c0:c1, or None unless every
    value there is exactly 0 or 1 (then popcount(a ^ b) equals the float cost exactly)."""
    import torch  # optional GPU dependency: imported only on this path

    cols = x[..., c0:c1]
    if c1 - c0 > 31 or not bool(((cols == 0) | (cols == 1)).all()):
        return None
    weights = 2 ** torch.arange(c1 - c0, device=x.device, dtype=torch.int32)
    return (cols.to(torch.int32) * weights).sum(dim=-1, dtype=torch.int32).contiguous()


def pair_costs(x, x_off, x_len, y, y_len, xi, yi, c0: int, c1: int, *, xb=None, yb=None):
    """Accumulated DTW costs of column group c0:c1 for every pair (xi[p], yi[p]).

    x: (frames, 25) float32 on the GPU (all x sequences packed; sequence r is rows
    x_off[r]:x_off[r] + x_len[r], int64 / int32 tensors); y: (Ny, Ty, 25) float32 (sequence q is
    y[q, :y_len[q]], int32); xb, yb: (frames,) / (Ny, Ty) int32 bit masks of a binary group, or
    None; xi, yi: (n,) int64. Returns (n,) float64 accumulated costs (no square root).
    """
    import torch  # optional GPU dependency: imported only on this path

    n = int(xi.shape[0])
    out = torch.empty(n, dtype=torch.float64, device=x.device)
    if n == 0:
        return out
    strip = strip_for(int(y.shape[1]))
    bits = xb is not None and yb is not None
    width = c1 - c0
    if bits:
        ym = interleave_bits(yb, strip)
        yf, per = x, strip * 32  # yf unused by the bit-mask branch
    else:
        yf = interleave(y, strip, c0, c1, CONFIG["y_dtype"])
        ym, xb, per = x_len, x_len, strip * width * 32  # ym, xb unused by the float branch
    y_base = torch.arange(y.shape[0], device=x.device, dtype=torch.int64) * per
    meta = torch.tensor([n, x.shape[1], c0, width, int(bits)], dtype=torch.int64,
                        device=x.device)
    warps = CONFIG["warps_per_block"]
    blocks = math.ceil(n / warps)
    kernel(strip, width, bits, CONFIG["y_dtype"])(grid=(blocks, 1, 1), block=(32 * warps, 1, 1),
                  args=[x, yf, xb, ym, x_off, x_len, y_base, y_len, xi, yi, out, meta])
    return out


def grouped_pair_costs(x, x_off, x_len, y, y_len, xi, yi, groups, au_columns) -> list:
    """Accumulated costs of every group (list of (n,) float64 tensors, in ``groups`` order);
    the AU group through bit masks when its columns are binary in both x and y."""
    costs = []
    for c0, c1, _ in groups:
        xb = yb = None
        if (c0, c1) == au_columns:
            xb = pack_bits(x, c0, c1)
            yb = pack_bits(y, c0, c1) if xb is not None else None
        costs.append(pair_costs(x, x_off, x_len, y, y_len, xi, yi, c0, c1, xb=xb, yb=yb))
    return costs
