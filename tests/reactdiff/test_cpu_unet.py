"""The CPU layout of the UNet (models/reactdiff/cpu_unet.py) against the torch module."""

from __future__ import annotations

import pytest
import torch
from reactbench.reactdiff.config import ModelConfig
from reactbench.reactdiff.cpu_unet import CpuUNet
from reactbench.reactdiff.diffusion import Diffusion
from reactbench.reactdiff.unet import UNet1D, fuse_for_inference


def _unet() -> UNet1D:
    """A small UNet covering every path: 2 levels (32 and 64 channels), attention in both and in
    the middle, residual blocks with and without a 1x1 skip, GroupNorm groups of 1, 2, 3 and 4
    channels (32, 64, 96 = 64 + 32 and 128 = 64 + 64 channels in 32 groups), a stride-2
    downsampling and an upsampling convolution; all parameters drawn (the zero-initialised ones
    would hide errors)."""
    cfg = ModelConfig(window=10, cond_dim=16, unet_width=32, unet_mults=(1, 2),
                      unet_res_blocks=1, unet_attn_levels=(0, 1), unet_heads=2)
    torch.manual_seed(0)
    unet = UNet1D(cfg).eval()
    with torch.no_grad():
        for p in unet.parameters():
            p.normal_(std=0.2)
    return unet


@pytest.mark.parametrize("length", [12, 9])  # 9: padded to the levels' multiple
@pytest.mark.parametrize("projected", [False, True])
def test_cpu_unet_equals_the_module(length, projected):
    unet = _unet()
    fast = CpuUNet(unet)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, 10, length, generator=g)
    cond = torch.randn(5, 16, generator=g)
    t = torch.tensor([0, 3, 7, 11, 19])
    with torch.no_grad():
        want = unet(x, t, cond)
        if projected:  # one step's slice of the precomputed projections, as DDIM hands them
            steps = torch.tensor([19, 9, 0])
            got = fast(x, None, cond, fast.step_embeddings(steps, cond)[1])
            want = unet(x, None, cond, unet.step_embeddings(steps, cond)[1])
        else:
            got = fast(x, t, cond)
    assert got.shape == want.shape == (5, 10, length)
    assert not torch.equal(got, torch.zeros_like(got))
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_step_projections_equal_the_modules():
    unet = _unet()
    fast = CpuUNet(unet)
    steps = torch.tensor([19, 12, 5, 0])
    cond = torch.randn(6, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = unet.step_embeddings(steps, cond)
        got = fast.step_embeddings(steps, cond)
    assert len(got) == 4
    for i in range(4):
        torch.testing.assert_close(got[i], want[i], rtol=1e-5, atol=1e-5)


def test_ddim_sampling_matches_the_module():
    """The whole DDIM loop (20 steps, x0 clamped) stays at float rounding level."""
    unet = _unet()
    fast = CpuUNet(unet)
    diffusion = Diffusion(20)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 10, 12, generator=g)
    cond = torch.randn(4, 16, generator=g)
    with torch.no_grad():
        want = diffusion.ddim_sample(unet, x, cond)
        got = diffusion.ddim_sample(fast, x, cond)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_cpu_unet_reads_an_unfused_unet_only():
    with pytest.raises(ValueError, match="unfused"):
        CpuUNet(fuse_for_inference(_unet()))
