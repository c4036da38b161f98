"""ReactDiff GPU benchmark (paper preset): training throughput, memory, sampling, online latency.

Measures, on random inputs of the default streams' widths (AU/FE/VA/3DMM, log-mel 64, MFCC 26):
- stage-1 and stage-2 training throughput (clips/s, whole 750-frame clips, batch 16) in fp32
  eager, bf16 autocast, and bf16 + torch.compile (``--compile``), with peak GPU memory;
- time to sample alpha = 10 reactions for the whole synthetic test split (80 rows x 750 frames;
  DDIM 20 steps) through ``Sampler.offline``, fp32 and bf16 (``--compile``: also bf16 with the
  compiled UNet, ``Sampler(compile=True)``);
- online latency per 50-frame window at batch 1 (alpha 1 and 10) of the real code path,
  ``Sampler.online`` called as the harness calls it (prefix [0, end) for windows 0..14 of a
  750-frame clip; streaming: encoder/decoder KV caches, DDIM for the new window only): first
  window and median / p90 over the later ones, eager and with CUDA graphs
  (``Sampler(streaming="graphs")``: encoder/decoder steps and the whole DDIM loop), fp32 or bf16,
  with the UNet compiled (``Sampler(compile=True)``) or not, at T or fewer DDIM steps.

    python benchmarks/reactdiff_gpu.py --out benchmarks/results/reactdiff_train_h100.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reactbench.reactdiff.config import preset_config  # noqa: E402
from reactbench.reactdiff.network import ReactDiffNet  # noqa: E402
from reactbench.reactdiff.sample import Sampler  # noqa: E402

WIDTHS = {"au": 15, "fe": 8, "va": 2, "3dmm": 58, "logmel": 64, "mfcc": 26}


def streams(b, t, device):
    return {k: torch.randn(b, t, w, device=device) for k, w in WIDTHS.items()}


def batch(cfg, b, t, device):
    m = cfg.model
    k = -(-t // m.window)
    return {"speaker": streams(b, t, device), "listener": streams(b, t, device),
            "listener_emotion": torch.rand(b, t, 25, device=device),
            "listener_3dmm": torch.randn(b, t, 58, device=device),
            "t": torch.randint(0, m.diffusion_steps, (b, k), device=device),
            "noise": torch.randn(b, k, m.window, m.latent_dim, device=device),
            "gumbel": torch.randn(b, m.lrs_styles, device=device)}


def sync():
    torch.cuda.synchronize()


def train_throughput(cfg, stage, precision, compile_, b=16, t=750, steps=20, warmup=5):
    net = ReactDiffNet(cfg.model, WIDTHS).cuda()
    net.set_stage(stage)
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4)
    tr = cfg.train

    def step_fn(bt):
        with torch.autocast("cuda", torch.bfloat16, enabled=precision == "bf16"):
            if stage == 1:
                loss, _ = net.stage1_loss(bt, False, tr.w_3dmm, tr.w_emotion)
            else:
                loss, _ = net.stage2_loss(bt, False, tr.w_eps, tr.w_lrs)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    fn = torch.compile(step_fn) if compile_ else step_fn
    bt = batch(cfg, b, t, "cuda")
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(warmup):
        fn(bt)
    sync()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        fn(bt)
    sync()
    dt = time.perf_counter() - t0
    return {"stage": stage, "precision": precision, "compile": compile_, "batch": b,
            "frames": t, "clips_per_s": round(b * steps / dt, 2),
            "step_ms": round(1000 * dt / steps, 2), "warmup_s": round(first, 2),
            "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3)}


@torch.no_grad()
def sampling_time(cfg, precision, rows=80, alpha=10, t=750, compile_=False):
    """Offline generation of alpha reactions for ``rows`` speaker rows of ``t`` frames through
    ``Sampler.offline`` (the plug-in's path, 16 rows per call, numpy in and out), after one
    warm-up call (which pays torch.compile with ``compile_``)."""
    sampler = Sampler(ReactDiffNet(cfg.model, WIDTHS), "cuda", precision=precision,
                      compile=compile_)
    rng = np.random.default_rng(0)
    spk = {k: rng.standard_normal((rows, t, w), dtype=np.float32) for k, w in WIDTHS.items()}
    t0 = time.perf_counter()
    sampler.offline({n: v[:16] for n, v in spk.items()}, list(range(16)), alpha, 0)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(0, rows, 16):
        sampler.offline({n: v[i:i + 16] for n, v in spk.items()}, list(range(i, i + 16)),
                        alpha, 0)
    return {"precision": precision, "compile": compile_, "rows": rows, "alpha": alpha,
            "frames": t, "ddim_steps": cfg.model.diffusion_steps, "path": "Sampler.offline",
            "warmup_s": round(warm, 2), "seconds": round(time.perf_counter() - t0, 3)}


@torch.no_grad()
def _pdl(device: str) -> bool:
    """Whether the Triton kernels launch with programmatic dependent launch here."""
    from reactbench.reactdiff.kernels import pdl_enabled
    return pdl_enabled(torch.device(device))


def _prefetch_mb() -> float:
    from reactbench.reactdiff.kernels import PREFETCH_BYTES
    return PREFETCH_BYTES / (1 << 20)


def online_latency(cfg, alpha, graphs, frames=750, window=50, reps=3, device="cuda",
                   unet_compile=True, precision="fp32", compile_mode="default",
                   ddim_steps=None, kernels="torch", streams_kept=1):
    """Per-window latency of the real online path at batch 1: ``Sampler.online`` called as the
    harness calls it (speaker prefix [0, end), start = end - window) for every window of a
    ``frames``-frame clip; one warm-up clip, then ``reps`` clips (each restarts at start 0).
    Reports the first window and the median / p90 over the later windows. ``graphs``: the
    encoder/decoder steps and the DDIM loop in CUDA graphs (``Sampler(streaming="graphs")``);
    ``precision`` and ``unet_compile`` (with graphs only): the Sampler's ``precision`` (bf16:
    parameters in bf16 + autocast) and ``compile`` (UNet convolutions as matrix products, fused
    by torch.compile in ``compile_mode``) options, i.e. the plug-in's options of those names;
    ``kernels="triton"``: the UNet on reactbench's Triton kernels instead (not compiled).
    ``streams_kept``: the Sampler's option; with 1 (one live stream at a time) each new clip
    takes over the previous clip's buffers and CUDA graphs, so its first windows replay too;
    with more, the timed clips are new streams that allocate and capture in windows 0-1."""
    net = ReactDiffNet(cfg.model, WIDTHS).eval()
    streaming = "graphs" if graphs else "dynamic"
    unet_compile = bool(graphs and unet_compile and kernels == "torch")
    sampler = Sampler(net, device, ddim_steps, streaming=streaming, precision=precision,
                      compile=unet_compile, compile_mode=compile_mode, kernels=kernels,
                      streams_kept=streams_kept)
    rng = np.random.default_rng(0)
    spk = {k: rng.standard_normal((1, frames, w), dtype=np.float32) for k, w in WIDTHS.items()}

    def clip(seed):
        times = []
        for start in range(0, frames, window):
            end = min(start + window, frames)
            prefix = {k: v[:, :end].copy() for k, v in spk.items()}
            t0 = time.perf_counter()
            sampler.online(prefix, [0], alpha, seed, start)  # returns numpy: synchronised
            times.append(time.perf_counter() - t0)
        return times

    clip(0)
    runs = [clip(seed) for seed in range(1, reps + 1)]
    first = sorted(r[0] for r in runs)
    later = sorted(t for r in runs for t in r[1:])
    med = later[len(later) // 2]
    return {"alpha": alpha, "prefix_frames": frames, "window": window, "cuda_graphs": graphs,
            "path": "Sampler.online", "streaming": streaming, "unet_compile": unet_compile,
            "precision": precision, "gemm_convs": unet_compile,
            "bf16_weights": precision == "bf16",
            "compile_mode": compile_mode if unet_compile else None, "kernels": kernels,
            "pdl": kernels == "triton" and _pdl(device),
            "prefetch_mb": (os.environ.get("REACTBENCH_PREFETCH_MB") or _prefetch_mb())
            if kernels == "triton" else None,
            "ddim_steps": ddim_steps or cfg.model.diffusion_steps,
            "device": device, "streams_kept": streams_kept,
            "first_ms": round(1000 * first[len(first) // 2], 2),
            "max_all_windows_ms": round(1000 * max(max(r) for r in runs), 2),
            "median_ms": round(1000 * med, 2),
            "p90_ms": round(1000 * later[int(0.9 * (len(later) - 1))], 2),
            "max_ms": round(1000 * later[-1], 2),
            "per_window_ms": [round(1000 * t, 2) for t in runs[-1]],
            "realtime_factor": round(window / 25.0 / med, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--compile", action="store_true",
                    help="train and sampling: also bf16 + torch.compile")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--preset", default="paper", choices=("paper", "small"))
    ap.add_argument("--parts", default="train,sampling,online",
                    help="comma-separated subset of train, sampling, online")
    ap.add_argument("--precisions", default="fp32,bf16",
                    help="train and sampling: eager precisions to measure (with --compile: "
                         "also bf16 compiled)")
    ap.add_argument("--online-frames", type=int, default=750,
                    help="online: clip length (windows of 50 frames, as the harness calls)")
    ap.add_argument("--online-reps", type=int, default=3,
                    help="online: timed clips after one warm-up clip")
    ap.add_argument("--online-no-unet-compile", action="store_true",
                    help="online with CUDA graphs: the UNet without torch.compile (the graphs "
                         "then replay its eager kernels)")
    ap.add_argument("--online-compile-mode", default="default",
                    help="online: torch.compile mode of the UNet (default, "
                         "max-autotune-no-cudagraphs, ...; the Sampler captures its own graphs)")
    ap.add_argument("--online-kernels", default="torch", choices=("torch", "triton"),
                    help="online: the UNet's kernels (triton: Sampler(kernels='triton'))")
    ap.add_argument("--online-ddim-steps", default="",
                    help="online: comma-separated DDIM step counts (default: the schedule's T)")
    ap.add_argument("--online-modes", default="dynamic,graphs",
                    help="online: comma-separated streaming modes (dynamic, graphs)")
    ap.add_argument("--online-alphas", default="1,10", help="online: comma-separated alphas")
    ap.add_argument("--online-streams-kept", type=int, default=1,
                    help="online: Sampler(streams_kept=...); 1: each clip takes over the last "
                         "clip's buffers and graphs (one live stream); 4: the harness's default, "
                         "every timed clip is a new stream (windows 0-1 allocate and capture)")
    ap.add_argument("--online-precisions", default="fp32",
                    help="online: comma-separated precisions (fp32; bf16: parameters in bf16 "
                         "and autocast)")
    a = ap.parse_args()
    parts = set(a.parts.split(","))
    unknown = parts - {"train", "sampling", "online"}
    if unknown:
        ap.error(f"unknown --parts {sorted(unknown)}")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cfg = preset_config(a.preset)
    res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
           "python": platform.python_version(), "preset": a.preset,
           "params": sum(p.numel() for p in ReactDiffNet(cfg.model, WIDTHS).parameters()),
           "train": [], "sampling": [], "online": []}
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save():
        out.write_text(json.dumps(res, indent=1))

    runs = [(p, False) for p in a.precisions.split(",") if p] + (
        [("bf16", True)] if a.compile else [])
    for stage in (1, 2) if "train" in parts else ():
        for precision, comp in runs:
            try:
                r = train_throughput(cfg, stage, precision, comp, steps=a.steps)
            except Exception as exc:  # noqa: BLE001 - record and continue
                r = {"stage": stage, "precision": precision, "compile": comp,
                     "error": repr(exc)[:300]}
            print(r, flush=True)
            res["train"].append(r)
            save()
    for stage in (1, 2):
        rows = {(r["precision"], r["compile"]): r for r in res["train"]
                if r["stage"] == stage and "clips_per_s" in r}
        if ("fp32", False) in rows and ("bf16", False) in rows:
            res[f"stage{stage}_bf16_speedup"] = round(
                rows[("bf16", False)]["clips_per_s"] / rows[("fp32", False)]["clips_per_s"], 2)
    sampling = [(p, False) for p in a.precisions.split(",") if p] + (
        [("bf16", True)] if a.compile else [])
    for precision, comp in sampling if "sampling" in parts else ():
        r = sampling_time(cfg, precision, compile_=comp)
        print(r, flush=True)
        res["sampling"].append(r)
        save()
    modes = [m == "graphs" for m in a.online_modes.split(",") if m]
    online = [(g, p, s) for g in modes for p in a.online_precisions.split(",") if p
              for s in ([int(x) for x in a.online_ddim_steps.split(",") if x] or [None])]
    for graphs, precision, steps in online if "online" in parts else ():
        for alpha in (int(x) for x in a.online_alphas.split(",")):
            try:
                r = online_latency(cfg, alpha, graphs, frames=a.online_frames,
                                   reps=a.online_reps, unet_compile=not a.online_no_unet_compile,
                                   precision=precision, compile_mode=a.online_compile_mode,
                                   ddim_steps=steps, kernels=a.online_kernels,
                                   streams_kept=a.online_streams_kept)
            except Exception as exc:  # noqa: BLE001
                r = {"alpha": alpha, "cuda_graphs": graphs, "precision": precision,
                     "ddim_steps": steps, "error": repr(exc)[:300]}
            print(r, flush=True)
            res["online"].append(r)
            save()
    save()


if __name__ == "__main__":
    main()
