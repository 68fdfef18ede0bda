//! A small SONATA network written by the tests themselves, with knobs for the dtype and layout
//! variants the readers must accept (sonata-bmtk.md §1, §2, §9.1).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use hdf5::types::{FixedAscii, VarLenUnicode};
use hdf5::Group;

/// Integer dtypes SONATA files use for ids (BMTK u64/u32/u16, libsonata tests u8/u16/i32).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IntType {
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
}

pub const ALL_INT_TYPES: [IntType; 8] = [
    IntType::U8,
    IntType::U16,
    IntType::U32,
    IntType::U64,
    IntType::I8,
    IntType::I16,
    IntType::I32,
    IntType::I64,
];

/// Write `data` as a 1-D dataset of integer type `t`.
pub fn write_ints(g: &Group, name: &str, data: &[u64], t: IntType) {
    macro_rules! w {
        ($ty:ty) => {{
            let v: Vec<$ty> = data.iter().map(|&x| x as $ty).collect();
            g.new_dataset_builder()
                .with_data(&v[..])
                .create(name)
                .unwrap();
        }};
    }
    match t {
        IntType::U8 => w!(u8),
        IntType::U16 => w!(u16),
        IntType::U32 => w!(u32),
        IntType::U64 => w!(u64),
        IntType::I8 => w!(i8),
        IntType::I16 => w!(i16),
        IntType::I32 => w!(i32),
        IntType::I64 => w!(i64),
    }
}

pub fn write_f64(g: &Group, name: &str, data: &[f64]) {
    g.new_dataset_builder()
        .with_data(data)
        .create(name)
        .unwrap();
}

pub fn write_vlen_str(g: &Group, name: &str, data: &[&str]) {
    let v: Vec<VarLenUnicode> = data.iter().map(|s| s.parse().unwrap()).collect();
    g.new_dataset_builder()
        .with_data(&v[..])
        .create(name)
        .unwrap();
}

pub fn write_fixed_str(g: &Group, name: &str, data: &[&str]) {
    let v: Vec<FixedAscii<8>> = data
        .iter()
        .map(|s| FixedAscii::from_ascii(s).unwrap())
        .collect();
    g.new_dataset_builder()
        .with_data(&v[..])
        .create(name)
        .unwrap();
}

pub fn str_attr(obj: &hdf5::Location, name: &str, value: &str) {
    let v: VarLenUnicode = value.parse().unwrap();
    obj.new_attr::<VarLenUnicode>()
        .create(name)
        .unwrap()
        .write_scalar(&v)
        .unwrap();
}

pub fn root_attrs(f: &hdf5::File) {
    f.new_attr::<u32>()
        .create("magic")
        .unwrap()
        .write_scalar(&0x0A7Au32)
        .unwrap();
    f.new_attr::<u32>()
        .shape(2)
        .create("version")
        .unwrap()
        .write_raw(&[0u32, 1])
        .unwrap();
}

/// Variant knobs of [`write_net`].
#[derive(Debug, Clone)]
pub struct Variant {
    /// dtype of node_type_id, node_group_id, node_group_index, edge ids.
    pub ints: IntType,
    /// Omit `/nodes/cells/node_id` (implicit ids).
    pub implicit_node_id: bool,
    /// Index dataset name written in the edges file (`node_id_to_range` or `node_id_to_ranges`).
    pub index_name: &'static str,
    /// CSV line ending.
    pub crlf: bool,
}

impl Default for Variant {
    fn default() -> Self {
        Variant {
            ints: IntType::U64,
            implicit_node_id: false,
            index_name: "node_id_to_range",
            crlf: true,
        }
    }
}

/// The fixture network:
/// * `cells`: 5 nodes. Group 0 (nodes 0, 1, 4; types 1, 1, 2): x/y/z, a vlen-string `label`,
///   per-node `dynamics_params/{V_th, asc_amps (N×2)}`. Group 1 (nodes 2, 3; type 2):
///   `positions` N×3, fixed-string `label`, an h5 `model_type` column.
///   Type 1 = `nest:glif_psc` + glif.json, type 2 = `nest:iaf_psc_alpha` + iaf.json.
/// * `ext`: 3 virtual nodes, empty group 0.
/// * `ext_to_cells`: 4 edges, group 0 with per-edge `syn_weight` and `delay` (no nsyns), type 10.
/// * `cells_to_cells`: 3 edges; group 0 has `nsyns` (edges 0, 2), group 1 has `syn_weight`
///   (edge 1); types 20 (CSV syn_weight 2.0, delay 1.5, nsyns NULL) and 21 (no delay anywhere).
pub fn write_net(dir: &Path, v: &Variant) -> PathBuf {
    let eol = if v.crlf { "\r\n" } else { "\n" };
    let comp = dir.join("components");
    std::fs::create_dir_all(comp.join("cell_models")).unwrap();
    std::fs::create_dir_all(comp.join("synaptic_models")).unwrap();
    std::fs::create_dir_all(dir.join("network")).unwrap();
    std::fs::write(
        comp.join("cell_models/glif.json"),
        r#"{"V_th": -50.0, "asc_amps": [-1.0, -2.0], "tau_syn": [2.0, 5.0]}"#,
    )
    .unwrap();
    std::fs::write(comp.join("cell_models/iaf.json"), "{}").unwrap();
    std::fs::write(
        comp.join("synaptic_models/e.json"),
        r#"{"receptor_type": 2}"#,
    )
    .unwrap();
    std::fs::write(comp.join("synaptic_models/x.json"), "{}").unwrap();

    // Node types: multi-space separators, quoting, NULL, CRLF.
    let csv = [
        "node_type_id  model_type model_template   dynamics_params \"pop name\" ei",
        "1 point_neuron nest:glif_psc glif.json \"glif cell\" e",
        "2   point_process nest:iaf_psc_alpha iaf.json NULL i",
    ]
    .join(eol)
        + eol;
    std::fs::write(dir.join("network/cells_node_types.csv"), csv).unwrap();
    std::fs::write(
        dir.join("network/ext_node_types.csv"),
        format!("node_type_id model_type ei{eol}7 virtual e{eol}"),
    )
    .unwrap();
    let csv = [
        "edge_type_id target_query source_query syn_weight delay dynamics_params model_template",
        "10 * * 1.0 2.0 e.json nest:static_synapse",
    ]
    .join(eol)
        + eol;
    std::fs::write(dir.join("network/ext_cells_edge_types.csv"), csv).unwrap();
    let csv = [
        "edge_type_id target_query source_query model_template syn_weight delay nsyns dynamics_params",
        "20 \"ei == 'e'\" * static_synapse 2.0 1.5 NULL x.json",
        "21 * * static_synapse -3.0 NULL 2 x.json",
    ]
    .join(eol)
        + eol;
    std::fs::write(dir.join("network/cells_cells_edge_types.csv"), csv).unwrap();

    // Nodes h5: both populations in one file.
    {
        let f = hdf5::File::create(dir.join("network/nodes.h5")).unwrap();
        root_attrs(&f);
        let nodes = f.create_group("nodes").unwrap();
        let c = nodes.create_group("cells").unwrap();
        if !v.implicit_node_id {
            write_ints(&c, "node_id", &[0, 1, 2, 3, 4], v.ints);
        }
        write_ints(&c, "node_type_id", &[1, 1, 2, 2, 2], v.ints);
        write_ints(&c, "node_group_id", &[0, 0, 1, 1, 0], v.ints);
        write_ints(&c, "node_group_index", &[0, 1, 0, 1, 2], v.ints);
        let g0 = c.create_group("0").unwrap();
        write_f64(&g0, "x", &[0.0, 1.0, 4.0]);
        write_f64(&g0, "y", &[0.5, 1.5, 4.5]);
        write_f64(&g0, "z", &[-1.0, -2.0, -4.0]);
        write_vlen_str(&g0, "label", &["a", "b", "e"]);
        let dp = g0.create_group("dynamics_params").unwrap();
        write_f64(&dp, "V_th", &[-40.0, -41.0, -42.0]);
        write_2d::<f64>(&dp, "asc_amps", 2, &[-1.5, -2.5, -3.5, -4.5, -5.5, -6.5]);
        let g1 = c.create_group("1").unwrap();
        write_2d::<f64>(&g1, "positions", 3, &[2.0, 2.5, -3.0, 3.0, 3.5, -3.5]);
        write_fixed_str(&g1, "label", &["c", "d"]);
        write_vlen_str(&g1, "model_type", &["point_neuron", "point_neuron"]);
        // A categorical column through `@library` (SONATA enum tables).
        write_ints(&g1, "layer", &[1, 0], IntType::U8);
        write_vlen_str(
            &g1.create_group("@library").unwrap(),
            "layer",
            &["L2/3", "L4"],
        );
        let e = nodes.create_group("ext").unwrap();
        write_ints(&e, "node_id", &[0, 1, 2], v.ints);
        write_ints(&e, "node_type_id", &[7, 7, 7], v.ints);
        write_ints(&e, "node_group_id", &[0, 0, 0], v.ints);
        write_ints(&e, "node_group_index", &[0, 1, 2], v.ints);
        e.create_group("0").unwrap();
    }
    // Edges h5 files.
    {
        let f = hdf5::File::create(dir.join("network/ext_cells_edges.h5")).unwrap();
        root_attrs(&f);
        let p = f
            .create_group("edges")
            .unwrap()
            .create_group("ext_to_cells")
            .unwrap();
        write_ints(&p, "source_node_id", &[0, 1, 2, 0], v.ints);
        write_ints(&p, "target_node_id", &[0, 0, 3, 4], v.ints);
        str_attr(
            &p.dataset("source_node_id").unwrap(),
            "node_population",
            "ext",
        );
        str_attr(
            &p.dataset("target_node_id").unwrap(),
            "node_population",
            "cells",
        );
        write_ints(&p, "edge_type_id", &[10, 10, 10, 10], v.ints);
        write_ints(&p, "edge_group_id", &[0, 0, 0, 0], v.ints);
        write_ints(&p, "edge_group_index", &[0, 1, 2, 3], v.ints);
        let g = p.create_group("0").unwrap();
        write_f64(&g, "syn_weight", &[5.0, 6.0, 7.0, 8.0]);
        write_f64(&g, "delay", &[0.5, 0.75, 1.0, 3.0]);
        let idx = p
            .create_group("indices")
            .unwrap()
            .create_group("target_to_source")
            .unwrap();
        write_2d::<u64>(&idx, v.index_name, 2, &[0, 1, 0, 0, 0, 0, 1, 2, 2, 3]);
        write_2d::<u64>(&idx, "range_to_edge_id", 2, &[0, 2, 2, 3, 3, 4]);
    }
    {
        let f = hdf5::File::create(dir.join("network/cells_cells_edges.h5")).unwrap();
        root_attrs(&f);
        let p = f
            .create_group("edges")
            .unwrap()
            .create_group("cells_to_cells")
            .unwrap();
        write_ints(&p, "source_node_id", &[1, 2, 4], v.ints);
        write_ints(&p, "target_node_id", &[0, 0, 1], v.ints);
        let s = p.dataset("source_node_id").unwrap();
        // A fixed-length string attribute (h5py writes vlen; other writers fixed).
        s.new_attr::<FixedAscii<5>>()
            .create("node_population")
            .unwrap()
            .write_scalar(&FixedAscii::<5>::from_ascii("cells").unwrap())
            .unwrap();
        str_attr(
            &p.dataset("target_node_id").unwrap(),
            "node_population",
            "cells",
        );
        write_ints(&p, "edge_type_id", &[20, 20, 21], v.ints);
        write_ints(&p, "edge_group_id", &[0, 1, 0], v.ints);
        write_ints(&p, "edge_group_index", &[0, 0, 1], v.ints);
        let g0 = p.create_group("0").unwrap();
        write_ints(&g0, "nsyns", &[3, 4], IntType::U32);
        let g1 = p.create_group("1").unwrap();
        write_f64(&g1, "syn_weight", &[0.25]);
    }
    let cfg = serde_json::json!({
        "manifest": {"$BASE": "${configdir}", "$NET": "$BASE/network", "$COMP": "$BASE/components"},
        "run": {"tstop": 100.0, "dt": 0.1},
        "components": {"point_neuron_models_dir": "$COMP/cell_models", "synaptic_models_dir": "$COMP/synaptic_models"},
        "networks": {
            "nodes": [{"nodes_file": "$NET/nodes.h5", "node_types_file": "$NET/cells_node_types.csv"}],
            "edges": [
                {"edges_file": "$NET/ext_cells_edges.h5", "edge_types_file": "$NET/ext_cells_edge_types.csv"},
                {"edges_file": "$NET/cells_cells_edges.h5", "edge_types_file": "$NET/cells_cells_edge_types.csv"}
            ]
        },
        "node_sets": {"exc": {"population": "cells", "ei": "e"}, "some": [0, 3], "both": ["exc", "ext"]},
        "inputs": {"ext_spikes": {"input_type": "spikes", "module": "sonata", "input_file": "$BASE/in.h5", "node_set": "ext"}},
        "output": {"output_dir": "$BASE/output", "spikes_file": "spikes.h5"}
    });
    // The single nodes file holds two populations but a networks entry has one types file: the
    // ext population's type 7 is appended to the cells CSV so both resolve (BMTK behaviour:
    // each population's rows are matched to the CSV given alongside).
    let mut types = std::fs::read_to_string(dir.join("network/cells_node_types.csv")).unwrap();
    types.push_str(&format!("7 virtual nest:x NULL NULL e{eol}"));
    std::fs::write(dir.join("network/cells_node_types.csv"), types).unwrap();
    let path = dir.join("config.json");
    std::fs::write(&path, serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    path
}

/// A row-major 2-D dataset with `ncols` columns.
pub fn write_2d<T: hdf5::H5Type + Copy>(g: &Group, name: &str, ncols: usize, flat: &[T]) {
    let ds = g
        .new_dataset::<T>()
        .shape((flat.len() / ncols, ncols))
        .create(name)
        .unwrap();
    ds.write_raw(flat).unwrap();
}
