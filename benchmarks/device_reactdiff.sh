#!/usr/bin/env bash
# ReactDiff work on the GPU device. Data: carry .rdcarry (benchmarks/reactdiff_data.py export
# .rdcarry: train/val/test of this machine's default synthetic dataset, with its identities).
#   bash benchmarks/device_reactdiff.sh train JOBS...   JOB = name:variant[:epochs[:config[:seed]]]
#       (config: path of a JSON file of preset overrides)
#       trains the jobs in parallel on the one GPU, evaluates them (+ naive baselines) on the
#       exported test split, tars model.pt/loss.csv/loss.png + scores into $OUT/runs.tgz;
#       STAGE1_FROM=MODEL.pt trains stage 2 only, on that model's MMT (stage-2 experiments;
#       "{variant}" in it is replaced by each job's variant)
#   bash benchmarks/device_reactdiff.sh bench
#       paper-preset benchmark + DDP 1-GPU throughput -> $OUT/bench.tgz
set -u
what=$1; shift
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1
OUT=${OUT:-/tmp/out}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
if [[ $what == train ]]; then
  mkdir -p "$OUT/runs"
  runs=()
  for job in "$@"; do
    IFS=: read -r name variant epochs config seed <<< "$job"
    args=(--variant "$variant" --run "$OUT/runs/$name" --half --seed "${seed:-0}")
    [[ -n ${epochs:-} ]] && args+=(--epochs "$epochs")
    [[ -n ${config:-} ]] && args+=(--config "$config")
    [[ -n ${STAGE1_FROM:-} ]] && args+=(--stage1-from "${STAGE1_FROM//\{variant\}/$variant}")
    OMP_NUM_THREADS=2 timeout "${TRAIN_LIMIT:-420}" python3 benchmarks/reactdiff_data.py train .rdcarry \
      "${args[@]}" > "$OUT/runs/$name.log" 2>&1 &
    runs+=("$OUT/runs/$name")
  done
  wait
  ok=()
  for r in "${runs[@]}"; do [[ -f $r/model.pt ]] && ok+=("$r"); done
  runs=("${ok[@]}")
  tail -n 2 "$OUT"/runs/*.log
  python3 benchmarks/reactdiff_data.py evaluate .rdcarry --runs "${runs[@]}" ${EVAL_FLAGS:-} \
    --out "$OUT/runs/scores.json" 2>&1 | grep -v Warning
  cp "$OUT/runs/scores.json" "$OUT/scores.json"
  for r in "${runs[@]}"; do   # one archive per run (the device returns files of <= 16 MiB)
    n=$(basename "$r"); tar czf "$OUT/$n.tgz" -C "$OUT/runs" "$n/model.pt" "$n/loss.csv" \
      "$n/loss.png" "$n.log"
    if (( $(stat -c %s "$OUT/$n.tgz") > 16500000 )); then  # cat name.tgz.part* | tar xz
      split -b 16500000 -d "$OUT/$n.tgz" "$OUT/$n.tgz.part" && rm "$OUT/$n.tgz"
    fi
  done
  rm -rf "$OUT/runs"
elif [[ $what == bench ]]; then
  mkdir -p "$OUT/bench"
  timeout "${BENCH_LIMIT:-400}" python3 benchmarks/reactdiff_gpu.py \
    --out "$OUT/bench/reactdiff_gpu.json" "$@"
  timeout 90 torchrun --standalone --nproc_per_node=1 benchmarks/reactdiff_ddp.py \
    --out "$OUT/bench/reactdiff_ddp_g1.json"
  (cd "$OUT" && tar czf bench.tgz bench) && rm -rf "$OUT/bench"
fi
ls -la "$OUT"
