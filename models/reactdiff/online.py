"""Streaming (key/value-cached) causal MMT evaluation for online generation.

The harness calls the model once per window with the speaker prefix [0, end). A full causal
recompute costs O(end) per call (O(T^2) per clip); here every attention unit of the MMT encoder
and every self-attention layer of the decoder keeps the projected keys and values of the frames
it has already seen, so a call evaluates only its new frames [p, end): new frame i (absolute
p + i) attends keys 0..p + i, exactly what the causal mask of the full pass allows. The functions
reuse the modules' own weights (no parameters of their own), so the results equal
``ReactDiffNet.encode(..., causal=True)`` / ``decode(..., causal=True)`` on the whole prefix up
to float rounding.

Cache layout: a list with one ``(keys, values)`` pair per attention, each ``(B, heads, frames,
head_dim)``, in the order the units run (encoder: video self-attention, video cross units,
audio units, inter units; decoder: one per layer). :class:`StreamState` bundles the caches of one
batch of speaker rows with what was committed so far (complete model windows only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .mmt import AttentionUnit, IntraCA, MMTDecoder, MMTEncoder, sinusoidal_positions
from .network import ReactDiffNet

KV = tuple[torch.Tensor, torch.Tensor]  # keys, values: (B, heads, frames, head_dim)


# ----------------------------------------------------------------------------- attention
def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, n, d) -> (B, heads, n, d / heads)."""
    b, n, d = x.shape
    return x.view(b, n, heads, d // heads).transpose(1, 2)


def _merge(x: torch.Tensor) -> torch.Tensor:
    """(B, heads, n, dh) -> (B, n, heads * dh)."""
    b, h, n, dh = x.shape
    return x.transpose(1, 2).reshape(b, n, h * dh)


def _in_proj(attn: nn.MultiheadAttention, x: torch.Tensor, part: int) -> torch.Tensor:
    """Part 0/1/2 (query/key/value) of the attention's packed input projection of x (B, n, d)."""
    d = attn.embed_dim
    w = attn.in_proj_weight[part * d:(part + 1) * d]
    b = None if attn.in_proj_bias is None else attn.in_proj_bias[part * d:(part + 1) * d]
    return F.linear(x, w, b)


Mask = torch.Tensor | bool | None  # bool tensor (n, offset + n) / True: is_causal / None: all


def new_frames_mask(n: int, offset: int, device) -> Mask:
    """Which keys [0, offset + n) new frame i (absolute offset + i) may attend: keys <= offset +
    i. True (square causal) when offset is 0, None (every key) for one frame, else a bool
    tensor (n, offset + n), True where allowed. Built once per step, shared by all units."""
    if offset == 0:
        return n > 1 or None
    if n == 1:
        return None
    keys = torch.arange(offset + n, device=device)
    return keys[None, :] <= keys[offset:, None]


def _attend(attn: nn.MultiheadAttention, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
            past: KV | None, mask: Mask) -> tuple[torch.Tensor, KV]:
    """Causal attention of new frames over cached keys and the new ones. q, k, v: (B, n, d)
    head-projected inputs; mask from :func:`new_frames_mask` -> (out_proj output (B, n, d),
    keys/values of all frames so far)."""
    h = attn.num_heads
    qh, kh, vh = _heads(q, h), _heads(k, h), _heads(v, h)
    if past is not None:
        kh, vh = torch.cat([past[0], kh], dim=2), torch.cat([past[1], vh], dim=2)
    if isinstance(mask, torch.Tensor):
        out = F.scaled_dot_product_attention(qh, kh, vh, attn_mask=mask)
    else:
        out = F.scaled_dot_product_attention(qh, kh, vh, is_causal=bool(mask))
    return attn.out_proj(_merge(out)), (kh, vh)


_POSITIONS: dict[tuple, torch.Tensor] = {}


def positions(offset: int, n: int, dim: int, device, dtype) -> torch.Tensor:
    """Sinusoidal codes of frames [offset, offset + n): (n, dim), equal to
    ``sinusoidal_positions(offset + n, ...)[offset:]``; one table per (dim, device, dtype),
    grown by doubling, so a step costs a slice instead of recomputing every frame."""
    key = (dim, str(device), dtype)
    table = _POSITIONS.get(key)
    if table is None or table.shape[0] < offset + n:
        length = max(1024, 2 * (offset + n))
        table = _POSITIONS[key] = sinusoidal_positions(length, dim, device, dtype)
    return table[offset:offset + n]


def unit_step(unit: AttentionUnit, query: torch.Tensor, context: torch.Tensor,
              past: KV | None, mask: Mask) -> tuple[torch.Tensor, KV]:
    """:class:`AttentionUnit` on new frames: query/context (B, n, d) -> ((B, n, d), new KV)."""
    q = unit.q(query)
    out, kv = _attend(unit.attn, _in_proj(unit.attn, q, 0),
                      _in_proj(unit.attn, unit.k(context), 1),
                      _in_proj(unit.attn, unit.v(context), 2), past, mask)
    if unit.skip is not None:
        out = out + unit.skip(context)
    return unit.norm(q + out), kv


class _Caches:
    """Hands out the cached KV of each attention in call order and collects the new ones."""

    def __init__(self, past: list[KV] | None, mask: Mask):
        self.past = past
        self.mask = mask
        self.new: list[KV] = []

    def step(self, unit: AttentionUnit, query, context) -> torch.Tensor:
        past = None if self.past is None else self.past[len(self.new)]
        out, kv = unit_step(unit, query, context, past, self.mask)
        self.new.append(kv)
        return out


# ----------------------------------------------------------------------------- encoder
def _intra_step(intra: IntraCA, streams: list[torch.Tensor], caches: _Caches) -> torch.Tensor:
    """:class:`IntraCA` on new frames: embedded streams (B, n, d) each -> state (B, n, d)."""
    h = streams[0]
    if intra.self_attn is not None:
        h = caches.step(intra.self_attn, h, h)
    for block in intra.blocks:
        for unit, ctx in zip(block, streams[1:]):
            h = caches.step(unit, h, ctx)
    return h


def encoder_step(enc: MMTEncoder, streams: dict[str, torch.Tensor], past: list[KV] | None,
                 offset: int) -> tuple[torch.Tensor, list[KV]]:
    """Causal :class:`MMTEncoder` on new frames [offset, offset + n) of standardised streams
    (name -> (B, n, width)), given the caches of frames [0, offset) (None when offset is 0)
    -> (latent (B, n, latent_dim), caches of frames [0, offset + n))."""
    first = next(iter(streams.values()))
    n = first.shape[1]
    pos = positions(offset, n, enc.cfg.d_model, first.device, first.dtype)
    emb = {name: enc.embed[name](streams[name]) + pos for name in enc.embed}
    caches = _Caches(past, new_frames_mask(n, offset, first.device))
    if enc.cfg.fusion == "concat":
        h = enc.fuse(torch.cat([emb[s.name] for s in enc.cfg.streams], dim=-1))
    else:
        states = {g: _intra_step(enc.intra[g], [emb[m] for m in names], caches)
                  for g, names in enc.names.items()}
        h = states.get("video", states.get("audio"))
        if len(states) == 2:
            for unit in enc.inter:
                h = caches.step(unit, h, states["audio"])
    return enc.to_latent(enc.project(h)), caches.new


# ----------------------------------------------------------------------------- decoder
def _layer_step(layer: nn.TransformerEncoderLayer, h: torch.Tensor, past: KV | None,
                mask: Mask) -> tuple[torch.Tensor, KV]:
    """One norm-first transformer encoder layer (eval: dropout off) on new frames (B, n, d)."""
    x = layer.norm1(h)
    q, k, v = F.linear(x, layer.self_attn.in_proj_weight,
                       layer.self_attn.in_proj_bias).chunk(3, dim=-1)
    out, kv = _attend(layer.self_attn, q, k, v, past, mask)
    h = h + out
    return h + layer.linear2(layer.activation(layer.linear1(layer.norm2(h)))), kv


def decoder_step(dec: MMTDecoder, z: torch.Tensor, past: list[KV] | None, offset: int
                 ) -> tuple[torch.Tensor, torch.Tensor, list[KV]]:
    """Causal :class:`MMTDecoder` on new latent frames z (B, n, L) at [offset, offset + n) ->
    (3DMM (B, n, 58) standardised, emotion (B, n, 25), caches of frames [0, offset + n))."""
    n = z.shape[1]
    h = dec.inp(z) + positions(offset, n, dec.d, z.device, z.dtype)
    mask = new_frames_mask(n, offset, z.device)
    new: list[KV] = []
    for i, layer in enumerate(dec.layers.layers):
        if not layer.norm_first:
            raise ValueError("decoder_step expects norm_first transformer layers")
        h, kv = _layer_step(layer, h, None if past is None else past[i], mask)
        new.append(kv)
    if dec.layers.norm is not None:
        h = dec.layers.norm(h)
    h = dec.norm(h)
    return dec.head_3dmm(h).float(), dec.head_emotion(h), new


def truncate(caches: list[KV], frames: int) -> list[KV]:
    """Keep the cached keys/values of frames [0, frames) only."""
    return [(k[:, :, :frames], v[:, :, :frames]) for k, v in caches]


# ----------------------------------------------------------------------------- state
@dataclass
class StreamState:
    """What one batch of speaker rows has committed: complete model windows [0, committed).

    ``key``: (rows, seed, alpha, temperature, DDIM steps, stream names) the state belongs to;
    ``prefix``: name -> (B, committed, width) raw speaker frames it was computed from;
    ``encoder`` / ``decoder``: KV caches of frames [0, committed) (decoder batch B * alpha);
    ``speaker``: normalised speaker latent windows (B, committed / ws, ws, L) (the condition of
    a window needs earlier windows and the running mean over all of them; LRS styles too)."""

    key: tuple
    committed: int = 0
    prefix: dict[str, np.ndarray] = field(default_factory=dict)
    encoder: list[KV] | None = None
    decoder: list[KV] | None = None
    speaker: torch.Tensor | None = None

    def matches(self, streams: dict[str, np.ndarray], start: int) -> bool:
        """True when a call for frames [start, end) may continue this state: nothing after
        ``start`` is committed and the call's prefix [0, committed) is the stored one."""
        if self.committed > start or start == 0:
            return False
        return all(np.array_equal(streams[name][:, :self.committed], old)
                   for name, old in self.prefix.items())

    def commit(self, streams: dict[str, np.ndarray], frames: int, encoder: list[KV],
               decoder: list[KV], speaker: torch.Tensor) -> None:
        """Keep the first ``frames`` frames (a multiple of the window) of the new caches."""
        if frames <= self.committed:
            return
        ws = speaker.shape[2]
        self.committed = frames
        self.prefix = {k: np.array(v[:, :frames], dtype=np.float32) for k, v in streams.items()}
        self.encoder = truncate(encoder, frames)
        self.decoder = truncate(decoder, frames)
        self.speaker = speaker[:, :frames // ws]


def encode_new(net: ReactDiffNet, streams: dict[str, torch.Tensor], state: StreamState
               ) -> tuple[torch.Tensor, list[KV]]:
    """Raw speaker streams name -> (B, n, width) of frames [committed, committed + n) ->
    (latent (B, n, L), encoder caches of frames [0, committed + n))."""
    normed = {name: net.stream_norm[name](streams[name]) for name in net.stream_norm}
    return encoder_step(net.encoder, normed, state.encoder, state.committed)


def decode_new(net: ReactDiffNet, z: torch.Tensor, state: StreamState
               ) -> tuple[torch.Tensor, torch.Tensor, list[KV]]:
    """Latent (B * alpha, n, L) of frames [committed, committed + n) -> (3DMM (B * alpha, n, 58)
    raw units, emotion (B * alpha, n, 25), decoder caches of frames [0, committed + n))."""
    face, emo, caches = decoder_step(net.decoder, z, state.decoder, state.committed)
    return net.target_norm.inverse(face), emo, caches
