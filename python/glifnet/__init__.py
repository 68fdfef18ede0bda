"""glifnet: run BMTK PointNet (SONATA) configs and Allen GLIF cells from Python.

* :func:`run` — one network run, the outputs ``glifnet run`` writes plus the spikes as a
  pandas DataFrame; ``weight_function``s of the edge types come from
  :func:`synaptic_weight` (or BMTK's own decorator).
* :func:`neuron` — one Allen Cell Types model, the numbers ``glifnet neuron`` writes.
* :func:`convert` — an Allen ``neuron_config.json`` as NEST parameters.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _glifnet
from ._glifnet import GlifnetError
from ._weights import Functions, collect, load_file, registered, synaptic_weight

__version__: str = _glifnet.__version__

__all__ = [
    "GlifnetError",
    "NeuronResult",
    "RunResult",
    "convert",
    "load_file",
    "neuron",
    "registered",
    "run",
    "synaptic_weight",
]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class RunResult:
    """What a network run produced (the files are written when this exists)."""

    #: One row per spike: ``node_ids``, ``timestamps`` (ms), ``population``; in the order of
    #: the written spike file (the config's ``spikes_sort_order``).
    spikes: pd.DataFrame
    #: population, cells, spikes, rate_hz, active_pct (the CLI's summary table).
    populations: pd.DataFrame
    #: Files written by the run.
    files: list[str]
    #: True when Ctrl-C stopped the run (the outputs hold what was simulated).
    interrupted: bool
    simulated_ms: float
    requested_ms: float
    #: Wall times (s): building the network, simulating, writing.
    build_s: float
    simulate_s: float
    write_s: float
    threads: int
    n_synapses: int
    events: int
    dt: float
    tstop: float
    output_dir: str
    #: Files of the previous run replaced / removed.
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    #: The summary table as the CLI prints it.
    table: str = ""
    log: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def timings(self) -> dict[str, float]:
        return {"build_s": self.build_s, "simulate_s": self.simulate_s, "write_s": self.write_s}


def _result(d: dict[str, Any]) -> RunResult:
    pops = [p[0] for p in d["populations"]]
    pidx = np.frombuffer(d["population_index"], dtype="<u8").astype(np.intp)
    names = np.asarray(pops, dtype=object)
    spikes = pd.DataFrame(
        {
            "node_ids": np.frombuffer(d["node_ids"], dtype="<u8").astype(np.int64),
            "timestamps": np.frombuffer(d["timestamps"], dtype="<f8").copy(),
            "population": names[pidx] if len(pidx) else np.asarray([], dtype=object),
        }
    )
    table = pd.DataFrame(
        d["populations"], columns=["population", "cells", "spikes", "rate_hz", "active_pct"]
    )
    return RunResult(
        spikes=spikes,
        populations=table,
        files=list(d["written"]),
        interrupted=bool(d["interrupted"]),
        simulated_ms=d["simulated_ms"],
        requested_ms=d["requested_ms"],
        build_s=d["build_s"],
        simulate_s=d["simulate_s"],
        write_s=d["write_s"],
        threads=d["threads"],
        n_synapses=d["n_synapses"],
        events=d["events"],
        dt=d["dt"],
        tstop=d["tstop"],
        output_dir=d["output_dir"],
        replaced=list(d["replaced"]),
        removed=list(d["removed"]),
        table=d["table"],
        log=list(d["log"]),
        warnings=list(d["warnings"]),
    )


def run(
    config: PathLike,
    *,
    threads: Optional[int] = None,
    tstop: Optional[float] = None,
    dt: Optional[float] = None,
    output_dir: Optional[PathLike] = None,
    quiet: bool = True,
    no_plot: bool = False,
    functions: Functions = None,
) -> RunResult:
    """Run a BMTK PointNet simulation config and write its outputs, as ``glifnet run`` does.

    ``functions``: weight functions for the edge types' ``weight_function`` besides those
    registered with :func:`synaptic_weight` or BMTK's decorator — a ``{name: function}``
    mapping, or a list of functions and Python files to import (e.g. ``run_pointnet.py``).

    Ctrl-C stops the run at the next epoch boundary; the outputs of what was simulated are
    written, then KeyboardInterrupt is raised (its ``result`` attribute holds the
    :class:`RunResult`). Errors raise :class:`GlifnetError` with the CLI's message.
    """
    funcs = collect(functions)
    from ._weights import Caller

    caller = Caller(funcs)
    try:
        d = _glifnet.run(
            os.fspath(config),
            threads=threads,
            tstop=tstop,
            dt=dt,
            output_dir=None if output_dir is None else os.fspath(output_dir),
            no_plot=no_plot,
            weight_names=sorted(funcs),
            weight_callback=caller,
        )
    except GlifnetError as e:
        if caller.error is not None:
            raise caller.error from None
        raise e from None
    r = _result(d)
    if not quiet:
        for w in r.warnings:
            print(f"warning: {w}", file=sys.stderr)
        print(r.table, end="", file=sys.stderr)
        for f in r.files:
            print(f"wrote {f}", file=sys.stderr)
    if r.interrupted:
        k = KeyboardInterrupt(
            f"glifnet: interrupted (SIGINT, Ctrl-C): simulation truncated at "
            f"{r.simulated_ms:.3f} of {r.requested_ms:.3f} ms; the outputs hold what was simulated"
        )
        k.result = r  # type: ignore[attr-defined]
        raise k
    return r


@dataclass
class NeuronResult:
    """A single-cell run: traces per sample k at t = k·dt (s, V relative to rest, A)."""

    t: np.ndarray
    V: np.ndarray
    threshold: np.ndarray
    asc_sum: np.ndarray
    stimulus: np.ndarray
    #: Spike times (s): start of the crossing step, and interpolated (AllenSDK).
    spike_times_grid: np.ndarray
    spike_times: np.ndarray
    summary: dict[str, Any]
    duration: float

    @property
    def rate_hz(self) -> float:
        return len(self.spike_times_grid) / self.duration


def neuron(
    config: PathLike,
    *,
    duration: Optional[float] = None,
    dt: float = 5e-6,
    steps: Sequence[Union[str, Sequence[float]]] = (),
    stimulus: Optional[Union[np.ndarray, Sequence[float], PathLike]] = None,
    stimulus_unit: Optional[str] = None,
    stimulus_h5: Optional[str] = None,
    spike_trains: Sequence[Union[str, np.ndarray, Sequence[float]]] = (),
    weights: Union[float, Sequence[float]] = (),
    kernels: Union[str, Sequence[str]] = (),
    semantics: str = "allensdk",
    spike_cut: str = "steps",
) -> NeuronResult:
    """One Allen Cell Types GLIF model on the inputs of ``glifnet neuron`` (same numbers).

    ``steps``: ``(amp_A, start_s, stop_s)`` tuples or ``"AMP,START,STOP"`` strings.
    ``stimulus``: an array sampled at ``dt`` (A, or ``stimulus_unit``) or a text file.
    ``spike_trains``: specs (``"regular:20"``, ``"poisson:5,seed=1"``, ``"file:PATH"``) or
    arrays of spike times (s); ``weights`` in pA (one for all trains or one per train),
    ``kernels`` ``"alpha:TAU_MS"`` / ``"exp:TAU_MS"``.
    """
    step_specs = [s if isinstance(s, str) else ",".join(repr(float(x)) for x in s) for s in steps]
    values = None
    stim_file = None
    if stimulus is not None:
        if isinstance(stimulus, (str, os.PathLike)):
            stim_file = os.fspath(stimulus)
        else:
            values = [float(x) for x in np.asarray(stimulus, dtype=np.float64).ravel()]
    tmp: list[str] = []
    specs: list[str] = []
    try:
        for tr in spike_trains:
            if isinstance(tr, str):
                specs.append(tr)
            else:
                import tempfile

                fd, p = tempfile.mkstemp(suffix=".txt", prefix="glifnet-train-")
                with os.fdopen(fd, "w") as f:
                    for x in np.asarray(tr, dtype=np.float64).ravel():
                        f.write(repr(float(x)) + "\n")
                tmp.append(p)
                specs.append("file:" + p)
        w = [float(weights)] if isinstance(weights, (int, float)) else [float(x) for x in weights]
        k = [kernels] if isinstance(kernels, str) else list(kernels)
        d = _glifnet.neuron(
            os.fspath(config),
            dt=dt,
            duration=duration,
            steps=step_specs,
            stimulus=values,
            stimulus_unit=stimulus_unit,
            stimulus_file=stim_file,
            stimulus_h5=stimulus_h5,
            spike_trains=specs,
            weights=w,
            kernels=k,
            semantics=semantics,
            spike_cut=spike_cut,
        )
    finally:
        for p in tmp:
            os.unlink(p)
    summary = json.loads(d["summary"])
    if summary.get("bad_reset"):
        warnings.warn(
            f"{os.fspath(config)}: the reset after the spike at t = "
            f"{summary['bad_reset']['spike_time_s']} s leaves V above the reset threshold; "
            "AllenSDK stops the run there, and so does this one (later samples NaN)",
            stacklevel=2,
        )

    def arr(key: str) -> np.ndarray:
        return np.frombuffer(d[key], dtype="<f8").copy()

    return NeuronResult(
        t=arr("t"),
        V=arr("voltage"),
        threshold=arr("threshold"),
        asc_sum=arr("asc_sum"),
        stimulus=arr("stimulus"),
        spike_times_grid=arr("grid_spike_times"),
        spike_times=arr("interpolated_spike_times"),
        summary=summary,
        duration=float(d["duration"]),
    )


def convert(
    allen_config: PathLike,
    *,
    model: str = "glif_psc",
    level: Optional[Union[int, str]] = None,
    t_ref_convention: str = "bmtk",
) -> dict[str, Any]:
    """An Allen ``neuron_config.json`` as NEST parameters (the JSON ``glifnet convert``
    prints), as a dict."""
    text = _glifnet.convert(
        os.fspath(allen_config),
        model=model,
        level=None if level is None else str(level),
        t_ref_convention=t_ref_convention,
    )
    out: dict[str, Any] = json.loads(text)
    return out
