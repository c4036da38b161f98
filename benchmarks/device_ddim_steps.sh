#!/usr/bin/env bash
# The shipped ReactDiff on the val split of the default synthetic dataset at several DDIM step
# counts, offline and online (the sweep the shipped checkpoint's sampling steps are chosen
# from; the test split is never used), then the ReactDiff GPU tests. On the GPU device, with
# the wheels of .whl (tslearn, platformdirs, soundfile: not in the device image) in `carry`.
#   STEPS="20 10 5 4 3 2" bash benchmarks/device_ddim_steps.sh
#     -> $OUT/ddim_steps/<task>_ddim<K>/*.json, $OUT/ddim_steps.log, $OUT/gpu_tests.log
set -u
OUT=${OUT:-/tmp/out}
. "$(dirname "$0")/device_setup.sh"
nvidia-smi --query-gpu=name --format=csv,noheader
for task in ${TASKS:-offline online}; do
  for k in ${STEPS:-20 10 5 4 3 2}; do
    start=$(date +%s)
    python3 -m reactbench run --model reactdiff --split val --task "$task" --device cuda \
      --metrics FRCorr,FRDist,FRDiv --model-arg ddim_steps="$k" --no-cache --no-progress \
      --out "$OUT/ddim_steps/${task}_ddim$k" 2>&1 | grep -v Warn | tail -4
    echo "$task ddim_steps=$k: $(( $(date +%s) - start )) s"
  done
done 2>&1 | tee "$OUT/ddim_steps.log"
if [ -n "${TESTS:-}" ]; then
  timeout "${TEST_LIMIT:-240}" python3 -m pytest -q -p no:cacheprovider -x $TESTS 2>&1 \
    | tail -15 | tee "$OUT/gpu_tests.log"
fi
