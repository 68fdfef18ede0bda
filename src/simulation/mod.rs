//! One run of a BMTK PointNet config, from the config file to the written outputs: the library
//! entry point under `glifnet run`, the MPI path and the tests.
//!
//! [`Simulation::from_config`] reads the config, applies the [`Overrides`] in one place, plans
//! and checks every output file (`output::files`), loads and lowers the circuit, builds the
//! inputs and the engine. [`Simulation::run`] simulates (stopping at an epoch boundary when the
//! stop flag is raised) and writes all outputs as one transaction. Nothing here prints: the
//! front end shows progress through the callback and the [`RunResult`].

mod settings;
mod weights;

pub use settings::{Overrides, Settings};
pub use weights::{NodeColumns, TypeColumns, WeightCall, WeightFunctions};

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::config::SimulationConfig;
use crate::distributed::Session;
use crate::engine::model_group::build_engine;
use crate::engine::{Engine, EngineInput, NoProbes};
use crate::inputs::{build_drive_for, driven_virtual_populations, DriveFilter};
use crate::models::ModelGroup;
use crate::network::{add_synapses, lower, lower_nodes, Network};
use crate::output::files::{Committed, OutputFiles};
use crate::output::reports::Reports;
use crate::output::{
    stamp_ms, summary_table, write_atomic, write_spike_files, Log, OutputError, PopSpikes,
    RunSummary,
};
use crate::sonata::{Circuit, EdgeSelection};

/// Any failure of a run; each names the file, field and value it is about.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Sonata(#[from] crate::sonata::SonataError),
    #[error(transparent)]
    Network(#[from] crate::network::NetworkError),
    #[error(transparent)]
    Input(#[from] crate::inputs::InputError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Report(#[from] crate::sonata::report::ReportError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Dist(#[from] crate::distributed::DistError),
    #[error("{0}")]
    Plot(String),
}

/// What a finished (or interrupted) run produced.
#[derive(Debug)]
pub struct RunResult {
    /// Spikes per non-virtual population, in simulation order.
    pub populations: Vec<PopSpikes>,
    /// Times, counts and how far the run got.
    pub summary: RunSummary,
    /// The per-population table (cells, spikes, rate, % active) and the timing line.
    pub table: String,
    /// Files written, replaced, and removed (stale files of the previous run).
    pub files: Committed,
    /// The log lines (also in `log.txt` when the config names a log file).
    pub log: Vec<String>,
}

/// A loaded network with its engine, ready to run.
pub struct Simulation<'s> {
    cfg: SimulationConfig,
    settings: Settings,
    circuit: Circuit,
    net: Network,
    engine: Engine<ModelGroup>,
    pool: rayon::ThreadPool,
    dist: Option<&'s mut Session>,
    reports: Option<Reports>,
    outputs: Option<OutputFiles>,
    log: Log,
    n_synapses: usize,
    build: Duration,
}

impl<'s> Simulation<'s> {
    /// Read `path`, apply `overrides`, check the outputs, load the network and build the engine.
    /// `dist` is the MPI session of this process (rank 0 writes every output).
    pub fn from_config(
        path: &std::path::Path,
        overrides: &Overrides,
        mut dist: Option<&'s mut Session>,
    ) -> Result<Simulation<'s>, SimError> {
        let t_build = Instant::now();
        let root = dist.as_ref().is_none_or(|d| d.is_root());
        let mut cfg = SimulationConfig::load(path)?;
        let settings = Settings::resolve(&mut cfg, overrides)?;
        let (dt, tstop, threads) = (settings.dt, settings.tstop, settings.threads);
        let mut log = Log::new();
        log.info(format!(
            "Created log file (glifnet {})",
            env!("CARGO_PKG_VERSION")
        ));
        log.info(format!("config {}", cfg.config_path.display()));
        for w in &settings.warnings {
            log.warn(w);
        }
        // every output is known now: collisions are refused before anything is loaded
        let mut outputs = root.then(|| settings.plan_outputs(&cfg)).transpose()?;

        log.info("Building cells.");
        // under MPI: nodes first, then only the edges onto this rank's neurons (issue #8)
        let no_edges = EdgeSelection::Targets(Default::default());
        let mut circuit = match dist {
            Some(_) => Circuit::load_selected(&cfg, &no_edges)?,
            None => Circuit::load(&cfg)?,
        };
        let driven = driven_virtual_populations(&cfg, &circuit)?;
        let active = |p: &str| driven.iter().any(|d| d == p);
        let wf = overrides.weight_functions.as_deref();
        let mut net = match dist.as_mut() {
            None => {
                if let Some(wf) = wf {
                    weights::apply(&mut circuit, wf)?;
                }
                lower(&circuit, dt, &active)?
            }
            Some(d) => {
                let mut net = lower_nodes(&circuit, dt, &active)?;
                let sel = d.decompose(&circuit, &net)?;
                circuit.load_edges(&cfg.networks, &sel)?;
                if let Some(wf) = wf {
                    weights::apply(&mut circuit, wf)?;
                }
                add_synapses(&mut net, &circuit)?;
                net
            }
        };
        settings::check_population_names(&net)?;
        log.info(format!(
            "{} cells in {} population(s), {} virtual cells driven, {} model group(s)",
            net.n_neurons,
            net.populations.len(),
            net.n_virtual,
            net.kinds.len()
        ));
        // the synapses are built: the edges' file columns are not needed any more
        circuit.edges.iter_mut().for_each(|e| e.release_rows());
        log.info("Building recurrent connections");
        let counts: Vec<usize> = net.edge_counts.iter().map(|c| c.1).collect();
        let (per_rank, totals) = match dist.as_ref() {
            Some(d) => d.loaded_edges(&counts),
            None => (Vec::new(), counts.iter().map(|&c| c as u64).collect()),
        };
        for ((name, _), n) in net.edge_counts.iter().zip(&totals) {
            log.info(format!("edges {name}: {n} connections"));
        }
        for l in per_rank {
            log.info(l);
        }
        // under MPI: only the Poisson events onto this rank's cells and the input spikes that
        // reach them (its synapses are already only those onto its cells)
        let block = dist.as_ref().map(|d| d.block());
        let syn = &net.synapses;
        let n_real = net.n_neurons;
        let in_block = |g: u32| block.as_ref().is_none_or(|b| b.contains(&g));
        let reaches = |v: u32| {
            let s = n_real + v as usize;
            syn.offsets.get(s + 1) > syn.offsets.get(s)
        };
        let filter = DriveFilter {
            neuron: &in_block,
            virtual_source: &reaches,
        };
        let drive = build_drive_for(
            &cfg,
            &circuit,
            &net,
            dt,
            tstop,
            block.is_some().then_some(&filter),
        )?;
        for n in &drive.notes {
            match (n.strip_prefix("WARNING: "), block.is_some()) {
                (Some(w), _) => log.warn(w),
                (None, false) => log.info(n),
                // the counts of a filtered drive are rank 0's (the log's writer) share
                (None, true) => log.info(format!("{n} (MPI rank 0's share)")),
            }
        }
        let n_synapses = totals.iter().sum::<u64>() as usize;
        let input = EngineInput {
            n_neurons: net.n_neurons,
            n_virtual: net.n_virtual,
            // the engine keeps its own per-chunk copy; the network's is not needed any more
            synapses: std::mem::take(&mut net.synapses),
            virtual_spikes: drive.virtual_spikes,
            currents: drive.currents,
            direct: drive.direct,
            n_steps: settings.n_steps,
        };
        // membrane reports (issue #7): config blocks -> engine probes + streaming writers
        let mut plan = crate::output::reports::plan_reports(&cfg, &circuit, &net, dt, tstop)?;
        for s in &plan.skipped {
            log.warn(format!("report {s} is not supported by glifnet; skipped"));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| {
                SimError::Invalid(format!("cannot start {threads} worker threads: {e}"))
            })?;
        let probes = std::mem::take(&mut plan.probes);
        let engine = match dist.as_mut() {
            Some(d) => d.build_engine(&net, input, threads, probes)?,
            // in the pool: the chunking is timed on these threads
            None => pool.install(|| build_engine(&net, input, threads, probes))?,
        };
        let mut reports = None;
        if let Some(o) = outputs.as_mut() {
            for stale in o.prepare()? {
                log.info(format!(
                    "Removed {} (temporary file of an earlier run that did not finish)",
                    stale.display()
                ));
            }
            // the report writers stream into the staging files
            for s in &mut plan.specs {
                s.file = o.staging(&s.file);
            }
            reports = Some(Reports::create(&plan.specs)?);
        }
        Ok(Simulation {
            cfg,
            settings,
            circuit,
            net,
            engine,
            pool,
            dist,
            reports,
            outputs,
            log,
            n_synapses,
            build: t_build.elapsed(),
        })
    }

    /// The resolved run settings (dt, tstop, steps, threads, output folder).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Epoch length in steps (progress arrives once per epoch).
    pub fn epoch_steps(&self) -> u64 {
        self.engine.epoch_steps()
    }

    /// Simulate to the end, or to the epoch boundary after `stop` is raised; then write every
    /// output (rank 0). `progress` receives the steps done after each epoch. Returns `None` on
    /// ranks other than 0.
    pub fn run(
        mut self,
        stop: Option<&AtomicBool>,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<Option<RunResult>, SimError> {
        let Settings {
            dt,
            tstop,
            threads,
            n_steps,
            ..
        } = self.settings;
        self.log.info(format!(
            "Running simulation for {tstop:.3} ms with the time step {dt} ms ({n_steps} steps, epochs of {} steps, {threads} thread(s))",
            self.engine.epoch_steps()
        ));
        if !self.engine.chunking.is_empty() {
            self.log
                .info(format!("Parallel work: {}", self.engine.chunking));
        }
        let (packed, n_chunks) = self.engine.packed_chunks();
        self.log.info(format!(
            "Spike delivery: {packed} of {n_chunks} chunk(s) queue synapses as 4-byte (offset, weight index) pairs, the others as 16-byte (offset, weight)"
        ));
        let t_sim = Instant::now();
        let engine = &mut self.engine;
        let pool = &self.pool;
        let stats = match (self.dist.as_mut(), self.reports.as_mut()) {
            (Some(d), Some(r)) => d.run(engine, pool, stop, progress, r)?,
            (Some(d), None) => d.run(engine, pool, stop, progress, &mut NoProbes)?,
            (None, Some(r)) => pool.install(|| engine.run(stop, r, progress)),
            (None, None) => pool.install(|| engine.run(stop, &mut NoProbes, progress)),
        };
        let simulate = t_sim.elapsed();
        if self.engine.recuts() > 0 {
            self.log.info(format!(
                "Load balance: re-cut the chunks {} time(s) during the run, last to {}",
                self.engine.recuts(),
                self.engine.chunking
            ));
        }
        let simulated_ms = stamp_ms(stats.steps_done, dt);
        if stats.interrupted {
            self.log.warn(format!(
                "Interrupted: simulation truncated at {simulated_ms:.3} of {tstop:.3} ms; writing the spikes simulated so far"
            ));
        } else {
            self.log.info("Simulation finished.");
        }
        if let Some(d) = &self.dist {
            for l in d.summary() {
                self.log.info(l);
            }
        }
        let Some(outputs) = self.outputs.take() else {
            return Ok(None); // rank 0 holds every spike and writes all outputs
        };
        let summary = RunSummary {
            simulated_ms,
            requested_ms: tstop,
            interrupted: stats.interrupted,
            build: self.build,
            simulate,
            write: Duration::ZERO,
            threads,
            n_synapses: self.n_synapses,
            events: stats.events_delivered,
        };
        self.write(outputs, summary).map(Some)
    }

    /// Write every output to its staging name, then commit them all (rank 0).
    fn write(
        mut self,
        outputs: OutputFiles,
        mut summary: RunSummary,
    ) -> Result<RunResult, SimError> {
        let t_write = Instant::now();
        let dt = self.settings.dt;
        let net = &self.net;
        let mut pops: Vec<PopSpikes> = net
            .populations
            .iter()
            .map(|p| PopSpikes {
                population: p.name.clone(),
                n_cells: p.node_ids.len(),
                ..Default::default()
            })
            .collect();
        for &(stamp, gid) in &self.engine.spikes {
            let k = net.populations.partition_point(|p| p.first <= gid) - 1;
            let p = &net.populations[k];
            pops[k].node_ids.push(p.node_ids[(gid - p.first) as usize]);
            pops[k].times.push(stamp_ms(stamp, dt));
        }
        let out = &self.cfg.output;
        let staged = |p: &Option<PathBuf>| p.as_ref().map(|p| outputs.staging(p));
        let (h5, csv) = (staged(&out.spikes_file), staged(&out.spikes_file_csv));
        let png = self
            .settings
            .raster
            .as_ref()
            .filter(|_| summary.simulated_ms > 0.0)
            .map(|p| (p.clone(), outputs.staging(p)));
        let title = self
            .cfg
            .config_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let trains = png.as_ref().map(|_| pops_as_trains(&pops));
        let circuit = &self.circuit;
        let simulated_ms = summary.simulated_ms;
        // The raster is drawn while the spike files are written: independent outputs, and the
        // second core is idle after a 1-thread simulation.
        let (written, plotted) = std::thread::scope(|s| {
            let plot = png
                .as_ref()
                .zip(trains.as_ref())
                .map(|((_, staging), trains)| {
                    s.spawn(move || {
                        crate::cli::plot::write_run_raster(
                            trains,
                            circuit,
                            simulated_ms,
                            staging,
                            &title,
                        )
                    })
                });
            let written = write_spike_files(
                &pops,
                h5.as_deref(),
                csv.as_deref(),
                out.spikes_sort_order,
                out.compression,
            );
            let plotted = plot.map(|h| h.join().expect("raster plot thread panicked"));
            (written, plotted)
        });
        written?;
        if let Some(r) = plotted {
            r.map_err(|e| SimError::Plot(format!("{e:#}")))?;
        }
        if let Some(reports) = self.reports.take() {
            reports.finish()?;
        }
        if out.spikes_file_nwb.is_some() {
            self.log
                .warn("spikes_file_nwb is not supported; no NWB spike file written");
        }
        let cfg_copy = outputs.dir().join("config.json");
        if summary.interrupted {
            // the copy records what was run: a truncated run simulated up to simulated_ms (plot
            // windows end there), and says what was asked for
            if let Some(serde_json::Value::Object(r)) = self.cfg.resolved.get_mut("run") {
                r.insert("tstop".into(), serde_json::json!(summary.simulated_ms));
                r.insert(
                    "tstop_requested".into(),
                    serde_json::json!(summary.requested_ms),
                );
            }
        }
        let text = serde_json::to_string_pretty(&self.cfg.resolved)
            .map_err(|e| SimError::Invalid(format!("{}: {e}", cfg_copy.display())))?;
        write_atomic(&outputs.staging(&cfg_copy), text.as_bytes())?;
        summary.write = t_write.elapsed();
        let table = summary_table(&pops, &summary);
        for l in table.lines() {
            self.log.info(l);
        }
        // the log is written last and names every file; it is committed with the others
        let log_file = self.cfg.output.log_file.clone();
        if let Some(lf) = &log_file {
            std::fs::write(outputs.staging(lf), b"").map_err(|e| OutputError::Io {
                path: lf.clone(),
                msg: e.to_string(),
            })?;
        }
        let preview = outputs.preview();
        let overwrite = self.cfg.run.as_ref().is_none_or(|r| r.overwrite_output_dir);
        if !overwrite && !preview.replaced.is_empty() {
            // BMTK warns too, and writes over its files all the same
            self.log.warn(
                "overwrite_output_dir is false but the folder holds files of an earlier run: replacing them (BMTK does the same; glifnet never removes files it did not write)",
            );
        }
        for f in &preview.written {
            let verb = if preview.replaced.contains(f) {
                "Replaced"
            } else {
                "Wrote"
            };
            self.log.info(format!("{verb} {}", f.display()));
        }
        for f in &preview.removed {
            self.log.info(format!(
                "Removed {} (written by the previous run, not by this one)",
                f.display()
            ));
        }
        if let Some(lf) = &log_file {
            self.log.write(&outputs.staging(lf))?;
        }
        let files = outputs.commit()?;
        Ok(RunResult {
            populations: pops,
            summary,
            table,
            files,
            log: self.log.lines().to_vec(),
        })
    }
}

/// The run's spikes as spike trains (input of the raster plot).
fn pops_as_trains(pops: &[PopSpikes]) -> crate::sonata::spikes::SpikeTrains {
    crate::sonata::spikes::SpikeTrains {
        populations: pops
            .iter()
            .map(|p| {
                crate::sonata::spikes::PopulationSpikes::new(
                    p.population.clone(),
                    p.node_ids.clone(),
                    p.times.clone(),
                )
            })
            .collect(),
    }
}
