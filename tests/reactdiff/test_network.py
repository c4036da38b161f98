"""Shapes and invariants of the ReactDiff building blocks (MMT, UNet, normalisation, DDIM)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reactbench.reactdiff.config import StreamSpec
from reactbench.reactdiff.diffusion import (
    Diffusion,
    LatentNorm,
    cosine_alpha_bar,
    from_windows,
    to_windows,
)
from reactbench.reactdiff.mmt import MMTDecoder, MMTEncoder
from reactbench.reactdiff.network import ReactDiffNet
from reactbench.reactdiff.unet import UNet1D

from .fakes import tiny_config

WIDTHS = {"au": 15, "fe": 8, "va": 2, "3dmm": 58, "logmel": 16, "mfcc": 26}


def _streams(b=2, t=30, seed=0, widths=WIDTHS):
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(b, t, w, generator=g) for k, w in widths.items()}


@pytest.mark.parametrize("variant", ["reactdiff", "reactdiff-no-mmt", "reactdiff-no-video",
                                     "reactdiff-no-audio"])
def test_encoder_decoder_shapes(variant):
    cfg = tiny_config(variant).model
    widths = {s.name: WIDTHS[s.name] for s in cfg.streams}
    enc, dec = MMTEncoder(cfg, widths), MMTDecoder(cfg)
    z = enc(_streams(widths=widths))
    assert z.shape == (2, 30, cfg.latent_dim)
    face, emo = dec(z)
    assert face.shape == (2, 30, 58) and emo.shape == (2, 30, 25)


def test_emotion_head_ranges():
    cfg = tiny_config().model
    _, emo = MMTDecoder(cfg)(torch.randn(3, 20, cfg.latent_dim) * 10)
    assert emo[..., :15].min() >= 0 and emo[..., :15].max() <= 1
    assert emo[..., 15:17].abs().max() <= 1
    assert torch.allclose(emo[..., 17:].sum(-1), torch.ones(3, 20), atol=1e-5)


def test_encoder_and_decoder_are_causal_in_online_mode():
    cfg = tiny_config().model
    net = ReactDiffNet(cfg, WIDTHS).eval()
    a = _streams(1, 40, seed=1)
    b = {k: v.clone() for k, v in a.items()}
    for v in b.values():
        v[:, 25:] = torch.randn_like(v[:, 25:]) * 5
    with torch.no_grad():
        za, zb = net.encode(a, causal=True), net.encode(b, causal=True)
        assert torch.allclose(za[:, :25], zb[:, :25], atol=1e-5)
        assert not torch.allclose(za[:, 25:], zb[:, 25:])
        fa, ea = net.decode(za, causal=True)
        fb, eb = net.decode(zb, causal=True)
    assert torch.allclose(ea[:, :25], eb[:, :25], atol=1e-5)
    assert torch.allclose(fa[:, :25], fb[:, :25], atol=1e-4)


@pytest.mark.parametrize("length", [8, 13, 32])
def test_unet_shapes_and_zero_init(length):
    cfg = tiny_config().model
    net = UNet1D(cfg)
    x = torch.randn(3, cfg.window, length)
    out = net(x, torch.tensor([0, 5, 19]), torch.randn(3, cfg.cond_dim))
    assert out.shape == x.shape
    assert torch.count_nonzero(out) == 0  # zero-initialised output convolution


def test_latent_norm_round_trip():
    norm = LatentNorm(10, 8)
    data = torch.randn(50, 10, 8) * 3 + 1
    norm.fit(data)
    y = norm.normalise(data)
    assert y.min() >= -1 - 1e-6 and y.max() <= 1 + 1e-6
    x = torch.randn(4, 3, 10, 8) * 5
    assert torch.allclose(norm.denormalise(norm.normalise(x)), x, atol=1e-5)


@pytest.mark.parametrize("frames", [50, 73, 700, 750])
def test_windows_round_trip_any_length(frames):
    z = torch.randn(2, frames, 4)
    w, t = to_windows(z, 50)
    assert w.shape == (2, -(-frames // 50), 50, 4) and t == frames
    assert torch.equal(from_windows(w, t), z)


def test_cosine_schedule():
    ab = cosine_alpha_bar(20)
    assert ab.shape == (20,)
    assert torch.all(ab[1:] < ab[:-1]) and 0 < ab[-1] < 0.01 and ab[0] > 0.9


def test_ddim_eta0_deterministic_and_clamped():
    cfg = tiny_config().model
    torch.manual_seed(0)
    net = UNet1D(cfg)
    for p in net.parameters():  # non-trivial output
        torch.nn.init.normal_(p, std=0.05)
    diff = Diffusion(20)
    xt = torch.randn(4, cfg.window, cfg.latent_dim, generator=torch.Generator().manual_seed(3))
    cond = torch.randn(4, cfg.cond_dim)
    a = diff.ddim_sample(net, xt, cond)
    b = diff.ddim_sample(net, xt.clone(), cond)
    assert torch.equal(a, b)
    assert a.abs().max() <= 1.0 + 1e-6
    c = diff.ddim_sample(net, torch.randn_like(xt), cond)
    assert not torch.allclose(a, c)


class _KnownData:
    """An epsilon network that is exact for data equal to ``x0``: eps = (x_t - sqrt(ab) x0) /
    sqrt(1 - ab) at the step it is called with; counts its calls."""

    def __init__(self, diff: Diffusion, x0: torch.Tensor):
        self.diff, self.x0, self.calls = diff, x0, 0

    def __call__(self, x, t, cond, proj=None):
        self.calls += 1
        ab = self.diff.alpha_bar[t].view(-1, 1, 1)
        return (x - ab.sqrt() * self.x0) / (1 - ab).sqrt()


@pytest.mark.parametrize("solver", ["ddim", "dpm2m"])
@pytest.mark.parametrize("steps", [None, 5, 1, (19, 17, 14, 10, 0), (15, 3)])
def test_solvers_recover_known_data_in_one_evaluation_per_step(solver, steps):
    """With the exact noise of a point-mass data distribution both solvers land on it, from any
    x_T, at any step sequence, calling the network once per step."""
    diff = Diffusion(20)
    g = torch.Generator().manual_seed(1)
    x0 = torch.rand(3, 6, 8, generator=g) * 1.6 - 0.8
    net = _KnownData(diff, x0)
    out = diff.sample(net, torch.randn(3, 6, 8, generator=g), None, steps, solver)
    assert torch.allclose(out, x0, atol=1e-4)
    assert net.calls == len(diff.step_sequence(steps))


def test_dpm2m_is_ddim_on_one_step_and_second_order_after():
    """Its first update is DDIM's; with a network that is not exact the 2M updates differ from
    DDIM's, are deterministic, and the result stays within the clamp."""
    diff = Diffusion(20)
    g = torch.Generator().manual_seed(1)
    x0 = torch.rand(3, 6, 8, generator=g) * 1.6 - 0.8
    exact = _KnownData(diff, x0)

    def net(x, t, cond, proj=None):
        return exact(x, t, cond) + 0.3 * torch.sin(3 * x)

    xt = torch.randn(3, 6, 8, generator=g)
    for seq in ((19, 0), (19,)):  # one update, or the x0 of one evaluation: the same in both
        assert torch.allclose(diff.sample(net, xt, None, seq, "dpm2m"),
                              diff.sample(net, xt, None, seq, "ddim"), atol=1e-5)
    a = diff.sample(net, xt, None, (19, 17, 14, 10, 0), "dpm2m")
    assert torch.equal(a, diff.sample(net, xt.clone(), None, (19, 17, 14, 10, 0), "dpm2m"))
    b = diff.sample(net, xt, None, (19, 17, 14, 10, 0), "ddim")
    assert (a - b).abs().max() > 1e-3 and a.abs().max() <= 1.0
    assert (a.abs() < 1).float().mean() > 0.5  # mostly inside the clamp: a real difference


def test_evenly_spaced_steps_given_explicitly_are_the_count():
    cfg = tiny_config().model
    torch.manual_seed(0)
    net = UNet1D(cfg).eval()
    diff = Diffusion(20)
    xt = torch.randn(2, cfg.window, cfg.latent_dim)
    cond = torch.randn(2, cfg.cond_dim)
    seq = diff.timesteps(5).tolist()
    assert seq == [19, 14, 10, 5, 0]
    assert torch.equal(diff.ddim_sample(net, xt, cond, 5), diff.ddim_sample(net, xt, cond, seq))


@pytest.mark.parametrize("bad", [(), (19, 19, 0), (3, 7), (20, 0), (5, -1)])
def test_step_sequences_must_descend_within_the_schedule(bad):
    with pytest.raises(ValueError, match=r"strictly decreasing .* each in \[0, 19\]"):
        Diffusion(20).step_sequence(bad)


def test_an_unknown_solver_is_refused():
    with pytest.raises(ValueError, match="unknown solver 'euler'"):
        Diffusion(20).sample(None, torch.zeros(1, 2, 2), None, 2, "euler")


@pytest.mark.parametrize("context", [(1, False), (3, True)])
def test_condition_and_stage2_loss_shapes(context):
    cfg = tiny_config("reactdiff-lrs").model
    cfg.cond_windows, cfg.cond_summary = context
    net = ReactDiffNet(cfg, WIDTHS)
    spk = torch.rand(6, net.cond_in) * 2 - 1
    assert net.condition(spk).shape == (6, cfg.cond_dim)
    style = torch.nn.functional.one_hot(torch.arange(6) % cfg.lrs_styles, cfg.lrs_styles).float()
    assert net.condition(spk, style).shape == (6, cfg.cond_dim)
    batch = {"speaker": _streams(2, 25), "listener": _streams(2, 25, seed=2),
             "t": torch.randint(0, 20, (2, 3)), "noise": torch.randn(2, 3, 10, cfg.latent_dim),
             "gumbel": torch.from_numpy(np.random.default_rng(0).gumbel(size=(2, 8))).float()}
    loss, logs = net.stage2_loss(batch, causal=False, w_eps=10.0, w_lrs=1.0)
    assert loss.ndim == 0 and torch.isfinite(loss) and "lrs_kl" in logs


def test_stream_spec_validation():
    from reactbench.errors import ModelError

    with pytest.raises(ModelError, match="width"):
        StreamSpec("afr", "file:feats/afr", "audio")
    with pytest.raises(ModelError, match="unknown source"):
        StreamSpec("x", "emotion:xyz")
    with pytest.raises(ModelError, match="group"):
        StreamSpec("au", "emotion:au", "sound")


def test_condition_features_context_is_causal_and_lagged():
    cfg = tiny_config().model
    cfg.cond_windows, cfg.cond_summary = 3, True
    net = ReactDiffNet(cfg, WIDTHS)
    ws, d = cfg.window, cfg.latent_dim
    spk = torch.rand(2, 4, ws, d) * 2 - 1
    feats = net.condition_features(spk)
    assert feats.shape == (2, 4, net.cond_in) and net.cond_in == 3 * ws * d + d
    flat = spk.flatten(2)
    n = ws * d
    # window 2 sees windows 0, 1, 2 (oldest first); window 0 sees zeros before the clip
    assert torch.equal(feats[:, 2, :3 * n], flat[:, 0:3].flatten(1))
    assert torch.equal(feats[:, 0, :2 * n], torch.zeros(2, 2 * n))
    assert torch.allclose(feats[:, 1, 3 * n:], spk[:, :2].mean((1, 2)))
    # nothing of window 3 reaches windows 0..2
    later = spk.clone()
    later[:, 3] = 5.0
    assert torch.equal(net.condition_features(later)[:, :3], feats[:, :3])
    assert net.condition(feats.reshape(8, -1)).shape == (8, cfg.cond_dim)
    # the paper's condition (one window, no summary) is the flattened window itself
    paper = ReactDiffNet(tiny_config().model, WIDTHS)
    assert torch.equal(paper.condition_features(spk), flat)


def test_condition_window_positions_follow_the_clip_not_the_crop():
    cfg = tiny_config().model
    cfg.cond_position = 6
    net = ReactDiffNet(cfg, WIDTHS)
    ws, d = cfg.window, cfg.latent_dim
    spk = torch.rand(2, 4, ws, d) * 2 - 1
    feats = net.condition_features(spk)
    assert feats.shape == (2, 4, ws * d + 6) and net.cond_in == ws * d + 6
    codes = feats[..., -6:]
    assert not torch.allclose(codes[:, 0], codes[:, 1])  # windows differ by position
    # a training crop starting at window 2 gets the codes of windows 2, 3 of the whole clip
    crop = net.condition_features(spk[:, 2:], offset=torch.tensor([2 * ws, 2 * ws]))
    assert torch.allclose(crop[..., -6:], codes[:, 2:])
    assert torch.equal(crop[..., :-6], feats[:, 2:, :-6])


def test_stage1_au_bce_term_keeps_a_gradient_where_l1_has_none():
    """A saturated AU output (sigmoid ~ 0) with an active target: L1 through the sigmoid gives
    (almost) no gradient, the BCE term gives (p - y) -- why the small preset adds it."""
    cfg = tiny_config().model
    net = ReactDiffNet(cfg, WIDTHS)
    with torch.no_grad():  # saturate every AU output near 0
        net.decoder.head_emotion.mlp[-1].bias[:15] = -12.0
    emo_t = torch.zeros(2, 30, 25)
    emo_t[..., :15] = 1.0
    batch = {"listener": _streams(), "listener_3dmm": torch.randn(2, 30, 58),
             "listener_emotion": emo_t}
    bias = net.decoder.head_emotion.mlp[-1].bias
    grads = {}
    for w in (0.0, 1.0):
        net.zero_grad()
        loss, logs = net.stage1_loss(batch, False, 10.0, 10.0, w_au_bce=w)
        loss.backward()
        grads[w] = bias.grad[:15].abs().mean().item()
        assert ("bce_au" in logs) == (w > 0)
    assert grads[0.0] < 1e-4 and grads[1.0] > 0.05  # BCE: (p - y) / 15 columns


def _jittered_unet():
    """A tiny UNet with every parameter drawn (the zero-initialised output convolution would
    hide errors) and inputs x (3, ws, L), t (3,), cond (3, cond_dim)."""
    cfg = tiny_config().model
    unet = UNet1D(cfg).eval()
    for p in unet.parameters():
        torch.nn.init.normal_(p, std=0.1)
    x = torch.randn(3, cfg.window, cfg.latent_dim)
    return unet, x, torch.tensor([0, 5, 19]), torch.randn(3, cfg.cond_dim)


def test_gemm_convolutions_equal_conv1d():
    """unet.use_gemm_convs: the UNet's convolutions as matrix products, same outputs and state."""
    from reactbench.reactdiff.unet import GemmConv1d, use_gemm_convs

    unet, x, t, cond = _jittered_unet()
    with torch.no_grad():
        ref = unet(x, t, cond)
        keys = set(unet.state_dict())
        use_gemm_convs(unet)
        out = unet(x, t, cond)
    assert any(type(m) is GemmConv1d for m in unet.modules())
    assert set(unet.state_dict()) == keys
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


def test_precomputed_step_embeddings_equal_per_step_projections():
    """UNet1D.step_embeddings (all steps' block projections in one batch, as the DDIM loop
    uses them) gives the outputs of projecting (t, cond) inside every block."""
    unet, x, _, cond = _jittered_unet()
    steps = torch.tensor([19, 7, 0])
    with torch.no_grad():
        proj = unet.step_embeddings(steps, cond)
        assert proj.shape == (3, 3, sum(unet.emb_sizes))
        for i, t in enumerate(steps.tolist()):
            ref = unet(x, torch.full((3,), t), cond)
            torch.testing.assert_close(unet(x, torch.full((3,), t), cond, proj[i]), ref)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 20])
def test_ddim_timesteps_evenly_spaced_and_device_independent(n):
    diff = Diffusion(20)
    seq = diff.timesteps(n).tolist()
    assert len(seq) == n and seq[0] == 19 and (n == 1 or seq[-1] == 0)
    assert all(a > b for a, b in zip(seq, seq[1:]))
    exact = np.linspace(19, 0, n)
    assert np.all(np.abs(np.array(seq) - exact) <= 0.5)
    if n == 20:
        assert seq == list(range(19, -1, -1))
    with pytest.raises(ValueError, match="DDIM steps"):
        diff.timesteps(21)


def test_inference_fusion_keeps_the_function():
    """unet.fuse_for_inference (attention projections folded, output + skip convolutions as one
    matrix product): same outputs, fewer matrix products."""
    from reactbench.reactdiff.unet import fuse_for_inference

    unet, x, t, cond = _jittered_unet()
    linears = sum(isinstance(m, (torch.nn.Linear, torch.nn.Conv1d)) for m in unet.modules())
    with torch.no_grad():
        ref = unet(x, t, cond)
        fuse_for_inference(unet)
        out = unet(x, t, cond)
        again = fuse_for_inference(unet)(x, t, cond)  # idempotent
    fused = sum(isinstance(m, (torch.nn.Linear, torch.nn.Conv1d)) for m in unet.modules())
    assert fused < linears
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(again, ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("n, chunk, sizes", [(9, 4, [3, 3, 3]), (10, 4, [4, 4, 2]), (3, 8, [3])])
def test_sample_windows_runs_equal_chunks_and_reports_each(n, chunk, sizes):
    cfg = tiny_config("reactdiff")
    net = ReactDiffNet(cfg.model, {s.name: WIDTHS[s.name] for s in cfg.model.streams}).eval()
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(n, net.cond_in, generator=g)
    noise = torch.randn(n, cfg.model.window, cfg.model.latent_dim, generator=g)
    seen, reports = [], []
    ddim = net.diffusion.ddim_sample

    def spy(unet, x, cond, steps=None):
        seen.append(x.shape[0])
        return ddim(unet, x, cond, steps)

    net.diffusion.ddim_sample = spy
    out = net.sample_windows(feats, noise, steps=2, chunk=chunk,
                             progress=lambda done, total: reports.append((done, total)))
    assert seen == sizes
    assert reports == [(sum(sizes[:i + 1]), n) for i in range(len(sizes))]
    whole = net.sample_windows(feats, noise, steps=2, chunk=n)  # windows are independent
    torch.testing.assert_close(out, whole, rtol=1e-5, atol=1e-5)
