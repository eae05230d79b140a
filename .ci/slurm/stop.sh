#!/usr/bin/env bash
# Stop the cluster that .ci/slurm/start.sh STATE_DIR started: cancel its jobs,
# then TERM (and after ~10 s KILL) the daemons by their recorded PIDs.
# Idempotent: stopping a stopped (or never started) cluster succeeds.
#
#   .ci/slurm/stop.sh [STATE_DIR]    # default: $SLURM_CI_STATE_DIR
set -euo pipefail

log() { printf 'slurm-ci: %s\n' "$*" >&2; }

state="${1:-${SLURM_CI_STATE_DIR:-}}"
[[ -n "$state" ]] || { log "usage: $0 STATE_DIR"; exit 2; }
[[ -d "$state" ]] || exit 0
state="$(cd "$state" && pwd)"
[[ -s "$state/pids" ]] || exit 0
export PATH="$PATH:/usr/sbin:/sbin"

# PID of NAME from the pids file if that process still runs and still is NAME
# (a recycled PID must not be killed).
live_pid() {
    local name pid
    while read -r name pid; do
        [[ "$name" == "$1" ]] || continue
        if [[ -r "/proc/$pid/comm" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$1" ]]; then
            echo "$pid"
        fi
    done <"$state/pids"
}

# TERM the given PIDs, wait up to 10 s, then KILL what is left.
stop_pids() {
    [[ $# -gt 0 ]] || return 0
    kill -TERM "$@" 2>/dev/null || true
    local _ pid left
    for _ in $(seq 100); do
        left=0
        for pid in "$@"; do
            kill -0 "$pid" 2>/dev/null && left=1
        done
        [[ $left -eq 0 ]] && return 0
        sleep 0.1
    done
    log "still running after 10 s, killing: $*"
    kill -KILL "$@" 2>/dev/null || true
}

# Cancel jobs first: slurmd leaves running job steps (slurmstepd) behind when
# it stops, and they would outlive the cluster.
if [[ -n "$(live_pid slurmctld)" && -f "$state/slurm.conf" ]]; then
    export SLURM_CONF="$state/slurm.conf"
    jobs=$(timeout 10 squeue -h -o %A 2>/dev/null || true)
    if [[ -n "$jobs" ]]; then
        # shellcheck disable=SC2086 # one word per job id
        timeout 10 scancel $jobs 2>/dev/null || true
        for _ in $(seq 100); do
            [[ -z "$(timeout 5 squeue -h -o %A 2>/dev/null || true)" ]] && break
            sleep 0.1
        done
    fi
fi

# All at once: none needs another to shut down, and each takes 1-2 s.
# shellcheck disable=SC2046 # zero or more PIDs
stop_pids $(live_pid slurmd) $(live_pid slurmctld) $(live_pid munged)

# Whatever the cancel missed (e.g. slurmctld had died): slurmstepd and job
# processes outlive slurmd. They are told apart from other processes by this
# cluster's SLURM_CONF in their environment (slurmd hands it to slurmstepd, jobs
# carry SLURM_JOB_ID too); the caller's shell has SLURM_CONF but no job id.
conf_env="SLURM_CONF=$state/slurm.conf"
leftovers=()
for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [[ "$pid" == "$$" ]] && continue
    grep -qzxF "$conf_env" "$dir/environ" 2>/dev/null || continue
    if [[ "$(cat "$dir/comm" 2>/dev/null)" == slurmstepd ]] ||
        grep -qz '^SLURM_JOB_ID=' "$dir/environ" 2>/dev/null; then
        leftovers+=("$pid")
    fi
done
if [[ ${#leftovers[@]} -gt 0 ]]; then
    log "killing leftover job processes of this cluster: ${leftovers[*]}"
    kill -KILL "${leftovers[@]}" 2>/dev/null || true
fi

rm -f "$state/pids"
log "stopped (state kept in $state)"
