"""The metrics on one GPU at full REACT2024 size, against the CPU engine's values.

Input: ``metrics_speed.synthetic_input`` (N 1614, alpha 10, T 750, 5 to 15 neighbours per row).
Times, each the median of ``--repeats`` runs after one untimed warm-up (kernel compilation),
with host-to-device transfers included:

* FRDist through ``min_grouped_dtw_cuda`` with each GPU engine (strips, triton);
* every metric of ``compute_metrics(..., device="cuda")`` one by one, and all seven in one call;
* the REACT2025 FRDist on variable-length clips (``--ragged-clips`` clips of 58 to 3000 frames,
  alpha 10, K 10) on the GPU.

Values: FRDist per (speaker, generation) from each engine against the CPU engine (max abs
difference; 0 means bit-identical), and every metric's value on the GPU against the CPU.
Writes ``<results-dir>/<name>.json``.

    python benchmarks/metrics_gpu.py --name metrics_gpu_h100
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metrics_speed  # noqa: E402  (benchmark-local module)

SEVEN = ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRRea", "FRSyn")


def _median_time(fn, repeats: int) -> tuple[object, float, list[float]]:
    import torch

    out = fn()  # warm-up: compilation, allocator
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return out, float(np.median(times)), times


def sweep_strips(p, g, nb, repeats: int, log) -> dict:
    """The strips engine's kernels alone (inputs already on the device), per column group, for
    each launch configuration; leaves dtw_strips.CONFIG at the fastest one."""
    import torch

    from reactbench.metrics import dtw_cuda, dtw_strips
    from reactbench.metrics.constants import AU_COLUMNS, DTW_GROUPS

    dev = torch.device("cuda")
    n, alpha, t, _ = p.shape
    xi, yi = (torch.from_numpy(a).to(dev) for a in dtw_cuda._triples(nb, alpha))
    t0 = time.perf_counter()
    x = torch.from_numpy(p.reshape(n * alpha * t, 25)).to(dev)
    y = torch.from_numpy(g).to(dev)
    torch.cuda.synchronize()
    transfer = time.perf_counter() - t0
    x_off = torch.arange(n * alpha, device=dev, dtype=torch.int64) * t
    x_len = torch.full((n * alpha,), t, device=dev, dtype=torch.int32)
    y_len = torch.full((y.shape[0],), y.shape[1], device=dev, dtype=torch.int32)
    results = {}
    for y_dtype in ("float32", "float64"):
        for warps in (2, 4, 8):
            dtw_strips.CONFIG.update(y_dtype=y_dtype, warps_per_block=warps)
            groups = {}
            for c0, c1, _w in DTW_GROUPS:
                def one(c0=c0, c1=c1):
                    xb = yb = None
                    if (c0, c1) == AU_COLUMNS:
                        xb = dtw_strips.pack_bits(x, c0, c1)
                        yb = dtw_strips.pack_bits(y, c0, c1)
                    return dtw_strips.pair_costs(x, x_off, x_len, y, y_len, xi, yi, c0, c1,
                                                 xb=xb, yb=yb)
                _, med, _ = _median_time(one, repeats)
                groups[f"{c0}:{c1}"] = med
            key = f"y_dtype={y_dtype}, warps_per_block={warps}"
            results[key] = {"groups_s": groups, "kernels_s": sum(groups.values())}
            log(f"strips {key}: kernels {sum(groups.values()):.3f} s {groups}")
    best = min(results, key=lambda k: results[k]["kernels_s"])
    y_dtype, warps = (part.split("=")[1] for part in best.split(", "))
    dtw_strips.CONFIG.update(y_dtype=y_dtype, warps_per_block=int(warps))
    return {"host_to_device_s": transfer, "configs": results, "best": best}


def all_metrics(data: dict, repeats: int, cpu_jobs: int, log) -> dict:
    """Every metric through compute_metrics on the GPU, one by one and together, and the same
    values on the CPU."""
    from reactbench.metrics import compute_metrics

    p, g, s, nb = data["pred"], data["listener_gt"], data["speaker"], data["neighbours"]
    per_gpu, values_gpu, values_cpu = {}, {}, {}
    for m in SEVEN:
        res, med, _ = _median_time(lambda m=m: compute_metrics(
            p, g, s, nb, metrics=[m], device="cuda"), repeats)
        per_gpu[m] = med
        values_gpu[m] = float(res[m])
        log(f"compute_metrics[{m}] device=cuda {med:.3f} s")
    _, all_s, _ = _median_time(lambda: compute_metrics(
        p, g, s, nb, metrics=list(SEVEN), device="cuda"), repeats)
    t0 = time.perf_counter()
    res_cpu = compute_metrics(p, g, s, nb, metrics=list(SEVEN), n_jobs=cpu_jobs)
    cpu_all = time.perf_counter() - t0
    for m in SEVEN:
        values_cpu[m] = float(res_cpu[m])
    rel = max(abs(values_gpu[m] - values_cpu[m]) / max(abs(values_cpu[m]), 1e-300)
              for m in SEVEN)
    log(f"all seven on the GPU {all_s:.3f} s (CPU {cpu_all:.2f} s); max rel diff {rel:.3g}")
    return {"per_metric_gpu_s": per_gpu, "all_seven_gpu_s": all_s, "all_seven_cpu_s": cpu_all,
            "values_gpu": values_gpu, "values_cpu": values_cpu, "max_rel_diff": rel}


def ragged_input(clips: int, alpha: int, k: int, seed: int = 0) -> dict:
    """Variable-length samples packed along time (58 to 3000 frames)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(58, 3001, size=clips)
    off = np.concatenate([[0], np.cumsum(lengths)])
    total = int(off[-1])
    pred = rng.random((alpha, total, 25)).astype(np.float32)
    tg = rng.random((k, total, 25)).astype(np.float32)
    pred[..., :15] = pred[..., :15] > 0.7
    tg[..., :15] = tg[..., :15] > 0.7
    return {"pred": pred, "targets": tg, "off": off, "lengths": lengths}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1614)
    ap.add_argument("--alpha", type=int, default=10)
    ap.add_argument("--frames", type=int, default=750)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cpu-jobs", type=int, default=-1, help="threads of the CPU reference")
    ap.add_argument("--ragged-clips", type=int, default=300)
    ap.add_argument("--frdist-only", action="store_true",
                    help="time FRDist only (no compute_metrics, no variable-length run)")
    ap.add_argument("--name", default="metrics_gpu")
    ap.add_argument("--results-dir", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)

    import torch

    from reactbench.metrics import dtw_cuda, dtw_strips
    from reactbench.metrics.dtw_engine import min_grouped_dtw, min_grouped_dtw_ragged

    def log(msg: str) -> None:
        print(msg, flush=True)

    rep: dict = {"name": args.name, "n": args.n, "alpha": args.alpha, "frames": args.frames,
                 "command": "python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]),
                 "machine": metrics_speed.machine_info()}
    data = metrics_speed.synthetic_input(args.n, args.alpha, args.frames)
    p, g, nb = data["pred"], data["listener_gt"], data["neighbours"]
    rep["triples"] = int(nb.sum()) * args.alpha

    t0 = time.perf_counter()
    cpu = min_grouped_dtw(p, g, nb, n_jobs=args.cpu_jobs)
    rep["cpu_engine_s"] = time.perf_counter() - t0
    log(f"CPU engine FRDist {rep['cpu_engine_s']:.2f} s ({os.cpu_count()} cpus)")

    rep["strips_sweep"] = sweep_strips(p, g, nb, args.repeats, log)
    engines = {}
    for engine in ("strips", "triton"):
        if engine == "strips" and not dtw_strips.available():
            continue
        if engine == "triton" and not dtw_cuda.triton_available():
            continue
        out, med, runs = _median_time(lambda e=engine: dtw_cuda.min_grouped_dtw_cuda(
            p, g, nb, device="cuda", engine=e), args.repeats)
        diff = float(np.abs(out - cpu).max())
        engines[engine] = {"median_s": med, "runs_s": runs, "max_abs_diff_vs_cpu": diff,
                           "bit_identical": bool(np.array_equal(out, cpu))}
        log(f"FRDist {engine:7s} median {med:.3f} s  max |diff| vs CPU {diff:.3g}")
    rep["frdist_engines"] = engines

    if not args.frdist_only:
        rep["compute_metrics"] = all_metrics(data, args.repeats, args.cpu_jobs, log)
    if args.ragged_clips and not args.frdist_only and dtw_strips.available():
        r = ragged_input(args.ragged_clips, args.alpha, 10)
        order = np.argsort(-r["lengths"], kind="stable")
        t0 = time.perf_counter()
        ref = min_grouped_dtw_ragged(r["pred"], r["targets"], r["off"], order,
                                     n_jobs=args.cpu_jobs)
        cpu_s = time.perf_counter() - t0
        out, med, runs = _median_time(lambda: dtw_cuda.min_grouped_dtw_ragged_cuda(
            r["pred"], r["targets"], r["off"], device="cuda"), args.repeats)
        rep["ragged_frdist"] = {
            "clips": args.ragged_clips, "frames": int(r["off"][-1]), "alpha": args.alpha,
            "targets": 10, "gpu_median_s": med, "gpu_runs_s": runs, "cpu_engine_s": cpu_s,
            "max_abs_diff_vs_cpu": float(np.abs(out - ref).max()),
            "bit_identical": bool(np.array_equal(out, ref))}
        log(f"ragged FRDist ({args.ragged_clips} clips) GPU {med:.3f} s, CPU {cpu_s:.2f} s, "
            f"bit-identical {rep['ragged_frdist']['bit_identical']}")

    rep["gpu"] = torch.cuda.get_device_name(0)
    rep["loadavg_end"] = os.getloadavg()
    out_dir = Path(args.results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{args.name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rep, indent=2) + "\n")
    tmp.replace(path)
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
