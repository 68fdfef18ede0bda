#!/usr/bin/env bash
# Benchmark: 1 s of a GLIF5 cell at dt 5e-6 s (200,000 steps), glifnet vs AllenSDK GlifNeuron,
# both measured in this one run on the same stimulus (docs/glif.md §9.1 `sines`), with a check
# that both give the same spike steps. Target: glifnet >= 100x faster.
#
# Needs the AllenSDK venv of $GLIFNET_SHARED/tools/ref-setup.sh (default
# /root/.cache/glifnet-ref/venv-allen; override with ALLEN_PYTHON) and the reference data
# ($GLIFNET_SHARED, default ../shared). Optional: CONFIG (an Allen GLIF neuron_config.json),
# REPEATS (glifnet repetitions, default 5; the minimum is reported).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${GLIFNET_SHARED:-../shared}"
ALLEN_PYTHON="${ALLEN_PYTHON:-/root/.cache/glifnet-ref/venv-allen/bin/python}"
CONFIG="${CONFIG:-$SHARED/data/glif/allen/bmtk_637930677_lif_r_asc_a.json}"
REPEATS="${REPEATS:-5}"
DT=5e-6
DURATION=1.0
[ -f "$CONFIG" ] || { echo "config not found: $CONFIG (set GLIFNET_SHARED or CONFIG)" >&2; exit 1; }
[ -x "$ALLEN_PYTHON" ] || { echo "AllenSDK python not found: $ALLEN_PYTHON (run $SHARED/tools/ref-setup.sh or set ALLEN_PYTHON)" >&2; exit 1; }

cargo build --release -q
BIN=target/release/glifnet
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "[bench] config $(basename "$CONFIG"), dt $DT s, $DURATION s (200,000 steps)" >&2
echo "[bench] AllenSDK GlifNeuron.run ..." >&2
"$ALLEN_PYTHON" scripts/bench_neuron_allensdk.py "$CONFIG" "$DT" "$DURATION" "$WORK/stim.txt" > "$WORK/allen.json"

echo "[bench] glifnet neuron x $REPEATS ..." >&2
for i in $(seq "$REPEATS"); do
  s=$(date +%s.%N)
  "$BIN" neuron "$CONFIG" --dt "$DT" --stimulus "$WORK/stim.txt" -o "$WORK/out" > /dev/null
  e=$(date +%s.%N)
  python3 - "$WORK/out/summary.json" "$s" "$e" >> "$WORK/glifnet.txt" <<'PY'
import json, sys
print(json.load(open(sys.argv[1]))["simulate_s"], float(sys.argv[3]) - float(sys.argv[2]))
PY
done

python3 - "$WORK/allen.json" "$WORK/glifnet.txt" "$WORK/out/spikes.csv" <<'PY'
import json, sys
allen = json.load(open(sys.argv[1]))
rows = [tuple(map(float, l.split())) for l in open(sys.argv[2])]
sim = min(r[0] for r in rows)
wall = min(r[1] for r in rows)
lines = open(sys.argv[3]).read().split("\n")[1:]
spikes = [tuple(map(float, l.split(","))) for l in lines if l]
dt = 5e-6
steps = [round(g / dt) for g, _ in spikes]
same = steps == allen["spike_time_steps"]
dtmax = max((abs(a - b) for (_, a), b in zip(spikes, allen["interpolated_spike_times"])), default=0.0)
t_allen = allen["allensdk_run_s"]
print(f"AllenSDK GlifNeuron.run:              {t_allen:10.4f} s")
print(f"glifnet simulation (min of {len(rows)}):       {sim:10.6f} s   -> {t_allen / sim:10.0f}x faster")
print(f"glifnet whole command incl. file I/O: {wall:10.4f} s   -> {t_allen / wall:10.0f}x faster")
print(f"spikes: AllenSDK {len(allen['spike_time_steps'])}, glifnet {len(steps)}; identical steps: {same}; "
      f"max |interpolated time difference| {dtmax:.2e} s")
sys.exit(0 if same else 1)
PY
