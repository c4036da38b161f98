#!/usr/bin/env bash
# Online latency of ReactDiff on the GPU device (Sampler.online, batch 1, 750-frame clip):
# GPU tests of the streaming path, then benchmarks/reactdiff_gpu.py --parts online per preset
# with CUDA graphs (eager UNet and torch.compile'd UNet), fp32 / bf16.
#   bash benchmarks/device_online.sh      -> $OUT/online_<preset>[_compiled].json
# Environment: PRESETS (default "small paper"), TESTS=0 skips the GPU tests, FLAGS: extra
# reactdiff_gpu.py flags for every run (e.g. "--online-gemm-convs --online-bf16-weights"),
# TAG: suffix of the output names, PRECISIONS: of the uncompiled run (default fp32,bf16),
# PROFILE="FLAGS": also the kernel profile of one eager bf16 window with these
# reactdiff_online_profile.py flags ("-" for none), LIMIT: seconds per run (default 100).
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
FLAGS=${FLAGS:-}
TAG=${TAG:-}
nvidia-smi --query-gpu=name --format=csv,noheader
if [ "${TESTS:-1}" = 1 ]; then
  timeout 120 python3 -m pytest -m gpu tests/reactdiff -q -p no:cacheprovider --tb=line 2>&1 | tail -6
fi
for preset in ${PRESETS:-small paper}; do
  if [ -n "${PROFILE:-}" ]; then
    # shellcheck disable=SC2086
    timeout "${LIMIT:-100}" python3 benchmarks/reactdiff_online_profile.py --preset $preset \
      --bf16 $([ "$PROFILE" = - ] || echo "$PROFILE") > "$OUT/profile_${preset}${TAG}.txt" 2>&1
    head -c 6000 "$OUT/profile_${preset}${TAG}.txt" | cut -c1-200 | grep -v Warn | head -30
  fi
  # shellcheck disable=SC2086
  timeout "${LIMIT:-100}" python3 benchmarks/reactdiff_gpu.py --parts online --preset $preset \
    --online-modes graphs --online-precisions ${PRECISIONS:-fp32,bf16} --online-no-unet-compile \
    --online-reps 2 $FLAGS --out "$OUT/online_$preset$TAG.json" 2>&1 | grep -v Warn | cut -c1-300
  # shellcheck disable=SC2086
  timeout "${LIMIT:-100}" python3 benchmarks/reactdiff_gpu.py --parts online --preset $preset \
    --online-modes graphs --online-precisions bf16 --online-reps 2 $FLAGS \
    --out "$OUT/online_${preset}_compiled$TAG.json" 2>&1 | grep -v Warn | cut -c1-300
done
