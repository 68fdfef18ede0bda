"""Weight functions: the registry, BMTK's registry, and the frames BMTK 1.2 PointNet passes.

For each edge type whose ``weight_function`` is registered, the function is called once with
``(edges, src_nodes, trg_nodes)``, pandas DataFrames built as BMTK's ``get_batches`` builds
them; its result is the final weight of each edge (``nsyns`` is not applied afterwards).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Optional, Union

import numpy as np
import pandas as pd

from ._glifnet import BUILTIN_WEIGHT_FUNCTIONS

WeightFunction = Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame], Any]

_registry: dict[str, WeightFunction] = {}


def synaptic_weight(*args: Any, name: Optional[str] = None) -> Any:
    """Register a weight function, like BMTK's ``@synaptic_weight``.

    ``@synaptic_weight`` registers under the function's name, ``@synaptic_weight(name="X")``
    under ``X``. The function is returned unchanged.
    """
    if len(args) == 1 and callable(args[0]) and name is None:
        func = args[0]
        _registry[func.__name__] = func
        return func
    if args:
        raise TypeError("use @synaptic_weight or @synaptic_weight(name='...')")

    def decorator(func: WeightFunction) -> WeightFunction:
        _registry[name if name is not None else func.__name__] = func
        return func

    return decorator


def registered() -> dict[str, WeightFunction]:
    """The functions registered with ``@glifnet.synaptic_weight`` (a copy)."""
    return dict(_registry)


def _bmtk_functions() -> dict[str, WeightFunction]:
    """Functions registered with BMTK's own ``synaptic_weight`` (when bmtk is importable)."""
    mod = sys.modules.get("bmtk.simulator.core.pyfunction_cache")
    if mod is None:
        try:
            import bmtk.simulator.core.pyfunction_cache as mod  # type: ignore[no-redef]
        except Exception:
            return {}
    pm = getattr(mod, "py_modules", None)
    if pm is None:
        return {}
    out: dict[str, WeightFunction] = {}
    for n in list(pm.synaptic_weights):
        if n not in BUILTIN_WEIGHT_FUNCTIONS:
            out[n] = pm.synaptic_weight(n)
    return out


def load_file(path: Union[str, os.PathLike]) -> None:
    """Import a Python file (e.g. a BMTK ``run_pointnet.py``) so that its decorators register
    its weight functions; its ``if __name__ == "__main__":`` block does not run."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such functions file")
    stem = os.path.splitext(os.path.basename(path))[0]
    modname = f"glifnet_functions_{stem}_{abs(hash(os.path.abspath(path)))}"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:
            pass


Functions = Union[
    None,
    Mapping[str, WeightFunction],
    Iterable[Union[WeightFunction, str, "os.PathLike[str]"]],
]


def collect(functions: Functions) -> dict[str, WeightFunction]:
    """BMTK's registry, then glifnet's, then ``functions`` (a name -> function mapping, or
    functions registered under their ``__name__`` and files to import)."""
    out = _bmtk_functions()
    extra: dict[str, WeightFunction] = {}
    if isinstance(functions, Mapping):
        extra.update(functions)
    elif functions is not None:
        if isinstance(functions, (str, os.PathLike)) or callable(functions):
            functions = [functions]  # type: ignore[list-item]
        for f in functions:
            if isinstance(f, (str, os.PathLike)):
                load_file(f)
            elif callable(f):
                extra[f.__name__] = f
            else:
                raise TypeError(f"functions: {f!r} is neither a function nor a file")
        out.update(_bmtk_functions())
    out.update(_registry)
    out.update(extra)
    return out


def _column(kind: str, data: Any) -> Any:
    if kind == "i8":
        return np.frombuffer(data, dtype="<i8")
    if kind == "f8":
        return np.frombuffer(data, dtype="<f8")
    return np.asarray(data, dtype=object)


def _types_frame(t: Mapping[str, Any]) -> pd.DataFrame:
    """A type table as pandas' read_csv reads it (dtype per column over all rows)."""
    cols = {name: pd.Series(vals).infer_objects() for name, vals in t["columns"]}
    df = pd.DataFrame(cols)
    for name in df.columns:
        if df[name].dtype == object and df[name].map(lambda v: v is None).any():
            s = df[name]
            if all(isinstance(v, (int, float)) or v is None for v in s):
                df[name] = pd.to_numeric(s, errors="coerce")
            else:
                df[name] = s.where(s.notna(), np.nan)
    df.index = pd.Index(np.asarray(t["ids"], dtype=np.int64))
    return df


def _take_types(types: pd.DataFrame, ids: np.ndarray) -> dict[str, np.ndarray]:
    pos = types.index.get_indexer(ids)
    return {c: types[c].to_numpy()[pos] for c in types.columns}


def _nodes_frame(n: Mapping[str, Any]) -> pd.DataFrame:
    node_ids = np.frombuffer(n["node_ids"], dtype="<u8").astype(np.int64)
    type_ids = np.frombuffer(n["node_type_ids"], dtype="<u8").astype(np.int64)
    data: dict[str, Any] = {"node_type_id": type_ids}
    for name, (kind, d) in n["columns"]:
        if kind != "none":
            data[name] = _column(kind, d)
    types = _types_frame(n["types"])
    for c, v in _take_types(types, type_ids).items():
        if c not in data:
            data[c] = v
    df = pd.DataFrame(data, index=pd.Index(node_ids, name="node_id"))
    return df


def edges_frames(call: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The (edges, src_nodes, trg_nodes) frames of one call."""
    rows = np.frombuffer(call["rows"], dtype="<u8").astype(np.int64)
    n = len(rows)
    t = int(call["edge_type_id"])
    data: dict[str, Any] = {
        "edge_type_id": np.full(n, t, dtype=np.int64),
        "source_node_id": np.frombuffer(call["source_node_id"], dtype="<u8").astype(np.int64),
        "target_node_id": np.frombuffer(call["target_node_id"], dtype="<u8").astype(np.int64),
    }
    for name, (kind, d) in call["edge_columns"]:
        if kind != "none":
            data[name] = _column(kind, d)
    types = _types_frame(call["edge_types"])
    if t in types.index:
        pick = np.full(n, types.index.get_loc(t))
        for c in types.columns:
            if c not in data:
                data[c] = types[c].to_numpy()[pick]
    edges = pd.DataFrame(data, index=pd.Index(rows))
    return edges, _nodes_frame(call["source_nodes"]), _nodes_frame(call["target_nodes"])


def _where(call: Mapping[str, Any]) -> str:
    return (
        f"weight function {call['function']} of edge population {call['edge_population']}, "
        f"edge type {call['edge_type_id']} ({call['edge_types_file']})"
    )


class Caller:
    """The callback handed to Rust; keeps the first exception of a user function."""

    def __init__(self, functions: Mapping[str, WeightFunction]) -> None:
        self.functions = functions
        self.error: Optional[BaseException] = None

    def __call__(self, call: Mapping[str, Any]) -> bytes:
        where = _where(call)
        try:
            edges, src, trg = edges_frames(call)
            n = len(edges)
            func = self.functions[call["function"]]
            try:
                result = func(edges, src, trg)
            except Exception as e:
                _annotate(e, where)
                raise
            w = _check(result, n, where)
        except BaseException as e:
            if self.error is None:
                self.error = e
            raise
        return w.astype("<f8", copy=False).tobytes()


def _annotate(e: BaseException, where: str) -> None:
    """Name the edge population and type in the exception (same type, same traceback)."""
    if e.args and isinstance(e.args[0], str):
        e.args = (f"{where}: {e.args[0]}", *tuple(e.args[1:]))
    else:
        e.args = (f"{where}: {e!r}", *tuple(e.args))
    if hasattr(e, "add_note"):
        e.add_note(f"raised in {where}")


def _check(result: Any, n: int, where: str) -> np.ndarray:
    if isinstance(result, pd.Series):
        result = result.to_numpy()
    try:
        a = np.asarray(result)
    except Exception as e:
        raise ValueError(f"{where}: returned {type(result).__name__}, not an array") from e
    if a.ndim == 0 and n == 1:
        a = a.reshape(1)
    if a.ndim != 1 or len(a) != n:
        raise ValueError(
            f"{where}: returned shape {a.shape} for {n} edges (expected one weight per edge)"
        )
    if a.dtype.kind not in "iuf" or a.dtype == np.float16:
        raise ValueError(
            f"{where}: returned dtype {a.dtype} (expected a float or integer array of weights)"
        )
    a = a.astype(np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"{where}: weight {k} of {n} is {a[k]} (NaN or infinite)")
    return a
