"""Triton kernels for the UNet at sampling batch sizes (a few windows, 16-128 positions).

At batch 1 a UNet step of the paper preset is bound by per-kernel latency, not by arithmetic
or weight reads: torch (even compiled) runs about 400 kernels per step. Here a residual block
is four kernels:

- :func:`group_norm_coefs`: one program per (row, group) reduces the group and folds the
  GroupNorm statistics, its affine parameters and an optional FiLM scale/shift into one
  per-(row, channel) affine map ``v -> a * v + d``;
- :func:`conv1d`: a convolution (k taps, stride 1 or 2, optional nearest x2 upsampling of its
  input) as one matrix product whose prologue applies that affine map and SiLU to the input
  as it is loaded (zero padding applied after the activation, as in the module), plus an
  optional 1x1 skip convolution of the raw input, bias and residual in the epilogue.

Inputs may be the channel concatenation of two tensors (the UNet's up path) without the copy.
Shapes: x (B, C, L) with any strides; weights nn.Conv1d's (C_out, C_in, taps); coefficients
(B, C_in) fp32. Runs on CUDA, or on the CPU under ``TRITON_INTERPRET=1`` (tests).
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

ACT_NONE, ACT_AFFINE, ACT_AFFINE_SILU = 0, 1, 2


@triton.jit
def _load_cat(x1, x2, c1, b, c, pos, s1b, s1c, s1l, s2b, s2c, s2l, mask,
              HAS_X2: tl.constexpr):
    """Elements (b, c, pos) of cat([x1, x2], channels) as fp32 (0 where masked)."""
    v = tl.load(x1 + b * s1b + c * s1c + pos * s1l, mask=mask & (c < c1), other=0.0)
    v = v.to(tl.float32)
    if HAS_X2:
        v2 = tl.load(x2 + b * s2b + (c - c1) * s2c + pos * s2l, mask=mask & (c >= c1),
                     other=0.0)
        v += v2.to(tl.float32)
    return v


@triton.jit
def _group_coef_kernel(x1, x2, c1, c2, length, s1b, s1c, s1l, s2b, s2c, s2l,
                       gamma, beta, film, film_stride, a_out, d_out, groups, group_size, eps,
                       HAS_X2: tl.constexpr, HAS_FILM: tl.constexpr,
                       BLOCK_G: tl.constexpr, BLOCK_L: tl.constexpr):
    pid = tl.program_id(0)
    b = pid // groups
    g = pid % groups
    cc = tl.arange(0, BLOCK_G)
    c = g * group_size + cc
    cm = cc < group_size
    pos = tl.arange(0, BLOCK_L)
    mask = cm[:, None] & (pos < length)[None, :]
    v = _load_cat(x1, x2, c1, b, c[:, None], pos[None, :], s1b, s1c, s1l, s2b, s2c, s2l,
                  mask, HAS_X2)
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
    tl.store(a_out + b * ch + c, a, mask=cm)
    tl.store(d_out + b * ch + c, d, mask=cm)


def _conv_configs():
    """Tile shapes tried per (rows, C_out, K) on the GPU; one under the interpreter."""
    if os.environ.get("TRITON_INTERPRET", "0") not in ("", "0"):
        return [triton.Config({"BLOCK_N": 16, "BLOCK_K": 64})]
    return [triton.Config({"BLOCK_N": bn, "BLOCK_K": bk}, num_warps=wp, num_stages=st)
            for bn, bk, wp, st in ((16, 64, 4, 4), (16, 128, 4, 4), (16, 256, 4, 3),
                                   (32, 64, 4, 4), (32, 128, 4, 4), (32, 256, 8, 3),
                                   (64, 64, 4, 4), (64, 128, 4, 3), (16, 128, 2, 4))]


@triton.autotune(configs=_conv_configs(), key=["m_rows", "n_out", "k_all", "kch"])
@triton.jit
def _conv_kernel(x1, x2, c1, c2, l_in, s1b, s1c, s1l, s2b, s2c, s2l,
                 coef_a, coef_d, w, bias,
                 k1, k2, kc1, kc2, k1b, k1c, k1l, k2b, k2c, k2l, w_skip,
                 res, srb, srn, srl,
                 out, sob, son, sol, n_out, l_out, m_rows, k_all, kch,
                 ACT: tl.constexpr, TAPS: tl.constexpr, STRIDE: tl.constexpr,
                 UP: tl.constexpr, HAS_X2: tl.constexpr, HAS_BIAS: tl.constexpr,
                 HAS_SKIP: tl.constexpr, SKIP_X2: tl.constexpr, HAS_RES: tl.constexpr,
                 PRECISION: tl.constexpr,
                 BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    """out[b, n, p] = bias[n] + sum_kk act(x)[b, c, src(p, tap)] w[n, kk]
    (+ sum_c skip[b, c, p] w_skip[n, c]) (+ res[b, n, p]); program (n block, (b, p block)),
    kk = c * TAPS + tap (the Conv1d weight's own layout),
    w (C_out, C_in * TAPS) and w_skip (C_out, C_s) row-major: tiles contiguous along K."""
    pid_n = tl.program_id(0)
    pid_m = tl.program_id(1)
    blocks = tl.cdiv(l_out, BLOCK_M)  # a program's rows share one batch row b
    b = pid_m // blocks
    p_out = (pid_m % blocks) * BLOCK_M + tl.arange(0, BLOCK_M)
    mm = p_out < l_out
    n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    nm = n < n_out
    ch = c1 + c2
    pad: tl.constexpr = (TAPS - 1) // 2
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, k_all, BLOCK_K):
        kk = k0 + tl.arange(0, BLOCK_K)
        km = kk < k_all
        c = kk // TAPS
        tap = kk % TAPS
        if UP:  # nearest x2 upsampling of the input, then the convolution
            q = p_out[:, None] + tap[None, :] - pad
            ok = (q >= 0) & (q < l_out)
            src = tl.where(q > 0, q, 0) // 2
        else:
            src = p_out[:, None] * STRIDE + tap[None, :] - pad
            ok = (src >= 0) & (src < l_in)
        mask = ok & mm[:, None] & km[None, :]
        v = _load_cat(x1, x2, c1, b, c[None, :], src, s1b, s1c, s1l, s2b, s2c, s2l,
                      mask, HAS_X2)
        if ACT != 0:
            ca = tl.load(coef_a + b * ch + c, mask=km, other=0.0)
            cd = tl.load(coef_d + b * ch + c, mask=km, other=0.0)
            v = v * ca[None, :] + cd[None, :]
            if ACT == 2:
                v = v * tl.sigmoid(v)
            v = tl.where(mask, v, 0.0)  # zero padding after the activation
        wt = tl.load(w + n[:, None] * k_all + kk[None, :], mask=nm[:, None] & km[None, :],
                     other=0.0)
        acc = tl.dot(v.to(wt.dtype), tl.trans(wt), acc, input_precision=PRECISION)
    if HAS_SKIP:  # 1x1 convolution of another input (k1 | k2) of the output's length
        for k0 in range(0, kch, BLOCK_K):
            c = k0 + tl.arange(0, BLOCK_K)
            cm = c < kch
            mask = mm[:, None] & cm[None, :]
            v = _load_cat(k1, k2, kc1, b, c[None, :], p_out[:, None],
                          k1b, k1c, k1l, k2b, k2c, k2l, mask, SKIP_X2)
            wt = tl.load(w_skip + n[:, None] * kch + c[None, :], mask=nm[:, None] & cm[None, :],
                         other=0.0)
            acc = tl.dot(v.to(wt.dtype), tl.trans(wt), acc, input_precision=PRECISION)
    if HAS_BIAS:
        acc += tl.load(bias + n, mask=nm, other=0.0).to(tl.float32)[None, :]
    omask = mm[:, None] & nm[None, :]
    if HAS_RES:
        r = tl.load(res + b * srb + n[None, :] * srn + p_out[:, None] * srl,
                    mask=omask, other=0.0)
        acc += r.to(tl.float32)
    tl.store(out + b * sob + n[None, :] * son + p_out[:, None] * sol,
             acc.to(out.dtype.element_ty), mask=omask)


def _pow2(n: int, lo: int = 16) -> int:
    return max(lo, triton.next_power_of_2(n))


def _parts(x: torch.Tensor | tuple[torch.Tensor, torch.Tensor]):
    """(x1, x2 or x1, C1, C2, strides of both) of one tensor or a channel-concatenated pair."""
    x1, x2 = (x, None) if isinstance(x, torch.Tensor) else x
    c2 = 0 if x2 is None else x2.shape[1]
    x2_ = x1 if x2 is None else x2
    return x1, x2_, x1.shape[1], c2, (*x1.stride(), *x2_.stride())


def group_norm_coefs(x, groups: int, gamma: torch.Tensor, beta: torch.Tensor, eps: float,
                     film: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """GroupNorm (+ FiLM ``h * (1 + scale) + shift``) of x (B, C, L) or of cat(x, dim=1) for a
    pair, as per-(row, channel) affine coefficients: (a, d), each (B, C) fp32, with
    GroupNorm(x) [* (1 + scale) + shift] = a[..., None] * x + d[..., None].
    ``film``: (B, 2C), scale then shift (any row stride, unit column stride)."""
    x1, x2, c1, c2, strides = _parts(x)
    bsz, length, ch = x1.shape[0], x1.shape[2], c1 + c2
    gs = ch // groups
    a = torch.empty(bsz, ch, device=x1.device, dtype=torch.float32)
    d = torch.empty_like(a)
    if film is not None and film.stride(1) != 1:
        film = film.contiguous()
    _group_coef_kernel[(bsz * groups,)](
        x1, x2, c1, c2, length, *strides, gamma, beta,
        a if film is None else film, 0 if film is None else film.stride(0), a, d,
        groups, gs, eps, HAS_X2=c2 > 0, HAS_FILM=film is not None,
        BLOCK_G=triton.next_power_of_2(gs), BLOCK_L=triton.next_power_of_2(length))
    return a, d


def conv1d(x, weight: torch.Tensor, bias: torch.Tensor | None = None, *,
           coefs: tuple[torch.Tensor, torch.Tensor] | None = None, silu: bool = False,
           stride: int = 1, upsample: bool = False, skip=None,
           skip_weight: torch.Tensor | None = None, residual: torch.Tensor | None = None,
           out: torch.Tensor | None = None) -> torch.Tensor:
    """Convolution (zero padding (k - 1) / 2) of act(x), x (B, C_in, L) or a pair concatenated
    on channels, act = identity, or v -> a v + d with ``coefs`` (a, d) (B, C_in) and then SiLU
    if ``silu``; ``weight`` (C_out, C_in, k) contiguous (nn.Conv1d's), ``bias`` (C_out,);
    ``upsample``: nearest x2 of act(x) first; ``skip`` (B, C_s, L_out) or a pair,
    ``skip_weight`` (C_out, C_s) contiguous: plus the 1x1 convolution of that raw input;
    ``residual`` (B, C_out, L_out): added.
    -> (B, C_out, L_out), or written into ``out`` (any strides, e.g. a transposed view)."""
    x1, x2, c1, c2, strides = _parts(x)
    cout, cin, taps = weight.shape
    if cin != c1 + c2 or not weight.is_contiguous():
        raise ValueError(f"conv1d: input has {c1 + c2} channels, weights {tuple(weight.shape)} "
                         "(contiguous (C_out, C_in, k) expected)")
    k1, k2, kc1, kc2, kstrides = _parts(skip if skip is not None else x)
    if skip is not None and (tuple(skip_weight.shape) != (cout, kc1 + kc2)
                             or not skip_weight.is_contiguous()):
        raise ValueError(f"conv1d: skip input has {kc1 + kc2} channels, skip weights "
                         f"{tuple(skip_weight.shape)} (contiguous (C_out, C_s) expected)")
    bsz, l_in = x1.shape[0], x1.shape[2]
    l_out = 2 * l_in if upsample else (l_in - 1) // stride + 1
    if out is None:
        out = torch.empty(bsz, cout, l_out, device=x1.device, dtype=weight.dtype)
    block_m = min(64, _pow2(l_out))
    res = residual if residual is not None else out
    a, d = coefs if coefs is not None else (weight, weight)

    def grid(meta):
        return triton.cdiv(cout, meta["BLOCK_N"]), bsz * triton.cdiv(l_out, block_m)

    _conv_kernel[grid](
        x1, x2, c1, c2, l_in, *strides, a, d, weight,
        bias if bias is not None else weight,
        k1, k2, kc1, kc2, *kstrides, skip_weight if skip is not None else weight,
        res, *res.stride(), out, *out.stride(), cout, l_out, bsz * l_out, cin * taps,
        kc1 + kc2 if skip is not None else 0,
        ACT=(ACT_NONE if coefs is None else ACT_AFFINE_SILU if silu else ACT_AFFINE),
        TAPS=taps, STRIDE=stride, UP=upsample, HAS_X2=c2 > 0, HAS_BIAS=bias is not None,
        HAS_SKIP=skip is not None, SKIP_X2=kc2 > 0, HAS_RES=residual is not None,
        PRECISION="ieee" if weight.dtype == torch.float32 else "tf32",  # fp32: no TF32
        BLOCK_M=block_m)
    return out
