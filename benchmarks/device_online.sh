#!/usr/bin/env bash
# Online latency of ReactDiff on the GPU device (Sampler.online, batch 1, 750-frame clip):
# GPU tests of the streaming path, then benchmarks/reactdiff_gpu.py --parts online per preset on
# the fast path (CUDA graphs, precision bf16, compiled UNet: the plug-in options streaming=graphs
# precision=bf16 compile=true) at 20 and 10 DDIM steps, alpha 1 and 10.
#   bash benchmarks/device_online.sh      -> $OUT/online_<preset>_fast.json
# Environment: PRESETS (default "small paper"), TESTS=0 skips the GPU tests, STEPS (default
# "20,10"), FLAGS: extra reactdiff_gpu.py flags, UNCOMPILED=1: also graphs without
# torch.compile in fp32 and bf16 (-> online_<preset>.json), PROFILE="FLAGS": also
# reactdiff_online_profile.py --bf16 FLAGS (e.g. "--graphs --compile"; "-" for none), LIMIT:
# seconds per run (default 300), TAG: name of the fast path's results (default "fast"; e.g.
# TAG=triton FLAGS="--online-kernels triton" -> online_<preset>_triton.json), PYTEST: GPU tests to
# run (default "tests/reactdiff"), TEST_LIMIT: their seconds (default 200).
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
FLAGS=${FLAGS:-}
nvidia-smi --query-gpu=name --format=csv,noheader
if [ "${TESTS:-1}" = 1 ]; then
  # shellcheck disable=SC2086
  timeout "${TEST_LIMIT:-200}" python3 -m pytest -m gpu ${PYTEST:-tests/reactdiff} -q -p no:cacheprovider --tb=line 2>&1 | tail -6
fi
for preset in ${PRESETS:-small paper}; do
  if [ -n "${PROFILE:-}" ]; then
    # shellcheck disable=SC2046
    timeout "${LIMIT:-300}" python3 benchmarks/reactdiff_online_profile.py --preset $preset \
      --bf16 $([ "$PROFILE" = - ] || echo "$PROFILE") > "$OUT/profile_${preset}.txt" 2>&1
    grep -v Warn "$OUT/profile_${preset}.txt" | cut -c1-200 | head -14
  fi
  if [ "${UNCOMPILED:-0}" = 1 ]; then
    # shellcheck disable=SC2086
    timeout "${LIMIT:-300}" python3 benchmarks/reactdiff_gpu.py --parts online --preset $preset \
      --online-modes graphs --online-precisions fp32,bf16 --online-no-unet-compile \
      --online-reps 2 $FLAGS --out "$OUT/online_$preset.json" 2>&1 | grep -v Warn | cut -c1-300
  fi
  # shellcheck disable=SC2086
  timeout "${LIMIT:-300}" python3 benchmarks/reactdiff_gpu.py --parts online --preset $preset \
    --online-modes graphs --online-precisions bf16 --online-ddim-steps "${STEPS:-20,10}" \
    --online-reps 2 $FLAGS --out "$OUT/online_${preset}_${TAG:-fast}.json" 2>&1 | grep -v Warn | cut -c1-300
done
