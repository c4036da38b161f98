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
- Sampling (deterministic given x_T, predicted x0 clamped to [-1, 1]) at a descending sequence
  of the schedule's steps: n evenly spaced ones, or any explicit sequence (``steps`` a list),
  by one of two solvers of the same probability-flow ODE: ``ddim`` (DDIM, eta = 0: first
  order) or ``dpm2m`` (DPM-Solver++(2M), Lu et al. 2022: the data-prediction multistep
  solver of second order, with the predicted x0 of the previous step; first order on the first
  and the last step, which lands on the last x0). Both evaluate the network once per step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

EPS = 1e-6
SOLVERS = ("ddim", "dpm2m")
Steps = int | Sequence[int] | None  # a count (evenly spaced), explicit steps, or all T


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
        self._explicit: dict[tuple, torch.Tensor] = {}  # explicit step sequences per device

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

    def step_sequence(self, steps: Steps) -> list[int]:
        """The sampling steps, descending: all T (None), n evenly spaced (:meth:`timesteps`) or
        an explicit sequence, checked (strictly decreasing, each in [0, T - 1]); ValueError
        otherwise."""
        if steps is None or isinstance(steps, int):
            return self.timesteps(steps or self.steps).tolist()
        seq = [int(t) for t in steps]
        if not seq or any(not 0 <= t < self.steps for t in seq) or \
                any(a <= b for a, b in zip(seq, seq[1:])):
            raise ValueError(f"sampling steps must be strictly decreasing steps of the schedule, "
                             f"each in [0, {self.steps - 1}] (got {list(steps)})")
        return seq

    def _plan(self, net, steps: Steps, cond, device) -> tuple[list[int], torch.Tensor | None]:
        """(the sampling steps on the host, the blocks' projections of (step, cond) for every
        step at once where the net has them, else None). The steps are built on both devices:
        reading the device copy back would sync (not allowed while a CUDA graph is captured). A
        count is built on the device in integer arithmetic; an explicit sequence is copied once
        per device and kept, so that a CUDA graph captured after a warm-up call
        (cuda_graphs.capture) copies nothing."""
        seq = self.step_sequence(steps)
        if not hasattr(net, "step_embeddings"):
            return seq, None
        if steps is None or isinstance(steps, int):
            seq_t = self.timesteps(len(seq), device)
        else:
            key = (tuple(seq), str(device))
            if key not in self._explicit:
                self._explicit[key] = torch.tensor(seq, dtype=torch.long, device=device)
            seq_t = self._explicit[key]
        return seq, net.step_embeddings(seq_t, cond)

    @torch.no_grad()
    def sample(self, net, x_t, cond, steps: Steps = None, solver: str = "ddim"):
        """x_0 from x_T = ``x_t`` (B, ws, L) given ``cond``: ``solver`` (:data:`SOLVERS`) at
        ``steps`` (see :meth:`step_sequence`) -> (B, ws, L)."""
        if solver == "ddim":
            return self.ddim_sample(net, x_t, cond, steps)
        if solver == "dpm2m":
            return self.dpm2m_sample(net, x_t, cond, steps)
        raise ValueError(f"unknown solver {solver!r}; choose one of {SOLVERS}")

    @torch.no_grad()
    def ddim_sample(self, net, x_t, cond, steps: Steps = None):
        """DDIM with eta 0 from x_T = ``x_t`` (B, ws, L) at ``steps`` (:meth:`step_sequence`)."""
        seq, proj = self._plan(net, steps, cond, x_t.device)
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
            eps = _eps(net, x, t, cond, None if proj is None else proj[i])
            x0 = ((x.float() - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
            eps = (x.float() - ab.sqrt() * x0) / (1 - ab).sqrt()
            x = (ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps).to(x_t.dtype)
        return x

    @torch.no_grad()
    def dpm2m_sample(self, net, x_t, cond, steps: Steps = None):
        """DPM-Solver++(2M) from x_T = ``x_t`` (B, ws, L) at ``steps`` (:meth:`step_sequence`),
        in float32 with the schedule's values from the host: with alpha_t = sqrt(alpha_bar_t),
        sigma_t = sqrt(1 - alpha_bar_t), lambda_t = log(alpha_t / sigma_t) and h the step's
        lambda increment, x_next = sigma_next / sigma_t x - alpha_next expm1(-h) D, where D is
        the clamped x0 prediction on the first step and (1 + 1/(2r)) x0 - 1/(2r) x0_prev after
        (r: the previous step's h over this one's); the last step returns its x0."""
        seq, proj = self._plan(net, steps, cond, x_t.device)
        ab = self._alpha_bar_host
        x = x_t.float()
        x0_prev, h_prev = None, None
        for i, t in enumerate(seq):
            eps = _eps(net, x.to(x_t.dtype), t, cond, None if proj is None else proj[i])
            alpha, sigma = math.sqrt(ab[t]), math.sqrt(1 - ab[t])
            x0 = ((x - sigma * eps) / alpha).clamp_(-1, 1)
            if i + 1 == len(seq):
                break
            alpha_next, sigma_next = math.sqrt(ab[seq[i + 1]]), math.sqrt(1 - ab[seq[i + 1]])
            h = math.log(alpha_next / sigma_next) - math.log(alpha / sigma)
            d = x0
            if x0_prev is not None:
                w = h / (2 * h_prev)  # 1 / (2 r)
                d = (1 + w) * x0 - w * x0_prev
            x = (sigma_next / sigma) * x - (alpha_next * math.expm1(-h)) * d
            x0_prev, h_prev = x0, h
        return x0.to(x_t.dtype)


def _eps(net, x, t: int, cond, proj) -> torch.Tensor:
    """The network's noise prediction for x at step t, in float32: from the step's precomputed
    block projections ``proj`` where given, else from t itself."""
    if proj is None:
        tt = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
        return net(x, tt, cond).float()
    return net(x, None, cond, proj).float()
