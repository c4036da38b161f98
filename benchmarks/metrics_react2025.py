"""Speed benchmark: every metric of the ``react2025`` protocol on a MARS-sized synthetic test set,
reactbench against a plain re-creation of the official REACT2025/2026 metric loops.

The set: N = 300 clips, lengths log-uniform in [58, 3000] frames, alpha = 10 generations,
K = 10 targets per clip (drawn with duplicates from 4 clips, target 0 the paired one), binary
AUs, valence/arousal in [-1, 1], expression probabilities. In the same process and on the same
cores:

* reactbench's ``compute_metrics(..., protocol="react2025")``, all six metrics (MAE included)
  on the FULL set;
* the official loops (``benchmarks/official_loop_react2025.py``, the re-creation the reference
  tests use too) in a pool of ``--processes`` workers, one sample per task as the official code
  does, on a SUBSET of ``--official-clips`` clips spread over the length range; their full-set
  time is EXTRAPOLATED (FRDist by the sum of T_k^2, the other metrics by the sum of T_k) and
  labelled so. reactbench scores the subset too, for a value comparison.

Prints a table and writes ``benchmarks/results/<name>.json``.

    python benchmarks/metrics_react2025.py                # 2-core dev box, about 5-8 minutes
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import official_loop_react2025 as ref  # noqa: E402  (benchmark-local module)
from official_loop_react2025 import sequence  # noqa: E402

from reactbench.metrics import compute_metrics  # noqa: E402

METRICS = ["FRCorr", "FRDist", "FRSyn", "FRDiv", "FRVar", "MAE"]
QUADRATIC = {"FRDist"}  # cost ~ T_k^2; the others ~ T_k


def make_set(n: int, alpha: int, k: int, lo: int, hi: int, seed: int):
    """(preds, targets, speakers, lengths) of the synthetic MARS-sized test set."""
    rng = np.random.default_rng(seed)
    lengths = np.exp(rng.uniform(np.log(lo), np.log(hi), n)).round().astype(int)
    preds, targets, speakers = [], [], []
    for t in lengths:
        speakers.append(sequence(rng, int(t)))
        pool = [sequence(rng, int(t)) for _ in range(4)]
        targets.append(np.stack([pool[0]] + [pool[i] for i in rng.integers(0, 4, k - 1)]))
        preds.append(np.stack([sequence(rng, int(t)) for _ in range(alpha)]))
    return preds, targets, speakers, lengths


def _one(args):
    """The official per-sample work of every metric for one sample (timed per metric)."""
    pred, target, speaker = args
    out, secs = {}, {}
    for m, fn in (("FRCorr", lambda: ref.fr_corr([pred], [target])),
                  ("FRDist", lambda: ref.fr_dist([pred], [target])),
                  ("FRSyn", lambda: ref.fr_syn([pred], [speaker])[0]),
                  ("FRDiv", lambda: ref.fr_div([pred])),
                  ("FRVar", lambda: ref.fr_var([pred])),
                  ("MAE", lambda: ref.mae([pred], [target]))):
        t0 = time.process_time()
        out[m] = fn()
        secs[m] = time.process_time() - t0
    return out, secs


def _warm() -> None:
    """Pool initializer: compile and load what the official functions use, before timing."""
    rng = np.random.default_rng(0)
    x = np.stack([sequence(rng, 60) for _ in range(2)])
    _one((x, x, x[0]))


def official(preds, targets, speakers, processes: int) -> tuple[dict, dict, float]:
    """Official values (means of per-sample values), per-metric CPU seconds, wall seconds."""
    t0 = time.perf_counter()
    # spawn: forking after numba's and torch's threads have started can hang the workers
    with mp.get_context("spawn").Pool(processes, initializer=_warm) as pool:
        results = list(pool.imap(_one, zip(preds, targets, speakers)))
    wall = time.perf_counter() - t0
    per = {m: [r[0][m] for r in results] for m in METRICS}
    values = {m: float(np.mean(per[m])) for m in ("FRCorr", "FRDist", "FRVar")}
    # the official reductions over samples: FRSyn a float32 mean of the integer offsets, FRDiv a
    # float32 running sum divided by N, MAE numpy's float32 mean of the per-sample values
    n = np.float32(len(results))
    values["FRSyn"] = float(np.float32(sum(per["FRSyn"])) / n)
    total = np.float32(0.0)
    for v in per["FRDiv"]:
        total = np.float32(total + np.float32(v))
    values["FRDiv"] = float(total / n)
    values["MAE"] = float(np.mean(np.asarray(per["MAE"], dtype=np.float32)))
    cpu = {m: float(sum(r[1][m] for r in results)) for m in METRICS}
    return values, cpu, wall


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--alpha", type=int, default=10)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--min-frames", type=int, default=58)
    ap.add_argument("--max-frames", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--official-clips", type=int, default=12)
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--name", default="metrics_react2025_cpu2")
    ap.add_argument("--results-dir", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()

    preds, targets, speakers, lengths = make_set(args.n, args.alpha, args.k, args.min_frames,
                                                 args.max_frames, args.seed)
    # warm-up (numba compilation or cache load) on two clips, not timed
    compute_metrics(preds[:2], None, speakers[:2], None, targets=targets[:2],
                    protocol="react2025", metrics=METRICS)

    t0 = time.perf_counter()
    full = compute_metrics(preds, None, speakers, None, targets=targets, protocol="react2025",
                           metrics=METRICS)
    rb_wall = time.perf_counter() - t0

    order = np.argsort(lengths, kind="stable")
    sub = order[np.linspace(0, args.n - 1, args.official_clips).round().astype(int)]
    sp, st, ss = ([x[i] for i in sub] for x in (preds, targets, speakers))
    rb_sub = compute_metrics(sp, None, ss, None, targets=st, protocol="react2025",
                             metrics=METRICS)
    off_values, off_cpu, off_wall = official(sp, st, ss, args.processes)

    t1, t2 = float(lengths.sum()), float((lengths.astype(np.float64) ** 2).sum())
    s1 = float(lengths[sub].sum())
    s2 = float((lengths[sub].astype(np.float64) ** 2).sum())
    scale = {m: (t2 / s2 if m in QUADRATIC else t1 / s1) for m in METRICS}
    off_full_wall = {m: off_cpu[m] * scale[m] / args.processes for m in METRICS}
    rows = []
    for m in METRICS:
        rel = abs(rb_sub[m] - off_values[m]) / max(abs(off_values[m]), 1e-300)
        rows.append({"metric": m, "reactbench_s": full.timings[m],
                     "official_extrapolated_s": off_full_wall[m],
                     "speedup": off_full_wall[m] / full.timings[m],
                     "subset_official": off_values[m], "subset_reactbench": rb_sub[m],
                     "subset_rel_diff": rel, "full_value": full[m]})
    total_off = sum(off_full_wall.values())
    total_rb = sum(full.timings[m] for m in METRICS)

    print(f"react2025 metrics, N = {args.n} clips ({args.min_frames}-{args.max_frames} frames, "
          f"log-uniform; sum T = {int(t1)}), alpha = {args.alpha}, K = {args.k}; "
          f"{os.cpu_count()} cores, {cpu_model()}")
    print(f"official loops: {args.official_clips} clips in a pool of {args.processes} "
          f"({off_wall:.1f} s wall), EXTRAPOLATED to the full set (FRDist by sum T^2, others "
          f"by sum T)")
    print(f"{'metric':8s} {'reactbench s':>13s} {'official s (extrap.)':>21s} {'speed-up':>9s} "
          f"{'subset rel. diff':>17s}")
    for r in rows:
        print(f"{r['metric']:8s} {r['reactbench_s']:13.2f} {r['official_extrapolated_s']:21.1f} "
              f"{r['speedup']:8.0f}x {r['subset_rel_diff']:17.1e}")
    print(f"{'total':8s} {total_rb:13.2f} {total_off:21.1f} {total_off / total_rb:8.0f}x "
          f"(reactbench wall {rb_wall:.1f} s)")

    out = {
        "benchmark": "metrics_react2025",
        "command": "python benchmarks/metrics_react2025.py " + " ".join(sys.argv[1:]),
        "hardware": {"cpu": cpu_model(), "cores": os.cpu_count(),
                     "platform": platform.platform(), "python": platform.python_version()},
        "set": {"n": args.n, "alpha": args.alpha, "k": args.k, "min_frames": args.min_frames,
                "max_frames": args.max_frames, "lengths": "log-uniform", "seed": args.seed,
                "sum_frames": int(t1)},
        "official": {"clips": [int(i) for i in sub], "processes": args.processes,
                     "subset_wall_s": off_wall, "extrapolated": True,
                     "extrapolation": "CPU seconds on the subset x (sum T_k^2 full / subset) "
                                      "for FRDist, x (sum T_k full / subset) otherwise, / "
                                      "processes"},
        "reactbench_wall_s": rb_wall,
        "total": {"reactbench_s": total_rb, "official_extrapolated_s": total_off},
        "metrics": rows,
    }
    path = Path(args.results_dir) / f"{args.name}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
