//! Lowering: SONATA circuit description → runtime network (dense indices, model parameter sets,
//! synapses in CSR by source with delays in steps and 0-based receptor ports).
//!
//! Rules (sonata-bmtk.md §2.4, §2.5, §6.1; issue #5):
//! * Simulated neurons get dense *global indices* in NEST creation order: populations in circuit
//!   order, nodes in file order. The engine's delivery order (and hence NEST's ring-buffer sums)
//!   follows these indices.
//! * Virtual nodes are instantiated only for populations an input drives (`active_virtual`);
//!   edges from other virtual populations are dropped, as BMTK never creates them.
//! * One parameter set per distinct (node type, per-node `dynamics_params` overrides); one model
//!   group per (model kind, port count).
//! * Per edge: weight = nsyns × syn_weight (`sonata::EdgePopulation::synapse_values`), delay in
//!   steps = NEST's rounding of `delay/dt` (a delay < dt is an error, NEST's BadDelay), port from
//!   the synapse JSON's `receptor_type` and the weight sign (`ModelParams::port_for`); only
//!   `static_synapse` is supported.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::engine::{Synapses, SynapsesBuilder};
use crate::inputs::ms_to_steps;
use crate::models::{ModelKind, ModelParams};
use crate::sonata::{Circuit, EdgePopulation, NodePopulation};

/// Lowering errors: file, field and value, so the user can fix the input from the message.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("{}: {field} = {value}: {msg}", file.display())]
    Invalid {
        file: PathBuf,
        field: String,
        value: String,
        msg: String,
    },
    #[error(transparent)]
    Sonata(#[from] crate::sonata::SonataError),
}

fn invalid(
    file: &std::path::Path,
    field: impl Into<String>,
    value: impl ToString,
    msg: impl Into<String>,
) -> NetworkError {
    NetworkError::Invalid {
        file: file.to_path_buf(),
        field: field.into(),
        value: crate::limits::clip(value.to_string()),
        msg: msg.into(),
    }
}

/// A population of simulated neurons: its global indices are `first .. first + node_ids.len()`
/// in the order of `node_ids` (only the non-virtual nodes of the SONATA population).
#[derive(Debug, Clone)]
pub struct Population {
    pub name: String,
    pub first: u32,
    pub node_ids: Vec<u64>,
    index: NodeIndex,
}

impl Population {
    /// Global index of node `id`, if it is a simulated node of this population.
    pub fn gid(&self, id: u64) -> Option<u32> {
        self.index.get(id)
    }
}

/// Node id → index, looked up once per edge when lowering (100M times at V1 scale). SONATA node
/// ids are usually dense (0..n): then a table, else a hash map.
#[derive(Debug, Clone)]
enum NodeIndex {
    Table(Vec<u32>),
    Map(HashMap<u64, u32>),
}

impl NodeIndex {
    /// Node `ids[k]` ↦ `first + k`.
    fn new(ids: &[u64], first: u32) -> NodeIndex {
        let max = ids.iter().copied().max().unwrap_or(0);
        if max < 2 * ids.len() as u64 + 1024 {
            let mut t = vec![u32::MAX; max as usize + 1];
            for (k, &id) in ids.iter().enumerate() {
                t[id as usize] = first + k as u32;
            }
            NodeIndex::Table(t)
        } else {
            NodeIndex::Map(
                ids.iter()
                    .enumerate()
                    .map(|(k, &id)| (id, first + k as u32))
                    .collect(),
            )
        }
    }

    fn get(&self, id: u64) -> Option<u32> {
        match self {
            NodeIndex::Table(t) => t
                .get(usize::try_from(id).ok()?)
                .copied()
                .filter(|&g| g != u32::MAX),
            NodeIndex::Map(m) => m.get(&id).copied(),
        }
    }
}

/// An instantiated virtual population: virtual index `first + k` is `node_ids[k]`.
#[derive(Debug, Clone)]
pub struct VirtualPopulation {
    pub name: String,
    pub first: u32,
    pub node_ids: Vec<u64>,
    index: NodeIndex,
}

impl VirtualPopulation {
    pub fn vid(&self, id: u64) -> Option<u32> {
        self.index.get(id)
    }
}

/// All neurons of one model kind and port count, with their distinct parameter sets.
#[derive(Debug, Clone)]
pub struct KindGroup {
    pub kind: ModelKind,
    pub n_ports: usize,
    pub sets: Vec<ModelParams>,
    /// Global indices (ascending) and the set index of each.
    pub gids: Vec<u32>,
    pub set_of: Vec<u32>,
}

/// The lowered network the engine is built from.
#[derive(Debug, Clone)]
pub struct Network {
    pub dt: f64,
    pub populations: Vec<Population>,
    pub virtual_populations: Vec<VirtualPopulation>,
    pub kinds: Vec<KindGroup>,
    /// Per global index: (kind group, position in it).
    pub neuron_kind: Vec<(u32, u32)>,
    pub n_neurons: usize,
    pub n_virtual: usize,
    pub synapses: Synapses,
    /// Synapse counts per edge population: (name, edges kept).
    pub edge_counts: Vec<(String, usize)>,
}

impl Network {
    pub fn population(&self, name: &str) -> Option<&Population> {
        self.populations.iter().find(|p| p.name == name)
    }
    pub fn virtual_population(&self, name: &str) -> Option<&VirtualPopulation> {
        self.virtual_populations.iter().find(|p| p.name == name)
    }
    /// (population, node id) of global index `gid`.
    pub fn node_of(&self, gid: u32) -> Option<(&Population, u64)> {
        let k = self.populations.partition_point(|p| p.first <= gid);
        let p = self.populations.get(k.checked_sub(1)?)?;
        p.node_ids.get((gid - p.first) as usize).map(|&id| (p, id))
    }
    /// Parameter set of global index `gid`.
    pub fn params_of(&self, gid: u32) -> Option<&ModelParams> {
        let &(k, pos) = self.neuron_kind.get(gid as usize)?;
        let kg = &self.kinds[k as usize];
        kg.sets.get(kg.set_of[pos as usize] as usize)
    }
}

/// NEST model name and NEST-format parameters of node `i`: the node type's JSON, an Allen
/// `neuron_config` converted as BMTK does (template `nest:glif*` + `"type": "GLIF"`), then the
/// per-node h5 `dynamics_params` overrides.
fn node_params(
    pop: &NodePopulation,
    i: usize,
) -> Result<(String, serde_json::Value), NetworkError> {
    let nt = pop.node_type(i);
    let file = &pop.node_types_file;
    let field = format!("node_type_id {} model_template", nt.node_type_id);
    let Some(tpl) = pop.model_template(i) else {
        return Err(invalid(
            file,
            field,
            "NULL",
            "a non-virtual node needs a model_template such as nest:glif_psc",
        ));
    };
    if tpl.schema != "nest" {
        return Err(invalid(
            file,
            field,
            format!("{}:{}", tpl.schema, tpl.resource),
            "only NEST point models (nest:...) can be simulated",
        ));
    }
    if !pop.attribute(i, "model_processing").is_null() {
        return Err(invalid(
            file,
            format!("node_type_id {} model_processing", nt.node_type_id),
            pop.attribute(i, "model_processing"),
            "model_processing names a Python function; it is not supported",
        ));
    }
    let mut json = nt
        .dynamics_params
        .as_deref()
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    let mut model = tpl.resource.clone();
    if model.starts_with("glif") && json.get("type").and_then(|t| t.as_str()) == Some("GLIF") {
        let src = nt
            .dynamics_params_file
            .clone()
            .unwrap_or_else(|| file.clone());
        let (m, j) = allen_to_nest(&model, &json).map_err(|e| {
            invalid(
                &src,
                format!("node_type_id {} model_template", nt.node_type_id),
                &model,
                e.to_string(),
            )
        })?;
        model = m;
        json = j;
    }
    if let Some(over) = pop.dynamics_overrides(i) {
        if let serde_json::Value::Object(m) = &mut json {
            for (k, v) in over {
                m.insert(k, v);
            }
        }
    }
    Ok((model, json))
}

/// Lower `circuit` at resolution `dt` (ms). `active_virtual(name)` tells whether an input drives
/// virtual population `name`.
pub fn lower(
    circuit: &Circuit,
    dt: f64,
    active_virtual: &dyn Fn(&str) -> bool,
) -> Result<Network, NetworkError> {
    let mut net = lower_nodes(circuit, dt, active_virtual)?;
    add_synapses(&mut net, circuit)?;
    Ok(net)
}

/// The nodes part of [`lower`]: global indices, populations and model groups, no synapses
/// (a distributed run decides from these which neurons it simulates before reading edges).
pub fn lower_nodes(
    circuit: &Circuit,
    dt: f64,
    active_virtual: &dyn Fn(&str) -> bool,
) -> Result<Network, NetworkError> {
    let mut populations = Vec::new();
    let mut virtual_populations = Vec::new();
    let mut kinds: Vec<KindGroup> = Vec::new();
    let mut neuron_kind: Vec<(u32, u32)> = Vec::new();
    // parameter-set cache: (pop, node type, overrides json) -> (kind group, set)
    let mut cache: HashMap<(usize, u64, String), (u32, u32)> = HashMap::new();
    let mut n_neurons = 0u32;
    let mut n_virtual = 0u32;
    for (pi, pop) in circuit.nodes.iter().enumerate() {
        // global and virtual indices are u32: more nodes would wrap around
        let total = u64::from(n_neurons) + u64::from(n_virtual) + pop.len() as u64;
        if total >= u64::from(u32::MAX) {
            return Err(invalid(
                &pop.nodes_file,
                format!("/nodes/{}/node_id", pop.name),
                format!("{} nodes", pop.len()),
                format!(
                    "{total} nodes in all; at most {} are supported",
                    u32::MAX - 1
                ),
            ));
        }
        let mut real = Vec::new();
        let mut virt = Vec::new();
        for i in 0..pop.len() {
            if pop.is_virtual(i) {
                virt.push(pop.node_ids[i]);
                continue;
            }
            let nt = pop.node_type(i).node_type_id;
            let over = pop
                .dynamics_overrides(i)
                .map(|m| serde_json::Value::Object(m).to_string())
                .unwrap_or_default();
            let key = (pi, nt, over);
            let (k, set) = match cache.get(&key) {
                Some(v) => *v,
                None => {
                    let (model, json) = node_params(pop, i)?;
                    let params = ModelParams::from_nest_json(&model, &json).map_err(|e| {
                        let f = pop
                            .node_type(i)
                            .dynamics_params_file
                            .clone()
                            .unwrap_or_else(|| pop.node_types_file.clone());
                        invalid(
                            &f,
                            format!("node_type_id {nt} dynamics_params"),
                            &model,
                            e.to_string(),
                        )
                    })?;
                    let (kind, np) = (params.kind(), params.n_ports());
                    let k = match kinds.iter().position(|g| g.kind == kind && g.n_ports == np) {
                        Some(k) => k,
                        None => {
                            kinds.push(KindGroup {
                                kind,
                                n_ports: np,
                                sets: Vec::new(),
                                gids: Vec::new(),
                                set_of: Vec::new(),
                            });
                            kinds.len() - 1
                        }
                    };
                    kinds[k].sets.push(params);
                    let v = (k as u32, (kinds[k].sets.len() - 1) as u32);
                    cache.insert(key, v);
                    v
                }
            };
            let gid = n_neurons + real.len() as u32;
            let kg = &mut kinds[k as usize];
            neuron_kind.push((k, kg.gids.len() as u32));
            kg.gids.push(gid);
            kg.set_of.push(set);
            real.push(pop.node_ids[i]);
        }
        if !real.is_empty() {
            let index = NodeIndex::new(&real, n_neurons);
            populations.push(Population {
                name: pop.name.clone(),
                first: n_neurons,
                node_ids: real.clone(),
                index,
            });
            n_neurons += real.len() as u32;
        }
        if !virt.is_empty() && active_virtual(&pop.name) {
            let index = NodeIndex::new(&virt, n_virtual);
            let len = virt.len() as u32;
            virtual_populations.push(VirtualPopulation {
                name: pop.name.clone(),
                first: n_virtual,
                node_ids: virt,
                index,
            });
            n_virtual += len;
        }
    }
    Ok(Network {
        dt,
        populations,
        virtual_populations,
        kinds,
        neuron_kind,
        n_neurons: n_neurons as usize,
        n_virtual: n_virtual as usize,
        synapses: Synapses::default(),
        edge_counts: Vec::new(),
    })
}

/// The synapses part of [`lower`]: the circuit's loaded edges (all, or a distributed run's
/// selection) into `net.synapses` (CSR by source; each source's edges in file order, edge
/// populations in circuit order) and `net.edge_counts`.
pub fn add_synapses(net: &mut Network, circuit: &Circuit) -> Result<(), NetworkError> {
    // Out-degrees first, then every edge lowered straight into its CSR place: no list of all
    // edges beside the CSR (24 B per edge, 2.5 GB at V1 scale).
    let mut degree = vec![0usize; net.n_neurons + net.n_virtual];
    for ep in &circuit.edges {
        count_sources(circuit, net, ep, &mut degree);
    }
    let mut csr = SynapsesBuilder::new(&degree);
    let mut edge_counts = Vec::new();
    for ep in &circuit.edges {
        let before = csr.pushed();
        lower_edges(circuit, net, ep, net.dt, &mut csr)?;
        edge_counts.push((ep.name.clone(), csr.pushed() - before));
    }
    net.synapses = csr.finish();
    net.edge_counts = edge_counts;
    Ok(())
}

/// Add the out-degree of every source of `ep`'s edges that [`lower_edges`] will lower (an edge
/// it would reject with an error may be counted: the error ends the lowering anyway).
fn count_sources(circuit: &Circuit, net: &Network, ep: &EdgePopulation, degree: &mut [usize]) {
    let src_real = net.population(&ep.source_population);
    let src_virt = net.virtual_population(&ep.source_population);
    if (src_real.is_none() && src_virt.is_none()) || net.population(&ep.target_population).is_none()
    {
        return;
    }
    let n_neurons = net.n_neurons as u32;
    for i in 0..ep.len() {
        if let Ok(Some(s)) = edge_source(circuit, ep, src_real, src_virt, n_neurons, i) {
            degree[s as usize] += 1;
        }
    }
}

/// Global source index of edge `i`; `None` for a virtual node that no input drives (BMTK
/// creates no connection for it).
fn edge_source(
    circuit: &Circuit,
    ep: &EdgePopulation,
    src_real: Option<&Population>,
    src_virt: Option<&VirtualPopulation>,
    n_neurons: u32,
    i: usize,
) -> Result<Option<u32>, NetworkError> {
    let s = ep.source_ids[i];
    match (
        src_real.and_then(|p| p.gid(s)),
        src_virt.and_then(|p| p.vid(s)),
    ) {
        (Some(g), _) => Ok(Some(g)),
        (None, Some(v)) => Ok(Some(n_neurons + v)),
        (None, None) => {
            let undriven_virtual = src_virt.is_none()
                && circuit
                    .node_population(&ep.source_population)
                    .and_then(|p| p.index_of(s).map(|k| p.is_virtual(k)))
                    .unwrap_or(false);
            if undriven_virtual {
                return Ok(None);
            }
            Err(invalid(
                &ep.edges_file,
                format!("/edges/{}/source_node_id[{}]", ep.name, ep.rows.row(i)),
                s,
                format!("no such node in population '{}'", ep.source_population),
            ))
        }
    }
}

/// Whether `lower` keeps the edges of `ep` at all: its source population is simulated or a
/// driven virtual population (others are never created by BMTK).
pub fn edges_used(net: &Network, ep: &EdgePopulation) -> bool {
    net.population(&ep.source_population).is_some()
        || net.virtual_population(&ep.source_population).is_some()
}

fn lower_edges(
    circuit: &Circuit,
    net: &Network,
    ep: &EdgePopulation,
    dt: f64,
    out: &mut SynapsesBuilder,
) -> Result<(), NetworkError> {
    let tf = &ep.edge_types_file;
    let src_real = net.population(&ep.source_population);
    let src_virt = net.virtual_population(&ep.source_population);
    if src_real.is_none() && src_virt.is_none() {
        // an un-driven virtual source population: BMTK never creates these connections
        return Ok(());
    }
    let Some(tgt) = net.population(&ep.target_population) else {
        return Err(invalid(
            &ep.edges_file,
            format!("/edges/{}/target_node_id@node_population", ep.name),
            &ep.target_population,
            "target population has no simulated (non-virtual) nodes",
        ));
    };
    for t in ep.edge_types.values() {
        let m = t.model_template.as_deref().unwrap_or("static_synapse");
        if m != "static_synapse" {
            return Err(invalid(
                tf,
                format!("line {}: model_template", t.line),
                m,
                "only static_synapse is supported",
            ));
        }
    }
    let sv = ep.synapse_values()?;
    let n_neurons = net.n_neurons as u32;
    let mut last = (f64::NAN, 0);
    let mut max_delay = (0u32, 0.0f64, 0usize);
    for i in 0..ep.len() {
        let Some(src) = edge_source(circuit, ep, src_real, src_virt, n_neurons, i)? else {
            continue;
        };
        let t_id = ep.target_ids[i];
        let Some(gid) = tgt.gid(t_id) else {
            return Err(invalid(
                &ep.edges_file,
                format!("/edges/{}/target_node_id[{}]", ep.name, ep.rows.row(i)),
                t_id,
                format!("no simulated node with this id in population '{}' (virtual nodes cannot be targets)", tgt.name),
            ));
        };
        let et = ep.edge_type(i);
        let d_ms = sv.delay_ms[i];
        // edges of one type share their delay: round once per run of equal values
        if d_ms.to_bits() != last.0.to_bits() {
            last = (d_ms, ms_to_steps(d_ms, dt));
        }
        let d = last.1;
        // a per-edge h5 value is blamed on the h5 dataset and row, a type's on its CSV line
        let site = |key: &str| -> (PathBuf, String) {
            if ep.from_group_column(key, i) {
                (ep.edges_file.clone(), ep.group_column_site(key, i))
            } else {
                (
                    tf.clone(),
                    format!("line {}: edge_type_id {} {key}", et.line, et.edge_type_id),
                )
            }
        };
        if !(d_ms.is_finite() && d >= 1 && d_ms >= dt * (1.0 - 1e-9)) {
            let (file, field) = site("delay");
            return Err(invalid(
                &file,
                field,
                d_ms,
                format!(
                    "delay must be >= dt = {dt} ms (NEST BadDelay); edges file {}",
                    ep.edges_file.display()
                ),
            ));
        }
        // delays are kept as u32 steps: a longer one must not wrap around to a short one
        if d > i64::from(MAX_DELAY_STEPS) {
            let (file, field) = site("delay");
            return Err(invalid(
                &file,
                field,
                d_ms,
                format!(
                    "{d} steps at dt = {dt} ms; at most {MAX_DELAY_STEPS} steps (about {:.4e} ms) are supported",
                    f64::from(MAX_DELAY_STEPS) * dt
                ),
            ));
        }
        let w = sv.weight[i];
        if !w.is_finite() {
            let key = if !ep.from_group_column("syn_weight", i) && ep.from_group_column("nsyns", i)
            {
                "nsyns"
            } else {
                "syn_weight"
            };
            let (file, field) = site(key);
            return Err(invalid(
                &file,
                field,
                w,
                "weight (nsyns x syn_weight) is not finite",
            ));
        }
        let Some(rt) = et.receptor_type() else {
            return Err(invalid(
                et.dynamics_params_file.as_deref().unwrap_or(tf),
                "receptor_type",
                et.dynamics_params
                    .as_deref()
                    .and_then(|d| d.get("receptor_type"))
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                "must be an integer",
            ));
        };
        let params = net
            .params_of(gid)
            .ok_or_else(|| invalid(tf, "target", gid, "internal: no parameters"))?;
        let port = params.port_for(rt, w).map_err(|e| {
            invalid(
                et.dynamics_params_file.as_deref().unwrap_or(tf),
                format!(
                    "receptor_type (edge_type_id {} of {})",
                    et.edge_type_id,
                    tf.display()
                ),
                rt,
                e.to_string(),
            )
        })?;
        out.push(src, gid, port as u16, d as u32, w);
        if d as u32 > max_delay.0 {
            max_delay = (d as u32, d_ms, i);
        }
    }
    if max_delay.0 > 0 {
        check_ring_buffers(net, ep, max_delay, dt)?;
    }
    Ok(())
}

/// Longest delay in steps: the engine keeps delays as u32 and its ring of buckets must be
/// indexable, so one past this still leaves room for an epoch.
pub const MAX_DELAY_STEPS: u32 = u32::MAX / 2;

/// Bytes per ring-buffer bucket of one model group: the engine keeps two `Vec`s (synapse runs
/// and direct events) per future step and group (`engine/queue.rs`).
const RING_BUCKET_BYTES: f64 = 48.0;

/// Refuse a longest delay whose ring buffers cannot fit in memory, before the engine allocates
/// them: every model group keeps `next_power_of_two(max delay + epoch + 1)` buckets.
fn check_ring_buffers(
    net: &Network,
    ep: &EdgePopulation,
    (steps, ms, i): (u32, f64, usize),
    dt: f64,
) -> Result<(), NetworkError> {
    let n_groups = net.kinds.len().max(1) as f64;
    let buckets = (f64::from(steps) + 4097.0).log2().ceil().exp2();
    let need = n_groups * buckets * RING_BUCKET_BYTES;
    let Some(why) = crate::limits::over_budget(need) else {
        return Ok(());
    };
    let et = ep.edge_type(i);
    let (file, field) = if ep.from_group_column("delay", i) {
        (ep.edges_file.clone(), ep.group_column_site("delay", i))
    } else {
        (
            ep.edge_types_file.clone(),
            format!("line {}: edge_type_id {} delay", et.line, et.edge_type_id),
        )
    };
    Err(invalid(
        &file,
        field,
        ms,
        format!(
            "at run.dt = {} ms this delay is {steps} steps; the ring buffers of {} cells in {} model group(s) then need {} buckets each, which {why}",
            crate::limits::fmt_num(dt),
            net.n_neurons,
            net.kinds.len(),
            buckets
        ),
    ))
}

/// BMTK's conversion of an Allen `neuron_config.json` for template `nest:<model>` into NEST
/// parameters (sonata-bmtk.md §5.4): the legacy names `glif_lif[_r][_asc][_a]_psc` give the
/// level and become `glif_psc`, with `t_ref = spike_cut_length × config dt` as BMTK does.
/// `glif_psc`/`glif_cond` with an Allen file (which BMTK leaves unconverted and NEST rejects)
/// are converted too, the level taken from the method names.
fn allen_to_nest(
    model: &str,
    json: &serde_json::Value,
) -> Result<(String, serde_json::Value), String> {
    use crate::models::allen::{convert, level_from_template, RefractoryConvention};
    let (kind, level) = match level_from_template(&format!("nest:{model}")) {
        Some(l) => (ModelKind::GlifPsc, Some(l)),
        None => match model {
            "glif_psc" => (ModelKind::GlifPsc, None),
            "glif_cond" => (ModelKind::GlifCond, None),
            _ => {
                return Err(format!(
                    "an Allen neuron_config needs model_template nest:glif_lif[_r][_asc][_a]_psc, nest:glif_psc or nest:glif_cond, not nest:{model} (glif_psc_double_alpha takes NEST-format parameters only)"
                ))
            }
        },
    };
    let c =
        convert(json, kind, level, RefractoryConvention::ConfigDt).map_err(|e| e.to_string())?;
    Ok((kind.name().to_string(), serde_json::Value::Object(c.params)))
}

#[cfg(test)]
mod tests {
    use super::NodeIndex;

    /// Dense ids (with gaps, e.g. virtual nodes left out) use a table, sparse ones a map; both
    /// give `first + position` for members and nothing for anything else.
    #[test]
    fn node_index_maps_ids_to_positions() {
        let dense = [0u64, 1, 2, 5, 7, 3];
        let sparse = [10u64, 1 << 40, 999_999_999, 4];
        for (ids, table) in [(&dense[..], true), (&sparse[..], false)] {
            let ix = NodeIndex::new(ids, 100);
            assert_eq!(matches!(ix, NodeIndex::Table(_)), table);
            for (k, &id) in ids.iter().enumerate() {
                assert_eq!(ix.get(id), Some(100 + k as u32), "id {id}");
            }
            for absent in [6u64, 8, 11, 1 << 41, u64::MAX] {
                assert_eq!(ix.get(absent), None, "id {absent}");
            }
        }
        assert_eq!(NodeIndex::new(&[], 0).get(0), None);
    }
}
