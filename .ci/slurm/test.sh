#!/usr/bin/env bash
# The sweep's Slurm test, against a real Slurm (started here, stopped at the end):
#  1. a sweep run as an 8-task job array and merged by the dependent merge job gives
#     results byte-identical to the same sweep run locally in one shard;
#  2. with one array task cancelled mid-run (scancel), the merge job reports the missing
#     runs; resubmitting the missing shard (`esh sweep slurm --missing --submit`) completes
#     the sweep, and the merged results are again byte-identical: nothing lost, nothing twice;
#  3. a calibration planned with `esh calibrate --plan-only`, run as a job array and fitted
#     with `esh calibrate --fit` gives the same fit, byte for byte, as one run in one go here.
#
#   .ci/slurm/test.sh            # from the repository root; needs root (it installs Slurm)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"

log() { printf 'slurm-test: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

work="$(mktemp -d /tmp/esh-slurm-test.XXXXXX)"
state="$work/slurm"
passed=0
cleanup() {
    "$root/.ci/slurm/stop.sh" "$state" || true
    # Kept for a look when the test failed.
    if ((passed)); then rm -rf "$work"; else log "files kept in $work"; fi
}
trap cleanup EXIT

cargo build --release --quiet
esh="$root/target/release/esh"

# 2,000 zones x 100 ticks per run; 8 tasks of 12 runs each take a few seconds apiece, long
# enough to cancel one in the middle.
cat > "$work/sweep.toml" <<EOF
[sweep]
replications = 4
design = "grid"

[scenario.run]
ticks = 100
[scenario.network]
kind = "random"
density = 0.005
[[scenario.regions]]
name = "all"
zones = 2000

[axes]
"centre.tolerance" = [0.0, 0.5, 1.0]
"zones.supervisors" = [1, 2, 3, 4, 5, 6, 7, 8]

[keep]
ticks = "final"
metrics = ["mean_performance", "diversity", "sanctions", "horizontal_adoptions"]
EOF

log "local reference run"
"$esh" sweep plan "$work/sweep.toml" --out "$work/local" >/dev/null
"$esh" sweep run "$work/local" --quiet
"$esh" sweep merge "$work/local" --quiet

eval "$("$root/.ci/slurm/start.sh" "$state")"
export SLURM_CONF

# Waits until none of the given jobs is pending, running or completing.
wait_jobs() {
    local deadline=$((SECONDS + 300))
    while [[ -n "$(squeue -h -j "$1" -t PD,R,CG,CF -o %i 2>/dev/null)" ]]; do
        ((SECONDS < deadline)) || die "jobs $1 still queued after 300 s"
        sleep 1
    done
}

# The job id that `esh sweep slurm --submit` reported for the array or the merge job.
job_id() { sed -n "s/.*submitted array job \([0-9]*\) .* and merge job \([0-9]*\).*/\\$1/p" "$2"; }

log "1. the whole sweep as an 8-task array"
"$esh" sweep plan "$work/sweep.toml" --out "$work/array" >/dev/null
"$esh" sweep slurm "$work/array" --tasks 8 --partition short --time 00:10:00 --submit >"$work/submit1.txt"
array=$(job_id 1 "$work/submit1.txt")
merge=$(job_id 2 "$work/submit1.txt")
[[ -n "$array" && -n "$merge" ]] || die "no job ids in: $(cat "$work/submit1.txt")"
wait_jobs "$array,$merge"
grep -q "merged 96 of 96 runs" "$work"/array/slurm/logs/merge-"$merge".out ||
    die "the merge job did not merge: $(cat "$work"/array/slurm/logs/merge-*.out)"
[[ $(ls "$work"/array/shards/shard-*-of-8.csv | wc -l) -eq 8 ]] || die "not 8 shard files"
cmp "$work/local/results.csv" "$work/array/results.csv" || die "results.csv differs from the local run"
cmp "$work/local/summary.csv" "$work/array/summary.csv" || die "summary.csv differs from the local run"
log "   array results are byte-identical to the local run"

log "2. cancel one task mid-run, then resubmit the missing shard"
"$esh" sweep plan "$work/sweep.toml" --out "$work/cancel" >/dev/null
"$esh" sweep slurm "$work/cancel" --tasks 8 --partition short --time 00:10:00 --throttle 2 --submit >"$work/submit2.txt"
array=$(job_id 1 "$work/submit2.txt")
merge=$(job_id 2 "$work/submit2.txt")
# Wait until task 0 is running and has completed at least one run, then cancel it.
deadline=$((SECONDS + 120))
until [[ -f "$work/cancel/shards/shard-0-of-8.running" ]] &&
    grep -q '^done,' "$work/cancel/shards/shard-0-of-8.csv" 2>/dev/null; do
    ((SECONDS < deadline)) || die "task 0 never started"
    sleep 0.05
done
scancel "${array}_0"
log "   cancelled task ${array}_0 after $(grep -c '^done,' "$work/cancel/shards/shard-0-of-8.csv") of its 12 runs"
wait_jobs "$array,$merge"
if grep -q "merged 96 of 96" "$work"/cancel/slurm/logs/merge-"$merge".out; then
    die "task 0 finished before it could be cancelled; the test needs longer runs"
fi
grep -q "the sweep is not complete" "$work"/cancel/slurm/logs/merge-"$merge".out ||
    die "the merge job did not report missing runs: $(cat "$work"/cancel/slurm/logs/merge-"$merge".out)"
"$esh" sweep status "$work/cancel" >"$work/status.txt"
grep -Eq '^0/8 .* (interrupted|stopped)' "$work/status.txt" || die "status does not show shard 0 interrupted: $(cat "$work/status.txt")"
[[ ! -f "$work/cancel/results.csv" ]] || die "an incomplete merge wrote results.csv"

"$esh" sweep slurm "$work/cancel" --tasks 8 --partition short --time 00:10:00 --missing --submit >"$work/submit3.txt"
grep -q "tasks 0)" "$work/submit3.txt" || die "--missing did not resubmit exactly task 0: $(cat "$work/submit3.txt")"
array=$(job_id 1 "$work/submit3.txt")
merge=$(job_id 2 "$work/submit3.txt")
wait_jobs "$array,$merge"
grep -q "merged 96 of 96 runs" "$work"/cancel/slurm/logs/merge-"$merge".out ||
    die "the second merge failed: $(cat "$work"/cancel/slurm/logs/merge-"$merge".out)"
cmp "$work/local/results.csv" "$work/cancel/results.csv" || die "results after the resubmission differ"
cmp "$work/local/summary.csv" "$work/cancel/summary.csv" || die "summary after the resubmission differs"
runs=$(tail -n +2 "$work/cancel/results.csv" | cut -d, -f1 | sort -n | uniq | wc -l)
rows=$(tail -n +2 "$work/cancel/results.csv" | wc -l)
[[ $runs -eq 96 && $rows -eq 96 ]] || die "expected 96 runs once each, found $runs distinct in $rows rows"
log "   after the resubmission: 96 runs, each once, byte-identical to the local run"

log "3. a calibration on the cluster"
cat > "$work/cal.toml" <<EOF
[run]
ticks = 20
start_year = 2000
[landscape]
n = 10
k = 2
[[regions]]
name = "A"
zones = 10
[firms]
enabled = true
initial = 300.0
spinoff_births = 0.2
seed_births = 0.0
EOF
cat > "$work/targets.toml" <<EOF
[[target]]
name = "firms_2020"
metric = "firms"
year = 2020
value = 5000
unit = "firms"
source = "a figure for the test"
EOF
cal() { "$esh" calibrate "$work/cal.toml" --targets "$work/targets.toml" \
    --params firms.spinoff_births=0.05:0.5 firms.hazard_old=0.01:0.3 --samples 24 --replications 2 -q "$@"; }
cal --out "$work/cal-local" >/dev/null
cal --out "$work/cal-array" --plan-only >/dev/null
"$esh" sweep slurm "$work/cal-array/sweep" --tasks 4 --partition short --time 00:10:00 --submit >"$work/submit4.txt"
array=$(job_id 1 "$work/submit4.txt")
merge=$(job_id 2 "$work/submit4.txt")
wait_jobs "$array,$merge"
"$esh" calibrate --fit "$work/cal-array" -q >/dev/null
for f in samples.csv targets.csv parameters.csv calibrated.toml report.md; do
    cmp "$work/cal-local/$f" "$work/cal-array/$f" || die "calibration $f differs from the local one"
done
log "   the fit after the job array is byte-identical to the local calibration"
log "passed"
passed=1
