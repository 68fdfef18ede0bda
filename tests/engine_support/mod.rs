//! Small SONATA networks written by the tests themselves (nodes/edges h5, type CSVs, synapse
//! and cell JSONs, a combined BMTK config), and helpers to run `glifnet run` on them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

/// A node population: `types` = (node_type_id, model_type, model_template, params JSON or None
/// for virtual), `nodes` = node type id per node (node ids 0..n).
pub struct Pop {
    pub name: &'static str,
    pub types: Vec<(u64, &'static str, &'static str, Value)>,
    pub nodes: Vec<u64>,
}

/// An edge type: id, syn_weight, delay (None = column absent), synapse JSON, model_template,
/// optional extra CSV columns (name, value).
pub struct EType {
    pub id: u64,
    pub syn_weight: Option<f64>,
    pub delay: Option<f64>,
    pub synapse: Value,
    pub model_template: &'static str,
    pub extra: Vec<(&'static str, &'static str)>,
}

impl EType {
    pub fn new(id: u64, w: f64, delay: f64, receptor: Option<i64>) -> EType {
        EType {
            id,
            syn_weight: Some(w),
            delay: Some(delay),
            synapse: match receptor {
                Some(r) => json!({ "receptor_type": r }),
                None => json!({}),
            },
            model_template: "static_synapse",
            extra: Vec::new(),
        }
    }
}

/// Edges: (source id, target id, edge type id, nsyns or None).
pub struct Edges {
    pub source: &'static str,
    pub target: &'static str,
    pub types: Vec<EType>,
    pub edges: Vec<(u64, u64, u64, Option<u32>)>,
    /// Per-edge delay column in the h5 group (ms), if given.
    pub h5_delay: Option<Vec<f64>>,
}

fn write_attr_u32(loc: &hdf5::Location, name: &str, v: &[u32]) {
    if v.len() == 1 {
        loc.new_attr::<u32>()
            .create(name)
            .unwrap()
            .write_scalar(&v[0])
            .unwrap();
    } else {
        loc.new_attr::<u32>()
            .shape(v.len())
            .create(name)
            .unwrap()
            .write(v)
            .unwrap();
    }
}

fn root_attrs(f: &hdf5::File) {
    write_attr_u32(f, "magic", &[0x0A7A]);
    write_attr_u32(f, "version", &[0, 1]);
}

fn write_str_attr(ds: &hdf5::Dataset, name: &str, value: &str) {
    let v: hdf5::types::VarLenUnicode = value.parse().unwrap();
    ds.new_attr::<hdf5::types::VarLenUnicode>()
        .create(name)
        .unwrap()
        .write_scalar(&v)
        .unwrap();
}

pub fn write_pop(dir: &Path, p: &Pop) {
    let f = hdf5::File::create(dir.join(format!("{}_nodes.h5", p.name))).unwrap();
    root_attrs(&f);
    let g = f
        .create_group("nodes")
        .unwrap()
        .create_group(p.name)
        .unwrap();
    let n = p.nodes.len();
    g.new_dataset_builder()
        .with_data(&(0..n as u64).collect::<Vec<u64>>())
        .create("node_id")
        .unwrap();
    g.new_dataset_builder()
        .with_data(&p.nodes)
        .create("node_type_id")
        .unwrap();
    g.new_dataset_builder()
        .with_data(&vec![0u32; n])
        .create("node_group_id")
        .unwrap();
    g.new_dataset_builder()
        .with_data(&(0..n as u64).collect::<Vec<u64>>())
        .create("node_group_index")
        .unwrap();
    g.create_group("0").unwrap();
    let mut csv = String::from("node_type_id model_type model_template dynamics_params\r\n");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    for (id, mt, tpl, params) in &p.types {
        if *mt == "virtual" {
            csv.push_str(&format!("{id} virtual NULL NULL\r\n"));
        } else {
            let fname = format!("{}_{id}.json", p.name);
            std::fs::write(dir.join("models").join(&fname), params.to_string()).unwrap();
            csv.push_str(&format!("{id} {mt} {tpl} {fname}\r\n"));
        }
    }
    std::fs::write(dir.join(format!("{}_node_types.csv", p.name)), csv).unwrap();
}

pub fn write_edges(dir: &Path, e: &Edges) {
    let name = format!("{}_to_{}", e.source, e.target);
    let f = hdf5::File::create(dir.join(format!("{name}_edges.h5"))).unwrap();
    root_attrs(&f);
    let g = f
        .create_group("edges")
        .unwrap()
        .create_group(&name)
        .unwrap();
    let m = e.edges.len();
    let s = g
        .new_dataset_builder()
        .with_data(&e.edges.iter().map(|x| x.0).collect::<Vec<u64>>())
        .create("source_node_id")
        .unwrap();
    write_str_attr(&s, "node_population", e.source);
    let t = g
        .new_dataset_builder()
        .with_data(&e.edges.iter().map(|x| x.1).collect::<Vec<u64>>())
        .create("target_node_id")
        .unwrap();
    write_str_attr(&t, "node_population", e.target);
    g.new_dataset_builder()
        .with_data(&e.edges.iter().map(|x| x.2 as u32).collect::<Vec<u32>>())
        .create("edge_type_id")
        .unwrap();
    g.new_dataset_builder()
        .with_data(&vec![0u16; m])
        .create("edge_group_id")
        .unwrap();
    g.new_dataset_builder()
        .with_data(&(0..m as u32).collect::<Vec<u32>>())
        .create("edge_group_index")
        .unwrap();
    let g0 = g.create_group("0").unwrap();
    if e.edges.iter().any(|x| x.3.is_some()) {
        g0.new_dataset_builder()
            .with_data(
                &e.edges
                    .iter()
                    .map(|x| x.3.unwrap_or(1))
                    .collect::<Vec<u32>>(),
            )
            .create("nsyns")
            .unwrap();
    }
    if let Some(d) = &e.h5_delay {
        g0.new_dataset_builder()
            .with_data(d)
            .create("delay")
            .unwrap();
    }
    std::fs::create_dir_all(dir.join("syn")).unwrap();
    let mut extra_cols: Vec<&str> = Vec::new();
    for t in &e.types {
        for (k, _) in &t.extra {
            if !extra_cols.contains(k) {
                extra_cols.push(k);
            }
        }
    }
    let mut csv = String::from(
        "edge_type_id target_query source_query model_template syn_weight dynamics_params delay",
    );
    for c in &extra_cols {
        csv.push(' ');
        csv.push_str(c);
    }
    csv.push_str("\r\n");
    for t in &e.types {
        let fname = format!("{name}_{}.json", t.id);
        std::fs::write(dir.join("syn").join(&fname), t.synapse.to_string()).unwrap();
        let num = |v: Option<f64>| v.map(|x| format!("{x}")).unwrap_or_else(|| "NULL".into());
        csv.push_str(&format!(
            "{} * * {} {} {} {}",
            t.id,
            t.model_template,
            num(t.syn_weight),
            fname,
            num(t.delay)
        ));
        for c in &extra_cols {
            let v = t
                .extra
                .iter()
                .find(|x| x.0 == *c)
                .map(|x| x.1)
                .unwrap_or("NULL");
            csv.push(' ');
            csv.push_str(v);
        }
        csv.push_str("\r\n");
    }
    std::fs::write(dir.join(format!("{name}_edge_types.csv")), csv).unwrap();
}

/// Write SONATA spikes for virtual population `pop` with the crate's own writer.
pub fn write_input_spikes(path: &Path, pop: &str, nodes: Vec<u64>, times: Vec<f64>) {
    use glifnet::sonata::spikes::{write_spikes_h5, PopulationSpikes, SpikeTrains};
    let t = SpikeTrains {
        populations: vec![PopulationSpikes::new(pop, nodes, times)],
    };
    write_spikes_h5(path, &t, glifnet::config::SortOrder::None).unwrap();
}

/// Write a combined config (`config.json`) for `pops` and `edges` with `inputs`.
pub fn write_config(
    dir: &Path,
    pops: &[Pop],
    edges: &[Edges],
    inputs: Value,
    run: Value,
) -> PathBuf {
    for p in pops {
        write_pop(dir, p);
    }
    for e in edges {
        write_edges(dir, e);
    }
    let nodes: Vec<Value> = pops
        .iter()
        .map(|p| {
            json!({"nodes_file": format!("$BASE_DIR/{}_nodes.h5", p.name),
                   "node_types_file": format!("$BASE_DIR/{}_node_types.csv", p.name)})
        })
        .collect();
    let edge_files: Vec<Value> = edges
        .iter()
        .map(|e| {
            let n = format!("{}_to_{}", e.source, e.target);
            json!({"edges_file": format!("$BASE_DIR/{n}_edges.h5"),
                   "edge_types_file": format!("$BASE_DIR/{n}_edge_types.csv")})
        })
        .collect();
    let cfg = json!({
        "manifest": {"$BASE_DIR": "${configdir}"},
        "target_simulator": "NEST",
        "run": run,
        "components": {"point_neuron_models_dir": "$BASE_DIR/models", "synaptic_models_dir": "$BASE_DIR/syn"},
        "networks": {"nodes": nodes, "edges": edge_files},
        "inputs": inputs,
        "output": {"output_dir": "$BASE_DIR/output", "log_file": "log.txt",
                   "spikes_file": "spikes.h5", "spikes_file_csv": "spikes.csv",
                   "spikes_sort_order": "by_time", "overwrite_output_dir": true}
    });
    let p = dir.join("config.json");
    std::fs::write(&p, serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    p
}

pub fn glifnet(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glifnet"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// Run `glifnet run config.json ARGS` in `dir`, assert success, return (node, time) per population.
pub fn run_ok(dir: &Path, args: &[&str]) -> Vec<(String, u64, f64)> {
    let mut a = vec!["run", "config.json", "--quiet"];
    a.extend_from_slice(args);
    let out = glifnet(dir, &a);
    assert!(
        out.status.success(),
        "glifnet failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    read_output(&dir.join("output/spikes.h5"))
}

pub fn read_output(path: &Path) -> Vec<(String, u64, f64)> {
    let t = glifnet::sonata::spikes::read_spikes(path).unwrap();
    let mut v = Vec::new();
    for p in &t.populations {
        for (n, t) in p.node_ids.iter().zip(&p.timestamps_ms) {
            v.push((p.population.clone().unwrap_or_default(), *n, *t));
        }
    }
    v.sort_by(|a, b| (a.1, a.2).partial_cmp(&(b.1, b.2)).unwrap());
    v
}

/// NEST iaf_psc_delta parameters that fire on any input of ≥ 20 mV, refractory one step.
pub fn delta_cell(t_ref: f64) -> Value {
    json!({"tau_m": 10.0, "C_m": 250.0, "t_ref": t_ref, "E_L": -70.0, "V_th": -55.0,
           "V_reset": -70.0, "V_m": -70.0, "I_e": 0.0})
}
