"""Choose the shipped ReactDiff checkpoint's sampler from its val sweep and store it in it.

Reads the offline val results of ``sampler/`` (``sweep_sampler.sh``: ``reactbench run --model
reactdiff --split val --metrics FRCorr,FRDist,FRDiv --model-arg solver=S --model-arg
timesteps=...``, one file per candidate), picks one with
``reactbench.reactdiff.calibrate.choose_sampler`` among the candidates of at most ``BUDGET``
network evaluations per window, and writes it into the checkpoint's ``sampling`` entry. The test
split is never read. The sweep must have been made on this checkpoint file (its sha256 prefix,
as result files record it). Writing leaves the weights as they are but changes the file's
sha256, so the entry records the sweep's (``sampler_sweep``); run again, the script checks that
the stored sampler is still the sweep's choice.

    python leaderboards/synthetic/choose_sampler.py            # prints the choice only
    python leaderboards/synthetic/choose_sampler.py --write    # and stores it
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from reactbench.reactdiff.calibrate import choose_sampler, sampler_label, write_sampler
from reactbench.reactdiff.checkpoint import SHIPPED, read_metadata

HERE = Path(__file__).resolve().parent
# network evaluations per window: the README's main job samples 80 speakers x 10 reactions x 15
# windows, 0.25-0.3 s per 256 window evaluations on two CPU cores, so each step costs it 12-14 s
BUDGET = 5


def sweep_rows(folder: Path, shas: tuple[str, ...]) -> list[dict]:
    """{ddim_steps, timesteps, solver, FRCorr, FRDist, FRDiv, checkpoint_sha256} of every
    offline val result in ``folder`` made on a checkpoint whose sha256 starts like one of
    ``shas``; ValueError naming the file otherwise."""
    rows = []
    for path in sorted(folder.glob("reactdiff_offline_val_*.json")):
        doc = json.loads(path.read_text())
        params = doc["model"]["params"]
        if doc["split"] != "val" or doc["task"] != "offline":
            raise ValueError(f"{path}: expected an offline val result, got {doc['task']} "
                             f"{doc['split']}")
        made_on = params["checkpoint_sha256"]
        if not any(sha.startswith(made_on) for sha in shas):
            raise ValueError(f"{path}: made on checkpoint {made_on}, not on this file "
                             f"({shas[0][:16]}); sweep it again")
        rows.append({"ddim_steps": int(params["ddim_steps"]),
                     "timesteps": params.get("timesteps"), "solver": params.get("solver", "ddim"),
                     "checkpoint_sha256": made_on,
                     **{m: float(doc["metrics"][m]["value"]) for m in ("FRCorr", "FRDist",
                                                                       "FRDiv")}})
    if not rows:
        raise ValueError(f"{folder}: no reactdiff_offline_val_*.json results")
    return sorted(rows, key=lambda r: (r["solver"], -r["ddim_steps"], sampler_label(r)))


def stored_label(sampling: dict) -> str | None:
    if "solver" not in sampling:
        return None
    return sampler_label({"solver": sampling["solver"], "ddim_steps": sampling["ddim_steps"],
                          "timesteps": sampling.get("timesteps")})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sweep", type=Path, default=HERE / "sampler")
    ap.add_argument("--checkpoint", type=Path, default=SHIPPED)
    ap.add_argument("--write", action="store_true", help="store the choice in the checkpoint")
    a = ap.parse_args(argv)
    sha = hashlib.sha256(a.checkpoint.read_bytes()).hexdigest()
    stored = (read_metadata(a.checkpoint) or {}).get("sampling") or {}
    try:
        rows = sweep_rows(a.sweep, (sha, *([stored["sampler_sweep"]]
                                           if "sampler_sweep" in stored else [])))
        best, how = choose_sampler(rows, BUDGET)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for r in rows:
        over = "" if r["ddim_steps"] <= BUDGET else "  (over the budget)"
        print(f"  {sampler_label(r):<22} FRCorr {r['FRCorr']:.3f}, FRDist {r['FRDist']:.2f}, "
              f"FRDiv {r['FRDiv']:.4f}" + ("  <- chosen" if r is best else over))
    if a.write:
        write_sampler(a.checkpoint, best["ddim_steps"], best["timesteps"], best["solver"], how,
                      sampler_sweep=best["checkpoint_sha256"])
        print(f"wrote sampling = {sampler_label(best)} into {a.checkpoint}")
    elif stored_label(stored) is not None:
        same = stored_label(stored) == sampler_label(best)
        print(f"{a.checkpoint} samples {stored_label(stored)}"
              + (", the sweep's choice" if same else f", not the sweep's {sampler_label(best)}"))
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
