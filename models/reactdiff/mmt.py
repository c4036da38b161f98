"""Multi-Modality Transformer (MMT): encoder (intra/inter cross attention -> latent) and decoder.

Encoder (paper eq. 3, with the public code's attention unit):
    attention unit  = project query / key / value to d, multi-head attention, residual onto the
                      projected query, LayerNorm (no feed-forward block);
    video intra     = first video stream (AU) self-attention, then ``intra_blocks`` blocks that
                      cross-attend every further video stream in order (FE, VA, 3DMM);
    audio intra     = first audio stream (log-mel / AFR) cross-attends every further one (MFCC);
    inter           = ``inter_layers`` units in which the video state queries the audio state;
    projection      = MLP to the latent width, then a small MLP -> per-frame latent (B, T, latent).
Each stream is first embedded (Linear to d + sinusoidal frame position), so attention over the
frames knows time. Variant ``fusion="concat"`` (w/o MMT) replaces every attention by a
concatenation of all stream embeddings and one Linear.

Decoder (eq. 4): Linear to d_dec + sinusoidal positions, ``dec_layers`` transformer encoder layers
over the whole sequence, and two MLP heads: 3DMM (58, standardised units) and emotion (25) with
range-keeping activations (AU sigmoid in [0, 1], VA tanh in [-1, 1], FE softmax).

Online mode (``causal=True``): every attention in encoder and decoder gets a causal mask, so frame
t depends on frames <= t only.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from reactbench.constants import AU, FE, VA

from .config import ModelConfig


def sinusoidal_positions(length: int, dim: int, device=None, dtype=torch.float32,
                         offset: torch.Tensor | None = None) -> torch.Tensor:
    """Sinusoidal position codes (Vaswani et al.) of frames 0..length-1: (length, dim); with
    ``offset`` (B,) (first frame index of each training crop) frames offset..: (B, length, dim)."""
    pos = torch.arange(length, device=device, dtype=torch.float32)
    pos = pos[None, :, None] + offset.to(device).float()[:, None, None] if offset is not None \
        else pos[:, None]
    half = dim // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(half, device=device) / max(half, 1))
    ang = pos * freq
    out = torch.cat([ang.sin(), ang.cos()], dim=-1)
    if out.shape[-1] < dim:
        out = F.pad(out, (0, dim - out.shape[-1]))
    return out.to(dtype)


def causal_mask(length: int, device=None) -> torch.Tensor:
    """(length, length) bool mask, True where attention is NOT allowed (future frames)."""
    return torch.ones(length, length, dtype=torch.bool, device=device).triu(1)


class AttentionUnit(nn.Module):
    """Project q/k/v to d, multi-head attention, residual onto projected query, LayerNorm.

    With ``frame_skip`` the context's own frame t is also added (a Linear of it) to query frame
    t: the streams are frame-synchronous, and without this path a stream's per-frame values
    reach the state only through attention that must first learn to align positions."""

    def __init__(self, d: int, heads: int, dropout: float = 0.0, frame_skip: bool = False):
        super().__init__()
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.skip = nn.Linear(d, d) if frame_skip else None
        self.norm = nn.LayerNorm(d)

    def forward(self, query, context, mask=None):
        q = self.q(query)
        out, _ = self.attn(q, self.k(context), self.v(context), attn_mask=mask,
                           need_weights=False)
        if self.skip is not None:
            out = out + self.skip(context)
        return self.norm(q + out)


class StreamEmbed(nn.Module):
    """Per-stream Linear(width -> d) + LayerNorm (+ positions added by the encoder)."""

    def __init__(self, width: int, d: int):
        super().__init__()
        self.proj = nn.Linear(width, d)
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        return self.norm(self.proj(x))


class IntraCA(nn.Module):
    """Intra-cross attention within one modality group (first stream queries the others)."""

    def __init__(self, n_streams: int, d: int, heads: int, blocks: int, self_first: bool,
                 dropout: float, frame_skip: bool = False):
        super().__init__()
        self.self_attn = AttentionUnit(d, heads, dropout) if self_first else None
        self.blocks = nn.ModuleList(
            nn.ModuleList(AttentionUnit(d, heads, dropout, frame_skip)
                          for _ in range(n_streams - 1))
            for _ in range(blocks if n_streams > 1 else 0))

    def forward(self, streams: list[torch.Tensor], mask=None):
        h = streams[0]
        if self.self_attn is not None:
            h = self.self_attn(h, h, mask)
        for block in self.blocks:
            for unit, ctx in zip(block, streams[1:]):
                h = unit(h, ctx, mask)
        return h


class MMTEncoder(nn.Module):
    """Streams of one person -> per-frame latent (B, T, latent_dim)."""

    def __init__(self, cfg: ModelConfig, widths: dict[str, int]):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.names = {g: [s.name for s in cfg.streams if s.group == g] for g in cfg.groups_used()}
        self.embed = nn.ModuleDict({s.name: StreamEmbed(widths[s.name], d) for s in cfg.streams})
        if cfg.fusion == "cross":
            self.intra = nn.ModuleDict()
            if "video" in self.names:
                self.intra["video"] = IntraCA(len(self.names["video"]), d, cfg.heads,
                                              cfg.intra_blocks, True, cfg.dropout, cfg.frame_skip)
            if "audio" in self.names:
                self.intra["audio"] = IntraCA(len(self.names["audio"]), d, cfg.heads, 1,
                                              len(self.names["audio"]) == 1, cfg.dropout,
                                              cfg.frame_skip)
            both = len(self.names) == 2
            self.inter = nn.ModuleList(AttentionUnit(d, cfg.heads, cfg.dropout, cfg.frame_skip)
                                       for _ in range(cfg.inter_layers if both else 0))
        elif cfg.fusion == "concat":
            self.fuse = nn.Linear(d * len(cfg.streams), d)
        else:
            raise ValueError(f"unknown fusion {cfg.fusion!r}")
        self.project = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, cfg.latent_dim))
        self.to_latent = nn.Sequential(nn.Linear(cfg.latent_dim, cfg.latent_dim), nn.GELU(),
                                       nn.Linear(cfg.latent_dim, cfg.latent_dim))

    def forward(self, streams: dict[str, torch.Tensor], causal: bool = False,
                offset: torch.Tensor | None = None, drop: str | None = None) -> torch.Tensor:
        """``drop``: a modality group left out (stage-1 modality dropout): the latent is then
        computed from the other group alone, as in the single-modality variants."""
        first = next(iter(streams.values()))
        t = first.shape[1]
        pos = sinusoidal_positions(t, self.cfg.d_model, first.device, first.dtype, offset)
        emb = {name: self.embed[name](streams[name]) + pos for name in self.embed}
        mask = causal_mask(t, first.device) if causal else None
        if self.cfg.fusion == "concat":
            h = self.fuse(torch.cat([emb[s.name] for s in self.cfg.streams], dim=-1))
        else:
            states = {g: self.intra[g]([emb[n] for n in names], mask)
                      for g, names in self.names.items() if g != drop}
            h = states.get("video", states.get("audio"))
            if len(states) == 2:
                for unit in self.inter:
                    h = unit(h, states["audio"], mask)
        return self.to_latent(self.project(h))


class EmotionHead(nn.Module):
    """MLP -> 25 emotion values mapped into their ranges (AU [0,1], VA [-1,1], FE softmax)."""

    def __init__(self, d: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, 25))

    def forward(self, h):
        raw = self.mlp(h).float()
        return torch.cat([torch.sigmoid(raw[..., AU]), torch.tanh(raw[..., VA]),
                          torch.softmax(raw[..., FE], dim=-1)], dim=-1)


class MMTDecoder(nn.Module):
    """Latent (B, T, latent) -> (3DMM (B, T, 58) standardised, emotion (B, T, 25))."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.dec_d_model
        self.d = d
        self.inp = nn.Linear(cfg.latent_dim, d)
        layer = nn.TransformerEncoderLayer(d, cfg.dec_heads, 4 * d, cfg.dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, cfg.dec_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head_3dmm = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, 58))
        self.head_emotion = EmotionHead(d)

    def forward(self, z: torch.Tensor, causal: bool = False, offset: torch.Tensor | None = None):
        t = z.shape[1]
        h = self.inp(z) + sinusoidal_positions(t, self.d, z.device, z.dtype, offset)
        mask = causal_mask(t, z.device) if causal else None
        h = self.norm(self.layers(h, mask=mask, is_causal=causal))
        return self.head_3dmm(h).float(), self.head_emotion(h)
