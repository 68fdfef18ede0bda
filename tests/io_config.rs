//! BMTK config semantics (docs/sonata-bmtk.md §3): the three file layouts, child merging,
//! manifest variables and built-ins, typed substitution, path resolution, output joining,
//! section defaults, `enabled: false`, node_sets_file.

use std::path::Path;

use glifnet::config::{ConfigError, LoadOptions, SimulationConfig, SortOrder};
use serde_json::json;

fn write(p: &Path, v: &serde_json::Value) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

fn opts(wd: &Path) -> LoadOptions {
    LoadOptions {
        working_dir: Some(wd.to_path_buf()),
        ..Default::default()
    }
}

fn circuit() -> serde_json::Value {
    json!({
        "manifest": {"$NET": "${configdir}/network"},
        "components": {"point_neuron_models_dir": "$NET/../cells"},
        "networks": {
            "nodes": [{"nodes_file": "$NET/a.h5", "node_types_file": "$NET/a.csv"},
                      {"nodes_file": "$NET/b.h5", "node_types_file": "$NET/b.csv", "enabled": false}],
            "edges": [{"edges_file": "$NET/e.h5", "edge_types_file": "$NET/e.csv"}]
        }
    })
}

#[test]
fn root_file_with_children() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    write(&root.join("cfg/circuit.json"), &circuit());
    write(
        &root.join("cfg/sim.json"),
        &json!({"run": {"tstop": 10.0, "dt": 0.1}, "output": {"output_dir": "${configdir}/out"}}),
    );
    write(
        &root.join("config.json"),
        &json!({"network": "cfg/circuit.json", "simulation": "./cfg/sim.json"}),
    );
    let wd = tempfile::tempdir().unwrap();
    let c = SimulationConfig::load_with(root.join("config.json"), &opts(wd.path())).unwrap();
    assert_eq!(c.config_files.len(), 3);
    // ${configdir} is the directory of the file being parsed (cfg/), not the root's.
    assert_eq!(c.networks.nodes.len(), 1); // the disabled entry is skipped
    assert_eq!(
        c.networks.nodes[0].nodes_file,
        root.join("cfg/network/a.h5")
    );
    assert_eq!(
        c.components.get("point_neuron_models_dir").unwrap(),
        root.join("cfg/cells")
    );
    assert_eq!(
        c.networks.edges[0].edge_types_file,
        root.join("cfg/network/e.csv")
    );
    assert_eq!(c.output.output_dir, root.join("cfg/out"));
    assert_eq!(c.origin_of("run"), root.join("cfg/sim.json"));
    assert_eq!(c.origin_of("networks"), root.join("cfg/circuit.json"));
    assert!(c.to_json().contains("\"run\""));
    assert!(!c.to_json().contains("manifest"));
}

#[test]
fn simulation_pointing_at_circuit_like_point_450glifs() {
    let d = tempfile::tempdir().unwrap();
    let ex = d.path().join("example");
    let mut circ = circuit();
    circ["manifest"] = json!({"$BASE_DIR": ".", "$NET": "$BASE_DIR/network"});
    circ["target_simulator"] = json!("from-circuit");
    write(&ex.join("config.circuit.json"), &circ);
    write(
        &ex.join("config.simulation.json"),
        &json!({
            "manifest": {"$BASE_DIR": ".", "$OUTPUT_DIR": "$BASE_DIR/output", "$INPUT_DIR": "$BASE_DIR/inputs",
                         "NT": 2, "$PRECISE": false},
            "target_simulator": "NEST",
            "run": {"tstop": 3000.0, "duration": 500.0, "dt": 0.001, "n_thread": "$NT", "precise_times": "${PRECISE}"},
            "inputs": {
                "LGN_spikes": {"input_type": "spikes", "module": "sonata", "input_file": "$INPUT_DIR/lgn_spikes.h5", "node_set": "lgn"},
                "off": {"input_type": "spikes", "module": "sonata", "input_file": "x.h5", "enabled": false},
                "clamp": {"input_type": "current_clamp", "module": "IClamp", "node_set": {"population": "v1", "node_id": [1]},
                          "amp": 150.0, "delay": [10.0, 20.0], "duration": [5, 5]}
            },
            "reports": {"vm": {"module": "membrane_report", "cells": "v1", "variable_name": "V_m"},
                        "no": {"module": "membrane_report", "enabled": false}},
            "output": {"log_file": "log.txt", "spikes_file": "spikes.h5", "spikes_file_csv": "$OUTPUT_DIR/spikes.csv",
                       "spikes_file_nwb": "/abs/spikes.nwb", "output_dir": "$OUTPUT_DIR",
                       "overwrite_output_dir": false, "spikes_sort_order": "time"},
            "network": "config.circuit.json"
        }),
    );
    // Run "from the example folder": $BASE_DIR "." is the working directory (BMTK semantics).
    let c = SimulationConfig::load_with(ex.join("config.simulation.json"), &opts(&ex)).unwrap();
    // The child (circuit) overwrites parent keys.
    assert_eq!(c.target_simulator.as_deref(), Some("from-circuit"));
    let r = c.run.as_ref().unwrap();
    assert_eq!((r.tstop, r.dt), (500.0, 0.001)); // duration wins over tstop
    assert_eq!(r.n_thread, 2); // typed substitution of "$NT"
    assert!(!r.precise_times); // typed substitution of "${PRECISE}"
    assert!(!r.overwrite_output_dir); // from output, since run has none
    assert_eq!(c.networks.nodes[0].nodes_file, ex.join("network/a.h5"));
    let out = &c.output;
    assert_eq!(out.output_dir, ex.join("output"));
    assert_eq!(
        out.log_file.as_deref(),
        Some(ex.join("output/log.txt").as_path())
    );
    assert_eq!(
        out.spikes_file.as_deref(),
        Some(ex.join("output/spikes.h5").as_path())
    );
    // Already starting with output_dir: not joined twice.
    assert_eq!(
        out.spikes_file_csv.as_deref(),
        Some(ex.join("output/spikes.csv").as_path())
    );
    assert_eq!(
        out.spikes_file_nwb.as_deref(),
        Some(Path::new("/abs/spikes.nwb"))
    );
    assert_eq!(out.spikes_sort_order, SortOrder::ByTime);
    assert!(out.compression);
    assert_eq!(c.inputs.len(), 2);
    let lgn = &c.inputs[0];
    assert_eq!(
        (
            lgn.name.as_str(),
            lgn.input_type.as_str(),
            lgn.module.as_str()
        ),
        ("LGN_spikes", "spikes", "sonata")
    );
    assert_eq!(
        lgn.input_file.as_deref(),
        Some(ex.join("inputs/lgn_spikes.h5").as_path())
    );
    assert_eq!(lgn.node_set, Some(json!("lgn")));
    let cl = &c.inputs[1];
    assert_eq!(cl.amp.as_deref(), Some(&[150.0][..]));
    assert_eq!(cl.delay.as_deref(), Some(&[10.0, 20.0][..]));
    assert_eq!(cl.duration.as_deref(), Some(&[5.0, 5.0][..]));
    assert_eq!(
        cl.node_set,
        Some(json!({"population": "v1", "node_id": [1]}))
    );
    assert_eq!(c.reports.len(), 1);
    assert_eq!(c.reports[0].variable_name, ["V_m"]);
    assert_eq!(c.reports[0].file_name, ex.join("output/vm.h5"));
    // The resolved JSON carries the joined paths.
    assert_eq!(
        c.resolved["output"]["log_file"],
        json!(ex.join("output/log.txt").display().to_string())
    );
}

#[test]
fn combined_file_builtins_defaults_and_node_sets_file() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("all.json");
    std::fs::write(d.path().join("sets.json"), r#"{"exc": {"ei": "e"}}"#).unwrap();
    write(
        &p,
        &json!({
            "manifest": {"$RUN": "${configfname}_${date}", "$WD": "$workingdir"},
            "run": {"tstop": 1.0, "dt": 0.5},
            "output": {"output_dir": "$WD/$RUN"},
            "node_sets_file": "${configdir}/sets.json",
            "note": "$UNDEFINED stays verbatim outside paths"
        }),
    );
    let wd = tempfile::tempdir().unwrap();
    let c = SimulationConfig::load_with(&p, &opts(wd.path())).unwrap();
    let r = c.run.unwrap();
    assert_eq!(
        (
            r.n_thread,
            r.precise_times,
            r.overwrite_output_dir,
            r.tstart
        ),
        (1, true, true, 0.0)
    );
    let name = c
        .output
        .output_dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("all.json_20") && name.len() == "all.json_2026-01-01".len(),
        "{name}"
    );
    assert_eq!(c.output.output_dir.parent().unwrap(), wd.path());
    assert_eq!(c.output.spikes_sort_order, SortOrder::None);
    assert_eq!(c.node_sets["exc"], json!({"ei": "e"}));
    assert_eq!(
        c.resolved["note"],
        json!("$UNDEFINED stays verbatim outside paths")
    );
    assert!(c.inputs.is_empty() && c.reports.is_empty() && c.networks.nodes.is_empty());

    // User variables take precedence over the manifest.
    let mut o = opts(wd.path());
    o.vars.insert("RUN".into(), json!("mine"));
    let c = SimulationConfig::load_with(&p, &o).unwrap();
    assert_eq!(c.output.output_dir, wd.path().join("mine"));
}

#[test]
fn config_errors_name_file_field_value() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("c.json");
    let check = |v: serde_json::Value, want: &str| {
        write(&p, &v);
        let e: ConfigError = SimulationConfig::load_with(&p, &opts(d.path())).unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains(&p.display().to_string()) && s.contains(want),
            "{s}\nwanted: {want}"
        );
        assert!(!s.contains('\n'));
    };
    check(
        json!({"run": {"tstop": 1.0}}),
        "missing required field run.dt",
    );
    check(
        json!({"run": {"tstop": 1.0, "dt": "x"}}),
        "run.dt = \"x\": expected a number",
    );
    check(
        json!({"run": {"tstop": 1.0, "dt": -1.0}}),
        "run.dt = -1.0: must be a positive number",
    );
    check(
        json!({"output": {"spikes_sort_order": "random"}}),
        "output.spikes_sort_order = \"random\"",
    );
    check(
        json!({"inputs": {"a": {"module": "sonata"}}}),
        "missing required field inputs.a.input_type",
    );
    check(
        json!({"manifest": {"$A": "${B}/x"}, "components": {"synaptic_models_dir": "$A"}}),
        "components.synaptic_models_dir = \"${B}/x\": unknown manifest variable $B",
    );
    check(
        json!({"manifest": {"$A": "$B", "$B": "$A"}}),
        "manifest: variables $A, $B cannot be resolved (cycle)",
    );
    check(json!({"network": "missing.json"}), "missing.json");
    // a control character in a child path is escaped, so the error stays on one line
    check(
        json!({"network": "miss\ning.json"}),
        "network = \"miss\\ning.json\"",
    );
    std::fs::write(&p, "{\"run\": {\"dt\": 0.1,}}").unwrap();
    let e = SimulationConfig::load(&p).unwrap_err().to_string();
    assert!(e.contains("malformed JSON at line 1, column"), "{e}");
}

/// The SONATA specification's `300_pointneurons` layout: the root names the circuit and the
/// simulation config, and the simulation config names the circuit again. That is a diamond,
/// not a cycle (issue #16): BMTK reads it, and so must glifnet. A file that includes itself
/// through its children is still refused.
#[test]
fn a_file_reached_twice_is_a_diamond_not_a_cycle() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    write(&root.join("circuit_config.json"), &circuit());
    write(
        &root.join("simulation_config.json"),
        &json!({"manifest": {"$BASE_DIR": "${configdir}"},
                "network": "$BASE_DIR/circuit_config.json",
                "run": {"tstop": 100.0, "dt": 0.1},
                "output": {"output_dir": "$BASE_DIR/output"}}),
    );
    write(
        &root.join("config.json"),
        &json!({"network": "./circuit_config.json", "simulation": "./simulation_config.json"}),
    );
    let c = SimulationConfig::load_with(root.join("config.json"), &opts(root)).unwrap();
    assert_eq!(c.run.as_ref().unwrap().tstop, 100.0);
    assert_eq!(c.networks.nodes.len(), 1);
    assert_eq!(c.networks.nodes[0].nodes_file, root.join("network/a.h5"));
    assert_eq!(c.networks.edges.len(), 1);
    // every file once, root first
    assert_eq!(
        c.config_files,
        [
            root.join("config.json"),
            root.join("circuit_config.json"),
            root.join("simulation_config.json")
        ]
    );
    // a true cycle: a -> b -> a
    write(&root.join("a.json"), &json!({"network": "./b.json"}));
    write(&root.join("b.json"), &json!({"simulation": "./a.json"}));
    let e = SimulationConfig::load_with(root.join("a.json"), &opts(root)).unwrap_err();
    assert!(matches!(e, ConfigError::IncludeCycle { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("b.json") && msg.contains("a.json") && msg.contains("cycle"),
        "{msg}"
    );
}
