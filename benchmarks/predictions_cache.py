"""Size and speed of the predictions cache: the plain form (float32 ``emotion``, what
``save_predictions(..., packed=False)`` writes) vs the packed form the cache writes.

Shapes of the README main command (``reactbench run --model reactdiff,baselines --split test``
on the default synthetic dataset: N = 80 rows, alpha = 10, T = 750, seed 0): the six baselines'
real predictions, generated here as the run generates them, and a ReactDiff-like array (seeded,
smooth latent curves through ReactDiff's output heads: continuous AUs by a sigmoid, valence and
arousal by tanh, expression probabilities by softmax, full float32 mantissas, plus a little
white noise; a real ReactDiff sample compresses alike). 3DMM arrays are cached only with
``--realism-3dmm``; a ReactDiff-like one is measured in an extra row, outside the total.

For every array: bytes on disk, write seconds (atomic write, packing included) and read
seconds (:func:`reactbench.predictions.load_saved`, unpacking included; median of
``--repeats``), and a check that the values read back are bit-identical. Prints a table and
writes ``benchmarks/results/<name>.json`` with the machine and the command.

    python benchmarks/predictions_cache.py                      # name predictions_cache_cpu2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from reactbench.predictions import Predictions, load_saved, save_predictions

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hardware  # noqa: E402  (benchmark-local module)

ALPHA, SEED = 10, 0


# ----------------------------------------------------------------------------- predictions
def baseline_predictions(n_jobs: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """name -> (N, alpha, T, 25) of every built-in baseline on the default test split, and the
    split's speaker ids."""
    from reactbench import registry
    from reactbench.data import load_split
    from reactbench.data.resolve import default_dataset
    from reactbench.harness.generate import generate_offline

    root = default_dataset()
    test = load_split(root, "test", audio=False, n_jobs=n_jobs)
    train = load_split(root, "train", audio=False, n_jobs=n_jobs)
    out = {}
    for name in registry.MODEL_GROUPS["baselines"]:
        model = registry.create_model(name)
        if callable(getattr(model, "fit", None)):
            model.fit(train, seed=SEED, device="cpu")
        out[name] = generate_offline(model, test, alpha=ALPHA, seed=SEED,
                                     keep_face=False).emotion
    return out, list(test.speaker_ids)


def _smooth(rng: np.random.Generator, shape: tuple, rho: float = 0.97) -> np.ndarray:
    """Unit-variance AR(1) curves along axis -2: (..., T, C) float64."""
    e = rng.standard_normal(shape)
    out = np.empty(shape)
    out[..., 0, :] = e[..., 0, :]
    scale = np.sqrt(1 - rho * rho)
    for t in range(1, shape[-2]):
        out[..., t, :] = rho * out[..., t - 1, :] + scale * e[..., t, :]
    return out


def reactdiff_like(n: int, frames: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(emotion (n, alpha, T, 25), 3DMM (n, alpha, T, 58)) float32 shaped like ReactDiff's
    decoder output."""
    rng = np.random.default_rng(seed)
    z = _smooth(rng, (n, ALPHA, frames, 25)) + 0.05 * rng.standard_normal((n, ALPHA, frames, 25))
    emo = np.empty(z.shape, dtype=np.float32)
    emo[..., :15] = 1 / (1 + np.exp(-3 * (z[..., :15] - 1.0)))
    emo[..., 15:17] = np.tanh(0.6 * z[..., 15:17])
    fe = np.exp(z[..., 17:] - z[..., 17:].max(axis=-1, keepdims=True))
    emo[..., 17:] = fe / fe.sum(axis=-1, keepdims=True)
    mix = rng.standard_normal((25, 58)) / 5
    face = (_smooth(rng, (n, ALPHA, frames, 25)) @ mix).astype(np.float32)
    return emo, face


# ----------------------------------------------------------------------------- measuring
def measure(path: Path, preds: Predictions, packed: bool, repeats: int) -> dict:
    """Bytes, write and read seconds of ``preds`` in one form; checks the values read back."""
    meta = {"model": path.stem, "key": "k"}
    t0 = time.perf_counter()
    save_predictions(path, preds, meta, packed=packed)
    write = time.perf_counter() - t0
    reads = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        back, _ = load_saved(path)
        reads.append(time.perf_counter() - t0)
    for got, want in ((back.emotion, preds.emotion), (back.face_3dmm, preds.face_3dmm)):
        if want is not None and not np.array_equal(got.view(np.uint32), want.view(np.uint32)):
            raise AssertionError(f"{path}: values read back differ")
    return {"bytes": path.stat().st_size, "write_s": write, "read_s": statistics.median(reads)}


def machine_info() -> dict:
    return {**hardware.host(), "numpy": np.__version__, "loadavg_start": list(os.getloadavg())}


def _row(name: str, old: dict, new: dict) -> str:
    return (f"| {name} | {old['bytes'] / 1e6:.1f} | {new['bytes'] / 1e6:.1f} | "
            f"{100 * new['bytes'] / old['bytes']:.1f} % | {old['write_s']:.2f} | "
            f"{new['write_s']:.2f} | {old['read_s']:.2f} | {new['read_s']:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="reads per file (median)")
    ap.add_argument("--jobs", type=int, default=1, help="processes loading the dataset")
    ap.add_argument("--name", default="predictions_cache_cpu2")
    ap.add_argument("--results-dir", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args()
    machine = machine_info()
    preds, ids = baseline_predictions(args.jobs)
    n, _, frames, _ = next(iter(preds.values())).shape
    emo, face = reactdiff_like(n, frames)
    cases = {"reactdiff-like": Predictions(emo, speaker_ids=ids)}
    cases.update({k: Predictions(v, speaker_ids=ids) for k, v in preds.items()})
    extra = {"reactdiff-like + 3DMM (--realism-3dmm only)": Predictions(emo, face, ids)}
    work = Path(tempfile.mkdtemp(prefix="predictions-cache-bench-"))
    rows = {}
    try:
        for name, p in {**cases, **extra}.items():
            safe = name.split()[0]
            rows[name] = {"plain": measure(work / f"{safe}-plain.npz", p, False, args.repeats),
                          "packed": measure(work / f"{safe}-packed.npz", p, True,
                                            args.repeats)}
            print(f"{name}: {rows[name]}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = {form: {k: sum(rows[c][form][k] for c in cases) for k in ("bytes", "write_s",
                                                                        "read_s")}
             for form in ("plain", "packed")}
    table = ["| model | plain MB | packed MB | packed/plain | write plain s | write packed s "
             "| read plain s | read packed s |", "|---|---|---|---|---|---|---|---|"]
    table += [_row(name, r["plain"], r["packed"]) for name, r in rows.items() if name in cases]
    table.append(_row("**total (main command)**", total["plain"], total["packed"]))
    table += [_row(name, r["plain"], r["packed"]) for name, r in rows.items()
              if name not in cases]
    print(f"\nN {n}, alpha {ALPHA}, T {frames}; MB = 10^6 bytes; reads include unpacking "
          f"(median of {args.repeats})\n")
    print("\n".join(table))
    machine["loadavg_end"] = list(os.getloadavg())
    report = {"name": args.name, "n": n, "alpha": ALPHA, "frames": frames, "seed": SEED,
              "command": " ".join(["python", *sys.argv]), "machine": machine, "rows": rows,
              "total": total, "ratio": total["packed"]["bytes"] / total["plain"]["bytes"],
              "table": table}
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\npacked/plain bytes: {report['ratio']:.3f}; wrote {out / (args.name + '.json')}")


if __name__ == "__main__":
    main()
