#!/usr/bin/env bash
# Regenerates the whole study of docs/results.md from a fresh clone and prints its main table.
# The runs are split across JOBS processes with one torch thread each (on a shared 2-core machine two
# single-threaded processes beat one two-threaded one); every finished run is skipped and an interrupted
# training resumes from its checkpoint, so calling this again continues where it stopped.
#   OUT=study-out PLAN=cpu JOBS=2 scripts/reproduce.sh [--backbone FILE] [--data DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-study-out}
PLAN=${PLAN:-cpu}
JOBS=${JOBS:-2}
mkdir -p "$OUT"
./adapt study --plan "$PLAN" --out "$OUT" --list "$@" > "$OUT/runs.txt"   # builds once, lists the runs
pids=()
for k in $(seq 1 "$JOBS"); do
  ADAPT_THREADS=1 ./adapt study --plan "$PLAN" --out "$OUT" --shard "$k/$JOBS" "$@" > "$OUT/shard$k.log" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
if [ "$status" -ne 0 ]; then
  echo "reproduce: a shard failed (exit $status); see $OUT/shard*.log, then run this script again to continue" >&2
  exit "$status"
fi
./adapt study --plan "$PLAN" --out "$OUT" --report-only "$@"
