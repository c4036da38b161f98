"""The UNet's forward pass laid out for the CPU (sampling only).

:class:`CpuUNet` reads a trained :class:`~.unet.UNet1D` once and evaluates the same function
with channels-last activations (B, L, C): every convolution is a oneDNN 2-D convolution of a
(B, C, 1, L) channels-last view (no layout reorders between layers), a GroupNorm and the FiLM
scale/shift that follows it are one per-(row, channel) affine map applied in one pass
(``addcmul``) with the SiLU in place, a residual block's 1x1 skip convolution is accumulated
into its output convolution's result by one matrix product (``addmm_``), and attention runs
through ``scaled_dot_product_attention`` with the block's output projection folded into the
attention's (as :func:`~.unet.fuse_for_inference`) and the residual added by the same matrix
product. Same function as the module in eval mode (dropout off), other rounding (float32
rounding level).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .unet import AttnBlock, ResBlock, UNet1D, Upsample, timestep_embedding, walk


class _Norm:
    """GroupNorm [+ FiLM] [+ SiLU] of channels-last x (B, L, C)."""

    def __init__(self, gn: nn.GroupNorm):
        self.groups, self.eps = gn.num_groups, gn.eps
        self.gamma, self.beta = gn.weight.detach(), gn.bias.detach()

    def __call__(self, x: torch.Tensor, film: torch.Tensor | None = None,
                 silu: bool = True) -> torch.Tensor:
        """x (B, L, C); ``film`` (B, 2C): scale then shift -> (B, L, C)."""
        b, length, c = x.shape
        g = self.groups
        # per channel, then per group (exact combination of the channels' moments): reductions
        # over the frames only, which run at memory speed in this layout
        mean_c = x.mean(1, keepdim=True)  # (B, 1, C)
        m2_c = (x - mean_c).square_().sum(1).view(b, g, -1)
        mean_c = mean_c.view(b, g, -1)
        mean = mean_c.mean(2)  # (B, G)
        m2 = m2_c.sum(2) + length * (mean_c - mean[:, :, None]).square_().sum(2)
        rstd = (m2 / (length * (c // g)) + self.eps).rsqrt()  # (B, G)
        a = (rstd[:, :, None] * self.gamma.view(g, c // g)).view(b, c)
        shift = self.beta - (mean[:, :, None] * a.view(b, g, c // g)).view(b, c)
        if film is not None:
            scale1 = 1 + film[:, :c]
            a = a * scale1
            shift = torch.addcmul(film[:, c:], shift, scale1)
        y = torch.addcmul(shift[:, None], x, a[:, None])
        return F.silu(y, inplace=True) if silu else y


class _Conv:
    """nn.Conv1d (zero padding) of channels-last x (B, L, C_in) -> (B, L_out, C_out)."""

    def __init__(self, conv: nn.Conv1d, upsample: bool = False):
        if conv.groups != 1 or conv.dilation != (1,) or conv.padding_mode != "zeros":
            raise ValueError(f"unsupported convolution {conv}")
        self.weight = conv.weight.detach().unsqueeze(2).contiguous(
            memory_format=torch.channels_last)  # (C_out, C_in, 1, k)
        self.bias = None if conv.bias is None else conv.bias.detach()
        self.stride, self.pad = conv.stride[0], conv.padding[0]
        self.upsample = upsample

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:  # nearest x2
            b, length, c = x.shape
            x = x[:, :, None].expand(b, length, 2, c).reshape(b, 2 * length, c)
        y = F.conv2d(x.transpose(1, 2)[:, :, None], self.weight, self.bias,
                     stride=(1, self.stride), padding=(0, self.pad))
        return y[:, :, 0].transpose(1, 2).contiguous()


class _Res:
    def __init__(self, r: ResBlock):
        self.norm1, self.conv1 = _Norm(r.in_layers[0]), _Conv(r.in_layers[2])
        self.norm2, self.conv2 = _Norm(r.out_norm), _Conv(r.out_layers[2])
        self.skip = None
        if isinstance(r.skip, nn.Conv1d):  # (C_in, C_out): x @ skip
            self.skip = r.skip.weight.detach()[..., 0].t()
            self.conv2.bias = r.out_layers[2].bias.detach() + r.skip.bias.detach()

    def __call__(self, x: torch.Tensor, film: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.norm2(self.conv1(self.norm1(x)), film))
        flat = y.view(-1, y.shape[2])
        if self.skip is None:
            flat.add_(x.reshape(flat.shape))
        else:
            flat.addmm_(x.reshape(-1, x.shape[2]), self.skip)
        return y


class _Attn:
    def __init__(self, a: AttnBlock):
        mha = a.attn
        self.norm, self.heads = _Norm(a.norm), mha.num_heads
        self.qkv = mha.in_proj_weight.detach().t()  # (C, 3C)
        self.qkv_bias = mha.in_proj_bias.detach()
        w_out, b_out = mha.out_proj.weight.detach(), mha.out_proj.bias.detach()
        if isinstance(a.proj, nn.Linear):  # fold the block's projection (no non-linearity)
            wp = a.proj.weight.detach()
            w_out, b_out = wp @ w_out, wp @ b_out + a.proj.bias.detach()
        self.out = w_out.t().contiguous()  # (C, C)
        self.out_bias = b_out

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        b, length, c = x.shape
        h = self.heads
        qkv = torch.addmm(self.qkv_bias, self.norm(x, silu=False).view(-1, c), self.qkv)
        q, k, v = qkv.view(b, length, 3, h, c // h).permute(2, 0, 3, 1, 4)
        o = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(-1, c)
        return torch.addmm(x.reshape(-1, c) + self.out_bias, o, self.out).view(b, length, c)


class StepProjections:
    """The residual blocks' projections of S steps and B conditions (``proj`` of
    :meth:`CpuUNet.forward`): ``self[i]`` = per_step[i] + per_cond -> (B, sum(emb_sizes))."""

    def __init__(self, per_step: torch.Tensor, per_cond: torch.Tensor):
        self.per_step, self.per_cond = per_step, per_cond  # (S, P), (B, P)

    def __len__(self) -> int:
        return self.per_step.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.per_cond + self.per_step[i]


class CpuUNet(nn.Module):
    """eps_theta of ``unet`` laid out for the CPU: same call as :class:`UNet1D`
    (``forward(x, t, cond, proj=None)``, ``step_embeddings``, ``emb_sizes``), x (B, ws, L)
    -> (B, ws, L), float32."""

    def __init__(self, unet: UNet1D):
        super().__init__()
        if any(getattr(r, "out_skip", None) is not None for r in unet._res):
            raise ValueError("CpuUNet reads an unfused UNet1D (build it before "
                             "fuse_for_inference)")
        self.unet = unet.eval()
        self.emb_sizes = unet.emb_sizes
        self.min_length = unet.min_length

        def op(m):
            if isinstance(m, ResBlock):
                return _Res(m)
            if isinstance(m, AttnBlock):
                return _Attn(m)
            if isinstance(m, Upsample):
                return _Conv(m.conv, upsample=True)
            return _Conv(m)

        self.inp = _Conv(unet.inp)
        self.down = [[op(m) for m in blocks] for blocks in unet.down]
        self.mid = [op(m) for m in unet.mid]
        self.up = [[op(m) for m in blocks] for blocks in unet.up]
        self.out_norm, self.out = _Norm(unet.out[0]), _Conv(unet.out[2])
        # the blocks' scale/shift projections stacked: (sum(emb_sizes), time | cond)
        weight = torch.cat([r.emb[1].weight.detach() for r in unet._res])
        t_dim = unet.time[2].out_features
        self._time_weight = weight[:, :t_dim].contiguous()
        self._cond_weight = weight[:, t_dim:].contiguous()
        self._bias = torch.cat([r.emb[1].bias.detach() for r in unet._res])

    def step_embeddings(self, steps: torch.Tensor, cond: torch.Tensor) -> StepProjections:
        """Every residual block's scale/shift projection for S steps and B conditions, as
        :meth:`UNet1D.step_embeddings` (indexed by step: (B, sum(emb_sizes))), computed from
        its two parts: the projections' input is [time embedding, condition] through a SiLU,
        so each projection is W_t SiLU(time(t)) + W_c SiLU(cond) + b, an (S, ...) and a
        (B, ...) matrix product instead of one over all S * B pairs."""
        time = self.unet.time(timestep_embedding(steps, self.unet.t_dim).to(cond.dtype))
        per_step = torch.addmm(self._bias, F.silu(time), self._time_weight.t())
        return StepProjections(per_step, F.silu(cond) @ self._cond_weight.t())

    def forward(self, x, t, cond, proj=None):
        length = x.shape[-1]
        pad = (-length) % self.min_length
        x = F.pad(x, (0, pad)) if pad else x
        if proj is None:
            proj = self.unet.projections(self.unet._emb(t, cond.to(x.dtype)))
        films = iter(proj.split(self.emb_sizes, dim=1))

        def block(b, h):
            return b(h, next(films)) if isinstance(b, _Res) else b(h)

        h = walk(self.inp(x.transpose(1, 2)), self.down, self.mid, self.up, block,
                 lambda h, skip: torch.cat([h, skip], dim=2))
        out = self.out(self.out_norm(h)).transpose(1, 2)
        return out[..., :length] if pad else out
