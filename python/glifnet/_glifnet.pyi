"""Type stubs of the compiled module (python/src/lib.rs)."""

from typing import Any, Callable, Optional

__version__: str
BUILTIN_WEIGHT_FUNCTIONS: list[str]

class GlifnetError(ValueError): ...

def run(
    config: str,
    threads: Optional[int] = None,
    tstop: Optional[float] = None,
    dt: Optional[float] = None,
    output_dir: Optional[str] = None,
    no_plot: bool = False,
    weight_names: Optional[list[str]] = None,
    weight_callback: Optional[Callable[[dict[str, Any]], bytes]] = None,
) -> dict[str, Any]: ...
def neuron(
    config: str,
    dt: float = 5e-6,
    duration: Optional[float] = None,
    steps: list[str] = ...,
    stimulus: Optional[list[float]] = None,
    stimulus_unit: Optional[str] = None,
    stimulus_file: Optional[str] = None,
    stimulus_h5: Optional[str] = None,
    spike_trains: list[str] = ...,
    weights: list[float] = ...,
    kernels: list[str] = ...,
    semantics: str = "allensdk",
    spike_cut: str = "steps",
) -> dict[str, Any]: ...
def convert(
    config: str,
    model: str = "glif_psc",
    level: Optional[str] = None,
    t_ref_convention: str = "bmtk",
) -> str: ...
