#!/usr/bin/env bash
# A one-node Slurm cluster (slurmctld, slurmd and munge from Debian's packages, installed when
# missing) runs a suite as an array job of 3 shards; the merged files must be byte for byte an
# unsharded run's. Says plainly that it skipped where Slurm cannot be installed or started.
# Stops every daemon it started, bounded in time.
#   bash experiments/slurm/test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
skip() {
    echo "slurm: SKIPPED ($1)"
    exit 0
}

if ! command -v sbatch > /dev/null || ! command -v slurmd > /dev/null || ! command -v munged > /dev/null; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null; then
        skip "Slurm is not installed and this is not a root Debian machine to install it on"
    fi
    if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge) \
        > /tmp/slurm-install.log 2>&1; then
        skip "apt-get could not install slurm-wlm and munge; see /tmp/slurm-install.log"
    fi
fi
cargo build --release -q -p experiments

work=$(mktemp -d)
started_munge=""
cleanup() {
    for pid in "$work/slurmd.pid" "$work/slurmctld.pid"; do
        if [ -f "$pid" ]; then kill "$(cat "$pid")" 2> /dev/null || true; fi
    done
    if [ -n "$started_munge" ]; then pkill -x munged 2> /dev/null || true; fi
    sleep 1
    rm -rf "$work"
}
trap cleanup EXIT

# Munge authenticates Slurm's daemons to each other; the package creates its key.
if ! munge -n > /dev/null 2>&1; then
    [ -f /etc/munge/munge.key ] || mungekey --create > /dev/null 2>&1 || skip "no munge key and mungekey failed"
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged || skip "munged does not start"
    started_munge=yes
    sleep 1
fi

host=$(hostname -s)
export SLURM_CONF=$work/slurm.conf
cat > "$SLURM_CONF" << EOF
ClusterName=blockchat
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmctldPort=6917
SlurmdPort=6918
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=sweep Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
mkdir -p "$work/state" "$work/spool"
slurmctld -c -f "$SLURM_CONF" || skip "slurmctld does not start"
slurmd -f "$SLURM_CONF" || skip "slurmd does not start"
for _ in $(seq 30); do
    if sinfo -h -o %t 2> /dev/null | grep -q idle; then break; fi
    sleep 1
done
if ! sinfo -h -o %t 2> /dev/null | grep -q idle; then
    tail -5 "$work/slurmd.log" "$work/slurmctld.log" >&2 || true
    skip "the Slurm node did not come up in 30 s"
fi
echo "slurm: one-node cluster up ($(sinfo -h -o '%P %D %t %C'))"

suite=think-time
if ! timeout 300 sbatch --wait --quiet --array=0-2 --output="$work/%A_%a.out" \
    experiments/slurm/array.sh "$suite" "$work/sharded"; then
    cat "$work"/*.out >&2 || true
    echo "slurm: FAILED (the array job did not finish)" >&2
    exit 1
fi
cat "$work"/*.out
bin=target/release/experiments
"$bin" --out "$work/sharded" merge "$suite"
"$bin" --out "$work/whole" run "$suite" > /dev/null
files=0
for f in "$work/whole/$suite"/*; do
    name=$(basename "$f")
    if ! cmp -s "$f" "$work/sharded/$suite/$name"; then
        echo "slurm: FAILED ($suite/$name differs between the merged shards and the unsharded run)" >&2
        exit 1
    fi
    files=$((files + 1))
done
echo "slurm: 3 array tasks and a merge gave the unsharded run's $files files of $suite, byte for byte"
echo "slurm: PASSED"
