"""Speed benchmark: the official REACT2024 metric loop vs reactbench on a full-size test set.

Builds a seeded synthetic input the size of the official test split (N = 1614 mirrored rows,
alpha = 10, T = 750, about 11 appropriate reactions per row, ~10% dead AU columns, binary AUs,
valence/arousal in [-1, 1], expression probabilities), then in the same process and on the same
cores:

* the official loop (``benchmarks/official_loop.py``) on the first K speaker rows
  (``--official-rows K``; its full-size time is extrapolated: linearly in N, FRDvs quadratically,
  and labelled so); neighbours are drawn within blocks of 32 rows, so the first K rows (K a multiple
  of 32) form a closed sub-problem that reactbench scores too, for an exact value comparison;
* reactbench's ``compute_metrics`` at FULL size: all seven metrics, and FRDist alone;
* with ``--device cuda``: the GPU DTW engine on the full-size FRDist (host-to-device transfers
  and input checks included), and its difference from the CPU engine per (speaker, generation)
  (``benchmarks/metrics_gpu.py`` compares every GPU engine and metric).

Prints a table and writes ``<results-dir>/<name>.json`` and ``.md`` with the machine description.

    python benchmarks/metrics_speed.py --official-rows 64            # 2-core dev box
    python benchmarks/metrics_speed.py --device cuda --name metrics_speed_<gpu>
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hardware  # noqa: E402  (benchmark-local module)
import official_loop  # noqa: E402  (benchmark-local module)

BLOCK = 32  # neighbours are drawn inside blocks of this many consecutive rows
COMPARED = ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRSyn")  # the official computes these
CHEAP = ("FRDiv", "FRVar", "FRDvs")  # the official code is fast enough to time at full size


# ----------------------------------------------------------------------------- synthetic input
def _smooth(rng: np.random.Generator, shape: tuple, rho: float = 0.95) -> np.ndarray:
    """Unit-variance AR(1) noise along axis -2: (..., T, C) float64."""
    from scipy.signal import lfilter

    e = rng.standard_normal(shape)
    return lfilter([np.sqrt(1 - rho * rho)], [1.0, -rho], e, axis=-2)


def _emotion(z: np.ndarray, dead: np.ndarray) -> np.ndarray:
    """Latent (..., T, 25) -> emotion float32: AU binary (dead columns all 0), VA, FE softmax."""
    out = np.empty(z.shape, dtype=np.float32)
    au = z[..., :15] > 0.8
    au &= ~dead[..., None, :]
    out[..., :15] = au
    out[..., 15:17] = np.tanh(0.8 * z[..., 15:17])
    fe = np.exp(1.5 * (z[..., 17:] - z[..., 17:].max(axis=-1, keepdims=True)))
    out[..., 17:] = fe / fe.sum(axis=-1, keepdims=True)
    return out


def synthetic_input(n: int = 1614, alpha: int = 10, t: int = 750, seed: int = 0) -> dict:
    """Full-size REACT2024-like input (numpy, seeded); rows k and k + n/2 are the same clip pair
    with roles swapped. Generations are half correlated with the row's real listener reaction."""
    if n % 2:
        raise ValueError(f"n: expected an even number of mirrored rows, got {n}")
    rng = np.random.default_rng(seed)
    m = n // 2
    z_s = _smooth(rng, (m, t, 25))
    z_l = _smooth(rng, (m, t, 25))
    dead_s = rng.random((m, 15)) < 0.1
    dead_l = rng.random((m, 15)) < 0.1
    speaker = np.concatenate([_emotion(z_s, dead_s), _emotion(z_l, dead_l)])
    listener_gt = np.concatenate([_emotion(z_l, dead_l), _emotion(z_s, dead_s)])
    z_gt = np.concatenate([z_l, z_s])
    del z_s, z_l
    pred = np.empty((n, alpha, t, 25), dtype=np.float32)
    for i in range(alpha):
        z = 0.5 * z_gt + np.sqrt(0.75) * _smooth(rng, (n, t, 25))
        pred[:, i] = _emotion(z, rng.random((n, 15)) < 0.1)
    nb = np.zeros((n, n), dtype=np.float64)
    for k in range(n):
        lo = (k // BLOCK) * BLOCK
        hi = min(n, lo + BLOCK)
        others = np.setdiff1d(np.arange(lo, hi), [k])
        size = min(len(others), int(rng.integers(5, 16)))
        nb[k, rng.choice(others, size=size, replace=False)] = 1
        nb[k, k] = 1
    return {"pred": pred, "listener_gt": listener_gt, "speaker": speaker, "neighbours": nb}


def sub_problem(data: dict, k: int) -> dict:
    """The first k rows (k a multiple of BLOCK, or all rows): a closed problem of its own."""
    return {"pred": data["pred"][:k], "listener_gt": data["listener_gt"][:k],
            "speaker": data["speaker"][:k], "neighbours": data["neighbours"][:k, :k]}


# ----------------------------------------------------------------------------- machine
def machine_info() -> dict:
    info = hardware.host()
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1])
        info["ram_gib"] = round(kb / 2**20, 1)
    except (OSError, StopIteration):
        pass
    versions = {}
    for mod in ("numpy", "scipy", "numba", "tslearn", "torch", "triton"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:
            versions[mod] = None
    info["versions"] = versions
    import torch

    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    info["loadavg_start"] = os.getloadavg()
    return info


# ----------------------------------------------------------------------------- runs
def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run_official(sub: dict, processes: int, log, metrics=COMPARED) -> tuple[dict, dict]:
    official_loop.warm_up()  # JIT compiles (tslearn's numba DTW) before the fork, untimed
    values, times = {}, {}
    for m in metrics:
        values[m], times[m] = _timed(lambda m=m: official_loop.OFFICIAL_METRICS[m](sub, processes))
        log(f"  official {m:7s} {times[m]:9.2f} s  value {values[m]:.6f}")
    return values, times


def run_reactbench(data: dict, n_jobs: int, metrics, device: str = "cpu"):
    from reactbench.metrics import compute_metrics

    return _timed(lambda: compute_metrics(data["pred"], data["listener_gt"], data["speaker"],
                                          data["neighbours"], metrics=metrics, n_jobs=n_jobs,
                                          device=device))


def run_gpu(data: dict, cpu_frdist: np.ndarray | None, repeats: int, sweep: bool, log) -> dict:
    import torch

    from reactbench.metrics import dtw_cuda

    out: dict = {"engine": "triton" if dtw_cuda.triton_available() else "torch"}
    small = sub_problem(data, BLOCK)

    def frdist():
        return dtw_cuda.min_grouped_dtw_cuda(data["pred"], data["listener_gt"],
                                             data["neighbours"], device="cuda")

    default = dict(dtw_cuda.TRITON_CONFIG)
    configs = [default]
    if sweep and out["engine"] == "triton":
        for change in ({"au_bits": False}, {"au_bits": False, "y_dtype": "float32"},
                       {"num_warps": 8}, {"num_warps": 2}, {"nb": 2, "num_warps": 8}):
            configs.append({**default, **change})
    sweep_times = []
    for cfg in configs:
        dtw_cuda.TRITON_CONFIG.update(cfg)
        try:
            _, cold = _timed(lambda: dtw_cuda.min_grouped_dtw_cuda(
                small["pred"], small["listener_gt"], small["neighbours"], device="cuda"))
            res, t = _timed(frdist)
        except Exception as exc:  # one failing launch configuration must not end the run
            log(f"  gpu {cfg}: FAILED {type(exc).__name__}: {exc}")
            sweep_times.append(float("inf"))
            continue
        sweep_times.append(t)
        log(f"  gpu {cfg}: full FRDist {t:.3f} s (small-input warm-up incl. compile {cold:.2f} s)")
    dtw_cuda.TRITON_CONFIG.update(configs[int(np.argmin(sweep_times))])
    runs = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        res, t = _timed(frdist)
        runs.append(t)
    sweep_map = {", ".join(f"{k}={v}" for k, v in c.items()): t
                 for c, t in zip(configs, sweep_times)}
    out.update(config=dict(dtw_cuda.TRITON_CONFIG), sweep_s=sweep_map, runs_s=runs,
               median_s=statistics.median(runs), FRDist=float(res.sum(axis=1).mean()))
    log(f"  gpu FRDist (min_grouped_dtw_cuda, incl. transfers) median {out['median_s']:.3f} s "
        f"over {repeats}: {', '.join(f'{r:.3f}' for r in runs)}")
    if out["engine"] == "triton":  # where the time goes: the kernels alone, inputs on device
        dev = torch.device("cuda")
        xi, yi = (torch.from_numpy(a).to(dev) for a in dtw_cuda._triples(
            data["neighbours"] == 1, data["pred"].shape[1]))
        x = torch.from_numpy(data["pred"].reshape(-1, *data["pred"].shape[2:])).to(dev)
        y = torch.from_numpy(data["listener_gt"]).to(dev)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        dtw_cuda._triples_triton(x, y, xi, yi)
        torch.cuda.synchronize()
        out["kernels_only_s"] = time.perf_counter() - t0
        out["triples"] = int(xi.shape[0])
        log(f"  gpu kernels alone ({out['triples']} triples x 3 groups): "
            f"{out['kernels_only_s']:.3f} s")
        del x, y, xi, yi
    scores, t = run_reactbench(data, 1, ["FRDist"], device="cuda")
    out["compute_metrics_FRDist_s"] = t
    log(f"  gpu compute_metrics(metrics=['FRDist'], device='cuda') {t:.3f} s")
    if cpu_frdist is not None:
        diff = np.abs(res - cpu_frdist)
        out["max_abs_diff_vs_cpu"] = float(diff.max())
        out["max_rel_diff_vs_cpu"] = float((diff / np.maximum(np.abs(cpu_frdist), 1e-300)).max())
        log(f"  gpu vs cpu engine: max abs {out['max_abs_diff_vs_cpu']:.3g}, "
            f"max rel {out['max_rel_diff_vs_cpu']:.3g}")
    dtw_cuda.TRITON_CONFIG.update(default)
    return out


# ----------------------------------------------------------------------------- report
def _fmt(x, spec=".2f"):
    return "-" if x is None else format(x, spec)


def markdown(rep: dict) -> str:
    mi = rep["machine"]
    lines = [
        f"# Metrics speed: official loop vs reactbench ({rep['name']})", "",
        f"Input: N = {rep['n']}, alpha = {rep['alpha']}, T = {rep['frames']}, "
        f"{rep['mean_neighbours']:.2f} appropriate reactions per row (seed {rep['seed']}).",
        f"Machine: {mi.get('cpu_model')}, {mi['cpus_usable']} usable cores, "
        f"{mi.get('ram_gib')} GiB RAM" + (f", GPU {mi['gpu']}" if mi.get("gpu") else "") + ".",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in mi["versions"].items() if v) + ".",
        f"Official loop: {rep['official_processes']} processes on the first "
        f"{rep['official_rows']} rows (values compared there); FRCorr, FRDist and FRSyn "
        f"full-size times extrapolated linearly in N, FRDiv, FRVar and FRDvs timed at full size; "
        f"reactbench: n_jobs = {rep['n_jobs']}, full size, same run, same cores. "
        f"Load average at start / end: {mi['loadavg_start']} / {rep.get('loadavg_end')}.", "",
        "| metric | official, full size (s) | basis | reactbench, full size (s) | speed-up | "
        "max abs diff (K rows) | max rel diff (K rows) |",
        "|---|---|---|---|---|---|---|",
    ]
    for m, row in rep["table"].items():
        lines.append(f"| {m} | {_fmt(row['official_s'])} | {row.get('basis') or '-'} | "
                     f"{_fmt(row['reactbench_s'])} | "
                     f"{_fmt(row['speedup'], '.1f')} | {_fmt(row['abs_diff'], '.2e')} | "
                     f"{_fmt(row['rel_diff'], '.2e')} |")
    rb = rep.get("reactbench")
    if rb:
        lines += ["", "reactbench times inside the all-seven run: " + ", ".join(
            f"{m} {t:.2f} s" for m, t in rb["per_metric_s"].items())
            + f"; FRDist alone (table) {rb['FRDist_alone_s']:.2f} s."]
    g = rep.get("gpu")
    if g:
        lines += ["", f"GPU ({mi.get('gpu')}, engine {g['engine']}, config {g['config']}): "
                  f"full-size FRDist via `min_grouped_dtw_cuda` incl. transfers, median "
                  f"{g['median_s']:.3f} s over {len(g['runs_s'])} runs "
                  f"({', '.join(f'{r:.3f}' for r in g['runs_s'])}); "
                  f"`compute_metrics(metrics=['FRDist'], device='cuda')` "
                  f"{g['compute_metrics_FRDist_s']:.3f} s. Config sweep: "
                  + ", ".join(f"{k} {v:.3f} s" for k, v in g["sweep_s"].items()) + "."]
        if "max_abs_diff_vs_cpu" in g:
            lines.append(f"GPU vs CPU engine per (speaker, generation): max abs diff "
                         f"{g['max_abs_diff_vs_cpu']:.3g}, max rel diff "
                         f"{g['max_rel_diff_vs_cpu']:.3g}.")
    lines += ["", "Official times marked extrapolated were measured on the first K rows only."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1614, help="mirrored speaker rows (default 1614)")
    ap.add_argument("--alpha", type=int, default=10)
    ap.add_argument("--frames", type=int, default=750)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--official-rows", type=int, default=64,
                    help="K: run the official loop on the first K rows (rounded up to a multiple "
                    f"of {BLOCK}; -1 = all, 0 = skip)")
    ap.add_argument("--processes", type=int, default=None,
                    help="official Pool size and reactbench n_jobs (default: usable cores)")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda to add the GPU engine")
    ap.add_argument("--gpu-repeats", type=int, default=3)
    ap.add_argument("--gpu-sweep", action="store_true", help="time several Triton launch configs")
    ap.add_argument("--gpu-only", action="store_true",
                    help="skip every CPU timing (a quick GPU check; no CPU/GPU value comparison)")
    ap.add_argument("--name", default=None, help="output file stem (default metrics_speed_<host>)")
    ap.add_argument("--results-dir", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)

    def log(msg):
        print(msg, flush=True)

    procs = args.processes or len(os.sched_getaffinity(0))
    name = args.name or f"metrics_speed_{platform.node().split('.')[0]}"
    machine = machine_info()
    log(f"machine: {machine.get('cpu_model')}, {machine['cpus_usable']} cores, "
        f"{machine.get('ram_gib')} GiB, gpu {machine.get('gpu')}")
    data, t_build = _timed(lambda: synthetic_input(args.n, args.alpha, args.frames, args.seed))
    n = args.n
    mean_nb = float(data["neighbours"].sum(axis=1).mean())
    log(f"input built in {t_build:.1f} s: pred {data['pred'].shape}, {mean_nb:.2f} neighbours/row")

    k = 0 if args.gpu_only else args.official_rows
    k = n if k < 0 else min(n, -(-k // BLOCK) * BLOCK)
    rep: dict = {"name": name, "n": n, "alpha": args.alpha, "frames": args.frames,
                 "seed": args.seed, "mean_neighbours": mean_nb, "official_rows": k,
                 "official_processes": procs, "n_jobs": procs, "machine": machine,
                 "official_basis": "measured" if k == n else
                 "FRCorr/FRDist/FRSyn linear in N from K rows; FRDiv/FRVar/FRDvs measured"}
    off_vals, off_times, rb_k = {}, {}, None
    if k:
        sub = sub_problem(data, k)
        log(f"official loop on the first {k} rows ({procs} processes)")
        off_vals, off_times = run_official(sub, procs, log)
        full_times = dict(off_times)
        if k < n:
            log("official FRDiv / FRVar / FRDvs at full size")
            full_times.update(run_official(data, procs, log, CHEAP)[1])
        log(f"reactbench on the same {k} rows")
        rb_k, t_k = run_reactbench(sub, procs, list(COMPARED))
        rep["reactbench_k_rows_s"] = t_k

    if args.gpu_only:
        rep["gpu"] = run_gpu(data, None, args.gpu_repeats, args.gpu_sweep, log)
        print(json.dumps(rep["gpu"], indent=1))
        return 0
    log("reactbench, full size, all seven metrics")
    (scores, t_all) = run_reactbench(data, procs, None)
    log(f"  all seven: {t_all:.2f} s "
        + " ".join(f"{m} {v:.2f}" for m, v in scores.timings.items()))
    log("reactbench, full size, FRDist alone")
    (scores_d, t_dist) = run_reactbench(data, procs, ["FRDist"])
    log(f"  FRDist alone: {t_dist:.2f} s (value {scores_d['FRDist']:.6f})")
    rep["reactbench"] = {"all_seven_s": t_all, "per_metric_s": dict(scores.timings),
                         "FRDist_alone_s": t_dist, "values": dict(scores),
                         "protocol": scores.protocol}

    table = {}
    scale = n / k if k else None
    for m in COMPARED:
        off_full = basis = None
        if m in off_times:
            measured = k == n or m in CHEAP
            off_full = full_times[m] if measured else off_times[m] * scale
            basis = "measured" if measured else f"extrapolated x{scale:.2f}"
        rb = t_dist if m == "FRDist" else scores.timings.get(m)
        abs_d = rel_d = None
        if rb_k is not None:
            abs_d = abs(float(rb_k[m]) - off_vals[m])
            rel_d = abs_d / max(abs(off_vals[m]), 1e-300)
        table[m] = {"official_s": off_full, "basis": basis, "official_k_rows_s": off_times.get(m),
                    "reactbench_s": rb, "speedup": off_full / rb if off_full and rb else None,
                    "official_value_k": off_vals.get(m),
                    "reactbench_value_k": None if rb_k is None else float(rb_k[m]),
                    "abs_diff": abs_d, "rel_diff": rel_d}
    off_total = sum(r["official_s"] for r in table.values()) if off_times else None
    table["FRRea"] = {"official_s": None, "reactbench_s": scores.timings.get("FRRea"),
                      "speedup": None, "abs_diff": None, "rel_diff": None}
    table["all (reported metrics)"] = {
        "official_s": off_total, "basis": "sum" if off_times else None, "reactbench_s": t_all,
        "speedup": off_total / t_all if off_total else None, "abs_diff": None, "rel_diff": None}
    rep["table"] = table

    if args.device.startswith("cuda"):
        from reactbench.metrics.dtw_engine import min_grouped_dtw

        log("GPU engine, full-size FRDist")
        cpu_arr, t_cpu = _timed(lambda: min_grouped_dtw(data["pred"], data["listener_gt"],
                                                        data["neighbours"], n_jobs=procs))
        log(f"  cpu engine (reference for the comparison) {t_cpu:.2f} s")
        rep["gpu"] = run_gpu(data, cpu_arr, args.gpu_repeats, args.gpu_sweep, log)
        rep["gpu"]["cpu_engine_s"] = t_cpu
    rep["loadavg_end"] = os.getloadavg()

    md = markdown(rep)
    print("\n" + md)
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(rep, indent=2, default=float) + "\n")
    (out / f"{name}.md").write_text(md)
    log(f"wrote {out / (name + '.json')} and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
