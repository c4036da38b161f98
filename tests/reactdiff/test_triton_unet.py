"""The Triton UNet (models/reactdiff/kernels.py, triton_unet.py) against the torch module.

On a machine without CUDA the kernels run in Triton's interpreter (``TRITON_INTERPRET=1``, fp32);
skipped where triton is not installed."""

from __future__ import annotations

import os

import pytest
import torch
from torch.nn import functional as F

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton.jit runs
pytest.importorskip("triton")

from reactbench.reactdiff.config import ModelConfig  # noqa: E402
from reactbench.reactdiff.unet import UNet1D  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def _unet(**kw) -> UNet1D:
    """A small UNet covering every path: 2 levels (4 and 48 channels), attention in both and
    in the middle, residual blocks with and without a 1x1 skip, up-path concatenations read in
    place with GroupNorm group sizes 1 (4 + 4 channels, 8 groups), 3 (48 + 48, 32 groups of a
    size that is not a power of two) and 52 (48 + 4, one group straddling the pair); all
    parameters drawn (the zero-initialised ones would hide errors). Its widths keep the
    interpreter's program count low: a norm runs one program per (row, group). ``kw``: other
    UNet settings."""
    cfg = ModelConfig(**{"window": 10, "cond_dim": 16, "unet_width": 4, "unet_mults": (1, 12),
                         "unet_res_blocks": 1, "unet_attn_levels": (0, 1), "unet_heads": 2,
                         **kw})
    torch.manual_seed(0)
    unet = UNet1D(cfg).eval()
    with torch.no_grad():
        for p in unet.parameters():
            p.normal_(std=0.1)
    return unet.to(DEVICE)


def test_triton_unet_equals_the_module(monkeypatch):
    """Length 11: padded to the levels' multiple and cut back, as the module does."""
    from reactbench.reactdiff.triton_unet import TritonUNet

    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # an exact reference

    unet = _unet()
    x = torch.randn(2, 10, 11, device=DEVICE)
    t = torch.tensor([0, 19], device=DEVICE)
    cond = torch.randn(2, 16, device=DEVICE)
    with torch.no_grad():
        ref = unet(x, t, cond)
        fast = TritonUNet(unet)
        out = fast(x, t, cond)
        proj = fast.step_embeddings(torch.tensor([5], device=DEVICE), cond)[0]
        out_proj = fast(x, t, cond, proj)
        ref_proj = unet(x, torch.full_like(t, 5), cond)
    assert out.shape == ref.shape == (2, 10, 11)
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out_proj, ref_proj, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(("stride", "upsample", "skip", "split"), [
    (1, False, False, 1), (2, False, False, 1), (1, True, False, 1), (1, False, True, 1),
    (1, False, True, 3), (2, False, False, 2)])
def test_conv1d_kernel_equals_torch(stride, upsample, skip, split, monkeypatch):
    """conv1d (channels-last): 3 taps with zero padding, stride 2, nearest x2 upsampling, a 1x1
    skip of a channel-concatenated pair read in place, bias, residual, an output written
    through a transposed view; two blocks of rows; K split in 2-3 parts (partial sums added
    by the last part), twice in a row (the split counters are left at zero)."""
    import triton
    from reactbench.reactdiff.kernels import _counters, conv1d, conv_weight

    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # an exact reference
    g = torch.Generator().manual_seed(1)

    def r(*s):
        return torch.randn(*s, generator=g).to(DEVICE)

    x, w, bias = r(2, 44, 9), r(40, 44, 3) * 0.2, r(40)
    y = F.interpolate(x, scale_factor=2, mode="nearest") if upsample else x
    ref = F.conv1d(y, w, bias, stride=stride, padding=1)
    kw = {}
    if skip:
        k1, k2, w_skip = r(2, 24, 9), r(2, 20, 9), r(40, 44) * 0.2
        res = r(2, 40, 9)
        ref = ref + F.conv1d(torch.cat([k1, k2], 1), w_skip[..., None]) + res
        cl = [t.transpose(1, 2).contiguous() for t in (k1, k2, res)]
        kw = {"skip": (cl[0], cl[1]), "skip_weight": w_skip, "residual": cl[2]}
    config = triton.Config({"BLOCK_M": 16, "BLOCK_N": 16, "BLOCK_K": 16, "SPLIT": split})
    for _ in range(2):
        out = torch.empty(2, 40, ref.shape[2], device=DEVICE)
        got = conv1d(x.transpose(1, 2).contiguous(), conv_weight(w), bias, taps=3,
                     stride=stride, upsample=upsample, out=out.transpose(1, 2), config=config,
                     **kw)
        assert got.data_ptr() == out.data_ptr()
        torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
        assert not _counters(out.device).any()


@pytest.mark.parametrize("silu", [True, False])
def test_norm_act_equals_group_norm_film_silu(silu):
    from reactbench.reactdiff.kernels import norm_act

    x1, x2 = torch.randn(2, 24, 7, device=DEVICE), torch.randn(2, 24, 7, device=DEVICE)
    gn = torch.nn.GroupNorm(4, 48).to(DEVICE)  # group size 12, one group straddles the pair
    with torch.no_grad():
        gn.weight.normal_()
        gn.bias.normal_()
        film = torch.randn(2, 100, device=DEVICE)[:, 2:98]  # a view with row stride 100
        ref = gn(torch.cat([x1, x2], 1)) * (1 + film[:, :48, None]) + film[:, 48:, None]
        ref = F.silu(ref) if silu else ref
        cl = [t.transpose(1, 2).contiguous() for t in (x1, x2)]
        got = norm_act((cl[0], cl[1]), 4, gn.weight, gn.bias, gn.eps, film, silu)
    torch.testing.assert_close(got.transpose(1, 2), ref, atol=1e-5, rtol=1e-5)


def test_fused_ddim_sampling_equals_the_torch_update():
    """Diffusion.ddim_sample with the Triton UNet's one-kernel update (host-side schedule
    values) gives the samples of the torch update with the torch UNet. One level of 34
    channels, attention only in the middle, one group per norm: the fewest interpreter
    programs (the test above covers the UNet's paths)."""
    from reactbench.reactdiff.diffusion import Diffusion
    from reactbench.reactdiff.triton_unet import TritonUNet

    unet = _unet(unet_width=34, unet_mults=(1,), unet_attn_levels=())
    diff = Diffusion(20).to(DEVICE)
    x_t = torch.randn(2, 10, 8, device=DEVICE)
    cond = torch.randn(2, 16, device=DEVICE)
    with torch.no_grad():
        ref = diff.ddim_sample(unet, x_t, cond, steps=2)
        got = diff.ddim_sample(TritonUNet(unet), x_t, cond, steps=2)
    torch.testing.assert_close(got, ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(("length", "heads", "ch"), [(16, 4, 64), (11, 2, 20)])
def test_attention_kernel_equals_multihead_attention(length, heads, ch):
    """attention(): packed QKV (B, L, 3C) -> (B, L, C) as scaled_dot_product_attention over
    heads (head size 5 is padded to the kernel's 16 lanes, L 11 masked)."""
    from reactbench.reactdiff.kernels import attention

    qkv = torch.randn(2, length, 3 * ch, device=DEVICE)
    q, k, v = qkv.view(2, length, 3, heads, ch // heads).permute(2, 0, 3, 1, 4)
    ref = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(2, length, ch)
    torch.testing.assert_close(attention(qkv, heads), ref, atol=1e-5, rtol=1e-5)


def test_kernel_wrappers_refuse_mismatched_inputs():
    from reactbench.reactdiff.kernels import attention, conv1d, conv_weight

    x = torch.randn(1, 8, 12, device=DEVICE)
    w = conv_weight(torch.randn(4, 10, 3, device=DEVICE))
    with pytest.raises(ValueError, match=r"input \(B, L, 12\) contiguous and weights"):
        conv1d(x, w, taps=3)
    with pytest.raises(ValueError, match="skip input has 5 channels"):
        conv1d(torch.randn(1, 8, 10, device=DEVICE), w, taps=3,
               skip=torch.randn(1, 8, 5, device=DEVICE),
               skip_weight=torch.randn(4, 6, device=DEVICE))
    with pytest.raises(ValueError, match="attention: contiguous"):
        attention(torch.randn(1, 300, 12, device=DEVICE), 2)
