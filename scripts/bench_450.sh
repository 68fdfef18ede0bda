#!/usr/bin/env bash
# Side-by-side benchmark of glifnet vs NEST (BMTK PointNet) on the bmtk example point_450glifs
# (3000 ms). Usage: scripts/bench_450.sh [DT...]   (default: 0.01 0.001)
# Env: GLIFNET_SHARED (default ../shared), REF_DIR (the reference simulators' install folder of
#      $GLIFNET_SHARED/tools/ref-setup.sh, default $HOME/.cache/glifnet-ref; NEST is
#      $REF_DIR/venv/bin/python), THREADS ("1 2"), SKIP_NEST=1 to time glifnet only.
# Copies point_450glifs and point_components side by side into a temp dir (never writes into
# the shared folder), runs both simulators from the example folder, and prints a table:
# simulate time, ns per neuron-step, ns per synaptic event, speed-up vs NEST.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${GLIFNET_SHARED:-$ROOT/../shared}
REF_DIR=${REF_DIR:-$HOME/.cache/glifnet-ref}
NEST_PY=$REF_DIR/venv/bin/python
if [ "${SKIP_NEST:-0}" != 1 ] && [ ! -x "$NEST_PY" ]; then
  echo "[bench] NEST not found at $NEST_PY (run $SHARED/tools/ref-setup.sh, set REF_DIR, or SKIP_NEST=1)" >&2
  exit 1
fi
THREADS=${THREADS:-"1 2"}
DTS=("$@"); [ ${#DTS[@]} -eq 0 ] && DTS=(0.01 0.001)
cargo build --release --quiet
BIN=$ROOT/target/release/glifnet
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
cp -r "$SHARED/data/bmtk/point_450glifs" "$SHARED/data/bmtk/point_components" "$TMP/"
EX=$TMP/point_450glifs
printf '%-6s %-3s %8s %8s %8s %8s %8s %9s %9s %7s %7s\n' dt thr nest_s nest_cpu glif_s glif_cpu glif_all ns/nstep ns/event x_wall x_cpu
for dt in "${DTS[@]}"; do
  python3 - "$EX/config.simulation.json" "$EX/config.dt$dt.json" "$dt" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["run"]["dt"] = float(sys.argv[3])
c["output"]["output_dir"] = "$BASE_DIR/output_dt" + sys.argv[3]
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
  steps=$(python3 -c "print(round(3000/$dt))")
  for th in $THREADS; do
    nest='{"t_run_s": "NA", "cpu_run_s": "NA"}'
    if [ "${SKIP_NEST:-0}" != 1 ]; then
      nest=$(cd "$EX" && "$NEST_PY" "$ROOT/scripts/nest_time.py" "config.dt$dt.json" --threads "$th" 2>/dev/null | grep '^{' | tail -1)
    fi
    out=$(cd "$EX" && /usr/bin/time -f "CPU %U %S" "$BIN" run "config.dt$dt.json" --threads "$th" --output-dir "glif_out_${dt}_$th" 2>&1)
    python3 - "$dt" "$th" "$nest" "$steps" "$out" <<'PY'
import json, re, sys
dt, th, nest, steps, out = sys.argv[1:]
nest = json.loads(nest); steps = int(steps)
sim = float(re.search(r"simulate ([0-9.]+) s", out).group(1))
ev = int(re.search(r"([0-9]+) events", out).group(1))
u, s_ = map(float, re.search(r"CPU ([0-9.]+) ([0-9.]+)", out).groups())
allw = sum(float(x) for x in re.search(r"build ([0-9.]+) s \| simulate ([0-9.]+) s \| write ([0-9.]+) s", out).groups())
cpu = u + s_
# ns per neuron-step and per event from CPU time (robust on a loaded machine); 1 thread: = wall
ns_step = cpu / (450 * steps) * 1e9
ns_ev = cpu / ev * 1e9
nw, nc = nest["t_run_s"], nest["cpu_run_s"]
xw = f"{float(nw)/sim:7.1f}" if nw != "NA" else "     NA"
xc = f"{float(nc)/cpu:7.1f}" if nc != "NA" else "     NA"
print(f"{dt:<6} {th:<3} {nw!s:>8} {nc!s:>8} {sim:8.3f} {cpu:8.3f} {allw:8.3f} {ns_step:9.2f} {ns_ev:9.1f} {xw} {xc}")
PY
  done
done
echo "nest_s/nest_cpu = wall/CPU s of NEST's simulate (BMTK sim.run); glif_s = glifnet simulate phase (wall);"
echo "glif_cpu = CPU s of the whole glifnet process (build+simulate+write); glif_all = its build+simulate+write wall s;"
echo "ns/nstep, ns/event = glif_cpu per neuron-step (450 x steps) and per synaptic event; x_wall = nest_s/glif_s; x_cpu = nest_cpu/glif_cpu"
