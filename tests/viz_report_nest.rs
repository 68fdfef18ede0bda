//! Membrane reports of `glifnet run` against NEST 3.10 multimeter samples: the deterministic
//! 2019 glif_psc scenario (docs/glif.md §4.3(a), `reference/glif/nest_reference_tests.json` key
//! `glif_psc_legacy_724fbbe4c`), rebuilt as a SONATA network so that the whole path
//! config `reports` -> engine probes -> report files is exercised for every variable.
//!
//! Scenario (glif.md §9.2): resolution 0.01 ms, 1000 ms; five glif_psc cells (levels 1–5 via
//! the three flags, NEST defaults, V_m = −78.85); spike trains [10, 100, 400, 600] ms at
//! +20 pA and [15, 99, 200, 700] ms at −20 pA into receptor 1 with delay 1 ms; a 300 pA step
//! that the membrane sees on [501, 801) ms. BMTK's IClamp reaches the cell with delay dt
//! (sonata-bmtk.md §6.4), so the clamp is configured from 500.99 to 800.99 ms.

use std::path::Path;
use std::process::Command;

use glifnet::sonata::report::{read_report, read_trace};

mod common;

const LEVELS: [(&str, bool, bool, bool); 5] = [
    ("lif", false, false, false),
    ("lif_r", true, false, false),
    ("lif_asc", false, true, false),
    ("lif_r_asc", true, true, false),
    ("lif_r_asc_a", true, true, true),
];

const VARS: [&str; 4] = ["V_m", "threshold", "ASCurrents_sum", "I_syn"];

fn ds<T: hdf5::H5Type>(g: &hdf5::Group, name: &str, data: &[T]) -> hdf5::Dataset {
    g.new_dataset_builder()
        .with_data(data)
        .create(name)
        .unwrap()
}

fn str_attr(loc: &hdf5::Location, name: &str, value: &str) {
    let v: hdf5::types::VarLenUnicode = value.parse().unwrap();
    loc.new_attr::<hdf5::types::VarLenUnicode>()
        .shape(())
        .create(name)
        .unwrap()
        .write_scalar(&v)
        .unwrap();
}

fn root(f: &hdf5::File) {
    f.new_attr::<u32>()
        .shape(())
        .create("magic")
        .unwrap()
        .write_scalar(&0x0A7Au32)
        .unwrap();
    f.new_attr_builder()
        .with_data(&[0u32, 1])
        .create("version")
        .unwrap();
}

fn nodes(path: &Path, pop: &str, type_ids: &[u64]) {
    let f = hdf5::File::create(path).unwrap();
    root(&f);
    let g = f.create_group(&format!("nodes/{pop}")).unwrap();
    let n = type_ids.len() as u64;
    ds(&g, "node_id", &(0..n).collect::<Vec<_>>());
    ds(&g, "node_type_id", type_ids);
    ds(&g, "node_group_id", &vec![0u32; n as usize]);
    ds(&g, "node_group_index", &(0..n).collect::<Vec<_>>());
    g.create_group("0").unwrap();
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn build(d: &Path) {
    let net = d.join("network");
    std::fs::create_dir_all(&net).unwrap();
    nodes(&net.join("cells.h5"), "cells", &[1, 2, 3, 4, 5]);
    let mut csv = String::from("node_type_id model_type model_template dynamics_params\r\n");
    for (k, (name, sdt, asc, at)) in LEVELS.iter().enumerate() {
        csv.push_str(&format!(
            "{} point_neuron nest:glif_psc {name}.json\r\n",
            k + 1
        ));
        write(
            &d.join(format!("models/{name}.json")),
            &format!(
                r#"{{"V_m": -78.85, "spike_dependent_threshold": {sdt}, "after_spike_currents": {asc}, "adapting_threshold": {at}}}"#
            ),
        );
    }
    write(&net.join("cells_types.csv"), &csv);
    nodes(&net.join("stim.h5"), "stim", &[100, 100]);
    write(
        &net.join("stim_types.csv"),
        "node_type_id model_type\r\n100 virtual\r\n",
    );
    // stim 0 (excitatory) and stim 1 (inhibitory) -> every cell.
    let f = hdf5::File::create(net.join("stim_cells.h5")).unwrap();
    root(&f);
    let g = f.create_group("edges/stim_to_cells").unwrap();
    let src: Vec<u64> = (0..10).map(|e| e / 5).collect();
    let tgt: Vec<u64> = (0..10).map(|e| e % 5).collect();
    str_attr(&ds(&g, "source_node_id", &src), "node_population", "stim");
    str_attr(&ds(&g, "target_node_id", &tgt), "node_population", "cells");
    let types: Vec<u32> = src.iter().map(|&s| 10 + s as u32).collect();
    ds(&g, "edge_type_id", &types);
    ds(&g, "edge_group_id", &[0u16; 10]);
    ds(&g, "edge_group_index", &(0..10u32).collect::<Vec<_>>());
    g.create_group("0").unwrap();
    drop(f);
    write(
        &net.join("stim_cells_types.csv"),
        "edge_type_id model_template syn_weight dynamics_params delay\r\n\
         10 static_synapse 20.0 r1.json 1.0\r\n\
         11 static_synapse -20.0 r1.json 1.0\r\n",
    );
    write(&d.join("synapses/r1.json"), r#"{"receptor_type": 1}"#);
    // input spikes
    let f = hdf5::File::create(d.join("stim_spikes.h5")).unwrap();
    root(&f);
    let g = f.create_group("spikes/stim").unwrap();
    str_attr(&g, "sorting", "none");
    ds(&g, "node_ids", &[0u64, 0, 0, 0, 1, 1, 1, 1]);
    str_attr(
        &ds(
            &g,
            "timestamps",
            &[10.0f64, 100.0, 400.0, 600.0, 15.0, 99.0, 200.0, 700.0],
        ),
        "units",
        "ms",
    );
    drop(f);
    let reports: Vec<String> = VARS
        .iter()
        .map(|v| {
            format!(
                r#""{v}_report": {{"module": "membrane_report", "cells": "cells", "variable_name": "{v}", "file_name": "{v}.h5", "dt": 0.01}}"#
            )
        })
        .collect();
    write(
        &d.join("config.json"),
        &format!(
            r#"{{
  "manifest": {{"$BASE": "${{configdir}}"}},
  "run": {{"tstop": 1000.0, "dt": 0.01}},
  "target_simulator": "NEST",
  "components": {{"point_neuron_models_dir": "$BASE/models", "synaptic_models_dir": "$BASE/synapses"}},
  "networks": {{
    "nodes": [{{"nodes_file": "$BASE/network/cells.h5", "node_types_file": "$BASE/network/cells_types.csv"}},
              {{"nodes_file": "$BASE/network/stim.h5", "node_types_file": "$BASE/network/stim_types.csv"}}],
    "edges": [{{"edges_file": "$BASE/network/stim_cells.h5", "edge_types_file": "$BASE/network/stim_cells_types.csv"}}]
  }},
  "inputs": {{
    "stim": {{"input_type": "spikes", "module": "sonata", "input_file": "$BASE/stim_spikes.h5", "node_set": "stim"}},
    "step": {{"input_type": "current_clamp", "module": "IClamp", "node_set": "cells",
              "amp": 300.0, "delay": 500.99, "duration": 300.0}}
  }},
  "output": {{"output_dir": "$BASE/output", "spikes_file": "spikes.h5"}},
  "reports": {{{}}}
}}"#,
            reports.join(",\n    ")
        ),
    );
}

#[test]
fn reports_match_nest_multimeter_for_every_variable() {
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::shared_dir().join("reference/glif/nest_reference_tests.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let reference = &reference["glif_psc_legacy_724fbbe4c"];
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    build(d);
    let out = Command::new(common::glifnet_bin())
        .args(["run", "--no-plot"])
        .arg(d.join("config.json"))
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for var in VARS {
        let mut max_err = 0.0f64;
        let path = d.join(format!("output/{var}.h5"));
        let info = read_report(&path).unwrap();
        assert_eq!(info.len(), 1);
        let p = &info[0];
        assert_eq!(p.name, "cells");
        assert_eq!(p.node_ids, vec![0, 1, 2, 3, 4]);
        assert_eq!(p.variable.as_deref(), Some(var));
        // NEST samples at step ends: first at t = interval, last at tstop.
        assert!((p.dt - 0.01).abs() < 1e-12);
        assert!((p.tstart - 0.01).abs() < 1e-9, "tstart {}", p.tstart);
        assert_eq!(p.n_steps, 100_000);
        for (node, (level, ..)) in LEVELS.iter().enumerate() {
            let tr = read_trace(&path, None, node as u64).unwrap();
            let samples = reference[*level]["samples"].as_object().unwrap();
            for (t, vals) in samples {
                let t: f64 = t.parse().unwrap();
                let k = ((t - p.tstart) / p.dt).round() as usize;
                assert!((tr.times[k] - t).abs() < 1e-9);
                let want = vals[var].as_f64().unwrap();
                let got = tr.values[k];
                // V_m and threshold in mV, currents in pA; glifnet is bit-identical to NEST 3.10 here; 1e-9 leaves room for libm differences.
                let tol = 1e-9 * want.abs().max(1.0);
                max_err = max_err.max((got - want).abs());
                assert!(
                    (got - want).abs() <= tol,
                    "{level} {var} at {t} ms: glifnet {got}, NEST {want}"
                );
            }
        }
        eprintln!("{var}: max |glifnet - NEST| over 5 levels x 13 samples = {max_err:e}");
    }
    // The spikes of the same run match NEST too (the reports did not perturb the numerics).
    let spikes = glifnet::sonata::spikes::read_spikes(&d.join("output/spikes.h5")).unwrap();
    let cells = spikes.get("cells").unwrap();
    for (node, (level, ..)) in LEVELS.iter().enumerate() {
        let mut got: Vec<f64> = cells
            .node_ids
            .iter()
            .zip(&cells.timestamps_ms)
            .filter(|(&n, _)| n == node as u64)
            .map(|(_, &t)| t)
            .collect();
        got.sort_by(f64::total_cmp);
        let want: Vec<f64> = reference[*level]["spikes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), want.len(), "{level}: {got:?} vs {want:?}");
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{level}: {got:?} vs {want:?}");
        }
    }
}
