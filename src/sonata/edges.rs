//! Edge populations: edges h5 + edge_types CSV (sonata-bmtk.md §2), and PointNet's rule for
//! per-edge weight and delay (§2.4).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use super::error::SonataError;
use super::types_csv::TypeTable;
use super::{h5, Value};

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

    /// nsyns, syn_weight (if any) and delay of edge `i` of type `t` by PointNet's precedence:
    /// h5 group column, else the edge-type row; nsyns defaults to 1, delay to 1.0 ms.
    #[inline]
    fn values_of(&self, i: usize, t: &EdgeType) -> (f64, Option<f64>, f64) {
        let pick = |col: &Option<Vec<f64>>, row: Option<f64>| -> Option<f64> {
            match col.as_ref().map(|c| c[i]) {
                Some(v) if !v.is_nan() => Some(v),
                _ => row,
            }
        };
        (
            pick(&self.nsyns, t.nsyns).unwrap_or(1.0),
            pick(&self.syn_weight, t.syn_weight),
            pick(&self.delay, t.delay).unwrap_or(DEFAULT_DELAY_MS),
        )
    }

    fn check_weight_functions(&self) -> Result<(), SonataError> {
        for t in self.edge_types.values() {
            if let Some(f) = &t.weight_function {
                if !BUILTIN_WEIGHT_FUNCTIONS.contains(&f.as_str()) {
                    return Err(SonataError::invalid(
                        &self.edge_types_file,
                        format!("line {}: weight_function", t.line),
                        f,
                        format!(
                            "not a built-in weight function ({}); Python weight functions are not supported",
                            BUILTIN_WEIGHT_FUNCTIONS.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn missing_weight(&self, i: usize, t: &EdgeType) -> SonataError {
        SonataError::invalid(
            &self.edge_types_file,
            format!("line {}: syn_weight", t.line),
            "NULL",
            format!(
                "edge type {} has no syn_weight and edge {i} of {} has none in its h5 group",
                t.edge_type_id,
                self.edges_file.display()
            ),
        )
    }

    /// Weight and delay of every edge by PointNet's rule (§2.4): weight = nsyns · syn_weight in
    /// f64 (each from the h5 group if there, else the edge type; nsyns defaults to 1), delay =
    /// h5 > edge type > NEST default 1.0 ms. Unknown `weight_function`s and a missing
    /// `syn_weight` are errors naming the edge_types file.
    pub fn synapse_values(&self) -> Result<SynapseValues, SonataError> {
        self.check_weight_functions()?;
        let idx = TypeIndex::new(&self.edge_types);
        let n = self.len();
        let mut weight = vec![0.0; n];
        let mut delay_ms = vec![0.0; n];
        let chunk = 1 << 16;
        weight
            .par_chunks_mut(chunk)
            .zip(delay_ms.par_chunks_mut(chunk))
            .enumerate()
            .try_for_each(|(c, (w, d))| {
                for k in 0..w.len() {
                    let i = c * chunk + k;
                    let t = idx.get(self.edge_type_ids[i]);
                    let (ns, sw, de) = self.values_of(i, t);
                    w[k] = ns * sw.ok_or(i)?;
                    d[k] = de;
                }
                Ok(())
            })
            .map_err(|i: usize| self.missing_weight(i, idx.get(self.edge_type_ids[i])))?;
        Ok(SynapseValues { weight, delay_ms })
    }

    /// Totals per edge type (types with edges only), in edge-type id order.
    pub fn type_summaries(&self) -> Result<Vec<EdgeTypeSummary>, SonataError> {
        self.check_weight_functions()?;
        let idx = TypeIndex::new(&self.edge_types);
        let mut acc: Vec<EdgeTypeSummary> = idx
            .types
            .iter()
            .map(|t| EdgeTypeSummary {
                edge_type_id: t.edge_type_id,
                n_edges: 0,
                sum_nsyns: 0.0,
                sum_weight: 0.0,
                delay_min: f64::INFINITY,
                delay_max: f64::NEG_INFINITY,
            })
            .collect();
        for i in 0..self.len() {
            let slot = idx.slot(self.edge_type_ids[i]);
            let t = idx.types[slot];
            let (ns, sw, de) = self.values_of(i, t);
            let sw = sw.ok_or_else(|| self.missing_weight(i, t))?;
            let e = &mut acc[slot];
            e.n_edges += 1;
            e.sum_nsyns += ns;
            e.sum_weight += ns * sw;
            e.delay_min = e.delay_min.min(de);
            e.delay_max = e.delay_max.max(de);
        }
        Ok(acc.into_iter().filter(|e| e.n_edges > 0).collect())
    }
}

/// edge_type_id -> slot in id order, dense when ids are small (the usual 100..), so per-edge
/// lookups in 10^8-edge loops are an array index, not a map search.
struct TypeIndex<'a> {
    types: Vec<&'a EdgeType>,
    dense: Vec<u32>,
    sparse: HashMap<u32, u32>,
}

impl<'a> TypeIndex<'a> {
    fn new(map: &'a BTreeMap<u64, EdgeType>) -> Self {
        let types: Vec<&EdgeType> = map.values().collect();
        let max = map.keys().next_back().copied().unwrap_or(0);
        let mut dense = Vec::new();
        let mut sparse = HashMap::new();
        if max < 1 << 20 {
            dense = vec![u32::MAX; max as usize + 1];
            for (s, t) in types.iter().enumerate() {
                dense[t.edge_type_id as usize] = s as u32;
            }
        } else {
            for (s, t) in types.iter().enumerate() {
                sparse.insert(t.edge_type_id as u32, s as u32);
            }
        }
        TypeIndex {
            types,
            dense,
            sparse,
        }
    }

    /// Slot of a type id, if the table has it.
    fn find(&self, id: u32) -> Option<usize> {
        if self.dense.is_empty() {
            self.sparse.get(&id).map(|&s| s as usize)
        } else {
            match self.dense.get(id as usize) {
                Some(&s) if s != u32::MAX => Some(s as usize),
                _ => None,
            }
        }
    }

    /// Slot of a type id known to exist (checked at load).
    fn slot(&self, id: u32) -> usize {
        self.find(id).unwrap_or(0)
    }

    fn get(&self, id: u32) -> &'a EdgeType {
        self.types[self.slot(id)]
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
    let edge_type_ids = h5::read_u32(file, &h5::dataset(file, g, "edge_type_id")?)?;
    check_len("edge_type_id", edge_type_ids.len())?;
    let tindex = TypeIndex::new(types);
    if let Some(i) = edge_type_ids.iter().position(|&t| tindex.find(t).is_none()) {
        return Err(SonataError::invalid(
            file,
            format!("{base}/edge_type_id[{i}]"),
            edge_type_ids[i],
            format!("not in edge types file {}", types_file.display()),
        ));
    }

    // Groups: the three columns PointNet uses are read whole; others are only named.
    struct EdgeGroup {
        path: String,
        rows: Option<usize>,
        cols: BTreeMap<&'static str, Vec<f64>>,
    }
    let (subgroups, _) = h5::members(file, g)?;
    let mut groups: BTreeMap<u32, EdgeGroup> = BTreeMap::new();
    let mut other_columns: Vec<String> = Vec::new();
    for sg in subgroups {
        let Ok(id) = sg.parse::<u32>() else { continue };
        let path = format!("{base}/{sg}");
        let grp = h5::group(file, g, &sg)?;
        let (subs, dsets) = h5::members(file, &grp)?;
        let mut rows: Option<(usize, String)> = None;
        let mut cols = BTreeMap::new();
        for d in dsets {
            let ds = h5::dataset(file, &grp, &d)?;
            let len = h5::shape(&ds).first().copied().unwrap_or(0);
            match &rows {
                Some((l, first)) if *l != len => {
                    return Err(SonataError::invalid(
                        file,
                        format!("{path}/{d}"),
                        format!("length {len}"),
                        format!("expected {l} rows like {path}/{first}"),
                    ))
                }
                None => rows = Some((len, d.clone())),
                _ => {}
            }
            match ["nsyns", "syn_weight", "delay"].iter().find(|k| **k == d) {
                Some(k) => {
                    cols.insert(*k, h5::read_f64(file, &ds)?);
                }
                None => {
                    if !other_columns.contains(&d) {
                        other_columns.push(d);
                    }
                }
            }
        }
        for sub in subs {
            if !other_columns.contains(&sub) {
                other_columns.push(sub); // e.g. a per-edge dynamics_params subgroup
            }
        }
        groups.insert(
            id,
            EdgeGroup {
                path,
                rows: rows.map(|r| r.0),
                cols,
            },
        );
    }
    let group_ids = match h5::opt_dataset(file, g, "edge_group_id")? {
        Some(d) => Some(h5::read_u32(file, &d)?),
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
    // Fast path (every BMTK file): one group, every edge in it, indices 0..E.
    let single = groups.keys().next().copied().filter(|_| groups.len() == 1);
    let single_identity = single.is_some_and(|only| {
        group_ids
            .as_ref()
            .map_or(only == 0, |v| v.iter().all(|&x| x == only))
            && group_index
                .as_ref()
                .is_none_or(|v| v.iter().enumerate().all(|(i, &x)| x == i as u64))
    });
    if single_identity {
        let grp = groups.values().next().map(|g| (g.path.clone(), g.rows));
        if let Some((path, Some(rows))) = grp {
            if rows != n {
                return Err(SonataError::invalid(
                    file,
                    path,
                    format!("{rows} rows"),
                    format!("expected {n} rows (one per edge, edge_group_index = 0..{n})"),
                ));
            }
        }
    } else if !groups.is_empty() {
        // Validate every edge's group reference (dense table by group id).
        let max_gid = groups.keys().next_back().copied().unwrap_or(0) as usize;
        let mut table: Vec<Option<&EdgeGroup>> = vec![None; max_gid + 1];
        for (k, v) in &groups {
            table[*k as usize] = Some(v);
        }
        for i in 0..n {
            let g_id = gid(i);
            let Some(Some(grp)) = table.get(g_id as usize) else {
                return Err(SonataError::invalid(
                    file,
                    format!("{base}/edge_group_id[{i}]"),
                    g_id,
                    format!("no group {base}/{g_id}"),
                ));
            };
            if let Some(rows) = grp.rows {
                if gidx(i) >= rows as u64 {
                    return Err(SonataError::invalid(
                        file,
                        format!("{base}/edge_group_index[{i}]"),
                        gidx(i),
                        format!("out of range: group {} has {rows} rows", grp.path),
                    ));
                }
            }
        }
    }
    let n_groups = groups.len();
    // Flatten one column over the groups; NaN where an edge's group lacks it.
    let mut flatten = |key: &str| -> Option<Vec<f64>> {
        if !groups.values().any(|g| g.cols.contains_key(key)) {
            return None;
        }
        if single_identity {
            return groups.values_mut().next().and_then(|g| g.cols.remove(key));
        }
        Some(
            (0..n)
                .map(
                    |i| match groups.get(&gid(i)).and_then(|g| g.cols.get(key)) {
                        Some(v) => v.get(gidx(i) as usize).copied().unwrap_or(f64::NAN),
                        None => f64::NAN,
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
        n_groups,
        indices,
        edge_types: types.clone(),
    })
}
