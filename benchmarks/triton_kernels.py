"""Time the Triton UNet kernels (models/reactdiff/kernels.py) on the paper preset's layer shapes
against cuBLAS (F.linear over the im2col matrix) at batch 1 and 10, bf16, CUDA-graph timed
(triton.testing.do_bench_cudagraph: no launch overhead), every tile config of the autotuner.

    python benchmarks/triton_kernels.py [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import triton
from torch.nn import functional as F
from triton.testing import do_bench_cudagraph

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reactbench.reactdiff import kernels as K  # noqa: E402

# (name, C_in, C_out, L): the paper UNet's residual-block convolutions per level
SHAPES = [("level0 256->256", 256, 256, 128), ("level1 512->512", 512, 512, 64),
          ("level2 1024->1024", 1024, 1024, 32), ("level3 2048->2048", 2048, 2048, 16),
          ("up3 4096->2048", 4096, 2048, 16)]


def bench(fn) -> float:
    return 1000 * do_bench_cudagraph(fn, rep=50)  # microseconds


def layer_row(name: str, cin: int, cout: int, length: int, bsz: int) -> dict:
    """cuBLAS, the GroupNorm + SiLU kernel, and the conv kernel (3 taps, bias) autotuned and
    under every autotuner config, on one layer shape."""
    dev, dt = "cuda", torch.bfloat16
    x = torch.randn(bsz, cin, length, device=dev, dtype=dt)
    w = torch.randn(cout, cin, 3, device=dev, dtype=dt) * 0.02
    bias = torch.zeros(cout, device=dev, dtype=dt)
    coefs = (torch.ones(bsz, cin, device=dev), torch.zeros(bsz, cin, device=dev))
    cols = F.pad(x, (1, 1)).unfold(2, 3, 1).transpose(1, 2).reshape(bsz, length, -1)
    w2 = w.reshape(cout, -1)
    mb = 2 * w.numel() / 1e6
    row = {"layer": name, "batch": bsz, "M": bsz * length, "N": cout, "K": 3 * cin,
           "weight_MB": round(mb, 1),
           "cublas_linear_us": round(bench(lambda: F.linear(cols, w2, bias)), 2),
           "hbm_bound_us": round(mb / 3.35e6 * 1e6, 2)}
    xc = x.transpose(1, 2).contiguous()  # channels-last, as the Triton UNet keeps them
    wk = K.conv_weight(w)
    out = torch.empty(bsz, length, cout, device=dev, dtype=dt)
    row["triton_norm_act_us"] = round(bench(lambda: K.norm_act(xc, 32, coefs[0][0],
                                                               coefs[1][0], 1e-5)), 2)
    row["triton_autotuned_us"] = round(bench(lambda: K.conv1d(xc, wk, bias, taps=3,
                                                                out=out)), 2)
    shape = {"bsz": bsz, "l_out": length, "c_in": cin, "kc1": 0, "kc2": 0}
    for cfg in K._prune(K._conv_kernel.configs, shape, TAPS=3):
        meta = dict(cfg.kwargs)

        def call(cfg=cfg):
            K.conv1d(xc, wk, bias, taps=3, out=out, config=cfg)
        try:
            t = bench(call)
        except Exception as exc:  # noqa: BLE001 - a config that does not compile
            t = float("nan")
            print(name, meta, repr(exc)[:200])
        row[f"triton_{meta['BLOCK_M']}x{meta['BLOCK_N']}x{meta['BLOCK_K']}_w{cfg.num_warps}"
            f"s{cfg.num_stages}_split{meta['SPLIT']}_us"] = round(t, 2)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="")
    ap.add_argument("--batches", default="1,10")
    a = ap.parse_args()
    rows = []
    for name, cin, cout, length in SHAPES:
        for bsz in (int(b) for b in a.batches.split(",")):
            row = layer_row(name, cin, cout, length, bsz)
            print(json.dumps(row), flush=True)
            rows.append(row)
    if a.out:
        Path(a.out).write_text(json.dumps({"device": torch.cuda.get_device_name(),
                                           "torch": torch.__version__,
                                           "triton": triton.__version__, "rows": rows},
                                          indent=1))


if __name__ == "__main__":
    main()
