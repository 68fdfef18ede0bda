//! `glifnet run CONFIG` (issue #5): load a BMTK PointNet config, lower the SONATA circuit, run
//! the engine with a progress bar, and write spikes, `log.txt`, the config copy and a summary.
//!
//! Paths in the config resolve like BMTK's (relative to the working directory). `--threads`
//! overrides `run.n_thread`; the spikes do not depend on it. Ctrl-C stops at the next epoch
//! boundary and the spikes simulated so far are written (the log says the run was truncated).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};

use crate::config::SimulationConfig;
use crate::distributed::Session;
use crate::engine::{model_group::build_engine, EngineInput, NoProbes};
use crate::inputs::{build_drive_for, driven_virtual_populations, ms_to_steps, DriveFilter};
use crate::network::{add_synapses, lower, lower_nodes};
use crate::output::{
    prepare_output_dir, stamp_ms, summary_table, write_config_copy, write_spike_files, Log,
    PopSpikes, RunSummary,
};
use crate::sonata::{Circuit, EdgeSelection};

/// Arguments of `glifnet run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// BMTK simulation config (e.g. config.simulation.json), resolved like BMTK (relative paths
    /// from the working directory).
    pub config: PathBuf,
    /// Worker threads (default: the config's run.n_thread, else 1). Results are identical for
    /// any value.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Override run.tstop (ms).
    #[arg(long)]
    pub tstop: Option<f64>,
    /// Override run.dt (ms).
    #[arg(long)]
    pub dt: Option<f64>,
    /// Override output.output_dir (the output file names stay).
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// No progress bar and no summary table.
    #[arg(long)]
    pub quiet: bool,
    /// Do not write raster.png into the output folder.
    #[arg(long)]
    pub no_plot: bool,
}

/// Move `p` from under `old` to under `new` (for `--output-dir`).
fn rebase(p: &Path, old: &Path, new: &Path) -> PathBuf {
    match p.strip_prefix(old) {
        Ok(rel) => new.join(rel),
        Err(_) => match p.file_name() {
            Some(n) if p.is_relative() => new.join(n),
            _ => p.to_path_buf(),
        },
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // under `mpirun` (feature `mpi`): an error on any rank aborts every rank
    let mut dist = Session::from_env()?;
    let result = run_on(args, dist.as_mut());
    if let (Err(e), Some(d)) = (&result, &dist) {
        d.abort(&super::one_line_error(e));
    }
    result
}

/// The run of this process; `dist` is its MPI session (rank 0 writes every output).
fn run_on(args: Args, mut dist: Option<&mut Session>) -> anyhow::Result<()> {
    let root = dist.as_ref().is_none_or(|d| d.is_root());
    let t_build = Instant::now();
    let mut cfg = SimulationConfig::load(&args.config)?;
    let Some(run_cfg) = cfg.run.clone() else {
        bail!(
            "{}: missing required section run (tstop, dt)",
            args.config.display()
        );
    };
    let dt = args.dt.unwrap_or(run_cfg.dt);
    let tstop = args.tstop.unwrap_or(run_cfg.tstop);
    if !(dt.is_finite() && dt > 0.0) {
        bail!("{}: run.dt = {dt}: must be > 0 ms", args.config.display());
    }
    if !(tstop.is_finite() && tstop >= 0.0) {
        bail!(
            "{}: run.tstop = {tstop}: must be >= 0 ms",
            args.config.display()
        );
    }
    let threads = args.threads.unwrap_or(run_cfg.n_thread).max(1);
    if let Some(new) = &args.output_dir {
        let new = if new.is_absolute() {
            new.clone()
        } else {
            std::env::current_dir()?.join(new)
        };
        let old = cfg.output.output_dir.clone();
        for f in [
            &mut cfg.output.spikes_file,
            &mut cfg.output.spikes_file_csv,
            &mut cfg.output.log_file,
        ]
        .into_iter()
        .flatten()
        .chain(cfg.reports.iter_mut().map(|r| &mut r.file_name))
        {
            *f = rebase(f, &old, &new);
        }
        for r in &mut cfg.reports {
            r.file_name = rebase(&r.file_name, &old, &new);
        }
        cfg.output.output_dir = new;
    }
    // the config copy records what was run
    if let Some(serde_json::Value::Object(r)) = cfg.resolved.get_mut("run") {
        r.insert("dt".into(), serde_json::json!(dt));
        r.insert("tstop".into(), serde_json::json!(tstop));
        r.insert("n_thread".into(), serde_json::json!(threads));
    }
    if let Some(serde_json::Value::Object(o)) = cfg.resolved.get_mut("output") {
        o.insert(
            "output_dir".into(),
            serde_json::json!(cfg.output.output_dir),
        );
    }
    let out_dir = cfg.output.output_dir.clone();
    // BMTK reads the flag from `run` (PointNet) and from `output` (environment setup); glifnet
    // overwrites when either says true explicitly and otherwise refuses to clobber a folder.
    let flag = |m: &serde_json::Map<String, serde_json::Value>| {
        m.get("overwrite_output_dir").and_then(|v| v.as_bool()) == Some(true)
    };
    let overwrite = flag(&run_cfg.raw) || flag(&cfg.output.raw);
    let mut log = Log::new();
    log.info(format!(
        "Created log file (glifnet {})",
        env!("CARGO_PKG_VERSION")
    ));
    log.info(format!("config {}", cfg.config_path.display()));

    // everything that can fail on user data happens before the output folder is touched
    log.info("Building cells.");
    // under MPI: nodes first, then only the edges onto this rank's neurons (issue #8)
    let no_edges = EdgeSelection::Targets(Default::default());
    let mut circuit = match dist {
        Some(_) => Circuit::load_selected(&cfg, &no_edges)?,
        None => Circuit::load(&cfg)?,
    };
    let driven = driven_virtual_populations(&cfg, &circuit)?;
    let active = |p: &str| driven.iter().any(|d| d == p);
    let mut net = match dist.as_mut() {
        None => lower(&circuit, dt, &active)?,
        Some(d) => {
            let mut net = lower_nodes(&circuit, dt, &active)?;
            let sel = d.decompose(&circuit, &net)?;
            circuit.load_edges(&cfg.networks, &sel)?;
            add_synapses(&mut net, &circuit)?;
            net
        }
    };
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
    let n_steps = ms_to_steps(tstop, dt).max(0) as u64;
    let n_synapses = totals.iter().sum::<u64>() as usize;
    let input = EngineInput {
        n_neurons: net.n_neurons,
        n_virtual: net.n_virtual,
        // the engine keeps its own per-chunk copy; the network's is not needed any more
        synapses: std::mem::take(&mut net.synapses),
        virtual_spikes: drive.virtual_spikes,
        currents: drive.currents,
        direct: drive.direct,
        n_steps,
    };
    // membrane reports (issue #7): config blocks -> engine probes + streaming report writers
    let plan = crate::output::reports::plan_reports(&cfg, &circuit, &net, dt, tstop)?;
    for s in &plan.skipped {
        log.warn(format!("report {s} is not supported by glifnet; skipped"));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    let mut engine = match dist.as_mut() {
        Some(d) => d.build_engine(&net, input, threads, plan.probes)?,
        // in the pool: the chunking is timed on these threads
        None => pool.install(|| build_engine(&net, input, threads, plan.probes))?,
    };
    let mut reports = None;
    if root {
        prepare_output_dir(&out_dir, overwrite)?;
        reports = Some(crate::output::reports::Reports::create(&plan.specs)?);
    }
    let build = t_build.elapsed();

    // simulate
    let stop = Arc::new(AtomicBool::new(false));
    {
        let s = stop.clone();
        // a second handler registration (e.g. in tests calling run twice) is not an error
        let _ = ctrlc::set_handler(move || s.store(true, Ordering::Relaxed));
    }
    let pb = progress_bar(args.quiet || !root, tstop);
    log.info(format!(
        "Running simulation for {tstop:.3} ms with the time step {dt} ms ({n_steps} steps, epochs of {} steps, {threads} thread(s))",
        engine.epoch_steps()
    ));
    if !engine.chunking.is_empty() {
        log.info(format!("Parallel work: {}", engine.chunking));
    }
    let (packed, n_chunks) = engine.packed_chunks();
    log.info(format!(
        "Spike delivery: {packed} of {n_chunks} chunk(s) queue synapses as 4-byte (offset, weight index) pairs, the others as 16-byte (offset, weight)"
    ));
    let t_sim = Instant::now();
    let mut last = Instant::now();
    let mut progress = |done| {
        if last.elapsed().as_millis() >= 100 || done == n_steps {
            let ms = stamp_ms(done, dt);
            let rate = ms / t_sim.elapsed().as_secs_f64().max(1e-9);
            pb.set_position((ms * 1000.0) as u64);
            pb.set_message(format!("{ms:.1}/{tstop:.1} ms ({rate:.1} ms/s)"));
            last = Instant::now();
        }
    };
    let stats = match (dist.as_mut(), reports.as_mut()) {
        (Some(d), Some(r)) => d.run(&mut engine, &pool, Some(&stop), &mut progress, r)?,
        (Some(d), None) => d.run(
            &mut engine,
            &pool,
            Some(&stop),
            &mut progress,
            &mut NoProbes,
        )?,
        (None, Some(r)) => pool.install(|| engine.run(Some(&stop), r, &mut progress)),
        (None, None) => pool.install(|| engine.run(Some(&stop), &mut NoProbes, &mut progress)),
    };
    let simulate = t_sim.elapsed();
    pb.finish_and_clear();
    if engine.recuts() > 0 {
        log.info(format!(
            "Load balance: re-cut the chunks {} time(s) during the run, last to {}",
            engine.recuts(),
            engine.chunking
        ));
    }
    let simulated_ms = stamp_ms(stats.steps_done, dt);
    if stats.interrupted {
        log.warn(format!(
            "Interrupted (Ctrl-C): simulation truncated at {simulated_ms:.3} of {tstop:.3} ms; writing the spikes simulated so far"
        ));
    } else {
        log.info("Simulation finished.");
    }
    if let Some(d) = &dist {
        for l in d.summary() {
            log.info(l);
        }
    }
    if !root {
        return Ok(()); // rank 0 holds every spike and writes all outputs
    }

    // write
    let t_write = Instant::now();
    let mut pops: Vec<PopSpikes> = net
        .populations
        .iter()
        .map(|p| PopSpikes {
            population: p.name.clone(),
            n_cells: p.node_ids.len(),
            ..Default::default()
        })
        .collect();
    for &(stamp, gid) in &engine.spikes {
        let k = net.populations.partition_point(|p| p.first <= gid) - 1;
        let p = &net.populations[k];
        pops[k].node_ids.push(p.node_ids[(gid - p.first) as usize]);
        pops[k].times.push(stamp_ms(stamp, dt));
    }
    let png = (!args.no_plot && simulated_ms > 0.0).then(|| out_dir.join("raster.png"));
    let title = cfg
        .config_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let trains = png.as_ref().map(|_| pops_as_trains(&pops));
    // The raster is drawn while the spike files are written: independent outputs, and the
    // second core is idle after a 1-thread simulation.
    let (written, plotted) = std::thread::scope(|s| {
        let plot = png.as_ref().zip(trains.as_ref()).map(|(png, trains)| {
            s.spawn(|| {
                crate::cli::plot::write_run_raster(trains, &circuit, simulated_ms, png, &title)
            })
        });
        let written = write_spike_files(
            &pops,
            cfg.output.spikes_file.as_deref(),
            cfg.output.spikes_file_csv.as_deref(),
            cfg.output.spikes_sort_order,
            cfg.output.compression,
        );
        let plotted = plot.map(|h| h.join().expect("raster plot thread panicked"));
        (written, plotted)
    });
    let written = match written {
        Ok(w) => w,
        Err(e) => {
            // no raster without the spike files it shows
            if let Some(p) = &png {
                let _ = std::fs::remove_file(p);
            }
            return Err(e.into());
        }
    };
    for w in &written {
        log.info(format!("Wrote spikes to {}", w.display()));
    }
    if let (Some(r), Some(png)) = (plotted, &png) {
        r?;
        log.info(format!("Wrote raster plot {}", png.display()));
    }
    if let Some(reports) = reports {
        for r in reports.finish()? {
            log.info(format!("Wrote report {}", r.display()));
        }
    }
    if cfg.output.spikes_file_nwb.is_some() {
        log.warn("spikes_file_nwb is not supported; no NWB spike file written");
    }
    write_config_copy(&out_dir, &cfg.resolved)?;
    let summary = RunSummary {
        simulated_ms,
        requested_ms: tstop,
        interrupted: stats.interrupted,
        build,
        simulate,
        write: t_write.elapsed(),
        threads,
        n_synapses,
        events: stats.events_delivered,
    };
    let table = summary_table(&pops, &summary);
    for l in table.lines() {
        log.info(l);
    }
    if let Some(lf) = &cfg.output.log_file {
        log.write(lf)?;
    }
    if !args.quiet {
        eprint!("{table}");
        for w in &written {
            eprintln!("spikes: {}", w.display());
        }
    }
    Ok(())
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

/// Progress in simulated µs (so sub-ms dt shows movement); hidden when stderr is not a TTY.
fn progress_bar(quiet: bool, tstop: f64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new((tstop * 1000.0) as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {msg} ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    pb.with_finish(indicatif::ProgressFinish::AndClear)
}
