#!/usr/bin/env python3
"""Check a glifnet membrane report the way BMTK's and libsonata's readers see it.

Usage: check_report_layout.py REPORT.h5 [REPORT.h5 ...]

For every population under /report: the SONATA layout of docs/sonata-bmtk.md section 4.2
(data [n_steps x n_values] with units/variable attributes; mapping/node_ids, element_ids,
element_pos, index_pointer (BMTK) == index_pointers (libsonata), time = [tstart, tstop, dt] with
units), then, when bmtk is importable, the same file through bmtk.utils.reports.CompartmentReport:
node ids, time grid, units, variable and every node's trace must match the raw datasets.

Prints one JSON line per file and exits 1 on the first failed check.
Run with the reference venv: "$REF_DIR"/venv/bin/python scripts/check_report_layout.py r.h5
(REF_DIR as in $GLIFNET_SHARED/tools/ref-setup.sh, default $HOME/.cache/glifnet-ref)
"""
import json
import sys

import h5py
import numpy as np


def fail(path, msg):
    print(f"{path}: {msg}", file=sys.stderr)
    sys.exit(1)


def as_str(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def check_h5(path):
    summary = {}
    with h5py.File(path, "r") as f:
        if int(f.attrs.get("magic", 0)) != 0x0A7A:
            fail(path, f"root attribute magic = {f.attrs.get('magic')!r}, expected 2682")
        if list(f.attrs.get("version", [])) != [0, 1]:
            fail(path, f"root attribute version = {f.attrs.get('version')!r}, expected [0, 1]")
        if "report" not in f:
            fail(path, "missing group /report")
        for pop, g in f["report"].items():
            base = f"/report/{pop}"
            for name in ("data", "mapping"):
                if name not in g:
                    fail(path, f"missing {base}/{name}")
            data, m = g["data"], g["mapping"]
            if data.ndim != 2 or data.dtype.kind != "f":
                fail(path, f"{base}/data: shape {data.shape} dtype {data.dtype}, expected 2-d float")
            for a in ("units", "variable"):
                if a not in data.attrs:
                    fail(path, f"{base}/data: missing attribute {a}")
            for name in ("node_ids", "element_ids", "element_pos", "index_pointer",
                         "index_pointers", "time"):
                if name not in m:
                    fail(path, f"missing {base}/mapping/{name}")
            n_steps, n_values = data.shape
            node_ids = m["node_ids"][()]
            ptr = m["index_pointer"][()]
            if m["node_ids"].dtype.kind != "u" or m["element_ids"].dtype.kind != "u":
                fail(path, f"{base}/mapping: node_ids/element_ids must be unsigned")
            if not np.array_equal(ptr, m["index_pointers"][()]):
                fail(path, f"{base}/mapping: index_pointer != index_pointers")
            if len(ptr) != len(node_ids) + 1 or ptr[0] != 0 or ptr[-1] != n_values \
                    or np.any(np.diff(ptr.astype(np.int64)) < 0):
                fail(path, f"{base}/mapping/index_pointer = {ptr.tolist()[:10]}... inconsistent "
                           f"with {len(node_ids)} nodes and {n_values} columns")
            if len(m["element_ids"]) != n_values or len(m["element_pos"]) != n_values:
                fail(path, f"{base}/mapping: element_ids/element_pos length != {n_values}")
            time = m["time"][()]
            if len(time) != 3 or not time[2] > 0:
                fail(path, f"{base}/mapping/time = {time.tolist()}")
            if as_str(m["time"].attrs.get("units", "")) != "ms":
                fail(path, f"{base}/mapping/time: units attribute must be 'ms'")
            tstart, tstop, dt = (float(x) for x in time)
            expected_steps = int(round((tstop - tstart) / dt))
            if expected_steps != n_steps:
                fail(path, f"{base}/mapping/time = {time.tolist()} implies {expected_steps} "
                           f"samples but data has {n_steps} rows")
            summary[pop] = {
                "n_nodes": int(len(node_ids)), "n_steps": int(n_steps),
                "time": [tstart, tstop, dt], "units": as_str(data.attrs["units"]),
                "variable": as_str(data.attrs["variable"]),
                "first_row": data[0, : min(3, n_values)].tolist() if n_steps else [],
            }
    return summary


def check_bmtk(path, summary):
    try:
        from bmtk.utils.reports import CompartmentReport
    except Exception as exc:  # bmtk not installed: the layout check above still ran
        return f"skipped ({exc.__class__.__name__})"
    with h5py.File(path, "r") as f:
        for pop, s in summary.items():
            r = CompartmentReport(path, mode="r", default_population=pop)
            p = r[pop]
            ids = np.asarray(p.node_ids())
            raw_ids = f[f"/report/{pop}/mapping/node_ids"][()]
            if not np.array_equal(ids, raw_ids):
                fail(path, f"bmtk node_ids of {pop} differ from the raw dataset")
            if abs(p.dt() - s["time"][2]) > 1e-12 or abs(p.tstart() - s["time"][0]) > 1e-12:
                fail(path, f"bmtk time grid of {pop}: tstart {p.tstart()} dt {p.dt()}")
            if as_str(p.units()) != s["units"] or as_str(p.variable()) != s["variable"]:
                fail(path, f"bmtk units/variable of {pop}: {p.units()!r} {p.variable()!r}")
            raw = f[f"/report/{pop}/data"]
            ptr = f[f"/report/{pop}/mapping/index_pointer"][()]
            for i, nid in enumerate(raw_ids[:50]):
                got = np.asarray(p.data(node_id=int(nid))).reshape(s["n_steps"], -1)
                want = raw[:, ptr[i]:ptr[i + 1]]
                if not np.array_equal(got, want):
                    fail(path, f"bmtk data of {pop} node {nid} differs from the raw column")
    return "ok"


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    for path in sys.argv[1:]:
        summary = check_h5(path)
        bmtk = check_bmtk(path, summary)
        print(json.dumps({"file": path, "populations": summary, "bmtk_reader": bmtk}))


if __name__ == "__main__":
    main()
