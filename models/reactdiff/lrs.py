"""Listener Reaction Shifts (LRS): personalised reaction styles as low-rank weight edits.

The paper only names LRS ("inspired by PerFRDiff's weight-editing paradigm ... to model
personalized cognitive styles"); no code exists. Our design:

- A bank of K styles (``lrs_styles``, default 8). Style k is a rank-r edit
  Delta W_k = U_k V_k of the condition projection W (flattened speaker window -> z_bc): the
  condition for style weights w is ``GroupNorm(W x + b + sum_k w_k U_k V_k x)`` -- a listener's
  cognitive style changes HOW the same speaker behaviour is read (a weight shift, as in
  PerFRDiff's weight editing), not the speaker behaviour itself.
- Training (stage 2): the style posterior q(k | listener) is predicted from the listener's whole
  clip (mean of its normalised latent windows); a straight-through Gumbel-max draw from q picks
  ONE style per training clip (so the edits specialise to distinct styles). A style prior
  p(k | speaker so far) is predicted per window from the running mean of the speaker's windows
  0..k (causal) and trained by KL(q || p) (weight ``w_lrs``), with q detached.
- Generation: the listener is unknown, so each of the alpha samples draws its style from the
  prior by inverse CDF with one seeded uniform per (row, sample): a sample keeps a coherent style
  across its windows while different samples realise different plausible listeners. Styles shift
  samples towards the speaker-appropriate modes (appropriateness, synchrony) at some cost in
  within-speaker diversity, the trade-off the paper reports for ReactDiff (LRS).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ListenerReactionShifts(nn.Module):
    def __init__(self, in_dim: int, cond_dim: int, styles: int, rank: int,
                 listener_dim: int | None = None):
        """in_dim: width of the condition input (speaker side); listener_dim: width of a
        flattened listener window (the posterior's input; default in_dim)."""
        super().__init__()
        self.styles = styles
        self.u = nn.Parameter(torch.zeros(styles, cond_dim, rank))  # zero: starts as no edit
        self.v = nn.Parameter(torch.randn(styles, rank, in_dim) / in_dim ** 0.5)
        hidden = min(256, cond_dim)
        self.posterior = nn.Sequential(nn.Linear(listener_dim or in_dim, hidden), nn.SiLU(),
                                       nn.Linear(hidden, styles))
        self.prior = nn.Sequential(nn.Linear(in_dim, hidden), nn.SiLU(),
                                   nn.Linear(hidden, styles))

    def shift(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """x (n, in_dim) flattened windows, weights (n, K) -> edit (n, cond_dim)."""
        low = torch.einsum("kri,ni->nkr", self.v.to(x.dtype), x)
        return torch.einsum("kcr,nkr,nk->nc", self.u.to(x.dtype), low, weights.to(x.dtype))

    @staticmethod
    def running_mean(flat: torch.Tensor) -> torch.Tensor:
        """(B, K, D) -> (B, K, D): mean over windows 0..k (causal)."""
        counts = torch.arange(1, flat.shape[1] + 1, device=flat.device, dtype=flat.dtype)
        return flat.cumsum(1) / counts[None, :, None]

    def prior_logits(self, speaker_flat: torch.Tensor) -> torch.Tensor:
        """speaker_flat (B, K, D) -> (B, K, styles) logits of p(style | speaker windows <= k)."""
        return self.prior(self.running_mean(speaker_flat).float())

    def train_weights(self, listener_flat, gumbel):
        """listener_flat (B, K, D), gumbel (B, styles) -> (one-hot ST weights (B, styles),
        posterior log-probs (B, styles))."""
        logq = F.log_softmax(self.posterior(listener_flat.float().mean(1)), dim=-1)
        hard = F.one_hot((logq + gumbel).argmax(-1), self.styles).to(logq.dtype)
        q = logq.exp()
        return hard + q - q.detach(), logq

    def prior_loss(self, logq: torch.Tensor, prior_logits: torch.Tensor) -> torch.Tensor:
        """KL(q || p) averaged over windows, q detached."""
        logp = F.log_softmax(prior_logits, dim=-1)
        q = logq.detach().exp()[:, None]
        return (q * (logq.detach()[:, None] - logp)).sum(-1).mean()

    def sample_weights(self, prior_logits: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
        """prior_logits (B, K, styles), uniforms (B, A) -> one-hot (B, A, K, styles) by inverse
        CDF: sample a keeps the same quantile in every window."""
        cdf = torch.softmax(prior_logits, -1).cumsum(-1)  # (B, K, S)
        u = uniforms[:, :, None, None].to(cdf.dtype)  # (B, A, 1, 1)
        idx = (cdf[:, None] < u).sum(-1).clamp(max=self.styles - 1)  # (B, A, K)
        return F.one_hot(idx, self.styles).float()
