"""Fixtures: the glifnet CLI binary, the shipped networks/v1_l4 built into a temp folder, and
an Allen Cell Types neuron config."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")


def _cli() -> Path:
    env = os.environ.get("GLIFNET_BIN")
    if env:
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "release" / "glifnet"


@pytest.fixture(scope="session")
def cli() -> Path:
    p = _cli()
    if not p.exists():
        pytest.fail(f"{p}: build the CLI first (cargo build --release) or set GLIFNET_BIN")
    return p


@pytest.fixture(scope="session")
def v1_built(tmp_path_factory: pytest.TempPathFactory, cli: Path) -> Path:
    """networks/v1_l4 built once (glifnet build), 1500 cells + 300 LGN inputs."""
    d = tmp_path_factory.mktemp("v1") / "v1"
    shutil.copytree(REPO / "networks" / "v1_l4", d)
    subprocess.run([str(cli), "build", str(d)], check=True, capture_output=True)
    return d


@pytest.fixture
def v1(tmp_path: Path, v1_built: Path) -> Path:
    """A private copy of the built network (tests edit its CSVs)."""
    d = tmp_path / "v1"
    shutil.copytree(v1_built, d)
    return d


def add_weight_function(net: Path, edge_types_csv: str, name: str) -> None:
    """Add a weight_function column naming `name` to every row of an edge-types CSV."""
    p = net / "network" / edge_types_csv
    lines = p.read_text().splitlines()
    out = [lines[0] + " weight_function"] + [ln + " " + name for ln in lines[1:] if ln.strip()]
    p.write_text("\n".join(out) + "\n")


@pytest.fixture
def allen_cell(tmp_path: Path) -> Path:
    """A GLIF2-like (LIF-R-ASC) Allen neuron_config.json in AllenSDK's format."""
    cfg = {
        "El": 0.0,
        "El_reference": -0.0725,
        "dt": 5e-05,
        "R_input": 1.6e8,
        "C": 1.2e-10,
        "asc_tau_array": [0.0333, 0.00333],
        "asc_amp_array": [-2.0e-11, -6.0e-11],
        "init_AScurrents": [0.0, 0.0],
        "spike_cut_length": 60,
        "th_inf": 0.024,
        "th_adapt": None,
        "coeffs": {
            "th_inf": 1.0,
            "C": 1.0,
            "G": 1.0,
            "a": 1.0,
            "b": 1.0,
            "asc_amp_array": [1.0, 1.0],
        },
        "init_voltage": 0.0,
        "init_threshold": 0.024,
        "voltage_dynamics_method": {"name": "linear_forward_euler", "params": {}},
        "threshold_dynamics_method": {
            "name": "spike_component",
            "params": {"a_spike": 0.002, "b_spike": 50.0, "a_voltage": 0.0, "b_voltage": 0.0},
        },
        "AScurrent_dynamics_method": {"name": "exp", "params": {}},
        "voltage_reset_method": {"name": "v_before", "params": {"a": 0.2, "b": 0.001}},
        "threshold_reset_method": {
            "name": "three_components",
            "params": {"a_spike": 0.002, "b_spike": 50.0},
        },
        "AScurrent_reset_method": {"name": "sum", "params": {"r": [1.0, 1.0]}},
        "type": "GLIF",
    }
    p = tmp_path / "cell_config.json"
    p.write_text(json.dumps(cfg))
    return p
