//! `glifnet inspect <config> [--dot]`: what a BMTK config describes — node populations, edge
//! populations with PointNet's per-edge-type totals (sonata-bmtk.md §2.4), inputs, outputs and
//! the population-level projection graph.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use petgraph::graph::DiGraph;

use crate::config::SimulationConfig;
use crate::sonata::Circuit;

/// Arguments of `glifnet inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// BMTK config file (simulation, circuit, or root config). Relative paths inside it are
    /// resolved against the current directory, as BMTK does.
    pub config: PathBuf,
    /// Print only the projection graph, in Graphviz DOT format.
    #[arg(long)]
    pub dot: bool,
}

pub fn run(args: Args) -> Result<()> {
    let cfg = SimulationConfig::load(&args.config)?;
    let circuit = Circuit::load(&cfg)?;
    if args.dot {
        print!("{}", projection_dot(&circuit));
    } else {
        print!("{}", report(&cfg, &circuit)?);
    }
    Ok(())
}

/// Round for display so that float sums print as the totals a user expects.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The population-level projection graph: one vertex per node population, one edge per edge
/// population (weight = its edge count).
pub fn projection_graph(c: &Circuit) -> DiGraph<String, String> {
    let mut g = DiGraph::new();
    let idx: BTreeMap<&str, _> = c
        .nodes
        .iter()
        .map(|p| (p.name.as_str(), g.add_node(p.name.clone())))
        .collect();
    for e in &c.edges {
        if let (Some(&s), Some(&t)) = (
            idx.get(e.source_population.as_str()),
            idx.get(e.target_population.as_str()),
        ) {
            g.add_edge(s, t, format!("{} ({} edges)", e.name, e.len()));
        }
    }
    g
}

/// DOT text of [`projection_graph`].
pub fn projection_dot(c: &Circuit) -> String {
    let g = projection_graph(c);
    format!("{}", petgraph::dot::Dot::new(&g))
}

/// The human-readable report.
pub fn report(cfg: &SimulationConfig, c: &Circuit) -> Result<String> {
    let mut s = String::new();
    let files: Vec<String> = cfg
        .config_files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    writeln!(s, "config: {}", files.join(" + "))?;
    if let Some(r) = &cfg.run {
        writeln!(
            s,
            "run: tstop {} ms, dt {} ms, n_thread {}",
            r.tstop, r.dt, r.n_thread
        )?;
    }
    writeln!(s, "node populations: {}", c.nodes.len())?;
    for p in &c.nodes {
        writeln!(
            s,
            "  {}: {} nodes, {} virtual  [{}]",
            p.name,
            p.len(),
            p.n_virtual(),
            p.nodes_file.display()
        )?;
        let mut per_group: BTreeMap<u32, usize> = BTreeMap::new();
        for &g in &p.group_ids {
            *per_group.entry(g).or_default() += 1;
        }
        for g in &p.groups {
            let cols: Vec<&str> = g.columns.keys().map(String::as_str).collect();
            let dyn_note = if g.dynamics_params.is_empty() {
                String::new()
            } else {
                format!(
                    "; per-node dynamics_params: {}",
                    g.dynamics_params
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            writeln!(
                s,
                "    group {}: {} nodes; columns: {}{}",
                g.id,
                per_group.get(&g.id).copied().unwrap_or(0),
                if cols.is_empty() {
                    "-".to_string()
                } else {
                    cols.join(", ")
                },
                dyn_note
            )?;
        }
        let mut templates: BTreeMap<String, usize> = BTreeMap::new();
        for i in 0..p.len() {
            let t = if p.is_virtual(i) {
                "virtual".to_string()
            } else {
                p.model_template(i)
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "(no model_template)".into())
            };
            *templates.entry(t).or_default() += 1;
        }
        for (t, n) in templates {
            writeln!(s, "    model {t}: {n} nodes")?;
        }
    }
    writeln!(s, "edge populations: {}", c.edges.len())?;
    for e in &c.edges {
        writeln!(
            s,
            "  {}: {} -> {}, {} edges  [{}]",
            e.name,
            e.source_population,
            e.target_population,
            e.len(),
            e.edges_file.display()
        )?;
        for t in e.type_summaries()? {
            let et = &e.edge_types[&t.edge_type_id];
            let dp = et
                .dynamics_params_file
                .as_ref()
                .and_then(|f| f.file_name())
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| "-".into());
            writeln!(
                s,
                "    type {}: edges {}, nsyns {}, weight {:?}, delay {}..{} ms, model {}, dynamics_params {}",
                t.edge_type_id,
                t.n_edges,
                round6(t.sum_nsyns),
                round6(t.sum_weight),
                t.delay_min,
                t.delay_max,
                et.model_template.as_deref().unwrap_or("-"),
                dp
            )?;
        }
    }
    writeln!(s, "inputs: {}", cfg.inputs.len())?;
    for i in &cfg.inputs {
        let ns = i
            .node_set
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into());
        let file = i
            .input_file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "-".into());
        writeln!(
            s,
            "  {}: {} / {}, node_set {}, file {}",
            i.name, i.input_type, i.module, ns, file
        )?;
    }
    writeln!(s, "outputs:")?;
    let o = &cfg.output;
    writeln!(s, "  output_dir {}", o.output_dir.display())?;
    for (k, v) in [
        ("log_file", &o.log_file),
        ("spikes_file", &o.spikes_file),
        ("spikes_file_csv", &o.spikes_file_csv),
        ("spikes_file_nwb", &o.spikes_file_nwb),
    ] {
        if let Some(p) = v {
            writeln!(s, "  {k} {}", p.display())?;
        }
    }
    writeln!(s, "  spikes_sort_order {}", o.spikes_sort_order.as_str())?;
    for r in &cfg.reports {
        writeln!(
            s,
            "  report {}: {} {} -> {}",
            r.name,
            r.module,
            r.variable_name.join(","),
            r.file_name.display()
        )?;
    }
    writeln!(s, "projection graph:")?;
    let g = projection_graph(c);
    for e in g.edge_indices() {
        if let Some((a, b)) = g.edge_endpoints(e) {
            writeln!(s, "  {} -> {}: {}", g[a], g[b], g[e])?;
        }
    }
    Ok(s)
}
