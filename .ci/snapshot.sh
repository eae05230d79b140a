#!/usr/bin/env bash
# Every output ESH writes, from one binary, into one directory, so that a refactoring can be
# proved byte-identical: run it with the binary before and after, then compare the two
# directories with `diff -r` (provenance.json's commit and clock fields are blanked here).
#
#   .ci/snapshot.sh BIN OUT [--quick]
#
# Covers every ready scenario (`esh run`), the parameter reference and baseline, plots, the
# ready sweep (plan, run in two shards, merge), every experiment (`esh reproduce --all`, in
# quick mode with --quick), a calibration comparison and a small fit, and the error messages
# of a set of bad inputs (`esh check`, `esh sweep plan`, `esh reproduce FILE`, `esh calibrate --targets`).
set -euo pipefail
esh=$(realpath "$1"); out=$2; quick=${3:-}
repo=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$out"; mkdir -p "$out"; out=$(realpath "$out")
cd "$repo"
blank() { # provenance: drop what a rebuild, the clock or the binary's path changes
    find "$1" -name provenance.json -print0 | xargs -0 -r python3 -c '
import json, sys
for p in sys.argv[1:]:
    d = json.load(open(p))
    for k in ("git_commit", "started_unix_seconds", "wall_time_seconds", "command_line"):
        d.pop(k, None)
    json.dump(d, open(p, "w"), indent=2, sort_keys=True)
'
}
for s in scenarios/*.toml; do
    n=$(basename "$s" .toml)
    "$esh" run "$s" --out "$out/run/$n" -q -j 2
done
"$esh" params > "$out/params.md"
"$esh" params --baseline > "$out/baseline.toml"
"$esh" run --out "$out/run/embedded" -q
"$esh" plot "$out/run/baseline" -q
"$esh" sweep plan sweeps/tolerance.toml --out "$out/sweep" > "$out/sweep-plan.txt"
"$esh" sweep run "$out/sweep" --shard 0/2 -q > /dev/null 2>&1
"$esh" sweep run "$out/sweep" --shard 1/2 -q > /dev/null 2>&1
"$esh" sweep merge "$out/sweep" > "$out/sweep-merge.txt" 2>&1
"$esh" sweep status "$out/sweep" > "$out/sweep-status.txt" 2>&1 || true
rm -rf "$out/sweep/shards" # records in the order runs finished: merge orders them
if [ "$quick" = --quick ]; then
    "$esh" reproduce --all --quick --out "$out/rep" > "$out/reproduce.txt" 2>/dev/null || true
else
    "$esh" reproduce --all --out "$out/rep" > "$out/reproduce.txt" 2>/dev/null || true
fi
"$esh" calibrate scenarios/torch_1988_2017.toml --targets scenarios/targets/torch.toml \
    --replications 2 > "$out/cal-compare.txt" 2>/dev/null
"$esh" calibrate scenarios/torch_1988_2017.toml --targets scenarios/targets/torch.toml \
    --params firms.spinoff_births=1.5:3.5 firms.initial=150:300 --samples 6 --replications 1 \
    --out "$out/cal-fit" > "$out/cal-fit.txt" 2>/dev/null
# Bad inputs: the messages are part of the product.
bad=$(mktemp -d)
i=0
bad_case() { # KIND TEXT: write TEXT to a file and record what esh says of it
    i=$((i + 1)); local f="$bad/case$i.toml"; printf '%s\n' "$2" | sed "s#REPO#$repo#g" > "$f"
    case $1 in
        scenario) "$esh" check "$f" ;;
        sweep) "$esh" sweep plan "$f" --out "$bad/sw$i" ;;
        experiment) "$esh" reproduce "$f" --quick --out "$bad/rep$i" ;;
        targets) "$esh" calibrate scenarios/baseline.toml --targets "$f" --params centre.tolerance=0:1 --samples 2 --replications 1 --out "$bad/cal$i" ;;
    esac > "$out/bad-$i.out" 2> "$out/bad-$i.err" || echo "exit $?" >> "$out/bad-$i.err"
    sed -i "s#$bad#BAD#g; s#$repo#REPO#g" "$out/bad-$i.out" "$out/bad-$i.err"
}
bad_case scenario '[zones]
tolerance = 0.5'
bad_case scenario '[centre]
tolerence = 0.5'
bad_case scenario '[landscape]
n = 4
k = 9'
bad_case scenario '[run]
ticks = "ten"'
bad_case scenario '[run
ticks = 3'
bad_case scenario '[[events]]
year = 1990
action = "set"
key = "centre.mandate_share"
value = 2.0'
bad_case scenario '[[regions]]
name = "é"
zones = 3
[[regions]]
name = "é"
zones = 2'
bad_case scenario '[network]
kind = "smallworld"'
bad_case sweep '[sweep]
scenario = "REPO/scenarios/baseline.toml"
[axes]
"centre.tolerence" = { from = 0.0, to = 1.0, steps = 3 }'
bad_case sweep '[sweep]
scenario = "nope.toml"'
bad_case sweep '[sweep]
scenario = "REPO/scenarios/baseline.toml"
replications = 0'
bad_case experiment '[experiment]
id = "X"'
bad_case experiment '[experiment]
id = "X"
title = "t"
claim = "c"
[[regime]]
name = "a"'
bad_case targets '[[target]]
name = "t"
metric = "nope"
year = 1990
value = 1'
bad_case targets '[[target]]
name = "t"
metric = "firms"'
rm -rf "$bad"
blank "$out"
# Shard records are in the order runs finished (merge orders them): keep their rows, sorted.
find "$out" -path '*/shards/*.csv' -print0 | xargs -0 -r -I{} sh -c 'sort -o "$1" "$1"' _ {}
# Printed summaries: the output path and the wall-clock time are not results.
grep -rlI -e "$out" -e "$esh" -e "$repo" -e "Run time" "$out" | xargs -r sed -i -E "s#$esh#ESH#g; s#$out#OUT#g; s#$repo#REPO#g; s/Run time [0-9.]+ (s|ms|min)/Run time T/g"
find "$out" -maxdepth 1 -name '*.txt' -print0 | xargs -0 -r sed -i -E \
    " s/in [0-9.]+ (s|ms|min)/in T/g; s/[0-9.]+ (s|ms) (wall|elapsed)/T \\2/g"
echo "snapshot in $out"
