//! The columns BMTK PointNet hands to a Python `weight_function` (issue #17): for one edge
//! type of one edge population, the edges' h5 group datasets, the edge-types CSV and, aligned
//! with the edges, the source and target nodes' h5 attributes and node-types CSV rows.
//!
//! Everything is gathered as plain Rust data ([`Column`], [`Value`]) without per-edge work in
//! the caller's language; the Python package turns it into the pandas frames BMTK 1.2 builds
//! in `sonata_adaptors.py` (`get_batches`).

use std::collections::BTreeMap;

use super::error::SonataError;
use super::types_csv::read_types_csv;
use super::{h5, Circuit, Column, EdgePopulation, NodePopulation, Value};

/// A type table (edge_types or node_types CSV) in file column order; `ids[k]` is the type id
/// of row `k`, `columns[c].1[k]` its value in column `c` (the id column itself is left out).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypeColumns {
    pub ids: Vec<u64>,
    pub columns: Vec<(String, Vec<Value>)>,
}

/// The nodes at one end of the edges of a call, one row per edge (duplicates kept).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeColumns {
    pub population: String,
    /// Node id per edge (the frame's index).
    pub node_ids: Vec<u64>,
    /// Node type id per edge.
    pub node_type_ids: Vec<u64>,
    /// The node groups' h5 attributes per edge (2-D datasets are left out).
    pub columns: Vec<(String, Column)>,
    /// The node-types CSV (joined on `node_type_ids`).
    pub types: TypeColumns,
}

/// One call of a weight function: the edges of one edge type of one edge population.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightCall {
    /// The function name (the edge type's `weight_function`).
    pub function: String,
    pub edge_population: String,
    pub edges_file: std::path::PathBuf,
    pub edge_types_file: std::path::PathBuf,
    pub edge_type_id: u64,
    /// Row of each edge in the population (the frame's index), ascending.
    pub rows: Vec<u64>,
    pub source_node_id: Vec<u64>,
    pub target_node_id: Vec<u64>,
    /// The edge group's h5 datasets per edge (each edge read from its own group: several
    /// groups are aligned correctly, unlike BMTK 1.2); columns some group lacks are NaN there.
    pub edge_columns: Vec<(String, Column)>,
    /// The edge-types CSV.
    pub edge_types: TypeColumns,
    pub source_nodes: NodeColumns,
    pub target_nodes: NodeColumns,
}

/// Read a type table's columns (the id column `id` left out).
pub fn type_columns(path: &std::path::Path, id: &str) -> Result<TypeColumns, SonataError> {
    let t = read_types_csv(path)?;
    let ic = t.require(id)?;
    let ids = t
        .rows
        .iter()
        .map(|r| r[ic].as_i64().unwrap_or(-1) as u64)
        .collect();
    let columns = t
        .columns
        .iter()
        .enumerate()
        .filter(|(c, _)| *c != ic)
        .map(|(c, name)| (name.clone(), t.rows.iter().map(|r| r[c].clone()).collect()))
        .collect();
    Ok(TypeColumns { ids, columns })
}

/// `col` at the given rows.
fn gather(col: &Column, idx: &[usize]) -> Option<Column> {
    Some(match col {
        Column::Int(v) => Column::Int(idx.iter().map(|&i| v[i]).collect()),
        Column::Float(v) => Column::Float(idx.iter().map(|&i| v[i]).collect()),
        Column::Str(v) => Column::Str(idx.iter().map(|&i| v[i].clone()).collect()),
        Column::FloatRows { .. } => return None,
    })
}

/// Every 1-D dataset of the population's edge groups, one value per loaded edge (each edge
/// from its own group and `edge_group_index`), in group-id then h5 member order. A column
/// missing from an edge's group is NaN there (as float; strings as empty).
pub fn edge_group_columns(ep: &EdgePopulation) -> Result<Vec<(String, Column)>, SonataError> {
    let file = ep.edges_file.as_path();
    let f = h5::open(file)?;
    let root = h5::group(file, &f, "edges")?;
    let g = h5::group(file, &root, &ep.name)?;
    let whole = |name: &str| -> Result<Option<Vec<u64>>, SonataError> {
        match h5::opt_dataset(file, &g, name)? {
            Some(ds) => Ok(Some(h5::read_u64(file, &ds)?)),
            None => Ok(None),
        }
    };
    let group_id = whole("edge_group_id")?;
    let group_index = whole("edge_group_index")?;
    let (subgroups, _) = h5::members(file, &g)?;
    // group id -> its columns, read whole
    let mut groups: BTreeMap<u64, Vec<(String, Column)>> = BTreeMap::new();
    for sg in subgroups {
        let Ok(id) = sg.parse::<u64>() else { continue };
        let grp = h5::group(file, &g, &sg)?;
        let (_, dsets) = h5::members(file, &grp)?;
        let mut cols = Vec::new();
        for d in dsets {
            let ds = h5::dataset(file, &grp, &d)?;
            let c = h5::read_column(file, &ds)?;
            if !matches!(c, Column::FloatRows { .. }) {
                cols.push((d, c));
            }
        }
        groups.insert(id, cols);
    }
    let rows: Vec<usize> = ep.rows.iter().collect();
    let n = rows.len();
    let gid = |k: usize| group_id.as_ref().map_or(0, |v| v[rows[k]]);
    let gidx = |k: usize| {
        group_index
            .as_ref()
            .map_or(rows[k], |v| v[rows[k]] as usize)
    };
    // the usual file: one group, edge_group_index = row
    if groups.len() == 1 {
        let (&only, cols) = groups.iter().next().expect("one group");
        if (0..n).all(|k| gid(k) == only && gidx(k) == rows[k]) {
            let identity = rows.iter().enumerate().all(|(k, &r)| k == r);
            return Ok(cols
                .iter()
                .filter_map(|(name, c)| {
                    let c = if identity && c.len() == n {
                        c.clone()
                    } else {
                        gather(c, &rows)?
                    };
                    Some((name.clone(), c))
                })
                .collect());
        }
    }
    let mut names: Vec<String> = Vec::new();
    for cols in groups.values() {
        for (name, _) in cols {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    let mut out = Vec::new();
    for name in names {
        let col_of = |k: usize| {
            groups
                .get(&gid(k))
                .and_then(|cols| cols.iter().find(|(n, _)| *n == name))
                .map(|(_, c)| (c, gidx(k)))
        };
        let all_int = groups.values().all(|cols| {
            cols.iter()
                .any(|(n, c)| *n == name && matches!(c, Column::Int(_)))
        });
        let any_str = groups.values().any(|cols| {
            cols.iter()
                .any(|(n, c)| *n == name && matches!(c, Column::Str(_)))
        });
        let col = if all_int {
            Column::Int(
                (0..n)
                    .map(|k| match col_of(k) {
                        Some((Column::Int(v), i)) => v.get(i).copied().unwrap_or(0),
                        _ => 0,
                    })
                    .collect(),
            )
        } else if any_str {
            Column::Str(
                (0..n)
                    .map(|k| match col_of(k) {
                        Some((c, i)) => match c.get(i) {
                            Value::Null => String::new(),
                            v => v.to_string(),
                        },
                        None => String::new(),
                    })
                    .collect(),
            )
        } else {
            Column::Float(
                (0..n)
                    .map(|k| {
                        col_of(k)
                            .and_then(|(c, i)| c.get(i).as_f64())
                            .unwrap_or(f64::NAN)
                    })
                    .collect(),
            )
        };
        out.push((name, col));
    }
    Ok(out)
}

/// The nodes of `pop` with ids `ids` (one row per id, in order), with their h5 attributes and
/// node-type ids; `types` is the population's node-types CSV.
fn node_columns(pop: &NodePopulation, ids: &[u64], types: TypeColumns) -> NodeColumns {
    let idx: Vec<usize> = ids
        .iter()
        .map(|&id| pop.index_of(id).unwrap_or(0))
        .collect();
    let node_type_ids = idx.iter().map(|&i| pop.node_type_ids[i]).collect();
    let mut columns: Vec<(String, Column)> = Vec::new();
    if pop.groups.len() == 1 {
        let g = &pop.groups[0];
        let rows: Vec<usize> = idx.iter().map(|&i| pop.group_of(i).1).collect();
        for (name, c) in &g.columns {
            if let Some(c) = gather(c, &rows) {
                columns.push((name.clone(), c));
            }
        }
    } else {
        let mut names: Vec<&String> = Vec::new();
        for g in &pop.groups {
            for (name, c) in &g.columns {
                if !matches!(c, Column::FloatRows { .. }) && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        for name in names {
            let vals: Vec<Value> = idx.iter().map(|&i| pop.attribute(i, name)).collect();
            let col = if vals.iter().all(|v| matches!(v, Value::Int(_))) {
                Column::Int(vals.iter().map(|v| v.as_i64().unwrap_or(0)).collect())
            } else if vals.iter().any(|v| matches!(v, Value::Str(_))) {
                Column::Str(
                    vals.iter()
                        .map(|v| v.as_str().unwrap_or("").to_string())
                        .collect(),
                )
            } else {
                Column::Float(
                    vals.iter()
                        .map(|v| v.as_f64().unwrap_or(f64::NAN))
                        .collect(),
                )
            };
            columns.push((name.clone(), col));
        }
    }
    NodeColumns {
        population: pop.name.clone(),
        node_ids: ids.to_vec(),
        node_type_ids,
        columns,
        types,
    }
}

/// Call `f` once per edge type (ascending `edge_type_id`) of edge population `k` of `circuit`
/// whose `weight_function` `wanted` accepts, with the columns BMTK passes; `f` returns the
/// final weight of each edge of the call. Returns (edge type id, edge indices, weights).
#[allow(clippy::type_complexity)]
pub fn call_weight_functions(
    circuit: &Circuit,
    k: usize,
    wanted: &dyn Fn(&str) -> bool,
    f: &mut dyn FnMut(&WeightCall) -> Result<Vec<f64>, String>,
) -> Result<Vec<(u64, Vec<usize>, Vec<f64>)>, String> {
    let ep = &circuit.edges[k];
    let types: Vec<(u64, String)> = ep
        .edge_types
        .values()
        .filter_map(|t| {
            let name = t.weight_function.as_ref()?;
            wanted(name).then(|| (t.edge_type_id, name.clone()))
        })
        .collect();
    if types.is_empty() || ep.is_empty() {
        return Ok(Vec::new());
    }
    let err = |e: SonataError| e.to_string();
    let group_cols = edge_group_columns(ep).map_err(err)?;
    let edge_types = type_columns(&ep.edge_types_file, "edge_type_id").map_err(err)?;
    let pop_of = |spec: &str| -> Result<(&NodePopulation, TypeColumns), String> {
        let p = circuit.node_population(spec).ok_or_else(|| {
            format!(
                "{}: edge population {}: node population '{spec}' is not in the config",
                ep.edges_file.display(),
                ep.name
            )
        })?;
        let t = type_columns(&p.node_types_file, "node_type_id").map_err(err)?;
        Ok((p, t))
    };
    let (src_pop, src_types) = pop_of(&ep.source_population)?;
    let (trg_pop, trg_types) = pop_of(&ep.target_population)?;
    // the edges of each wanted type, in one pass over the edges
    let mut by_type: BTreeMap<u64, Vec<usize>> =
        types.iter().map(|(t, _)| (*t, Vec::new())).collect();
    for (i, &t) in ep.edge_type_ids.iter().enumerate() {
        if let Some(v) = by_type.get_mut(&u64::from(t)) {
            v.push(i);
        }
    }
    let mut out = Vec::new();
    for (t, name) in types {
        let idx = by_type.remove(&t).unwrap_or_default();
        if idx.is_empty() {
            continue;
        }
        let src: Vec<u64> = idx.iter().map(|&i| ep.source_ids[i]).collect();
        let trg: Vec<u64> = idx.iter().map(|&i| ep.target_ids[i]).collect();
        let call = WeightCall {
            function: name,
            edge_population: ep.name.clone(),
            edges_file: ep.edges_file.clone(),
            edge_types_file: ep.edge_types_file.clone(),
            edge_type_id: t,
            rows: idx.iter().map(|&i| ep.rows.row(i) as u64).collect(),
            edge_columns: group_cols
                .iter()
                .filter_map(|(n, c)| Some((n.clone(), gather(c, &idx)?)))
                .collect(),
            edge_types: edge_types.clone(),
            source_nodes: node_columns(src_pop, &src, src_types.clone()),
            target_nodes: node_columns(trg_pop, &trg, trg_types.clone()),
            source_node_id: src,
            target_node_id: trg,
        };
        let w = f(&call)?;
        if w.len() != idx.len() {
            return Err(format!(
                "weight function {} of edge population {}, edge type {t}: returned {} values for {} edges",
                call.function,
                ep.name,
                w.len(),
                idx.len()
            ));
        }
        out.push((t, idx, w));
    }
    Ok(out)
}

/// Make the weights of [`call_weight_functions`] the edges' final weights: for those edges
/// `syn_weight` = the function's value and `nsyns` = 1 (PointNet's nsyns × syn_weight is then
/// exactly that value, as BMTK uses a function's result unscaled), and the edge types whose
/// function was `wanted` no longer name it.
pub fn apply_function_weights(
    ep: &mut EdgePopulation,
    wanted: &dyn Fn(&str) -> bool,
    calls: Vec<(u64, Vec<usize>, Vec<f64>)>,
) {
    let n = ep.len();
    if !calls.is_empty() {
        let nsyns = ep.nsyns.get_or_insert_with(|| vec![f64::NAN; n]);
        for (_, idx, _) in &calls {
            for &i in idx {
                nsyns[i] = 1.0;
            }
        }
        let sw = ep.syn_weight.get_or_insert_with(|| vec![f64::NAN; n]);
        for (_, idx, w) in &calls {
            for (&i, &x) in idx.iter().zip(w) {
                sw[i] = x;
            }
        }
    }
    for t in ep.edge_types.values_mut() {
        if t.weight_function.as_deref().is_some_and(wanted) {
            t.weight_function = None;
        }
    }
}
