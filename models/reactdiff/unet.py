"""1-D UNet noise network (after Diffusion Autoencoders, Preechakul et al. 2022).

As in the public code, a window's ws = 50 frames are the CHANNELS and the latent axis is the
LENGTH: input x_t (B, ws, latent). Levels with widths ``unet_width * mult``; ``unet_res_blocks``
residual blocks per level; self-attention at ``unet_attn_levels`` (0 = finest) and in the middle.
The timestep embedding is concatenated with the condition z_bc and injected into every residual
block as a scale/shift of the normalised activations; the output convolution is zero-initialised.

Sampling evaluates the UNet at T known steps with one condition, so the blocks' scale/shift
projections of all steps are computed up front in one batch (:meth:`UNet1D.step_embeddings`)
and handed to each step's forward: the same values, but each projection's weights are read once
per window batch instead of once per step (a fifth of the paper preset's weights).
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn
from torch.nn import functional as F

from .config import ModelConfig


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """(B,) integer steps -> (B, dim) sinusoidal embedding."""
    half = dim // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    ang = t.float()[:, None] * freq[None]
    return torch.cat([ang.cos(), ang.sin()], dim=1)


def _norm(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(32, ch) if ch % min(32, ch) == 0 else 1, ch)


def zero_module(m: nn.Module) -> nn.Module:
    for p in m.parameters():
        nn.init.zeros_(p)
    return m


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb_dim: int, dropout: float):
        super().__init__()
        self.in_layers = nn.Sequential(_norm(cin), nn.SiLU(), nn.Conv1d(cin, cout, 3, padding=1))
        self.emb = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, 2 * cout))
        self.out_norm = _norm(cout)
        self.out_layers = nn.Sequential(nn.SiLU(), nn.Dropout(dropout),
                                        zero_module(nn.Conv1d(cout, cout, 3, padding=1)))
        self.skip = nn.Identity() if cin == cout else nn.Conv1d(cin, cout, 1)
        self.out_skip: _OutSkip | None = None  # set by fuse_for_inference

    def forward(self, x, emb, proj=None):
        """x (B, cin, L), emb (B, emb_dim) or its projection ``proj`` (B, 2 cout)
        -> (B, cout, L)."""
        h = self.in_layers(x)
        scale, shift = (self.emb(emb) if proj is None else proj)[..., None].chunk(2, dim=1)
        h = self.out_norm(h) * (1 + scale) + shift
        if self.out_skip is not None:
            return self.out_skip(F.silu(h), x)
        return self.skip(x) + self.out_layers(h)


class _OutSkip(nn.Module):
    """A residual block's output convolution (k 3, padding 1) of the activated h plus its 1x1
    skip convolution of x as ONE matrix product: [windows of h, x] @ [W_out, W_skip]^T
    + (b_out + b_skip). h (B, cout, L), x (B, cin, L) -> (B, cout, L)."""

    def __init__(self, out: nn.Conv1d, skip: nn.Conv1d):
        super().__init__()
        cout = out.out_channels
        self.weight = nn.Parameter(torch.cat([out.weight.reshape(cout, -1),
                                              skip.weight.reshape(cout, -1)], dim=1))
        self.bias = nn.Parameter(out.bias + skip.bias)

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        b, _, length = h.shape
        cols = F.pad(h, (1, 1)).unfold(2, 3, 1).transpose(1, 2).reshape(b, length, -1)
        cols = torch.cat([cols, x.transpose(1, 2)], dim=2)
        return F.linear(cols, self.weight, self.bias).transpose(1, 2)


class AttnBlock(nn.Module):
    def __init__(self, ch: int, heads: int):
        super().__init__()
        self.norm = _norm(ch)
        self.attn = nn.MultiheadAttention(ch, heads, batch_first=True)
        self.proj = zero_module(nn.Linear(ch, ch))

    def forward(self, x):
        h = self.norm(x).transpose(1, 2)
        h, _ = self.attn(h, h, h, need_weights=False)
        return x + self.proj(h).transpose(1, 2)


class UNet1D(nn.Module):
    """eps_theta(x_t, t, z_bc): (B, ws, L), (B,), (B, cond_dim) -> (B, ws, L)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        ch = cfg.unet_width
        self.t_dim = ch
        emb_dim = 4 * ch
        self.time = nn.Sequential(nn.Linear(ch, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        emb_dim = emb_dim + cfg.cond_dim  # timestep embedding concatenated with z_bc
        self.levels = len(cfg.unet_mults)
        self.inp = nn.Conv1d(cfg.window, ch, 3, padding=1)
        self.down = nn.ModuleList()
        chans = [ch]
        cur = ch
        for lvl, mult in enumerate(cfg.unet_mults):
            for _ in range(cfg.unet_res_blocks):
                blocks = [ResBlock(cur, ch * mult, emb_dim, cfg.dropout)]
                cur = ch * mult
                if lvl in cfg.unet_attn_levels:
                    blocks.append(AttnBlock(cur, cfg.unet_heads))
                self.down.append(nn.ModuleList(blocks))
                chans.append(cur)
            if lvl < self.levels - 1:
                self.down.append(nn.ModuleList([nn.Conv1d(cur, cur, 3, stride=2, padding=1)]))
                chans.append(cur)
        self.mid = nn.ModuleList([ResBlock(cur, cur, emb_dim, cfg.dropout),
                                  AttnBlock(cur, cfg.unet_heads),
                                  ResBlock(cur, cur, emb_dim, cfg.dropout)])
        self.up = nn.ModuleList()
        for lvl, mult in reversed(list(enumerate(cfg.unet_mults))):
            for i in range(cfg.unet_res_blocks + 1):
                blocks = [ResBlock(cur + chans.pop(), ch * mult, emb_dim, cfg.dropout)]
                cur = ch * mult
                if lvl in cfg.unet_attn_levels:
                    blocks.append(AttnBlock(cur, cfg.unet_heads))
                if lvl > 0 and i == cfg.unet_res_blocks:
                    blocks.append(Upsample(cur))
                self.up.append(nn.ModuleList(blocks))
        self.out = nn.Sequential(_norm(cur), nn.SiLU(),
                                 zero_module(nn.Conv1d(cur, cfg.window, 3, padding=1)))
        self.min_length = 2 ** (self.levels - 1)
        self._res = [m for m in self.modules() if isinstance(m, ResBlock)]  # in call order
        self.emb_sizes = [r.emb[1].out_features for r in self._res]

    def _emb(self, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """(B,) steps, (B, cond_dim) -> (B, emb_dim) input of the blocks' projections."""
        return torch.cat([self.time(timestep_embedding(t, self.t_dim).to(cond.dtype)), cond], 1)

    def step_embeddings(self, steps: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Every residual block's scale/shift projection for each of S steps and B conditions:
        (S,), (B, cond_dim) -> (S, B, sum(emb_sizes)), blocks in call order (the ``proj`` of
        :meth:`forward`)."""
        s, b = steps.shape[0], cond.shape[0]
        return self.projections(self._emb(steps.repeat_interleave(b), cond.repeat(s, 1))
                                ).view(s, b, -1)

    def projections(self, emb: torch.Tensor) -> torch.Tensor:
        """(N, emb_dim) block inputs -> (N, sum(emb_sizes)): every residual block's scale/shift
        projection, blocks in call order."""
        return torch.cat([r.emb(emb) for r in self._res], dim=1)

    def forward(self, x, t, cond, proj=None):
        """``proj``: this step's (B, sum(emb_sizes)) slice of :meth:`step_embeddings`, used
        instead of projecting (t, cond) in every block (same values)."""
        length = x.shape[-1]
        pad = (-length) % self.min_length
        if pad:
            x = F.pad(x, (0, pad))
        emb = None if proj is not None else self._emb(t, cond.to(x.dtype))
        projs = (iter(proj.split(self.emb_sizes, dim=1)) if proj is not None
                 else itertools.repeat(None))

        def block(b, h):
            return b(h, emb, next(projs)) if isinstance(b, ResBlock) else b(h)

        h = walk(self.inp(x), self.down, self.mid, self.up, block,
                 lambda h, skip: torch.cat([h, skip], dim=1))
        out = self.out(h)
        return out[..., :length] if pad else out


def walk(h, down, mid, up, block, join):
    """The UNet's path from the input convolution's output h to the output layers' input:
    ``block(b, h)`` runs one block of the down / mid / up lists, ``join(h, skip)`` merges a
    skip connection into the up path."""
    skips = [h]
    for blocks in down:
        for b in blocks:
            h = block(b, h)
        skips.append(h)
    for b in mid:
        h = block(b, h)
    for blocks in up:
        h = join(h, skips.pop())
        for b in blocks:
            h = block(b, h)
    return h


class GemmConv1d(nn.Conv1d):
    """nn.Conv1d computed as one matrix product (im2col): x (B, C, L) -> windows
    (B, L_out, C * k) @ weight (out, C * k)^T. Same parameters and results; on a GPU at the
    online batch sizes (a few windows, 16-128 positions) it avoids cuDNN's per-call layout
    transposes (half the time of a paper-preset window in bf16). Installed in place on an
    existing network by :func:`use_gemm_convs`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (k,), (stride,), (pad,) = self.kernel_size, self.stride, self.padding
        if self.groups != 1 or self.dilation != (1,) or self.padding_mode != "zeros":
            return super().forward(x)
        if pad:
            x = F.pad(x, (pad, pad))
        cols = x.unfold(2, k, stride).transpose(1, 2).reshape(x.shape[0], -1, x.shape[1] * k)
        w = self.weight.reshape(self.out_channels, -1)
        out = F.linear(cols, w, self.bias)  # (B, L_out, out)
        return out.transpose(1, 2)


@torch.no_grad()
def fuse_for_inference(unet: UNet1D) -> UNet1D:
    """Fewer, larger matrix products for sampling at small batches (same function, other
    rounding; inference only: dropout is dropped), in place:

    - attention: the output projection of the multi-head attention and the block's
      projection that follows it (no non-linearity between) become one matrix,
      W = W_proj W_out, b = W_proj b_out + b_proj;
    - residual blocks with a 1x1 skip convolution: the output convolution and the skip become
      one matrix product over [windows of h, x] (:class:`_OutSkip`).

    Changes the state dict: fuse after loading, not before saving."""
    unet.eval()
    for m in list(unet.modules()):  # modules are replaced on the way
        if isinstance(m, AttnBlock) and isinstance(m.proj, nn.Linear):
            out, proj = m.attn.out_proj, m.proj
            bias = proj.weight @ out.bias + proj.bias
            out.weight.copy_(proj.weight @ out.weight)
            out.bias.copy_(bias)
            m.proj = nn.Identity()
        if isinstance(m, ResBlock) and isinstance(m.skip, nn.Conv1d) and m.out_skip is None:
            m.out_skip = _OutSkip(m.out_layers[2], m.skip)
            m.out_layers, m.skip = nn.Identity(), nn.Identity()
    return unet


def use_gemm_convs(module: nn.Module) -> nn.Module:
    """Switch every nn.Conv1d of ``module`` to :class:`GemmConv1d` (same parameters, so the
    state dict is unchanged)."""
    for m in module.modules():
        if type(m) is nn.Conv1d:
            m.__class__ = GemmConv1d
    return module


class Upsample(nn.Module):
    """Nearest-neighbour 2x upsampling then a 3-tap convolution: (B, ch, T) -> (B, ch, 2T)."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv1d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))
