#!/usr/bin/env bash
# One of the README's two set-up commands as a newcomer runs it: a fresh clone of the committed
# tree, a new venv, empty pip, reactbench and numba caches, an empty TMPDIR (no earlier pytest
# runs to clean up) and Python's default of writing bytecode (PYTHONDONTWRITEBYTECODE, which a
# new shell does not set, is cleared; BYTECODE=keep keeps the caller's value; the log says
# which). Every output line is prefixed with the seconds since the start; the log ends with the
# host, its load before and after, the CPU time of the command and everything it started
# (`cpu: user U s, system S s`; steadier than the wall time from one run to the next on a shared
# machine) and `rc=<exit status> seconds=<wall time>` (read by leaderboards/render_docs.py).
#   bash benchmarks/readme_command.sh main [LOG]   (default: results/sources/main_command_cpu2.log)
#   bash benchmarks/readme_command.sh test [LOG]   (default: results/sources/test_command_cpu2.log)
#   BYTECODE=keep PYTHONDONTWRITEBYTECODE=1 bash benchmarks/readme_command.sh test \
#     benchmarks/results/sources/test_command_nobytecode_cpu2.log
set -u
repo="$(cd "$(dirname "$0")/.." && pwd)"
kind="${1:-}"
case "$kind" in
  main) anchor="^Install and run the main job" ;;
  test) anchor="^Install and run the tests" ;;
  *) echo "usage: $0 main|test [LOG]" >&2; exit 2 ;;
esac
log="${2:-$repo/benchmarks/results/sources/${kind}_command_cpu2.log}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/reactbench"
cd "$work/reactbench" || exit 1
mkdir "$work/tmp"
export REACTBENCH_CACHE="$work/cache" NUMBA_CACHE_DIR="$work/numba" PIP_CACHE_DIR="$work/pip" \
  XDG_CACHE_HOME="$work/xdg" TMPDIR="$work/tmp"
if [ "${BYTECODE:-}" = keep ]; then
  bytecode_note="kept (${PYTHONDONTWRITEBYTECODE-unset})"
else
  bytecode_note="cleared (the caller's: ${PYTHONDONTWRITEBYTECODE-unset})"
  unset PYTHONDONTWRITEBYTECODE
fi
cmd="$(awk -v a="$anchor" '$0 ~ a {f = 1} f && /^python3 / {print; exit}' README.md)"
[ -n "$cmd" ] || { echo "README.md: no $kind command found" >&2; exit 1; }
load_before="$(cat /proc/loadavg)"
start=$(date +%s.%N)
# tqdm redraws with carriage returns: one line per redraw, each stamped
# `times` in the subshell: its second line is the CPU time of its finished children (the
# command's whole tree)
( bash -c "$cmd"; status=$?; times > "$work/times"; exit $status ) 2>&1 | python3 -u -c '
import sys, time
t0 = float(sys.argv[1])
for raw in sys.stdin.buffer:
    for part in raw.decode(errors="replace").replace("\r", "\n").splitlines():
        if part.strip():
            print(f"[{time.time() - t0:7.1f}] {part}", flush=True)
' "$start" > "$work/out.log"
rc=${PIPESTATUS[0]}
seconds=$(python3 -c "import time; print(round(time.time() - $start))")
cpu="$(python3 -c '
import re, sys
m = [float(a or 0) * 60 + float(b) for a, b in re.findall(r"(?:(\d+)m)?([\d.]+)s", sys.argv[1])]
print(f"user {m[2]:.0f} s, system {m[3]:.0f} s" if len(m) == 4 else "unknown")
' "$(cat "$work/times" 2>/dev/null)")"
tmp="$log.tmp.$$"
{
  echo "command: $cmd"
  echo "commit: $(git rev-parse HEAD)"
  echo "host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "load before: $load_before"
  echo "PYTHONDONTWRITEBYTECODE: $bytecode_note"
  grep -v "WARNING: Location" "$work/out.log"
  echo "load after: $(cat /proc/loadavg)"
  echo "cpu: $cpu"
  echo "rc=$rc seconds=$seconds"
} > "$tmp" && mv "$tmp" "$log"
tail -2 "$log"
