"""The EmotionVAE post-processor: architecture names, checkpoint loading, segment arithmetic,
seeded alignment, and its use through build_targets (randomly initialised networks)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from reactbench.data.emotionvae import (
    EmotionVAE,
    EmotionVAEAligner,
    config_from_state_dict,
    segment_plan,
)
from reactbench.data.mars import load_clips
from reactbench.data.targets import build_targets
from reactbench.errors import DataError
from tests.data._mars import attributes, write_tree

SMALL = dict(feature_dim=32, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
             global_token_len=4, max_seq_len=80, dim_feedforward=64)
P = 50  # post_clip_length of the small network


class NotWeights:
    """An object a weights-only load must refuse."""


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: these networks are tiny, and spinning threads only cost time on a
    busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("evae") / "checkpoint.pth"
    torch.save(EmotionVAE(**SMALL).state_dict(), path)
    return path


def test_official_architecture_names_and_shapes():
    sd = EmotionVAE().state_dict()
    shapes = {k: tuple(v.shape) for k, v in sd.items()}
    assert shapes["PE.pe"] == (5000, 1, 512)
    assert shapes["in_proj.weight"] == (512, 25)
    assert shapes["encoder.global_tokens"] == (1, 128, 512)
    assert shapes["encoder.transformer_encoder.layers.5.self_attn.in_proj_weight"] == (1536, 512)
    assert shapes["encoder.transformer_encoder.layers.0.linear1.weight"] == (2048, 512)
    assert shapes["decoder.transformer_decoder.layers.5.multihead_attn.in_proj_weight"] == \
        (1536, 512)
    assert shapes["au_out_proj.weight"] == (15, 512)
    assert shapes["va_out_proj.weight"] == (2, 512)
    assert shapes["emo_out_proj.weight"] == (8, 512)
    assert "encoder.transformer_encoder.layers.6.norm1.weight" not in shapes
    assert config_from_state_dict(sd) == dict(
        in_channels=25, feature_dim=512, nhead=8, mlp_dist=False, num_encoder_layers=6,
        num_decoder_layers=6, in_proj_type="linear", out_proj_type="separate",
        pe_type="absolute", query_type="zero", max_seq_len=5000, global_token_len=64,
        dim_feedforward=2048)


@pytest.mark.parametrize("variant", [
    dict(mlp_dist=True), dict(in_proj_type="mlp"), dict(out_proj_type="shared"),
    dict(pe_type="learnable", query_type="learnable")])
def test_variants_are_read_back_from_the_state_dict(variant):
    cfg = {**SMALL, **variant}
    assert config_from_state_dict(EmotionVAE(**cfg).state_dict(), nhead=4) == \
        {"in_channels": 25, "mlp_dist": False, "in_proj_type": "linear",
         "out_proj_type": "separate", "pe_type": "absolute", "query_type": "zero", **cfg}


def test_segment_plan_arithmetic():
    p = segment_plan(2500, 700)  # L > L': 3 chunks of ceil(700/3) = 234 target frames
    assert (p.n, p.chunk, p.inputs, p.outputs) == (3, 234, (234, 234, 232), (1000, 1000, 500))
    p = segment_plan(700, 2500)  # L < L': 3 chunks of 1000, each decoded to ceil(700/3)
    assert (p.n, p.chunk, p.inputs, p.outputs) == (3, 1000, (1000, 1000, 500), (234, 234, 232))
    assert segment_plan(900, 300).inputs == (300,) and segment_plan(900, 300).outputs == (900,)
    assert segment_plan(300, 900).outputs == (300,) and segment_plan(2000, 800).outputs == \
        (1000, 1000)
    edge = segment_plan(4 * P, 9, P)  # 4 chunks of 3: the last holds only padding
    assert edge.inputs == (3, 3, 3, 3) and edge.n * edge.chunk == 12
    with pytest.raises(DataError, match="at least 4 frames"):
        segment_plan(4 * P, 3, P)
    with pytest.raises(DataError, match="segments give 12 frames"):
        segment_plan(9, 4 * P - 1, P)  # 4 outputs of ceil(9/4) = 3 exceed 9


def test_alignment_shapes_heads_and_seed(checkpoint):
    a = EmotionVAEAligner.from_checkpoint(checkpoint, post_clip_length=P)
    assert a.checkpoint_sha256 == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    x = attributes(70, 1).astype(np.float32)
    assert np.array_equal(a.align(x, 70), x)  # equal length: unchanged, not re-encoded
    for L in (120, 200, 30, 9, 60):  # L > L' (1 and 4 segments), L < L' (2 segments)
        torch.manual_seed(3)
        y = a.align(x, L)
        torch.manual_seed(3)
        assert np.array_equal(a.align(x, L), y)
        assert y.shape == (L, 25) and y.dtype == np.float32
        assert set(np.unique(y[:, :15])) <= {0.0, 1.0}
        np.testing.assert_allclose(y[:, 17:].sum(axis=1), 1.0, atol=1e-5)
    torch.manual_seed(4)  # the latent is drawn: two calls in a row differ
    first, second = a.align(x, 200), a.align(x, 200)
    assert not np.array_equal(first[:, 15:17], second[:, 15:17])


def test_segments_layout(checkpoint):
    a = EmotionVAEAligner.from_checkpoint(checkpoint, post_clip_length=P)
    x = np.arange(70 * 25, dtype=np.float32).reshape(70, 25)
    up = a.segments(x, segment_plan(120, 70, P))  # chunks of 24, 24, 22 padded to 50
    assert up.shape == (3, P, 25)
    assert torch.equal(up[1, :24], torch.from_numpy(x[24:48])) and up[2, 22:].abs().sum() == 0
    down = a.segments(x, segment_plan(30, 70, P))  # chunks of 50 and 20
    assert down.shape == (2, P, 25) and torch.equal(down[1, :20], torch.from_numpy(x[50:]))


def test_checkpoint_formats_and_refusals(checkpoint, tmp_path):
    sd = torch.load(checkpoint, weights_only=True)
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in sd.items()}, "epoch": 3}, wrapped)
    assert EmotionVAEAligner.from_checkpoint(wrapped, post_clip_length=P).checkpoint_sha256
    code = tmp_path / "code.pth"
    torch.save({"state_dict": sd, "extra": NotWeights()}, code)
    with pytest.raises(DataError, match="weights-only"):
        EmotionVAEAligner.from_checkpoint(code)
    broken = tmp_path / "broken.pth"
    torch.save({k: v for k, v in sd.items() if "va_out_proj" not in k}, broken)
    with pytest.raises(DataError, match="does not fit the EmotionVAE"):
        EmotionVAEAligner.from_checkpoint(broken, post_clip_length=P)
    with pytest.raises(DataError, match="not found"):
        EmotionVAEAligner.from_checkpoint(tmp_path / "none.pth")
    with pytest.raises(DataError, match="post_clip_length"):
        EmotionVAEAligner.from_checkpoint(checkpoint)  # 1000 > the network's 80 positions


def test_build_targets_with_emotionvae(checkpoint, tmp_path):
    root = write_tree(tmp_path / "m", {"ses0": [60, 90, 130], "ses1": [70, 75]})
    d = load_clips(root, "test")
    t = build_targets(d, gt_align="emotionvae", checkpoint=checkpoint, post_clip_length=P)
    assert [x.shape for x in t.targets] == [(10, n, 25) for n in d.lengths]
    assert t.metadata["gt_align"] == "emotionvae" and t.metadata["torch_seed"] == 1234
    assert t.metadata["checkpoint_sha256"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert t.metadata["post_clip_length"] == P
    lin = build_targets(d)
    assert t.ids == lin.ids and t.metadata["ids_sha256"] == lin.metadata["ids_sha256"]
    for k in range(d.n):  # the paired listener has the sample's length: unchanged
        np.testing.assert_array_equal(t.targets[k][0], d.listener_emotion[k])
    again = build_targets(d, gt_align="emotionvae", checkpoint=checkpoint, post_clip_length=P)
    assert all(np.array_equal(a, b) for a, b in zip(t.targets, again.targets))
