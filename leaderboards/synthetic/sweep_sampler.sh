#!/usr/bin/env bash
# The shipped ReactDiff checkpoint on the VAL split of the default synthetic dataset with each
# candidate sampler (solver x step sequence), offline, official protocol, alpha 10, seed 0:
# the sweep choose_sampler.py picks the shipped sampler from. The test split is never read.
#   bash leaderboards/synthetic/sweep_sampler.sh
#     -> leaderboards/synthetic/sampler/reactdiff_offline_val_<solver>_<steps>.json
# SOLVERS and SEQUENCES (space-separated; a sequence is comma-separated steps, a single number
# n means n evenly spaced steps) narrow or widen the grid; REACTBENCH chooses the command.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/sampler"
RB="${REACTBENCH:-reactbench}"
SOLVERS="${SOLVERS:-ddim dpm2m}"
# 5 evaluations per window (the CPU budget of the README's main job): evenly spaced, then
# spacings that spend more of the steps at high noise; 10 evenly spaced steps for reference
SEQUENCES="${SEQUENCES:-5 19,18,16,13,0 19,17,15,12,0 19,17,14,10,0 19,17,13,8,0 19,16,13,10,0 19,16,12,7,0 19,18,15,11,0 10}"
mkdir -p "$OUT"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for solver in $SOLVERS; do
  for seq in $SEQUENCES; do
    if [[ "$seq" == *,* ]]; then arg="timesteps=$seq"; else arg="ddim_steps=$seq"; fi
    name="reactdiff_offline_val_${solver}_${seq//,/-}.json"
    [ -f "$OUT/$name" ] && { echo "have $name"; continue; }
    rm -rf "$tmp/run"
    $RB run --model reactdiff --split val --task offline --metrics FRCorr,FRDist,FRDiv \
      --model-arg "solver=$solver" --model-arg "$arg" --no-cache --no-progress \
      --out "$tmp/run" | grep "^ReactDiff" | sed "s/^/$solver $seq: /"
    mv "$tmp/run/reactdiff_offline_val_official_a10_s0.json" "$OUT/$name"
  done
done
