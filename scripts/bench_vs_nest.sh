#!/usr/bin/env bash
# Side-by-side benchmark: build a network at scale N with glifnet, run it with glifnet and with
# BMTK/NEST at the same dt and thread counts, print one table (see bench_vs_nest.py).
#
#   bash scripts/bench_vs_nest.sh [--spec SPEC] [--scale N] [--dt DT...] [--tstop MS]
#                                 [--threads T...] [--workdir DIR] [--no-nest]
# e.g. bash scripts/bench_vs_nest.sh --scale 10 --dt 0.1 --threads 1 2
#
# NEST comes from the venv $REF_DIR/venv made by $GLIFNET_SHARED/tools/ref-setup.sh (REF_DIR as
# there, default $HOME/.cache/glifnet-ref); without it only glifnet runs (with a message).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
REF_DIR=${REF_DIR:-$HOME/.cache/glifnet-ref}
VENV=$REF_DIR/venv
SHARED=${GLIFNET_SHARED:-$ROOT/../shared}
args=("$@")
has() { for a in "${args[@]}"; do [ "$a" = "$1" ] && return 0; done; return 1; }
has --spec || args+=(--spec "$ROOT/networks/scaled_450glifs/spec.json")
has --workdir || args+=(--workdir "${TMPDIR:-/tmp}/glifnet-bench")
cargo build --release --quiet
PY=python3
if [ -x "$VENV/bin/python" ]; then
  PY="$VENV/bin/python"
else
  echo "[bench] reference venv not found at $VENV: running glifnet only (set REF_DIR)" >&2
  args+=(--no-nest)
fi
if [ ! -x /usr/bin/time ]; then echo "[bench] /usr/bin/time is required (apt-get install time)" >&2; exit 1; fi
exec "$PY" "$ROOT/scripts/bench_vs_nest.py" --glifnet "$ROOT/target/release/glifnet" \
  --run-bmtk "$SHARED/tools/run_bmtk.py" "${args[@]}"
