//! `mpirun -np K glifnet run` writes the single-process spikes (issue #8 acceptance): on a
//! network the test builds and on point_450glifs at dt 0.1 ms, for 2 and 3 ranks; and a failure
//! on one rank aborts all ranks with a clear message instead of hanging.
//!
//! Needs the `mpi` feature and Open MPI: `cargo test --release --features mpi --test mpi_run`.
#![cfg(feature = "mpi")]

mod common;
mod engine_support;
mod mpi_support;

use std::path::Path;
use std::process::{Command, Output};

/// `glifnet run CONFIG ARGS` in `dir`, under `mpirun -np ranks` when `ranks > 0`. A 600 s
/// `timeout` turns a hang into a failure.
fn glifnet_run(dir: &Path, ranks: usize, args: &[&str]) -> Output {
    let bin = common::glifnet_bin();
    let mut c = Command::new("timeout");
    c.arg("600");
    if ranks > 0 {
        c.args(["mpirun", "--allow-run-as-root", "--oversubscribe", "-np"])
            .arg(ranks.to_string());
    }
    // the test process may still hold the HDF5 files it just built (as scripts/test.sh does)
    c.env("HDF5_USE_FILE_LOCKING", "FALSE");
    c.arg(bin)
        .args(["run", "config.simulation.json", "--quiet"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn run_ok(dir: &Path, ranks: usize, args: &[&str]) {
    let out = glifnet_run(dir, ranks, args);
    assert!(
        out.status.success(),
        "{ranks} ranks: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run single-process and with 2 and 3 ranks; spikes.csv must be byte-identical. Returns the
/// number of spikes.
fn same_spikes(dir: &Path, args: &[&str]) -> usize {
    let with = |out: &str| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        v.extend(["--output-dir".into(), out.into()]);
        v
    };
    let single = with("single");
    run_ok(
        dir,
        0,
        &single.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    );
    let reference = std::fs::read(dir.join("single/spikes.csv")).unwrap();
    for ranks in [2, 3] {
        let out = format!("mpi{ranks}");
        let a = with(&out);
        run_ok(
            dir,
            ranks,
            &a.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        );
        let got = std::fs::read(dir.join(&out).join("spikes.csv")).unwrap();
        assert!(got == reference, "{ranks} ranks: spikes.csv differs");
        let log = std::fs::read_to_string(dir.join(&out).join("log.txt")).unwrap();
        for r in 0..ranks {
            assert!(
                log.contains(&format!("MPI rank {r} of {ranks}")),
                "log lacks rank {r}: {log}"
            );
        }
    }
    reference.iter().filter(|&&b| b == b'\n').count() - 1
}

#[test]
fn built_network_same_spikes_on_2_and_3_ranks() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = mpi_support::built_network(tmp.path(), 1000.0);
    let n = same_spikes(tmp.path(), &["--threads", "1"]);
    assert!(n > 2000, "{n} spikes");
    each_rank_loaded_only_its_edges(&cfg, tmp.path());
}

/// Ranks whose own synapses have different minimum delays (here 1 ms onto the outer cells,
/// the last block, 3 ms elsewhere) still advance in one epoch length, the global minimum:
/// identical spikes, no rank waiting in a different all-gather.
#[test]
fn heterogeneous_delays_same_spikes_on_2_and_3_ranks() {
    let tmp = tempfile::tempdir().unwrap();
    mpi_support::built_network(tmp.path(), 500.0);
    for f in ["v1_v1_edge_types.csv", "lgn_v1_edge_types.csv"] {
        let path = tmp.path().join("network").join(f);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            let mut cols: Vec<&str> = line.split(' ').collect();
            if i > 0 {
                let last = cols.len() - 1;
                cols[last] = if line.contains("outer") { "1.0" } else { "3.0" };
            }
            out.push_str(&cols.join(" "));
            out.push('\n');
        }
        assert!(out.contains(" 1.0\n") && out.contains(" 3.0\n"), "{out}");
        std::fs::write(&path, out).unwrap();
    }
    let n = same_spikes(tmp.path(), &["--threads", "1"]);
    assert!(n > 1000, "{n} spikes");
    // 3 ranks: the first block holds only inner cells (3 ms synapses), the last the outer ones
    let log = std::fs::read_to_string(tmp.path().join("mpi3/log.txt")).unwrap();
    let blocks = loaded_lines(&log);
    assert!(blocks[0].3 <= 120 && blocks[2].3 == 180, "{blocks:?}");
    assert!(log.contains("epochs of 10 steps"), "{log}");
}

/// Only the last rank reads the bad edges (a delay below dt onto the outer cells, its block):
/// it fails while rank 0 waits in a collective, and every rank stops with the message naming
/// the edge types file, the field and the value, exit code 1, no output.
#[test]
fn bad_edges_read_by_one_rank_only_abort_all_ranks() {
    let tmp = tempfile::tempdir().unwrap();
    mpi_support::built_network(tmp.path(), 200.0);
    let path = tmp.path().join("network/v1_v1_edge_types.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let bad: String = text
        .lines()
        .map(|l| {
            if l.contains("outer") && l.contains("instantaneousInh") {
                format!("{} 0.05\n", l.rsplit_once(' ').unwrap().0)
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert!(bad.contains(" 0.05\n"), "{bad}");
    std::fs::write(&path, bad).unwrap();
    let out = glifnet_run(tmp.path(), 2, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("v1_v1_edge_types.csv")
            && err.contains("delay")
            && err.contains("0.05")
            && err.contains("(rank 1 of 2)"),
        "{err}"
    );
    assert!(!tmp.path().join("output/spikes.csv").exists());
}

/// `(rank, loaded edges, first, end)` from the log lines `MPI rank r of K loaded E edges for
/// targets [a, b)`.
fn loaded_lines(log: &str) -> Vec<(usize, u64, u32, u32)> {
    log.lines()
        .filter_map(|l| {
            let rest = &l[l.find("MPI rank ")? + 9..];
            let (rank, rest) = rest.split_once(" of ")?;
            let (_, rest) = rest.split_once(" loaded ")?;
            let (e, rest) = rest.split_once(" edges for targets [")?;
            let (a, rest) = rest.split_once(", ")?;
            let b = rest.strip_suffix(')')?;
            Some((
                rank.parse().ok()?,
                e.parse().ok()?,
                a.parse().ok()?,
                b.parse().ok()?,
            ))
        })
        .collect()
}

/// Issue #8 What.2: each rank reads only the edges onto its own neurons. The per-rank counts
/// logged by the 2- and 3-rank runs must equal the number of synapses of the full
/// single-process lowering whose target lies in that rank's block, and add up to the total.
fn each_rank_loaded_only_its_edges(cfg_path: &Path, dir: &Path) {
    use glifnet::inputs::driven_virtual_populations;
    use glifnet::network::lower;
    let cfg = glifnet::config::SimulationConfig::load(cfg_path).unwrap();
    let circuit = glifnet::sonata::Circuit::load(&cfg).unwrap();
    let driven = driven_virtual_populations(&cfg, &circuit).unwrap();
    let net = lower(&circuit, 0.1, &|p| driven.iter().any(|d| d == p)).unwrap();
    let targets = &net.synapses.target;
    let total = targets.len() as u64;
    assert!(total > 10_000, "{total} synapses");
    for ranks in [2, 3] {
        let log = std::fs::read_to_string(dir.join(format!("mpi{ranks}/log.txt"))).unwrap();
        let lines = loaded_lines(&log);
        assert_eq!(lines.len(), ranks, "{log}");
        let mut sum = 0;
        for &(r, e, a, b) in &lines {
            let want = targets.iter().filter(|&&t| t >= a && t < b).count() as u64;
            assert_eq!(e, want, "{ranks} ranks, rank {r}: targets [{a}, {b})");
            // balanced by synapse count: no rank holds much more than its share
            assert!(
                (e as f64) < 1.25 * total as f64 / ranks as f64,
                "{ranks} ranks, rank {r}: {e} of {total} edges"
            );
            sum += e;
        }
        assert_eq!(sum, total, "{ranks} ranks");
        assert!(log.contains(&format!("{total} synapses")), "{log}");
    }
}

/// Issue #8 What.4: membrane reports of a 2-rank run (cells of both ranks, listed out of
/// order, and every cell at a coarser interval) are the single-process files: the same bytes,
/// and the same node ids, time axis and samples when read back.
#[test]
fn membrane_reports_on_2_ranks_equal_the_single_process_reports() {
    use glifnet::sonata::report::{read_report, read_trace};
    let tmp = tempfile::tempdir().unwrap();
    let cfg_path = mpi_support::built_network(tmp.path(), 300.0);
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    let picked = [150u64, 0, 91, 3, 179, 60];
    cfg["reports"] = serde_json::json!({
        "vm": {"module": "membrane_report", "variable_name": "V_m", "file_name": "vm.h5",
               "cells": {"population": "v1", "node_id": picked}},
        "all": {"module": "membrane_report", "variable_name": "V_m", "file_name": "all.h5",
                "cells": "v1", "dt": 0.5, "start_time": 20.0, "end_time": 250.0}
    });
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    run_ok(tmp.path(), 0, &["--threads", "2", "--output-dir", "single"]);
    run_ok(tmp.path(), 2, &["--threads", "1", "--output-dir", "mpi2"]);
    let log = std::fs::read_to_string(tmp.path().join("mpi2/log.txt")).unwrap();
    let blocks = loaded_lines(&log);
    assert_eq!(blocks.len(), 2, "{log}");
    // the picked cells live on both ranks (global index = node id: one simulated population)
    for &(r, _, a, b) in &blocks {
        assert!(
            picked.iter().any(|&id| id >= a as u64 && id < b as u64),
            "rank {r} [{a}, {b}) records none of {picked:?}"
        );
    }
    for (file, n_nodes, n_rows) in [("vm.h5", 6, 3000), ("all.h5", 180, 460)] {
        let (s, m) = (
            tmp.path().join("single").join(file),
            tmp.path().join("mpi2").join(file),
        );
        let (rs, rm) = (read_report(&s).unwrap(), read_report(&m).unwrap());
        assert_eq!(
            rs, rm,
            "{file}: metadata (node ids, tstart/tstop/dt, shape)"
        );
        let nodes: Vec<u64> = rs.iter().flat_map(|p| p.node_ids.clone()).collect();
        assert_eq!(nodes.len(), n_nodes, "{file}");
        assert_eq!(rs[0].n_steps, n_rows, "{file}");
        for &id in &nodes {
            let (ts, tm) = (
                read_trace(&s, None, id).unwrap(),
                read_trace(&m, None, id).unwrap(),
            );
            assert_eq!(ts.times, tm.times, "{file} node {id}");
            // exact f64 equality: the same arithmetic on every rank
            assert!(ts.values == tm.values, "{file} node {id}: samples differ");
            assert!(
                ts.values.iter().any(|&v| v != ts.values[0]),
                "{file} node {id} flat"
            );
        }
        assert!(
            std::fs::read(&s).unwrap() == std::fs::read(&m).unwrap(),
            "{file}: bytes differ"
        );
    }
    assert!(
        std::fs::read(tmp.path().join("single/spikes.csv")).unwrap()
            == std::fs::read(tmp.path().join("mpi2/spikes.csv")).unwrap()
    );
}

#[test]
fn point_450glifs_dt0_1_same_spikes_on_2_and_3_ranks() {
    let tmp = tempfile::tempdir().unwrap();
    let ex = mpi_support::example_450(tmp.path(), &common::shared_dir());
    let n = same_spikes(&ex, &["--dt", "0.1", "--threads", "1"]);
    // NEST 3.10 gives 76,318 spikes (reference/nest/point_450glifs/spikes_dt0.1.h5); the
    // single-process glifnet run matches it within the conformance test's tolerance
    assert!((n as f64 - 76_318.0).abs() < 0.01 * 76_318.0, "{n} spikes");
}

#[test]
fn failure_on_rank_0_aborts_all_ranks() {
    // only rank 0 prepares the output folder: a folder it cannot create (a file is in the
    // way) fails there alone while rank 1 would wait in the first all-gather
    let tmp = tempfile::tempdir().unwrap();
    let cfg = mpi_support::built_network(tmp.path(), 200.0);
    let mut c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    if let Some(o) = c.get_mut("output").and_then(|o| o.as_object_mut()) {
        o.remove("overwrite_output_dir");
    }
    if let Some(r) = c.get_mut("run").and_then(|o| o.as_object_mut()) {
        r.remove("overwrite_output_dir");
    }
    std::fs::write(&cfg, c.to_string()).unwrap();
    std::fs::write(tmp.path().join("taken"), "x").unwrap();
    let out = glifnet_run(tmp.path(), 2, &["--output-dir", "taken/out"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("taken") && err.contains("(rank 0 of 2)"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("taken")).unwrap(),
        "x"
    );
}

#[test]
fn bad_input_on_every_rank_exits_1_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    mpi_support::built_network(tmp.path(), 200.0);
    let edges = std::fs::read_dir(tmp.path().join("network"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_edges.h5"))
        .unwrap();
    std::fs::write(&edges, b"not hdf5").unwrap();
    let out = glifnet_run(tmp.path(), 2, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let name = edges.file_name().unwrap().to_string_lossy().to_string();
    assert!(err.contains(&name) && err.contains("of 2)"), "{err}");
    assert!(!tmp.path().join("output/spikes.csv").exists());
}

/// A network whose one edge file `v1_to_TARGET` ends on a node that cannot receive it, as
/// `case` says: `"virtual_population"` (the target population `lgn` is all virtual),
/// `"virtual_node"` (node 2 of `v1` is a virtual node) or `"unknown_id"` (target id 7 in a
/// population of 4 nodes). Every other cell is a plain iaf_psc_delta; written as
/// `config.simulation.json` in `dir`.
fn bad_target_network(dir: &Path, case: &str) {
    use engine_support::{delta_cell, write_config, EType, Edges, Pop};
    use serde_json::json;
    let cell = (10, "point_neuron", "nest:iaf_psc_delta", delta_cell(2.0));
    let virt = (1, "virtual", "", json!(null));
    let v1 = Pop {
        name: "v1",
        types: vec![cell, virt.clone()],
        nodes: if case == "virtual_node" {
            vec![10, 10, 1, 10]
        } else {
            vec![10; 4]
        },
    };
    let lgn = Pop {
        name: "lgn",
        types: vec![virt],
        nodes: vec![1; 2],
    };
    let (target, bad) = match case {
        "virtual_population" => ("lgn", 1),
        "virtual_node" => ("v1", 2),
        "unknown_id" => ("v1", 7),
        _ => unreachable!("{case}"),
    };
    let edges = Edges {
        source: "v1",
        target,
        types: vec![EType::new(1, 30.0, 1.0, None)],
        edges: vec![(0, 1, 1, None), (1, bad, 1, None), (3, 0, 1, None)],
        h5_delay: None,
    };
    write_config(
        dir,
        &[v1, lgn],
        &[edges],
        json!({}),
        json!({"tstop": 20.0, "dt": 0.1}),
    );
    std::fs::rename(dir.join("config.json"), dir.join("config.simulation.json")).unwrap();
}

/// The error line of a failed run (the last non-empty stderr line: mpirun may add its own
/// notice after it), without the MPI suffix ` (rank r of K)`.
fn error_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .rfind(|l| l.contains("_edges.h5"))
        .unwrap_or_else(|| panic!("no line names the edges file: {err}"));
    let line = match line.rfind(" (rank ") {
        Some(i) if line.ends_with(')') => &line[..i],
        _ => line,
    };
    line.to_string()
}

/// The three refused targets: (case, edges file, field, offending value as printed).
const BAD_TARGETS: [(&str, &str, &str, &str); 3] = [
    (
        "virtual_population",
        "v1_to_lgn_edges.h5",
        "/edges/v1_to_lgn/target_node_id@node_population",
        " = lgn: ",
    ),
    (
        "virtual_node",
        "v1_to_v1_edges.h5",
        "/edges/v1_to_v1/target_node_id",
        " = 2: ",
    ),
    (
        "unknown_id",
        "v1_to_v1_edges.h5",
        "/edges/v1_to_v1/target_node_id",
        " = 7: ",
    ),
];

/// Run the network of `case` in one process and under `mpirun -np 2`; both must fail with
/// exit code 1 and write no spikes. Returns their error lines (single, 2 ranks).
fn refused_both_ways(case: &str) -> (String, String) {
    let tmp = tempfile::tempdir().unwrap();
    bad_target_network(tmp.path(), case);
    let single = glifnet_run(tmp.path(), 0, &[]);
    let mpi = glifnet_run(tmp.path(), 2, &[]);
    for (out, what) in [(&single, "1 process"), (&mpi, "2 ranks")] {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{case}, {what}: {err}");
        for f in ["spikes.csv", "spikes.h5"] {
            assert!(
                !tmp.path().join("output").join(f).exists(),
                "{case}, {what}: {f} written"
            );
        }
    }
    let err = String::from_utf8_lossy(&single.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{case}: one line: {err}");
    let err = String::from_utf8_lossy(&mpi.stderr);
    assert!(
        err.contains(" (rank ") && err.contains(" of 2)"),
        "{case}: {err}"
    );
    (error_line(&single), error_line(&mpi))
}

/// An edge onto a virtual population, a virtual (input) node of a mixed population, or a node
/// id that does not exist is refused under `mpirun -np 2` as in one process: exit code 1, a
/// line naming the edges file, the target field and the offending value, no spikes written.
/// The virtual population is refused with the very same line.
#[test]
fn edge_onto_virtual_or_unknown_target_refused_on_2_ranks() {
    for (case, file, field, value) in BAD_TARGETS {
        let (s, m) = refused_both_ways(case);
        for (line, what) in [(&s, "1 process"), (&m, "2 ranks")] {
            assert!(
                line.contains(file) && line.contains(field) && line.contains(value),
                "{case}, {what}: {line}"
            );
        }
        if case == "virtual_population" {
            assert_eq!(m, s, "{case}: 2 ranks vs 1 process");
        }
    }
}

/// The same line in both runs for every refused target: the distributed run refuses a
/// virtual-node or unknown-id target while it balances the blocks, before any edge is read
/// (Circuit::in_degrees), and names the file row of the edge as a full load does.
#[test]
fn edge_onto_virtual_or_unknown_target_same_line_on_2_ranks() {
    for (case, ..) in BAD_TARGETS {
        let (s, m) = refused_both_ways(case);
        assert_eq!(m, s, "{case}: 2 ranks vs 1 process");
    }
}
