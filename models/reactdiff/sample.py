"""Generation: alpha reactions per speaker row, offline (whole clip) or causal online.

Temperature: x_T = temperature * N(0, I) (1 = the plain DDIM sampler; below 1 trades
diversity for samples nearer the conditional mode). Its default is stored in the checkpoint
(``sampling.temperature``, chosen on the VAL split) and can be overridden per run.

Reproducibility: the initial noise of window k of speaker row r is drawn from
``numpy.random.default_rng([seed, r, k])`` (and LRS's style quantiles from ``[seed, r, 2**30]``),
so a row's reactions depend on (checkpoint, seed, row, its speaker input) only -- not on the batch
it came in, nor on how many rows were generated before it.

Online (``causal=True``): the MMT encoder and decoder run with causal masks, window k of the
latent is conditioned on speaker window k (computed from frames <= the window's end), so the
reaction at frame t depends on speaker frames <= the end of t's window only. The harness calls
``generate_online`` once per window with the prefix [0, end); generated latent windows are cached
per (row, seed, alpha, window, hash of the speaker prefix up to the window's end), so each call
samples only its new windows and earlier outputs are reproduced exactly.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict

import numpy as np
import torch

from .network import ReactDiffNet

STYLE_KEY = 2**30


def window_noise(seed: int, row: int, window: int, alpha: int, ws: int, dim: int) -> np.ndarray:
    return np.random.default_rng([seed, row, window]).standard_normal((alpha, ws, dim),
                                                                       dtype=np.float32)


def style_uniforms(seed: int, row: int, alpha: int) -> np.ndarray:
    return np.random.default_rng([seed, row, STYLE_KEY]).random(alpha).astype(np.float32)


class Sampler:
    """Wraps a trained network for batched, seeded generation."""

    def __init__(self, net: ReactDiffNet, device: str = "cpu", ddim_steps: int | None = None,
                 cache_size: int = 20000, temperature: float = 1.0):
        self.net = net.to(device).eval()
        self.temperature = float(temperature)  # scale of the initial noise x_T
        self.device = device
        self.steps = ddim_steps
        self.ws = net.cfg.window
        self.dim = net.cfg.latent_dim
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = cache_size

    def _tensors(self, streams: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(np.ascontiguousarray(v)).to(self.device)
                for k, v in streams.items()}

    @torch.no_grad()
    def latents(self, streams: dict[str, np.ndarray], rows, alpha: int, seed: int,
                causal: bool) -> torch.Tensor:
        """(B, alpha, T, L) sampled latents for all windows of the given streams."""
        frames = next(iter(streams.values())).shape[1]
        k = math.ceil(frames / self.ws)
        noise = np.stack([np.stack([window_noise(seed, int(r), j, alpha, self.ws, self.dim)
                                    for j in range(k)], axis=1) for r in rows])
        uni = np.stack([style_uniforms(seed, int(r), alpha) for r in rows])
        noise *= self.temperature
        return self.net.sample_latents(self._tensors(streams), torch.from_numpy(noise).to(
            self.device), torch.from_numpy(uni).to(self.device), causal=causal, steps=self.steps)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, causal: bool) -> tuple[np.ndarray, np.ndarray]:
        b, a, t, d = z.shape
        face, emo = self.net.decode(z.reshape(b * a, t, d), causal=causal)
        return (emo.reshape(b, a, t, 25).cpu().numpy().astype(np.float32),
                face.reshape(b, a, t, 58).cpu().numpy().astype(np.float32))

    def offline(self, streams, rows, alpha, seed):
        """(emotion (B, alpha, T, 25), 3DMM (B, alpha, T, 58))."""
        return self.decode(self.latents(streams, rows, alpha, seed, causal=False), causal=False)

    @torch.no_grad()
    def online(self, streams, rows, alpha, seed, start: int):
        """Reactions for frames [start, end) given the speaker prefix [0, end)."""
        frames = next(iter(streams.values())).shape[1]
        k = math.ceil(frames / self.ws)
        z = torch.empty(len(rows), alpha, k, self.ws, self.dim, device=self.device)
        missing = []  # (batch index, window, cache key)
        for i, r in enumerate(rows):
            for j in range(k):
                key = self._key(streams, i, int(r), j, alpha, seed, frames)
                hit = self._cache.get(key)
                if hit is None:
                    missing.append((i, j, key))
                else:
                    self._cache.move_to_end(key)
                    z[i, :, j] = hit.to(self.device)
        if missing:
            spk, _ = self.net.latent_windows(self._tensors(streams), causal=True)
            feats = self.net.condition_features(spk)
            uni = np.stack([style_uniforms(seed, int(r), alpha) for r in rows])
            style = self.net.style_weights(feats, torch.from_numpy(uni).to(self.device))
            idx_i = torch.tensor([i for i, _, _ in missing], device=self.device)
            idx_j = torch.tensor([j for _, j, _ in missing], device=self.device)
            cond_in = feats[idx_i, idx_j][:, None].expand(-1, alpha, -1)
            noise = torch.from_numpy(np.stack([window_noise(seed, int(rows[i]), j, alpha, self.ws,
                                                            self.dim) for i, j, _ in missing])
                                     * self.temperature)
            sty = None if style is None else style[idx_i, :, idx_j].reshape(-1, style.shape[-1])
            new = self.net.sample_windows(cond_in.reshape(-1, cond_in.shape[-1]),
                                          noise.to(self.device).reshape(-1, self.ws, self.dim),
                                          sty, self.steps).reshape(len(missing), alpha, self.ws,
                                                                   self.dim)
            for n, (i, j, key) in enumerate(missing):
                z[i, :, j] = new[n]
                if (j + 1) * self.ws <= frames:  # cache complete windows only
                    self._cache[key] = new[n].cpu()
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        zz = z.reshape(len(rows), alpha, k * self.ws, self.dim)[:, :, :frames]
        emo, face = self.decode(zz, causal=True)
        return emo[:, :, start:frames], face[:, :, start:frames]

    def _key(self, streams, i, row, j, alpha, seed, frames):
        end = min((j + 1) * self.ws, frames)
        h = hashlib.blake2b(digest_size=16)
        for name in sorted(streams):
            h.update(np.ascontiguousarray(streams[name][i, :end]).tobytes())
        return (row, seed, alpha, j, end, self.steps, self.temperature, h.hexdigest())
