//! Bad inputs to `glifnet run`: each is a one-line error naming the culprit, exit code 1, and
//! no output written.

mod engine_support;

use engine_support::*;
use serde_json::json;

fn lgn() -> Pop {
    Pop {
        name: "lgn",
        types: vec![(1, "virtual", "", json!(null))],
        nodes: vec![1; 2],
    }
}

fn v1() -> Pop {
    Pop {
        name: "v1",
        types: vec![(10, "point_neuron", "nest:iaf_psc_delta", delta_cell(2.0))],
        nodes: vec![10; 2],
    }
}

fn spikes_input(node_set: &str, file: &str) -> serde_json::Value {
    json!({"in": {"input_type": "spikes", "module": "sonata",
                  "input_file": format!("${{configdir}}/{file}"), "node_set": node_set}})
}

/// Build a network lgn → v1 with `etype`, spike times `times`, and run; return stderr.
fn failing(etype: EType, times: Vec<f64>, inputs: Option<serde_json::Value>, needles: &[&str]) {
    let d = tempfile::tempdir().unwrap();
    write_input_spikes(&d.path().join("in.h5"), "lgn", vec![0; times.len()], times);
    let e = Edges {
        source: "lgn",
        target: "v1",
        types: vec![etype],
        edges: vec![(0, 0, 1, None), (1, 1, 1, None)],
        h5_delay: None,
    };
    let inputs = inputs.unwrap_or_else(|| spikes_input("lgn", "in.h5"));
    write_config(
        d.path(),
        &[v1(), lgn()],
        &[e],
        inputs,
        json!({"tstop": 100.0, "dt": 0.1}),
    );
    let out = glifnet(d.path(), &["run", "config.json", "--quiet"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for n in needles {
        assert!(err.contains(n), "'{n}' not in: {err}");
    }
    assert!(!d.path().join("output").exists(), "nothing written");
}

#[test]
fn delay_below_dt() {
    failing(
        EType::new(1, 20.0, 0.05, None),
        vec![5.0],
        None,
        &["delay", "0.05", "lgn_to_v1_edge_types.csv"],
    );
}

#[test]
fn unknown_synapse_model() {
    let mut t = EType::new(1, 20.0, 1.0, None);
    t.model_template = "stdp_synapse";
    failing(t, vec![5.0], None, &["stdp_synapse", "model_template"]);
}

#[test]
fn unknown_weight_function() {
    let mut t = EType::new(1, 20.0, 1.0, None);
    t.extra = vec![("weight_function", "gaussianLL")];
    failing(t, vec![5.0], None, &["gaussianLL", "weight_function"]);
}

#[test]
fn spike_time_not_positive() {
    failing(
        EType::new(1, 20.0, 1.0, None),
        vec![5.0, 0.0],
        None,
        &["in.h5", "0", "> 0"],
    );
}

#[test]
fn spikes_into_a_non_virtual_population() {
    failing(
        EType::new(1, 20.0, 1.0, None),
        vec![5.0],
        Some(spikes_input("v1", "in.h5")),
        &["v1", "virtual", "node_set"],
    );
}

#[test]
fn missing_input_file() {
    failing(
        EType::new(1, 20.0, 1.0, None),
        vec![5.0],
        Some(spikes_input("lgn", "nope.h5")),
        &["nope.h5"],
    );
}

/// BMTK 1.2 PointNet never refuses a rerun (with `overwrite_output_dir` false it warns and
/// writes over its files); glifnet neither, and it never removes a file it did not write.
#[test]
fn existing_output_folder_without_overwrite_is_reused_and_other_files_kept() {
    let d = tempfile::tempdir().unwrap();
    write_config(
        d.path(),
        &[v1()],
        &[],
        json!({}),
        json!({"tstop": 10.0, "dt": 0.1}),
    );
    let p = d.path().join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    cfg["output"]["overwrite_output_dir"] = json!(false);
    cfg["run"]["overwrite_output_dir"] = json!(false);
    std::fs::write(&p, cfg.to_string()).unwrap();
    std::fs::create_dir_all(d.path().join("output")).unwrap();
    std::fs::write(d.path().join("output/old.txt"), "keep").unwrap();
    for _ in 0..2 {
        let out = glifnet(d.path(), &["run", "config.json", "--quiet"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        std::fs::read_to_string(d.path().join("output/old.txt")).unwrap(),
        "keep"
    );
    let log = std::fs::read_to_string(d.path().join("output/log.txt")).unwrap();
    assert!(
        log.contains("Replaced") && log.contains("spikes.h5"),
        "{log}"
    );
}
