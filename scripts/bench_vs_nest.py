#!/usr/bin/env python3
"""Side-by-side benchmark of glifnet and BMTK/NEST on the same SONATA network (issue #6).

Builds SPEC at scale N with `glifnet build` (timed, peak RSS), then for every (dt, threads)
runs `glifnet run` and BMTK PointNet on NEST (tools/run_bmtk.py of the shared reference folder)
on the very same files, and prints one markdown table: nodes, edges, dt, tstop, threads, build s,
simulate s, peak RSS MB, spikes, the NEST/glifnet simulate-time ratio and the spike agreement
(fraction of NEST spikes matched by a glifnet spike of the same node at the same time step).

Run it through scripts/bench_vs_nest.sh, which finds the binaries and the reference venv.
Peak RSS comes from /usr/bin/time -v. NEST is skipped, with a message, when --no-nest is given,
when the venv or run_bmtk.py is missing, or when the network would not fit in memory.
"""
import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import time


def timed(cmd, cwd=None, env=None):
    """Run cmd under /usr/bin/time -v; return (stdout, stderr, wall s, peak RSS MB)."""
    t0 = time.time()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-4000:] + p.stderr[-4000:])
        raise SystemExit(f"bench: command failed ({p.returncode}): {' '.join(cmd)}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    rss = int(m.group(1)) / 1024 if m else float("nan")
    return p.stdout, p.stderr, wall, rss


def mem_available_mb():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("inf")


def read_spikes(path):
    """(population, node_id, time ms) triples of a SONATA spike file (needs h5py)."""
    import h5py
    out = []
    with h5py.File(path, "r") as f:
        for pop, g in f["spikes"].items():
            ids = g["node_ids"][()]
            ts = g["timestamps"][()]
            out.extend((pop, int(i), float(t)) for i, t in zip(ids, ts))
    return out


def type_rates(net, spikes, tstop_ms):
    """Markdown rows: population, node type, name, cells, mean rate (Hz), % active."""
    import h5py
    rows = []
    by_pop = collections.defaultdict(list)
    for pop, nid, _ in spikes:
        by_pop[pop].append(nid)
    for pop, ids in sorted(by_pop.items()):
        with h5py.File(os.path.join(net, "network", f"{pop}_nodes.h5"), "r") as f:
            types = f["nodes"][pop]["node_type_id"][()]
        names = {}
        csv_path = os.path.join(net, "network", f"{pop}_node_types.csv")
        if os.path.isfile(csv_path):
            lines = [l.split(" ") for l in open(csv_path).read().splitlines() if l.strip()]
            hdr = lines[0]
            col = next((hdr.index(c) for c in ("model_name", "pop_name") if c in hdr), None)
            for l in lines[1:]:
                names[int(l[0])] = l[col] if col is not None else ""
        counts = collections.Counter(ids)
        for t in sorted(set(types.tolist())):
            members = [i for i, ty in enumerate(types.tolist()) if ty == t]
            n = sum(counts[i] for i in members)
            active = sum(1 for i in members if counts[i] > 0)
            rows.append(f"| {pop} | {t} | {names.get(t, '')} | {len(members)} | "
                        f"{n / len(members) / (tstop_ms / 1000):.2f} | {100 * active / len(members):.1f}% |")
    return rows


def agreement(glif, nest, dt):
    """Fraction of NEST spikes matched by a glifnet spike at the same node and step."""
    key = lambda s: (s[0], s[1], int(round(s[2] / dt)))
    a = collections.Counter(map(key, glif))
    b = collections.Counter(map(key, nest))
    matched = sum(min(n, a[k]) for k, n in b.items())
    return matched / max(1, sum(b.values()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--glifnet", required=True, help="glifnet binary")
    ap.add_argument("--spec", required=True)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--dt", type=float, nargs="+", default=[0.1])
    ap.add_argument("--tstop", type=float, default=None, help="ms (default: the spec's)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--run-bmtk", default=None, help="tools/run_bmtk.py (NEST runs)")
    ap.add_argument("--no-nest", action="store_true")
    ap.add_argument("--rates", action="store_true", help="print firing rates per node type")
    ap.add_argument("--nest-bytes-per-edge", type=float, default=250.0,
                    help="memory estimate used to skip NEST when it would not fit")
    a = ap.parse_args()

    os.makedirs(a.workdir, exist_ok=True)
    net = os.path.join(a.workdir, f"net_scale{a.scale:g}")
    if os.path.isdir(net):
        shutil.rmtree(net)
    out, _, build_s, build_rss = timed([a.glifnet, "build", a.spec, "-o", net, "--scale", str(a.scale)])
    # Flush the freshly written network to disk first: the kernel's write-back of hundreds of MB
    # would otherwise run during (and slow down) whichever simulation comes first.
    os.sync()
    time.sleep(2)
    nodes = sum(int(m) for m in re.findall(r"^\s+nodes \S+\s+(\d+)", out, re.M))
    edges = sum(int(m) for m in re.findall(r"^\s+edges \S+\s+(\d+)", out, re.M))
    sim_cfg = os.path.join(net, "config.simulation.json")
    base = json.load(open(sim_cfg))
    tstop = a.tstop if a.tstop is not None else base["run"]["tstop"]

    nest_why = None
    if a.no_nest:
        nest_why = "--no-nest given"
    elif not a.run_bmtk or not os.path.isfile(a.run_bmtk):
        nest_why = f"run_bmtk.py not found ({a.run_bmtk})"
    else:
        import importlib.util
        missing = [m for m in ("h5py", "nest", "bmtk") if importlib.util.find_spec(m) is None]
        if missing:
            nest_why = f"{', '.join(missing)} not importable in {sys.executable}"
    need_mb = edges * a.nest_bytes_per_edge / 2**20
    if nest_why is None and need_mb > 0.8 * mem_available_mb():
        nest_why = f"NEST would need ~{need_mb:.0f} MB for {edges} edges; {mem_available_mb():.0f} MB available"
    if nest_why:
        print(f"bench: skipping NEST: {nest_why}", file=sys.stderr)

    last = {}
    rows = [("glifnet build", "-", "-", f"{build_s:.2f}", "-", f"{build_rss:.0f}", "-", "-", "-", "-")]
    for dt in a.dt:
        for th in a.threads:
            tag = f"dt{dt:g}_t{th}"
            gout = os.path.join(net, f"out_glifnet_{tag}")
            _, err, wall, rss = timed([a.glifnet, "run", sim_cfg, "--dt", str(dt), "--tstop", str(tstop),
                                       "--threads", str(th), "--output-dir", gout])
            m = re.search(r"build ([\d.]+) s \| simulate ([\d.]+) s", err)
            g_build, g_sim = (float(m.group(1)), float(m.group(2))) if m else (float("nan"), wall)
            glif_spikes = None
            n_glif = "?"
            try:
                glif_spikes = read_spikes(os.path.join(gout, "spikes.h5"))
                n_glif = len(glif_spikes)
            except Exception:
                n_glif = sum(int(x) for x in re.findall(r"^\S+\s+\d+\s+(\d+)\s+[\d.]+\s+[\d.]+%", err, re.M))
            last["glifnet"] = glif_spikes
            row_g = ["glifnet", f"{dt:g}", str(th), f"{g_build:.2f}", f"{g_sim:.2f}", f"{rss:.0f}", str(n_glif)]
            if nest_why:
                rows.append(tuple(row_g + ["-", "-", "-"]))
                continue
            cfg = dict(base)
            cfg["run"] = dict(base["run"], dt=dt, tstop=tstop)
            cfg["output"] = dict(base["output"], output_dir=f"$BASE_DIR/out_nest_{tag}")
            cfg_path = os.path.join(net, f"config.nest_{tag}.json")
            json.dump(cfg, open(cfg_path, "w"), indent=2)
            nout, _, nwall, nrss = timed([sys.executable, a.run_bmtk, os.path.basename(cfg_path), "--threads", str(th)], cwd=net)
            res = json.loads([line for line in nout.splitlines() if line.startswith("{")][-1])
            nest_spikes = read_spikes(os.path.join(net, f"out_nest_{tag}", "spikes.h5"))
            last["NEST"] = nest_spikes
            ratio = res["t_run_s"] / g_sim if g_sim > 0 else float("inf")
            agr = agreement(glif_spikes or [], nest_spikes, dt)
            rows.append(tuple(row_g + [f"{ratio:.1f}x", f"{100 * agr:.2f}%", ""]))
            rows.append(("NEST", f"{dt:g}", str(th), f"{res['t_build_s']:.2f}", f"{res['t_run_s']:.2f}",
                         f"{nrss:.0f}", str(len(nest_spikes)), "", "", ""))
    print(f"\nnetwork {a.spec} scale {a.scale:g}: {nodes} nodes, {edges} edges, tstop {tstop:g} ms\n")
    hdr = ["sim", "dt ms", "threads", "build s", "simulate s", "peak RSS MB", "spikes",
           "NEST/glifnet simulate", "spike agreement", ""]
    print("| " + " | ".join(hdr[:-1]) + " |")
    print("|" + "---|" * (len(hdr) - 1))
    for r in rows:
        print("| " + " | ".join(r[:-1]) + " |")
    if a.rates:
        for sim, spikes in last.items():
            if spikes is None:
                continue
            print(f"\nfiring rates, {sim} (last run: dt {a.dt[-1]:g} ms, {a.threads[-1]} thread(s))\n")
            print("| population | node type | name | cells | rate Hz | active |")
            print("|---|---|---|---|---|---|")
            print("\n".join(type_rates(net, spikes, tstop)))


if __name__ == "__main__":
    main()

