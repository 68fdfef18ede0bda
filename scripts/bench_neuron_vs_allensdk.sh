#!/usr/bin/env bash
# Benchmark: 1 s of a GLIF5 cell at dt 5e-6 s (200,000 steps), glifnet vs AllenSDK GlifNeuron,
# both measured in this one run on the same stimulus (docs/glif.md §9.1 `sines`), with a check
# that both give the same spike steps. Target: glifnet >= 100x faster.
#
# Needs the AllenSDK venv of $GLIFNET_SHARED/tools/ref-setup.sh ($REF_DIR/venv-allen; REF_DIR as
# in ref-setup.sh, default $HOME/.cache/glifnet-ref) and the reference data
# ($GLIFNET_SHARED, default ../shared). Optional: CONFIG (an Allen GLIF neuron_config.json),
# REPEATS (glifnet repetitions, default 5; the minimum is reported).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${GLIFNET_SHARED:-../shared}"
REF_DIR="${REF_DIR:-$HOME/.cache/glifnet-ref}"
ALLEN_PYTHON="$REF_DIR/venv-allen/bin/python"
CONFIG="${CONFIG:-$SHARED/data/glif/allen/bmtk_637930677_lif_r_asc_a.json}"
REPEATS="${REPEATS:-5}"
DT=5e-6
DURATION=1.0
[ -f "$CONFIG" ] || { echo "config not found: $CONFIG (set GLIFNET_SHARED or CONFIG)" >&2; exit 1; }
[ -x "$ALLEN_PYTHON" ] || { echo "AllenSDK python not found: $ALLEN_PYTHON (run $SHARED/tools/ref-setup.sh or set REF_DIR)" >&2; exit 1; }

cargo build --release -q
BIN=target/release/glifnet
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "[bench] config $(basename "$CONFIG"), dt $DT s, $DURATION s (200,000 steps)" >&2
echo "[bench] AllenSDK GlifNeuron.run ..." >&2
"$ALLEN_PYTHON" scripts/bench_neuron_allensdk.py "$CONFIG" "$DT" "$DURATION" "$WORK/stim.txt" > "$WORK/allen.json"

echo "[bench] glifnet neuron x $REPEATS ..." >&2
python3 - "$BIN" "$CONFIG" "$DT" "$WORK" "$REPEATS" "$WORK/allen.json" <<'PY'
import json, os, resource, subprocess, sys, time
binary, config, dt, work, repeats, allen_file = sys.argv[1:7]
dt = float(dt)
sim, wall, cpu = [], [], []
for _ in range(int(repeats)):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([binary, "neuron", config, "--dt", repr(dt), "--stimulus", os.path.join(work, "stim.txt"),
                    "-o", os.path.join(work, "out")], check=True, stdout=subprocess.DEVNULL)
    wall.append(time.perf_counter() - t0)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu.append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
    sim.append(json.load(open(os.path.join(work, "out", "summary.json")))["simulate_s"])
allen = json.load(open(allen_file))
lines = open(os.path.join(work, "out", "spikes.csv")).read().split("\n")[1:]
spikes = [tuple(map(float, l.split(","))) for l in lines if l]
steps = [round(g / dt) for g, _ in spikes]
same = steps == allen["spike_time_steps"]
dtmax = max((abs(a - b) for (_, a), b in zip(spikes, allen["interpolated_spike_times"])), default=0.0)
ta, ca = allen["allensdk_run_s"], allen["allensdk_run_cpu_s"]
print(f"AllenSDK GlifNeuron.run (one run):        wall {ta:9.4f} s, CPU {ca:9.4f} s")
print(f"glifnet simulation only (min of {len(sim)}):    wall {min(sim):9.6f} s  -> {ta / min(sim):7.0f}x faster")
print(f"glifnet whole command incl. file I/O:     wall {min(wall):9.4f} s  -> {ta / min(wall):7.0f}x faster")
print(f"                                           CPU {min(cpu):9.4f} s  -> {ca / min(cpu):7.0f}x less CPU")
print(f"spikes: AllenSDK {len(allen['spike_time_steps'])}, glifnet {len(steps)}; identical steps: {same}; "
      f"max |interpolated time difference| {dtmax:.2e} s; load average {os.getloadavg()[0]:.1f}")
sys.exit(0 if same else 1)
PY
