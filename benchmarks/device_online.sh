#!/usr/bin/env bash
# Online latency of ReactDiff on the GPU device (Sampler.online, batch 1, 750-frame clip):
# GPU tests of the streaming path, then benchmarks/reactdiff_gpu.py --parts online for the
# small and paper presets with CUDA graphs (eager UNet and torch.compile'd UNet), fp32 / bf16.
#   bash benchmarks/device_online.sh      -> $OUT/online_<preset>[_compiled].json
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
nvidia-smi --query-gpu=name --format=csv,noheader
timeout 120 python3 -m pytest -m gpu tests/reactdiff -q -p no:cacheprovider --tb=line 2>&1 | tail -6
for preset in small paper; do
  timeout "${LIMIT:-100}" python3 benchmarks/reactdiff_gpu.py --parts online --preset $preset \
    --online-modes graphs --online-precisions fp32,bf16 --online-no-unet-compile \
    --online-reps 2 --out "$OUT/online_$preset.json" 2>&1 | grep -v Warn | cut -c1-300
  timeout "${LIMIT:-100}" python3 benchmarks/reactdiff_gpu.py --parts online --preset $preset \
    --online-modes graphs --online-precisions bf16 --online-reps 2 \
    --out "$OUT/online_${preset}_compiled.json" 2>&1 | grep -v Warn | cut -c1-300
done
