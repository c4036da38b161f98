"""Triton kernels for the UNet at sampling batch sizes (a few windows, 16-128 positions).

At batch 1 a UNet step of the paper preset is bound by per-kernel latency, not by arithmetic
or weight reads: torch (even compiled) runs 410 kernels per step, these 163. Activations here are
channels-last, (B, L, C) contiguous, so that every operand tile is contiguous along channels,
and a residual block is four kernels:

- :func:`norm_act`: one program per (row, group) reduces the group and writes
  act(GroupNorm(x) [* (1 + scale) + shift]) (act = SiLU or identity); its input may be the
  channel concatenation of two tensors (the UNet's up path), read in place;
- :func:`conv1d`: a convolution (k taps, stride 1 or 2, optional nearest x2 upsampling of its
  input) as one matrix product over (tap, channel), plus an optional 1x1 skip convolution of
  another (pair of) input(s), bias and residual in the epilogue.

Weights: ``conv_weight`` turns an nn.Conv1d weight (C_out, C_in, k) into (C_out, k * C_in)
(tap-major), whose rows are contiguous along the matrix product's K. Runs on CUDA, or on the
CPU under ``TRITON_INTERPRET=1`` (tests).

Programmatic dependent launch (Hopper and later; :func:`pdl_enabled`): every kernel of a
batch-1 shape (at most ``PDL_MAX_ROWS`` activation rows) is launched while its predecessor
runs, asks the hardware to wait for the predecessor's completion (``griddepcontrol.wait``)
before it reads anything another kernel writes, and only then lets its own successor launch.
Before waiting, a convolution prefetches its (never written) weights into L2, up to
``PREFETCH_BYTES`` per layer, so the next layer's weight reads overlap the current one. At
batch 1 this hides most of the per-kernel launch and memory latency of a UNet step.
``REACTBENCH_PDL=0`` turns it off and ``REACTBENCH_PREFETCH_MB`` sets the prefetch (A/B
benchmarks); results are the same bit for bit.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl


@triton.jit
def _norm_act_kernel(x1, x2, c1, c2, length, gamma, beta, film, film_stride, y,
                     groups, group_size, eps,
                     SILU: tl.constexpr, HAS_X2: tl.constexpr, HAS_FILM: tl.constexpr,
                     BLOCK_L: tl.constexpr, BLOCK_G: tl.constexpr, PDL: tl.constexpr):
    if PDL:
        _pdl_start()
    pid = tl.program_id(0)
    b = pid // groups
    g = pid % groups
    cc = tl.arange(0, BLOCK_G)
    c = g * group_size + cc
    cm = cc < group_size
    pos = tl.arange(0, BLOCK_L)
    mask = (pos < length)[:, None] & cm[None, :]
    rows = b * length + pos[:, None]
    v = tl.load(x1 + rows * c1 + c[None, :], mask=mask & (c < c1)[None, :], other=0.0)
    v = v.to(tl.float32)
    if HAS_X2:
        v2 = tl.load(x2 + rows * c2 + (c - c1)[None, :], mask=mask & (c >= c1)[None, :],
                     other=0.0)
        v += v2.to(tl.float32)
    n = group_size * length
    mean = tl.sum(tl.sum(v, axis=1), axis=0) / n
    diff = tl.where(mask, v - mean, 0.0)
    var = tl.sum(tl.sum(diff * diff, axis=1), axis=0) / n
    rstd = 1.0 / tl.sqrt(var + eps)
    a = rstd * tl.load(gamma + c, mask=cm, other=0.0).to(tl.float32)
    d = tl.load(beta + c, mask=cm, other=0.0).to(tl.float32) - mean * a
    ch = c1 + c2
    if HAS_FILM:  # h * (1 + scale) + shift, scale/shift = film[b, :C], film[b, C:]
        scale = 1.0 + tl.load(film + b * film_stride + c, mask=cm, other=0.0).to(tl.float32)
        shift = tl.load(film + b * film_stride + ch + c, mask=cm, other=0.0).to(tl.float32)
        a = a * scale
        d = d * scale + shift
    out = v * a[None, :] + d[None, :]
    if SILU:
        out = out * tl.sigmoid(out)
    tl.store(y + rows * ch + c[None, :], out.to(y.dtype.element_ty), mask=mask)


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


PREFETCH_BYTES = 16 << 20  # a convolution's weights prefetched into L2 before it waits (PDL)
_PDL: dict[torch.device, bool] = {}


def pdl_enabled(device: torch.device) -> bool:
    """Whether the kernels on ``device`` use programmatic dependent launch: a CUDA device of
    compute capability 9 or more, not under the interpreter, unless ``REACTBENCH_PDL=0``."""
    if os.environ.get("REACTBENCH_PDL", "1") == "0" or _interpreting() or device.type != "cuda":
        return False
    if device not in _PDL:
        _PDL[device] = torch.cuda.get_device_capability(device)[0] >= 9
    return _PDL[device]


def _prefetch_frac(weight: torch.Tensor) -> int:
    """Sixteenths of a layer's weights to prefetch: all of them up to ``PREFETCH_BYTES``
    (``REACTBENCH_PREFETCH_MB`` overrides it; batch-1 layers only: larger ones are not bound
    by weight reads)."""
    budget = PREFETCH_BYTES
    if os.environ.get("REACTBENCH_PREFETCH_MB"):
        budget = int(float(os.environ["REACTBENCH_PREFETCH_MB"]) * (1 << 20))
    size = weight.numel() * weight.element_size()
    return max(0, min(16, (16 * budget) // max(size, 1)))


@triton.jit
def _pdl_start():
    """Wait for the previous kernel (its writes are visible after this), then let the next one
    launch (it waits in turn, so at most one kernel runs ahead)."""
    tl.extra.cuda.gdc_wait()
    tl.extra.cuda.gdc_launch_dependents()


@triton.jit
def _prefetch(w, n, nm, k_all, k_off, lo, hi, FRAC: tl.constexpr, LINE: tl.constexpr):
    """Prefetch into L2 the first FRAC / 16 of w[n, k_off + lo:k_off + hi] (rows n where nm),
    one request per cache line of LINE elements."""
    end = lo + (hi - lo) * FRAC // 16
    rows = tl.where(nm, n, 0) * k_all + k_off
    for c0 in range(lo, end, 8 * LINE):
        c = tl.minimum(c0 + tl.arange(0, 8) * LINE, end - 1)
        tl.inline_asm_elementwise("prefetch.global.L2 [$1]; // $0", "=r,l",
                                  [w + rows[:, None] + c[None, :]], dtype=tl.int32,
                                  is_pure=False, pack=1)


def _conv_configs():
    """Tiles (rows x C_out x K chunk, warps, stages, K splits) tried per layer shape on the GPU;
    :func:`_prune` keeps those that fit the shape. One under the interpreter: wide tiles, as
    it runs one program per tile at a fixed cost per operation."""
    if _interpreting():
        return [triton.Config({"BLOCK_M": m, "BLOCK_N": 64, "BLOCK_K": 128, "SPLIT": 1})
                for m in (16, 32, 64)]
    # the best tiles of benchmarks/triton_kernels.py on the paper preset's layers (H100): few,
    # so that the first call of each layer shape compiles a handful of variants
    small = ((16, 128, 4, 4, 1), (32, 128, 4, 4, 4), (16, 128, 4, 4, 4))
    large = ((64, 64, 4, 4, 1), (64, 128, 4, 3, 1), (32, 128, 4, 4, 1), (64, 64, 8, 3, 1))
    return [triton.Config({"BLOCK_M": m, "BLOCK_N": bn, "BLOCK_K": bk, "SPLIT": sp},
                          num_warps=wp, num_stages=st)
            for m in (16, 32, 64) for bn, bk, wp, st, sp in small] + [
        triton.Config({"BLOCK_M": m, "BLOCK_N": bn, "BLOCK_K": bk, "SPLIT": 1},
                      num_warps=wp, num_stages=st)
        for m, (bn, bk, wp, st, _) in zip((64, 64, 64, 128), large)]


SPLIT_MAX_ROWS = 64  # K splits only for layers of at most this many output rows (batch 1)


def _block_m(rows: int) -> int:
    """Rows per program for layers of up to 64 output rows: all of them in one block."""
    return max(16, triton.next_power_of_2(rows))


def _prune(configs, named_args, **kwargs):
    """Configs that fit the layer: up to 64 output rows, one block of all rows (K splits where
    K is long); more rows, blocks of 64 or 128 rows and no split."""
    rows = named_args["bsz"] * named_args["l_out"]
    k = kwargs.get("TAPS", 1) * named_args["c_in"] + named_args["kc1"] + named_args["kc2"]
    if rows <= SPLIT_MAX_ROWS:
        keep = [c for c in configs if c.kwargs["BLOCK_M"] == _block_m(rows)
                and (c.kwargs["SPLIT"] == 1 or k >= 2048)]
    else:
        keep = [c for c in configs if c.kwargs["BLOCK_M"] >= 64 and c.kwargs["SPLIT"] == 1]
    return keep or configs[:1]


def _bench(fn, quantiles=None):
    """The autotuner's timer: CUDA-graph replays (no launch overhead, as the kernels run in
    the sampler's graphs)."""
    return triton.testing.do_bench_cudagraph(fn, rep=10, quantiles=quantiles)


@triton.jit
def _mma_rows(acc, src, c_src, row_ok, w, k_all, k_off, n, nm, c_lo, c_hi,
              PRECISION: tl.constexpr, BLOCK_K: tl.constexpr):
    """acc += src[rows, c_lo:c_hi] @ w[n, k_off + c_lo:k_off + c_hi]^T; ``c_src``: the rows'
    offsets in ``src``, ``row_ok``: rows read as zeros where False."""
    for c0 in range(c_lo, c_hi, BLOCK_K):
        c = c0 + tl.arange(0, BLOCK_K)
        cm = c < c_hi
        a = tl.load(src + c_src[:, None] + c[None, :], mask=row_ok[:, None] & cm[None, :],
                    other=0.0)
        wt = tl.load(w + n[:, None] * k_all + k_off + c[None, :],
                     mask=nm[:, None] & cm[None, :], other=0.0)
        acc = tl.dot(a.to(wt.dtype), tl.trans(wt), acc, input_precision=PRECISION)
    return acc


@triton.jit
def _part(total, pid_s, SPLIT: tl.constexpr, BLOCK_K: tl.constexpr):
    """[lo, hi) of split pid_s of range(total), in whole BLOCK_K chunks."""
    size = tl.cdiv(tl.cdiv(total, SPLIT), BLOCK_K) * BLOCK_K
    lo = pid_s * size
    return lo, tl.minimum(lo + size, total)


@triton.autotune(configs=_conv_configs(), key=["l_out", "n_out", "c_in", "kc1", "kc2", "bsz"],
                 prune_configs_by={"early_config_prune": _prune},
                 do_bench=None if _interpreting() else _bench)
@triton.jit
def _conv_kernel(x, c_in, l_in, w, bias, k1, k2, kc1, kc2, w_skip, res, out, sob, sol, son,
                 n_out, l_out, bsz, partial, counter,
                 TAPS: tl.constexpr, STRIDE: tl.constexpr, UP: tl.constexpr,
                 HAS_BIAS: tl.constexpr, HAS_SKIP: tl.constexpr, HAS_RES: tl.constexpr,
                 PRECISION: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                 BLOCK_K: tl.constexpr, SPLIT: tl.constexpr, PDL: tl.constexpr,
                 FRAC: tl.constexpr, LINE: tl.constexpr):
    """out[b, p, n] = bias[n] + sum_{tap, c} x[b, src(p, tap), c] w[n, tap * C + c]
    (+ sum_c cat(k1, k2)[b, p, c] w_skip[n, c]) (+ res[b, p, n]); program (n block, block of
    rows (b, p), K split); x, k1, k2, res channels-last contiguous; out (b, p, n) at the given
    strides. With SPLIT > 1 each split stores its fp32 partial sums in ``partial`` (SPLIT,
    rows rounded up to BLOCK_M, C_out) and the last split of a tile to finish (``counter``,
    reset after) adds them up and writes the output."""
    pid_n = tl.program_id(0)
    pid_m = tl.program_id(1)
    pid_s = tl.program_id(2)
    m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)  # output rows (b, p), across batch rows
    b = m // l_out
    p = m % l_out
    pm = m < bsz * l_out
    n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    nm = n < n_out
    pad: tl.constexpr = (TAPS - 1) // 2
    k_all = TAPS * c_in
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    lo, hi = _part(c_in, pid_s, SPLIT, BLOCK_K)
    if PDL:  # this program's weights into L2 while the previous kernel finishes
        if FRAC > 0:
            for tap in tl.static_range(TAPS):
                _prefetch(w, n, nm, k_all, tap * c_in, lo, hi, FRAC, LINE)
            if HAS_SKIP:
                s_lo, s_hi = _part(kc1, pid_s, SPLIT, BLOCK_K)
                _prefetch(w_skip, n, nm, kc1 + kc2, 0, s_lo, s_hi, FRAC, LINE)
                if kc2 > 0:
                    s_lo, s_hi = _part(kc2, pid_s, SPLIT, BLOCK_K)
                    _prefetch(w_skip, n, nm, kc1 + kc2, kc1, s_lo, s_hi, FRAC, LINE)
        _pdl_start()
    for tap in tl.static_range(TAPS):
        if UP:  # nearest x2 upsampling of the input, then the convolution
            q = p + tap - pad
            ok = pm & (q >= 0) & (q < l_out)
            src = tl.where(q > 0, q, 0) // 2
        else:
            src = p * STRIDE + tap - pad
            ok = pm & (src >= 0) & (src < l_in)
        acc = _mma_rows(acc, x, (b * l_in + src) * c_in, ok, w, k_all, tap * c_in, n, nm,
                        lo, hi, PRECISION, BLOCK_K)
    if HAS_SKIP:  # 1x1 convolution of cat(k1, k2) (the output's length)
        kc = kc1 + kc2
        lo, hi = _part(kc1, pid_s, SPLIT, BLOCK_K)
        acc = _mma_rows(acc, k1, m * kc1, pm, w_skip, kc, 0, n, nm, lo, hi,
                        PRECISION, BLOCK_K)
        if kc2 > 0:
            lo, hi = _part(kc2, pid_s, SPLIT, BLOCK_K)
            acc = _mma_rows(acc, k2, m * kc2, pm, w_skip, kc, kc1, n, nm, lo, hi,
                            PRECISION, BLOCK_K)
    omask = pm[:, None] & nm[None, :]
    if SPLIT > 1:
        tile = pid_m * tl.num_programs(0) + pid_n
        rows_pad = tl.num_programs(1) * BLOCK_M
        tl.store(partial + (pid_s * rows_pad + m[:, None]) * n_out + n[None, :], acc,
                 mask=omask)
        tl.debug_barrier()  # every thread's partial sums before the release below
        done = tl.atomic_add(counter + tile, 1, sem="acq_rel", scope="gpu")
        if done == SPLIT - 1:  # the last split of this tile: sum up and write
            acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
            for s in tl.static_range(SPLIT):
                acc += tl.load(partial + (s * rows_pad + m[:, None]) * n_out + n[None, :],
                               mask=omask, other=0.0, cache_modifier=".cg")
            _epilogue(acc, bias, res, out, m, b, p, n, nm, omask, n_out, sob, sol, son,
                      HAS_BIAS, HAS_RES)
            tl.atomic_xchg(counter + tile, 0)  # ready for the next call
    else:
        _epilogue(acc, bias, res, out, m, b, p, n, nm, omask, n_out, sob, sol, son,
                  HAS_BIAS, HAS_RES)


@triton.jit
def _epilogue(acc, bias, res, out, m, b, p, n, nm, omask, n_out, sob, sol, son,
              HAS_BIAS: tl.constexpr, HAS_RES: tl.constexpr):
    if HAS_BIAS:
        acc += tl.load(bias + n, mask=nm, other=0.0).to(tl.float32)[None, :]
    if HAS_RES:
        r = tl.load(res + m[:, None] * n_out + n[None, :], mask=omask, other=0.0)
        acc += r.to(tl.float32)
    tl.store(out + b[:, None] * sob + p[:, None] * sol + n[None, :] * son,
             acc.to(out.dtype.element_ty), mask=omask)


_MAX_SPLIT = max(c.kwargs["SPLIT"] for c in _conv_kernel.configs)
_COUNTERS: dict[torch.device, torch.Tensor] = {}
COUNTER_SLOTS = 1 << 14


def _counters(device: torch.device) -> torch.Tensor:
    """Zeroed tile counters of the K splits, one buffer per device, allocated on first use
    (outside any CUDA-graph capture: the first call of a shape is the autotuner's warm-up)
    and kept: every kernel leaves them at zero (kernels run one at a time: one stream)."""
    if device not in _COUNTERS:
        _COUNTERS[device] = torch.zeros(COUNTER_SLOTS, dtype=torch.int32, device=device)
    return _COUNTERS[device]


@triton.jit
def _attention_kernel(qkv, out, length, ch, head_dim, heads, scale, PRECISION: tl.constexpr,
                      BLOCK_L: tl.constexpr, BLOCK_D: tl.constexpr, PDL: tl.constexpr):
    if PDL:
        _pdl_start()
    pid = tl.program_id(0)
    b = pid // heads
    h = pid % heads
    pos = tl.arange(0, BLOCK_L)
    d = tl.arange(0, BLOCK_D)
    lm = pos < length
    mask = lm[:, None] & (d < head_dim)[None, :]
    at = qkv + (b * length + pos[:, None]) * 3 * ch + h * head_dim + d[None, :]
    q = tl.load(at, mask=mask, other=0.0)
    k = tl.load(at + ch, mask=mask, other=0.0)
    v = tl.load(at + 2 * ch, mask=mask, other=0.0)
    s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * scale
    s = tl.where(lm[None, :], s, float("-inf"))
    p = tl.exp(s - tl.max(s, axis=1)[:, None])
    p = p / tl.sum(p, axis=1)[:, None]
    o = tl.dot(p.to(v.dtype), v, input_precision=PRECISION)
    tl.store(out + (b * length + pos[:, None]) * ch + h * head_dim + d[None, :],
             o.to(out.dtype.element_ty), mask=mask)


def attention(qkv: torch.Tensor, heads: int) -> torch.Tensor:
    """Multi-head softmax attention of the packed projections qkv (B, L, 3C) (query, key, value
    of nn.MultiheadAttention's in_proj, heads of C / heads channels), one program per (row,
    head), for the UNet's short sequences (L <= 256) -> (B, L, C)."""
    bsz, length, ch3 = qkv.shape
    ch = ch3 // 3
    hd = ch // heads
    if not qkv.is_contiguous() or length > 256:
        raise ValueError(f"attention: contiguous (B, L <= 256, 3C) expected, got {qkv.shape}")
    out = torch.empty(bsz, length, ch, device=qkv.device, dtype=qkv.dtype)
    block_l = max(16, triton.next_power_of_2(length))
    _attention_kernel[(bsz * heads,)](
        qkv, out, length, ch, hd, heads, hd ** -0.5,
        PRECISION="ieee" if qkv.dtype == torch.float32 else "tf32",
        BLOCK_L=block_l, BLOCK_D=max(16, triton.next_power_of_2(hd)),
        num_warps=8 if block_l >= 128 else 4, **_launch(qkv.device, bsz * length))
    return out


@triton.jit
def _ddim_kernel(x, eps, out, numel, c_eps, inv_sqrt_ab, sqrt_ab, inv_sqrt_1m_ab, sqrt_ab_prev,
                 sqrt_1m_ab_prev, BLOCK: tl.constexpr, PDL: tl.constexpr):
    if PDL:
        _pdl_start()
    i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = i < numel
    xv = tl.load(x + i, mask=mask, other=0.0).to(tl.float32)
    e = tl.load(eps + i, mask=mask, other=0.0).to(tl.float32)
    x0 = tl.minimum(tl.maximum((xv - c_eps * e) * inv_sqrt_ab, -1.0), 1.0)
    e = (xv - sqrt_ab * x0) * inv_sqrt_1m_ab
    tl.store(out + i, (sqrt_ab_prev * x0 + sqrt_1m_ab_prev * e).to(out.dtype.element_ty),
             mask=mask)


def ddim_update(x: torch.Tensor, eps: torch.Tensor, alpha_bar: float,
                alpha_bar_prev: float) -> torch.Tensor:
    """One DDIM (eta 0) step with x0 clamped to [-1, 1], in one kernel: x_t, eps (any shape,
    same) -> x_prev in x's dtype; alpha_bar (< 1) of this step and of the next."""
    x, eps = x.contiguous(), eps.contiguous()
    out = torch.empty_like(x)
    numel, block = x.numel(), 1024
    _ddim_kernel[(triton.cdiv(numel, block),)](
        x, eps, out, numel, (1 - alpha_bar) ** 0.5, alpha_bar ** -0.5, alpha_bar ** 0.5,
        (1 - alpha_bar) ** -0.5, alpha_bar_prev ** 0.5, (1 - alpha_bar_prev) ** 0.5, BLOCK=block,
        **_launch(x.device))
    return out


PDL_MAX_ROWS = 128  # PDL for kernels of at most this many rows (batch 1); measured slower at
# batch 10 on the H100 (A/B of REACTBENCH_PDL=0 with benchmarks/reactdiff_gpu.py)


def _launch(device: torch.device, rows: int = 0) -> dict:
    """The PDL arguments of a launch over ``rows`` activation rows: the kernel's flag and
    Triton's launch option."""
    pdl = pdl_enabled(device) and rows <= PDL_MAX_ROWS
    return {"PDL": pdl, "launch_pdl": True} if pdl else {"PDL": False}


def _pair(x) -> tuple[torch.Tensor, torch.Tensor | None]:
    return (x, None) if isinstance(x, torch.Tensor) else x


def conv_weight(weight: torch.Tensor, dtype=None) -> torch.Tensor:
    """nn.Conv1d weight (C_out, C_in, k) -> (C_out, k * C_in), tap-major, contiguous."""
    out, cin, k = weight.shape
    return weight.detach().permute(0, 2, 1).reshape(out, k * cin).to(dtype).contiguous()


def norm_act(x, groups: int, gamma: torch.Tensor, beta: torch.Tensor, eps: float,
             film: torch.Tensor | None = None, silu: bool = True) -> torch.Tensor:
    """act(GroupNorm(x) [* (1 + scale) + shift]) of x (B, L, C) channels-last, or of the
    channel concatenation of a pair; ``film`` (B, 2C): scale then shift (any row stride);
    act = SiLU if ``silu``. -> (B, L, C) in x's dtype."""
    x1, x2 = _pair(x)
    c1 = x1.shape[2]
    c2 = 0 if x2 is None else x2.shape[2]
    bsz, length, ch = x1.shape[0], x1.shape[1], c1 + c2
    for t in (x1, x2):
        if t is not None and not t.is_contiguous():
            raise ValueError("norm_act: channels-last inputs must be contiguous")
    y = torch.empty(bsz, length, ch, device=x1.device, dtype=x1.dtype)
    if film is not None and film.stride(1) != 1:
        film = film.contiguous()
    gs = ch // groups
    _norm_act_kernel[(bsz * groups,)](
        x1, x1 if x2 is None else x2, c1, c2, length, gamma, beta,
        y if film is None else film, 0 if film is None else film.stride(0), y,
        groups, gs, eps, SILU=silu, HAS_X2=c2 > 0, HAS_FILM=film is not None,
        BLOCK_L=triton.next_power_of_2(length), BLOCK_G=triton.next_power_of_2(gs),
        **_launch(x1.device, bsz * length))
    return y


def conv1d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, *,
           taps: int = 1, stride: int = 1, upsample: bool = False, skip=None,
           skip_weight: torch.Tensor | None = None, residual: torch.Tensor | None = None,
           out: torch.Tensor | None = None, config: triton.Config | None = None
           ) -> torch.Tensor:
    """Convolution with zero padding (taps - 1) / 2 of x (B, L, C_in) channels-last;
    ``weight`` (C_out, taps * C_in) from :func:`conv_weight`, ``bias`` (C_out,); ``upsample``:
    nearest x2 of x first; ``skip`` (B, L_out, C_s) or a pair (concatenated on channels) with
    ``skip_weight`` (C_out, C_s): plus its 1x1 convolution; ``residual`` (B, L_out, C_out):
    added. -> (B, L_out, C_out), or written into ``out`` ((B, L_out, C_out) shaped, any
    strides, e.g. a transposed view of a (B, C_out, L_out) tensor). ``config``: this tile
    configuration instead of the autotuner's (tests, benchmarks)."""
    bsz, l_in, c_in = x.shape
    cout = weight.shape[0]
    if weight.shape[1] != taps * c_in or not (weight.is_contiguous() and x.is_contiguous()):
        raise ValueError(f"conv1d: input (B, L, {c_in}) contiguous and weights (C_out, "
                         f"{taps} * {c_in}) contiguous expected, got {tuple(weight.shape)}")
    k1, k2 = _pair(skip) if skip is not None else (x, None)
    kc1 = k1.shape[2] if skip is not None else 0
    kc2 = 0 if k2 is None else k2.shape[2]
    if skip is not None and tuple(skip_weight.shape) != (cout, kc1 + kc2):
        raise ValueError(f"conv1d: skip input has {kc1 + kc2} channels, skip weights "
                         f"{tuple(skip_weight.shape)}")
    l_out = 2 * l_in if upsample else (l_in - 1) // stride + 1
    if out is None:
        out = torch.empty(bsz, l_out, cout, device=x.device, dtype=weight.dtype)
    rows = bsz * l_out
    max_split = config.kwargs["SPLIT"] if config is not None else _MAX_SPLIT
    split_rows = (triton.cdiv(rows, config.kwargs["BLOCK_M"]) * config.kwargs["BLOCK_M"]
                  if config is not None else _block_m(rows))
    partial = (torch.empty(max_split * split_rows * cout, device=x.device,
                           dtype=torch.float32)
               if (rows <= SPLIT_MAX_ROWS or config is not None) and max_split > 1 else out)
    splits = rows <= SPLIT_MAX_ROWS or (config is not None and config.kwargs["SPLIT"] > 1)
    if splits and triton.cdiv(cout, 16) * triton.cdiv(rows, 16) > COUNTER_SLOTS:
        raise ValueError(f"conv1d: {rows} x {cout} outputs exceed the split counters")

    def grid(meta):
        return (triton.cdiv(cout, meta["BLOCK_N"]), triton.cdiv(rows, meta["BLOCK_M"]),
                meta["SPLIT"])

    kernel, extra = _conv_kernel, {}
    if config is not None:
        kernel = _conv_kernel.fn
        extra = dict(config.kwargs, num_warps=config.num_warps, num_stages=config.num_stages)
    kernel[grid if config is None else grid(config.kwargs)](
        x, c_in, l_in, weight, bias if bias is not None else weight,
        k1, k1 if k2 is None else k2, kc1, kc2,
        skip_weight if skip is not None else weight,
        residual if residual is not None else out, out, *out.stride(), cout, l_out, bsz,
        partial, _counters(x.device), TAPS=taps, STRIDE=stride, UP=upsample,
        HAS_BIAS=bias is not None, HAS_SKIP=skip is not None, HAS_RES=residual is not None,
        PRECISION="ieee" if weight.dtype == torch.float32 else "tf32",  # fp32: no TF32
        FRAC=_prefetch_frac(weight) if rows <= SPLIT_MAX_ROWS else 0,
        LINE=128 // weight.element_size(), **_launch(x.device, max(rows, bsz * l_in)),
        **extra)
    return out
