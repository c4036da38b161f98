"""FRDist on the CPU: the official loop against reactbench's engine, pruned and unpruned.

Times, in one process on the same cores, on the full-size synthetic REACT2024 test set of
``metrics_speed.py`` (N = 1614 mirrored rows, alpha = 10, T = 750, about 11 appropriate reactions
per row):

* the official loop (``benchmarks/official_loop.py``: tslearn DTW per group and pair, a process
  pool over speakers) on all rows, or on the first K rows with ``--official-rows K`` (its
  full-size time is then extrapolated linearly in N and labelled so);
* ``compute_metrics(..., metrics=["FRDist"])`` (input checks included) with the pruned engine;
* the engine alone, pruned (``min_grouped_dtw``, default) and without pruning (``abandon=False``;
  ``--unpruned-rows K`` times it on the first K rows, extrapolated and labelled).

Wall and CPU seconds are recorded (CPU: this process's threads, or the pool's worker processes
for the official loop), with the load average before and after each step: the machine may be
shared. Values: the engine's per-(speaker, generation) minima pruned against unpruned, the
official FRDist against the engine's minima reduced the official way (same rows), and a random
sample of minima against tslearn directly. Prints a table and writes ``<name>.json``.

    python benchmarks/frdist_cpu.py                       # full size, about 15-25 min on 2 cores
    python benchmarks/frdist_cpu.py --official-rows 96    # official loop on 96 rows, extrapolated
    python benchmarks/frdist_cpu.py --official-rows 64 --unpruned-rows 256 --no-compute-metrics
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metrics_speed  # noqa: E402  (benchmark-local module)
import official_loop  # noqa: E402  (benchmark-local module)


def hardware() -> dict:
    """lscpu model name and core counts, plus metrics_speed's machine description."""
    info = metrics_speed.machine_info()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(ln.split(":", 1) for ln in out.splitlines() if ":" in ln)
        info["lscpu_model_name"] = fields.get("Model name", "").strip()
        info["lscpu_cpus"] = fields.get("CPU(s)", "").strip()
        info["lscpu_cores_per_socket"] = fields.get("Core(s) per socket", "").strip()
        info["lscpu_threads_per_core"] = fields.get("Thread(s) per core", "").strip()
        flags = fields.get("Flags", "").split()
        info["simd"] = [f for f in ("avx2", "fma", "avx512f") if f in flags]
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return f"load average {os.getloadavg()}"


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def timed(fn, log, label: str) -> tuple[object, dict]:
    """Run fn; wall and CPU seconds (self + finished children) and the load around it."""
    before = uptime()
    w0, s0, c0 = time.perf_counter(), _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    out = fn()
    rec = {"wall_s": time.perf_counter() - w0, "cpu_self_s": _cpu(resource.RUSAGE_SELF) - s0,
           "cpu_children_s": _cpu(resource.RUSAGE_CHILDREN) - c0,
           "uptime_before": before, "uptime_after": uptime()}
    log(f"  {label:34s} wall {rec['wall_s']:8.2f} s  cpu {rec['cpu_self_s']:8.2f} s "
        f"(+ children {rec['cpu_children_s']:.2f} s)  | {rec['uptime_after']}")
    return out, rec


def official_reduction(minima: np.ndarray) -> float:
    """The official loop's FRDist from (N, alpha) minima: a Python float sum over generations
    per speaker, then ``np.sum(totals) / N``."""
    totals = []
    for row in minima:
        total = 0.0
        for v in row:
            total += float(v)
        totals.append(total)
    return float(np.sum(totals) / minima.shape[0])


def tslearn_sample(data: dict, minima: np.ndarray, count: int, seed: int) -> dict:
    """Minima of ``count`` random (speaker, generation) items by the official per-pair formula."""
    from tslearn.metrics import dtw  # heavy import, only for this check

    rng = np.random.default_rng(seed)
    n, alpha = minima.shape
    worst = 0.0
    for _ in range(count):
        i, k = int(rng.integers(n)), int(rng.integers(alpha))
        x = data["pred"][i, k]
        vals = []
        for j in np.flatnonzero(data["neighbours"][i] == 1):
            y = data["listener_gt"][j]
            vals.append(1 / 15 * dtw(x[:, :15], y[:, :15]) + dtw(x[:, 15:17], y[:, 15:17])
                        + 1 / 8 * dtw(x[:, 17:], y[:, 17:]))
        worst = max(worst, abs(min(vals) - minima[i, k]))
    return {"items": count, "max_abs_diff": worst}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1614, help="mirrored speaker rows (default 1614)")
    ap.add_argument("--alpha", type=int, default=10)
    ap.add_argument("--frames", type=int, default=750)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--official-rows", type=int, default=-1,
                    help="K: the official loop on the first K rows (a multiple of "
                    f"{metrics_speed.BLOCK}), extrapolated to N; -1 = all rows (default)")
    ap.add_argument("--processes", type=int, default=None,
                    help="official pool size and engine threads (default: usable cores)")
    ap.add_argument("--unpruned-rows", type=int, default=-1,
                    help="time the unpruned engine on the first K rows only, extrapolated to N "
                    "(labelled); -1 = all rows (default)")
    ap.add_argument("--no-compute-metrics", action="store_true",
                    help="skip the compute_metrics(FRDist) timing (the engine alone is timed)")
    ap.add_argument("--sample", type=int, default=100,
                    help="(speaker, generation) items checked against tslearn directly")
    ap.add_argument("--name", default="frdist_cpu2", help="output file stem")
    ap.add_argument("--results-dir", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)

    from reactbench.atomic import atomic_path  # imported after argparse: --help stays fast
    from reactbench.metrics import compute_metrics  # idem
    from reactbench.metrics.dtw_engine import min_grouped_dtw  # idem

    def log(msg):
        print(msg, flush=True)

    procs = args.processes or len(os.sched_getaffinity(0))
    hw = hardware()
    log(f"machine: {hw.get('lscpu_model_name')}, {hw['cpus_usable']} usable cores, "
        f"SIMD {hw.get('simd')}; {uptime()}")
    data = metrics_speed.synthetic_input(args.n, args.alpha, args.frames, args.seed)
    n = args.n
    k = n if args.official_rows < 0 else min(
        n, -(-args.official_rows // metrics_speed.BLOCK) * metrics_speed.BLOCK)
    mean_nb = float(data["neighbours"].sum(axis=1).mean())
    log(f"input: pred {data['pred'].shape}, {mean_nb:.2f} neighbours per row")

    small = metrics_speed.sub_problem(data, metrics_speed.BLOCK)
    for abandon in (True, False):  # compile (or load the numba cache) outside the timings
        min_grouped_dtw(small["pred"][:2], small["listener_gt"], small["neighbours"][:2],
                        n_jobs=procs, abandon=abandon)
    compute_metrics(small["pred"], small["listener_gt"], None, small["neighbours"],
                    metrics=["FRDist"], n_jobs=procs)
    official_loop.warm_up()

    steps: dict = {}
    log(f"official loop, FRDist, first {k} of {n} rows, {procs} processes")
    sub = metrics_speed.sub_problem(data, k) if k < n else data
    off_value, steps["official"] = timed(
        lambda: official_loop.compute_frd_mp(sub["pred"], sub["listener_gt"], sub["neighbours"],
                                             procs), log, "official loop")
    log("reactbench, full size")
    scores = None
    if not args.no_compute_metrics:
        scores, steps["compute_metrics"] = timed(
            lambda: compute_metrics(data["pred"], data["listener_gt"], None, data["neighbours"],
                                    metrics=["FRDist"], n_jobs=procs), log,
            "compute_metrics(FRDist), pruned")
    pruned, steps["engine_pruned"] = timed(
        lambda: min_grouped_dtw(data["pred"], data["listener_gt"], data["neighbours"],
                                n_jobs=procs), log, "min_grouped_dtw, pruned")
    ku = n if args.unpruned_rows < 0 else min(
        n, -(-args.unpruned_rows // metrics_speed.BLOCK) * metrics_speed.BLOCK)
    usub = metrics_speed.sub_problem(data, ku) if ku < n else data
    full, steps["engine_unpruned"] = timed(
        lambda: min_grouped_dtw(usub["pred"], usub["listener_gt"], usub["neighbours"],
                                n_jobs=procs, abandon=False), log,
        f"min_grouped_dtw, unpruned ({ku} rows)")

    scale = n / k
    off_full = steps["official"]["wall_s"] * scale
    off_cpu = steps["official"]["cpu_children_s"] * scale
    basis = "measured" if k == n else f"extrapolated x{scale:.2f} from {k} rows"
    rows = {}
    for key, label, sc in (("compute_metrics", "reactbench compute_metrics(FRDist)", 1.0),
                           ("engine_pruned", "engine, pruned", 1.0),
                           ("engine_unpruned", "engine, unpruned", n / ku)):
        if key not in steps:
            continue
        st = steps[key]
        wall, cpu = st["wall_s"] * sc, st["cpu_self_s"] * sc
        rows[label] = {"wall_s": wall, "cpu_s": cpu,
                       "basis": "measured" if sc == 1.0 else f"extrapolated x{sc:.2f} "
                       f"from {ku} rows", "speedup_wall": off_full / wall,
                       "speedup_cpu": off_cpu / max(cpu, 1e-9)}
    engine_value_k = official_reduction(pruned[:k])
    values = {
        "engine_pruned_vs_unpruned_rows": ku,
        "engine_pruned_vs_unpruned_max_abs_diff": float(np.max(np.abs(pruned[:ku] - full))),
        "engine_pruned_vs_unpruned_identical": bool(np.array_equal(pruned[:ku], full)),
        "official_FRDist_rows_k": off_value,
        "engine_FRDist_rows_k_official_reduction": engine_value_k,
        "official_vs_engine_abs_diff": abs(off_value - engine_value_k),
    }
    if scores is not None:
        values["compute_metrics_FRDist"] = float(scores["FRDist"])
        values["compute_metrics_vs_engine_abs_diff"] = abs(
            float(scores["FRDist"]) - float(pruned.sum(axis=1).mean()))
    if args.sample:
        values["tslearn_sample"] = tslearn_sample(data, pruned, args.sample, args.seed + 1)
    cmd = "python " + " ".join([str(Path(sys.argv[0]))] + (sys.argv[1:] if argv is None
                                                           else list(argv)))
    rep = {"name": args.name, "command": cmd, "n": n, "alpha": args.alpha,
           "frames": args.frames, "seed": args.seed, "mean_neighbours": mean_nb,
           "processes": procs, "official_rows": k, "official_basis": basis,
           "official": {"wall_s_rows_k": steps["official"]["wall_s"],
                        "cpu_s_rows_k": steps["official"]["cpu_children_s"],
                        "wall_s_full": off_full, "cpu_s_full": off_cpu},
           "table": rows, "values": values, "steps": steps, "hardware": hw}

    log("")
    log(f"FRDist, N = {n}, alpha = {args.alpha}, T = {args.frames}, {mean_nb:.2f} neighbours; "
        f"{hw.get('lscpu_model_name')}, {procs} processes/threads")
    log(f"official loop: {off_full:.1f} s wall, {off_cpu:.1f} s CPU ({basis})")
    log(f"| {'run':36s} | wall s | CPU s | basis | speed-up (wall) | speed-up (CPU) |")
    log(f"|{'-' * 38}|-------:|------:|---|----------------:|---------------:|")
    for label, r in rows.items():
        log(f"| {label:36s} | {r['wall_s']:6.1f} | {r['cpu_s']:5.1f} | {r['basis']} | "
            f"{r['speedup_wall']:14.1f}x | {r['speedup_cpu']:13.1f}x |")
    log("values: " + json.dumps(values))
    path = Path(args.results_dir) / f"{args.name}.json"
    with atomic_path(path, what="result file") as tmp:
        tmp.write_text(json.dumps(rep, indent=2, default=float) + "\n")
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
