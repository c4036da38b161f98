"""The UNet's forward pass on the Triton kernels of :mod:`.kernels` (sampling only).

:class:`TritonUNet` reads a trained :class:`~.unet.UNet1D` (unfused) once: convolution weights
as (C_out, taps * C_in) matrices, each attention block's output projection folded into the
block's projection (as :func:`~.unet.fuse_for_inference`), in the UNet's parameter dtype.
Activations are channels-last. A residual block is four kernels (GroupNorm + SiLU,
convolution, GroupNorm + FiLM + SiLU, convolution + 1x1 skip + bias + residual), an attention
block four (GroupNorm, QKV projection, attention, output projection + residual), and the up
path's skip concatenations are read in place. Same function as the module in eval
mode (dropout off), other rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from . import kernels as K
from .unet import AttnBlock, ResBlock, UNet1D, Upsample, walk


@dataclass
class _Norm:
    groups: int
    gamma: torch.Tensor
    beta: torch.Tensor
    eps: float

    @classmethod
    def of(cls, gn: nn.GroupNorm) -> _Norm:
        return cls(gn.num_groups, gn.weight.detach().float(), gn.bias.detach().float(), gn.eps)

    def __call__(self, x, film=None, silu=True):
        return K.norm_act(x, self.groups, self.gamma, self.beta, self.eps, film, silu)


@dataclass
class _Conv:
    weight: torch.Tensor  # (C_out, taps * C_in)
    bias: torch.Tensor | None
    taps: int
    stride: int = 1
    upsample: bool = False

    @classmethod
    def of(cls, conv: nn.Conv1d, dtype, upsample: bool = False) -> _Conv:
        if conv.padding[0] != (conv.kernel_size[0] - 1) // 2 or conv.groups != 1:
            raise ValueError(f"unsupported convolution {conv}")
        bias = None if conv.bias is None else conv.bias.detach().to(dtype)
        return cls(K.conv_weight(conv.weight, dtype), bias, conv.kernel_size[0], conv.stride[0],
                   upsample)

    def __call__(self, x, **kw):
        return K.conv1d(x, self.weight, self.bias, taps=self.taps, stride=self.stride,
                        upsample=self.upsample, **kw)


class _Res:
    def __init__(self, r: ResBlock, dtype):
        self.norm1, self.conv1 = _Norm.of(r.in_layers[0]), _Conv.of(r.in_layers[2], dtype)
        self.norm2 = _Norm.of(r.out_norm)
        conv2 = r.out_layers[2]
        self.conv2 = _Conv.of(conv2, dtype)
        self.skip = None
        if isinstance(r.skip, nn.Conv1d):
            self.skip = r.skip.weight.detach()[..., 0].to(dtype).contiguous()  # (C_out, C_in)
            self.conv2.bias = (conv2.bias.float() + r.skip.bias.float()).detach().to(dtype)

    def __call__(self, x, film):
        if self.skip is None and not isinstance(x, torch.Tensor):
            raise ValueError("a residual block without a skip convolution takes one input")
        h = self.conv1(self.norm1(x))
        return self.conv2(self.norm2(h, film), skip=x if self.skip is not None else None,
                          skip_weight=self.skip, residual=x if self.skip is None else None)


class _Attn:
    def __init__(self, a: AttnBlock, dtype):
        mha = a.attn
        self.norm, self.heads = _Norm.of(a.norm), mha.num_heads
        self.qkv = mha.in_proj_weight.detach().to(dtype).contiguous()  # (3C, C)
        self.qkv_bias = mha.in_proj_bias.detach().to(dtype)
        w_out, b_out = mha.out_proj.weight.detach().float(), mha.out_proj.bias.detach().float()
        if isinstance(a.proj, nn.Linear):  # fold the block's projection (no non-linearity), fp32
            wp = a.proj.weight.detach().float()
            w_out, b_out = wp @ w_out, wp @ b_out + a.proj.bias.detach().float()
        self.out = w_out.to(dtype).contiguous()  # (C, C)
        self.out_bias = b_out.to(dtype)

    def __call__(self, x):
        qkv = K.conv1d(self.norm(x, silu=False), self.qkv, self.qkv_bias)  # (B, L, 3C)
        return K.conv1d(K.attention(qkv, self.heads), self.out, self.out_bias, residual=x)


class TritonUNet(nn.Module):
    """eps_theta of ``unet`` on Triton kernels: same call as :class:`UNet1D` (``forward(x, t,
    cond, proj=None)``, ``step_embeddings``, ``emb_sizes``), x (B, ws, L) -> (B, ws, L) in the
    UNet's parameter dtype. Build it after the parameters have their final dtype."""

    def __init__(self, unet: UNet1D):
        super().__init__()
        if any(m is not None for m in (getattr(r, "out_skip", None) for r in unet._res)):
            raise ValueError("TritonUNet reads an unfused UNet1D (build it before "
                             "fuse_for_inference)")
        self.unet = unet.eval()
        dtype = next(unet.parameters()).dtype
        self.emb_sizes = unet.emb_sizes
        self.min_length = unet.min_length

        def op(m):
            if isinstance(m, ResBlock):
                return _Res(m, dtype)
            if isinstance(m, AttnBlock):
                return _Attn(m, dtype)
            if isinstance(m, Upsample):
                return _Conv.of(m.conv, dtype, upsample=True)
            return _Conv.of(m, dtype)

        self.inp = _Conv.of(unet.inp, dtype)
        self.down = [[op(m) for m in blocks] for blocks in unet.down]
        self.mid = [op(m) for m in unet.mid]
        self.up = [[op(m) for m in blocks] for blocks in unet.up]
        self.out_norm, self.out = _Norm.of(unet.out[0]), _Conv.of(unet.out[2], dtype)

    def step_embeddings(self, steps: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.unet.step_embeddings(steps, cond)

    def ddim_update(self, x, eps, alpha_bar: float, alpha_bar_prev: float) -> torch.Tensor:
        """Diffusion.ddim_sample's update in one kernel (:func:`.kernels.ddim_update`)."""
        return K.ddim_update(x, eps, alpha_bar, alpha_bar_prev)

    def forward(self, x, t, cond, proj=None):
        bsz, ws, length = x.shape
        pad = (-length) % self.min_length
        dtype = self.inp.weight.dtype
        x = F.pad(x.to(dtype), (0, pad)) if pad else x.to(dtype)
        x = x.transpose(1, 2).contiguous()  # channels-last (B, L, ws)
        if proj is None:
            proj = self.unet.projections(self.unet._emb(t, cond.to(dtype)))
        films = iter(proj.to(dtype).split(self.emb_sizes, dim=1))

        def block(b, h):
            return b(h, next(films)) if isinstance(b, _Res) else b(h)

        # the up path's skip connections are concatenated on channels where they are read
        h = walk(self.inp(x), self.down, self.mid, self.up, block, lambda h, skip: (h, skip))
        out = torch.empty(bsz, ws, length + pad, device=x.device, dtype=dtype)
        self.out(self.out_norm(h), out=out.transpose(1, 2))
        return out[..., :length] if pad else out
