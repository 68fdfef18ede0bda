//! `glifnet plot raster|rates|trace` (issue #7): look at a run without Python.
//!
//! Bands: without a config, one band per spike-file population, rows = node ids from the
//! smallest to the largest id seen. With `--config`, one band per (population, node type), rows
//! = the type's nodes by id (silent cells included), and non-virtual populations that produced
//! no spikes still get their (empty) bands, so a silent population is visible as such.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::config::SimulationConfig;
use crate::output::plot::{self, Band, Raster, RateBar, TracePlot};
use crate::sonata::spikes::{read_spikes, SpikeTrains};
use crate::sonata::Circuit;

/// Arguments of `glifnet plot`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub kind: Kind,
}

#[derive(Debug, clap::Subcommand)]
pub enum Kind {
    /// Spike raster, one colour band per population (per node type with --config), with a
    /// population-rate (PSTH) panel below.
    Raster(SpikeArgs),
    /// Bar chart of mean firing rates per node type (per population without --config).
    Rates(SpikeArgs),
    /// Membrane trace of one node from a SONATA report file.
    Trace(TraceArgs),
}

#[derive(Debug, clap::Args)]
pub struct SpikeArgs {
    /// SONATA spike file (.h5) or BMTK spike CSV.
    pub spikes: PathBuf,
    /// Simulation config: bands per node type, silent cells counted, window end its run.tstop
    /// (unless the spike file's folder has the run's config.json).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output image (.png or .svg); default raster.png / rates.png.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Start of the time window (ms); default 0.
    #[arg(long)]
    pub tmin: Option<f64>,
    /// End of the time window (ms); default the run.tstop of the config.json that `glifnet run`
    /// writes beside the spike file, else the --config's run.tstop, else the last spike rounded
    /// up to 100 ms. Only spikes in [tmin, tmax) are counted ([tmin, tstop] when the window
    /// ends at the run's tstop, where a run's last spikes are stamped); the window is printed.
    #[arg(long)]
    pub tmax: Option<f64>,
}

#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    /// SONATA membrane report (.h5).
    pub report: PathBuf,
    /// Node id to plot.
    #[arg(long)]
    pub node: u64,
    /// Population (needed only when several populations hold the id).
    #[arg(long)]
    pub population: Option<String>,
    /// Spike file whose spikes of this node are marked above the trace.
    #[arg(long)]
    pub spikes: Option<PathBuf>,
    /// Output image (.png or .svg); default trace_<node>.png.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.kind {
        Kind::Raster(a) => {
            let (raster, _) = load_raster(&a)?;
            let out = a.output.unwrap_or_else(|| PathBuf::from("raster.png"));
            plot::plot_raster(&out, &raster)?;
            println!("{}", out.display());
        }
        Kind::Rates(a) => {
            let (raster, closed) = load_raster(&a)?;
            let out = a.output.unwrap_or_else(|| PathBuf::from("rates.png"));
            let secs = (raster.tmax - raster.tmin) / 1000.0;
            let bars: Vec<RateBar> = raster
                .bands
                .iter()
                .map(|b| RateBar {
                    label: b.label.clone(),
                    rate_hz: b.times.len() as f64 / (b.n_cells.max(1) as f64 * secs),
                    n_cells: b.n_cells,
                })
                .collect();
            for b in &bars {
                println!("{}\t{}\t{:.4}", b.label, b.n_cells, b.rate_hz);
            }
            let title = format!(
                "mean rates over [{}, {}{} ms",
                raster.tmin,
                raster.tmax,
                if closed { "]" } else { ")" }
            );
            plot::plot_rates(&out, &title, &bars)?;
            println!("{}", out.display());
        }
        Kind::Trace(a) => {
            let tr = crate::sonata::report::read_trace(&a.report, a.population.as_deref(), a.node)?;
            let spikes = match &a.spikes {
                Some(p) => {
                    let trains = read_spikes(p)?;
                    trains
                        .populations
                        .iter()
                        .filter(|s| {
                            s.population.is_none()
                                || s.population.as_deref() == Some(&tr.population)
                        })
                        .flat_map(|s| {
                            s.node_ids
                                .iter()
                                .zip(&s.timestamps_ms)
                                .filter(|(&n, _)| n == a.node)
                                .map(|(_, &t)| t)
                        })
                        .collect()
                }
                None => Vec::new(),
            };
            let var = tr.variable.clone().unwrap_or_else(|| "value".into());
            let y_label = match tr.units.as_deref() {
                Some(u) if !u.is_empty() => format!("{var} ({u})"),
                _ => var.clone(),
            };
            let out = a
                .output
                .unwrap_or_else(|| PathBuf::from(format!("trace_{}.png", a.node)));
            let p = TracePlot {
                title: format!("node {} ({}) {}", a.node, tr.population, var),
                times: tr.times,
                values: tr.values,
                y_label,
                spikes,
            };
            plot::plot_trace(&out, &p)?;
            println!("{}", out.display());
        }
    }
    Ok(())
}

/// The raster of `glifnet plot raster|rates` and whether its window includes its end.
fn load_raster(a: &SpikeArgs) -> anyhow::Result<(Raster, bool)> {
    let spikes = read_spikes(&a.spikes)?;
    let (circuit, cfg_tstop) = match &a.config {
        Some(c) => {
            let cfg = SimulationConfig::load(c)?;
            let tstop = cfg.run.as_ref().map(|r| r.tstop);
            (Some(Circuit::load(&cfg)?), tstop.map(|t| (t, c.clone())))
        }
        None => (None, None),
    };
    let (tmax, source) = window_end(a, cfg_tstop)?;
    // A run's spikes lie in (0, tstop] (stamped at the end of their step): a window ending at
    // the run's tstop includes it, so it holds every spike of the run.
    let closed = a.tmax.is_none() && tmax.is_some();
    let raster = build_raster(&spikes, circuit.as_ref(), &a.spikes, a.tmin, tmax, closed)?;
    let start = if a.tmin.is_some() {
        "--tmin"
    } else {
        "default 0"
    };
    println!(
        "window [{}, {}{} ms ({start}; end: {source})",
        raster.tmin,
        raster.tmax,
        if closed { "]" } else { ")" }
    );
    Ok((raster, closed))
}

/// The end of the plot window and where it comes from: `--tmax`; else the `run.tstop` of the
/// resolved config copy `config.json` that `glifnet run` writes beside the spike files (the
/// tstop the spikes were simulated with, after any `--tstop`); else the `--config`'s
/// `run.tstop`; else `None` (the last spike, rounded up, see [`build_raster`]).
fn window_end(
    a: &SpikeArgs,
    cfg_tstop: Option<(f64, PathBuf)>,
) -> anyhow::Result<(Option<f64>, String)> {
    if let Some(t) = a.tmax {
        return Ok((Some(t), "--tmax".into()));
    }
    if let Some((t, path)) = run_tstop_beside(&a.spikes)? {
        return Ok((Some(t), format!("run.tstop from {}", path.display())));
    }
    if let Some((t, path)) = cfg_tstop {
        return Ok((Some(t), format!("run.tstop from {}", path.display())));
    }
    Ok((
        None,
        "last spike rounded up to 100 ms: no run.tstop known (no config.json beside the spike \
         file, no --config); pass --tmax for the run's end"
            .into(),
    ))
}

/// `run.tstop` of the `config.json` in the spike file's folder, when there is one.
pub fn run_tstop_beside(spikes: &Path) -> anyhow::Result<Option<(f64, PathBuf)>> {
    let dir = match spikes.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::new(),
    };
    let path = dir.join("config.json");
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not valid JSON", path.display()))?;
    match v.pointer("/run/tstop") {
        None => Ok(None),
        Some(t) => match t.as_f64() {
            Some(t) if t.is_finite() && t > 0.0 => Ok(Some((t, path))),
            _ => bail!("{}: run.tstop = {t}: not a time > 0 ms", path.display()),
        },
    }
}

/// The raster of `spikes` (bands as in the module docs) over `[tmin, tmax)` (`[tmin, tmax]`
/// with `closed_end`, for a window that ends at a run's tstop), holding only the spikes inside
/// that window; `tmin` defaults to 0 and `tmax` to the last spike rounded up to a whole 100 ms.
pub fn build_raster(
    spikes: &SpikeTrains,
    circuit: Option<&Circuit>,
    file: &Path,
    tmin: Option<f64>,
    tmax: Option<f64>,
    closed_end: bool,
) -> anyhow::Result<Raster> {
    let t0 = tmin.unwrap_or(0.0);
    let last = spikes
        .populations
        .iter()
        .flat_map(|p| p.timestamps_ms.iter().copied())
        .fold(f64::NEG_INFINITY, f64::max);
    let t1 = match tmax {
        Some(t) => t,
        None if last.is_finite() => ((last / 100.0).floor() + 1.0) * 100.0,
        None => t0 + 1000.0,
    };
    if !(t0.is_finite() && t1.is_finite() && t1 > t0) {
        bail!(
            "{}: --tmin/--tmax: empty time window [{t0}, {t1})",
            file.display()
        );
    }
    // Only spikes inside the window are counted (rates, title, PSTH); the bands (rows) are
    // those of the whole file so a window shows the same layout as the full raster.
    let in_window = |t: f64| t >= t0 && (t < t1 || (closed_end && t == t1));
    let mut bands = Vec::new();
    match circuit {
        None => {
            for (k, p) in spikes.populations.iter().enumerate() {
                let name = p
                    .population
                    .clone()
                    .unwrap_or_else(|| format!("population {k}"));
                let (Some(&lo), Some(&hi)) = (p.node_ids.iter().min(), p.node_ids.iter().max())
                else {
                    continue;
                };
                let n_cells = hi
                    .checked_sub(lo)
                    .and_then(|d| usize::try_from(d).ok())
                    .and_then(|d| d.checked_add(1))
                    .filter(|&n| n <= u32::MAX as usize)
                    .with_context(|| {
                        format!(
                            "{}: node_ids: id range {lo}..={hi} too large to plot",
                            file.display()
                        )
                    })?;
                let (times, rows) = p
                    .timestamps_ms
                    .iter()
                    .zip(&p.node_ids)
                    .filter(|(&t, _)| in_window(t))
                    .map(|(&t, &n)| (t, (n - lo) as u32))
                    .unzip();
                bands.push(Band {
                    label: format!("{name} (ids {lo}-{hi})"),
                    n_cells,
                    times,
                    rows,
                });
            }
        }
        Some(c) => {
            for pop in &c.nodes {
                let train = spikes.get(&pop.name).or_else(|| {
                    // A file without population names belongs to the only population.
                    (spikes.populations.len() == 1 && spikes.populations[0].population.is_none())
                        .then(|| &spikes.populations[0])
                });
                if train.is_none() && pop.n_virtual() == pop.len() {
                    continue; // inputs are plotted only when the file has them
                }
                // node type -> node ids (ascending)
                let mut types: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
                for (i, &id) in pop.node_ids.iter().enumerate() {
                    types.entry(pop.node_type_ids[i]).or_default().push(id);
                }
                let mut where_: BTreeMap<u64, (usize, u32)> = BTreeMap::new();
                for (&tid, ids) in types.iter_mut() {
                    ids.sort_unstable();
                    let b = bands.len();
                    for (r, &id) in ids.iter().enumerate() {
                        where_.insert(id, (b, r as u32));
                    }
                    let nt = pop.node_types.get(&tid);
                    let name = nt
                        .and_then(|t| {
                            ["model_name", "pop_name"]
                                .iter()
                                .find_map(|k| t.attributes.get(*k).and_then(|v| v.as_str()))
                                .map(str::to_string)
                        })
                        .unwrap_or_default();
                    let model = nt
                        .and_then(|t| t.model_template.as_ref())
                        .map(|m| m.resource.clone())
                        .or_else(|| nt.and_then(|t| t.model_type.clone()))
                        .unwrap_or_default();
                    let label = [pop.name.clone(), tid.to_string(), name, model]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ");
                    bands.push(Band {
                        label,
                        n_cells: ids.len(),
                        ..Band::default()
                    });
                }
                if let Some(t) = train {
                    for (&id, &ts) in t.node_ids.iter().zip(&t.timestamps_ms) {
                        let Some(&(b, r)) = where_.get(&id) else {
                            bail!(
                                "{}: node_ids = {id}: not a node of population {} in the config",
                                file.display(),
                                pop.name
                            );
                        };
                        if in_window(ts) {
                            bands[b].times.push(ts);
                            bands[b].rows.push(r);
                        }
                    }
                }
            }
            for p in &spikes.populations {
                if let Some(name) = &p.population {
                    if c.node_population(name).is_none() && !p.is_empty() {
                        bail!(
                            "{}: population = {name}: not a node population of the config's networks",
                            file.display()
                        );
                    }
                }
            }
        }
    }
    if bands.is_empty() {
        bail!(
            "{}: spikes: the file holds no spikes to plot",
            file.display()
        );
    }
    let n: usize = bands.iter().map(|b| b.times.len()).sum();
    let cells: usize = bands.iter().map(|b| b.n_cells).sum();
    let title = format!(
        "{} — {n} spikes, {cells} cells, [{t0}, {t1}{} ms",
        file.file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        if closed_end { "]" } else { ")" }
    );
    Ok(Raster {
        title,
        bands,
        tmin: t0,
        tmax: t1,
    })
}

/// `raster.png` of a finished run into `output_dir` (used by `glifnet run` unless `--no-plot`).
pub fn write_run_raster(
    spikes: &SpikeTrains,
    circuit: &Circuit,
    tstop: f64,
    out: &Path,
    title: &str,
) -> anyhow::Result<()> {
    let mut raster = build_raster(spikes, Some(circuit), out, Some(0.0), Some(tstop), true)?;
    if let Some((_, stats)) = raster.title.split_once(" — ") {
        raster.title = format!("{title} — {stats}");
    }
    plot::plot_raster(out, &raster)?;
    Ok(())
}
