"""Latent normalisation, windows, cosine schedule, epsilon-prediction loss and DDIM sampling.

- :class:`LatentNorm`: min-max normalisation of latents to [-1, 1] per (frame within window,
  latent dim), statistics from the training split. Because the statistics are per position
  within a 50-frame window (not per absolute frame), they apply to sequences of any number of
  windows (the public code's statistics for 750 frames broke on 700-frame online sequences), and
  ``denormalise(normalise(x)) == x`` (the public code's misplaced parentheses did not invert).
- Windows: (B, T, L) <-> (B * n_windows, ws, L); a trailing partial window is padded by repeating
  the last frame (only frames already seen: causal) and cut off again after decoding.
- Schedule: T = 20 steps, cosine alpha-bar (Nichol & Dhariwal 2021), betas clipped at 0.999.
- Loss: L1 between predicted and true noise (x w_eps).
- Sampling: DDIM with eta = 0 (deterministic given x_T), predicted x0 clamped to [-1, 1].
"""

from __future__ import annotations

import math

import torch
from torch import nn

EPS = 1e-6


class LatentNorm(nn.Module):
    """Per (window position, dim) min-max normalisation to [-1, 1]; buffers saved in checkpoints."""

    def __init__(self, window: int, dim: int):
        super().__init__()
        self.register_buffer("lo", torch.zeros(window, dim))
        self.register_buffer("hi", torch.ones(window, dim))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def fit(self, windows: torch.Tensor) -> None:
        """windows: (n, ws, L) latents of the training split."""
        self.lo.copy_(windows.amin(dim=0))
        self.hi.copy_(windows.amax(dim=0))
        self.fitted.fill_(True)

    def scale(self) -> torch.Tensor:
        return (self.hi - self.lo).clamp_min(EPS)

    def normalise(self, w: torch.Tensor) -> torch.Tensor:
        """(…, ws, L) -> [-1, 1] on the training range."""
        return 2.0 * (w - self.lo) / self.scale() - 1.0

    def denormalise(self, w: torch.Tensor) -> torch.Tensor:
        return (w + 1.0) * 0.5 * self.scale() + self.lo


def to_windows(z: torch.Tensor, ws: int) -> tuple[torch.Tensor, int]:
    """(B, T, L) -> ((B, K, ws, L), T) with K = ceil(T / ws); the last window is edge-padded."""
    b, t, d = z.shape
    k = max(1, math.ceil(t / ws))
    pad = k * ws - t
    if pad:
        z = torch.cat([z, z[:, -1:].expand(b, pad, d)], dim=1)
    return z.reshape(b, k, ws, d), t


def from_windows(w: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, K, ws, L) -> (B, frames, L)."""
    b, k, ws, d = w.shape
    return w.reshape(b, k * ws, d)[:, :frames]


def cosine_alpha_bar(steps: int, s: float = 0.008) -> torch.Tensor:
    """(steps,) cumulative alpha-bar of the cosine schedule (index i = step i + 1)."""
    def f(t):
        return math.cos((t / steps + s) / (1 + s) * math.pi / 2) ** 2

    betas = [min(1 - f(i + 1) / f(i), 0.999) for i in range(steps)]
    return torch.cumprod(1 - torch.tensor(betas, dtype=torch.float64), 0)


class Diffusion(nn.Module):
    """Forward process, loss and DDIM (eta = 0) sampler for eps-prediction networks."""

    def __init__(self, steps: int):
        super().__init__()
        self.steps = steps
        self.register_buffer("alpha_bar", cosine_alpha_bar(steps).float(), persistent=False)
        self._alpha_bar_host = self.alpha_bar.tolist()  # for nets with a fused DDIM update

    def q_sample(self, x0, t, noise):
        ab = self.alpha_bar[t].view(-1, *([1] * (x0.dim() - 1))).to(x0.dtype)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def loss(self, net, x0, cond, t, noise):
        """L1(eps_theta(x_t, t, cond), eps), mean over elements."""
        pred = net(self.q_sample(x0, t, noise), t, cond)
        return (pred.float() - noise.float()).abs().mean()

    def timesteps(self, n: int, device=None) -> torch.Tensor:
        """The n <= T sampling steps, evenly spaced from T - 1 down to 0 (rounded half up):
        (n,) int64, in integer arithmetic, so it is built on the GPU (also while a CUDA graph
        is captured) with the same values as on the CPU."""
        if not 1 <= n <= self.steps:
            raise ValueError(f"DDIM steps must lie in [1, {self.steps}] (got {n})")
        if n == 1:
            return torch.full((1,), self.steps - 1, dtype=torch.long, device=device)
        i = torch.arange(n, device=device)
        return ((self.steps - 1) * (n - 1 - i) * 2 + (n - 1)) // (2 * (n - 1))

    @torch.no_grad()
    def ddim_sample(self, net, x_t, cond, steps: int | None = None):
        """DDIM with eta 0 from x_T = ``x_t`` (B, ws, L); ``steps`` <= T evenly spaced."""
        # built on both devices: reading the device copy back would sync (not allowed while a
        # CUDA graph is captured)
        seq_t = self.timesteps(steps or self.steps, x_t.device)
        seq = self.timesteps(steps or self.steps).tolist()
        # the blocks' projections of (t, cond) for every step at once, where the net has them
        proj = net.step_embeddings(seq_t, cond) if hasattr(net, "step_embeddings") else None
        x = x_t
        # a net with ``ddim_update(x, eps, alpha_bar, alpha_bar_prev)`` (the Triton UNet) does
        # the update below in one kernel, from host-side schedule values
        fused = proj is not None and hasattr(net, "ddim_update")
        ab_host = self._alpha_bar_host
        for i, t in enumerate(seq):
            if fused:
                x = net.ddim_update(x, net(x, None, cond, proj[i]), ab_host[t],
                                    ab_host[seq[i + 1]] if i + 1 < len(seq) else 1.0)
                continue
            ab = self.alpha_bar[t]
            ab_prev = self.alpha_bar[seq[i + 1]] if i + 1 < len(seq) else torch.ones_like(ab)
            if proj is None:
                tt = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
                eps = net(x, tt, cond).float()
            else:  # the step is in the precomputed projections
                eps = net(x, None, cond, proj[i]).float()
            x0 = ((x.float() - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
            eps = (x.float() - ab.sqrt() * x0) / (1 - ab).sqrt()
            x = (ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps).to(x_t.dtype)
        return x
