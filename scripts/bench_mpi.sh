#!/usr/bin/env bash
# Issue #8 bench: scaled_450glifs ×SCALE at dt 0.1 ms, 1 process × 2 threads vs mpirun -np 2 ×
# 1 thread (same total cores). Prints one table row per process: simulate time (rank 0's log),
# peak RSS (/usr/bin/time), compute time and all-gather time per epoch (the log's MPI lines;
# the all-gather time includes waiting for the slower rank), edges loaded.
#   scripts/bench_mpi.sh [SCALE] [TSTOP_MS]        (defaults: 10, 3000)
# GLIFNET_BIN=path/to/glifnet compares another build (an MPI-enabled one) instead.
# Needs: apt-get install libopenmpi-dev openmpi-bin libclang-dev
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-10}
TSTOP=${2:-3000}
if [ -n "${GLIFNET_BIN:-}" ]; then
  GLIFNET=$(realpath "$GLIFNET_BIN")
else
  cargo build --release --features mpi >&2
  GLIFNET=$PWD/target/release/glifnet
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$GLIFNET" build networks/scaled_450glifs -o "$WORK/net" --scale "$SCALE" >/dev/null
cd "$WORK/net"
export HDF5_USE_FILE_LOCKING=FALSE
MPIRUN=(mpirun --oversubscribe)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
RUN=(run config.simulation.json --dt 0.1 --tstop "$TSTOP" --quiet --no-plot)

/usr/bin/time -f "%M" -o rss.single "$GLIFNET" "${RUN[@]}" --threads 2 --output-dir single
# each rank writes its own peak RSS file, named by its rank
"${MPIRUN[@]}" -np 2 sh -c \
  'exec /usr/bin/time -f "%M" -o "rss.mpi.$OMPI_COMM_WORLD_RANK" "$0" "$@"' \
  "$GLIFNET" "${RUN[@]}" --threads 1 --output-dir mpi
cmp -s single/spikes.csv mpi/spikes.csv || { echo "spikes.csv DIFFER" >&2; exit 1; }

sim() { grep -o "simulate [0-9.]* s" "$1/log.txt" | awk '{print $2}'; }
syn=$(grep -o "[0-9]* synapses" single/log.txt | awk '{print $1}')
echo "scaled_450glifs x$SCALE: $(($(wc -l < single/spikes.csv) - 1)) spikes (identical), $syn synapses, dt 0.1 ms, $TSTOP ms"
echo
echo "| run | process | simulate (s) | peak RSS (MB) | compute (s) | all-gather (µs/epoch) | edges loaded |"
echo "|---|---|---|---|---|---|---|"
printf "| 1 rank × 2 threads | 0 | %s | %.1f | | | %s |\n" "$(sim single)" \
  "$(echo "$(cat rss.single) / 1024" | bc -l)" "$syn"
for r in 0 1; do
  line=$(grep "MPI rank $r of 2: " mpi/log.txt)
  compute=$(echo "$line" | grep -o "compute [0-9.]* s" | awk '{print $2}')
  gather=$(echo "$line" | grep -o "all-gather [0-9.]* µs/epoch" | awk '{print $2}')
  epochs=$(echo "$line" | grep -o "over [0-9]* epochs" | awk '{print $2}')
  edges=$(grep -o "MPI rank $r of 2 loaded [0-9]*" mpi/log.txt | awk '{print $NF}' || true)
  printf "| 2 ranks × 1 thread | %s | %s | %.1f | %s | %s (%s epochs) | %s |\n" "$r" "$(sim mpi)" \
    "$(echo "$(cat "rss.mpi.$r") / 1024" | bc -l)" "$compute" "$gather" "$epochs" "$edges"
done
