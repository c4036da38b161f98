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
``generate_online`` once per window with the prefix [0, end). A call continues the streaming
state of its batch (online.py: encoder/decoder key/value caches, committed latent windows) when
the batch (rows, seed, alpha, temperature, steps) and the speaker prefix up to the committed
frames are the ones it was computed from and ``start`` is not before them; it then encodes,
samples and decodes only frames [committed, end) (O(new frames) per call), with the same result
as a full causal recompute. Otherwise (``start == 0``, another batch, a changed prefix) it starts
from an empty state, i.e. recomputes [0, end). Only complete windows are committed: a trailing
partial window is computed (edge-padded as offline) but sampled again once it is complete.
The caches grow by concatenation (``streaming="dynamic"``) or live in preallocated buffers
(``"static"``; ``"graphs"`` also replays the encoder/decoder steps and the whole DDIM loop of
each window batch from CUDA graphs).

GPU speed (CUDA only): ``precision="bf16"`` stores the parameters in bf16 and runs under bf16
autocast (no per-call weight casts); ``compile=True`` computes the UNet's convolutions as matrix
products (unet.use_gemm_convs: no cuDNN layout transposes at the small online batches), merges
matrix products where the function allows (unet.fuse_for_inference) and fuses its kernels with
torch.compile. ``kernels="triton"`` instead runs the UNet on the Triton kernels of
kernels.py (triton_unet.TritonUNet: GroupNorm, SiLU, FiLM, skip and residual fused into the
convolutions' matrix products; 163 kernels per paper-preset step instead of 410).
With ``streaming="graphs"`` these are the fast online paths of ``benchmarks/reactdiff_gpu.py``.
They change results at bf16 / kernel rounding level only.

CPU speed: on a CPU device the UNet runs as :class:`.cpu_unet.CpuUNet` (``kernels="cpu"``, the
default there): channels-last activations, GroupNorm + FiLM + SiLU in one pass, skip convolutions
and residuals accumulated into the matrix products, the blocks' step projections split into a
per-step and a per-condition part, and offline decoding through SDPA (online.decode_whole);
float32 rounding-level differences from the modules (``kernels="torch"``, the default on CUDA),
about 1.4 times faster (``benchmarks/reactdiff_cpu.py``).
Offline, every window of every row of a batch is sampled in one pass of equal chunks of at most
256 windows, and ``progress`` callbacks report each finished chunk.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import torch

from reactbench.errors import ModelError

from .cpu_unet import CpuUNet
from .cuda_graphs import replay
from .diffusion import SOLVERS, Steps, to_windows
from .network import ReactDiffNet
from .online import StaticKV, StreamState, decode_new, decode_whole, encode_new, pack
from .unet import fuse_for_inference, use_gemm_convs

STYLE_KEY = 2**30
Progress = Callable[[int, int], None]  # (windows done, windows in all)
STREAMING = ("dynamic", "static", "graphs")
PRECISIONS = ("fp32", "bf16")
KERNELS = ("torch", "cpu", "triton")


SEGMENT_KEY = 2**30 + 1
SEGMENT_OFFSET = 2**31  # span starts may be negative (left padding); seeds may not


def default_kernels(device: str, compile: bool = False, precision: str = "fp32") -> str:
    """The UNet's kernels when none are asked for: ``"cpu"`` (:class:`.cpu_unet.CpuUNet`) on a
    CPU device, ``"torch"`` (the modules) on CUDA and wherever ``compile`` or bf16 is asked
    for."""
    if compile or precision != "fp32":
        return "torch"
    return "torch" if str(device).startswith("cuda") else "cpu"


def window_noise(seed: int, row: int, window: int, alpha: int, ws: int, dim: int,
                 start: int | None = None) -> np.ndarray:
    """Initial noise (alpha, ws, dim) of window ``window`` of ``row``; ``start``: the clip frame
    where the row's segment begins when the harness cut the clip (each segment of a clip then
    draws its own noise), None for whole clips."""
    key = ([seed, row, window] if start is None else
           [seed, row, SEGMENT_KEY, int(start) + SEGMENT_OFFSET, window])
    return np.random.default_rng(key).standard_normal((alpha, ws, dim), dtype=np.float32)


def style_uniforms(seed: int, row: int, alpha: int) -> np.ndarray:
    return np.random.default_rng([seed, row, STYLE_KEY]).random(alpha).astype(np.float32)


class Sampler:
    """Wraps a trained network for batched, seeded generation."""

    def __init__(self, net: ReactDiffNet, device: str = "cpu", ddim_steps: Steps = None,
                 streams_kept: int = 4, temperature: float = 1.0, streaming: str = "dynamic",
                 precision: str = "fp32", compile: bool = False, compile_mode: str = "default",
                 kernels: str | None = None, solver: str = "ddim"):
        """``ddim_steps``: the sampling steps (a count, evenly spaced, or an explicit
        descending sequence; None: all T) and ``solver`` (``ddim`` or ``dpm2m``) of
        :meth:`.diffusion.Diffusion.sample`. ``streams_kept``: online streaming states kept
        (one per batch of rows, LRU; the harness needs one per ``batch_rows`` slice of its
        batch). A state holds the encoder's and decoder's keys/values of its committed
        frames: for B rows x T frames about
        ``8 * T * B * (units * d_model + alpha * dec_layers * dec_d_model)`` bytes (paper preset,
        B 16, alpha 10, T 750: 3 GB; small preset: 0.16 GB). A new batch arriving when
        ``streams_kept`` are kept evicts the least recently used state and, in static/graphs
        mode, takes over its buffers and CUDA graphs when the shapes agree (rows, alpha).
        ``streaming``: how the online caches grow: ``dynamic`` (concatenation, exactly the
        frames seen), ``static`` (preallocated buffers of 1024 frames, doubled as needed) or
        ``graphs`` (static + CUDA graphs of the encoder and decoder steps and of the whole
        DDIM loop of a window batch; CUDA only). ``precision``, ``compile``, ``kernels``: see
        the module doc (CUDA only, ``kernels="triton"`` also on the CPU under Triton's
        interpreter, TRITON_INTERPRET=1; they modify ``net`` in place); ``compile_mode``:
        torch.compile's mode; ``kernels`` None: :func:`default_kernels`."""
        if streaming not in STREAMING:
            raise ModelError(f"streaming must be one of {STREAMING} (got {streaming!r})")
        if solver not in SOLVERS:
            raise ModelError(f"solver must be one of {SOLVERS} (got {solver!r})")
        try:
            net.diffusion.step_sequence(ddim_steps)
        except ValueError as e:
            raise ModelError(str(e)) from None
        if int(streams_kept) < 1:
            raise ModelError(f"streams_kept must be at least 1 (got {streams_kept})")
        if precision not in PRECISIONS:
            raise ModelError(f"precision must be one of {PRECISIONS} (got {precision!r})")
        self.cuda = cuda = str(device).startswith("cuda")
        if kernels is None:
            kernels = default_kernels(device, compile, precision)
        if kernels not in KERNELS:
            raise ModelError(f"kernels must be one of {KERNELS} (got {kernels!r})")
        if kernels != "torch" and compile:
            raise ModelError(f"kernels={kernels!r} and compile=True are two ways to run the UNet: "
                             "choose one")
        if kernels == "cpu" and precision != "fp32":
            raise ModelError("kernels='cpu' runs in float32: use precision='fp32'")
        interpret = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")
        for what, on in ((f"streaming={streaming!r}", streaming == "graphs"),
                         ("precision='bf16'", precision == "bf16"), ("compile=True", compile),
                         ("kernels='triton'", kernels == "triton" and not interpret)):
            if on and not cuda:
                raise ModelError(f"{what} needs a CUDA device (got {device!r}); use "
                                 "device=cuda on a GPU machine")
        self.streaming = streaming
        self.precision = precision
        self.net = net.to(device).eval()
        if isinstance(self.net.unet, CpuUNet):  # laid out by an earlier Sampler of this net
            self.net.unet = self.net.unet.unet
        if compile:  # fused in fp32, before any cast
            use_gemm_convs(fuse_for_inference(self.net.unet))
        if precision == "bf16":  # buffers (latent statistics, schedule) stay fp32
            for p in self.net.parameters():
                p.data = p.data.to(torch.bfloat16)
        if compile:
            self.net.unet = torch.compile(self.net.unet, dynamic=False, mode=compile_mode)
        if kernels == "triton":
            try:
                from .triton_unet import TritonUNet  # Triton (GPU extra): only for kernels=triton
            except ImportError as e:
                raise ModelError(f"kernels='triton' needs the triton package ({e}); "
                                 "pip install triton") from None
            self.net.unet = TritonUNet(self.net.unet)
        if kernels == "cpu":
            self.net.unet = CpuUNet(self.net.unet)
        self.kernels = kernels
        self.temperature = float(temperature)  # scale of the initial noise x_T
        self.device = device
        self.steps = ddim_steps if ddim_steps is None or isinstance(ddim_steps, int) \
            else tuple(int(t) for t in ddim_steps)
        self.solver = solver
        self.ws = net.cfg.window
        self.dim = net.cfg.latent_dim
        self._states: OrderedDict[tuple, StreamState] = OrderedDict()
        self._states_kept = streams_kept
        self._ddim_graphs: dict[tuple, tuple] = {}  # input shapes -> captured DDIM loop

    def autocast(self):
        """bf16 autocast for ``precision="bf16"`` (without the weight-cast cache: a captured CUDA
        graph must not read casts freed after it)."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast("cuda", torch.bfloat16, cache_enabled=False)

    def _tensors(self, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        """Host arrays on the device. On CUDA through page-locked copies: the transfer is queued
        behind the GPU's work instead of waiting for it."""
        out = {}
        for k, v in arrays.items():
            t = torch.from_numpy(np.ascontiguousarray(v))
            out[k] = (t.pin_memory().to(self.device, non_blocking=True) if self.cuda
                      else t.to(self.device))
        return out

    @torch.inference_mode()
    def latents(self, streams: dict[str, np.ndarray], rows, alpha: int, seed: int,
                causal: bool, progress: Progress | None = None,
                starts=None) -> torch.Tensor:
        """(B, alpha, T, L) sampled latents for all windows of the given streams;
        ``progress(done, total)`` after each chunk of windows; ``starts``: (B,) clip frames
        where each row's segment begins (see :func:`window_noise`), or None."""
        frames = next(iter(streams.values())).shape[1]
        k = math.ceil(frames / self.ws)
        first = [None] * len(rows) if starts is None else [int(v) for v in starts]
        noise = np.stack([np.stack([window_noise(seed, int(r), j, alpha, self.ws, self.dim, f)
                                    for j in range(k)], axis=1) for r, f in zip(rows, first)])
        uni = np.stack([style_uniforms(seed, int(r), alpha) for r in rows])
        noise *= self.temperature
        with self.autocast():
            return self.net.sample_latents(
                self._tensors(streams), torch.from_numpy(noise).to(self.device),
                torch.from_numpy(uni).to(self.device), causal=causal, steps=self.steps,
                progress=progress, solver=self.solver)

    @torch.inference_mode()
    def decode(self, z: torch.Tensor, causal: bool) -> tuple[np.ndarray, np.ndarray]:
        b, a, t, d = z.shape
        with self.autocast():
            if self.kernels == "cpu":  # the CPU layout decodes through SDPA too
                face, emo = decode_whole(self.net, z.reshape(b * a, t, d), causal)
            else:
                face, emo = self.net.decode(z.reshape(b * a, t, d), causal=causal)
        return (emo.reshape(b, a, t, 25).float().cpu().numpy(),
                face.reshape(b, a, t, 58).float().cpu().numpy())

    def offline(self, streams, rows, alpha, seed, progress: Progress | None = None,
                starts=None):
        """(emotion (B, alpha, T, 25), 3DMM (B, alpha, T, 58)); ``progress(done, total)``
        after each chunk of windows sampled; ``starts``: see :meth:`latents`."""
        return self.decode(self.latents(streams, rows, alpha, seed, False, progress, starts),
                           causal=False)

    @torch.no_grad()
    def online(self, streams, rows, alpha, seed, start: int):
        """Reactions for frames [start, end) given the speaker prefix [0, end):
        (emotion (B, alpha, end - start, 25), 3DMM (B, alpha, end - start, 58))."""
        with self.autocast():
            return self._online(streams, rows, alpha, seed, start)

    def _online(self, streams, rows, alpha, seed, start: int):
        frames = next(iter(streams.values())).shape[1]
        if not 0 <= start < frames:
            raise ModelError(f"online: start must lie in [0, {frames}) (got {start})")
        state = self._state(streams, rows, alpha, seed, start)
        first = state.committed
        # the new speaker frames in one page-locked block: the encoder starts after one copy
        # (in static mode straight into its step's input); the initial noise (and LRS
        # uniforms) are drawn while it runs. No host input waits for the GPU.
        z, enc = encode_new(self.net, self._staged({k: v[:, first:frames]
                                                    for k, v in streams.items()}), state)
        draws = {"noise": self._window_noise(rows, alpha, seed, first // self.ws,
                                             math.ceil(frames / self.ws))}
        if self.net.lrs is not None:
            draws["uniforms"] = np.stack([style_uniforms(seed, int(r), alpha) for r in rows])
        draws = self._tensors(draws)
        w, _ = to_windows(z.float(), self.ws)
        spk = self.net.latent_norm.normalise(w)
        if state.speaker is not None:
            spk = torch.cat([state.speaker, spk], dim=1)
        lat = self._new_windows(spk, draws["noise"], draws.get("uniforms"), first // self.ws)
        b, n = len(rows), frames - first
        lat = lat.reshape(b * alpha, -1, self.dim)[:, :n]
        face, emo, dec = decode_new(self.net, lat, state)
        out = torch.cat([emo.float(), face.float()], -1).reshape(b, alpha, n, 25 + 58)
        out = self._to_host(out[:, :, start - first:])  # one device -> host copy
        state.commit(streams, frames - frames % self.ws, enc, dec, spk)  # while it runs
        out = out()
        return np.ascontiguousarray(out[..., :25]), np.ascontiguousarray(out[..., 25:])

    def _staged(self, streams: dict[str, np.ndarray]) -> torch.Tensor:
        """Speaker streams name -> (B, n, width) packed (online.pack) into one host tensor
        (B, n, sum of widths); page-locked on CUDA."""
        b, n = next(iter(streams.values())).shape[:2]
        buf = torch.empty((b, n, sum(self.net.widths[k] for k in self.net.stream_norm)),
                          pin_memory=self.cuda)
        pack(self.net, streams, out=buf.numpy())
        return buf

    def _to_host(self, x: torch.Tensor):
        """Start copying x to the host; -> a function that waits for it and returns it as a
        numpy array."""
        if not self.cuda:
            return x.numpy
        buf = torch.empty(x.shape, dtype=x.dtype, pin_memory=True)
        buf.copy_(x, non_blocking=True)
        done = torch.cuda.Event()
        done.record()

        def result() -> np.ndarray:
            done.synchronize()
            return buf.numpy()
        return result

    def _state(self, streams, rows, alpha: int, seed: int, start: int) -> StreamState:
        """The streaming state this call continues, or a fresh one (kept, LRU)."""
        key = (tuple(int(r) for r in rows), int(seed), int(alpha), self.temperature, self.steps,
               self.solver, tuple(sorted(streams)))
        state = self._states.get(key)
        if state is None or not state.matches(streams, start):
            static = state.static if state is not None else None
            if static is None and self.streaming != "dynamic":
                static = self._recycled(key) or StaticKV(graphs=self.streaming == "graphs",
                                                         device=self.device)
            state = StreamState(key, static=static)
            self._states[key] = state
        self._states.move_to_end(key)
        while len(self._states) > self._states_kept:
            self._states.popitem(last=False)
        return state

    def _recycled(self, key: tuple) -> StaticKV | None:
        """For a new stream ``key`` when ``streams_kept`` are already kept: evict the least
        recently used one and hand over its preallocated buffers and CUDA graphs if its shapes
        are the new stream's (rows, alpha, streams): no allocation or capture in the new
        stream's first windows. Its slots still hold the old stream's keys/values; the masks
        hide every slot after the frames written so far, as for uncommitted frames."""
        if key in self._states or len(self._states) < self._states_kept:
            return None
        _, old = self._states.popitem(last=False)

        def shape(k: tuple) -> tuple:
            return len(k[0]), k[2], k[-1]  # rows, alpha, stream names

        return old.static if old.static is not None and shape(old.key) == shape(key) else None

    def _window_noise(self, rows, alpha: int, seed: int, first: int, k: int) -> np.ndarray:
        """Initial noise x_T (temperature applied) of windows first..k-1 of every row:
        (B, k - first, alpha, ws, L)."""
        noise = np.stack([np.stack([window_noise(seed, int(r), j, alpha, self.ws, self.dim)
                                    for j in range(first, k)]) for r in rows])
        return noise * np.float32(self.temperature)

    def _new_windows(self, spk: torch.Tensor, noise: torch.Tensor, uniforms: torch.Tensor | None,
                     first: int) -> torch.Tensor:
        """Sample windows first..K-1 of every row from normalised speaker windows
        spk (B, K, ws, L) (all windows so far), their initial noise (B, K - first, alpha, ws, L)
        and (LRS) style uniforms (B, alpha) -> latents (B, alpha, K - first, ws, L)."""
        feats = self.net.condition_features(spk)
        b, k = feats.shape[:2]
        new, alpha = k - first, noise.shape[2]
        style = None
        if self.net.lrs is not None:
            style = self.net.style_weights(feats, uniforms)
            style = style[:, :, first:].transpose(1, 2).reshape(b * new * alpha, -1)
        cond = feats[:, first:, None].expand(b, new, alpha, feats.shape[-1])
        out = self._sample(cond.reshape(b * new * alpha, -1),
                           noise.reshape(-1, self.ws, self.dim), style)
        return out.reshape(b, new, alpha, self.ws, self.dim).transpose(1, 2)

    def _sample(self, cond: torch.Tensor, noise: torch.Tensor,
                style: torch.Tensor | None) -> torch.Tensor:
        """``net.sample_windows`` (n, cond_in), (n, ws, L), (n, S) -> (n, ws, L); with
        ``streaming="graphs"`` the whole DDIM loop (condition, T UNet steps, updates) is one
        CUDA graph per input shape: captured on first use, replayed after (one launch instead
        of hundreds per window)."""
        def run(x: dict[str, torch.Tensor]) -> torch.Tensor:
            return self.net.sample_windows(x["cond"], x["noise"], x.get("style"), self.steps,
                                           solver=self.solver)

        inputs = {"cond": cond, "noise": noise.to(cond.dtype)}
        if style is not None:
            inputs["style"] = style
        if self.streaming != "graphs":
            return run(inputs)
        key = tuple((k, tuple(v.shape), v.dtype) for k, v in inputs.items())
        return replay(self._ddim_graphs, key, run, inputs).clone()
