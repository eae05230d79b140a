#!/usr/bin/env bash
# Start a throwaway single-node Slurm cluster (munged + slurmctld + slurmd) on
# localhost, for integration tests that submit sbatch job arrays. Meant for a
# root CI container without systemd (Debian 12 / Slurm 22.05).
#
#   eval "$(.ci/slurm/start.sh STATE_DIR)"   # prints export lines on stdout
#   source .ci/slurm/start.sh [STATE_DIR]    # same, exported into this shell
#                                            # (default /tmp/slurm-ci)
#   .ci/slurm/stop.sh STATE_DIR              # stops what this started
#
# Exported: SLURM_CONF (every Slurm command and daemon reads its config from
# there; /etc/slurm is left alone) and SLURM_CI_STATE_DIR. Everything else
# goes to stderr. The daemons keep running after this script returns; their
# PIDs are in STATE_DIR/pids and their logs in STATE_DIR/log.
#
# Tunables (environment): SLURM_CI_CPUS (CPUs the node advertises, default
# nproc; more than nproc oversubscribes), SLURM_CI_TIMEOUT (seconds to wait
# for the cluster, default 60), SLURM_CI_CTLD_PORT / SLURM_CI_SLURMD_PORT
# (default 6817 / 6818), SLURM_CI_MIN_JOB_AGE (seconds a finished job stays
# queryable, default 300; 4 makes sbatch --wait return within 2 s).

# Sourced: run as a child so that `set -e` and `exit` cannot hit the caller's
# shell, then take over its exports.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    _slurm_ci_env="$(bash "${BASH_SOURCE[0]}" "${1:-${SLURM_CI_STATE_DIR:-/tmp/slurm-ci}}")" &&
        eval "$_slurm_ci_env"
    _slurm_ci_rc=$?
    unset _slurm_ci_env
    return "$_slurm_ci_rc"
fi

set -euo pipefail

log() { printf 'slurm-ci: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -eq 1 && -n "$1" ]] || die "usage: $0 STATE_DIR"
[[ "$(id -u)" -eq 0 ]] || die "must run as root (daemons, munge key, /run/munge)"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
state="$(cd "$1" && pwd)"
timeout_s="${SLURM_CI_TIMEOUT:-60}"
t0=$SECONDS

# Refuse to start twice on the same state: the second slurmctld would only
# fail on its port, and we would lose track of the first one's PIDs.
if [[ -s "$state/pids" ]]; then
    while read -r _name pid; do
        if kill -0 "$pid" 2>/dev/null; then
            die "a cluster from $state still runs (pid $pid); run $here/stop.sh $state first"
        fi
    done <"$state/pids"
fi

ctld_port="${SLURM_CI_CTLD_PORT:-6817}"
slurmd_port="${SLURM_CI_SLURMD_PORT:-6818}"
# A busy port would only show up as a slurmctld crash and a 10 s client timeout.
for port in "$ctld_port" "$slurmd_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port is in use (another Slurm?); see SLURM_CI_CTLD_PORT / SLURM_CI_SLURMD_PORT"
    fi
done

# --- packages --------------------------------------------------------------
missing=0
for cmd in slurmctld slurmd sbatch munged; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || missing=1
done
if [[ $missing -eq 1 ]]; then
    log "installing slurmctld slurmd slurm-client munge"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >&2
fi
export PATH="$PATH:/usr/sbin:/sbin"

# --- fresh state -------------------------------------------------------------
# Only our own sub-paths are wiped, never STATE_DIR itself (it may be a
# directory the caller cares about).
rm -rf "$state/statesave" "$state/spool" "$state/log" "$state/run" "$state/pids"
mkdir -p "$state/statesave" "$state/spool" "$state/log" "$state/run"
chmod 0755 "$state" "$state/spool" # job steps may run as another user
: >"$state/pids"

# Start "$@" in its own session, detached from this script (so it outlives us
# and ignores signals sent to our process group), and record its PID. The PID
# is written by the process that then execs the daemon, so it is right even
# when setsid has to fork (as it does under job control).
spawn() {
    local name=$1 logfile=$2
    shift 2
    local pidfile="$state/run/$name.spawned"
    rm -f "$pidfile"
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
        </dev/null >>"$logfile" 2>&1 &
    local _
    for _ in $(seq 50); do
        [[ -s "$pidfile" ]] && break
        sleep 0.1
    done
    [[ -s "$pidfile" ]] || die "$name did not start"
    echo "$name $(cat "$pidfile")" >>"$state/pids"
}

on_failure() {
    local rc=$?
    [[ $rc -eq 0 ]] && return
    log "Slurm did not come up; last log lines:"
    local f
    # *.out hold everything the daemons print in the foreground; job step
    # errors are only in log/slurmd.log.
    for f in "$state"/log/*.out; do
        [[ -f "$f" ]] || continue
        printf '==> %s <==\n' "$f" >&2
        tail -n 30 "$f" >&2 || true
    done
    "$here/stop.sh" "$state" >&2 || true
    exit "$rc"
}
trap on_failure EXIT

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

# --- munge ---------------------------------------------------------------------
if munge_ok; then
    # Another munged (e.g. started by the image) already serves the default
    # socket; Slurm only needs one, and it is not ours to stop.
    log "reusing the munged that already answers"
else
    if [[ ! -s /etc/munge/munge.key ]]; then
        log "creating /etc/munge/munge.key"
        mkdir -p /etc/munge
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile=/etc/munge/munge.key --force
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        fi
    fi
    # munged refuses keys, sockets and logs that others could tamper with.
    chown munge:munge /etc/munge /etc/munge/munge.key
    chmod 0700 /etc/munge
    chmod 0400 /etc/munge/munge.key
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
    # A stale socket/pid file from a killed munged makes the new one refuse to start.
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock /run/munge/munged.pid
    spawn munged "$state/log/munged.out" \
        setpriv --reuid=munge --regid=munge --init-groups munged --foreground
    for _ in $(seq 50); do
        munge_ok && break
        sleep 0.1
    done
    munge_ok || die "munged does not answer"
fi

# --- configuration ---------------------------------------------------------------
cpus="${SLURM_CI_CPUS:-$(nproc)}"
mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.8 }' /proc/meminfo)
min_job_age="${SLURM_CI_MIN_JOB_AGE:-300}"
export SLURM_CONF="$state/slurm.conf"
cat >"$SLURM_CONF" <<EOF
# Written by .ci/slurm/start.sh: a throwaway single-node cluster for tests.
ClusterName=ci
# "localhost" passes slurmctld's "am I SlurmctldHost?" check whatever the
# container's hostname is.
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge

StateSaveLocation=$state/statesave
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info

# No cgroups, no accounting: nothing here needs systemd or slurmdbd.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none

SchedulerType=sched/backfill
# Schedule on every submit/completion (batch_sched_delay defaults to 3 s) and
# rescan often, so array tasks follow each other without idle seconds.
SchedulerParameters=batch_sched_delay=0,sched_interval=2,bf_interval=1,default_queue_depth=1000
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MaxArraySize=10001
MaxJobCount=100000
# Finished jobs stay visible (squeue -t all, scontrol show job) for at least
# MinJobAge seconds, so tests can read their final state. Note: sbatch --wait
# polls after 2, 8, 32, 32... s unless MinJobAge <= 4 (then every 2 s).
MinJobAge=$min_job_age
KillWait=2
InactiveLimit=0
MailProg=/bin/true
ReturnToService=2
# Take the node as configured: CPUs may be oversubscribed on purpose and the
# memory figure need not match what slurmd measures.
SlurmdParameters=config_overrides

NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=short Nodes=localhost Default=NO MaxTime=INFINITE State=UP
EOF

# --- daemons -----------------------------------------------------------------------
log "starting slurmctld and slurmd (state in $state)"
# -c: ignore any saved state; -D: stay in the foreground so the PID is the daemon's.
spawn slurmctld "$state/log/slurmctld.out" slurmctld -D -c -f "$SLURM_CONF"
spawn slurmd "$state/log/slurmd.out" slurmd -D -N localhost -f "$SLURM_CONF"

alive() {
    local name pid
    while read -r name pid; do
        kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) exited"
    done <"$state/pids"
}

deadline=$((SECONDS + timeout_s))
until [[ "$(sinfo -h -n localhost -o %T 2>/dev/null | head -n 1)" == idle ]]; do
    alive
    ((SECONDS < deadline)) || die "node not idle after ${timeout_s}s (sinfo: $(sinfo -h -o '%P %T' 2>&1 | tr '\n' ' '))"
    sleep 0.2
done

# The node can be idle before a job can actually launch on it, so run one.
job=$(sbatch --parsable -p short -o /dev/null -e /dev/null -J slurm-ci-probe --wrap true) ||
    die "sbatch of the probe job failed"
job=${job%%;*}
while :; do
    st=$(scontrol show job -o "$job" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
    case "$st" in
    COMPLETED) break ;;
    FAILED | CANCELLED | TIMEOUT | NODE_FAIL | BOOT_FAIL | OUT_OF_MEMORY)
        die "probe job $job ended $st" ;;
    esac
    alive
    ((SECONDS < deadline)) || die "probe job $job still ${st:-unknown} after ${timeout_s}s"
    sleep 0.2
done

trap - EXIT
log "up in $((SECONDS - t0))s: node localhost ($cpus CPUs), partitions debug (default) and short"
printf 'export SLURM_CONF=%q\n' "$SLURM_CONF"
printf 'export SLURM_CI_STATE_DIR=%q\n' "$state"
