#!/usr/bin/env bash
# ReactDiff variants over training seeds on one GPU machine (leaderboards/synthetic/
# ablation_seeds.md): every (variant, seed) trained by `reactbench train --preset small --seed K`
# (the sampling temperature chosen on val after stage 2), all runs at once (the small preset
# leaves the GPU mostly idle at one run), then evaluated on the test split by
# `reactbench ablate --train-seeds K` (one process per seed) and tabled with
# `reactbench leaderboard --merge-runs` (mean ± std over the seeds).
#
#   PART=train bash benchmarks/device_ablation_seeds.sh   (carry .whl)
#       start or resume every run, each stopped after LIMIT seconds (resumable checkpoints
#       every 10 epochs); -> $OUT/train_logs.tgz
#   PART=eval bash benchmarks/device_ablation_seeds.sh    (carry .whl)
#       start or resume unfinished runs (LIMIT seconds), then, if every run is done, evaluate
#       and table -> $OUT/ablation_seeds.md, $OUT/results.tgz (result JSONs, temperature.json
#       and loss.csv of every run, logs); else exit 3 (call it again on the same machine)
# Environment: VARIANTS (default "reactdiff reactdiff-no-mmt reactdiff-no-video"), SEEDS
# (default "0 1 2"), LIMIT (seconds per training process, default 500), DEVICE (cuda), DATA
# (dataset root; default: the embedded synthetic one), EPOCHS (both stages; default: preset).
set -u
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
OUT=${OUT:-/tmp/out}
VARIANTS=${VARIANTS:-reactdiff reactdiff-no-mmt reactdiff-no-video}
SEEDS=${SEEDS:-0 1 2}
LIMIT=${LIMIT:-500}
DEVICE=${DEVICE:-cuda}
RB="python3 -m reactbench"
data=(); [ -n "${DATA:-}" ] && data=(--data "$DATA")
epochs=(); [ -n "${EPOCHS:-}" ] && epochs=(--epochs "$EPOCHS")
if [ -d .whl ] && compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PYTHONPATH
fi
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p runs logs "$OUT"
# the dataset once, before the runs that share its cache
[ -z "${DATA:-}" ] && python3 -c "from reactbench.data.resolve import default_dataset as d; print('data:', d())"

train_all() {
  local started=0
  for v in $VARIANTS; do
    for k in $SEEDS; do
      local dir="runs/$v-small-seed$k" resume=()
      [ -f "$dir/temperature.json" ] && continue
      [ -f "$dir/checkpoint.pt" ] && resume=(--resume)
      timeout "$LIMIT" $RB train --model "$v" --preset small --device "$DEVICE" --seed "$k" \
        --out "$dir" "${resume[@]}" "${data[@]}" "${epochs[@]}" --no-progress \
        >> "logs/train-$v-$k.log" 2>&1 &
      started=$((started + 1))
    done
  done
  echo "training runs started: $started"
  wait
  for f in logs/train-*.log; do echo "== $f"; grep -v Warn "$f" | tail -3 | cut -c1-200; done
}

case ${PART:-train} in
  train)
    SECONDS=0
    train_all
    echo "train part: $SECONDS s"
    tar czf "$OUT/train_logs.tgz" logs runs/*/loss.csv runs/*/temperature.json 2> /dev/null
    ;;
  eval)
    SECONDS=0
    train_all
    echo "training done: $SECONDS s"
    unfinished=$(for v in $VARIANTS; do for k in $SEEDS; do
      [ -f "runs/$v-small-seed$k/temperature.json" ] || echo "$v-seed$k"; done; done)
    if [ -n "$unfinished" ]; then  # never let ablate train them (no time left in this call)
      echo "unfinished runs (run PART=eval again): $unfinished"
      tar czf "$OUT/train_logs.tgz" logs runs/*/loss.csv 2> /dev/null
      exit 3
    fi
    vs=$(echo $VARIANTS | tr ' ' ,)
    for k in $SEEDS; do
      $RB ablate --model reactdiff --variants "$vs" --train-seeds "$k" --device "$DEVICE" \
        --runs runs --out abl "${data[@]}" --no-progress > "logs/eval-$k.log" 2>&1 &
    done
    wait
    echo "evaluation done: $SECONDS s"
    for k in $SEEDS; do grep -v Warn "logs/eval-$k.log" | tail -4 | cut -c1-200; done
    $RB leaderboard abl/train-seed* --merge-runs --table ablation --format md \
      --output "$OUT/ablation_seeds.md" --force
    cat "$OUT/ablation_seeds.md"
    tar czf "$OUT/results.tgz" abl logs runs/*/loss.csv runs/*/temperature.json
    ;;
  *) echo "PART must be train or eval" >&2; exit 2 ;;
esac
ls -la "$OUT"
