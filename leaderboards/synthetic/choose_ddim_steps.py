"""Choose the shipped ReactDiff checkpoint's DDIM steps from its val sweep and store them in it.

Reads the offline val results of ``ddim_steps/`` (``reactbench run --model reactdiff --split val
--metrics FRCorr,FRDist,FRDiv --model-arg ddim_steps=K``, one file per K; made on one GPU by
``benchmarks/device_ddim_steps.sh``), picks the step count with
``reactbench.reactdiff.calibrate.choose_steps`` (best mean rank of FRCorr and FRDist, ties to
fewer steps) and writes it into the checkpoint's ``sampling`` entry. The test split is never
read. The sweep must have been made on this checkpoint file (its sha256 prefix, as result
files record it). Writing leaves the weights as they are but changes the file's sha256, so the
entry records the sweep's (``ddim_steps_sweep``); run again, the script checks that the stored
choice is still the sweep's.

    python leaderboards/synthetic/choose_ddim_steps.py            # prints the choice only
    python leaderboards/synthetic/choose_ddim_steps.py --write    # and stores it
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from reactbench.reactdiff.calibrate import choose_steps, write_steps
from reactbench.reactdiff.checkpoint import SHIPPED, read_metadata

HERE = Path(__file__).resolve().parent


def sweep_rows(folder: Path, shas: tuple[str, ...]) -> list[dict]:
    """{ddim_steps, FRCorr, FRDist, FRDiv, checkpoint_sha256} of every offline val result in
    ``folder`` made on a checkpoint whose sha256 starts like one of ``shas``; ValueError
    naming the file otherwise."""
    rows = []
    for path in sorted(folder.glob("reactdiff_offline_val_ddim*.json")):
        doc = json.loads(path.read_text())
        params = doc["model"]["params"]
        if doc["split"] != "val" or doc["task"] != "offline":
            raise ValueError(f"{path}: expected an offline val result, got {doc['task']} "
                             f"{doc['split']}")
        made_on = params["checkpoint_sha256"]
        if not any(sha.startswith(made_on) for sha in shas):
            raise ValueError(f"{path}: made on checkpoint {made_on}, not on this file "
                             f"({shas[0][:16]}); sweep it again")
        rows.append({"ddim_steps": int(params["ddim_steps"]), "checkpoint_sha256": made_on,
                     **{m: float(doc["metrics"][m]["value"]) for m in ("FRCorr", "FRDist",
                                                                       "FRDiv")}})
    if not rows:
        raise ValueError(f"{folder}: no reactdiff_offline_val_ddim*.json results")
    return sorted(rows, key=lambda r: -r["ddim_steps"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sweep", type=Path, default=HERE / "ddim_steps")
    ap.add_argument("--checkpoint", type=Path, default=SHIPPED)
    ap.add_argument("--write", action="store_true", help="store the choice in the checkpoint")
    a = ap.parse_args(argv)
    sha = hashlib.sha256(a.checkpoint.read_bytes()).hexdigest()
    stored = (read_metadata(a.checkpoint) or {}).get("sampling") or {}
    try:
        rows = sweep_rows(a.sweep, (sha, *([stored["ddim_steps_sweep"]]
                                           if "ddim_steps_sweep" in stored else [])))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    steps, how = choose_steps(rows)
    for r in rows:
        print(f"  {r['ddim_steps']:>2} steps: FRCorr {r['FRCorr']:.3f}, FRDist {r['FRDist']:.2f}, "
              f"FRDiv {r['FRDiv']:.4f}" + ("  <- chosen" if r["ddim_steps"] == steps else ""))
    if a.write:
        write_steps(a.checkpoint, steps, how, ddim_steps_sweep=rows[0]["checkpoint_sha256"])
        print(f"wrote sampling.ddim_steps = {steps} into {a.checkpoint}")
    elif "ddim_steps" in stored:
        same = stored["ddim_steps"] == steps
        print(f"{a.checkpoint} samples {stored['ddim_steps']} steps"
              + (", the sweep's choice" if same else f", not the sweep's {steps}"))
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
