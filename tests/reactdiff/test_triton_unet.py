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

from models.reactdiff.config import ModelConfig  # noqa: E402
from models.reactdiff.unet import UNet1D  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def _unet(**kw) -> UNet1D:
    """A small UNet covering every path: 2 levels, 2 blocks each, attention everywhere, 1x1
    skips, concatenations with group sizes 1, 2 and 48 (not a power of two); all parameters drawn
    (the zero-initialised ones would hide errors)."""
    cfg = ModelConfig(window=10, cond_dim=16, unet_width=16, unet_mults=(1, 2),
                      unet_res_blocks=2, unet_attn_levels=(0, 1), unet_heads=2, **kw)
    torch.manual_seed(0)
    unet = UNet1D(cfg).eval()
    with torch.no_grad():
        for p in unet.parameters():
            p.normal_(std=0.1)
    return unet.to(DEVICE)


def test_triton_unet_equals_the_module(monkeypatch):
    """Length 11: padded to the levels' multiple and cut back, as the module does."""
    from models.reactdiff.triton_unet import TritonUNet

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


def _act(x, a, d, silu):
    v = x * a[..., None] + d[..., None]
    return F.silu(v) if silu else v


@pytest.mark.parametrize(("stride", "upsample", "pair", "silu"), [
    (1, False, False, True), (2, False, False, False), (1, True, False, False),
    (1, False, True, True)])
def test_conv1d_kernel_equals_torch(stride, upsample, pair, silu, monkeypatch):
    """conv1d: the prologue's affine map + SiLU, zero padding after the activation, stride 2,
    nearest x2 upsampling, a channel-concatenated pair read in place, a 1x1 skip of another
    (pair) input, bias, residual, and an output written through a transposed view."""
    from models.reactdiff.kernels import conv1d

    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # an exact reference
    g = torch.Generator().manual_seed(1)

    def r(*s):
        return torch.randn(*s, generator=g).to(DEVICE)

    x1, x2 = r(2, 24, 9), r(2, 20, 9)
    x = torch.cat([x1, x2], 1) if pair else x1
    cin = x.shape[1]
    w, bias, a, d = r(40, cin, 3) * 0.2, r(40), r(2, cin), r(2, cin)
    skip, w_skip = (x1, x2), r(40, 44) * 0.2
    y = _act(x, a, d, silu)
    if upsample:
        y = F.interpolate(y, scale_factor=2, mode="nearest")
    ref = F.conv1d(y, w, bias, stride=stride, padding=1)
    kw = {}
    if stride == 1 and not upsample:
        ref = ref + F.conv1d(torch.cat(skip, 1), w_skip[..., None])
        kw = {"skip": skip, "skip_weight": w_skip, "residual": ref * 0 + 1.0}
        ref = ref + 1.0
    out = torch.empty(2, ref.shape[2], 40, device=DEVICE).transpose(1, 2)
    got = conv1d((x1, x2) if pair else x, w, bias, coefs=(a, d), silu=silu, stride=stride,
                 upsample=upsample, out=out, **kw)
    assert got is out
    torch.testing.assert_close(got, ref, atol=1e-4, rtol=1e-4)


def test_group_norm_coefficients_equal_group_norm_and_film():
    from models.reactdiff.kernels import group_norm_coefs

    x1, x2 = torch.randn(2, 24, 7, device=DEVICE), torch.randn(2, 24, 7, device=DEVICE)
    gn = torch.nn.GroupNorm(4, 48).to(DEVICE)  # group size 12, one group straddles the pair
    with torch.no_grad():
        gn.weight.normal_()
        gn.bias.normal_()
        film = torch.randn(2, 100, device=DEVICE)[:, 2:98]  # a view with row stride 100
        x = torch.cat([x1, x2], 1)
        ref = gn(x) * (1 + film[:, :48, None]) + film[:, 48:, None]
        a, d = group_norm_coefs((x1, x2), 4, gn.weight, gn.bias, gn.eps, film)
    torch.testing.assert_close(a[..., None] * x + d[..., None], ref, atol=1e-5, rtol=1e-5)
