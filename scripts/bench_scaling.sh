#!/usr/bin/env bash
# Thread scaling against the machine's own ceiling, on point_450glifs (dt 0.001 ms by default):
#   solo      one 1-thread run alone
#   pair      two independent 1-thread runs at the same time (no shared work at all): how much
#             the second core slows the first, i.e. the best speed-up any 2-thread run can get
#   threads2  one 2-thread run of the same job
# Each row is the best of R repeats (simulate seconds, from glifnet's summary line).
#
#   bash scripts/bench_scaling.sh [DT] [TSTOP_MS] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${GLIFNET_SHARED:-$ROOT/../shared}
DT=${1:-0.001}
TSTOP=${2:-1000}
R=${3:-5}
cargo build --release --quiet
BIN="$ROOT/target/release/glifnet"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cp -r "$SHARED/data/bmtk/point_450glifs" "$SHARED/data/bmtk/point_components" "$TMP/"
cd "$TMP/point_450glifs"
sim() { # threads outdir -> simulate seconds
  "$BIN" run config.simulation.json --dt "$DT" --tstop "$TSTOP" --threads "$1" --output-dir "$2" \
    --quiet --no-plot >/dev/null 2>&1
  grep -o 'simulate [0-9.]* s' "$2/log.txt" | awk '{print $2}'
}
best() { sort -g | head -1; }
solo=(); pair_a=(); pair_b=(); two=()
for _ in $(seq "$R"); do
  solo+=("$(sim 1 "$TMP/o1"; rm -rf "$TMP/o1")")
  sim 1 "$TMP/pa" >"$TMP/a.txt" &
  sim 1 "$TMP/pb" >"$TMP/b.txt"
  wait
  pair_a+=("$(cat "$TMP/a.txt")"); pair_b+=("$(cat "$TMP/b.txt")")
  rm -rf "$TMP/pa" "$TMP/pb"
  two+=("$(sim 2 "$TMP/o2"; rm -rf "$TMP/o2")")
done
s=$(printf '%s\n' "${solo[@]}" | best)
# the pair finishes when its slower run does
p=$(paste <(printf '%s\n' "${pair_a[@]}") <(printf '%s\n' "${pair_b[@]}") \
    | awk '{print ($1 > $2 ? $1 : $2)}' | best)
t=$(printf '%s\n' "${two[@]}" | best)
echo "point_450glifs dt $DT ms, $TSTOP ms, best of $R (simulate s)"
printf '%-10s %8s  %s\n' solo "$s" "1 thread alone"
printf '%-10s %8s  %s\n' pair "$p" "slower of two 1-thread runs side by side: ceiling $(awk -v s="$s" -v p="$p" 'BEGIN{printf "%.2f", 2*s/p}')x"
printf '%-10s %8s  %s\n' threads2 "$t" "2 threads: speed-up $(awk -v s="$s" -v t="$t" 'BEGIN{printf "%.2f", s/t}')x"
