#!/usr/bin/env bash
# Starts (or stops) a one-node Slurm cluster on this machine for the cluster tests:
# Debian's slurm-wlm + munge, a slurm.conf for localhost with this machine's CPUs, state under $DIR.
#   scripts/slurm-local.sh start [DIR]   -> prints "export SLURM_CONF=..." on success
#   scripts/slurm-local.sh stop [DIR]
set -euo pipefail
cmd="${1:-start}"
dir="${2:-${ADAPT_SLURM_DIR:-/tmp/adapt-slurm}}"
conf="$dir/slurm.conf"

stop() {
  for p in slurmd slurmctld munged; do
    if [ -f "$dir/$p.pid" ]; then kill "$(cat "$dir/$p.pid")" 2>/dev/null || true; rm -f "$dir/$p.pid"; fi
  done
}

if [ "$cmd" = stop ]; then stop; exit 0; fi

if ! command -v sbatch >/dev/null || ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
  else
    echo "slurm-local: slurm-wlm and munge are not installed (apt-get install slurmctld slurmd slurm-client munge)" >&2
    exit 1
  fi
fi

stop
mkdir -p "$dir"/{state,spool,log,munge}
chmod 700 "$dir/munge"
# A private munge key and socket, so a system munged (if any) is neither needed nor disturbed.
[ -f "$dir/munge/munge.key" ] || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
sock="$dir/munge/munge.socket"
munged --force --key-file="$dir/munge/munge.key" --socket="$sock" --pid-file="$dir/munged.pid" \
  --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munge.seed"

host="$(hostname -s)"
cpus="$(nproc)"
mem="$(awk '/MemTotal/ {print int($2/1024) - 1024}' /proc/meminfo)"
user="$(id -un)"
cat >"$conf" <<CONF
ClusterName=adapt-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=${ADAPT_SLURMCTLD_PORT:-16817}
SlurmdPort=${ADAPT_SLURMD_PORT:-16818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
MpiDefault=none
ReturnToService=2
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$conf"
slurmctld -i -f "$conf"
slurmd -f "$conf"
for _ in $(seq 1 60); do
  if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    echo "export SLURM_CONF=$conf"
    exit 0
  fi
  sleep 1
done
echo "slurm-local: the node did not become idle within 60 s (logs in $dir/log)" >&2
sinfo >&2 || true
tail -5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
exit 1
