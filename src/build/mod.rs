//! Network builder (`glifnet build SPEC.json -o DIR`): writes SONATA circuits BMTK can run.
//!
//! A spec (see [`spec`]) lists populations (counts, models, positions, attributes), virtual
//! input populations, connection rules and Poisson inputs. The builder writes what BMTK's own
//! builder writes (docs/sonata-bmtk.md §1–2): `network/<pop>_nodes.h5` + `_node_types.csv`,
//! `network/<src>_<trg>_edges.h5` (sorted by target, with `indices/`) + `_edge_types.csv`,
//! `components/{cell_models,synaptic_models}/`, `inputs/*.h5`, `config.circuit.json` and
//! `config.simulation.json`.
//!
//! Scaling (`--scale N`): scalable node counts ×N; probability rules are divided by the growth
//! of their source selection so in-degrees stay fixed (the scaled point_450glifs recipe).
//!
//! Determinism: every random draw comes from a stream keyed by the seed and the entity it
//! decides (node type, rule and target, input node), so the same spec and seed give the same
//! bytes whatever the thread count. Output goes to a temporary folder inside DIR and is moved
//! into place only when everything was written.

pub mod connect;
pub mod inputs;
pub mod nodes;
pub mod rng;
pub mod select;
pub mod spec;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::sonata::circuit_writer::{self as cw, Column, NodesTable, WriteError};
use connect::{EdgeTotals, Kind, Rule};
use nodes::Population;
use spec::{Connection, SpecFile};

/// A build failure naming the spec file and field, or the file that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{file}: {field}: {msg}")]
    Spec {
        file: PathBuf,
        field: String,
        msg: String,
    },
    #[error("{path}: {msg}")]
    Io { path: PathBuf, msg: String },
    #[error(transparent)]
    Write(#[from] WriteError),
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> BuildError + '_ {
    move |e| BuildError::Io {
        path: path.to_path_buf(),
        msg: crate::limits::io_reason(&e),
    }
}

/// Command-line overrides of the spec.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub scale: Option<f64>,
    pub seed: Option<u64>,
}

/// What was built.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub out_dir: PathBuf,
    pub scale: f64,
    pub seed: u64,
    /// (population, nodes, virtual)
    pub populations: Vec<(String, usize, bool)>,
    /// (edge population, totals, rule names)
    pub edges: Vec<(String, EdgeTotals, Vec<String>)>,
    /// (input name, spikes)
    pub inputs: Vec<(String, usize)>,
    pub seconds: f64,
}

/// Format a number the way Python's `repr(float)` does for the CSV tables ("2.0", "0.5").
fn py_num(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

fn csv_value(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.into()),
        Value::Number(n) => Some(match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (_, Some(u)) => u.to_string(),
            _ => py_num(n.as_f64().unwrap_or(f64::NAN)),
        }),
        other => Some(other.to_string()),
    }
}

fn write_json(path: &Path, v: &Value) -> Result<(), BuildError> {
    let text = serde_json::to_string_pretty(v).map_err(|e| BuildError::Io {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })? + "\n";
    std::fs::write(path, text).map_err(io_err(path))
}

/// Build the network described by `spec_path` into `out_dir`.
pub fn build(
    spec_path: &Path,
    out_dir: &Path,
    opts: &BuildOptions,
) -> Result<BuildReport, BuildError> {
    let t_start = Instant::now();
    let sf = SpecFile::load(spec_path)?;
    let scale = opts.scale.unwrap_or(sf.spec.scale);
    if !(scale.is_finite() && scale > 0.0) {
        return Err(sf.err("scale", format!("must be > 0, got {scale}")));
    }
    let seed = opts.seed.unwrap_or(sf.spec.seed);
    check_node_counts(&sf, scale)?;
    let pops = nodes::generate(&sf, scale, seed);
    let groups = plan_edges(&sf, &pops)?;
    check_inputs(&sf, &pops)?;

    std::fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
    let tmp = out_dir.join(".glifnet-build-tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    let result = write_all(&sf, &pops, groups, &tmp, scale, seed);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if let Err(e) = move_tree(&tmp, &tmp, out_dir) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    Ok(BuildReport {
        out_dir: out_dir.to_path_buf(),
        seconds: t_start.elapsed().as_secs_f64(),
        ..report
    })
}

/// Bytes the builder holds per node besides its drawn columns (ids, type, group index, the
/// rules' target flags, positions and maps).
const NODE_OVERHEAD_BYTES: f64 = 64.0;

/// Refuse node counts that cannot be held (or indexed: node ids are u32 inside the builder)
/// before any node is generated.
fn check_node_counts(sf: &SpecFile, scale: f64) -> Result<(), BuildError> {
    let mut need = 0.0f64;
    for (pi, ps) in sf.spec.populations.iter().enumerate() {
        let mut pop_total = 0.0f64;
        for (ti, ts) in ps.node_types.iter().enumerate() {
            let count = if ts.scalable.unwrap_or(!ps.is_virtual) {
                (ts.count as f64 * scale).round().max(1.0)
            } else {
                ts.count as f64
            };
            pop_total += count;
            let field = format!("populations[{pi}].node_types[{ti}].count");
            if pop_total >= f64::from(u32::MAX) {
                return Err(sf.err(
                    field,
                    format!(
                        "{} (x scale {scale}) makes population {} {pop_total:.0} nodes; at most {} nodes per population are supported",
                        ts.count,
                        crate::limits::clip(&ps.name),
                        u32::MAX - 1
                    ),
                ));
            }
            let cols = ts.node_attributes.len() + if ts.positions.is_some() { 3 } else { 0 };
            need += count * (8.0 * cols as f64 + NODE_OVERHEAD_BYTES);
            if let Some(why) = crate::limits::over_budget(need) {
                return Err(sf.err(
                    field,
                    format!(
                        "{} (x scale {scale}): {need:.3e} bytes of nodes so far, which {why}",
                        ts.count
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Refuse Poisson inputs whose spike trains (held in memory before they are written) cannot
/// fit.
fn check_inputs(sf: &SpecFile, pops: &[Population]) -> Result<(), BuildError> {
    let mut need = 0.0f64;
    for (k, input) in sf.spec.inputs.iter().enumerate() {
        let Some(p) = pops.iter().find(|p| p.name == input.population) else {
            continue; // reported where the input is written
        };
        let stop = input.stop_ms.unwrap_or(sf.spec.simulation.tstop);
        let field = format!("inputs[{k}].rate_hz");
        if !(input.rate_hz.is_finite() && input.start_ms.is_finite() && stop.is_finite()) {
            return Err(sf.err(
                field,
                format!(
                    "rate_hz {}, start_ms {}, stop_ms {stop} must be finite",
                    input.rate_hz, input.start_ms
                ),
            ));
        }
        if input.start_ms > stop {
            return Err(sf.err(
                format!("inputs[{k}].start_ms"),
                format!("{} ms is after stop_ms = {stop} ms", input.start_ms),
            ));
        }
        let spikes = input.rate_hz.max(0.0) * (stop - input.start_ms.max(0.0)).max(0.0) / 1000.0
            * p.len() as f64;
        // node id (u64) + time (f64) per spike
        need += spikes * 16.0;
        if let Some(why) = crate::limits::over_budget(need) {
            return Err(sf.err(
                field,
                format!(
                    "{} Hz onto {} nodes for {} ms is about {spikes:.3e} spikes, which {why}",
                    input.rate_hz,
                    p.len(),
                    stop - input.start_ms.max(0.0)
                ),
            ));
        }
    }
    Ok(())
}

/// Move every file under `dir` (relative to `root`) to the same place under `dest`.
fn move_tree(root: &Path, dir: &Path, dest: &Path) -> Result<(), BuildError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .collect::<Result<_, _>>()
        .map_err(io_err(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap_or(&p);
        let to = dest.join(rel);
        if p.is_dir() {
            std::fs::create_dir_all(&to).map_err(io_err(&to))?;
            move_tree(root, &p, dest)?;
        } else {
            std::fs::rename(&p, &to).map_err(io_err(&to))?;
        }
    }
    Ok(())
}

/// The rules of one edge file (one source and one target population).
struct EdgeGroup {
    source: usize,
    target: usize,
    rules: Vec<Rule>,
    /// Per rule: (name, target_query, source_query, spec index, synapse json name).
    rows: Vec<(String, String, String, usize, String)>,
}

fn synapse_file(e: &spec::EdgeRuleSpec) -> String {
    match (&e.dynamics_params, e.receptor_type) {
        (Some(d), _) => d.clone(),
        (None, Some(k)) => format!("receptor_{k}.json"),
        (None, None) => "static_synapse.json".into(),
    }
}

fn plan_edges(sf: &SpecFile, pops: &[Population]) -> Result<Vec<EdgeGroup>, BuildError> {
    let mut groups: Vec<EdgeGroup> = Vec::new();
    for (i, e) in sf.spec.edges.iter().enumerate() {
        let f = format!("edges[{i}]");
        let src = select::resolve(&e.source, pops)
            .map_err(|(k, m)| sf.err(format!("{f}.source.{k}"), m))?;
        let trg = select::resolve(&e.target, pops)
            .map_err(|(k, m)| sf.err(format!("{f}.target.{k}"), m))?;
        let tpop = &pops[trg.population];
        let spop = &pops[src.population];
        let skip_self = src.population == trg.population && !e.allow_autapses;
        let ratio = if e.scale_probability && !src.ids.is_empty() {
            src.base_size / src.ids.len() as f64
        } else {
            1.0
        };
        let mut is_target = vec![false; tpop.len()];
        for &t in &trg.ids {
            is_target[t as usize] = true;
        }
        let kind = match &e.connection {
            Connection::FixedProbability { p } => Kind::Probability {
                sources: src.ids.clone(),
                p: (p * ratio).min(1.0),
            },
            Connection::Gaussian {
                p_max,
                sigma,
                max_distance,
            } => {
                let md = max_distance.unwrap_or(4.0 * sigma);
                let no_pos = |side: &str, pop: &Population, id: u32| {
                    let t = &pop.types[pop.type_of(id as usize)];
                    sf.err(
                        format!("{f}.{side}"),
                        format!(
                            "node type {} of population \"{}\" has no positions (the gaussian rule needs them)",
                            t.node_type_id,
                            crate::limits::clip(&pop.name)
                        ),
                    )
                };
                let mut pts = Vec::with_capacity(src.ids.len());
                for &s in &src.ids {
                    pts.push((
                        s,
                        spop.position(s as usize)
                            .ok_or_else(|| no_pos("source", spop, s))?,
                    ));
                }
                let mut target_pos = vec![[0.0; 3]; tpop.len()];
                for &t in &trg.ids {
                    target_pos[t as usize] = tpop
                        .position(t as usize)
                        .ok_or_else(|| no_pos("target", tpop, t))?;
                }
                Kind::Gaussian {
                    grid: connect::Grid::new(md, pts.into_iter()),
                    p_max: (p_max * ratio).min(1.0),
                    sigma: *sigma,
                    max_distance: md,
                    target_pos,
                }
            }
            Connection::FixedIndegree { indegree } => {
                let avail = src.ids.len() as u64 - skip_self as u64;
                if *indegree > avail {
                    return Err(sf.err(
                        format!("{f}.connection.indegree"),
                        format!("{indegree} exceeds the {avail} available sources"),
                    ));
                }
                Kind::Indegree {
                    sources: src.ids.clone(),
                    k: *indegree,
                }
            }
            Connection::OneToOne {} => {
                if src.ids.len() != trg.ids.len() {
                    return Err(sf.err(
                        format!("{f}.connection"),
                        format!(
                            "one_to_one needs equal selections, got {} sources and {} targets",
                            src.ids.len(),
                            trg.ids.len()
                        ),
                    ));
                }
                let mut map = vec![u32::MAX; tpop.len()];
                for (s, t) in src.ids.iter().zip(&trg.ids) {
                    map[*t as usize] = *s;
                }
                Kind::OneToOne { map }
            }
        };
        let gi = match groups
            .iter()
            .position(|g| g.source == src.population && g.target == trg.population)
        {
            Some(g) => g,
            None => {
                groups.push(EdgeGroup {
                    source: src.population,
                    target: trg.population,
                    rules: Vec::new(),
                    rows: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let g = &mut groups[gi];
        let etid = e.edge_type_id.unwrap_or(100 + g.rules.len() as u64);
        let etid = u32::try_from(etid)
            .map_err(|_| sf.err(format!("{f}.edge_type_id"), format!("{etid} exceeds u32")))?;
        if g.rules.iter().any(|r| r.edge_type_id == etid) {
            return Err(sf.err(
                format!("{f}.edge_type_id"),
                format!(
                    "{etid} is already used in the {}_to_{} edges",
                    spop.name, tpop.name
                ),
            ));
        }
        if g.rules.len() >= u16::MAX as usize {
            return Err(sf.err(f, "too many rules between one pair of populations"));
        }
        g.rules.push(Rule {
            index: i,
            edge_type_id: etid,
            is_target,
            kind,
            skip_self,
            nsyns: e.nsyns,
        });
        g.rows.push((
            e.name.clone().unwrap_or_else(|| format!("edges[{i}]")),
            select::query_string(&e.target),
            select::query_string(&e.source),
            i,
            synapse_file(e),
        ));
    }
    Ok(groups)
}

fn write_all(
    sf: &SpecFile,
    pops: &[Population],
    groups: Vec<EdgeGroup>,
    tmp: &Path,
    scale: f64,
    seed: u64,
) -> Result<BuildReport, BuildError> {
    let spec = &sf.spec;
    let net = tmp.join("network");
    let cells = tmp.join("components").join("cell_models");
    let syns = tmp.join("components").join("synaptic_models");
    let inp = tmp.join("inputs");
    for d in [&net, &cells, &syns, &inp] {
        std::fs::create_dir_all(d).map_err(io_err(d))?;
    }
    let mut report = BuildReport {
        out_dir: PathBuf::new(),
        scale,
        seed,
        populations: Vec::new(),
        edges: Vec::new(),
        inputs: Vec::new(),
        seconds: 0.0,
    };
    let mut cfg_nodes = Vec::new();
    for p in pops {
        write_population(&net, p)?;
        cfg_nodes.push(json!({
            "nodes_file": format!("$NETWORK_DIR/{}_nodes.h5", p.name),
            "node_types_file": format!("$NETWORK_DIR/{}_node_types.csv", p.name),
        }));
        report
            .populations
            .push((p.name.clone(), p.len(), p.is_virtual));
    }
    let mut cfg_edges = Vec::new();
    let mut auto_syn: Vec<(String, Value)> = Vec::new();
    for g in &groups {
        let (s, t) = (&pops[g.source].name, &pops[g.target].name);
        let stem = format!("{s}_{t}");
        let name = format!("{s}_to_{t}");
        let h5 = net.join(format!("{stem}_edges.h5"));
        let totals = connect::write_edges(&h5, &name, s, t, pops[g.target].len(), &g.rules, seed)?;
        let header: Vec<String> = [
            "edge_type_id",
            "target_query",
            "source_query",
            "model_template",
            "syn_weight",
            "dynamics_params",
            "delay",
        ]
        .map(String::from)
        .to_vec();
        let mut rows = Vec::new();
        for (rule, (_, tq, sq, i, syn)) in g.rules.iter().zip(&g.rows) {
            let e = &spec.edges[*i];
            rows.push(vec![
                Some(rule.edge_type_id.to_string()),
                Some(tq.clone()),
                Some(sq.clone()),
                Some(e.model_template.clone()),
                Some(py_num(e.syn_weight)),
                Some(syn.clone()),
                Some(py_num(e.delay)),
            ]);
            if !spec.components.synaptic_models.contains_key(syn)
                && !auto_syn.iter().any(|(n, _)| n == syn)
            {
                let body = match e.receptor_type {
                    Some(k) => json!({ "receptor_type": k }),
                    None => json!({}),
                };
                auto_syn.push((syn.clone(), body));
            }
        }
        cw::write_types_csv(&net.join(format!("{stem}_edge_types.csv")), &header, &rows)?;
        cfg_edges.push(json!({
            "edges_file": format!("$NETWORK_DIR/{stem}_edges.h5"),
            "edge_types_file": format!("$NETWORK_DIR/{stem}_edge_types.csv"),
        }));
        report
            .edges
            .push((name, totals, g.rows.iter().map(|r| r.0.clone()).collect()));
    }

    // Components: inline objects are written, paths are copied verbatim after a JSON check.
    for (dir, kind, m) in [
        (&cells, "cell_models", &spec.components.cell_models),
        (&syns, "synaptic_models", &spec.components.synaptic_models),
    ] {
        for (fname, v) in m {
            let out = dir.join(fname);
            match v {
                Value::String(rel) => {
                    let src = sf.dir().join(rel);
                    let bytes = std::fs::read(&src).map_err(io_err(&src))?;
                    let parsed: Result<Value, _> =
                        serde_json::from_slice(crate::limits::strip_bom_bytes(&bytes));
                    if !matches!(parsed, Ok(Value::Object(_))) {
                        return Err(sf.err(
                            format!("components.{kind}.{fname}"),
                            format!("{} is not a JSON object file", src.display()),
                        ));
                    }
                    std::fs::write(&out, bytes).map_err(io_err(&out))?;
                }
                other => write_json(&out, other)?,
            }
        }
    }
    for (fname, body) in &auto_syn {
        write_json(&syns.join(fname), body)?;
    }

    // Poisson inputs.
    let mut cfg_inputs = Map::new();
    for (k, input) in spec.inputs.iter().enumerate() {
        let pi = pops
            .iter()
            .position(|p| p.name == input.population)
            .ok_or_else(|| sf.err(format!("inputs[{k}].population"), "unknown population"))?;
        let stop = input.stop_ms.unwrap_or(spec.simulation.tstop);
        let (ids, ts) =
            inputs::poisson(seed, k, pops[pi].len(), input.rate_hz, input.start_ms, stop);
        let file = input
            .file
            .clone()
            .unwrap_or_else(|| format!("{}.h5", input.name));
        cw::write_spikes(&inp.join(&file), &input.population, &ids, &ts, "by_id")?;
        cfg_inputs.insert(
            input.name.clone(),
            json!({
                "input_type": "spikes",
                "module": "sonata",
                "input_file": format!("$INPUT_DIR/{file}"),
                "node_set": input.population,
            }),
        );
        report.inputs.push((input.name.clone(), ids.len()));
    }

    // Configs (docs/sonata-bmtk.md §3.2: ${configdir} makes paths independent of the CWD).
    let circuit = json!({
        "manifest": {
            "$BASE_DIR": "${configdir}",
            "$NETWORK_DIR": "$BASE_DIR/network",
            "$COMPONENTS_DIR": "$BASE_DIR/components",
        },
        "components": {
            "point_neuron_models_dir": "$COMPONENTS_DIR/cell_models",
            "synaptic_models_dir": "$COMPONENTS_DIR/synaptic_models",
        },
        "networks": { "nodes": cfg_nodes, "edges": cfg_edges },
    });
    write_json(&tmp.join("config.circuit.json"), &circuit)?;
    let mut simulation = json!({
        "manifest": {
            "$BASE_DIR": "${configdir}",
            "$OUTPUT_DIR": "$BASE_DIR/output",
            "$INPUT_DIR": "$BASE_DIR/inputs",
        },
        "target_simulator": "NEST",
        "run": { "tstop": spec.simulation.tstop, "dt": spec.simulation.dt },
        "inputs": cfg_inputs,
        "output": {
            "log_file": "log.txt",
            "spikes_file": "spikes.h5",
            "spikes_file_csv": "spikes.csv",
            "output_dir": "$OUTPUT_DIR",
            "overwrite_output_dir": true,
        },
        "network": "config.circuit.json",
    });
    if let (Some(reports), Some(o)) = (&spec.simulation.reports, simulation.as_object_mut()) {
        o.insert("reports".into(), Value::Object(reports.clone()));
    }
    write_json(&tmp.join("config.simulation.json"), &simulation)?;
    Ok(report)
}

/// Write `<pop>_nodes.h5` and `<pop>_node_types.csv`.
fn write_population(net: &Path, p: &Population) -> Result<(), BuildError> {
    let n = p.len();
    let mut t = NodesTable {
        population: p.name.clone(),
        node_type_id: Vec::with_capacity(n),
        node_group_id: Vec::with_capacity(n),
        node_group_index: Vec::with_capacity(n),
        groups: p
            .group_columns
            .iter()
            .map(|cols| {
                cols.iter()
                    .map(|c| (c.clone(), Column::F64(Vec::new())))
                    .collect()
            })
            .collect(),
    };
    let mut next_index = vec![0u64; p.group_columns.len()];
    for ty in &p.types {
        let g = ty.group as usize;
        for _ in 0..ty.count {
            t.node_type_id.push(ty.node_type_id);
            t.node_group_id.push(ty.group);
            t.node_group_index.push(next_index[g]);
            next_index[g] += 1;
        }
        for ((_, col), (_, vals)) in t.groups[g].iter_mut().zip(&ty.columns) {
            if let Column::F64(v) = col {
                v.extend_from_slice(vals);
            }
        }
    }
    cw::write_nodes(&net.join(format!("{}_nodes.h5", p.name)), &t)?;
    let mut header: Vec<String> = vec!["node_type_id".into()];
    for ty in &p.types {
        for k in ty.csv.keys() {
            if !header.contains(k) {
                header.push(k.clone());
            }
        }
    }
    let rows: Vec<Vec<Option<String>>> = p
        .types
        .iter()
        .map(|ty| {
            header
                .iter()
                .map(|h| {
                    if h == "node_type_id" {
                        Some(ty.node_type_id.to_string())
                    } else {
                        ty.csv.get(h).and_then(csv_value)
                    }
                })
                .collect()
        })
        .collect();
    cw::write_types_csv(
        &net.join(format!("{}_node_types.csv", p.name)),
        &header,
        &rows,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_number_format() {
        assert_eq!(py_num(2.0), "2.0");
        assert_eq!(py_num(-6.5), "-6.5");
        assert_eq!(py_num(0.001), "0.001");
    }
}
