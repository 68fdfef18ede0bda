//! Node populations: nodes h5 + node_types CSV (sonata-bmtk.md §1).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::SonataError;
use super::types_csv::TypeTable;
use super::{h5, Column, Value};

/// A `model_template` split at its first colon (`nest:glif_psc` -> schema `nest`, resource
/// `glif_psc`, §1.4). Without a colon the schema is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelTemplate {
    pub schema: String,
    pub resource: String,
}

impl ModelTemplate {
    pub fn parse(s: &str) -> ModelTemplate {
        match s.split_once(':') {
            Some((a, b)) => ModelTemplate {
                schema: a.to_string(),
                resource: b.to_string(),
            },
            None => ModelTemplate {
                schema: String::new(),
                resource: s.to_string(),
            },
        }
    }

    /// The NEST model name when the schema is `nest` (or absent).
    pub fn nest_model(&self) -> Option<&str> {
        (self.schema == "nest" || self.schema.is_empty()).then_some(self.resource.as_str())
    }
}

impl std::fmt::Display for ModelTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.schema.is_empty() {
            write!(f, "{}", self.resource)
        } else {
            write!(f, "{}:{}", self.schema, self.resource)
        }
    }
}

/// One row of a node_types CSV, with its `dynamics_params` JSON loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeType {
    pub node_type_id: u64,
    /// `model_type` column (`virtual`, `point_neuron`, `point_process`, …).
    pub model_type: Option<String>,
    pub model_template: Option<ModelTemplate>,
    /// Absolute path of the `dynamics_params` file (components dir chosen by model_type, §1.5).
    pub dynamics_params_file: Option<PathBuf>,
    /// The loaded JSON, shared between types that name the same file (loaded once per file).
    pub dynamics_params: Option<Arc<serde_json::Value>>,
    /// Every CSV column of the row, by name (including the ones above as written).
    pub attributes: BTreeMap<String, Value>,
    /// Line of the row in the CSV (for messages).
    pub line: usize,
}

impl NodeType {
    pub fn is_virtual(&self) -> bool {
        self.model_type.as_deref() == Some("virtual")
    }
}

/// One node group `/nodes/<pop>/<id>/`: the per-node columns of the nodes that point to it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeGroup {
    pub id: u32,
    /// Rows (0 for an empty group, e.g. the `0/` of virtual populations).
    pub len: usize,
    /// Columns by name. An N×3 `positions` dataset is split into `x`, `y`, `z`.
    pub columns: BTreeMap<String, Column>,
    /// The optional `dynamics_params/` subgroup: per-node parameter overrides (spec extension
    /// BMTK cannot use, bmtk issue #371).
    pub dynamics_params: BTreeMap<String, Column>,
}

/// One node population. Nodes are addressed by *index* `i` (row in the h5 file, 0..len);
/// `node_ids[i]` is the SONATA node id (contiguous 0..N in every BMTK file).
#[derive(Debug, Clone, PartialEq)]
pub struct NodePopulation {
    pub name: String,
    pub nodes_file: PathBuf,
    pub node_types_file: PathBuf,
    /// `node_id` dataset, or 0..N when the file has none (spec: implicit ids).
    pub node_ids: Vec<u64>,
    pub node_type_ids: Vec<u64>,
    pub group_ids: Vec<u32>,
    pub group_indices: Vec<u64>,
    /// Groups sorted by id.
    pub groups: Vec<NodeGroup>,
    /// node_types rows by id.
    pub node_types: BTreeMap<u64, NodeType>,
    /// node id -> index, only when ids are not 0..N.
    id_index: Option<HashMap<u64, usize>>,
    /// group id -> position in `groups`, per node (kept small: groups are few).
    group_pos: Vec<u16>,
}

impl NodePopulation {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.node_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.node_ids.is_empty()
    }

    /// Index (row) of node id `id`.
    pub fn index_of(&self, id: u64) -> Option<usize> {
        match &self.id_index {
            None => (id < self.node_ids.len() as u64).then_some(id as usize),
            Some(m) => m.get(&id).copied(),
        }
    }

    /// Whether node ids are exactly 0..N (then index == id).
    pub fn ids_are_contiguous(&self) -> bool {
        self.id_index.is_none()
    }

    /// The node type of node index `i`. Every node's type id was checked at load.
    pub fn node_type(&self, i: usize) -> &NodeType {
        &self.node_types[&self.node_type_ids[i]]
    }

    /// The group of node index `i` and the node's row in it.
    pub fn group_of(&self, i: usize) -> (&NodeGroup, usize) {
        (
            &self.groups[self.group_pos[i] as usize],
            self.group_indices[i] as usize,
        )
    }

    /// Attribute `name` of node index `i`: the h5 group column if present, else the node_types
    /// column (spec and BMTK order), else `Null`. `node_id`, `node_type_id` and
    /// `node_group_id` are available too.
    pub fn attribute(&self, i: usize, name: &str) -> Value {
        match name {
            "node_id" => return Value::Int(self.node_ids[i] as i64),
            "node_type_id" => return Value::Int(self.node_type_ids[i] as i64),
            "node_group_id" => return Value::Int(i64::from(self.group_ids[i])),
            _ => {}
        }
        let (g, row) = self.group_of(i);
        if let Some(c) = g.columns.get(name) {
            return c.get(row);
        }
        self.node_type(i)
            .attributes
            .get(name)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// `model_type` of node `i` (h5 column beats CSV).
    pub fn model_type(&self, i: usize) -> Option<String> {
        self.attribute(i, "model_type").as_str().map(str::to_string)
    }

    /// Whether node `i` is virtual (`model_type == "virtual"`).
    pub fn is_virtual(&self, i: usize) -> bool {
        let (g, _) = self.group_of(i);
        if g.columns.contains_key("model_type") {
            return self.model_type(i).as_deref() == Some("virtual");
        }
        self.node_type(i).is_virtual()
    }

    /// Number of virtual nodes.
    pub fn n_virtual(&self) -> usize {
        (0..self.len()).filter(|&i| self.is_virtual(i)).count()
    }

    /// `model_template` of node `i` (h5 column beats CSV).
    pub fn model_template(&self, i: usize) -> Option<ModelTemplate> {
        let (g, row) = self.group_of(i);
        if let Some(c) = g.columns.get("model_template") {
            return c.get(row).as_str().map(ModelTemplate::parse);
        }
        self.node_type(i).model_template.clone()
    }

    /// Per-node `dynamics_params` overrides of node `i` from the h5 `dynamics_params/` subgroup
    /// (merge them over the node type's JSON). `None` when the node's group has none.
    pub fn dynamics_overrides(
        &self,
        i: usize,
    ) -> Option<serde_json::Map<String, serde_json::Value>> {
        let (g, row) = self.group_of(i);
        if g.dynamics_params.is_empty() {
            return None;
        }
        Some(
            g.dynamics_params
                .iter()
                .map(|(k, c)| (k.clone(), c.get_json(row)))
                .collect(),
        )
    }

    /// The parameter JSON of node `i`: its type's `dynamics_params` with the per-node h5
    /// overrides merged over it (merge order of sonata-bmtk.md §9.3; NEST model defaults go
    /// underneath, in `models/`). `None` when the type has no `dynamics_params` and the node
    /// no overrides. Prefer the type's JSON (shared) for nodes without overrides.
    pub fn dynamics_params(&self, i: usize) -> Option<serde_json::Value> {
        let base = self.node_type(i).dynamics_params.as_deref().cloned();
        match (base, self.dynamics_overrides(i)) {
            (b, None) => b,
            (Some(serde_json::Value::Object(mut m)), Some(o)) => {
                m.extend(o);
                Some(serde_json::Value::Object(m))
            }
            (_, Some(o)) => Some(serde_json::Value::Object(o)),
        }
    }

    /// Whether any group carries per-node `dynamics_params`.
    pub fn has_dynamics_overrides(&self) -> bool {
        self.groups.iter().any(|g| !g.dynamics_params.is_empty())
    }

    /// (x, y, z) of node `i` if the group has them.
    pub fn position(&self, i: usize) -> Option<[f64; 3]> {
        let p = ["x", "y", "z"].map(|k| self.attribute(i, k).as_f64());
        Some([p[0]?, p[1]?, p[2]?])
    }
}

/// Read every population of one nodes h5 file, typed by `types` (already checked for unique
/// ids). Populations are returned in name order.
pub(crate) fn read_nodes_file(
    nodes_file: &Path,
    types_file: &Path,
    types: &BTreeMap<u64, NodeType>,
) -> Result<Vec<NodePopulation>, SonataError> {
    let f = h5::open(nodes_file)?;
    let root = h5::group(nodes_file, &f, "nodes")?;
    let (pops, _) = h5::members(nodes_file, &root)?;
    let mut out = Vec::with_capacity(pops.len());
    for name in pops {
        let g = h5::group(nodes_file, &root, &name)?;
        out.push(read_population(nodes_file, types_file, &name, &g, types)?);
    }
    Ok(out)
}

fn read_population(
    file: &Path,
    types_file: &Path,
    name: &str,
    g: &hdf5::Group,
    types: &BTreeMap<u64, NodeType>,
) -> Result<NodePopulation, SonataError> {
    let base = format!("/nodes/{name}");
    let node_type_ids = h5::read_u64(file, &h5::dataset(file, g, "node_type_id")?)?;
    let n = node_type_ids.len();
    let check_len = |what: &str, len: usize| -> Result<(), SonataError> {
        if len == n {
            Ok(())
        } else {
            Err(SonataError::invalid(
                file,
                format!("{base}/{what}"),
                format!("length {len}"),
                format!("expected {n} rows like {base}/node_type_id"),
            ))
        }
    };
    let node_ids = match h5::opt_dataset(file, g, "node_id")? {
        Some(d) => h5::read_u64(file, &d)?,
        None => (0..n as u64).collect(),
    };
    check_len("node_id", node_ids.len())?;
    let contiguous = node_ids.iter().enumerate().all(|(i, &id)| id == i as u64);
    let id_index = if contiguous {
        None
    } else {
        let mut m = HashMap::with_capacity(n);
        for (i, &id) in node_ids.iter().enumerate() {
            if m.insert(id, i).is_some() {
                return Err(SonataError::invalid(
                    file,
                    format!("{base}/node_id"),
                    id,
                    "duplicate node id",
                ));
            }
        }
        Some(m)
    };
    let group_ids: Vec<u32> = match h5::opt_dataset(file, g, "node_group_id")? {
        Some(d) => h5::read_u64(file, &d)?
            .into_iter()
            .map(|x| {
                u32::try_from(x).map_err(|_| {
                    SonataError::invalid(
                        file,
                        format!("{base}/node_group_id"),
                        x,
                        "group id too large",
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        None => vec![0; n],
    };
    check_len("node_group_id", group_ids.len())?;
    let group_indices = match h5::opt_dataset(file, g, "node_group_index")? {
        Some(d) => h5::read_u64(file, &d)?,
        None => (0..n as u64).collect(),
    };
    check_len("node_group_index", group_indices.len())?;

    // Groups: every member group whose name is an integer.
    let (subgroups, _) = h5::members(file, g)?;
    let mut groups = Vec::new();
    for sg in subgroups {
        let Ok(id) = sg.parse::<u32>() else { continue };
        let grp = h5::group(file, g, &sg)?;
        groups.push(read_group(file, &format!("{base}/{sg}"), id, &grp)?);
    }
    groups.sort_by_key(|g| g.id);
    let pos_of: HashMap<u32, u16> = groups
        .iter()
        .enumerate()
        .map(|(p, g)| (g.id, p as u16))
        .collect();
    let mut group_pos = Vec::with_capacity(n);
    for i in 0..n {
        let gid = group_ids[i];
        let Some(&p) = pos_of.get(&gid) else {
            return Err(SonataError::invalid(
                file,
                format!("{base}/node_group_id[{i}]"),
                gid,
                format!("no group {base}/{gid}"),
            ));
        };
        let grp = &groups[p as usize];
        let has_cols = !grp.columns.is_empty() || !grp.dynamics_params.is_empty();
        if has_cols && group_indices[i] >= grp.len as u64 {
            return Err(SonataError::invalid(
                file,
                format!("{base}/node_group_index[{i}]"),
                group_indices[i],
                format!("out of range: group {base}/{gid} has {} rows", grp.len),
            ));
        }
        group_pos.push(p);
    }
    if groups.is_empty() && n > 0 {
        // No group at all: behave like an empty group 0 (virtual populations sometimes omit it).
        groups.push(NodeGroup {
            id: 0,
            len: 0,
            columns: BTreeMap::new(),
            dynamics_params: BTreeMap::new(),
        });
        if let Some(i) = group_ids.iter().position(|&x| x != 0) {
            return Err(SonataError::invalid(
                file,
                format!("{base}/node_group_id[{i}]"),
                group_ids[i],
                "no such group",
            ));
        }
        group_pos = vec![0; n];
    }
    for (i, t) in node_type_ids.iter().enumerate() {
        if !types.contains_key(t) {
            return Err(SonataError::invalid(
                file,
                format!("{base}/node_type_id[{i}]"),
                t,
                format!("not in node types file {}", types_file.display()),
            ));
        }
    }
    let used: std::collections::BTreeSet<u64> = node_type_ids.iter().copied().collect();
    let node_types = types
        .iter()
        .filter(|(k, _)| used.contains(k))
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    Ok(NodePopulation {
        name: name.to_string(),
        nodes_file: file.to_path_buf(),
        node_types_file: types_file.to_path_buf(),
        node_ids,
        node_type_ids,
        group_ids,
        group_indices,
        groups,
        node_types,
        id_index,
        group_pos,
    })
}

fn read_columns(
    file: &Path,
    path: &str,
    g: &hdf5::Group,
) -> Result<BTreeMap<String, Column>, SonataError> {
    let (_, dsets) = h5::members(file, g)?;
    let mut cols = BTreeMap::new();
    for d in dsets {
        let ds = h5::dataset(file, g, &d)?;
        let col = h5::read_column(file, &ds)?;
        if d == "positions" {
            if let Column::FloatRows { ncols: 3, data } = &col {
                for (k, name) in ["x", "y", "z"].iter().enumerate() {
                    cols.entry(name.to_string()).or_insert_with(|| {
                        Column::Float(data.iter().skip(k).step_by(3).copied().collect())
                    });
                }
                continue;
            }
            return Err(SonataError::invalid(
                file,
                format!("{path}/positions"),
                format!("shape {:?}", h5::shape(&ds)),
                "expected N×3",
            ));
        }
        cols.insert(d, col);
    }
    // SONATA `@library`: an integer column X with a string table `@library/X` is categorical;
    // replace the codes by the strings so lookups and node-set filters see the names.
    if g.link_exists("@library") {
        let lib = h5::group(file, g, "@library")?;
        let (_, names) = h5::members(file, &lib)?;
        for name in names {
            let Some(Column::Int(codes)) = cols.get(&name) else {
                continue;
            };
            let table = h5::read_strings(file, &h5::dataset(file, &lib, &name)?)?;
            let strings = codes
                .iter()
                .enumerate()
                .map(|(i, &c)| {
                    usize::try_from(c)
                        .ok()
                        .and_then(|c| table.get(c).cloned())
                        .ok_or_else(|| {
                            SonataError::invalid(
                                file,
                                format!("{path}/{name}[{i}]"),
                                c,
                                format!(
                                    "no entry in {path}/@library/{name} ({} entries)",
                                    table.len()
                                ),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            cols.insert(name, Column::Str(strings));
        }
    }
    Ok(cols)
}

fn read_group(file: &Path, path: &str, id: u32, g: &hdf5::Group) -> Result<NodeGroup, SonataError> {
    let columns = read_columns(file, path, g)?;
    let dynamics_params = if g.link_exists("dynamics_params") {
        let dg = h5::group(file, g, "dynamics_params")?;
        read_columns(file, &format!("{path}/dynamics_params"), &dg)?
    } else {
        BTreeMap::new()
    };
    // per-node model parameters: a NaN or inf would reach the model as a null or a nonsense
    // value, so it is refused here, naming the dataset and row
    for (k, c) in &dynamics_params {
        let bad = match c {
            Column::Float(v) => v.iter().position(|x| !x.is_finite()).map(|i| (i, v[i])),
            Column::FloatRows { ncols, data } => data
                .iter()
                .position(|x| !x.is_finite())
                .map(|i| (i / (*ncols).max(1), data[i])),
            _ => None,
        };
        if let Some((row, x)) = bad {
            return Err(SonataError::invalid(
                file,
                format!("{path}/dynamics_params/{k}[{row}]"),
                x,
                "not a finite number",
            ));
        }
    }
    let mut len = None;
    for (k, c) in columns.iter().chain(dynamics_params.iter()) {
        match len {
            None => len = Some(c.len()),
            Some(l) if l != c.len() => {
                return Err(SonataError::invalid(
                    file,
                    format!("{path}/{k}"),
                    format!("length {}", c.len()),
                    format!("expected {l} rows like the other columns of the group"),
                ))
            }
            _ => {}
        }
    }
    Ok(NodeGroup {
        id,
        len: len.unwrap_or(0),
        columns,
        dynamics_params,
    })
}

/// Node types from a parsed table; duplicate or non-integer ids are errors. `dynamics_params`
/// are filled in later by the circuit loader (it knows the components dirs).
pub(crate) fn node_types_from_table(t: &TypeTable) -> Result<BTreeMap<u64, NodeType>, SonataError> {
    let id_col = t.require("node_type_id")?;
    let mut out = BTreeMap::new();
    for (r, row) in t.rows.iter().enumerate() {
        let line = t.lines[r];
        // a float column (e.g. one NaN among the ids) still holds integer ids
        let id = match row[id_col].as_i64() {
            Some(i) if i >= 0 => i as u64,
            _ => {
                let other = &row[id_col];
                return Err(SonataError::invalid(
                    &t.file,
                    format!("line {line}: node_type_id"),
                    other,
                    "expected a non-negative integer",
                ));
            }
        };
        let attributes: BTreeMap<String, Value> =
            t.columns.iter().cloned().zip(row.iter().cloned()).collect();
        let s = |k: &str| {
            attributes
                .get(k)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let nt = NodeType {
            node_type_id: id,
            model_type: s("model_type"),
            model_template: s("model_template").map(|m| ModelTemplate::parse(&m)),
            dynamics_params_file: None,
            dynamics_params: None,
            attributes,
            line,
        };
        if out.insert(id, nt).is_some() {
            return Err(SonataError::DuplicateTypeId {
                file: t.file.clone(),
                line,
                column: "node_type_id",
                value: id.to_string(),
            });
        }
    }
    Ok(out)
}
