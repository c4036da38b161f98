"""The REACT2025/2026 target post-processor: an EmotionVAE that re-times a target sequence.

Only ``gt_align="emotionvae"`` of :mod:`reactbench.data.targets` imports this module (torch is
imported at its top); the default linear alignment needs no torch.

Architecture (module and parameter names as in the challenge code, so its checkpoints load):
``in_proj`` (25 -> d linear, or an MLP), an absolute or learnable positional table ``PE.pe``,
an ``encoder`` (``global_tokens`` prepended to the sequence, a ``transformer_encoder`` of
post-norm layers) whose first 2G outputs are the latent mean and log-variance (or G outputs
through ``mu_head``/``logvar_head``), a latent drawn with ``rsample`` (the stochastic step),
and a ``decoder`` (zero or learnable ``time_query`` of the requested output span, plus the
positional table, attending to the latent through a ``transformer_decoder``) with output heads
``au_out_proj`` (15), ``va_out_proj`` (2), ``emo_out_proj`` (8), or one shared ``out_proj``.
Heads: AU = ``sigmoid >= 0.5`` (0/1), VA raw, FE softmax.

Segmenting (``post_clip_length`` P, default 1000), target of L' frames to L frames:
L' = L passes through unchanged. L > L': n = ceil(L/P) chunks of ceil(L'/n) target frames
(zero-padded to P), each decoded to P frames, the last to L mod P when non-zero. L < L':
n = ceil(L'/P) chunks of P target frames (the last holds L' mod P), each decoded to
m = ceil(L/n) frames, the last to L mod m when non-zero. The shorter sequence needs at least n
frames.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from reactbench.errors import DataError

HEADS = {"au_out_proj": 15, "va_out_proj": 2, "emo_out_proj": 8}


def _slice(table: torch.Tensor, start: torch.Tensor, end: torch.Tensor, span: int
           ) -> torch.Tensor:
    """Rows ``start[b] .. end[b]`` of ``table`` (B, L, D) per batch item, zero beyond the
    slice, zero-padded to ``span`` rows: (B, span, D)."""
    B, L, D = table.shape
    lengths = end - start + 1
    m = int(lengths.max())
    if m > span:
        raise ValueError(f"a slice of {m} rows does not fit {span}")
    rel = torch.arange(m, device=table.device).unsqueeze(0).expand(B, m)
    pos = (start.unsqueeze(1) + rel).clamp(0, L - 1)
    out = table.gather(1, pos.unsqueeze(-1).expand(-1, -1, D))
    out = out * (rel < lengths.unsqueeze(1)).unsqueeze(-1)
    return torch.cat((out, out.new_zeros(B, span - m, D)), dim=1)


def _valid(lengths: torch.Tensor, span: int) -> torch.Tensor:
    """(B, span) bool: position < length."""
    return torch.arange(span, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


class PositionalEncoding(nn.Module):
    """Positional table added to a sequence (``pe``: (max_len, 1, d) sinusoidal buffer, or a
    (1, max_len, d) learnable parameter)."""

    def __init__(self, d_model: int, dropout: float = 0.1, pe_type: str = "absolute",
                 max_len: int = 5000) -> None:
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        self.pe_type = pe_type
        if pe_type == "learnable":
            self.pe = nn.Parameter(torch.zeros(1, max_len, d_model))
            nn.init.uniform_(self.pe)
        elif pe_type == "absolute":
            position = torch.arange(max_len, dtype=torch.float).unsqueeze(1)
            rate = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(1e4) / d_model))
            table = torch.zeros(max_len, d_model)
            table[:, 0::2] = torch.sin(position * rate)
            table[:, 1::2] = torch.cos(position * rate)
            self.register_buffer("pe", table.unsqueeze(1))
        else:
            raise ValueError(f"pe_type {pe_type!r}: expected 'absolute' or 'learnable'")

    def forward(self, x: torch.Tensor, start: torch.Tensor, end: torch.Tensor, span: int
                ) -> torch.Tensor:
        table = self.pe if self.pe_type == "learnable" else self.pe.permute(1, 0, 2)
        pe = _slice(table.expand(x.shape[0], -1, -1), start, end, span)
        return self.dropout(x + pe[:, : x.shape[1]])


class Encoder(nn.Module):
    """Global tokens + sequence through a transformer encoder; returns the token outputs."""

    def __init__(self, d_model: int, nhead: int, num_layers: int, n_tokens: int,
                 dim_feedforward: int) -> None:
        super().__init__()
        self.n_tokens = n_tokens
        self.global_tokens = nn.Parameter(torch.zeros(1, n_tokens, d_model))
        nn.init.normal_(self.global_tokens, mean=0.0, std=0.04)
        self.transformer_encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, batch_first=True),
            num_layers, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor, pe: PositionalEncoding, start: torch.Tensor,
                end: torch.Tensor, span: int) -> torch.Tensor:
        x = pe(x, start, end, span)
        x = torch.cat((self.global_tokens.expand(x.shape[0], -1, -1), x), dim=1)
        tokens = torch.ones(x.shape[0], self.n_tokens, dtype=torch.bool, device=x.device)
        valid = torch.cat((tokens, _valid(end - start + 1, span)), dim=1)
        return self.transformer_encoder(x, src_key_padding_mask=~valid)[:, : self.n_tokens]


class Decoder(nn.Module):
    """Queries of the requested output span attend to the latent tokens."""

    def __init__(self, d_model: int, num_layers: int, max_seq_len: int, query_type: str,
                 dim_feedforward: int, nhead: int = 8) -> None:
        super().__init__()
        self.d_model = d_model
        self.query_type = query_type
        if query_type == "learnable":
            self.time_query = nn.Parameter(torch.zeros(1, max_seq_len, d_model))
            nn.init.uniform_(self.time_query)
        elif query_type != "zero":
            raise ValueError(f"query_type {query_type!r}: expected 'zero' or 'learnable'")
        self.transformer_decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d_model, nhead, dim_feedforward, batch_first=True),
            num_layers)

    def forward(self, latent: torch.Tensor, pe: PositionalEncoding, start: torch.Tensor,
                end: torch.Tensor, span: int) -> torch.Tensor:
        B = latent.shape[0]
        if self.query_type == "learnable":
            query = _slice(self.time_query.expand(B, -1, -1), start, end, span)
        else:
            query = latent.new_zeros(B, span, self.d_model)
        query = pe(query, start, end, span)
        valid = _valid(end - start + 1, span)
        return self.transformer_decoder(tgt=query, memory=latent, tgt_key_padding_mask=~valid)


class EmotionVAE(nn.Module):
    """The post-processor network; defaults are the challenge's (25 -> 512, 6 + 6 layers,
    64 latent tokens, absolute positions up to 5000 frames)."""

    def __init__(self, in_channels: int = 25, feature_dim: int = 512, nhead: int = 8,
                 dropout: float = 0.1, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 mlp_dist: bool = False, in_proj_type: str = "linear",
                 out_proj_type: str = "separate", pe_type: str = "absolute",
                 query_type: str = "zero", max_seq_len: int = 5000, global_token_len: int = 64,
                 dim_feedforward: int = 2048) -> None:
        super().__init__()
        self.mlp_dist = mlp_dist
        self.out_proj_type = out_proj_type
        self.global_token_len = global_token_len
        self.max_seq_len = max_seq_len
        self.PE = PositionalEncoding(feature_dim, dropout, pe_type, max_seq_len)
        if in_proj_type == "mlp":
            self.in_proj = nn.Sequential(
                nn.Linear(in_channels, feature_dim), nn.LayerNorm(feature_dim), nn.GELU(),
                nn.Linear(feature_dim, feature_dim), nn.LayerNorm(feature_dim))
        else:
            self.in_proj = nn.Linear(in_channels, feature_dim)
        if out_proj_type == "separate":
            for name, width in HEADS.items():
                setattr(self, name, nn.Linear(feature_dim, width))
        else:
            self.out_proj = nn.Linear(feature_dim, sum(HEADS.values()))
        n_tokens = global_token_len if mlp_dist else 2 * global_token_len
        self.encoder = Encoder(feature_dim, nhead, num_encoder_layers, n_tokens, dim_feedforward)
        if mlp_dist:
            self.mu_head = nn.Linear(feature_dim, feature_dim)
            self.logvar_head = nn.Linear(feature_dim, feature_dim)
        self.decoder = Decoder(feature_dim, num_decoder_layers, max_seq_len, query_type,
                               dim_feedforward)

    def forward(self, x: torch.Tensor, start_e: torch.Tensor, end_e: torch.Tensor,
                start_d: torch.Tensor, end_d: torch.Tensor, sample: bool = True
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: (B, S, 25) segments padded to S frames; input span ``start_e..end_e``, output
        span ``start_d..end_d`` per segment. Returns logits (AU (B, S, 15), VA (B, S, 2), FE
        (B, S, 8)), zero beyond each output span. ``sample``: draw the latent (``rsample``,
        as the challenge code does) instead of taking its mean."""
        span = x.shape[1]
        z = self.encoder(self.in_proj(x), self.PE, start_e, end_e, span)
        if self.mlp_dist:
            mu, logvar = self.mu_head(z), self.logvar_head(z)
        else:
            mu, logvar = z[:, : self.global_token_len], z[:, self.global_token_len:]
        latent = mu
        if sample:
            dist = torch.distributions.Normal(mu, logvar.exp().pow(0.5), validate_args=False)
            latent = dist.rsample()
        h = self.decoder(latent, self.PE, start_d, end_d, span)
        if self.out_proj_type == "separate":
            outs = [getattr(self, name)(h) for name in HEADS]
        else:
            outs = list(torch.split(self.out_proj(h), list(HEADS.values()), dim=-1))
        keep = _valid(end_d - start_d + 1, span).unsqueeze(-1).to(h.dtype)
        au, va, emo = (o * keep for o in outs)
        return au, va, emo


def config_from_state_dict(state: dict[str, torch.Tensor], nhead: int = 8) -> dict:
    """The :class:`EmotionVAE` arguments a state dict was saved from (``nhead`` is not
    recorded in it)."""
    def layers(prefix: str) -> int:
        found = {int(m.group(1)) for k in state if (m := re.match(prefix + r"\.(\d+)\.", k))}
        return max(found) + 1 if found else 0

    mlp_in = "in_proj.0.weight" in state
    d = state["in_proj.0.weight" if mlp_in else "in_proj.weight"].shape[0]
    pe = state["PE.pe"]
    learnable_pe = pe.shape[0] == 1 and pe.shape[1] != 1
    mlp_dist = "mu_head.weight" in state
    tokens = state["encoder.global_tokens"].shape[1]
    return dict(
        in_channels=state["in_proj.0.weight" if mlp_in else "in_proj.weight"].shape[1],
        feature_dim=d, nhead=nhead, mlp_dist=mlp_dist,
        num_encoder_layers=layers(r"encoder\.transformer_encoder\.layers"),
        num_decoder_layers=layers(r"decoder\.transformer_decoder\.layers"),
        in_proj_type="mlp" if mlp_in else "linear",
        out_proj_type="shared" if "out_proj.weight" in state else "separate",
        pe_type="learnable" if learnable_pe else "absolute",
        query_type="learnable" if "decoder.time_query" in state else "zero",
        max_seq_len=pe.shape[1] if learnable_pe else pe.shape[0],
        global_token_len=tokens if mlp_dist else tokens // 2,
        dim_feedforward=state["encoder.transformer_encoder.layers.0.linear1.weight"].shape[0])


def _state_dict(obj: object, path: Path) -> dict[str, torch.Tensor]:
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise DataError(f"{path}: not an EmotionVAE checkpoint; expected a state dict of "
                        "tensors (or a dict holding one under 'state_dict' or 'model')")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


@dataclass(frozen=True)
class SegmentPlan:
    """How a target of ``source`` frames is re-timed to ``length`` frames: ``n`` segments;
    ``chunk``: target frames per segment before padding; ``inputs``/``outputs``: valid input
    and output frames per segment; ``span``: the padded segment length."""

    length: int
    source: int
    n: int
    chunk: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    span: int


def _split(total: int, size: int, n: int) -> tuple[int, ...]:
    if n == 1:
        return (total,)
    last = total % size
    return (size,) * n if last == 0 else (size,) * (n - 1) + (last,)


def segment_plan(length: int, source: int, post_clip_length: int = 1000) -> SegmentPlan:
    """The segment arithmetic of the post-processor (see the module doc) for a target of
    ``source`` frames and a prediction of ``length`` frames (``length != source``)."""
    P = post_clip_length
    if length > source:
        n = math.ceil(length / P)
        chunk = math.ceil(source / n) if source >= n else 0
        inputs, outputs = _split(source, chunk, n) if chunk else (), _split(length, P, n)
        shorter = source
    else:
        n = math.ceil(source / P)
        m = math.ceil(length / n) if length >= n else 0
        chunk, inputs, outputs = P, _split(source, P, n), _split(length, m, n) if m else ()
        shorter = length
    if shorter < n:
        raise DataError(f"cannot align a target of {source} frames to {length} frames: "
                        f"{n} segments of at most {P} frames need at least {n} frames on the "
                        "shorter side")
    if sum(outputs) != length:
        raise DataError(f"cannot align a target of {source} frames to {length} frames: the "
                        f"post-processor's segments give {sum(outputs)} frames ({outputs})")
    return SegmentPlan(length, source, n, chunk, inputs, outputs, P)


class EmotionVAEAligner:
    """Aligns targets with an EmotionVAE; ``checkpoint_sha256`` names the weights used."""

    def __init__(self, model: EmotionVAE, *, post_clip_length: int = 1000,
                 device: str = "cpu", checkpoint_sha256: str | None = None) -> None:
        if post_clip_length > model.max_seq_len:
            raise DataError(f"post_clip_length {post_clip_length}: expected at most the "
                            f"network's {model.max_seq_len} positions")
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.post_clip_length = int(post_clip_length)
        self.checkpoint_sha256 = checkpoint_sha256

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, post_clip_length: int = 1000,
                        device: str = "cpu", nhead: int = 8) -> EmotionVAEAligner:
        """Load a checkpoint as data only (``weights_only=True``) into the architecture its
        state dict describes; DataError naming the file when it cannot."""
        path = Path(path).expanduser()
        if not path.is_file():
            raise DataError(f"{path}: EmotionVAE checkpoint not found")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch reports unpickling errors in many types
            raise DataError(f"{path}: cannot load it as a weights-only checkpoint ({exc})"
                            ) from exc
        state = _state_dict(obj, path)
        try:
            model = EmotionVAE(**config_from_state_dict(state, nhead=nhead))
            model.load_state_dict(state, strict=True)
        except (KeyError, RuntimeError, ValueError, AssertionError) as exc:
            raise DataError(f"{path}: does not fit the EmotionVAE architecture ({exc})"
                            ) from exc
        return cls(model, post_clip_length=post_clip_length, device=device,
                   checkpoint_sha256=digest)

    def segments(self, target: np.ndarray, plan: SegmentPlan) -> torch.Tensor:
        """(n, P, 25) float32 input segments of a (L', 25) target."""
        x = torch.as_tensor(np.asarray(target, dtype=np.float32))
        D = x.shape[1]
        if plan.length > plan.source:
            x = torch.cat((x, x.new_zeros(plan.n * plan.chunk - plan.source, D)))
            x = x.reshape(plan.n, plan.chunk, D)
            return torch.cat((x, x.new_zeros(plan.n, plan.span - plan.chunk, D)), dim=1)
        x = torch.cat((x, x.new_zeros(plan.n * plan.span - plan.source, D)))
        return x.reshape(plan.n, plan.span, D)

    @torch.no_grad()
    def align(self, target: np.ndarray, length: int) -> np.ndarray:
        """(L', 25) target -> (length, 25) float32; equal length passes through unchanged."""
        target = np.asarray(target)
        if len(target) == length:
            return target.astype(np.float32, copy=True)
        plan = segment_plan(length, len(target), self.post_clip_length)
        x = self.segments(target, plan).to(self.device)
        zero = torch.zeros(plan.n, dtype=torch.long, device=self.device)
        ends_e = torch.tensor(plan.inputs, device=self.device) - 1
        ends_d = torch.tensor(plan.outputs, device=self.device) - 1
        au, va, emo = self.model(x, zero, ends_e, zero, ends_d)
        out = torch.cat(((torch.sigmoid(au) >= 0.5).float(), va, torch.softmax(emo, dim=-1)),
                        dim=-1)
        parts = [out[i, :n] for i, n in enumerate(plan.outputs)]
        return torch.cat(parts).cpu().numpy().astype(np.float32)

    def align_all(self, targets: list[list[np.ndarray]], lengths: list[int], *, seed: int
                  ) -> list[list[np.ndarray]]:
        """Every sample's targets aligned to its length, in sample then target order, after
        ``torch.manual_seed(seed)``."""
        torch.manual_seed(seed)
        return [[self.align(t, n) for t in row] for row, n in zip(targets, lengths)]


__all__ = ["EmotionVAE", "EmotionVAEAligner", "SegmentPlan", "segment_plan",
           "config_from_state_dict"]
