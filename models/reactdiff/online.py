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
audio units, inter units; decoder: one per layer). Two kinds: growing caches (concatenation,
exactly the frames seen; :func:`encoder_step` / :func:`decoder_step`) and :class:`StaticKV`
(preallocated buffers written in place and masked, so every step of n new frames has the same
shapes and can be replayed from a CUDA graph). :class:`StreamState` bundles the caches of one
batch of speaker rows with what was committed so far (complete model windows only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from reactbench.errors import ModelError

from .cuda_graphs import replay
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


class _Growing:
    """Attention over cached keys/values grown by concatenation (sizes change every call):
    hands out each attention's cache in call order and collects the grown ones in ``new``
    (unless not ``keep``: whole sequences decoded offline)."""

    def __init__(self, past: list[KV] | None, mask: Mask, keep: bool = True):
        self.past = past
        self.mask = mask
        self.keep = keep
        self.new: list[KV] = []

    def attend(self, attn: nn.MultiheadAttention, q: torch.Tensor, k: torch.Tensor,
               v: torch.Tensor) -> torch.Tensor:
        """q, k, v: (B, n, d) head-projected new frames -> out_proj output (B, n, d)."""
        h = attn.num_heads
        qh, kh, vh = _heads(q, h), _heads(k, h), _heads(v, h)
        if self.past is not None:
            old_k, old_v = self.past[len(self.new)]
            kh, vh = torch.cat([old_k, kh], dim=2), torch.cat([old_v, vh], dim=2)
        if self.keep:
            self.new.append((kh, vh))
        if isinstance(self.mask, torch.Tensor):
            out = F.scaled_dot_product_attention(qh, kh, vh, attn_mask=self.mask)
        else:
            out = F.scaled_dot_product_attention(qh, kh, vh, is_causal=bool(self.mask))
        return attn.out_proj(_merge(out))


@dataclass
class _Folded:
    """An :class:`AttentionUnit`'s linear maps merged per input (weights (rows, d), biases):
    ``query``: [q; in_proj_q o q] (the projected query and the residual's q) from one matrix
    product, ``context``: [in_proj_k o k; in_proj_v o v (; skip)], ``both``: all of them, for
    self-attention (query is context)."""

    query: tuple[torch.Tensor, torch.Tensor]
    context: tuple[torch.Tensor, torch.Tensor]
    both: tuple[torch.Tensor, torch.Tensor]

    @classmethod
    def of(cls, unit: AttentionUnit) -> _Folded:
        """Folded in fp32 from the unit's current weights, cast to their dtype."""
        attn, d = unit.attn, unit.attn.embed_dim
        w_in = attn.in_proj_weight.detach().float()
        b_in = (torch.zeros(3 * d, device=w_in.device) if attn.in_proj_bias is None
                else attn.in_proj_bias.detach().float())

        def chain(lin: nn.Linear, part: int) -> tuple[torch.Tensor, torch.Tensor]:
            wi, bi = w_in[part * d:(part + 1) * d], b_in[part * d:(part + 1) * d]
            return wi @ lin.weight.detach().float(), wi @ lin.bias.detach().float() + bi

        q = (unit.q.weight.detach().float(), unit.q.bias.detach().float())
        ctx = [chain(unit.k, 1), chain(unit.v, 2)]
        if unit.skip is not None:
            ctx.append((unit.skip.weight.detach().float(), unit.skip.bias.detach().float()))
        query, context = [q, chain(unit.q, 0)], ctx
        dtype = unit.q.weight.dtype

        def stack(parts):
            return tuple(torch.cat(t).to(dtype).contiguous() for t in zip(*parts))

        return cls(stack(query), stack(context), stack(query + context))


class _InPlace:
    """Attention over preallocated buffers (B, heads, capacity, dh), written in place at the
    new frames' slots ``index`` (n,); ``mask`` (n, capacity) (additive: 0 or -inf) hides every
    slot after a frame (stale or empty slots included). Same shapes every call: CUDA-graph
    capturable. ``folded``: each attention unit's merged linear maps (:class:`_Folded`, made
    on first use, i.e. in the eager first step, and kept by the caller)."""

    def __init__(self, buffers: list[KV], capacity: int, index: torch.Tensor,
                 mask: torch.Tensor, folded: dict | None = None):
        self.buffers, self.capacity, self.index, self.mask = buffers, capacity, index, mask
        self.folded = folded
        self.count = 0

    def fold(self, unit: AttentionUnit) -> _Folded | None:
        if self.folded is None:
            return None
        if unit not in self.folded:
            with torch.autocast(self.index.device.type, enabled=False):
                self.folded[unit] = _Folded.of(unit)
        return self.folded[unit]

    def attend(self, attn: nn.MultiheadAttention, q: torch.Tensor, k: torch.Tensor,
               v: torch.Tensor) -> torch.Tensor:
        """q, k, v: (B, n, d) head-projected new frames -> out_proj output (B, n, d)."""
        h = attn.num_heads
        qh, kh, vh = _heads(q, h), _heads(k, h), _heads(v, h)
        if self.count == len(self.buffers):  # first call: allocate (outside any capture)
            b, _, _, dh = kh.shape
            self.buffers.append(tuple(kh.new_zeros(b, h, self.capacity, dh) for _ in "kv"))
        kb, vb = self.buffers[self.count]
        self.count += 1
        kb.index_copy_(2, self.index, kh)
        vb.index_copy_(2, self.index, vh)
        return attn.out_proj(_merge(F.scaled_dot_product_attention(qh, kb, vb,
                                                                   attn_mask=self.mask)))


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
              caches: _Growing | _InPlace) -> torch.Tensor:
    """:class:`AttentionUnit` on new frames: query/context (B, n, d) -> (B, n, d)."""
    folded = caches.fold(unit) if isinstance(caches, _InPlace) else None
    if folded is None:
        q = unit.q(query)
        out = caches.attend(unit.attn, _in_proj(unit.attn, q, 0),
                            _in_proj(unit.attn, unit.k(context), 1),
                            _in_proj(unit.attn, unit.v(context), 2))
        if unit.skip is not None:
            out = out + unit.skip(context)
        return unit.norm(q + out)
    d = unit.attn.embed_dim  # merged matrix products; the parts are views
    if query is context:
        both = F.linear(query, *folded.both)
        qq, ctx = both[..., :2 * d], both[..., 2 * d:]
    else:
        qq, ctx = F.linear(query, *folded.query), F.linear(context, *folded.context)
    out = caches.attend(unit.attn, qq[..., d:], ctx[..., :d], ctx[..., d:2 * d])
    if unit.skip is not None:
        out = out + ctx[..., 2 * d:]
    return unit.norm(qq[..., :d] + out)


# ----------------------------------------------------------------------------- encoder
def _intra_step(intra: IntraCA, streams: list[torch.Tensor],
                caches: _Growing | _InPlace) -> torch.Tensor:
    """:class:`IntraCA` on new frames: embedded streams (B, n, d) each -> state (B, n, d)."""
    h = streams[0]
    if intra.self_attn is not None:
        h = unit_step(intra.self_attn, h, h, caches)
    for block in intra.blocks:
        for unit, ctx in zip(block, streams[1:]):
            h = unit_step(unit, h, ctx, caches)
    return h


def _encode(enc: MMTEncoder, streams: dict[str, torch.Tensor], pos: torch.Tensor,
            caches: _Growing | _InPlace) -> torch.Tensor:
    """Causal encoder on new frames: standardised streams name -> (B, n, width), their
    positions (n, d_model) -> latent (B, n, latent_dim)."""
    emb = {name: enc.embed[name](streams[name]) + pos for name in enc.embed}
    if enc.cfg.fusion == "concat":
        h = enc.fuse(torch.cat([emb[s.name] for s in enc.cfg.streams], dim=-1))
    else:
        states = {g: _intra_step(enc.intra[g], [emb[m] for m in names], caches)
                  for g, names in enc.names.items()}
        h = states.get("video", states.get("audio"))
        if len(states) == 2:
            for unit in enc.inter:
                h = unit_step(unit, h, states["audio"], caches)
    return enc.to_latent(enc.project(h))


def encoder_step(enc: MMTEncoder, streams: dict[str, torch.Tensor], past: list[KV] | None,
                 offset: int) -> tuple[torch.Tensor, list[KV]]:
    """Causal :class:`MMTEncoder` on new frames [offset, offset + n) of standardised streams
    (name -> (B, n, width)), given the caches of frames [0, offset) (None when offset is 0)
    -> (latent (B, n, latent_dim), caches of frames [0, offset + n))."""
    first = next(iter(streams.values()))
    n = first.shape[1]
    caches = _Growing(past, new_frames_mask(n, offset, first.device))
    pos = positions(offset, n, enc.cfg.d_model, first.device, first.dtype)
    return _encode(enc, streams, pos, caches), caches.new


# ----------------------------------------------------------------------------- decoder
def _layer_step(layer: nn.TransformerEncoderLayer, h: torch.Tensor,
                caches: _Growing | _InPlace) -> torch.Tensor:
    """One norm-first transformer encoder layer (eval: dropout off) on new frames (B, n, d)."""
    if not layer.norm_first:
        raise ValueError("the streaming decoder expects norm_first transformer layers")
    x = layer.norm1(h)
    q, k, v = F.linear(x, layer.self_attn.in_proj_weight,
                       layer.self_attn.in_proj_bias).chunk(3, dim=-1)
    h = h + caches.attend(layer.self_attn, q, k, v)
    return h + layer.linear2(layer.activation(layer.linear1(layer.norm2(h))))


def _decode(dec: MMTDecoder, z: torch.Tensor, pos: torch.Tensor,
            caches: _Growing | _InPlace) -> tuple[torch.Tensor, torch.Tensor]:
    """Causal decoder on new latent frames z (B, n, L) with positions (n, d) -> (3DMM
    (B, n, 58) standardised, emotion (B, n, 25))."""
    h = dec.inp(z) + pos
    for layer in dec.layers.layers:
        h = _layer_step(layer, h, caches)
    if dec.layers.norm is not None:
        h = dec.layers.norm(h)
    h = dec.norm(h)
    return dec.head_3dmm(h).float(), dec.head_emotion(h)


def decoder_step(dec: MMTDecoder, z: torch.Tensor, past: list[KV] | None, offset: int
                 ) -> tuple[torch.Tensor, torch.Tensor, list[KV]]:
    """Causal :class:`MMTDecoder` on new latent frames z (B, n, L) at [offset, offset + n) ->
    (3DMM (B, n, 58) standardised, emotion (B, n, 25), caches of frames [0, offset + n))."""
    n = z.shape[1]
    caches = _Growing(past, new_frames_mask(n, offset, z.device))
    face, emo = _decode(dec, z, positions(offset, n, dec.d, z.device, z.dtype), caches)
    return face, emo, caches.new


def decode_whole(net: ReactDiffNet, z: torch.Tensor, causal: bool
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """``net.decode`` of whole latent sequences z (B, T, L) through this module's layer code:
    attention by ``scaled_dot_product_attention`` instead of the fused encoder layer, which
    writes out every (T, T) attention matrix (on a CPU about twice as fast at T = 750; float32
    rounding-level differences) -> (3DMM (B, T, 58) raw units, emotion (B, T, 25))."""
    pos = positions(0, z.shape[1], net.decoder.d, z.device, z.dtype)
    face, emo = _decode(net.decoder, z, pos, _Growing(None, causal, keep=False))
    return net.target_norm.inverse(face), emo


def truncate(caches: list[KV], frames: int) -> list[KV]:
    """Keep the cached keys/values of frames [0, frames) only."""
    return [(k[:, :, :frames], v[:, :, :frames]) for k, v in caches]


# ----------------------------------------------------------------------------- static
class StaticKV:
    """Preallocated key/value buffers of one batch of rows (encoder: B rows, decoder: B * alpha)
    with room for ``capacity`` frames (doubled when a call needs more). A step writes the new
    frames' keys/values at their slots and attends over all slots with a mask, so its shapes
    depend on the number of new frames only: with ``graphs`` (CUDA) each (encoder/decoder,
    new frames) step is captured once in a CUDA graph and replayed afterwards (one launch
    instead of a few hundred). Slots after the committed frames may hold values of frames that
    were not committed; the mask hides them until they are overwritten."""

    def __init__(self, capacity: int = 1024, graphs: bool = False, device="cpu"):
        self.capacity = capacity
        self.graphs = graphs
        self.device = torch.device(device)
        self.encoder: list[KV] = []
        self.decoder: list[KV] = []
        self._captured: dict[tuple[str, int], tuple] = {}
        self._ran: set[str] = set()  # steps run eagerly once (buffers allocated)
        self._tables: dict[int, torch.Tensor] = {}
        self._folded: dict[AttentionUnit, _Folded] = {}

    def encode(self, net: ReactDiffNet, speaker: torch.Tensor, offset: int) -> torch.Tensor:
        """Raw speaker streams of frames [offset, offset + n), side by side in
        ``net.stream_norm``'s order (:func:`pack`; (B, n, sum of widths), on the device or in
        page-locked host memory, which a replay copies straight into the step's input) ->
        latent (B, n, L); writes their keys/values (the caller commits or later overwrites
        them)."""
        return self._run("encoder", {"speaker": speaker}, offset,
                         lambda x: self._encode(net, x))[0]

    def decode(self, net: ReactDiffNet, z: torch.Tensor, offset: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent (B * alpha, n, L) of frames [offset, offset + n) -> (3DMM (B * alpha, n, 58)
        raw units, emotion (B * alpha, n, 25))."""
        return self._run("decoder", {"z": z}, offset, lambda x: self._decode(net, x))

    # -- one step, eager or graphed ------------------------------------------------------
    def _run(self, name: str, inputs: dict[str, torch.Tensor], offset: int, fn) -> tuple:
        n = next(iter(inputs.values())).shape[1]
        self._grow(offset + n)
        inputs = {**inputs, "index": torch.arange(offset, offset + n, device=self.device)}
        if not self.graphs or name not in self._ran:
            out = fn({k: v.to(self.device, non_blocking=True) for k, v in inputs.items()})
            self._ran.add(name)  # buffers allocated: later steps may be captured
            return out
        return replay(self._captured, (name, n), fn, inputs)

    def _grow(self, frames: int) -> None:
        """Make room for frames [0, frames): double the buffers (keeping their content)."""
        if frames <= self.capacity:
            return
        new = max(2 * self.capacity, frames)
        for buffers in (self.encoder, self.decoder):
            for i, (k, v) in enumerate(buffers):
                kn, vn = k.new_zeros(*k.shape[:2], new, k.shape[3]), v.new_zeros(
                    *v.shape[:2], new, v.shape[3])
                kn[:, :, :self.capacity] = k
                vn[:, :, :self.capacity] = v
                buffers[i] = (kn, vn)
        self.capacity = new
        self._captured.clear()  # graphs of the old buffers; the next step runs eagerly and
        self._tables.clear()  # allocates on the current stream before anything is captured
        self._ran.clear()

    def _caches(self, buffers: list[KV], index: torch.Tensor, dim: int, dtype, mask_dtype
                ) -> tuple[_InPlace, torch.Tensor]:
        """The in-place caches of one step and the positions (n, dim) of its frames (dtype);
        the attention mask in the attention's dtype."""
        table = self._tables.get(dim)
        if table is None:  # kept here: a captured graph reads this very tensor
            table = self._tables[dim] = sinusoidal_positions(self.capacity, dim, index.device,
                                                             dtype)
        slots = torch.arange(self.capacity, device=index.device)
        # additive (a boolean mask would be converted by every attention call)
        mask = torch.zeros(len(index), self.capacity, device=index.device, dtype=mask_dtype)
        mask.masked_fill_(slots[None, :] > index[:, None], float("-inf"))
        return (_InPlace(buffers, self.capacity, index, mask, self._folded),
                table.index_select(0, index))

    def _encode(self, net: ReactDiffNet, x: dict[str, torch.Tensor]) -> tuple[torch.Tensor]:
        normed = {name: net.stream_norm[name](part) for name, part in unpack(net, x["speaker"])}
        first = next(iter(normed.values()))
        caches, pos = self._caches(self.encoder, x["index"], net.cfg.d_model, first.dtype,
                                   _attention_dtype(net))
        return (_encode(net.encoder, normed, pos, caches),)

    def _decode(self, net: ReactDiffNet, x: dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor, torch.Tensor]:
        caches, pos = self._caches(self.decoder, x["index"], net.decoder.d, x["z"].dtype,
                                   _attention_dtype(net))
        face, emo = _decode(net.decoder, x["z"], pos, caches)
        return net.target_norm.inverse(face), emo


def pack(net: ReactDiffNet, streams: dict[str, np.ndarray], out: np.ndarray | None = None
         ) -> np.ndarray:
    """Speaker streams name -> (B, n, width) side by side in ``net.stream_norm``'s order:
    (B, n, sum of widths) float32, written into ``out`` when given (e.g. page-locked)."""
    missing = [name for name in net.stream_norm if name not in streams]
    if missing:
        raise ModelError(f"speaker streams {missing} missing (the model reads "
                       f"{list(net.stream_norm)})")
    parts = [streams[name] for name in net.stream_norm]
    if out is None:
        return np.concatenate(parts, axis=-1, dtype=np.float32)
    return np.concatenate(parts, axis=-1, out=out)


def unpack(net: ReactDiffNet, speaker: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """Inverse of :func:`pack` on a tensor: [(name, (B, n, width) view)]."""
    names = list(net.stream_norm)
    return list(zip(names, torch.split(speaker, [net.widths[k] for k in names], dim=-1)))


def _attention_dtype(net: ReactDiffNet) -> torch.dtype:
    """The dtype attention runs in: autocast's when it is on, else the parameters'."""
    device = next(net.parameters()).device.type
    if torch.is_autocast_enabled(device):
        return torch.get_autocast_dtype(device)
    return next(net.parameters()).dtype


# ----------------------------------------------------------------------------- state
@dataclass
class StreamState:
    """What one batch of speaker rows has committed: complete model windows [0, committed).

    ``key``: (rows, seed, alpha, temperature, sampling steps, solver, stream names) the state
    belongs to;
    ``prefix``: name -> (B, committed, width) raw speaker frames it was computed from;
    ``encoder`` / ``decoder``: KV caches of frames [0, committed) (decoder batch B * alpha);
    ``speaker``: normalised speaker latent windows (B, committed / ws, ws, L) (the condition of
    a window needs earlier windows and the running mean over all of them; LRS styles too);
    ``static``: preallocated buffers instead of ``encoder`` / ``decoder`` (static mode; kept
    when the same batch starts again at frame 0, with its CUDA graphs)."""

    key: tuple
    committed: int = 0
    prefix: dict[str, np.ndarray] = field(default_factory=dict)
    encoder: list[KV] | None = None
    decoder: list[KV] | None = None
    speaker: torch.Tensor | None = None
    static: StaticKV | None = None

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
        if self.static is None:
            self.encoder = truncate(encoder, frames)
            self.decoder = truncate(decoder, frames)
        self.speaker = speaker[:, :frames // ws]


def encode_new(net: ReactDiffNet, speaker: torch.Tensor, state: StreamState
               ) -> tuple[torch.Tensor, list[KV]]:
    """Raw speaker streams of frames [committed, committed + n), packed (:func:`pack`;
    (B, n, sum of widths); in static mode also page-locked host memory) -> (latent (B, n, L),
    encoder caches of frames [0, committed + n); empty in static mode)."""
    if state.static is not None:
        return state.static.encode(net, speaker, state.committed), []
    speaker = speaker.to(next(net.parameters()).device, non_blocking=True)
    normed = {name: net.stream_norm[name](part) for name, part in unpack(net, speaker)}
    return encoder_step(net.encoder, normed, state.encoder, state.committed)


def decode_new(net: ReactDiffNet, z: torch.Tensor, state: StreamState
               ) -> tuple[torch.Tensor, torch.Tensor, list[KV]]:
    """Latent (B * alpha, n, L) of frames [committed, committed + n) -> (3DMM (B * alpha, n, 58)
    raw units, emotion (B * alpha, n, 25), decoder caches of frames [0, committed + n); empty in
    static mode)."""
    if state.static is not None:
        return (*state.static.decode(net, z, state.committed), [])
    face, emo, caches = decoder_step(net.decoder, z, state.decoder, state.committed)
    return net.target_norm.inverse(face), emo, caches
