"""Speed benchmark: ReactDiff's offline generation on the CPU, UNet kernels side by side.

Generates the test split of the default synthetic dataset (the README main command's ReactDiff
step: N = 80 speakers, alpha = 10, T = 750, the shipped small checkpoint, seed 0) in one
process, once per configuration, in turn:

* ``torch``: the UNet as plain modules (``--model-arg kernels=torch``);
* ``cpu``: the UNet laid out for the CPU (:mod:`reactbench.reactdiff.cpu_unet`, the default on
  a CPU device).

Each configuration is timed from the first ``generate`` call to the last, in the harness's
batches (``--batch-size`` rows); the model is loaded before the clock starts. The outputs are
compared with the first configuration's (bit-identical or the largest absolute difference of
emotion and 3DMM), and with ``--score`` scored like ``reactbench run`` (official protocol, all
seven metrics) so that the table's values can be compared. The machine may be shared:
``os.getloadavg()`` and ``uptime`` are recorded before and after each configuration, and the
process's CPU time beside the wall time (on a loaded machine the CPU time of a single-threaded
run, ``--threads 1``, is the steadier measure; with several threads it includes their waiting).

    python benchmarks/reactdiff_cpu.py --score                 # all 80 speakers, both kernels
    python benchmarks/reactdiff_cpu.py --rows 8 --kernels torch,cpu,cpu@10
      # the first 8 speakers; ``cpu@10``: the cpu kernels at 10 DDIM steps
    python benchmarks/reactdiff_cpu.py --rows 6 --kernels torch,cpu,torch,cpu   # alternating

Prints a table and writes ``<results-dir>/<name>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from reactbench.reactdiff.plugin import ReactDiff

from reactbench.atomic import atomic_path
from reactbench.data import load_split
from reactbench.data.resolve import default_dataset
from reactbench.harness.generate import batches, speaker_input
from reactbench.harness.scoring import score
from reactbench.predictions import Predictions

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hardware  # noqa: E402  (benchmark-local module)

TABLE = ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRRea", "FRSyn")


def machine_info() -> dict:
    return {**hardware.host(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def load() -> dict:
    """os.getloadavg() and the ``uptime`` line."""
    try:
        line = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    except OSError:
        line = ""
    return {"loadavg": [round(x, 2) for x in os.getloadavg()], "uptime": line.strip()}


def parse_config(spec: str) -> tuple[str, int | None]:
    """``kernels[@steps]`` -> (kernels, DDIM steps or None for the checkpoint's)."""
    kernels, _, steps = spec.partition("@")
    return kernels, int(steps) if steps else None


def generate(spec: str, data, rows: np.ndarray, alpha: int, seed: int,
             batch_size: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """emotion (n, alpha, T, 25), 3DMM (n, alpha, T, 58) of ``rows`` and the timings."""
    kernels, steps = parse_config(spec)
    model = ReactDiff(kernels=kernels, check_data="false",
                      **({"ddim_steps": str(steps)} if steps else {}))
    t0 = time.perf_counter()
    model.fit(data, seed=seed, device="cpu")
    fit_s = time.perf_counter() - t0
    emo, face = [], []
    before = load()
    cpu0, t0 = time.process_time(), time.perf_counter()
    for idx in batches(len(rows), batch_size):
        out = model.generate(speaker_input(data, rows[idx], data.frames), alpha=alpha, seed=seed)
        emo.append(out.emotion)
        face.append(out.face_3dmm)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    return np.concatenate(emo), np.concatenate(face), {
        "generate_s": wall, "process_cpu_s": cpu, "fit_s": fit_s, "load_before": before,
        "load_after": load()}


def difference(a: np.ndarray, b: np.ndarray) -> dict:
    return {"bit_identical": bool(np.array_equal(a, b)),
            "max_abs_diff": float(np.max(np.abs(a.astype(np.float64) - b))) if a.size else 0.0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernels", default="torch,cpu",
                    help="configurations in turn: kernels[@ddim_steps], comma separated "
                         "(the first is the reference of the comparison)")
    ap.add_argument("--rows", type=int, default=0, help="first K test speakers (0: all)")
    ap.add_argument("--alpha", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=32, help="rows per generate call")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--score", action="store_true",
                    help="score every configuration (all 80 speakers only)")
    ap.add_argument("--name", default="reactdiff_generate_cpu2")
    ap.add_argument("--results-dir", default=str(Path(__file__).parent / "results"))
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    data = load_split(default_dataset(), "test", neighbours=a.score)
    rows = np.arange(data.n if a.rows <= 0 else min(a.rows, data.n))
    if a.score and len(rows) != data.n:
        ap.error("--score needs every speaker (leave --rows out)")
    rep = {"name": a.name, "command": " ".join([Path(sys.executable).name, *sys.argv]),
           "machine": machine_info(), "n": int(len(rows)), "alpha": a.alpha,
           "frames": int(data.frames), "seed": a.seed, "batch_size": a.batch_size,
           "checkpoint": "models/reactdiff/checkpoints/small_synthetic.pt", "configs": []}
    print(f"{rep['machine'].get('cpu_model')}: {rep['machine']['cpus_usable']} cores, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads; {load()['uptime']}")
    ref = None
    for spec in a.kernels.split(","):
        emo, face, timing = generate(spec, data, rows, a.alpha, a.seed, a.batch_size)
        entry = {"kernels": spec, **timing}
        if ref is None:
            ref = (spec, emo, face)
        entry["compared_with"] = ref[0]
        entry["emotion"] = difference(ref[1], emo)
        entry["face_3dmm"] = difference(ref[2], face)
        if a.score:
            preds = Predictions(emotion=emo, face_3dmm=face, speaker_ids=list(data.speaker_ids))
            scores = score(preds, data, protocol="official", bootstrap=0, seed=a.seed,
                           n_jobs=-1, device="cpu", realism_3dmm=False, metrics=None,
                           progress=False, log=lambda _: None)
            entry["scores"] = {k: float(v) for k, v in scores.items()}
        rep["configs"].append(entry)
        print(f"{spec:>10}: {entry['generate_s']:8.1f} s wall, {entry['process_cpu_s']:8.1f} s "
              f"CPU; emotion vs {ref[0]}: max |diff| {entry['emotion']['max_abs_diff']:.3g}; "
              f"load {entry['load_after']['loadavg']}", flush=True)
    first = rep["configs"][0]
    print(f"\n| kernels | generate s | speed-up | CPU s | CPU speed-up | max abs diff (emotion) | "
          f"{' | '.join(TABLE) if a.score else 'scores'} |")
    print("|---|---:|---:|---:|---:|---:|" + ("---:|" * len(TABLE) if a.score else "---|"))
    for e in rep["configs"]:
        e["speedup"] = first["generate_s"] / e["generate_s"]
        e["speedup_cpu"] = first["process_cpu_s"] / e["process_cpu_s"]
        sc = (" | ".join(f"{e['scores'].get(m, float('nan')):.4f}" for m in TABLE)
              if a.score else "-")
        print(f"| {e['kernels']} | {e['generate_s']:.1f} | {e['speedup']:.2f} | "
              f"{e['process_cpu_s']:.1f} | {e['speedup_cpu']:.2f} | "
              f"{e['emotion']['max_abs_diff']:.3g} | {sc} |")
    rep["load_end"] = load()
    out = Path(a.results_dir) / f"{a.name}.json"
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(rep, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
