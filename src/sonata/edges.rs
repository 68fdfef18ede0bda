//! Edge populations: edges h5 + edge_types CSV (sonata-bmtk.md §2), and PointNet's rule for
//! per-edge weight and delay (§2.4).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use super::error::SonataError;
use super::types_csv::TypeTable;
use super::{h5, Column, Value};

/// Weight functions PointNet registers itself; all compute `nsyns * syn_weight` (§2.4).
pub const BUILTIN_WEIGHT_FUNCTIONS: [&str; 3] = ["default_weight_fnc", "set_syn_weight", "wmax"];

/// NEST's default synapse delay (ms), used when neither the h5 group nor the edge type gives one.
pub const DEFAULT_DELAY_MS: f64 = 1.0;

/// One row of an edge_types CSV, with its synapse `dynamics_params` JSON loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeType {
    pub edge_type_id: u64,
    /// Synapse model with a leading `nest:` stripped (`static_synapse`, `stdp_synapse`, …).
    pub model_template: Option<String>,
    /// Absolute path of the synapse JSON (`components.synaptic_models_dir/<dynamics_params>`).
    pub dynamics_params_file: Option<PathBuf>,
    /// The synapse JSON (e.g. `{"receptor_type": 1}`), loaded once per file.
    pub dynamics_params: Option<Arc<serde_json::Value>>,
    pub syn_weight: Option<f64>,
    /// ms.
    pub delay: Option<f64>,
    pub nsyns: Option<f64>,
    pub weight_function: Option<String>,
    /// Every CSV column of the row by name.
    pub attributes: BTreeMap<String, Value>,
    /// Line of the row in the CSV.
    pub line: usize,
}

impl EdgeType {
    /// `receptor_type` from the synapse JSON (0 when absent, NEST's default port).
    pub fn receptor_type(&self) -> Option<i64> {
        match self
            .dynamics_params
            .as_deref()
            .and_then(|d| d.get("receptor_type"))
        {
            None => Some(0),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        }
    }
}

/// One edge population. Edge `i` is row `i` of the h5 datasets (BMTK sorts by target id).
#[derive(Debug, Clone, PartialEq)]
pub struct EdgePopulation {
    pub name: String,
    pub edges_file: PathBuf,
    pub edge_types_file: PathBuf,
    /// `source_node_id@node_population`.
    pub source_population: String,
    /// `target_node_id@node_population`.
    pub target_population: String,
    pub source_ids: Vec<u64>,
    pub target_ids: Vec<u64>,
    pub edge_type_ids: Vec<u32>,
    /// Per-edge h5 group columns, flattened over groups: `None` when no group has the column;
    /// `NaN` for an edge whose group lacks it (then the edge type's value applies).
    pub nsyns: Option<Vec<f64>>,
    pub syn_weight: Option<Vec<f64>>,
    /// ms.
    pub delay: Option<Vec<f64>>,
    /// Other group columns (not used by PointNet), by name, for information.
    pub other_columns: Vec<String>,
    /// Number of edge groups.
    pub n_groups: usize,
    /// Name of the `indices/*/node_id_to_range(s)` dataset if the file has indices
    /// (BMTK writes `node_id_to_range`, the spec `node_id_to_ranges`; neither is needed).
    pub indices: Option<String>,
    /// edge_types rows by id (all rows of the CSV, including types without edges here).
    pub edge_types: BTreeMap<u64, EdgeType>,
}

/// Resolved PointNet synapse values, one per edge (§2.4).
#[derive(Debug, Clone, PartialEq)]
pub struct SynapseValues {
    /// `nsyns * syn_weight`, in the target model's weight unit (pA, or mV for iaf_psc_delta).
    pub weight: Vec<f64>,
    /// ms (h5 > edge type > 1.0).
    pub delay_ms: Vec<f64>,
}

/// Per-edge-type totals (what `glifnet inspect` prints; sonata-bmtk.md §2.4 table).
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeTypeSummary {
    pub edge_type_id: u64,
    pub n_edges: u64,
    pub sum_nsyns: f64,
    pub sum_weight: f64,
    pub delay_min: f64,
    pub delay_max: f64,
}

impl EdgePopulation {
    pub fn len(&self) -> usize {
        self.source_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.source_ids.is_empty()
    }

    /// Edge type of edge `i` (checked at load).
    pub fn edge_type(&self, i: usize) -> &EdgeType {
        &self.edge_types[&u64::from(self.edge_type_ids[i])]
    }

    /// Dense lookup table edge_type_id -> type, to avoid map lookups per edge.
    fn type_table(&self) -> (Vec<Option<&EdgeType>>, HashMap<u32, &EdgeType>) {
        let max = self.edge_types.keys().next_back().copied().unwrap_or(0);
        if max < 1 << 20 {
            let mut t = vec![None; max as usize + 1];
            for (k, v) in &self.edge_types {
                t[*k as usize] = Some(v);
            }
            (t, HashMap::new())
        } else {
            (
                Vec::new(),
                self.edge_types
                    .iter()
                    .map(|(k, v)| (*k as u32, v))
                    .collect(),
            )
        }
    }

    /// Weight and delay of every edge by PointNet's rule (§2.4): weight = nsyns · syn_weight in
    /// f64 (each from the h5 group if there, else the edge type; nsyns defaults to 1), delay =
    /// h5 > edge type > NEST default 1.0 ms. Unknown `weight_function`s and a missing
    /// `syn_weight` are errors naming the edge_types file.
    pub fn synapse_values(&self) -> Result<SynapseValues, SonataError> {
        for t in self.edge_types.values() {
            if let Some(f) = &t.weight_function {
                if !BUILTIN_WEIGHT_FUNCTIONS.contains(&f.as_str()) {
                    return Err(SonataError::invalid(
                        &self.edge_types_file,
                        format!("line {}: weight_function", t.line),
                        f,
                        format!("not a built-in weight function ({}); Python weight functions are not supported", BUILTIN_WEIGHT_FUNCTIONS.join(", ")),
                    ));
                }
            }
        }
        let (dense, sparse) = self.type_table();
        let ty = |i: usize| -> &EdgeType {
            let id = self.edge_type_ids[i];
            match dense.get(id as usize) {
                Some(Some(t)) => t,
                _ => sparse[&id],
            }
        };
        let pick = |col: &Option<Vec<f64>>, i: usize, row: Option<f64>| -> Option<f64> {
            match col.as_ref().map(|c| c[i]) {
                Some(v) if !v.is_nan() => Some(v),
                _ => row,
            }
        };
        let weight: Vec<f64> = (0..self.len())
            .into_par_iter()
            .map(|i| {
                let t = ty(i);
                let n = pick(&self.nsyns, i, t.nsyns).unwrap_or(1.0);
                pick(&self.syn_weight, i, t.syn_weight).map(|w| n * w).ok_or(i)
            })
            .collect::<Result<_, usize>>()
            .map_err(|i| {
                let t = ty(i);
                SonataError::invalid(
                    &self.edge_types_file,
                    format!("line {}: syn_weight", t.line),
                    "NULL",
                    format!("edge type {} has no syn_weight and edge {i} of {} has none in its h5 group", t.edge_type_id, self.edges_file.display()),
                )
            })?;
        let delay_ms = (0..self.len())
            .into_par_iter()
            .map(|i| pick(&self.delay, i, ty(i).delay).unwrap_or(DEFAULT_DELAY_MS))
            .collect();
        Ok(SynapseValues { weight, delay_ms })
    }

    /// Totals per edge type, in edge-type id order.
    pub fn type_summaries(&self) -> Result<Vec<EdgeTypeSummary>, SonataError> {
        let sv = self.synapse_values()?;
        let mut acc: BTreeMap<u64, EdgeTypeSummary> = BTreeMap::new();
        for i in 0..self.len() {
            let t = self.edge_type(i);
            let n = match self.nsyns.as_ref().map(|c| c[i]) {
                Some(v) if !v.is_nan() => v,
                _ => t.nsyns.unwrap_or(1.0),
            };
            let e = acc.entry(t.edge_type_id).or_insert(EdgeTypeSummary {
                edge_type_id: t.edge_type_id,
                n_edges: 0,
                sum_nsyns: 0.0,
                sum_weight: 0.0,
                delay_min: f64::INFINITY,
                delay_max: f64::NEG_INFINITY,
            });
            e.n_edges += 1;
            e.sum_nsyns += n;
            e.sum_weight += sv.weight[i];
            e.delay_min = e.delay_min.min(sv.delay_ms[i]);
            e.delay_max = e.delay_max.max(sv.delay_ms[i]);
        }
        Ok(acc.into_values().collect())
    }
}

/// Edge types from a parsed table; duplicate or non-integer ids and non-numeric
/// syn_weight/delay/nsyns are errors.
pub(crate) fn edge_types_from_table(t: &TypeTable) -> Result<BTreeMap<u64, EdgeType>, SonataError> {
    let id_col = t.require("edge_type_id")?;
    let mut out = BTreeMap::new();
    for (r, row) in t.rows.iter().enumerate() {
        let line = t.lines[r];
        let id = match &row[id_col] {
            Value::Int(i) if *i >= 0 && *i <= i64::from(u32::MAX) => *i as u64,
            other => {
                return Err(SonataError::invalid(
                    &t.file,
                    format!("line {line}: edge_type_id"),
                    other,
                    "expected a non-negative 32-bit integer",
                ))
            }
        };
        let attributes: BTreeMap<String, Value> =
            t.columns.iter().cloned().zip(row.iter().cloned()).collect();
        let num = |k: &str| -> Result<Option<f64>, SonataError> {
            match attributes.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_f64().map(Some).ok_or_else(|| {
                    SonataError::invalid(
                        &t.file,
                        format!("line {line}: {k}"),
                        v,
                        "expected a number",
                    )
                }),
            }
        };
        let s = |k: &str| {
            attributes
                .get(k)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let et = EdgeType {
            edge_type_id: id,
            model_template: s("model_template")
                .map(|m| m.strip_prefix("nest:").unwrap_or(&m).to_string()),
            dynamics_params_file: None,
            dynamics_params: None,
            syn_weight: num("syn_weight")?,
            delay: num("delay")?,
            nsyns: num("nsyns")?,
            weight_function: s("weight_function"),
            attributes,
            line,
        };
        if out.insert(id, et).is_some() {
            return Err(SonataError::DuplicateTypeId {
                file: t.file.clone(),
                line,
                column: "edge_type_id",
                value: id.to_string(),
            });
        }
    }
    Ok(out)
}

/// Read every population of one edges h5 file. Source/target ids are checked against the
/// node populations by the circuit loader.
pub(crate) fn read_edges_file(
    edges_file: &Path,
    types_file: &Path,
    types: &BTreeMap<u64, EdgeType>,
) -> Result<Vec<EdgePopulation>, SonataError> {
    let f = h5::open(edges_file)?;
    let root = h5::group(edges_file, &f, "edges")?;
    let (pops, _) = h5::members(edges_file, &root)?;
    let mut out = Vec::with_capacity(pops.len());
    for name in pops {
        let g = h5::group(edges_file, &root, &name)?;
        out.push(read_population(edges_file, types_file, &name, &g, types)?);
    }
    Ok(out)
}

fn read_population(
    file: &Path,
    types_file: &Path,
    name: &str,
    g: &hdf5::Group,
    types: &BTreeMap<u64, EdgeType>,
) -> Result<EdgePopulation, SonataError> {
    let base = format!("/edges/{name}");
    let src_ds = h5::dataset(file, g, "source_node_id")?;
    let trg_ds = h5::dataset(file, g, "target_node_id")?;
    let pop_attr = |ds: &hdf5::Dataset, what: &str| -> Result<String, SonataError> {
        h5::attr_string(file, ds, "node_population")?.ok_or_else(|| SonataError::Missing {
            file: file.to_path_buf(),
            what: "attribute",
            object: format!("{base}/{what}@node_population"),
        })
    };
    let source_population = pop_attr(&src_ds, "source_node_id")?;
    let target_population = pop_attr(&trg_ds, "target_node_id")?;
    let source_ids = h5::read_u64(file, &src_ds)?;
    let target_ids = h5::read_u64(file, &trg_ds)?;
    let n = source_ids.len();
    let check_len = |what: &str, len: usize| -> Result<(), SonataError> {
        if len == n {
            Ok(())
        } else {
            Err(SonataError::invalid(
                file,
                format!("{base}/{what}"),
                format!("length {len}"),
                format!("expected {n} rows like {base}/source_node_id"),
            ))
        }
    };
    check_len("target_node_id", target_ids.len())?;
    let type_raw = h5::read_u64(file, &h5::dataset(file, g, "edge_type_id")?)?;
    check_len("edge_type_id", type_raw.len())?;
    let mut edge_type_ids = Vec::with_capacity(n);
    for (i, &t) in type_raw.iter().enumerate() {
        if !types.contains_key(&t) {
            return Err(SonataError::invalid(
                file,
                format!("{base}/edge_type_id[{i}]"),
                t,
                format!("not in edge types file {}", types_file.display()),
            ));
        }
        edge_type_ids.push(t as u32); // types keys are checked to fit u32
    }
    drop(type_raw);

    // Groups.
    let (subgroups, _) = h5::members(file, g)?;
    let mut groups: BTreeMap<u64, (String, BTreeMap<String, Column>)> = BTreeMap::new();
    for sg in subgroups {
        let Ok(id) = sg.parse::<u64>() else { continue };
        let grp = h5::group(file, g, &sg)?;
        let (_, dsets) = h5::members(file, &grp)?;
        let mut cols = BTreeMap::new();
        for d in dsets {
            let ds = h5::dataset(file, &grp, &d)?;
            let col = if ["nsyns", "syn_weight", "delay"].contains(&d.as_str()) {
                Column::Float(h5::read_f64(file, &ds)?)
            } else {
                Column::Int(Vec::with_capacity(0)) // placeholder: name only
            };
            cols.insert(d, col);
        }
        groups.insert(id, (format!("{base}/{sg}"), cols));
    }
    let group_ids = match h5::opt_dataset(file, g, "edge_group_id")? {
        Some(d) => Some(h5::read_u64(file, &d)?),
        None => None,
    };
    if let Some(v) = &group_ids {
        check_len("edge_group_id", v.len())?;
    }
    let group_index = match h5::opt_dataset(file, g, "edge_group_index")? {
        Some(d) => Some(h5::read_u64(file, &d)?),
        None => None,
    };
    if let Some(v) = &group_index {
        check_len("edge_group_index", v.len())?;
    }
    let gid = |i: usize| group_ids.as_ref().map_or(0, |v| v[i]);
    let gidx = |i: usize| group_index.as_ref().map_or(i as u64, |v| v[i]);
    // Validate group references for every edge (only when groups hold data columns).
    for i in 0..n {
        let g_id = gid(i);
        match groups.get(&g_id) {
            None if groups.is_empty() => {}
            None => {
                return Err(SonataError::invalid(
                    file,
                    format!("{base}/edge_group_id[{i}]"),
                    g_id,
                    format!("no group {base}/{g_id}"),
                ))
            }
            Some((path, cols)) => {
                let len = cols
                    .values()
                    .find(|c| !matches!(c, Column::Int(v) if v.capacity() == 0))
                    .map(Column::len);
                if let Some(len) = len {
                    if gidx(i) >= len as u64 {
                        return Err(SonataError::invalid(
                            file,
                            format!("{base}/edge_group_index[{i}]"),
                            gidx(i),
                            format!("out of range: group {path} has {len} rows"),
                        ));
                    }
                }
            }
        }
    }
    let mut other_columns = Vec::new();
    for (_, cols) in groups.values() {
        for k in cols.keys() {
            if !["nsyns", "syn_weight", "delay"].contains(&k.as_str()) && !other_columns.contains(k)
            {
                other_columns.push(k.clone());
            }
        }
    }
    // Flatten one column over the groups (fast path: a single group with identity indices).
    let single_identity = groups.len() == 1
        && group_ids.as_ref().map_or(true, |v| {
            v.iter().all(|&x| Some(&x) == groups.keys().next())
        })
        && group_index
            .as_ref()
            .map_or(true, |v| v.iter().enumerate().all(|(i, &x)| x == i as u64));
    let mut flatten = |key: &str| -> Option<Vec<f64>> {
        if !groups.values().any(|(_, c)| c.contains_key(key)) {
            return None;
        }
        if single_identity {
            if let Some((_, cols)) = groups.values_mut().next() {
                if let Some(Column::Float(v)) = cols.remove(key) {
                    if v.len() == n {
                        return Some(v);
                    }
                    cols.insert(key.to_string(), Column::Float(v));
                }
            }
        }
        Some(
            (0..n)
                .map(
                    |i| match groups.get(&gid(i)).and_then(|(_, c)| c.get(key)) {
                        Some(Column::Float(v)) => {
                            v.get(gidx(i) as usize).copied().unwrap_or(f64::NAN)
                        }
                        _ => f64::NAN,
                    },
                )
                .collect(),
        )
    };
    let nsyns = flatten("nsyns");
    let syn_weight = flatten("syn_weight");
    let delay = flatten("delay");
    let indices = ["target_to_source", "source_to_target"]
        .iter()
        .find_map(|d| {
            let ig = g.group("indices").ok()?.group(d).ok()?;
            ["node_id_to_ranges", "node_id_to_range"]
                .iter()
                .find(|n| ig.link_exists(n))
                .map(|n| n.to_string())
        });
    Ok(EdgePopulation {
        name: name.to_string(),
        edges_file: file.to_path_buf(),
        edge_types_file: types_file.to_path_buf(),
        source_population,
        target_population,
        source_ids,
        target_ids,
        edge_type_ids,
        nsyns,
        syn_weight,
        delay,
        other_columns,
        n_groups: groups.len(),
        indices,
        edge_types: types.clone(),
    })
}
