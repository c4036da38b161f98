"""Streaming online generation (online.py): incremental causal MMT == full causal recompute."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reactbench.reactdiff import checkpoint as ck
from reactbench.reactdiff import cuda_graphs, plugin
from reactbench.reactdiff import sample as sample_mod
from reactbench.reactdiff.config import DIFFUSION_STEPS
from reactbench.reactdiff.cpu_unet import CpuUNet
from reactbench.reactdiff.network import ReactDiffNet
from reactbench.reactdiff.online import StaticKV, decode_whole, decoder_step, encoder_step, pack
from reactbench.reactdiff.sample import Sampler, default_kernels
from reactbench.reactdiff.unet import UNet1D

from reactbench.errors import ModelError
from reactbench.harness import check_causality, generate_online

from .fakes import speaker_input, tiny_config

WIDTHS = {"au": 15, "fe": 8, "va": 2, "3dmm": 58, "logmel": 16, "mfcc": 26}
VARIANTS = ["reactdiff", "reactdiff-no-mmt", "reactdiff-no-video", "reactdiff-no-audio",
            "reactdiff-lrs", "reactdiff-no-diffusion"]


# diffusion steps of the test nets: the streaming state and its equality with a full recompute
# do not depend on the schedule's length, and every window is sampled through all of it;
# the CUDA tests and explicit steps such as 19,12,5,0 use the paper's 20 (DIFFUSION_STEPS)
STEPS = 4


def _net(variant: str = "reactdiff", context: bool = True, steps: int = STEPS) -> ReactDiffNet:
    """A tiny untrained net (window 10, a ``steps``-step diffusion schedule) with every
    parameter jittered, so that no unit is an identity (zero-initialised UNet output, LRS
    edits, LayerNorm affine)."""
    cfg = tiny_config(variant)
    cfg.model.cond_windows, cfg.model.cond_summary = (3, True) if context else (1, False)
    cfg.model.diffusion_steps = steps
    torch.manual_seed(0)
    net = ReactDiffNet(cfg.model, {s.name: WIDTHS[s.name] for s in cfg.model.streams})
    net.full_config = cfg
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
        net.latent_norm.lo.fill_(-1.5)
        net.latent_norm.hi.fill_(1.5)
    return net.eval()


def _streams(net: ReactDiffNet, b: int = 2, t: int = 43, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {n: rng.standard_normal((b, t, w)).astype(np.float32) for n, w in net.widths.items()}


def _chunks(t: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(s + size, t)) for s in range(0, t, size)]


@pytest.mark.parametrize("variant", VARIANTS[:4])
@pytest.mark.parametrize("size", [10, 7, 1])
def test_encoder_step_equals_full_causal_encoder(variant, size):
    net = _net(variant)
    x = {k: torch.from_numpy(v) for k, v in _streams(net).items()}
    normed = {k: net.stream_norm[k](v) for k, v in x.items()}
    with torch.no_grad():
        full = net.encode(x, causal=True)
        cache, parts = None, []
        for s, e in _chunks(43, size):
            z, cache = encoder_step(net.encoder, {k: v[:, s:e] for k, v in normed.items()},
                                    cache, s)
            assert all(k.shape[2] == e for k, _ in cache)
            parts.append(z)
    torch.testing.assert_close(torch.cat(parts, 1), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("size", [10, 7, 1])
def test_decoder_step_equals_full_causal_decoder(size):
    net = _net()
    z = torch.randn(3, 43, net.cfg.latent_dim, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        face, emo = net.decoder(z, causal=True)
        cache, faces, emos = None, [], []
        for s, e in _chunks(43, size):
            f, m, cache = decoder_step(net.decoder, z[:, s:e], cache, s)
            faces.append(f)
            emos.append(m)
    torch.testing.assert_close(torch.cat(faces, 1), face, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.cat(emos, 1), emo, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("size", [50, 17])
def test_small_preset_encoder_and_decoder_steps(size):
    """The shipped recipe's widths (window 50, frame skip): chunks of a window and odd ones."""
    from reactbench.reactdiff.config import preset_config

    cfg = preset_config("small").model
    torch.manual_seed(0)
    net = ReactDiffNet(cfg, {s.name: WIDTHS[s.name] for s in cfg.streams}).eval()
    x = {k: torch.from_numpy(v) for k, v in _streams(net, b=1, t=120).items()}
    normed = {k: net.stream_norm[k](v) for k, v in x.items()}
    with torch.no_grad():
        z = net.encode(x, causal=True)
        face, emo = net.decoder(z, causal=True)
        enc = dec = None
        zs, faces, emos = [], [], []
        for s, e in _chunks(120, size):
            part, enc = encoder_step(net.encoder, {k: v[:, s:e] for k, v in normed.items()},
                                     enc, s)
            f, m, dec = decoder_step(net.decoder, z[:, s:e], dec, s)
            zs.append(part)
            faces.append(f)
            emos.append(m)
    torch.testing.assert_close(torch.cat(zs, 1), z, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.cat(faces, 1), face, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.cat(emos, 1), emo, atol=1e-5, rtol=1e-5)


def _reference(ref: Sampler, streams, rows, alpha, seed, start, end):
    """The full causal recompute by ``ref`` over [0, end) (``latents`` and ``decode``: no
    streaming state), frames [start, end)."""
    z = ref.latents({k: v[:, :end] for k, v in streams.items()}, rows, alpha, seed, causal=True)
    emo, face = ref.decode(z, causal=True)
    return emo[:, :, start:], face[:, :, start:]


def _check_windows(sampler, net, streams, rows, window, alpha=2, seed=4, atol=2e-4):
    t = next(iter(streams.values())).shape[1]
    ref = Sampler(net, sampler.device, sampler.steps, temperature=0.7, solver=sampler.solver)
    for start, end in _chunks(t, window):
        emo, face = sampler.online({k: v[:, :end].copy() for k, v in streams.items()}, rows,
                                   alpha, seed, start)
        ref_emo, ref_face = _reference(ref, streams, rows, alpha, seed, start, end)
        np.testing.assert_allclose(emo, ref_emo, atol=atol)
        np.testing.assert_allclose(face, ref_face, atol=atol)


@pytest.mark.parametrize(("variant", "window", "streaming"), [
    ("reactdiff", 10, "dynamic"), ("reactdiff", 5, "dynamic"), ("reactdiff", 15, "dynamic"),
    *((v, 15, "dynamic") for v in VARIANTS[1:]),
    ("reactdiff", 15, "static"), ("reactdiff-lrs", 10, "static"),
    ("reactdiff-no-mmt", 10, "static")])
def test_online_window_by_window_equals_full_recompute(variant, window, streaming):
    """Harness windows equal to, below and above the model window; T = 43 leaves a partial
    model window at the end."""
    net = _net(variant)
    sampler = Sampler(net, temperature=0.7, streaming=streaming)
    _check_windows(sampler, net, _streams(net), [3, 1], window)
    state = next(iter(sampler._states.values()))
    assert state.committed == 40 and state.speaker.shape[1] == 4


def _replaying_capture(fn, inputs):
    """Stands in for cuda_graphs.capture on CPU: 'replay' re-runs fn on the static inputs and
    writes into the static outputs, as a CUDA graph replay would."""
    static_in = {k: v.clone() for k, v in inputs.items()}
    static_out = fn(static_in)

    class Graph:
        def replay(self):
            for old, new in zip(static_out, fn(static_in)):
                old.copy_(new)

    return Graph(), static_in, static_out


@pytest.mark.parametrize(("size", "graphs"), [(10, False), (7, False), (10, True)])
def test_static_buffers_grow_and_equal_full_causal_pass(size, graphs, monkeypatch):
    """Preallocated buffers (capacity 16, grown while streaming 43 frames) give the full causal
    encoder and decoder; stale slots of uncommitted frames are hidden until overwritten;
    ``graphs``: the capture/replay plumbing (static inputs/outputs), twice over the clip."""
    monkeypatch.setattr(cuda_graphs, "capture", _replaying_capture)
    net = _net()
    x = {k: torch.from_numpy(v) for k, v in _streams(net).items()}
    z_in = torch.randn(2, 43, net.cfg.latent_dim, generator=torch.Generator().manual_seed(3))
    static = StaticKV(capacity=16, graphs=graphs)
    with torch.no_grad():
        z = net.encode(x, causal=True)
        face, emo = net.decode(z_in, causal=True)
        packed = torch.from_numpy(pack(net, _streams(net)))
        static.encode(net, packed[:, :5] + 9.0, 0)  # stale slots 0..4
        static.decode(net, z_in[:, :5] - 9.0, 0)
        for _ in range(2 if graphs else 1):
            parts = [tuple(t.clone() for t in (
                static.encode(net, packed[:, s:e], s),
                *static.decode(net, z_in[:, s:e], s))) for s, e in _chunks(43, size)]
            for got, want in zip(zip(*parts), (z, face, emo)):
                torch.testing.assert_close(torch.cat(got, 1), want, atol=1e-5, rtol=1e-5)
    assert static.capacity == 64
    assert sorted(static._captured) == ([("decoder", 3), ("decoder", 10), ("encoder", 3),
                                         ("encoder", 10)] if graphs else [])


@pytest.mark.parametrize(("variant", "sampling"), [
    ("reactdiff", {}), ("reactdiff-lrs", {}),
    ("reactdiff", {"ddim_steps": (19, 12, 5, 0), "solver": "dpm2m"})])
def test_graphed_ddim_loop_replays_the_same_windows(variant, sampling, monkeypatch):
    """``streaming="graphs"``: the DDIM loop (or DPM-Solver++(2M)'s at explicit steps) of each
    window batch is captured once per input shape and replayed (CPU stand-in for the CUDA
    graph): same reactions as eager."""
    monkeypatch.setattr(cuda_graphs, "capture", _replaying_capture)  # replay captures
    net = _net(variant, steps=DIFFUSION_STEPS if "ddim_steps" in sampling else STEPS)
    streams = _streams(net)
    eager = Sampler(net, temperature=0.7, **sampling)
    graphed = Sampler(net, temperature=0.7, **sampling)
    graphed.streaming = "graphs"  # CUDA-only by the constructor; the plumbing runs on CPU
    for start, end in _chunks(streams["au"].shape[1], 10):
        prefix = {k: v[:, :end] for k, v in streams.items()}
        want = eager.online(prefix, [3, 1], 2, 0, start)
        got = graphed.online(prefix, [3, 1], 2, 0, start)
        # the static copy is contiguous: other kernels, rounding, which 2M's extrapolation
        # from the previous step's x0 carries a little further
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, atol=5e-4 if sampling else 1e-4)
    assert len(graphed._ddim_graphs) == 1  # one (rows x alpha, ws, L) shape: one capture


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize(("variant", "streaming", "sampling"), [
    ("reactdiff", "dynamic", {}), ("reactdiff-lrs", "dynamic", {}), ("reactdiff", "graphs", {}),
    ("reactdiff-no-audio", "graphs", {}),
    ("reactdiff", "graphs", {"ddim_steps": (19, 12, 5, 0), "solver": "dpm2m"}),
    ("reactdiff", "graphs", {"ddim_steps": (19, 17, 14, 10, 0)})])
def test_online_streaming_on_cuda(variant, streaming, sampling, monkeypatch):
    """Same on the GPU (tolerance of the harness's CUDA causality check); ``graphs`` captures
    the encoder/decoder steps (window 10: one capture per step) and replays them, with the
    DDIM loop (or DPM-Solver++(2M)'s) at explicit steps too; a second pass over the clip
    restarts the state at frame 0 and replays the same graphs. TF32 convolutions off: with
    them the reference (all windows in one batch) and the stream (one window per call) differ
    by ~1e-3 before DDIM, enough to flip an LRS style draw."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    net = _net(variant, steps=DIFFUSION_STEPS)
    sampler = Sampler(net, "cuda", temperature=0.7, streaming=streaming, **sampling)
    for _ in range(2):
        _check_windows(sampler, net, _streams(net), [3, 1], 10, atol=1e-3)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("variant", ["reactdiff", "reactdiff-lrs"])
@pytest.mark.parametrize("unet", [{"compile": True}, {"kernels": "triton"}],
                         ids=["compile", "triton"])
def test_fast_online_path_on_cuda(variant, unet, monkeypatch):
    """streaming=graphs + precision=bf16 + compile or Triton kernels (the benchmark's fast
    paths): valid reactions near the fp32 stream (bf16 rounding through 20 DDIM steps of an
    untrained net), and the offline path under the same options."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    ref = Sampler(_net(variant, steps=DIFFUSION_STEPS), "cuda", temperature=0.7)
    fast = Sampler(_net(variant, steps=DIFFUSION_STEPS), "cuda", temperature=0.7,
                   streaming="graphs", precision="bf16", **unet)
    assert next(fast.net.parameters()).dtype == torch.bfloat16
    streams = _streams(_net(variant))
    for start, end in _chunks(43, 10):
        prefix = {k: v[:, :end] for k, v in streams.items()}
        for got, want in zip(fast.online(prefix, [3, 1], 2, 4, start),
                             ref.online(prefix, [3, 1], 2, 4, start)):
            assert got.dtype == np.float32 and np.isfinite(got).all()
            assert np.abs(got - want).mean() < 0.05, np.abs(got - want).mean()
    emo, face = fast.offline(streams, [3, 1], 2, 4)
    assert emo.shape == (2, 2, 43, 25) and np.isfinite(face).all()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("fast", [False, True], ids=["fp32", "bf16-triton"])
def test_new_stream_replays_taken_over_graphs_on_cuda(fast, monkeypatch):
    """One stream kept: a second batch (other rows, seed and speaker) takes over the first
    one's buffers and CUDA graphs and replays them from its first window; its reactions equal
    a fresh full recompute (fp32; bf16 + Triton: near it, as the fast-path test)."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    net = _net(steps=DIFFUSION_STEPS)
    opts = {"precision": "bf16", "kernels": "triton"} if fast else {}
    sampler = Sampler(_net(steps=DIFFUSION_STEPS), "cuda", temperature=0.7, streaming="graphs",
                      streams_kept=1, **opts)
    ref = Sampler(net, "cuda", temperature=0.7)
    for streams, rows, seed in ((_streams(net, seed=0), [3, 1], 4),
                                (_streams(net, seed=5), [0, 2], 6)):
        for start, end in _chunks(43, 10):
            prefix = {k: v[:, :end] for k, v in streams.items()}
            for got, want in zip(sampler.online(prefix, rows, 2, seed, start),
                                 ref.online(prefix, rows, 2, seed, start)):
                err = np.abs(got - want)
                assert (err.mean() < 0.05) if fast else (err.max() < 1e-3), err.max()
        if rows == [3, 1]:
            static = next(iter(sampler._states.values())).static
            captured = dict(static._captured)
    assert next(iter(sampler._states.values())).static is static
    assert static._captured == captured and len(captured) == 4


def test_gpu_only_options_are_refused_on_cpu(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)  # the Triton kernels' CPU tests set it
    with pytest.raises(ModelError, match="precision must be one of"):
        Sampler(_net(), precision="fp16")
    with pytest.raises(ModelError, match="kernels must be one of"):
        Sampler(_net(), kernels="cuda")
    with pytest.raises(ModelError, match="choose one"):
        Sampler(_net(), kernels="triton", compile=True)
    for kwargs, what in (({"precision": "bf16"}, "precision='bf16'"),
                         ({"compile": True}, "compile=True"),
                         ({"kernels": "triton"}, "kernels='triton'"),
                         ({"streaming": "graphs"}, "streaming='graphs'")):
        with pytest.raises(ModelError, match=f"{what} needs a CUDA device"):
            Sampler(_net(), "cpu", **kwargs)


def test_cpu_kernels_switch_per_sampler():
    """On a CPU device the UNet is laid out for the CPU (CpuUNet) unless kernels='torch' keeps
    the module; a later Sampler of the same net lays it out once, or restores the module."""
    net = _net()
    module = net.unet
    plain = Sampler(net, temperature=0.7, kernels="torch")
    assert plain.kernels == "torch" and net.unet is module and isinstance(module, UNet1D)
    fast = Sampler(net, temperature=0.7)
    assert fast.kernels == "cpu" and isinstance(net.unet, CpuUNet) and net.unet.unet is module
    Sampler(net, temperature=0.7, kernels="cpu")
    assert isinstance(net.unet, CpuUNet) and net.unet.unet is module  # not wrapped twice
    plain = Sampler(net, temperature=0.7, kernels="torch")
    assert plain.kernels == "torch" and net.unet is module
    with pytest.raises(ModelError, match="kernels='cpu' runs in float32"):
        Sampler(_net(), kernels="cpu", precision="bf16")
    with pytest.raises(ModelError, match="choose one"):
        Sampler(_net(), kernels="cpu", compile=True)


def test_default_kernels_by_device():
    assert default_kernels("cpu") == "cpu"
    assert default_kernels("cuda") == default_kernels("cuda:1") == "torch"
    assert default_kernels("cpu", compile=True) == default_kernels("cpu", precision="bf16")
    assert default_kernels("cpu", precision="bf16") == "torch"


def test_cpu_kernels_sample_what_the_module_samples():
    streams, rows = _streams(_net(), b=2, t=30), [4, 1]
    want = Sampler(_net(), temperature=0.7, kernels="torch").offline(streams, rows, 3, 5)
    got = Sampler(_net(), temperature=0.7).offline(streams, rows, 3, 5)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
    assert not np.array_equal(got[0], want[0])  # the other path did run


def test_online_without_condition_context():
    net = _net(context=False)
    _check_windows(Sampler(net, temperature=0.7), net, _streams(net), [0, 2], 10)


def test_online_streams_only_new_frames():
    """A continued state encodes only the frames after the committed ones."""
    net = _net()
    sampler = Sampler(net, temperature=0.7)
    streams = _streams(net, t=40)
    seen = []
    enc = net.encoder.embed["au"]
    hook = enc.register_forward_hook(lambda m, i, o: seen.append(i[0].shape[1]))
    try:
        for start, end in _chunks(40, 10):
            sampler.online({k: v[:, :end] for k, v in streams.items()}, [0, 1], 2, 0, start)
    finally:
        hook.remove()
    assert seen == [10, 10, 10, 10]


@pytest.mark.parametrize("streaming", ["dynamic", "static"])
def test_changed_prefix_or_rows_fall_back_to_recompute(streaming):
    net = _net()
    sampler = Sampler(net, temperature=0.7, streaming=streaming)
    a = _streams(net, t=40, seed=0)
    for start, end in _chunks(30, 10):
        sampler.online({k: v[:, :end] for k, v in a.items()}, [0, 1], 2, 4, start)
    b = {k: v.copy() for k, v in a.items()}
    b["au"][1, 12] += 1.0  # an earlier, already committed frame changed
    emo, face = sampler.online(b, [0, 1], 2, 4, 30)
    ref = Sampler(net, temperature=0.7)
    ref_emo, ref_face = _reference(ref, b, [0, 1], 2, 4, 30, 40)
    np.testing.assert_allclose(emo, ref_emo, atol=2e-4)
    np.testing.assert_allclose(face, ref_face, atol=2e-4)
    # other rows, a later start without any state, and a start before the committed frames
    for rows, start, end in (([2, 0], 20, 30), ([0, 1], 10, 20), ([0, 1], 35, 40)):
        emo, _ = sampler.online({k: v[:, :end] for k, v in a.items()}, rows, 2, 4, start)
        np.testing.assert_allclose(emo, _reference(ref, a, rows, 2, 4, start, end)[0], atol=2e-4)


def test_state_lru_is_bounded():
    net = _net()
    sampler = Sampler(net, temperature=0.7, streams_kept=2)
    streams = _streams(net, b=1, t=10)
    for row in range(4):
        sampler.online(streams, [row], 1, 0, 0)
    assert [k[0] for k in sampler._states] == [(2,), (3,)]


@pytest.mark.parametrize("graphs", [False, True])
def test_new_stream_takes_over_evicted_buffers_and_graphs(graphs, monkeypatch):
    """With ``streams_kept`` states kept, a new batch of the same shapes (rows, alpha) evicts
    the least recently used state and reuses its preallocated buffers (and captured graphs):
    its first windows replay instead of capturing, with the reactions of a fresh sampler even
    though the slots still hold the old stream's keys/values."""
    monkeypatch.setattr(cuda_graphs, "capture", _replaying_capture)
    net = _net()
    sampler = Sampler(net, temperature=0.7, streams_kept=1, streaming="static")
    sampler.streaming = "graphs" if graphs else "static"  # CUDA-only by the constructor
    a, b = _streams(net, seed=0), _streams(net, seed=5)
    _check_windows(sampler, net, a, [3, 1], 10)
    static = next(iter(sampler._states.values())).static
    captured = dict(static._captured)
    _check_windows(sampler, net, b, [0, 2], 10, seed=6)  # another batch, seed and speaker
    (key, state), = sampler._states.items()
    assert key[0] == (0, 2) and state.static is static
    assert static._captured == captured  # no new capture: the same graph objects replayed
    assert len(captured) == (4 if graphs else 0)  # encoder/decoder steps of 10 and 3 frames
    # another alpha: other buffer shapes, so fresh buffers
    sampler.online({k: v[:, :10] for k, v in a.items()}, [3, 1], 3, 4, 0)
    assert next(iter(sampler._states.values())).static is not static


def test_streams_kept_must_be_positive():
    with pytest.raises(ModelError, match="streams_kept must be at least 1"):
        Sampler(_net(), streams_kept=0)


def test_pack_names_a_missing_stream():
    net = _net()
    streams = _streams(net)
    packed = pack(net, streams)
    assert packed.shape == (2, 43, sum(net.widths.values())) and packed.dtype == np.float32
    del streams["mfcc"]
    with pytest.raises(ModelError, match="mfcc"):
        pack(net, streams)


def _checkpoint(tmp_path, data) -> str:
    """A model file of the jittered tiny net (no training needed) for the plug-in."""
    net = _net()
    return str(ck.atomic_save({"format": ck.FORMAT, "config": net.full_config.to_dict(),
                               "widths": net.widths, "variant": "reactdiff",
                               "dataset": {"train": data.identity}, "stages_done": [1, 2],
                               "model": net.state_dict()}, tmp_path / "model.pt"))


@pytest.mark.parametrize("streaming", ["dynamic", "static"])
def test_harness_online_run_passes_causality_check(tmp_path, fake_splits, streaming,
                                                   monkeypatch):
    """``static`` with one row per batch and two states kept: the harness's batches and the
    causality check's re-runs keep evicting states and taking over their buffers (two sets of
    buffers in all)."""
    made = []
    monkeypatch.setattr(sample_mod, "StaticKV",
                        lambda **kw: made.append(StaticKV(**kw)) or made[-1])
    rows = "3" if streaming == "dynamic" else "1"
    model = plugin.ReactDiff(checkpoint=_checkpoint(tmp_path, fake_splits[0]), batch_rows=rows,
                             streaming=streaming)
    model.fit(fake_splits[0])
    model._sampler._states_kept = 2
    data = fake_splits[1]
    preds = generate_online(model, data, alpha=2, seed=1, window=10, batch_size=4)
    summary = check_causality(model, data, preds, alpha=2, seed=1, window=10, batch_size=4,
                              n_windows=3)
    assert summary["passed"] and len(summary["windows_checked"]) == 3
    # the streamed predictions equal a full recompute of the whole clip
    whole = model.generate_online(speaker_input(data, np.arange(data.n)), start=0, alpha=2,
                                  seed=1).emotion
    np.testing.assert_allclose(preds.emotion, whole, atol=2e-4)
    assert len(made) == (0 if streaming == "dynamic" else 2)


@pytest.mark.parametrize("causal", [False, True])
def test_whole_sequence_decoding_equals_the_decoder_module(causal):
    """online.decode_whole (SDPA, the CPU layout's offline decoding) computes net.decode."""
    net = _net().eval()
    z = torch.randn(3, 37, net.cfg.latent_dim)
    with torch.inference_mode():
        want = net.decode(z, causal=causal)
        got = decode_whole(net, z, causal)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)
