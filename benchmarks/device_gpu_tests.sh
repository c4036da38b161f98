#!/usr/bin/env bash
# The GPU tests (`-m gpu`) on the GPU device, with the wheels of .whl (tslearn, platformdirs,
# soundfile: not in the device image) in `carry`.
#   TESTS="tests/reactdiff tests/harness" bash benchmarks/device_gpu_tests.sh
#     -> $OUT/gpu_tests.log (the card's name, then pytest's summary)
set -u
OUT=${OUT:-/tmp/out}
. "$(dirname "$0")/device_setup.sh"
{
  nvidia-smi --query-gpu=name --format=csv,noheader
  timeout "${TEST_LIMIT:-480}" python3 -m pytest -q -p no:cacheprovider -m gpu \
    ${TESTS:-tests} 2>&1 | tail -25
} | tee "$OUT/gpu_tests.log"
