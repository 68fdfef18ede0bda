//! Bad input through the binary (`glifnet inspect`): one test per error class of issue #2.
//! Each must exit with code 1 and print exactly one line naming the file, the field and the
//! value; none may panic.

mod common;
mod io_fixtures;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use io_fixtures::{write_net, Variant};

/// HDF5 does not open files with O_CLOEXEC, so a child spawned while another test thread has
/// an h5 file open inherits its descriptor and the file lock with it. Every h5 write and every
/// spawn holds this lock, so no h5 file is open in this process when a child is forked.
static H5_OR_SPAWN: Mutex<()> = Mutex::new(());

fn locked<R>(f: impl FnOnce() -> R) -> R {
    let _g = H5_OR_SPAWN.lock().unwrap_or_else(|e| e.into_inner());
    f()
}

fn fixture() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let cfg = locked(|| write_net(d.path(), &Variant::default()));
    (d, cfg)
}

/// Spawn `glifnet <args>` (under the lock) and wait for it (outside the lock).
fn glifnet(args: &[&std::ffi::OsStr], cwd: &Path) -> std::process::Output {
    let child = locked(|| {
        Command::new(common::glifnet_bin())
            .args(args)
            .current_dir(cwd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    });
    child.wait_with_output().unwrap()
}

/// Run `glifnet inspect <cfg>` and check the error contract; returns the message.
fn inspect_fails(cfg: &Path, wants: &[&str]) -> String {
    let out = glifnet(
        &["inspect".as_ref(), cfg.as_os_str()],
        cfg.parent().unwrap(),
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    for w in wants {
        assert!(err.contains(w), "missing `{w}` in: {err}");
    }
    eprint!("{err}");
    err
}

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    let s = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, f(s)).unwrap();
}

/// Rewrite one dataset of an h5 file (delete it and optionally write a replacement).
fn replace_dataset(file: &Path, group: &str, name: &str, write: impl FnOnce(&hdf5::Group)) {
    locked(|| {
        let f = hdf5::File::open_rw(file).unwrap();
        let g = f.group(group).unwrap();
        g.unlink(name).unwrap();
        write(&g);
    })
}

#[test]
fn sanity_fixture_inspects() {
    let (_d, cfg) = fixture();
    let out = glifnet(
        &["inspect".as_ref(), cfg.as_os_str()],
        cfg.parent().unwrap(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("  cells: 5 nodes, 0 virtual"), "{text}");
    assert!(
        text.contains("type 20: edges 2, nsyns 4, weight 6.25, delay 1.5..1.5 ms"),
        "{text}"
    );
}

#[test]
fn missing_file() {
    let (d, cfg) = fixture();
    std::fs::remove_file(d.path().join("network/nodes.h5")).unwrap();
    inspect_fails(
        &cfg,
        &[
            "config.json",
            "networks.nodes[0].nodes_file",
            "network/nodes.h5",
            "no such file",
        ],
    );
}

#[test]
fn missing_dataset() {
    let (d, cfg) = fixture();
    let f = d.path().join("network/nodes.h5");
    replace_dataset(&f, "nodes/cells", "node_type_id", |_| {});
    inspect_fails(
        &cfg,
        &[
            "network/nodes.h5",
            "missing dataset /nodes/cells/node_type_id",
        ],
    );
}

#[test]
fn missing_csv_column() {
    let (d, cfg) = fixture();
    let f = d.path().join("network/cells_cells_edge_types.csv");
    edit(&f, |s| s.replacen("edge_type_id", "edge_type", 1));
    inspect_fails(
        &cfg,
        &[
            "network/cells_cells_edge_types.csv",
            "missing column edge_type_id",
            "header: edge_type target_query",
        ],
    );
}

#[test]
fn wrong_dtype() {
    let (d, cfg) = fixture();
    let f = d.path().join("network/nodes.h5");
    replace_dataset(&f, "nodes/cells", "node_type_id", |g| {
        io_fixtures::write_f64(g, "node_type_id", &[1.0, 1.0, 2.0, 2.0, 2.0])
    });
    inspect_fails(
        &cfg,
        &[
            "network/nodes.h5",
            "/nodes/cells/node_type_id",
            "datatype float64 not allowed (expected an integer type)",
        ],
    );
}

#[test]
fn node_type_id_absent_from_csv() {
    let (d, cfg) = fixture();
    let f = d.path().join("network/nodes.h5");
    replace_dataset(&f, "nodes/cells", "node_type_id", |g| {
        io_fixtures::write_ints(
            g,
            "node_type_id",
            &[1, 1, 2, 99, 2],
            io_fixtures::IntType::U64,
        )
    });
    inspect_fails(
        &cfg,
        &[
            "network/nodes.h5",
            "/nodes/cells/node_type_id[3] = 99",
            "not in node types file",
            "cells_node_types.csv",
        ],
    );
}

#[test]
fn edge_id_out_of_range() {
    let (d, cfg) = fixture();
    let f = d.path().join("network/cells_cells_edges.h5");
    replace_dataset(&f, "edges/cells_to_cells", "target_node_id", |g| {
        io_fixtures::write_ints(g, "target_node_id", &[0, 5, 1], io_fixtures::IntType::U64);
        io_fixtures::str_attr(
            &g.dataset("target_node_id").unwrap(),
            "node_population",
            "cells",
        );
    });
    inspect_fails(
        &cfg,
        &[
            "network/cells_cells_edges.h5",
            "/edges/cells_to_cells/target_node_id[1] = 5",
            "population cells has 5 nodes",
        ],
    );
}

#[test]
fn malformed_json() {
    let (d, cfg) = fixture();
    std::fs::write(
        d.path().join("components/cell_models/glif.json"),
        "{\"V_th\": -50.0,, }",
    )
    .unwrap();
    inspect_fails(
        &cfg,
        &[
            "components/cell_models/glif.json",
            "malformed JSON at line 1, column 16",
        ],
    );
    // And the config itself.
    edit(&cfg, |s| s.replacen('{', "{{", 1));
    inspect_fails(&cfg, &["config.json", "malformed JSON at line 1"]);
}

#[test]
fn unknown_manifest_variable_in_path() {
    let (_d, cfg) = fixture();
    edit(&cfg, |s| s.replace("$NET/nodes.h5", "$NETWORK/nodes.h5"));
    inspect_fails(
        &cfg,
        &[
            "config.json",
            "networks.nodes[0].nodes_file = \"$NETWORK/nodes.h5\"",
            "unknown manifest variable $NETWORK",
        ],
    );
}

#[test]
fn manifest_cycle() {
    let (_d, cfg) = fixture();
    edit(&cfg, |s| s.replace("\"${configdir}\"", "\"$NET/..\""));
    inspect_fails(
        &cfg,
        &[
            "config.json",
            "manifest: variables $BASE, $COMP, $NET cannot be resolved (cycle)",
        ],
    );
}

#[test]
fn duplicate_type_ids() {
    let (d, cfg) = fixture();
    let f = d.path().join("network/cells_node_types.csv");
    edit(&f, |s| {
        s + "2 point_neuron nest:glif_psc glif.json NULL e\r\n"
    });
    inspect_fails(
        &cfg,
        &[
            "network/cells_node_types.csv",
            "line 5: duplicate node_type_id 2",
        ],
    );
}

#[test]
fn more_bad_values() {
    // Unknown weight function, missing syn_weight, bad CSV line, unknown population reference.
    let (d, cfg) = fixture();
    let f = d.path().join("network/cells_cells_edge_types.csv");
    edit(&f, |s| {
        s.replace(
            " nsyns dynamics_params",
            " nsyns dynamics_params weight_function",
        )
        .replace("x.json\r\n", "x.json gaussianLL\r\n")
    });
    inspect_fails(
        &cfg,
        &[
            "cells_cells_edge_types.csv",
            "line 2: weight_function = gaussianLL",
            "not a built-in weight function",
        ],
    );

    let (d, cfg) = fixture();
    let f = d.path().join("network/ext_cells_edge_types.csv");
    edit(&f, |s| s.replace("10 * *", "10 * * 3"));
    inspect_fails(
        &cfg,
        &["ext_cells_edge_types.csv: line 2: 8 fields, but the header has 7 columns"],
    );

    let (d, cfg) = fixture();
    let f = d.path().join("network/ext_cells_edges.h5");
    locked(|| {
        let h = hdf5::File::open_rw(&f).unwrap();
        let ds = h.dataset("edges/ext_to_cells/source_node_id").unwrap();
        ds.delete_attr("node_population").unwrap();
        io_fixtures::str_attr(&ds, "node_population", "lgn");
    });
    inspect_fails(
        &cfg,
        &[
            "ext_cells_edges.h5",
            "/edges/ext_to_cells/source_node_id@node_population = lgn",
            "no node population",
        ],
    );

    let (d, cfg) = fixture();
    std::fs::remove_file(d.path().join("components/synaptic_models/e.json")).unwrap();
    inspect_fails(
        &cfg,
        &[
            "ext_cells_edge_types.csv",
            "line 2: dynamics_params = e.json",
            "cannot read",
            "synaptic_models/e.json",
        ],
    );
}
