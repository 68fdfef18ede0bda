"""glifnet.neuron: the numbers of `glifnet neuron`, and the forum notebook example (a 20 Hz
train into a Cell Types model, then its f-f curve)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import glifnet
import numpy as np
import pandas as pd
import pytest

W = 400.0  # pA


def cli_neuron(cli: Path, cfg: Path, out: Path, *args: str) -> pd.DataFrame:
    c = subprocess.run(
        [str(cli), "neuron", str(cfg), "-o", str(out), *args], capture_output=True, text=True
    )
    assert c.returncode == 0, c.stderr
    return pd.read_csv(out / "spikes.csv")


def test_20hz_train_same_numbers_as_cli(cli: Path, allen_cell: Path, tmp_path: Path) -> None:
    r = glifnet.neuron(allen_cell, duration=1.0, spike_trains=["regular:20"], weights=W)
    s = cli_neuron(
        cli,
        allen_cell,
        tmp_path,
        "--duration",
        "1",
        "--spike-train",
        "regular:20",
        "--weight",
        str(W),
    )
    tr = pd.read_csv(tmp_path / "traces.csv")
    assert len(r.t) == len(tr) == 200_000
    assert np.array_equal(r.t, tr["t_s"].to_numpy())
    assert np.array_equal(r.V, tr["voltage_v"].to_numpy(), equal_nan=True)
    assert np.array_equal(r.threshold, tr["threshold_v"].to_numpy(), equal_nan=True)
    assert np.array_equal(r.asc_sum, tr["asc_sum_a"].to_numpy(), equal_nan=True)
    assert np.array_equal(r.stimulus, tr["stimulus_a"].to_numpy())
    assert np.array_equal(r.spike_times_grid, s["grid_time_s"].to_numpy())
    assert np.array_equal(r.spike_times, s["interpolated_time_s"].to_numpy())
    assert r.summary["n_spikes"] == len(s) > 0
    # the first input spike at t = 0: an alpha current peaking at W pA 5.5 ms later
    k = round(5.5e-3 / 5e-6)
    assert r.stimulus[k] == pytest.approx(W * 1e-12, rel=1e-6)
    assert np.nanmax(r.stimulus) == pytest.approx(W * 1e-12, rel=1e-3)
    # spikes follow input spikes (every 50 ms), within one period
    assert np.all(np.mod(r.spike_times, 0.05) < 0.05)


def test_ff_curve(allen_cell: Path) -> None:
    rates_in = [5, 10, 20, 40, 80]
    out = [
        glifnet.neuron(allen_cell, duration=2.0, spike_trains=[f"regular:{f}"], weights=W).rate_hz
        for f in rates_in
    ]
    assert all(b >= a for a, b in zip(out, out[1:])), out
    assert out[-1] > out[0]
    assert out[-1] > 10.0
    # as an array input: the same train as numbers gives the same spikes
    times = np.arange(0, 2.0, 1 / 20)
    a = glifnet.neuron(allen_cell, duration=2.0, spike_trains=[times], weights=W)
    b = glifnet.neuron(allen_cell, duration=2.0, spike_trains=["regular:20"], weights=W)
    assert np.array_equal(a.spike_times, b.spike_times)


def test_stimulus_array_and_steps(cli: Path, allen_cell: Path, tmp_path: Path) -> None:
    n = 40_000
    stim = np.zeros(n)
    stim[4000:30000] = 300e-12
    r = glifnet.neuron(allen_cell, stimulus=stim)
    q = glifnet.neuron(allen_cell, duration=n * 5e-6, steps=[(300e-12, 4000 * 5e-6, 30000 * 5e-6)])
    assert len(r.spike_times) > 0
    assert np.array_equal(r.spike_times, q.spike_times)
    np.savetxt(tmp_path / "stim.txt", stim)
    s = cli_neuron(cli, allen_cell, tmp_path / "o", "--stimulus", str(tmp_path / "stim.txt"))
    assert np.array_equal(r.spike_times, s["interpolated_time_s"].to_numpy())
    nest = glifnet.neuron(allen_cell, stimulus=stim, semantics="nest", spike_cut="config-dt")
    assert nest.summary["semantics"] == "nest" and len(nest.spike_times) > 0


def test_neuron_errors(allen_cell: Path) -> None:
    with pytest.raises(glifnet.GlifnetError, match="no input"):
        glifnet.neuron(allen_cell)
    with pytest.raises(glifnet.GlifnetError, match="--weight"):
        glifnet.neuron(allen_cell, spike_trains=["regular:20"])
    with pytest.raises(glifnet.GlifnetError, match="semantics"):
        glifnet.neuron(allen_cell, steps=["1e-10,0,0.5"], semantics="neuron")
    with pytest.raises(glifnet.GlifnetError, match="not a finite"):
        glifnet.neuron(allen_cell, stimulus=np.array([0.0, np.nan]))
