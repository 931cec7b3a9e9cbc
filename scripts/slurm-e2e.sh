#!/usr/bin/env bash
# End-to-end test on a real (one-node) Slurm: starts slurmctld + slurmd + munged (scripts/slurm-local.sh), submits
# deploy/slurm/eval-array.sbatch as a 4-task array (a 256-point PGD-10 + APGD-CE evaluation of the shipped tiny
# ViT, one shard per task) and deploy/slurm/eval-merge.sbatch with --dependency=afterok on it, waits for both
# (bounded), runs the same evaluation unsharded, compares the merged flags.npy with the unsharded one point by
# point, and stops the daemons it started. Exit 0 only when every job COMPLETED and all flags are identical.
#   scripts/slurm-e2e.sh [WORK_DIR]          (ADAPT_E2E_TIMEOUT: seconds to wait for the jobs, default 900)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"
work="${1:-$(mktemp -d /tmp/adapt-slurm-e2e.XXXXXX)}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
timeout_s="${ADAPT_E2E_TIMEOUT:-900}"
slurm_dir="$work/slurm"
log() { echo "slurm-e2e: $*"; }

if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi
# Build once here, so the array tasks do not all start by building.
./adapt --version >/dev/null

started=0
cleanup() { if [ "$started" = 1 ]; then scripts/slurm-local.sh stop "$slurm_dir" || true; log "daemons stopped"; fi; }
trap cleanup EXIT
env_line="$(scripts/slurm-local.sh start "$slurm_dir")"
started=1
eval "$env_line"
log "one-node Slurm up ($(sinfo -h -o '%P %D node(s) %c CPUs %T'), SLURM_CONF=$SLURM_CONF, $(sbatch --version))"

# 256 points of Fashion-MNIST test, the shipped backbone (230k parameters), eps 0.02 (some points robust, some not),
# batches of 32 (8 batches: 2 per shard), the checklist on the first 64 points.
eval_args=(--backbone "$repo/assets/vit-fmnist-cpu-d8.safetensors" --data fashion-mnist --limit 256
  --eps 0.02 --attacks clean,pgd10,apgd-ce --batch-size 32 --check-points 64 --seed 0 --device cpu)
sharded="$work/sharded"
unsharded="$work/unsharded"

array_id="$(sbatch --parsable --array=0-3 --cpus-per-task=1 --chdir="$repo" --output="$work/eval-%A_%a.out" \
  deploy/slurm/eval-array.sbatch "${eval_args[@]}" --out "$sharded")"
merge_id="$(sbatch --parsable --dependency="afterok:$array_id" --kill-on-invalid-dep=yes --chdir="$repo" --output="$work/merge-%j.out" \
  deploy/slurm/eval-merge.sbatch --out "$sharded")"
log "submitted eval array job $array_id (tasks 0-3) and merge job $merge_id"
log "merge job $merge_id: $(scontrol show job "$merge_id" | grep -oE '(JobState|Reason|Dependency)=[^ ]*' | tr '\n' ' ')"

# The unsharded reference, on this machine while the array runs.
ADAPT_THREADS=1 ./adapt eval "${eval_args[@]}" --out "$unsharded" --no-plots > "$work/unsharded.log" 2>&1 &
ref_pid=$!

deadline=$((SECONDS + timeout_s))
while [ -n "$(squeue -h -j "$array_id,$merge_id" 2>/dev/null)" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "FAILED: jobs still queued or running after ${timeout_s}s"; squeue; scancel "$array_id" "$merge_id" || true; exit 1
  fi
  sleep 3
done
wait "$ref_pid" || { log "FAILED: the unsharded run failed"; tail -5 "$work/unsharded.log"; exit 1; }

status=0
log "job states (scontrol show job):"
for id in "$array_id" "$merge_id"; do
  while read -r line; do
    state="$(grep -oE 'JobState=[A-Z_]+' <<<"$line")"
    echo "  $(grep -oE '(JobId|ArrayJobId|ArrayTaskId|JobName)=[^ ]*' <<<"$line" | tr '\n' ' ')$state $(grep -oE 'ExitCode=[^ ]*' <<<"$line")"
    [ "$state" = "JobState=COMPLETED" ] || status=1
  done < <(scontrol -o show job "$id")
done
if [ -f "$slurm_dir/log/jobcomp.txt" ]; then
  log "job completion log ($slurm_dir/log/jobcomp.txt):"
  grep -E "^JobId=$merge_id |ArrayJobId=$array_id " "$slurm_dir/log/jobcomp.txt" \
    | awk '{ s = "  "; for (i = 1; i <= NF; i++) if ($i ~ /^(JobId|Name|JobState|ArrayJobId|ArrayTaskId|ExitCode)=/) s = s $i " "; print s }'
fi
if [ "$status" != 0 ]; then
  log "FAILED: a job did not complete"; tail -n 5 "$work"/*.out; exit 1
fi
for f in "$work"/merge-*.out; do sed 's/^/  merge | /' "$f"; done | head -20

# Point-by-point comparison of the two flags.npy (int8, N x runs) with no NumPy needed.
python3 - "$sharded/flags.npy" "$unsharded/flags.npy" <<'PY'
import ast, struct, sys
def load(path):
    data = open(path, "rb").read()
    assert data[:6] == b"\x93NUMPY", path
    major = data[6]
    n = struct.unpack("<H" if major == 1 else "<I", data[8:10] if major == 1 else data[8:12])[0]
    start = (10 if major == 1 else 12) + n
    header = ast.literal_eval(data[start - n:start].decode("latin1"))
    rows, cols = header["shape"]
    body = data[start:]
    return rows, cols, [body[r * cols:(r + 1) * cols] for r in range(rows)]
(r1, c1, a), (r2, c2, b) = load(sys.argv[1]), load(sys.argv[2])
if (r1, c1) != (r2, c2):
    print(f"slurm-e2e: FAILED: merged flags are {r1}x{c1}, unsharded {r2}x{c2}"); sys.exit(1)
same = sum(x == y for x, y in zip(a, b))
robust = sum(all(v == 1 for v in row[:3]) for row in b)
print(f"slurm-e2e: flags identical: {same}/{r1} ({c1} runs per point; {robust} points robust to clean, pgd10 and apgd-ce)")
sys.exit(0 if same == r1 else 1)
PY
log "PASSED in ${SECONDS}s (work dir $work)"
