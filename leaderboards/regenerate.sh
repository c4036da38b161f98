#!/usr/bin/env bash
# Regenerate leaderboards/synthetic/: result JSONs and tables (Markdown, LaTeX, CSV) that
# reactbench produces on its default synthetic dataset (generated once into the user cache).
#
#   leaderboards/regenerate.sh                         # every baseline, offline and online
#   leaderboards/regenerate.sh reactdiff               # add ReactDiff rows (stored results kept)
#   TASKS=ablation RUN_ARGS="--model-arg reactdiff@ddim_steps=20 --model-arg reactdiff@solver=ddim \
#     --model-arg kernels=torch" leaderboards/regenerate.sh reactdiff-ablation,reactdiff-lrs
#     # ablation table (DDIM at all 20 steps, as the variants)
#   FRESH=1 leaderboards/regenerate.sh                 # drop stored results of TASKS first
#
# MODELS (first argument, default "baselines") is what `reactbench run --model` takes.
# Results live in synthetic/results/<task>/ (ablation: offline runs in results/ablation/);
# models whose result file is already there are skipped (`--skip-existing`), so adding a model
# never re-runs the others; a stored result of another run (other model params or checkpoint,
# data, frames or metrics) stops the script instead (FRESH=1 recomputes). Tables are rebuilt
# from ALL result files of each task (replacing the table files).
# Extra flags for `reactbench run` (e.g. --device cuda, --model-arg k=v) go in RUN_ARGS;
# REACTBENCH or PYTHON choose the interpreter (default: `reactbench` on PATH, else python3 -m).
#
# PROTOCOL=react2025 (or react2026) scores on the embedded synthetic MARS dataset instead and
# writes to leaderboards/synthetic-mars/ (react2026: synthetic-mars/react2026/):
#   PROTOCOL=react2025 leaderboards/regenerate.sh reactdiff,baselines
# There `baselines` means the REACT2026 naive baselines offline; they are computed on whole
# clips, so online it means ONLINE_BASELINES (default gt,b_random,b_mime), run window by window.
set -euo pipefail

MODELS="${1:-baselines}"
TASKS="${TASKS:-offline online}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROTOCOL="${PROTOCOL:-}"
case "$PROTOCOL" in
  "") DEFAULT_OUT="$HERE/synthetic"; PROTO_ARGS=() ;;
  react2025) DEFAULT_OUT="$HERE/synthetic-mars"; PROTO_ARGS=(--protocol "$PROTOCOL") ;;
  *) DEFAULT_OUT="$HERE/synthetic-mars/$PROTOCOL"; PROTO_ARGS=(--protocol "$PROTOCOL") ;;
esac
OUT="${LEADERBOARD_OUT:-$DEFAULT_OUT}"
if [ -n "${REACTBENCH:-}" ]; then RB="$REACTBENCH"
elif command -v reactbench > /dev/null; then RB="reactbench"
else RB="${PYTHON:-python3} -m reactbench"; fi
read -r -a EXTRA <<< "${RUN_ARGS:-}"

for task in $TASKS; do
  res="$OUT/results/$task"
  run_task="$task"
  [ "$task" = "ablation" ] && run_task="offline"
  if [ "${FRESH:-0}" = "1" ]; then rm -rf "$res"; fi
  models="$MODELS"
  if [ -n "$PROTOCOL" ] && [ "$task" = "online" ]; then
    models="$(echo ",$MODELS," | sed "s/,baselines,/,${ONLINE_BASELINES:-gt,b_random,b_mime},/")"
    models="${models#,}"; models="${models%,}"
  fi
  echo "== $task: $models"
  $RB run --model "$models" --split test --task "$run_task" --samples 10 --seed 0 \
    --out "$res" --skip-existing "${PROTO_ARGS[@]}" "${EXTRA[@]}"
done

for task in offline online ablation; do
  res="$OUT/results/$task"
  compgen -G "$res/*.json" > /dev/null || continue
  $RB leaderboard "$res" --table "$task" --output "$OUT/$task.md" --output "$OUT/$task.tex" \
    --output "$OUT/$task.csv" --force
done
# the ablation over training seeds (benchmarks/device_ablation_seeds.sh): one row per variant,
# mean ± std over results/ablation_seeds/train-seed<K>/ (results only; no model is run here)
seeds=("$OUT"/results/ablation_seeds/train-seed*)
if [ -d "${seeds[0]}" ]; then
  $RB leaderboard "${seeds[@]}" --merge-runs --table ablation --output "$OUT/ablation_seeds.md" \
    --output "$OUT/ablation_seeds.tex" --output "$OUT/ablation_seeds.csv" --force
fi
echo "tables in $OUT"
