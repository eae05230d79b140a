#!/usr/bin/env bash
# ESH side by side with the Lazer & Friedman peers (benches/peers/: the idiomatic Mesa 3
# model and the vectorised numpy one, copies of shared/peers/), on the same machine in one
# run, one thread unless said otherwise. Each workload runs ESH and the peers interleaved,
# REPS times, and the table reports medians and the ratios.
#
#   benches/compare.sh            # the full set, three times (about 10 minutes on a 2-core VM)
#   REPS=1 benches/compare.sh     # once (about 3 minutes)
#   benches/compare.sh --quick    # fewer landscapes, once (about 2 minutes)
#
# The peers are installed into a virtual environment outside the repository,
# ${ESH_PEERS_VENV:-$HOME/.cache/esh/peers-venv} (python3 -m venv; pip install
# "mesa[network]==3.3.1", which brings numpy). Needs python3 with venv and network access
# the first time. ESH is built with `cargo build --release`.
#
# What is compared (agent-steps = zones x ticks x replications):
# - step loop: the peers' own step-loop time (they print it; setup and maximum search
#   excluded) against ESH's whole process (landscape, maximum, every output written), so
#   the ratio understates ESH; numpy's rate is that of its end-to-end run (its step loop
#   runs at the same rate over 1,000 landscapes as over 2,000, and each costs 0.05 s of
#   maximum search);
# - end to end: whole processes, maximum search and outputs included;
# - memory: peak resident set size of each process (/usr/bin/time -v).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
quick=${1:-}
reps=${REPS:-3}; lands=2000; e2e=1000; mesa_lands=20; ring=200000; mesa_ring=10000
if [ "$quick" = "--quick" ]; then reps=1; lands=200; e2e=100; mesa_lands=5; ring=20000; mesa_ring=2000; fi

venv=${ESH_PEERS_VENV:-$HOME/.cache/esh/peers-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import mesa, numpy" 2> /dev/null; then
    echo "installing the peers into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q "mesa[network]==3.3.1"
fi
py=$venv/bin/python
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
(cd "$repo" && cargo build --release -q)
esh=$repo/target/release/esh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A ring-lattice (degree 4) copy of the linear scenario with one region of $1 zones.
ring_scenario() {
    sed -e 's/^kind = "linear"/kind = "ring"\ndegree = 4/' -e "s/^zones = 100$/zones = $1/" \
        "$repo/scenarios/lazer_friedman_linear.toml" > "$tmp/ring_$1.toml"
    echo "$tmp/ring_$1.toml"
}

# timed LABEL CMD...: runs CMD, appends "LABEL wall_s rss_kb loop_s" to $tmp/times
# (loop_s: the peer's printed step-loop time, or the wall time for ESH).
timed() {
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" > "$tmp/stdout" 2> "$tmp/stderr" || {
        cat "$tmp/stderr" >&2
        exit 1
    }
    read -r wall rss < "$tmp/t"
    loop=$(sed -n 's/^step loop: \([0-9.]*\) s.*/\1/p' "$tmp/stdout")
    echo "$label $wall $rss ${loop:-$wall}" >> "$tmp/times"
}

for ((r = 0; r < reps; r++)); do
    for net in linear full; do
        timed "esh_$net" "$esh" run "$repo/scenarios/lazer_friedman_$net.toml" --replications "$lands" -j 1 -q --force --out "$tmp/o"
        timed "mesa_$net" "$py" "$repo/benches/peers/mesa_lf.py" --network "$net" --agents 100 --ticks 100 --landscapes "$mesa_lands" --seed 1 --out "$tmp/mesa.csv"
        timed "e2e_esh_$net" "$esh" run "$repo/scenarios/lazer_friedman_$net.toml" --replications "$e2e" -j 1 -q --force --out "$tmp/o"
        timed "e2e_esh2_$net" "$esh" run "$repo/scenarios/lazer_friedman_$net.toml" --replications "$e2e" -j 2 -q --force --out "$tmp/o"
        timed "e2e_numpy_$net" "$py" "$repo/benches/peers/numpy_lf.py" --network "$net" --agents 100 --ticks 100 --landscapes "$e2e" --seed 1 --out "$tmp/np.csv"
    done
    # The ring as a user runs it: normalised (one 2^20 search), outputs on.
    timed esh_ring "$esh" run "$(ring_scenario "$ring")" -j 1 -q --force --out "$tmp/o" --replications 1
    timed numpy_ring "$py" "$repo/benches/peers/numpy_lf.py" --network ring --agents "$ring" --ticks 100 --landscapes 1 --seed 1 --out "$tmp/np.csv"
    timed mesa_ring "$py" "$repo/benches/peers/mesa_lf.py" --network ring --agents "$mesa_ring" --ticks 100 --landscapes 1 --seed 1 --out "$tmp/mesa.csv"
done

model=$(sed -n 's/^Model name: *//p' <(lscpu) | head -1)
flags=$(grep -o -w 'avx512f\|avx2\|bmi2' /proc/cpuinfo | sort -u | tr '\n' ' ')
python3 - "$tmp/times" "$lands" "$mesa_lands" "$ring" "$mesa_ring" "$e2e" "$reps" "$model" "$flags" << 'EOF'
import statistics, sys
path, lands, mesa_lands, ring, mesa_ring, e2e, reps = sys.argv[1], *map(int, sys.argv[2:8])
model, flags = sys.argv[8], sys.argv[9]
rows = {}
for line in open(path):
    label, wall, rss, loop = line.split()
    rows.setdefault(label, []).append((float(wall), int(rss), float(loop)))
med = lambda label, i: statistics.median(r[i] for r in rows[label])
steps = {"linear": (100 * 100 * lands, 100 * 100 * mesa_lands), "full": (100 * 100 * lands, 100 * 100 * mesa_lands),
         "ring": (ring * 100, mesa_ring * 100)}
print(f"CPU: {model} ({flags.strip()}); one thread unless said; medians of {reps}\n")
print("| step loop | ESH agent-steps/s (whole process) | numpy (step loop) | Mesa (step loop) | ESH / numpy | ESH / Mesa | peak RSS ESH / numpy / Mesa |")
print("|---|---|---|---|---|---|---|")
for net, (s, ms) in steps.items():
    size = f"{ring:,} zones x 1" if net == "ring" else f"100 zones x {lands:,}"
    ns = ring * 100 if net == "ring" else 100 * 100 * e2e
    np_label = "numpy_ring" if net == "ring" else f"e2e_numpy_{net}"
    e, n, m = s / med(f"esh_{net}", 0), ns / med(np_label, 2), ms / med(f"mesa_{net}", 2)
    rss = " / ".join(f"{med(l, 1) / 1024:.0f} MiB" for l in (f"esh_{net}", np_label, f"mesa_{net}"))
    print(f"| {net}, {size} | {e / 1e6:.1f} M | {n / 1e6:.2f} M | {m / 1e3:.0f} k | {e / n:.1f}x | {e / m:.0f}x | {rss} |")
print()
print(f"| end to end, {e2e:,} landscapes x 100 zones x 100 ticks | ESH 1 thread | ESH 2 threads | numpy | numpy / ESH 1 | ESH 1 / ESH 2 |")
print("|---|---|---|---|---|---|")
tot = {k: 0.0 for k in ("esh", "esh2", "numpy")}
for net in ("linear", "full"):
    t = {k: med(f"e2e_{k}_{net}", 0) for k in tot}
    for k in tot:
        tot[k] += t[k]
    print(f"| {net} | {t['esh']:.2f} s | {t['esh2']:.2f} s | {t['numpy']:.1f} s | {t['numpy'] / t['esh']:.0f}x | {t['esh'] / t['esh2']:.2f}x |")
print(f"| both | {tot['esh']:.2f} s | {tot['esh2']:.2f} s | {tot['numpy']:.1f} s | {tot['numpy'] / tot['esh']:.0f}x | {tot['esh'] / tot['esh2']:.2f}x |")
EOF
