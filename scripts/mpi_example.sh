#!/usr/bin/env bash
# A 2-rank MPI run on one machine (issue #8): build glifnet with the `mpi` feature, build the
# point_450glifs-like network networks/scaled_450glifs into a temporary folder, run it once in
# one process and once under `mpirun -np 2`, and check the two spikes.csv files are identical.
#   scripts/mpi_example.sh [RANKS] [SCALE]      (defaults: 2 ranks, scale 1 = 450 cells, 3 s)
# Same total cores: the single process gets RANKS threads, each rank 1 thread. Times, peak RSS
# per process and the all-gather time per epoch (from output/log.txt) are printed; with
# SCALE 10 this is the issue #8 bench.
# Needs: apt-get install libopenmpi-dev openmpi-bin libclang-dev
set -euo pipefail
cd "$(dirname "$0")/.."
RANKS=${1:-2}
SCALE=${2:-1}
cargo build --release --features mpi
GLIFNET=$PWD/target/release/glifnet
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$GLIFNET" build networks/scaled_450glifs -o "$WORK/net" --scale "$SCALE"
cd "$WORK/net"
# Open MPI refuses to start as root unless told; --oversubscribe allows more ranks than cores
MPIRUN=(mpirun --oversubscribe)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
echo "== 1 process, $RANKS threads"
/usr/bin/time -f "   process: wall %e s, peak RSS %M KB" \
  "$GLIFNET" run config.simulation.json --threads "$RANKS" --output-dir single --quiet
grep -o "build .*" single/log.txt | sed 's/^/   /'
echo "== mpirun -np $RANKS, 1 thread per rank"
/usr/bin/time -f "   mpirun: wall %e s" \
  "${MPIRUN[@]}" -np "$RANKS" /usr/bin/time -f "   rank: wall %e s, peak RSS %M KB" \
  "$GLIFNET" run config.simulation.json --threads 1 --output-dir mpi --quiet
grep -o "build .*" mpi/log.txt | sed 's/^/   /'
grep -o "MPI rank.*" mpi/log.txt | sed 's/^/   /'
if cmp -s single/spikes.csv mpi/spikes.csv; then
  echo "spikes.csv identical ($(($(wc -l < mpi/spikes.csv) - 1)) spikes)"
else
  echo "spikes.csv DIFFER" >&2
  exit 1
fi
