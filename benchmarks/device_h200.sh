#!/usr/bin/env bash
# The H200 record of ReactDiff (benchmarks/results/reactdiff_gpu_h200.md) in two device calls,
# each inside the device's 10-minute limit. Run the second right after the first (the machine
# stays warm for 30 s only).
#   PART=online bash benchmarks/device_h200.sh
#       GPU tests of the streaming path (graphs; bf16 + Triton), then the paper preset's online
#       latency on the fast path (streaming=graphs precision=bf16 kernels=triton) at 20 and 10
#       DDIM steps, alpha 1 and 10        -> $OUT/tests.log, $OUT/online_paper_triton.json
#   PART=rest bash benchmarks/device_h200.sh
#       the small preset's online latency (same options), the paper preset's synchronised stage
#       times and host operators of one window, training throughput (fp32 eager vs bf16, both
#       stages) and the time to sample alpha = 10 for 80 rows in bf16
#       -> $OUT/online_small_triton.json, $OUT/profile_paper_triton.txt, $OUT/train_paper.json,
#          $OUT/sampling_paper.json
# Environment: REPS (timed clips per online configuration, default 3).
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
online() {  # preset, seconds
  timeout "$2" python3 benchmarks/reactdiff_gpu.py --parts online --preset "$1" \
    --online-modes graphs --online-precisions bf16 --online-ddim-steps 20,10 \
    --online-alphas 1,10 --online-kernels triton --online-reps "${REPS:-3}" \
    --out "$OUT/online_$1_triton.json" 2>&1 | grep -v Warn | cut -c1-420
}
case ${PART:-online} in
  online)
    timeout 170 python3 -m pytest -m gpu tests/reactdiff/test_online_stream.py \
      -k "streaming_on_cuda or triton" -q -p no:cacheprovider --tb=short 2>&1 \
      | tail -25 | tee "$OUT/tests.log"
    online paper 380
    ;;
  rest)
    online small 150
    timeout 110 python3 benchmarks/reactdiff_online_profile.py --preset paper --bf16 --graphs \
      --triton --host > "$OUT/profile_paper_triton.txt" 2>&1
    grep -v Warn "$OUT/profile_paper_triton.txt" | cut -c1-200 | head -12
    timeout 150 python3 benchmarks/reactdiff_gpu.py --parts train --preset paper \
      --precisions fp32,bf16 --out "$OUT/train_paper.json" 2>&1 | grep -v Warn | cut -c1-300
    timeout 90 python3 benchmarks/reactdiff_gpu.py --parts sampling --preset paper \
      --precisions bf16 --out "$OUT/sampling_paper.json" 2>&1 | grep -v Warn | cut -c1-300
    ;;
  *) echo "PART must be online or rest" >&2; exit 2 ;;
esac
ls -la "$OUT"
