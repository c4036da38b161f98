#!/usr/bin/env bash
# Metrics on a GPU machine: the GPU tests and the full-size
# metrics benchmark with the GPU engines. Run from the repository root:
#   bash benchmarks/device_metrics.sh OUT_DIR [extra metrics_gpu.py arguments]
# Wheels of packages the device image lacks (tslearn, platformdirs) are taken from .whl/ when it
# exists; make it here with: pip download --no-deps --only-binary=:all: --python-version 3.12
# -d .whl tslearn==0.10.0 platformdirs
# (.whl/ is git-ignored locally; name it in the device tool's carry list).
set -uo pipefail
out=${1:-benchmarks/results}
shift || true
mkdir -p "$out"
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-}
NUMBA_CACHE_DIR=$(mktemp -d)
export NUMBA_CACHE_DIR PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -c "import torch, triton, numpy, numba, tslearn; print('torch', torch.__version__,
'triton', triton.__version__, 'numpy', numpy.__version__, 'numba', numba.__version__,
'tslearn', tslearn.__version__, 'cpus', len(__import__('os').sched_getaffinity(0)))"
python3 -m pytest -m gpu tests/metrics -q -p no:cacheprovider --continue-on-collection-errors \
    2>&1 | tee "$out/metrics_gpu_tests.log"
python3 benchmarks/metrics_gpu.py --results-dir "$out" "$@" \
    2>&1 | tee "$out/metrics_gpu_run.log"
