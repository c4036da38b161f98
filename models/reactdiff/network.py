"""ReactDiffNet: MMT encoder/decoder + conditional latent DDIM (+ LRS) in one module.

Stage 1 (:meth:`stage1_loss`): the MMT is an autoencoder of a person's own behaviour: listener
streams -> latent -> listener 3DMM + emotion; loss ``w_3dmm * MSE(3DMM) + w_emotion * L1(emotion)``
(+ ``w_au_bce * BCE(AU)``, a reactbench addition, 0 in the paper preset)
(3DMM in standardised units).
Stage 2 (:meth:`stage2_loss`, MMT frozen): x0 = normalised listener latent windows,
z_bc = SiLU(GroupNorm(Linear(flatten(normalised speaker window latent)))) (paper eq. 6), loss
``w_eps * L1(eps_theta(x_t, t, z_bc) - eps)``; variant ``diffusion=False`` regresses x0 from z_bc
directly (deterministic), variant ``lrs=True`` adds Listener Reaction Shifts (see lrs.py).
Condition context (:meth:`condition_features`, a reactbench extension, off in the paper preset):
``cond_windows = c`` flattens speaker windows k-c+1..k (zeros before the clip starts) instead of
window k alone, and ``cond_summary`` appends the running mean of the speaker's windows 0..k, so a
window's reaction can follow speaker events of the previous window (reaction lags reach 2 s, a
whole window) and the conversation so far. Both only look back: online stays causal.
Generation (:meth:`sample_latents`): every window from its own noise, DDIM eta 0, then
:meth:`decode` of the whole (offline) or causal (online) sequence.

Every trained parameter and every statistic (stream standardisation, 3DMM target
standardisation, latent min-max statistics) is a parameter or buffer of this module, so one
``state_dict`` restores the model exactly (the public code lost its condition projection).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from reactbench.constants import AU

from .config import ModelConfig
from .diffusion import Diffusion, LatentNorm, Steps, from_windows, to_windows
from .lrs import ListenerReactionShifts
from .mmt import MMTDecoder, MMTEncoder, sinusoidal_positions
from .unet import UNet1D


class Standardise(nn.Module):
    """Per-feature mean/std buffers (fitted on the training split)."""

    def __init__(self, width: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("std", torch.ones(width))

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        flat = x.reshape(-1, x.shape[-1]).double()
        self.mean.copy_(flat.mean(0).float())
        self.std.copy_(flat.std(0).float().clamp_min(1e-3))

    def forward(self, x):
        return (x - self.mean) / self.std

    def inverse(self, x):
        return x * self.std + self.mean


class ReactDiffNet(nn.Module):
    def __init__(self, cfg: ModelConfig, widths: dict[str, int]):
        super().__init__()
        self.cfg = cfg
        self.widths = dict(widths)
        self.stream_norm = nn.ModuleDict({s.name: Standardise(widths[s.name])
                                          for s in cfg.streams})
        self.target_norm = Standardise(58)
        self.encoder = MMTEncoder(cfg, widths)
        self.decoder = MMTDecoder(cfg)
        self.latent_norm = LatentNorm(cfg.window, cfg.latent_dim)
        flat = cfg.window * cfg.latent_dim
        if cfg.cond_windows < 1:
            raise ValueError(f"cond_windows must be >= 1 (got {cfg.cond_windows})")
        self.cond_in = (cfg.cond_windows * flat + (cfg.latent_dim if cfg.cond_summary else 0)
                        + cfg.cond_position)
        self.cond_proj = nn.Linear(self.cond_in, cfg.cond_dim)
        self.cond_norm = nn.GroupNorm(cfg.cond_groups, cfg.cond_dim)
        self.unet = UNet1D(cfg)
        self.diffusion = Diffusion(cfg.diffusion_steps)
        self.lrs = (ListenerReactionShifts(self.cond_in, cfg.cond_dim, cfg.lrs_styles,
                                           cfg.lrs_rank, listener_dim=flat)
                    if cfg.lrs else None)

    # ---- parameter groups per stage ------------------------------------------------------
    def stage_modules(self, stage: int) -> list[nn.Module]:
        if stage == 1:
            return [self.encoder, self.decoder]
        mods = [self.cond_proj, self.cond_norm, self.unet]
        return mods + ([self.lrs] if self.lrs is not None else [])

    def set_stage(self, stage: int) -> None:
        """requires_grad only on the stage's modules (stage 2: MMT frozen)."""
        self.requires_grad_(False)
        for m in self.stage_modules(stage):
            m.requires_grad_(True)

    # ---- MMT -----------------------------------------------------------------------------
    def encode(self, streams: dict[str, torch.Tensor], causal: bool = False, offset=None,
               drop: str | None = None):
        """streams: name -> (B, T, width) raw features -> latent (B, T, latent_dim)."""
        normed = {name: self.stream_norm[name](streams[name]) for name in self.stream_norm}
        return self.encoder(normed, causal=causal, offset=offset, drop=drop)

    def decode(self, z: torch.Tensor, causal: bool = False, offset=None):
        """latent (B, T, L) -> (3DMM (B, T, 58) raw units, emotion (B, T, 25))."""
        face, emo = self.decoder(z, causal=causal, offset=offset)
        return self.target_norm.inverse(face), emo

    def stage1_loss(self, batch: dict, causal: bool, w_3dmm: float, w_emotion: float,
                    drop: str | None = None, w_au_bce: float = 0.0):
        """``w_3dmm * MSE(3DMM) + w_emotion * L1(emotion)`` (the paper) ``+ w_au_bce *
        BCE(AU)``: through the AU sigmoid, L1's gradient vanishes once an output saturates
        near 0, and sparse AUs (active a few % of frames) then stay at 0 even when they are
        inputs; BCE's gradient (p - y) does not vanish."""
        z = self.encode(batch["listener"], causal, batch.get("offset"), drop)
        face, emo = self.decoder(z, causal=causal, offset=batch.get("offset"))
        target = self.target_norm(batch["listener_3dmm"])
        l_3dmm = F.mse_loss(face.float(), target.float())
        emo_t = batch["listener_emotion"].float()
        l_emo = F.l1_loss(emo.float(), emo_t)
        loss = w_3dmm * l_3dmm + w_emotion * l_emo
        logs = {"mse_3dmm": l_3dmm.detach(), "l1_emotion": l_emo.detach()}
        if w_au_bce:
            p = emo[..., AU].float().clamp(1e-7, 1 - 1e-7)
            y = emo_t[..., AU]
            l_bce = -(y * p.log() + (1 - y) * (1 - p).log()).mean()  # autocast-safe form
            loss = loss + w_au_bce * l_bce
            logs["bce_au"] = l_bce.detach()
        return loss, logs

    # ---- latent diffusion ----------------------------------------------------------------
    def latent_windows(self, streams, causal: bool, offset=None):
        """Frozen-MMT latent of a person, normalised, in windows: (B, K, ws, L), frames."""
        with torch.no_grad():
            z = self.encode(streams, causal, offset)
        w, frames = to_windows(z.float(), self.cfg.window)
        return self.latent_norm.normalise(w), frames

    def condition_features(self, spk: torch.Tensor, offset=None) -> torch.Tensor:
        """Normalised speaker windows (B, K, ws, L) -> condition inputs (B, K, cond_in): for
        window k the flattened windows k-c+1..k (c = cond_windows; zeros before the first
        window), then (cond_summary) the mean latent of windows 0..k, then (cond_position) a
        sinusoidal code of the window's index in the clip (``offset`` (B,): first frame of a
        training crop). Causal by construction."""
        k = spk.shape[1]
        flat = spk.flatten(2)
        parts = [F.pad(flat, (0, 0, c, 0))[:, :k] for c in range(self.cfg.cond_windows - 1, 0, -1)]
        parts.append(flat)
        if self.cfg.cond_summary:
            parts.append(ListenerReactionShifts.running_mean(spk.mean(2)))
        if self.cfg.cond_position:
            parts.append(self.window_positions(spk.shape[0], k, spk.device, spk.dtype, offset))
        return torch.cat(parts, -1) if len(parts) > 1 else flat

    def window_positions(self, b: int, k: int, device, dtype, offset=None) -> torch.Tensor:
        """(B, K, cond_position) sinusoidal codes of window indices (offset // ws) + 0..K-1."""
        first = None if offset is None else torch.as_tensor(offset, device=device) \
            // self.cfg.window
        codes = sinusoidal_positions(k, self.cfg.cond_position, device, dtype, first)
        return codes.expand(b, k, -1) if codes.dim() == 2 else codes

    def condition(self, features: torch.Tensor, style: torch.Tensor | None = None):
        """features (n, cond_in) from :meth:`condition_features` (for the paper's condition, the
        flattened speaker window) -> z_bc (n, cond_dim); style (n, styles) for LRS."""
        flat = features.flatten(1)
        h = self.cond_proj(flat)
        if self.lrs is not None and style is not None:
            h = h + self.lrs.shift(flat, style)
        return F.silu(self.cond_norm(h))

    def stage2_loss(self, batch: dict, causal: bool, w_eps: float, w_lrs: float):
        spk, _ = self.latent_windows(batch["speaker"], causal, batch.get("offset"))
        lis, _ = self.latent_windows(batch["listener"], causal, batch.get("offset"))
        feats = self.condition_features(spk, batch.get("offset"))
        b, k, ws, d = lis.shape
        style, extra, logs = None, 0.0, {}
        if self.lrs is not None:
            weights, logq = self.lrs.train_weights(lis.flatten(2), batch["gumbel"])
            style = weights[:, None].expand(b, k, -1).reshape(b * k, -1)
            prior = self.lrs.prior_logits(feats)
            extra = w_lrs * self.lrs.prior_loss(logq, prior)
            logs["lrs_kl"] = extra.detach() if torch.is_tensor(extra) else extra
        cond = self.condition(feats.reshape(b * k, -1), style)
        x0 = lis.reshape(b * k, ws, d)
        if self.cfg.diffusion:
            t = batch["t"][:, :k].reshape(-1)
            noise = batch["noise"][:, :k].reshape(b * k, ws, d).to(x0.dtype)
            loss = self.diffusion.loss(self.unet, x0, cond, t, noise)
        else:
            pred = self._direct(cond, x0.shape, x0.dtype)
            loss = (pred.float() - x0.float()).abs().mean()
        logs["l1"] = loss.detach()
        return w_eps * loss + extra, logs

    def _direct(self, cond, shape, dtype):
        """w/o diffusion: x0 = net(0, t = 0, z_bc), deterministic."""
        zeros = torch.zeros(shape, device=cond.device, dtype=dtype)
        t = torch.zeros(shape[0], device=cond.device, dtype=torch.long)
        return self.unet(zeros, t, cond)

    @torch.no_grad()
    def style_weights(self, feats: torch.Tensor, uniforms: torch.Tensor):
        """LRS style one-hots (B, A, K, styles) for condition features (B, K, cond_in);
        else None."""
        if self.lrs is None:
            return None
        return self.lrs.sample_weights(self.lrs.prior_logits(feats), uniforms)

    @torch.no_grad()
    def sample_windows(self, feats: torch.Tensor, noise: torch.Tensor,
                       style: torch.Tensor | None = None, steps: Steps = None,
                       chunk: int | None = None, progress=None,
                       solver: str = "ddim") -> torch.Tensor:
        """Independent windows: condition features (n, cond_in), x_T (n, ws, L), style (n, S)
        -> generated listener windows (n, ws, L) in the MMT's (denormalised) units, sampled by
        ``solver`` at ``steps`` (:meth:`.diffusion.Diffusion.sample`), in equal
        chunks of at most ``chunk`` windows (default 4096 on a GPU; 256 on a CPU, where larger
        batches fall out of the caches); ``progress(done, n)`` after each chunk."""
        n = noise.shape[0]
        most = chunk or (4096 if feats.is_cuda else 256)
        chunk = max(1, math.ceil(n / max(1, math.ceil(n / most))))
        out = []
        xt = noise.to(feats.dtype)
        for i in range(0, n, chunk):
            cond = self.condition(feats[i:i + chunk], None if style is None else style[i:i + chunk])
            if self.cfg.diffusion:
                out.append(self.diffusion.sample(self.unet, xt[i:i + chunk], cond, steps,
                                                 solver))
            else:
                out.append(self._direct(cond, xt[i:i + chunk].shape, xt.dtype).clamp(-1, 1))
            if progress is not None:
                progress(min(i + chunk, n), n)
        return self.latent_norm.denormalise(torch.cat(out).float())

    @torch.no_grad()
    def sample_latents(self, speaker: dict[str, torch.Tensor], noise: torch.Tensor,
                       uniforms: torch.Tensor, causal: bool, steps: Steps = None,
                       progress=None, solver: str = "ddim"):
        """speaker streams (B, T, w); noise (B, A, K, ws, L); uniforms (B, A) (LRS) ->
        latents (B, A, T, L) in the MMT's units; ``progress(done, total)``: windows sampled
        (:meth:`sample_windows`)."""
        spk, frames = self.latent_windows(speaker, causal)
        b, k, ws, d = spk.shape
        a = noise.shape[1]
        feats = self.condition_features(spk)
        style = self.style_weights(feats, uniforms)
        rep = feats[:, None].expand(b, a, k, feats.shape[-1]).reshape(b * a * k, -1)
        x0 = self.sample_windows(rep, noise.reshape(b * a * k, ws, d),
                                 None if style is None else style.reshape(b * a * k, -1), steps,
                                 progress=progress, solver=solver)
        return from_windows(x0.reshape(b * a, k, ws, d), frames).reshape(b, a, frames, d)
