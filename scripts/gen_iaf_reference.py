#!/usr/bin/env python
"""Generate NEST 3.10 reference spike times and V_m samples for iaf_psc_alpha, iaf_psc_exp and
iaf_psc_delta (issue #3). The numbers are pasted into tests/models_iaf.rs.

Run with the reference venv (../shared/tools/ref-setup.sh):
    "$REF_DIR"/venv/bin/python scripts/gen_iaf_reference.py /tmp/iaf_ref.json

Scenario (every model, every parameter set, resolutions 0.1 and 0.01 ms, 300 ms):
  * spike_generator exc: 20 + 1.5*i ms (i = 0..29), weight W_EX, delay 1 ms
  * spike_generator inh: 31.3 + 4.1*i ms (i = 0..19), weight W_IN, delay 1 ms
  * step_current_generator: amplitude_times [100, 180], amplitude_values [AMP, 0.5*AMP],
    start 0, stop 250, connection weight 1, delay = resolution
  * multimeter V_m every resolution; samples at SAMPLE_TIMES.
Weights: psc models in pA (alpha: peak, exp: jump), delta in mV.
"""
import json
import sys

import nest

SAMPLE_TIMES = [5.0, 21.5, 22.0, 30.0, 45.7, 60.0, 100.5, 101.0, 150.0, 181.0, 220.0, 260.0, 299.0]
CELL = "/work/shared/data/bmtk/point_components/cell_models/"

CASES = [
    ("iaf_psc_alpha", "defaults", {}, 900.0, -700.0, 420.0),
    ("iaf_psc_alpha", "IntFire1_exc_point", json.load(open(CELL + "IntFire1_exc_point.json")), 500.0, -400.0, 260.0),
    ("iaf_psc_alpha", "taus_vmin", {"tau_syn_ex": 0.5, "tau_syn_in": 10.0, "V_min": -72.0, "I_e": 30.0, "V_m": -60.0}, 1500.0, -900.0, 400.0),
    ("iaf_psc_exp", "defaults", {}, 700.0, -600.0, 420.0),
    ("iaf_psc_exp", "IntFire1_inh_point", json.load(open(CELL + "IntFire1_inh_point.json")), 300.0, -250.0, 150.0),
    ("iaf_psc_delta", "defaults", {}, 4.0, -3.0, 420.0),
    ("iaf_psc_delta", "IntFire1_exc_point", json.load(open(CELL + "IntFire1_exc_point.json")), 6.0, -2.0, 240.0),
]


def run(model, params, w_ex, w_in, amp, h):
    nest.ResetKernel()
    nest.set(resolution=h, local_num_threads=1)
    n = nest.Create(model, params=params)
    ex = nest.Create("spike_generator", params={"spike_times": [round(20 + 1.5 * i, 4) for i in range(30)]})
    inh = nest.Create("spike_generator", params={"spike_times": [round(31.3 + 4.1 * i, 4) for i in range(20)]})
    sc = nest.Create("step_current_generator", params={
        "amplitude_times": [100.0, 180.0], "amplitude_values": [amp, 0.5 * amp], "start": 0.0, "stop": 250.0})
    nest.Connect(ex, n, syn_spec={"weight": w_ex, "delay": 1.0})
    nest.Connect(inh, n, syn_spec={"weight": w_in, "delay": 1.0})
    nest.Connect(sc, n, syn_spec={"weight": 1.0, "delay": h})
    mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": h})
    sr = nest.Create("spike_recorder")
    nest.Connect(mm, n)
    nest.Connect(n, sr)
    nest.Simulate(300.0)
    ev = mm.get("events")
    vm = dict(zip([round(t, 6) for t in ev["times"]], ev["V_m"]))
    samples = {repr(t): vm[round(t, 6)] for t in SAMPLE_TIMES}
    return [float(t) for t in sr.get("events")["times"]], samples


out = {"nest_version": nest.__version__, "sample_times": SAMPLE_TIMES, "runs": []}
for model, name, params, w_ex, w_in, amp in CASES:
    for h in (0.1, 0.01):
        spikes, samples = run(model, params, w_ex, w_in, amp, h)
        out["runs"].append({"model": model, "params_name": name, "params": params, "w_ex": w_ex,
                            "w_in": w_in, "amp": amp, "h": h, "spikes": spikes, "V_m": samples})
with open(sys.argv[1], "w") as f:
    json.dump(out, f, indent=1)
