#!/usr/bin/env bash
# The main job: build the shipped cortical circuit networks/v1_l4 (only if its generated files
# are missing) and run it with glifnet, which writes spikes and a per-population summary to
# networks/v1_l4/output/. Extra arguments are passed to `glifnet run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release
GLIFNET=./target/release/glifnet
NET=networks/v1_l4
# (re)build when the generated config is missing or older than the spec or a model file
if [ ! -f "$NET/config.simulation.json" ] \
   || [ -n "$(find "$NET/spec.json" "$NET/models" -newer "$NET/config.simulation.json" -print -quit)" ]; then
  echo "[glifnet] building $NET (first run or changed spec)" >&2
  "$GLIFNET" build "$NET"
fi
"$GLIFNET" run "$NET/config.simulation.json" "$@"
