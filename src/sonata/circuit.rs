//! The whole circuit of a config: node and edge populations, type tables, and the
//! `dynamics_params` JSON files resolved per `model_type` component folder (sonata-bmtk.md §1.5,
//! §2.3), each file loaded once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{json_message, Components, Networks, SimulationConfig};

use super::edges::{count_targets, edge_types_from_table, read_edges_file, EdgeSelection};
use super::error::SonataError;
use super::nodes::{node_types_from_table, read_nodes_file};
use super::types_csv::read_types_csv;
use super::{EdgePopulation, NodePopulation, Value};

/// Every enabled node and edge population of a config, validated against each other:
/// edge source/target populations exist and every edge's node ids are in range.
#[derive(Debug, Clone)]
pub struct Circuit {
    /// Node populations in config order (file order, then name order inside a file).
    pub nodes: Vec<NodePopulation>,
    /// Edge populations in config order.
    pub edges: Vec<EdgePopulation>,
    /// Component directories used to resolve `dynamics_params`.
    pub components: Components,
}

/// `dynamics_params` JSON files, each read and parsed once.
#[derive(Default)]
struct JsonCache {
    files: HashMap<PathBuf, Arc<serde_json::Value>>,
}

impl JsonCache {
    fn load(
        &mut self,
        path: &Path,
        types_file: &Path,
        line: usize,
        value: &str,
    ) -> Result<Arc<serde_json::Value>, SonataError> {
        if let Some(v) = self.files.get(path) {
            return Ok(v.clone());
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            SonataError::invalid(
                types_file,
                format!("line {line}: dynamics_params"),
                value,
                format!(
                    "cannot read {}: {}",
                    path.display(),
                    crate::limits::io_reason(&e)
                ),
            )
        })?;
        let text = crate::limits::strip_bom(&text);
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| SonataError::Json {
            file: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: json_message(&e),
        })?;
        let v = Arc::new(v);
        self.files.insert(path.to_path_buf(), v.clone());
        Ok(v)
    }
}

impl Circuit {
    /// Load the circuit of a config (`networks` + `components`).
    /// Missing network files are reported at the config field that names them.
    pub fn load(cfg: &SimulationConfig) -> Result<Circuit, SonataError> {
        Self::load_selected(cfg, &EdgeSelection::All)
    }

    /// [`Circuit::load`] reading only the edges `sel` selects (distributed runs).
    pub fn load_selected(
        cfg: &SimulationConfig,
        sel: &EdgeSelection,
    ) -> Result<Circuit, SonataError> {
        let origin = cfg.origin_of("networks");
        let n = &cfg.networks;
        let files = n
            .nodes
            .iter()
            .flat_map(|e| {
                [
                    (
                        format!("networks.nodes[{}].nodes_file", e.entry),
                        &e.nodes_file,
                    ),
                    (
                        format!("networks.nodes[{}].node_types_file", e.entry),
                        &e.node_types_file,
                    ),
                ]
            })
            .chain(n.edges.iter().flat_map(|e| {
                [
                    (
                        format!("networks.edges[{}].edges_file", e.entry),
                        &e.edges_file,
                    ),
                    (
                        format!("networks.edges[{}].edge_types_file", e.entry),
                        &e.edge_types_file,
                    ),
                ]
            }));
        for (field, path) in files {
            if let Some(why) = crate::limits::file_problem(path) {
                return Err(SonataError::invalid(
                    origin,
                    field,
                    format!("\"{}\"", path.display()),
                    why,
                ));
            }
        }
        Self::from_networks_selected(&cfg.networks, &cfg.components, sel)
    }

    /// Load from explicit file lists.
    pub fn from_networks(
        networks: &Networks,
        components: &Components,
    ) -> Result<Circuit, SonataError> {
        Self::from_networks_selected(networks, components, &EdgeSelection::All)
    }

    /// [`Circuit::from_networks`] reading only the edges `sel` selects.
    pub fn from_networks_selected(
        networks: &Networks,
        components: &Components,
        sel: &EdgeSelection,
    ) -> Result<Circuit, SonataError> {
        let mut cache = JsonCache::default();
        let mut nodes: Vec<NodePopulation> = Vec::new();
        for nf in &networks.nodes {
            let table = read_types_csv(&nf.node_types_file)?;
            let mut types = node_types_from_table(&table)?;
            for t in types.values_mut() {
                let Some(Value::Str(dp)) = t.attributes.get("dynamics_params").cloned() else {
                    continue;
                };
                let model_type = t
                    .model_type
                    .clone()
                    .unwrap_or_else(|| "point_neuron".into());
                let key = Components::key_for_model_type(&model_type);
                let Some(dir) = components.get(key) else {
                    if t.is_virtual() {
                        continue; // PointNet never reads virtual nodes' parameters.
                    }
                    return Err(SonataError::invalid(
                        &nf.node_types_file,
                        format!("line {}: dynamics_params", t.line),
                        &dp,
                        format!("model_type {model_type} needs components.{key} in the config"),
                    ));
                };
                let path = dir.join(&dp);
                t.dynamics_params = Some(cache.load(&path, &nf.node_types_file, t.line, &dp)?);
                t.dynamics_params_file = Some(path);
            }
            for pop in read_nodes_file(&nf.nodes_file, &nf.node_types_file, &types)? {
                if let Some(prev) = nodes.iter().find(|p| p.name == pop.name) {
                    return Err(SonataError::invalid(
                        &nf.nodes_file,
                        format!("/nodes/{}", pop.name),
                        &pop.name,
                        format!(
                            "node population already defined in {}",
                            prev.nodes_file.display()
                        ),
                    ));
                }
                nodes.push(pop);
            }
        }
        let mut circuit = Circuit {
            nodes,
            edges: Vec::new(),
            components: components.clone(),
        };
        circuit.load_edges(networks, sel)?;
        Ok(circuit)
    }

    /// (Re)read the edge populations of `networks`, only the edges `sel` selects. A distributed
    /// run first loads the circuit with no edges (nodes and edge metadata), decides which
    /// neurons each process simulates, then loads their incoming edges with this.
    pub fn load_edges(
        &mut self,
        networks: &Networks,
        sel: &EdgeSelection,
    ) -> Result<(), SonataError> {
        let components = &self.components;
        let nodes = &self.nodes;
        let mut cache = JsonCache::default();
        let mut edges: Vec<EdgePopulation> = Vec::new();
        for ef in &networks.edges {
            let table = read_types_csv(&ef.edge_types_file)?;
            let mut types = edge_types_from_table(&table)?;
            for t in types.values_mut() {
                let Some(Value::Str(dp)) = t.attributes.get("dynamics_params").cloned() else {
                    continue;
                };
                let Some(dir) = components.get("synaptic_models_dir") else {
                    return Err(SonataError::invalid(
                        &ef.edge_types_file,
                        format!("line {}: dynamics_params", t.line),
                        &dp,
                        "needs components.synaptic_models_dir in the config",
                    ));
                };
                let path = dir.join(&dp);
                t.dynamics_params = Some(cache.load(&path, &ef.edge_types_file, t.line, &dp)?);
                t.dynamics_params_file = Some(path);
            }
            for pop in read_edges_file(&ef.edges_file, &ef.edge_types_file, &types, sel)? {
                if let Some(prev) = edges.iter().find(|p| p.name == pop.name) {
                    return Err(SonataError::invalid(
                        &ef.edges_file,
                        format!("/edges/{}", pop.name),
                        &pop.name,
                        format!(
                            "edge population already defined in {}",
                            prev.edges_file.display()
                        ),
                    ));
                }
                check_endpoints(&pop, nodes)?;
                edges.push(pop);
            }
        }
        self.edges = edges;
        Ok(())
    }

    /// Number of edges of edge population `k` (all of them, whatever was loaded) onto each
    /// node of its target population, by node index, read cheaply from the file's
    /// `target_to_source` index or a chunked pass over `target_node_id` (issue #8: balancing
    /// processes by synapse count before any edge is loaded).
    pub fn in_degrees(
        &self,
        k: usize,
        target_ok: &dyn Fn(u64) -> Result<(), String>,
    ) -> Result<Vec<u64>, SonataError> {
        let Some(e) = self.edges.get(k) else {
            return Ok(Vec::new());
        };
        let Some(np) = self.node_population(&e.target_population) else {
            return Err(SonataError::invalid(
                &e.edges_file,
                format!("/edges/{}/target_node_id@node_population", e.name),
                &e.target_population,
                "no node population of that name in the config's networks.nodes",
            ));
        };
        let n = np.len();
        let contiguous = np.ids_are_contiguous();
        let pname = &np.name;
        let slot = |id: u64| {
            let s = if contiguous {
                (id < n as u64).then_some(id as usize)
            } else {
                np.index_of(id)
            };
            let s = s.ok_or_else(|| format!("out of range: population {pname} has {n} nodes"))?;
            target_ok(id).map(|()| s)
        };
        count_targets(&e.edges_file, &e.name, n, &slot)
    }

    pub fn node_population(&self, name: &str) -> Option<&NodePopulation> {
        self.nodes.iter().find(|p| p.name == name)
    }

    pub fn edge_population(&self, name: &str) -> Option<&EdgePopulation> {
        self.edges.iter().find(|p| p.name == name)
    }

    /// Total number of nodes / edges.
    pub fn n_nodes(&self) -> usize {
        self.nodes.iter().map(NodePopulation::len).sum()
    }

    pub fn n_edges(&self) -> usize {
        self.edges.iter().map(EdgePopulation::len).sum()
    }
}

/// Both populations exist and every source/target id is a node of them.
fn check_endpoints(pop: &EdgePopulation, nodes: &[NodePopulation]) -> Result<(), SonataError> {
    for (ids, pname, ds) in [
        (&pop.source_ids, &pop.source_population, "source_node_id"),
        (&pop.target_ids, &pop.target_population, "target_node_id"),
    ] {
        let field = format!("/edges/{}/{ds}", pop.name);
        let Some(np) = nodes.iter().find(|p| &p.name == pname) else {
            return Err(SonataError::invalid(
                &pop.edges_file,
                format!("{field}@node_population"),
                pname,
                "no node population of that name in the config's networks.nodes",
            ));
        };
        if ds == "target_node_id" && !np.is_empty() && np.n_virtual() == np.len() {
            // BMTK refuses edges onto a virtual-only population (nothing could receive them).
            return Err(SonataError::invalid(
                &pop.edges_file,
                format!("{field}@node_population"),
                pname,
                "target population is virtual (model_type virtual only)",
            ));
        }
        let bad = if np.ids_are_contiguous() {
            let n = np.len() as u64;
            ids.iter().position(|&x| x >= n)
        } else {
            ids.iter().position(|&x| np.index_of(x).is_none())
        };
        if let Some(i) = bad {
            return Err(SonataError::invalid(
                &pop.edges_file,
                format!("{field}[{i}]"),
                ids[i],
                format!("out of range: population {pname} has {} nodes", np.len()),
            ));
        }
    }
    Ok(())
}
