"""How long a fresh machine compiles the metric kernels: the warm-up's groups, one at a time.

For each group of ``reactbench.metrics.warm.GROUPS`` (FRDist's engine; every other metric), a
new process runs ``python -m reactbench.metrics.warm --metrics GROUP`` (a tiny case scored
under every protocol) with an empty numba kernel cache, alone on the machine; its wall time
and its CPU time (user + system, from the exit status of the child) are recorded, ``--repeats``
times per group, alternating the groups. A second run of each group with the cache it just
filled times loading the kernels instead of compiling them. With ``--before REV`` the committed
tree of REV (extracted with ``git archive``, run with ``PYTHONPATH`` pointing at it) is timed
too, alternating with the working tree, side by side. Prints a table and writes
``<results-dir>/<name>.json`` with the machine description.

    python benchmarks/kernel_compile.py                     # 2-core dev box, about 2 minutes
    python benchmarks/kernel_compile.py --before REV        # and REV's kernels beside them
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hardware  # noqa: E402  (benchmark-local module)
from main_command_parts import extract  # noqa: E402  (benchmark-local module)

ROOT = Path(__file__).resolve().parents[1]


def timed_warm(group: tuple[str, ...], cache: Path, tree: Path) -> tuple[float, float]:
    """(wall s, CPU s) of one ``reactbench.metrics.warm`` child of source tree ``tree`` with
    kernel cache ``cache``."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "REACTBENCH_WARMUP": "0",
           "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    before = os.times()
    done = subprocess.run([sys.executable, "-m", "reactbench.metrics.warm", "--metrics", *group],
                          cwd=tree, env=env, capture_output=True, text=True)
    after = os.times()
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{tree}: warm-up of {group} failed:\n{done.stderr}")
    cpu = (after.children_user - before.children_user
           + after.children_system - before.children_system)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--before", help="revision whose kernels are timed beside the working tree's")
    ap.add_argument("--results-dir", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--name", default="kernel_compile_cpu2")
    a = ap.parse_args(argv)
    if a.repeats < 1:
        ap.error("--repeats must be >= 1")

    from reactbench.atomic import atomic_path  # imported after argparse: --help stays fast
    from reactbench.metrics.warm import GROUPS

    with tempfile.TemporaryDirectory(prefix="kernel-compile-") as work:
        trees = {"working tree": ROOT}
        if a.before:
            rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", a.before], check=True,
                                 capture_output=True, text=True).stdout.strip()
            trees = {f"before ({rev[:10]})": extract(rev, Path(work) / "before"), **trees}
        runs = {(label, " ".join(g)): {"compile_wall": [], "compile_cpu": [], "load_wall": [],
                                      "load_cpu": []} for label in trees for g in GROUPS}
        load_before = os.getloadavg()
        for _ in range(a.repeats):
            for label, tree in trees.items():
                for group in GROUPS:
                    r = runs[label, " ".join(group)]
                    cache = Path(tempfile.mkdtemp(prefix="kernels-", dir=work))
                    for kind in ("compile", "load"):  # an empty cache, then the one just filled
                        wall, cpu = timed_warm(group, cache, tree)
                        r[f"{kind}_wall"].append(wall)
                        r[f"{kind}_cpu"].append(cpu)
        load_after = os.getloadavg()

    print(f"{'tree':24s} {'group':44s} {'compile CPU s':>14s} {'compile wall s':>15s} "
          f"{'cached CPU s':>13s}")
    summary = []
    for (label, group), r in runs.items():
        med = {k: statistics.median(v) for k, v in r.items()}
        summary.append({"tree": label, "group": group, **med})
        print(f"{label:24s} {group:44s} {med['compile_cpu']:14.1f} {med['compile_wall']:15.1f} "
              f"{med['load_cpu']:13.1f}")
    totals = {label: sum(s["compile_cpu"] for s in summary if s["tree"] == label)
              for label in trees}
    for label, total in totals.items():
        print(f"{label:24s} {'all groups':44s} {total:14.1f}")
    rep = {"benchmark": "kernel_compile",
           "command": " ".join(["python", "benchmarks/kernel_compile.py",
                                *(sys.argv[1:] if argv is None else argv)]),
           "machine": hardware.host(), "repeats": a.repeats,
           "load_average": {"before": load_before, "after": load_after},
           "median": summary, "total_compile_cpu_s": totals,
           "runs": [{"tree": label, "group": group, **r} for (label, group), r in runs.items()]}
    path = Path(a.results_dir) / f"{a.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, what="result file") as tmp:
        tmp.write_text(json.dumps(rep, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
