#!/usr/bin/env bash
# The GPU tests (`-m gpu`) on the GPU device, with the wheels of .whl (tslearn, platformdirs,
# soundfile: not in the device image) in `carry`.
#   TESTS="tests/reactdiff tests/harness" bash benchmarks/device_gpu_tests.sh
#     -> $OUT/gpu_tests.log (the card's name, then pytest's summary)
set -u
OUT=${OUT:-/tmp/out}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 REACTBENCH_CACHE=/tmp/rbcache
python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . || exit 1
{
  nvidia-smi --query-gpu=name --format=csv,noheader
  timeout "${TEST_LIMIT:-480}" python3 -m pytest -q -p no:cacheprovider -m gpu \
    ${TESTS:-tests} 2>&1 | tail -25
} | tee "$OUT/gpu_tests.log"
