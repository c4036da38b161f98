"""Where the time of one online window goes, at batch 1.

Default: ``Sampler.online`` eagerly (streaming "dynamic") over the first windows of a clip of
random speaker streams, then torch.profiler over one further window, CUDA kernels by total time.

``--graphs`` (the fast path, streaming "graphs"; ``--compile``: Sampler(compile=True)): the
synchronised wall time of each stage of a window (encoder step, condition, DDIM loop, decoder
step) for windows 0..3 of a second 750-frame clip and the median over its windows 4..14,
then the kernels of one UNet evaluation
(outside any graph, so each kernel is visible): count, summed kernel time, table.

    python benchmarks/reactdiff_online_profile.py --preset paper [--alpha 1] [--bf16]
        [--graphs] [--compile] [--triton] [--host]

``--bf16``: Sampler(precision="bf16") (parameters in bf16, autocast).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import reactbench.reactdiff.sample as sample_mod  # noqa: E402
from reactbench.reactdiff.config import preset_config  # noqa: E402
from reactbench.reactdiff.network import ReactDiffNet  # noqa: E402
from reactbench.reactdiff.sample import Sampler  # noqa: E402

WIDTHS = {"au": 15, "fe": 8, "va": 2, "3dmm": 58, "logmel": 64, "mfcc": 26}


def _kernel_table(fn, rows: int) -> None:
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                            torch.profiler.ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    total = sum(e.device_time for e in kernels) / 1000
    print(f"kernels: {len(kernels)}, summed kernel time {total:.3f} ms")
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=rows,
                                    max_name_column_width=60))


def _host_table(sampler: Sampler, spk: dict, alpha: int, rows: int) -> None:
    """Operators of one whole window call (window 6 of a fresh clip, graphs captured), by self
    CPU time: where the host-side time between the CUDA graphs goes."""
    for start in range(0, 300, 50):
        sampler.online({k: v[:, :start + 50] for k, v in spk.items()}, [0], alpha, 7, start)
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                            torch.profiler.ProfilerActivity.CUDA]) as prof:
        sampler.online({k: v[:, :350] for k, v in spk.items()}, [0], alpha, 7, 300)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows,
                                    max_name_column_width=60))


def _stage_times(sampler: Sampler, spk: dict, alpha: int) -> None:
    """Synchronised wall time per stage: windows 0..4 of a second clip (the first one
    captures the graphs), then the median over windows 4..14."""
    times: dict[str, list[float]] = defaultdict(list)

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            torch.cuda.synchronize()
            times[name].append(1000 * (time.perf_counter() - t0))
            return out
        return wrapper

    saved = (sample_mod.encode_new, sample_mod.decode_new)
    sample_mod.encode_new = timed("encoder step", sample_mod.encode_new)
    sample_mod.decode_new = timed("decoder step", sample_mod.decode_new)
    sampler.net.condition_features = timed("condition features",
                                           sampler.net.condition_features)
    sampler._sample = timed("DDIM loop", sampler._sample)
    frames = next(iter(spk.values())).shape[1]
    for clip in range(2):
        for start in range(0, frames, 50):
            if start in (0, 200):
                if clip == 1 and start == 200:
                    for name, ts in times.items():
                        print(f"{name:20s} windows 0..3: " + " ".join(f"{t:7.2f}" for t in ts))
                times.clear()
            t0 = time.perf_counter()
            sampler.online({k: v[:, :start + 50] for k, v in spk.items()}, [0], alpha, clip,
                           start)
            times["whole call"].append(1000 * (time.perf_counter() - t0))
    for name, ts in times.items():
        print(f"{name:20s} median {statistics.median(ts):8.3f} ms  (windows 4..14)")
    sample_mod.encode_new, sample_mod.decode_new = saved  # untimed again
    del sampler.net.condition_features, sampler._sample


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preset", default="paper", choices=("paper", "small"))
    ap.add_argument("--alpha", type=int, default=1)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--graphs", action="store_true",
                    help="stage times of the CUDA-graph path, then one UNet call's kernels")
    ap.add_argument("--compile", action="store_true",
                    help="Sampler(compile=True): UNet convolutions as GEMMs + torch.compile")
    ap.add_argument("--compile-mode", default="default", help="torch.compile mode")
    ap.add_argument("--triton", action="store_true",
                    help="Sampler(kernels='triton'): the UNet on reactbench's Triton kernels")
    ap.add_argument("--rows", type=int, default=25, help="kernels to print")
    ap.add_argument("--host", action="store_true",
                    help="with --graphs: also the host-side operators of one whole window call, "
                         "by self CPU time")
    a = ap.parse_args()
    net = ReactDiffNet(preset_config(a.preset).model, WIDTHS).eval()
    sampler = Sampler(net, "cuda", streaming="graphs" if a.graphs else "dynamic",
                      precision="bf16" if a.bf16 else "fp32", compile=a.compile,
                      compile_mode=a.compile_mode, kernels="triton" if a.triton else "torch")
    rng = np.random.default_rng(0)

    if a.graphs:
        spk = {k: rng.standard_normal((1, 750, w), dtype=np.float32) for k, w in WIDTHS.items()}
        with torch.no_grad():
            _stage_times(sampler, spk, a.alpha)
            cfg = net.cfg
            x = torch.randn(a.alpha, cfg.window, cfg.latent_dim, device="cuda")
            t = torch.full((a.alpha,), 10, device="cuda")
            cond = torch.randn(a.alpha, cfg.cond_dim, device="cuda")

            with sampler.autocast():  # as in the DDIM loop: block projections precomputed
                proj = net.unet.step_embeddings(t[:1], cond)[0]

            def unet_call():
                with sampler.autocast():
                    net.unet(x, t, cond, proj)
            unet_call()
            _kernel_table(unet_call, a.rows)
            if a.host:
                _host_table(sampler, spk, a.alpha, a.rows)
        return
    spk = {k: rng.standard_normal((1, 200, w), dtype=np.float32) for k, w in WIDTHS.items()}

    def window(start: int) -> None:
        sampler.online({k: v[:, :start + 50] for k, v in spk.items()}, [0], a.alpha, 0, start)

    for start in (0, 50, 100):
        window(start)
    _kernel_table(lambda: window(150), a.rows)


if __name__ == "__main__":
    main()
