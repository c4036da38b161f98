#!/usr/bin/env bash
# ReactDiff work on the GPU device (one call): train the shipped small checkpoint and the
# variants on the exported synthetic data, then the paper-preset benchmark and the DDP
# 1-GPU throughput. Everything lands in $OUT (tarred: at most 8 files come back).
#   carry: .rdcarry (benchmarks/reactdiff_data.py export .rdcarry)
#   usage: bash benchmarks/device_reactdiff.sh [train|bench|all] [variants...]
set -u
what=${1:-all}; shift || true
variants=${*:-reactdiff reactdiff-no-mmt reactdiff-no-diffusion reactdiff-no-video reactdiff-no-audio reactdiff-lrs}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/runs" "$OUT/bench"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/bench/nvidia_smi.txt"
python3 -c "import torch, numpy; print(torch.__version__, numpy.__version__, torch.cuda.get_device_name())"
if [[ $what == train || $what == all ]]; then
  i=0
  for v in $variants; do   # two variants at a time on the one GPU
    python3 benchmarks/reactdiff_data.py train .rdcarry --variant "$v" --run "$OUT/runs/$v-small" \
      > "$OUT/runs/$v.log" 2>&1 &
    i=$((i + 1)); if (( i % 3 == 0 )); then wait; fi
  done
  wait
  tail -n 3 "$OUT"/runs/*.log
  (cd "$OUT/runs" && tar czf ../runs.tgz --exclude=checkpoint.pt --exclude='stage*_best.pt' .)
  rm -rf "$OUT/runs"
fi
if [[ $what == bench || $what == all ]]; then
  python3 benchmarks/reactdiff_gpu.py --out "$OUT/bench/reactdiff_gpu.json" --compile
  torchrun --standalone --nproc_per_node=1 benchmarks/reactdiff_ddp.py \
    --out "$OUT/bench/reactdiff_ddp_g1.json"
  (cd "$OUT" && tar czf bench.tgz bench) && rm -rf "$OUT/bench"
fi
ls -la "$OUT"
