#!/usr/bin/env bash
# ReactDiff's H200 figures (docs/benchmarks.md; benchmarks/results/*_h200.*) in two calls,
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
#   PART=check bash benchmarks/device_h200.sh  (carry .whl)
#       GPU tests of a new stream taking over an evicted one's graphs (fp32; bf16 + Triton),
#       then the shipped model online through `reactbench run` on the fast path with the
#       Triton UNet (causality check included) -> $OUT/tests_check.log, $OUT/harness/...
#   PART=ab bash benchmarks/device_h200.sh     (carry .ab)
#       A/B on one machine, paper preset, alpha 1, 20 steps, fast path: an earlier commit's code
#       in .ab/old (git archive REV models/reactdiff/*.py models/__init__.py reactbench
#       benchmarks/reactdiff_gpu.py | tar x -C .ab/old) against this tree with streams_kept 1
#       and 4, then the earlier code again -> $OUT/ab_{old_1,new_kept1,new_kept4,old_2}.json
#   PART=gpu bash benchmarks/device_h200.sh    (carry .whl)
#       every GPU test of the suite (pytest -m gpu), then the shipped model online through
#       `reactbench run` on the fast path -> $OUT/tests_gpu.log, $OUT/harness/...
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
  check)  # (carry .whl: the harness's packages missing on the device; see device_harness_fast.sh)
    timeout 150 python3 -m pytest -m gpu tests/reactdiff/test_online_stream.py \
      -k "taken_over or (fast_online and triton)" -q -p no:cacheprovider --tb=short 2>&1 \
      | tail -25 | tee "$OUT/tests_check.log"
    UNET=kernels=triton TASKS=online LIMIT=300 bash benchmarks/device_harness_fast.sh
    ;;
  ab)
    args=(--parts online --preset paper --online-modes graphs --online-precisions bf16
          --online-ddim-steps 20 --online-alphas 1 --online-kernels triton
          --online-reps "${REPS:-3}")
    old() { (cd .ab/old && PYTHONPATH=$PWD timeout 150 python3 benchmarks/reactdiff_gpu.py \
               "${args[@]}" --out "$OUT/ab_old_$1.json" > /dev/null 2>&1); }
    old 1
    timeout 150 python3 benchmarks/reactdiff_gpu.py "${args[@]}" --online-streams-kept 1 \
      --out "$OUT/ab_new_kept1.json" > /dev/null 2>&1
    timeout 150 python3 benchmarks/reactdiff_gpu.py "${args[@]}" --online-streams-kept 4 \
      --out "$OUT/ab_new_kept4.json" > /dev/null 2>&1
    old 2
    for f in old_1 new_kept1 new_kept4 old_2; do
      python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['online'][0]; print(sys.argv[2],
        r.get('median_ms'), r.get('p90_ms'), r.get('first_ms'), r.get('per_window_ms'),
        r.get('error'))" "$OUT/ab_$f.json" "$f"
    done
    ;;
  gpu)  # (carry .whl) every GPU test of the suite, then the harness online on the fast path
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl || exit 1
    PYTHONPATH=/tmp/site:$PWD timeout 330 python3 -m pytest -m gpu -q -p no:cacheprovider \
      --tb=short 2>&1 | tail -25 | tee "$OUT/tests_gpu.log"
    UNET=kernels=triton TASKS=online LIMIT=220 bash benchmarks/device_harness_fast.sh
    ;;
  *) echo "PART must be online, rest, check, ab or gpu" >&2; exit 2 ;;
esac
ls -la "$OUT"
