#!/usr/bin/env bash
# The Slurm job array on a real, single-node Slurm that this script starts
# itself (Debian's slurm-wlm and munge; no cgroups, no systemd):
#   1. munged, slurmctld and slurmd under a temporary state folder, on ports
#      of their own, so a Slurm already on the machine is left alone;
#   2. scripts/slurm/submit runs kn-eval --facts-per-relation 2 as a 4-shard
#      array plus its merge job; the merged JSON must equal the unsharded run
#      (on tests/data/shards/facts.json, the fact world's first 8 facts of each
#      relation, which keeps the run to about a minute);
#   3. an eval-facts array in which shard 2 cannot write its partial: the
#      merge job must not run, `submit --status` must name shard 2 to rerun,
#      and `submit --rerun` must then complete the run with the unsharded
#      result.
# Every daemon started here is stopped by its recorded PID and the state
# folder removed, also when a check fails; a failure prints the daemons' logs.
#
#   tests/slurm/run-local-slurm.sh PATH/TO/scalpel-cli
set -euo pipefail

cli=${1:?usage: run-local-slurm.sh PATH/TO/scalpel-cli}
cli=$(cd "$(dirname "$cli")" && pwd)/$(basename "$cli")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
submit=$root/scripts/slurm/submit
facts=$root/tests/data/shards/facts.json
[[ -x $cli ]] || { echo "run-local-slurm: $cli is not an executable" >&2; exit 1; }
for tool in munged slurmctld slurmd sbatch squeue scontrol; do
  command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin
  command -v "$tool" >/dev/null || {
    echo "run-local-slurm: $tool not found (install slurm-wlm and munge: scripts/setup.sh)" >&2
    exit 1
  }
done

state=$(mktemp -d /tmp/scalpel-slurm.XXXXXX)
chmod 755 "$state" # munged wants its socket's folder searchable
pids=()
started=$(date +%s)

logs() {
  local f
  for f in "$state"/munged.log "$state"/slurmctld.log "$state"/slurmd.log "$state"/*.console \
    "$state"/*/logs/*.out; do
    [[ -f $f ]] || continue
    echo "----- $f" >&2
    tail -n 60 "$f" >&2
  done
}

cleanup() {
  local rc=$?
  set +e
  if [[ $rc -ne 0 ]]; then
    echo "run-local-slurm: FAILED (exit $rc); the daemons' logs follow" >&2
    logs
  fi
  # Jobs first (their slurmstepd processes are the daemons' children), then
  # the daemons in reverse order of starting.
  if [[ -n ${SLURM_CONF:-} ]] && [[ ${#pids[@]} -ge 3 ]]; then
    scancel --full --quiet --user "$(id -un)" 2>/dev/null
    for _ in $(seq 20); do
      [[ -z $(squeue -h 2>/dev/null) ]] && break
      sleep 0.5
    done
  fi
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null
  done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    for _ in $(seq 50); do
      kill -0 "${pids[i]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "${pids[i]}" 2>/dev/null
  done
  rm -rf "$state"
  echo "run-local-slurm: $(($(date +%s) - started)) s" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "run-local-slurm: $*" >&2
  exit 1
}

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local limit=$1
  shift
  local end=$(($(date +%s) + limit))
  until "$@" >/dev/null 2>&1; do
    [[ $(date +%s) -lt $end ]] || return 1
    sleep 0.5
  done
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    port_free "$p" && port_free $((p + 1)) && { echo "$p"; return; }
  done
  fail "no free port pair found"
}

# ---- munged --------------------------------------------------------------
dd if=/dev/urandom of="$state/munge.key" bs=1024 count=1 status=none
chmod 400 "$state/munge.key"
munged --foreground --force --socket="$state/munge.sock" --key-file="$state/munge.key" \
  --pid-file="$state/munged.pid" --log-file="$state/munged.log" --seed-file="$state/munge.seed" \
  2>>"$state/munged.log" &
pids+=($!)
wait_for 10 test -S "$state/munge.sock" || fail "munged did not create its socket"

# ---- slurm.conf for this node ----------------------------------------------
node=$(hostname -s)
cpus=$(nproc)
port=$(pick_port)
mkdir -p "$state/ctld" "$state/spool"
cat >"$state/slurm.conf" <<EOF
ClusterName=scalpeltest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$state/munge.sock
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$state/slurm.conf

# In the foreground (-D) they stay this script's children; what they print
# before their log files open goes to *.console.
slurmctld -D -i >"$state/slurmctld.console" 2>&1 &
pids+=($!)
slurmd -D -N "$node" >"$state/slurmd.console" 2>&1 &
pids+=($!)
node_idle() { [[ $(sinfo -h -n "$node" -o %T 2>/dev/null) == idle ]]; }
wait_for 30 node_idle || fail "the node did not come up idle: $(sinfo 2>&1)"
echo "run-local-slurm: munged, slurmctld and slurmd up in $(($(date +%s) - started)) s" >&2

# The printed JSON without the timing line ("seconds" differs between runs).
same_result() {
  diff <(grep -v '^  "seconds": ' "$1") <(grep -v '^  "seconds": ' "$2")
}

# Waits until none of the run's jobs is pending or running.
wait_run() {
  local dir=$1 limit=$2
  local jobs
  # shellcheck disable=SC1091,SC2154 # run.env, written by submit, sets them
  jobs=$(source "$dir/run.env" && echo "$array_jobs,$merge_job")
  idle_run() { [[ -z $(squeue -h -j "$jobs" 2>/dev/null) ]]; }
  wait_for "$limit" idle_run || fail "the jobs of $dir did not finish in $limit s: $(squeue 2>&1)"
}

# ---- 1. kn-eval in 4 shards and its merge ----------------------------------
"$submit" --shards 4 --cpus 1 --dir "$state/kn" --cli "$cli" -- \
  kn-eval --facts "$facts" --facts-per-relation 2
SCALPEL_THREADS=1 "$cli" kn-eval --facts "$facts" --facts-per-relation 2 \
  >"$state/kn-unsharded.json" 2>/dev/null
wait_run "$state/kn" 240
[[ -f $state/kn/result.json ]] || fail "the merge job wrote no $state/kn/result.json"
same_result "$state/kn-unsharded.json" "$state/kn/result.json" ||
  fail "the merged kn-eval differs from the unsharded run"
"$submit" --status "$state/kn" || fail "submit --status reports a complete run as incomplete"
echo "run-local-slurm: kn-eval: 4 shards merged = unsharded" >&2

# ---- 2. one failing shard: no merge, --status names it, --rerun completes --
mkdir -p "$state/ef/parts"
# A folder where shard 2's partial goes: its atomic rename fails.
mkdir "$state/ef/parts/eval-facts.shard-2-of-4.json"
"$submit" --shards 4 --dir "$state/ef" --cli "$cli" -- eval-facts --facts "$facts" --split train
SCALPEL_THREADS=1 "$cli" eval-facts --facts "$facts" --split train >"$state/ef-unsharded.json" \
  2>/dev/null
wait_run "$state/ef" 60
[[ ! -e $state/ef/result.json ]] || fail "the merge ran although shard 2 failed"
if "$submit" --status "$state/ef" >"$state/ef-status.txt" 2>&1; then
  cat "$state/ef-status.txt" >&2
  fail "submit --status exits 0 with a failed shard"
fi
cat "$state/ef-status.txt" >&2
grep -q '^shard 2/4: FAILED' "$state/ef-status.txt" || fail "submit --status does not name shard 2"
grep -q -- "--rerun $state/ef" "$state/ef-status.txt" || fail "submit --status gives no rerun command"
for i in 0 1 3; do
  grep -q "^shard $i/4: done" "$state/ef-status.txt" || fail "submit --status: shard $i not done"
done
rmdir "$state/ef/parts/eval-facts.shard-2-of-4.json"
"$submit" --rerun "$state/ef"
wait_run "$state/ef" 60
[[ -f $state/ef/result.json ]] || fail "the rerun's merge wrote no result"
same_result "$state/ef-unsharded.json" "$state/ef/result.json" ||
  fail "the merged eval-facts differs from the unsharded run"
echo "run-local-slurm: eval-facts: failed shard 2 named by --status, rerun, merged = unsharded" >&2
echo "run-local-slurm: passed" >&2
