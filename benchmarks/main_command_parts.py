"""Where the README main command spends its time outside ReactDiff, phase by phase.

Runs ``reactbench run --model baselines --split test`` as a new user's first run would: a fresh
process with an empty ``REACTBENCH_CACHE`` and an empty ``NUMBA_CACHE_DIR`` (nothing compiled,
nothing cached; the installed packages stay as they are). For each source tree (``--before
COMMIT``: that commit, extracted with ``git archive``; then the working tree) it times:

* ``generate``: the embedded synthetic dataset written into the empty cache;
* ``first_clip``: what one loader worker pays for its first clip of audio features in a new
  process (imports, and any compilation the feature code triggers);
* ``load_test_split_with_audio``: the test split with its audio features (the main command
  loads them for ReactDiff) in a new process with empty caches;
* then (unless ``--no-run``) the run command itself, from its result files: ``load`` (the
  test split without audio, all the baselines need, into the empty split cache), per
  baseline ``fit`` + ``generate`` (generation) and ``score`` (the seven metrics, numba
  compilation included for the first model), and the harness time around them;
* the bit-identity of what the models see: the generated dataset files (the content hash of
  each split), the loaded test split's arrays and every printed metric value of both trees are
  compared (``identical``).

Both trees are extracted with ``git archive`` (committed code only): ``--after`` (default HEAD)
and, with ``--before REV``, the same tree with the paths given by ``--paths`` taken from REV
(every path when ``--paths`` is omitted), so that one set of changes is measured on its own.
The trees run one after the other on the same machine; the load average before and after each
is recorded, since other processes slow every phase down.

    python benchmarks/main_command_parts.py --before REV --paths reactbench/data/audio.py ...
    python benchmarks/main_command_parts.py                     # HEAD only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
COMMAND = ["run", "--model", "baselines", "--split", "test", "--no-progress"]

# Runs inside the child process (PYTHONPATH = the source tree); prints one JSON line.
CHILD = r'''
import glob, hashlib, json, os, subprocess, sys, time
from pathlib import Path
out = Path(sys.argv[1]); first_clip_code, load_code = sys.argv[2], sys.argv[3]
with_run = sys.argv[4] == "1"
t0 = time.perf_counter()
from reactbench.data import resolve_data
t_import = time.perf_counter() - t0
t0 = time.perf_counter()
root = resolve_data(None, progress=False)
t_gen = time.perf_counter() - t0
wav = sorted(glob.glob(str(root / "test" / "Audio_files" / "**" / "*.wav"), recursive=True))[0]
t0 = time.perf_counter()
subprocess.run([sys.executable, "-c", first_clip_code, wav], check=True,
               env={**os.environ, "NUMBA_CACHE_DIR": str(out / "numba-first-clip")})
t_first = time.perf_counter() - t0
t0 = time.perf_counter()  # the main command's split load (ReactDiff reads audio) in a new
subprocess.run([sys.executable, "-c", load_code, str(root)], check=True,  # process, empty caches
               env={**os.environ, "NUMBA_CACHE_DIR": str(out / "numba-audio-load"),
                    "REACTBENCH_CACHE": str(out / "cache-audio-load")})
t_audio_load = time.perf_counter() - t0
rc, t_run = 0, 0.0
if with_run:
    from reactbench.cli import main
    t0 = time.perf_counter()
    rc = main(COMMAND + ["--out", str(out / "runs")])
    t_run = time.perf_counter() - t0
from reactbench.data import dataset_identity, load_split
content = [dataset_identity(root, split)["content_hash"] for split in ("train", "val", "test")]
d = load_split(root, "test")
h = hashlib.sha256()
for a in (d.speaker_emotion, d.listener_emotion, d.speaker_3dmm, d.listener_3dmm,
          *(d.speaker_audio[k] for k in sorted(d.speaker_audio)),
          *(d.listener_audio[k] for k in sorted(d.listener_audio))):
    h.update(str((a.dtype, a.shape)).encode()); h.update(a.tobytes())
print("RESULT " + json.dumps({"rc": rc, "import_s": t_import, "generate_s": t_gen,
      "first_clip_s": t_first, "audio_load_s": t_audio_load, "run_s": t_run,
      "split_sha256": h.hexdigest(), "content_hashes": content,
      "source": str(Path(sys.modules["reactbench"].__file__).parent)}))
'''.replace("COMMAND", repr(COMMAND))

AUDIO_LOAD = (
    "import sys; from reactbench.data import load_split; "
    "load_split(sys.argv[1], 'test', audio=True, neighbours=True)"
)

FIRST_CLIP = (
    "import sys, time; t = time.perf_counter(); "
    "from pathlib import Path; from reactbench.data.audio import cached_wav_features; "
    "cached_wav_features(Path(sys.argv[1]), cache=False); "
    "print('first clip', round(time.perf_counter() - t, 2), 's', file=sys.stderr)"
)


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def hardware() -> dict:
    """CPU model, usable cores, memory and platform of this machine."""
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpus_usable": len(os.sched_getaffinity(0))}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu_model"] = next(ln.split(":", 1)[1].strip() for ln in f
                                     if ln.startswith("model name"))
        with open("/proc/meminfo") as f:
            info["mem_total_kb"] = int(next(ln.split()[1] for ln in f
                                            if ln.startswith("MemTotal")))
    except (OSError, StopIteration):
        info["cpu_model"] = platform.processor()
    return info


def extract(rev: str, dest: Path, old: str | None = None, paths: list[str] | None = None) -> Path:
    """``git archive`` of ``rev`` into ``dest`` (with ``old``: ``paths`` taken from that
    revision instead, or all of it when ``paths`` is empty), laid out as the editable install
    maps it (``reactbench.baselines`` and ``reactbench.reactdiff`` inside the package)."""
    dest.mkdir(parents=True)
    layers = [(rev, [])]
    if old:
        layers = [(rev, []), (old, paths)] if paths else [(old, [])]
    for r, sub in layers:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", r, *sub], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    (dest / "reactbench" / "baselines").symlink_to(dest / "baselines")
    (dest / "reactbench" / "reactdiff").symlink_to(dest / "models" / "reactdiff")
    return dest


def run_tree(label: str, src: Path, work: Path, with_run: bool = True) -> dict:
    """The phases of one source tree in a fresh child process with empty caches."""
    work.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(src), "REACTBENCH_CACHE": str(work / "cache"),
           "NUMBA_CACHE_DIR": str(work / "numba")}
    before = loadavg()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(work), FIRST_CLIP, AUDIO_LOAD,
                           "1" if with_run else "0"], env=env,
                          cwd=work, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{label}: the run failed (exit status {proc.returncode})")
    res = json.loads(next(ln for ln in proc.stdout.splitlines()
                          if ln.startswith("RESULT "))[len("RESULT "):])
    models = {}
    for path in sorted((work / "runs").glob("*.json")):
        rec = json.loads(path.read_text())
        t = rec["timings"]
        models[rec["model"]["name"]] = {
            "fit_s": t["fit"], "generate_s": t["generate"], "score_s": t["score"],
            "total_s": t["total"], "load_s": t["load"], "metrics_s": t.get("metrics", {}),
            "values": {m: e["value"] for m, e in rec["metrics"].items()},
        }
    phases = {
        "generate_dataset_s": res["generate_s"],
        "first_clip_new_process_s": res["first_clip_s"],
        "load_test_split_with_audio_new_process_s": res["audio_load_s"],
    }
    if models:
        per_model = sum(m["total_s"] - m["load_s"] for m in models.values())
        fit_gen = sum(m["fit_s"] + m["generate_s"] for m in models.values())
        scoring = sum(m["score_s"] for m in models.values())
        phases.update({
            "load_test_split_no_audio_s": next(iter(models.values()))["load_s"],
            "baselines_fit_generate_s": fit_gen,
            "scoring_s": scoring,
            "scoring_first_model_s": max(m["score_s"] for m in models.values()),
            "harness_around_models_s": per_model - fit_gen - scoring,
            "run_command_s": res["run_s"],
        })
    phases["child_process_wall_s"] = wall
    return {"label": label, "source": res["source"], "loadavg_before": before,
            "loadavg_after": loadavg(), "phases": {k: round(v, 2) for k, v in phases.items()},
            "split_sha256": res["split_sha256"], "dataset_content_hashes": res["content_hashes"],
            "models": models, "stderr_tail":
            proc.stderr.splitlines()[-3:]}


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--after", default="HEAD", help="revision of the new code (default HEAD)")
    ap.add_argument("--before", help="revision of the old code (omit: the new code only)")
    ap.add_argument("--paths", nargs="*", default=[],
                    help="with --before: only these paths come from it (default: all)")
    ap.add_argument("--no-run", action="store_true",
                    help="only the data phases (dataset, first clip, split load with audio)")
    ap.add_argument("--name", default="main_command_parts_cpu2",
                    help="result file name under benchmarks/results/ (without .json)")
    args = ap.parse_args()
    after = git("rev-parse", args.after)
    before = git("rev-parse", args.before) if args.before else None
    runs = []
    with tempfile.TemporaryDirectory(prefix="rb-main-parts-") as tmp:
        tmp = Path(tmp)
        if before:
            old = extract(after, tmp / "old-src", before, args.paths)
            runs.append(run_tree(f"before ({before[:10]} paths)" if args.paths
                                 else f"before ({before[:10]})", old, tmp / "old",
                                 not args.no_run))
        new = extract(after, tmp / "new-src")
        runs.append(run_tree(f"after ({after[:10]})", new, tmp / "new", not args.no_run))
    names = list(runs[0]["phases"])
    print(f"{'phase':30s}" + "".join(f"{r['label']:>28s}" for r in runs))
    for k in names:
        print(f"{k:30s}" + "".join(f"{r['phases'][k]:>28.1f}" for r in runs))
    print(f"{'load average before / after':30s}" + "".join(
        f"{str(r['loadavg_before'][0]) + ' / ' + str(r['loadavg_after'][0]):>28s}" for r in runs))
    identical = None
    if len(runs) == 2:
        a, b = runs
        identical = {
            "split_arrays": a["split_sha256"] == b["split_sha256"],
            "dataset_files": a["dataset_content_hashes"] == b["dataset_content_hashes"],
            "metric_values": {m: a["models"][m]["values"] == b["models"].get(m, {}).get("values")
                              for m in a["models"]},
        }
        print("identical:", json.dumps(identical))
    record = {
        "benchmark": "main_command_parts",
        "command": ("(data phases only) " if args.no_run else "") + "reactbench "
                   + " ".join(COMMAND) + " (fresh process, empty REACTBENCH_CACHE and "
                   "NUMBA_CACHE_DIR)",
        "invocation": "python " + " ".join([f"benchmarks/{Path(__file__).name}", *sys.argv[1:]]),
        "hardware": hardware(),
        "after": after,
        "before": before,
        "before_paths": args.paths if before else None,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "runs": runs,
        "identical": identical,
        "note": "runs one after the other on a shared machine: compare phases within this file "
                "only, with the load averages recorded beside them",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{args.name}.json"
    tmp_out = out.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp_out, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
