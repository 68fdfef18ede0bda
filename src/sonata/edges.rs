//! Edge populations: edges h5 + edge_types CSV (sonata-bmtk.md §2), and PointNet's rule for
//! per-edge weight and delay (§2.4).

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
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

/// One edge population: all its edges, or those a distributed run selected
/// ([`EdgeSelection`]). Loaded edge `i` is file row `rows.row(i)` of the h5 datasets (BMTK
/// sorts by target id); loaded edges keep the file order.
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
    /// The one group every edge is in, row for row (every BMTK file), for messages naming a
    /// group column's dataset and row; `None` with several groups.
    pub single_group: Option<u32>,
    /// Other group columns (not used by PointNet), by name, for information.
    pub other_columns: Vec<String>,
    /// Number of edge groups.
    pub n_groups: usize,
    /// Name of the `indices/*/node_id_to_range(s)` dataset if the file has indices
    /// (BMTK writes `node_id_to_range`, the spec `node_id_to_ranges`; neither is needed).
    pub indices: Option<String>,
    /// Edges in the file (the loaded ones are `len()`, see [`EdgeSelection`]).
    pub n_total: usize,
    /// File rows of the loaded edges.
    pub rows: EdgeRows,
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
    /// Free the per-edge columns once the edges are lowered into synapses (metadata and types
    /// stay), so the engine is built without a second copy of every edge alive.
    pub fn release_rows(&mut self) {
        for v in [&mut self.source_ids, &mut self.target_ids] {
            *v = Vec::new();
        }
        self.edge_type_ids = Vec::new();
        for c in [&mut self.nsyns, &mut self.syn_weight, &mut self.delay] {
            if c.is_some() {
                *c = Some(Vec::new());
            }
        }
        self.rows = EdgeRows::default();
    }

    pub fn len(&self) -> usize {
        self.source_ids.len()
    }

    /// Where loaded edge `i`'s value of group column `key` is stored, for messages:
    /// `/edges/<pop>/<group>/<key>[row]` (one group), else the row's `edge_group_id` entry.
    pub fn group_column_site(&self, key: &str, i: usize) -> String {
        let row = self.rows.row(i);
        match self.single_group {
            Some(g) => format!("/edges/{}/{g}/{key}[{row}]", self.name),
            None => format!(
                "/edges/{}/<edge_group_id[{row}]>/{key} (edge row {row})",
                self.name
            ),
        }
    }

    /// Whether edge `i`'s `key` (nsyns, syn_weight or delay) comes from its h5 group column.
    pub fn from_group_column(&self, key: &str, i: usize) -> bool {
        let col = match key {
            "nsyns" => &self.nsyns,
            "syn_weight" => &self.syn_weight,
            "delay" => &self.delay,
            _ => return false,
        };
        col.as_ref()
            .and_then(|c| c.get(i))
            .is_some_and(|v| !v.is_nan())
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
                            "not a built-in weight function ({}); it is a Python function of the BMTK run script: supply it with `python -m glifnet run CONFIG --functions FILE.py` (FILE.py defines it with @glifnet.synaptic_weight or bmtk's @synaptic_weight) or glifnet.run(CONFIG) in Python",
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
                "edge type {} has no syn_weight and edge {} of {} has none in its h5 group",
                t.edge_type_id,
                self.rows.row(i),
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
        // a float column (e.g. one NaN among the ids) still holds integer ids
        let id = match row[id_col].as_i64() {
            Some(i) if (0..=i64::from(u32::MAX)).contains(&i) => i as u64,
            _ => {
                let other = &row[id_col];
                return Err(SonataError::invalid(
                    &t.file,
                    format!("line {line}: edge_type_id"),
                    other,
                    "expected a non-negative 32-bit integer",
                ));
            }
        };
        let attributes: BTreeMap<String, Value> =
            t.columns.iter().cloned().zip(row.iter().cloned()).collect();
        let num = |k: &str| -> Result<Option<f64>, SonataError> {
            match attributes.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match v.as_f64() {
                    Some(x) if x.is_finite() => Ok(Some(x)),
                    Some(x) => Err(SonataError::invalid(
                        &t.file,
                        format!("line {line}: {k}"),
                        x,
                        "not a finite number (write NULL for a missing value)",
                    )),
                    // a number in a column typed as text by another row's value
                    None => match v.as_str().map(|s| s.trim().parse::<f64>()) {
                        Some(Ok(x)) if x.is_finite() => Ok(Some(x)),
                        _ => Err(SonataError::invalid(
                            &t.file,
                            format!("line {line}: {k}"),
                            v,
                            "expected a number",
                        )),
                    },
                },
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

/// Which edges to read. Distributed runs (issue #8) read only the edges onto the neurons a
/// process simulates; everything else reads all.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum EdgeSelection {
    /// Every edge of every population.
    #[default]
    All,
    /// Only the edges onto these node ids, per target population name (sorted, disjoint id
    /// ranges). Edge populations whose target population is absent load no edges, only their
    /// metadata (populations, types, groups, total count).
    Targets(BTreeMap<String, Vec<Range<u64>>>),
}

impl EdgeSelection {
    /// The id ranges selected in target population `pop`; `None` = all edges.
    fn targets_of(&self, pop: &str) -> Option<&[Range<u64>]> {
        match self {
            EdgeSelection::All => None,
            EdgeSelection::Targets(m) => Some(m.get(pop).map_or(&[][..], |v| &v[..])),
        }
    }
}

/// The file rows of the loaded edges: ascending, disjoint row ranges. Loaded edge `i` is file
/// row [`EdgeRows::row`]`(i)`, so messages name the row a user finds in the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EdgeRows {
    ranges: Vec<Range<usize>>,
    /// Loaded edges before each range.
    before: Vec<usize>,
}

impl EdgeRows {
    fn new(ranges: Vec<Range<usize>>) -> Self {
        let before = ranges
            .iter()
            .scan(0usize, |acc, r| {
                let b = *acc;
                *acc += r.len();
                Some(b)
            })
            .collect();
        EdgeRows { ranges, before }
    }

    /// File row of loaded edge `i`.
    pub fn row(&self, i: usize) -> usize {
        match self.before.partition_point(|&b| b <= i).checked_sub(1) {
            Some(k) => self.ranges[k].start + (i - self.before[k]),
            None => i,
        }
    }

    /// The row ranges read.
    pub fn ranges(&self) -> &[Range<usize>] {
        &self.ranges
    }

    /// File rows of the loaded edges in order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.ranges.iter().flat_map(|r| r.clone())
    }
}

/// Rows read per request when scanning a column (bounded memory for 10^8-edge files).
const SCAN_ROWS: usize = 1 << 20;

fn in_ranges(ranges: &[Range<u64>], x: u64) -> bool {
    let k = ranges.partition_point(|r| r.end <= x);
    k < ranges.len() && ranges[k].start <= x
}

/// Append `r`, extending the last range when they touch.
fn push_merge(v: &mut Vec<Range<usize>>, r: Range<usize>) {
    if r.is_empty() {
        return;
    }
    match v.last_mut() {
        Some(l) if l.end == r.start => l.end = r.end,
        _ => v.push(r),
    }
}

/// Sort and merge overlapping or touching ranges.
fn normalise(mut v: Vec<Range<usize>>) -> Vec<Range<usize>> {
    v.sort_unstable_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::with_capacity(v.len());
    for r in v.into_iter().filter(|r| !r.is_empty()) {
        match out.last_mut() {
            Some(l) if r.start <= l.end => l.end = l.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// `indices/target_to_source` (node_id_to_range[s], range_to_edge_id), if the file has it.
fn target_index(
    file: &Path,
    g: &hdf5::Group,
) -> Result<Option<(hdf5::Dataset, hdf5::Dataset)>, SonataError> {
    if !g.link_exists("indices") {
        return Ok(None);
    }
    let ig = h5::group(file, g, "indices")?;
    if !ig.link_exists("target_to_source") {
        return Ok(None);
    }
    let t = h5::group(file, &ig, "target_to_source")?;
    let Some(name) = ["node_id_to_ranges", "node_id_to_range"]
        .into_iter()
        .find(|n| t.link_exists(n))
    else {
        return Ok(None);
    };
    let n2r = h5::dataset(file, &t, name)?;
    Ok(h5::opt_dataset(file, &t, "range_to_edge_id")?.map(|r2e| (n2r, r2e)))
}

/// Read rows `range` of an index table in bounded requests, calling `f(row, pair)`.
fn for_pairs(
    file: &Path,
    ds: &hdf5::Dataset,
    range: Range<usize>,
    f: &mut dyn FnMut(usize, [u64; 2]) -> Result<(), SonataError>,
) -> Result<(), SonataError> {
    let mut a = range.start;
    while a < range.end {
        let b = (a + SCAN_ROWS).min(range.end);
        for (k, p) in h5::read_pairs(file, ds, a..b)?.into_iter().enumerate() {
            f(a + k, p)?;
        }
        a = b;
    }
    Ok(())
}

/// File rows of the edges onto `targets` (sorted id ranges): from the target_to_source index
/// when present (only the index rows of those ids are read), else a chunked pass over
/// `target_node_id`. Ascending, merged.
fn select_rows(
    file: &Path,
    base: &str,
    g: &hdf5::Group,
    trg_ds: &hdf5::Dataset,
    n: usize,
    targets: &[Range<u64>],
) -> Result<Vec<Range<usize>>, SonataError> {
    if targets.is_empty() || n == 0 {
        return Ok(Vec::new());
    }
    let mut rows = Vec::new();
    if let Some((n2r, r2e)) = target_index(file, g)? {
        let n_ids = h5::shape(&n2r).first().copied().unwrap_or(0);
        let n_ranges = h5::shape(&r2e).first().copied().unwrap_or(0);
        let mut spans: Vec<Range<usize>> = Vec::new();
        for t in targets {
            let a = (t.start.min(n_ids as u64)) as usize;
            let b = (t.end.min(n_ids as u64)) as usize;
            for_pairs(file, &n2r, a..b, &mut |id, [r0, r1]| {
                if r0 > r1 || r1 > n_ranges as u64 {
                    return Err(SonataError::invalid(
                        file,
                        format!("{}[{id}]", n2r.name()),
                        format!("[{r0}, {r1}]"),
                        format!("not a range of the {n_ranges} rows of {base}/indices/target_to_source/range_to_edge_id"),
                    ));
                }
                push_merge(&mut spans, r0 as usize..r1 as usize);
                Ok(())
            })?;
        }
        for span in normalise(spans) {
            for_pairs(file, &r2e, span, &mut |k, [e0, e1]| {
                if e0 > e1 || e1 > n as u64 {
                    return Err(SonataError::invalid(
                        file,
                        format!("{}[{k}]", r2e.name()),
                        format!("[{e0}, {e1}]"),
                        format!("not a range of the {n} edges"),
                    ));
                }
                push_merge(&mut rows, e0 as usize..e1 as usize);
                Ok(())
            })?;
        }
    } else {
        let mut a = 0;
        while a < n {
            let b = (a + SCAN_ROWS).min(n);
            let ids = h5::read_u64_rows(file, trg_ds, Some(std::slice::from_ref(&(a..b))))?;
            for (k, &t) in ids.iter().enumerate() {
                if in_ranges(targets, t) {
                    push_merge(&mut rows, a + k..a + k + 1);
                }
            }
            a = b;
        }
    }
    Ok(normalise(rows))
}

/// Number of edges of population `name` in `edges_file` onto each target node, without
/// reading the edges: from `indices/target_to_source` when present, else a chunked pass over
/// `target_node_id`. `slot(id)` is the node's index among `n_slots`, or why no edge may
/// target it; the error names the file row of an edge onto it, as a full load would.
pub(crate) fn count_targets(
    edges_file: &Path,
    name: &str,
    n_slots: usize,
    slot: &dyn Fn(u64) -> Result<usize, String>,
) -> Result<Vec<u64>, SonataError> {
    let f = h5::open(edges_file)?;
    let root = h5::group(edges_file, &f, "edges")?;
    let g = h5::group(edges_file, &root, name)?;
    let trg_ds = h5::dataset(edges_file, &g, "target_node_id")?;
    let refused = |id: u64, row: u64, why: String| {
        SonataError::invalid(
            edges_file,
            format!("/edges/{name}/target_node_id[{row}]"),
            id,
            why,
        )
    };
    let mut counts = vec![0u64; n_slots];
    if let Some((n2r, r2e)) = target_index(edges_file, &g)? {
        // edges per range (prefix sums), then per node the sum over its ranges
        let n_ranges = h5::shape(&r2e).first().copied().unwrap_or(0);
        let mut prefix = Vec::with_capacity(n_ranges + 1);
        prefix.push(0u64);
        for_pairs(edges_file, &r2e, 0..n_ranges, &mut |_, [e0, e1]| {
            let last = prefix[prefix.len() - 1];
            prefix.push(last + e1.saturating_sub(e0));
            Ok(())
        })?;
        let n_ids = h5::shape(&n2r).first().copied().unwrap_or(0);
        for_pairs(edges_file, &n2r, 0..n_ids, &mut |id, [r0, r1]| {
            if r0 >= r1 {
                return Ok(());
            }
            let (Some(a), Some(b)) = (prefix.get(r0 as usize), prefix.get(r1 as usize)) else {
                return Err(SonataError::invalid(
                    edges_file,
                    format!("{}[{id}]", n2r.name()),
                    format!("[{r0}, {r1}]"),
                    format!("not a range of the {n_ranges} rows of range_to_edge_id"),
                ));
            };
            let s = match slot(id as u64) {
                Ok(s) => s,
                Err(why) => {
                    // the first edge of the node's first range
                    let row = h5::read_pairs(edges_file, &r2e, r0 as usize..r0 as usize + 1)?;
                    return Err(refused(id as u64, row.first().map_or(0, |p| p[0]), why));
                }
            };
            counts[s] += b - a;
            Ok(())
        })?;
    } else {
        let n = h5::shape(&trg_ds).first().copied().unwrap_or(0);
        let mut a = 0;
        while a < n {
            let b = (a + SCAN_ROWS).min(n);
            let ids = h5::read_u64_rows(edges_file, &trg_ds, Some(std::slice::from_ref(&(a..b))))?;
            for (k, t) in ids.into_iter().enumerate() {
                let s = slot(t).map_err(|why| refused(t, (a + k) as u64, why))?;
                counts[s] += 1;
            }
            a = b;
        }
    }
    Ok(counts)
}

/// Read every population of one edges h5 file (the rows `sel` asks for). Source/target ids
/// are checked against the node populations by the circuit loader.
pub(crate) fn read_edges_file(
    edges_file: &Path,
    types_file: &Path,
    types: &BTreeMap<u64, EdgeType>,
    sel: &EdgeSelection,
) -> Result<Vec<EdgePopulation>, SonataError> {
    let f = h5::open(edges_file)?;
    let root = h5::group(edges_file, &f, "edges")?;
    let (pops, _) = h5::members(edges_file, &root)?;
    let mut out = Vec::with_capacity(pops.len());
    for name in pops {
        let g = h5::group(edges_file, &root, &name)?;
        out.push(read_population(
            edges_file, types_file, &name, &g, types, sel,
        )?);
    }
    Ok(out)
}

fn read_population(
    file: &Path,
    types_file: &Path,
    name: &str,
    g: &hdf5::Group,
    types: &BTreeMap<u64, EdgeType>,
    sel: &EdgeSelection,
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
    let len_of = |ds: &hdf5::Dataset| h5::shape(ds).first().copied().unwrap_or(0);
    let n = len_of(&src_ds);
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
    check_len("target_node_id", len_of(&trg_ds))?;
    let type_ds = h5::dataset(file, g, "edge_type_id")?;
    check_len("edge_type_id", len_of(&type_ds))?;
    let gid_ds = h5::opt_dataset(file, g, "edge_group_id")?;
    let gidx_ds = h5::opt_dataset(file, g, "edge_group_index")?;
    for (what, ds) in [("edge_group_id", &gid_ds), ("edge_group_index", &gidx_ds)] {
        if let Some(ds) = ds {
            check_len(what, len_of(ds))?;
        }
    }

    // The rows to read: all (whole-dataset reads, the single-process path) or a selection.
    let targets = sel.targets_of(&target_population);
    let row_ranges = match targets {
        None => std::iter::once(0..n).collect(),
        Some(t) => select_rows(file, &base, g, &trg_ds, n, t)?,
    };
    let rows_sel: h5::Rows = targets.map(|_| &row_ranges[..]);
    let rows = EdgeRows::new(row_ranges.clone());

    let source_ids = h5::read_u64_rows(file, &src_ds, rows_sel)?;
    let target_ids = h5::read_u64_rows(file, &trg_ds, rows_sel)?;
    let m = source_ids.len();
    if let Some(t) = targets {
        // an index inconsistent with target_node_id would silently lose or add edges
        if let Some(k) = target_ids.iter().position(|&x| !in_ranges(t, x)) {
            return Err(SonataError::invalid(
                file,
                format!("{base}/target_node_id[{}]", rows.row(k)),
                target_ids[k],
                format!("{base}/indices/target_to_source lists this edge for other target ids"),
            ));
        }
    }
    let edge_type_ids = h5::read_u32_rows(file, &type_ds, rows_sel)?;
    let tindex = TypeIndex::new(types);
    if let Some(i) = edge_type_ids.iter().position(|&t| tindex.find(t).is_none()) {
        return Err(SonataError::invalid(
            file,
            format!("{base}/edge_type_id[{}]", rows.row(i)),
            edge_type_ids[i],
            format!("not in edge types file {}", types_file.display()),
        ));
    }

    // Groups: the three columns PointNet uses are read (the selected rows); others are only
    // named.
    struct EdgeGroup {
        path: String,
        rows: Option<usize>,
        cols: BTreeMap<&'static str, hdf5::Dataset>,
    }
    let (subgroups, _) = h5::members(file, g)?;
    let mut groups: BTreeMap<u32, EdgeGroup> = BTreeMap::new();
    let mut other_columns: Vec<String> = Vec::new();
    for sg in subgroups {
        let Ok(id) = sg.parse::<u32>() else { continue };
        let path = format!("{base}/{sg}");
        let grp = h5::group(file, g, &sg)?;
        let (subs, dsets) = h5::members(file, &grp)?;
        let mut grows: Option<(usize, String)> = None;
        let mut cols = BTreeMap::new();
        for d in dsets {
            let ds = h5::dataset(file, &grp, &d)?;
            let len = h5::shape(&ds).first().copied().unwrap_or(0);
            match &grows {
                Some((l, first)) if *l != len => {
                    return Err(SonataError::invalid(
                        file,
                        format!("{path}/{d}"),
                        format!("length {len}"),
                        format!("expected {l} rows like {path}/{first}"),
                    ))
                }
                None => grows = Some((len, d.clone())),
                _ => {}
            }
            match ["nsyns", "syn_weight", "delay"].iter().find(|k| **k == d) {
                Some(k) => {
                    cols.insert(*k, ds);
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
                rows: grows.map(|r| r.0),
                cols,
            },
        );
    }
    let group_ids = match &gid_ds {
        Some(d) => Some(h5::read_u32_rows(file, d, rows_sel)?),
        None => None,
    };
    let group_index = match &gidx_ds {
        Some(d) => Some(h5::read_u64_rows(file, d, rows_sel)?),
        None => None,
    };
    let gid = |i: usize| group_ids.as_ref().map_or(0, |v| v[i]);
    let gidx = |i: usize| group_index.as_ref().map_or(rows.row(i) as u64, |v| v[i]);
    // Fast path (every BMTK file): one group, every edge in it, edge_group_index = row.
    let single = groups.keys().next().copied().filter(|_| groups.len() == 1);
    let mut single_identity = single.is_some_and(|only| {
        group_ids
            .as_ref()
            .map_or(only == 0, |v| v.iter().all(|&x| x == only))
            && group_index
                .as_ref()
                .is_none_or(|v| v.iter().zip(rows.iter()).all(|(&x, r)| x == r as u64))
    });
    if single_identity {
        let grp = groups.values().next().map(|g| (g.path.clone(), g.rows));
        if let Some((path, Some(grows))) = grp {
            if grows != n {
                if targets.is_none() {
                    return Err(SonataError::invalid(
                        file,
                        path,
                        format!("{grows} rows"),
                        format!("expected {n} rows (one per edge, edge_group_index = 0..{n})"),
                    ));
                }
                // a selection: the general path checks each selected edge's group row
                single_identity = false;
            }
        }
    }
    if !single_identity && !groups.is_empty() {
        // Validate every loaded edge's group reference (dense table by group id).
        let max_gid = groups.keys().next_back().copied().unwrap_or(0) as usize;
        let mut table: Vec<Option<&EdgeGroup>> = vec![None; max_gid + 1];
        for (k, v) in &groups {
            table[*k as usize] = Some(v);
        }
        for i in 0..m {
            let g_id = gid(i);
            let Some(Some(grp)) = table.get(g_id as usize) else {
                return Err(SonataError::invalid(
                    file,
                    format!("{base}/edge_group_id[{}]", rows.row(i)),
                    g_id,
                    format!("no group {base}/{g_id}"),
                ));
            };
            if let Some(grows) = grp.rows {
                if gidx(i) >= grows as u64 {
                    return Err(SonataError::invalid(
                        file,
                        format!("{base}/edge_group_index[{}]", rows.row(i)),
                        gidx(i),
                        format!("out of range: group {} has {grows} rows", grp.path),
                    ));
                }
            }
        }
    }
    let n_groups = groups.len();
    // Flatten one column over the groups; NaN where an edge's group lacks it. Outside the fast
    // path (several groups: not written by BMTK) the groups' columns are read whole.
    let flatten = |key: &str| -> Result<Option<Vec<f64>>, SonataError> {
        if !groups.values().any(|g| g.cols.contains_key(key)) {
            return Ok(None);
        }
        // NaN marks "this edge's group has no such column" below, so a NaN (or inf) stored
        // in the file is an error here, naming the dataset and row, never a silent fallback.
        let not_finite = |path: &str, row: usize, v: f64| {
            SonataError::invalid(
                file,
                format!("{path}/{key}[{row}]"),
                v,
                "not a finite number",
            )
        };
        if single_identity {
            return match groups
                .values()
                .next()
                .and_then(|g| g.cols.get(key).map(|d| (g, d)))
            {
                Some((grp, ds)) => {
                    let v = h5::read_f64_rows(file, ds, rows_sel)?;
                    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                        return Err(not_finite(&grp.path, rows.row(i), v[i]));
                    }
                    Ok(Some(v))
                }
                None => Ok(None),
            };
        }
        let mut whole: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
        if m > 0 {
            for (id, grp) in &groups {
                if let Some(ds) = grp.cols.get(key) {
                    let v = h5::read_f64(file, ds)?;
                    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                        return Err(not_finite(&grp.path, i, v[i]));
                    }
                    whole.insert(*id, v);
                }
            }
        }
        Ok(Some(
            (0..m)
                .map(|i| match whole.get(&gid(i)) {
                    Some(v) => v.get(gidx(i) as usize).copied().unwrap_or(f64::NAN),
                    None => f64::NAN,
                })
                .collect(),
        ))
    };
    let nsyns = flatten("nsyns")?;
    let syn_weight = flatten("syn_weight")?;
    let delay = flatten("delay")?;
    let indices = ["target_to_source", "source_to_target"]
        .iter()
        .find_map(|d| {
            let ig = g.group("indices").ok()?.group(d).ok()?;
            ["node_id_to_ranges", "node_id_to_range"]
                .iter()
                .find(|n| ig.link_exists(n))
                .map(|n| n.to_string())
        });
    let single_group = if single_identity { single } else { None };
    Ok(EdgePopulation {
        single_group,
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
        n_total: n,
        rows,
        edge_types: types.clone(),
    })
}
