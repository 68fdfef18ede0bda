"""glifnet.run / python -m glifnet run / glifnet.convert against the CLI binary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import glifnet
import numpy as np
import pandas as pd
import pytest


def cli_run(cli: Path, cfg: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cli), "run", str(cfg), "--output-dir", str(out), "--quiet", *extra],
        capture_output=True,
        text=True,
    )


def py_main(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "glifnet", *args], capture_output=True, text=True)


def test_run_matches_cli_bytes(cli: Path, v1: Path, tmp_path: Path) -> None:
    cfg = v1 / "config.simulation.json"
    c = cli_run(cli, cfg, tmp_path / "cli")
    assert c.returncode == 0, c.stderr
    r = glifnet.run(cfg, output_dir=tmp_path / "py")
    for name in ["spikes.h5", "spikes.csv"]:
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
    # the DataFrame is the written CSV, row for row
    csv = pd.read_csv(tmp_path / "cli" / "spikes.csv", sep=" ")
    assert list(r.spikes.columns) == ["node_ids", "timestamps", "population"]
    assert len(r.spikes) == len(csv) > 1000
    assert np.array_equal(r.spikes["node_ids"].to_numpy(), csv["node_ids"].to_numpy())
    assert np.array_equal(r.spikes["timestamps"].to_numpy(), csv["timestamps"].to_numpy())
    assert list(r.spikes["population"]) == list(csv["population"])
    # population table: the CLI's numbers
    assert list(r.populations.columns) == ["population", "cells", "spikes", "rate_hz", "active_pct"]
    assert list(r.populations["population"]) == ["l4_exc", "l4_pv"]
    assert list(r.populations["cells"]) == [1200, 300]
    assert r.populations["spikes"].sum() == len(csv)
    exc = r.populations.iloc[0]
    assert exc["rate_hz"] == pytest.approx(exc["spikes"] / 1200 / 1.0)
    assert not r.interrupted
    assert r.simulated_ms == 1000.0
    assert str(tmp_path / "py" / "spikes.h5") in r.files
    assert set(r.timings) == {"build_s", "simulate_s", "write_s"}


def test_run_overrides_and_module_cli(cli: Path, v1: Path, tmp_path: Path) -> None:
    cfg = v1 / "config.simulation.json"
    r = glifnet.run(cfg, output_dir=tmp_path / "a", tstop=200.0, threads=1, no_plot=True)
    assert r.simulated_ms == 200.0 and r.threads == 1
    assert (r.spikes["timestamps"] < 200.0).all()
    assert not (tmp_path / "a" / "raster.png").exists()
    p = py_main("run", str(cfg), "--output-dir", str(tmp_path / "b"), "--tstop", "200", "--quiet")
    assert p.returncode == 0, p.stderr
    c = cli_run(cli, cfg, tmp_path / "c", "--tstop", "200")
    assert c.returncode == 0
    for d in ["a", "b"]:
        assert (tmp_path / d / "spikes.csv").read_bytes() == (
            tmp_path / "c" / "spikes.csv"
        ).read_bytes()


def test_errors_are_the_cli_line(cli: Path, v1: Path, tmp_path: Path) -> None:
    cfg = v1 / "config.simulation.json"
    c = cli_run(cli, cfg, tmp_path / "cli", "--tstop", "10.05")
    assert c.returncode == 1
    with pytest.raises(glifnet.GlifnetError) as e:
        glifnet.run(cfg, output_dir=tmp_path / "py", tstop=10.05)
    assert isinstance(e.value, ValueError)
    assert c.stderr.strip() == "error: " + str(e.value)
    assert not (tmp_path / "py" / "spikes.h5").exists()
    with pytest.raises(glifnet.GlifnetError, match=r"nope\.json"):
        glifnet.run(tmp_path / "nope.json")
    p = py_main("run", str(cfg), "--tstop", "10.05", "--output-dir", str(tmp_path / "m"))
    assert p.returncode == 1 and p.stderr.strip() == c.stderr.strip()
    assert py_main("run").returncode == 2
    assert py_main("run", str(cfg), "--threads", "x").returncode == 2


def test_convert_matches_cli(cli: Path, allen_cell: Path) -> None:
    out = subprocess.run([str(cli), "convert", str(allen_cell)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert glifnet.convert(allen_cell) == json.loads(out.stdout)
    p = glifnet.convert(allen_cell)
    assert p["C_m"] == pytest.approx(120.0) and p["g"] == pytest.approx(6.25)
    assert p["asc_amps"] == pytest.approx([-20.0, -60.0])
    with pytest.raises(glifnet.GlifnetError, match="must be"):
        glifnet.convert(allen_cell, model="iaf")
