#!/usr/bin/env bash
# Side-by-side benchmark of glifnet vs NEST (BMTK PointNet) on the bmtk example point_450glifs
# (3000 ms). Usage: scripts/bench_450.sh [DT...]   (default: 0.01 0.001)
# Env: GLIFNET_SHARED (default ../shared), NEST_PY (BMTK/NEST venv python), THREADS ("1 2"),
#      SKIP_NEST=1 to time glifnet only.
# Copies point_450glifs and point_components side by side into a temp dir (never writes into
# the shared folder), runs both simulators from the example folder, and prints a table:
# simulate time, ns per neuron-step, ns per synaptic event, speed-up vs NEST.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${GLIFNET_SHARED:-$ROOT/../shared}
NEST_PY=${NEST_PY:-/root/.cache/glifnet-ref/venv/bin/python}
THREADS=${THREADS:-"1 2"}
DTS=("$@"); [ ${#DTS[@]} -eq 0 ] && DTS=(0.01 0.001)
cargo build --release --quiet
BIN=$ROOT/target/release/glifnet
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
cp -r "$SHARED/data/bmtk/point_450glifs" "$SHARED/data/bmtk/point_components" "$TMP/"
EX=$TMP/point_450glifs
printf '%-7s %-3s %10s %10s %9s %11s %11s %9s %9s\n' dt thr nest_s glif_s glif_all_s ns/nrn-step ns/event x_sim x_proc
for dt in "${DTS[@]}"; do
  python3 - "$EX/config.simulation.json" "$EX/config.dt$dt.json" "$dt" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["run"]["dt"] = float(sys.argv[3])
c["output"]["output_dir"] = "$BASE_DIR/output_dt" + sys.argv[3]
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
  steps=$(python3 -c "print(round(3000/$dt))")
  for th in $THREADS; do
    nest_s=NA
    if [ "${SKIP_NEST:-0}" != 1 ]; then
      nest_s=$(cd "$EX" && "$NEST_PY" "$SHARED/tools/run_bmtk.py" "config.dt$dt.json" --threads "$th" 2>/dev/null \
        | python3 -c 'import json,sys; print([json.loads(l) for l in sys.stdin if l.startswith("{")][-1]["t_run_s"])')
    fi
    start=$(date +%s.%N)
    out=$(cd "$EX" && "$BIN" run "config.dt$dt.json" --threads "$th" --output-dir "glif_out_${dt}_$th" 2>&1)
    end=$(date +%s.%N)
    sim=$(echo "$out" | sed -n 's/.*simulate \([0-9.]*\) s.*/\1/p')
    events=$(echo "$out" | sed -n 's/.* \([0-9]*\) events.*/\1/p')
    python3 - "$dt" "$th" "$nest_s" "$sim" "$start" "$end" "$steps" "$events" <<'PY'
import sys
dt, th, nest, sim, s, e, steps, ev = sys.argv[1:]
sim = float(sim); whole = float(e) - float(s); steps = int(steps); ev = int(ev or 0)
ns_step = sim / (450 * steps) * 1e9
ns_ev = sim / ev * 1e9 if ev else float("nan")
xs = f"{float(nest)/sim:9.1f}" if nest != "NA" else "       NA"
xp = f"{float(nest)/whole:9.1f}" if nest != "NA" else "       NA"
print(f"{dt:<7} {th:<3} {nest:>10} {sim:10.3f} {whole:9.3f} {ns_step:11.2f} {ns_ev:11.2f} {xs} {xp}")
PY
  done
done
echo "nest_s = nest.Simulate time (run_bmtk.py t_run_s); glif_s = glifnet simulate phase; glif_all_s = whole glifnet process;"
echo "x_sim = nest_s/glif_s; x_proc = nest_s/glif_all_s; ns/nrn-step = glif_s/(450*steps); ns/event = glif_s/synaptic events"
