#!/usr/bin/env python3
"""AllenSDK side of scripts/bench_neuron_vs_allensdk.sh.

Builds the stimulus I_rh*(1.1 + 0.6 sin(2 pi 4 t) + 0.4 sin(2 pi 17 t + 0.5) + 0.3 sin(2 pi 53 t + 1.3))
(the `sines` stimulus of docs/glif.md section 9.1) for DURATION s at DT s, writes it to STIM_FILE
(one value in A per line, for glifnet), runs AllenSDK GlifNeuron on it and prints JSON with the
time of neuron.run(stim) and the spike steps.

usage: bench_neuron_allensdk.py CONFIG DT DURATION STIM_FILE
"""
import json
import sys
import time

import numpy as np
from allensdk.model.glif.glif_neuron import GlifNeuron


def main():
    config, dt, duration, stim_file = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    with open(config) as f:
        cfg = json.load(f)
    coeffs = cfg.get("coeffs", {})
    i_rh = cfg["th_inf"] * coeffs.get("th_inf", 1) * coeffs.get("G", 1) / cfg["R_input"]
    n = int(round(duration / dt))
    t = np.arange(n) * dt
    stim = i_rh * (1.1 + 0.6 * np.sin(2 * np.pi * 4 * t) + 0.4 * np.sin(2 * np.pi * 17 * t + 0.5)
                   + 0.3 * np.sin(2 * np.pi * 53 * t + 1.3))
    with open(stim_file, "w") as f:
        f.write("\n".join(repr(float(x)) for x in stim))
        f.write("\n")
    neuron = GlifNeuron.from_dict(cfg)
    neuron.dt = dt
    t0 = time.perf_counter()
    out = neuron.run(stim)
    elapsed = time.perf_counter() - t0
    print(json.dumps({
        "allensdk_run_s": elapsed,
        "n_steps": n,
        "spike_time_steps": [int(k) for k in out["spike_time_steps"]],
        "interpolated_spike_times": [float(x) for x in out["interpolated_spike_times"]],
    }))


if __name__ == "__main__":
    main()
