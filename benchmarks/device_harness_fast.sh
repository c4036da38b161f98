#!/usr/bin/env bash
# The shipped ReactDiff through the real harness on the GPU device, on its fast path
# (streaming=graphs precision=bf16 and UNET, default compile=true; UNET=kernels=triton for the
# Triton UNet): `reactbench run` online (causality check included) and offline (TASKS) on the
# synthetic test split. Needs the wheels of .whl (librosa and
# friends, tslearn, platformdirs: not in the device image) in `carry`.
#   bash benchmarks/device_harness_fast.sh    -> $OUT/harness/<task>/*.json, $OUT/harness.log
set -u
OUT=${OUT:-/tmp/out}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 REACTBENCH_CACHE=/tmp/rbcache
nvidia-smi --query-gpu=name --format=csv,noheader
fast=(--model-arg streaming=graphs --model-arg precision=bf16 --model-arg "${UNET:-compile=true}")
for task in ${TASKS:-online offline}; do
  start=$(date +%s)
  timeout "${LIMIT:-280}" python3 -m reactbench run --model reactdiff --split test --task "$task" \
    --device cuda "${fast[@]}" --no-progress --out "$OUT/harness/$task" 2>&1 | grep -v Warn \
    | tail -12
  echo "$task: $(( $(date +%s) - start )) s (dataset generation and compilation included)"
done 2>&1 | tee "$OUT/harness.log"
