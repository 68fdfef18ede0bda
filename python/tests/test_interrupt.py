"""Ctrl-C: the run stops at an epoch boundary, writes what was simulated, then raises
KeyboardInterrupt (python -m glifnet run exits 130)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

SCRIPT = """
import sys, glifnet
try:
    glifnet.run(sys.argv[1], output_dir=sys.argv[2], tstop=200000.0, threads=1)
except KeyboardInterrupt as e:
    r = e.result
    print("KI", r.interrupted, r.simulated_ms, len(r.spikes), flush=True)
    sys.exit(7)
print("finished", flush=True)
"""


def _interrupt(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # after the import and the build (well under a second here), while it simulates
    time.sleep(3.0)
    assert p.poll() is None, "the run ended before the signal"
    p.send_signal(signal.SIGINT)
    so, se = p.communicate(timeout=120)
    return subprocess.CompletedProcess(cmd, p.returncode, so, se)


def test_ctrl_c_in_glifnet_run(v1: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    c = _interrupt([sys.executable, "-c", SCRIPT, str(v1 / "config.simulation.json"), str(out)])
    assert c.returncode == 7, c.stderr
    _, interrupted, simulated, n = c.stdout.split()
    assert interrupted == "True" and 0 < float(simulated) < 200000.0
    csv = pd.read_csv(out / "spikes.csv", sep=" ")
    assert len(csv) == int(n)
    assert csv["timestamps"].max() < float(simulated)


def test_ctrl_c_module_cli_exits_130(v1: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    cmd = [
        sys.executable,
        "-m",
        "glifnet",
        "run",
        str(v1 / "config.simulation.json"),
        "--output-dir",
        str(out),
        "--tstop",
        "200000",
        "--threads",
        "1",
        "--quiet",
    ]
    c = _interrupt(cmd)
    assert c.returncode == 130, c.stderr
    assert "truncated at" in c.stderr
    assert (out / "spikes.h5").exists()
