//! `glifnet run CONFIG`: argument parsing, progress and printing around
//! [`crate::simulation::Simulation`], which does the run.
//!
//! Ctrl-C (SIGINT) and SIGTERM (`kill`, `timeout`, Slurm, `docker stop`) stop the run at the
//! next epoch boundary; the outputs then hold what was simulated, and the exit code is
//! 128 + the signal (130, 143) with "truncated at … ms" on stderr. A second signal ends the
//! process at once (the next run removes its staging files).

use std::path::PathBuf;
use std::time::Instant;

use super::signals;
use crate::distributed::Session;
use crate::output::stamp_ms;
use crate::simulation::{Overrides, Simulation};

/// Arguments of `glifnet run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// BMTK simulation config (e.g. config.simulation.json), resolved like BMTK (relative paths
    /// from the working directory).
    pub config: PathBuf,
    /// Worker threads (default: the config's run.n_thread, else every core this process may
    /// use; 0 = every core). Results are identical for any value.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Override run.tstop (ms; a whole number of steps).
    #[arg(long)]
    pub tstop: Option<f64>,
    /// Override run.dt (ms).
    #[arg(long)]
    pub dt: Option<f64>,
    /// Override output.output_dir (output files inside the configured folder move with it).
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// No progress bar and no summary table (errors and interruptions are still reported).
    #[arg(long)]
    pub quiet: bool,
    /// Do not write raster.png into the output folder.
    #[arg(long)]
    pub no_plot: bool,
}

/// A run stopped by a signal: its outputs are written; the process exits with `code`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Interrupted {
    pub code: i32,
    pub message: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    signals::install();
    // under `mpirun` (feature `mpi`): an error on any rank aborts every rank
    let mut dist = Session::from_env()?;
    let result = run_on(args, dist.as_mut());
    if let (Err(e), Some(d)) = (&result, &dist) {
        if e.downcast_ref::<Interrupted>().is_none() {
            d.abort(&super::one_line_error(e));
        }
    }
    result
}

/// The run of this process; `dist` is its MPI session (rank 0 writes every output).
fn run_on(args: Args, dist: Option<&mut Session>) -> anyhow::Result<()> {
    let root = dist.as_ref().is_none_or(|d| d.is_root());
    let overrides = Overrides {
        tstop: args.tstop,
        dt: args.dt,
        output_dir: args.output_dir.clone(),
        threads: args.threads,
        no_plot: args.no_plot,
        ..Default::default()
    };
    let sim = Simulation::from_config(&args.config, &overrides, dist)?;
    let s = sim.settings().clone();
    let show = !args.quiet && root;
    if show {
        for w in &s.warnings {
            eprintln!("warning: {w}");
        }
        eprintln!(
            "glifnet: {:.3} ms at dt {} ms ({} steps), {} thread(s) ({})",
            s.tstop, s.dt, s.n_steps, s.threads, s.threads_from
        );
    }
    if let Some(sig) = signals::received() {
        return Err(Interrupted {
            code: 128 + sig,
            message: format!(
                "glifnet: {} before the simulation started; nothing was written",
                signals::name(sig)
            ),
        }
        .into());
    }
    let pb = progress_bar(!show, s.tstop);
    let t_sim = Instant::now();
    let mut last = Instant::now();
    let mut progress = |done: u64| {
        if last.elapsed().as_millis() >= 100 || done == s.n_steps {
            let ms = stamp_ms(done, s.dt);
            let rate = ms / t_sim.elapsed().as_secs_f64().max(1e-9);
            pb.set_position((ms * 1000.0) as u64);
            pb.set_message(format!("{ms:.1}/{:.1} ms ({rate:.1} ms/s)", s.tstop));
            last = Instant::now();
        }
    };
    let result = sim.run(Some(signals::flag()), &mut progress)?;
    pb.finish_and_clear();
    let Some(r) = result else {
        return Ok(()); // not rank 0: rank 0 reports
    };
    if show {
        eprint!("{}", r.table);
        for f in &r.files.written {
            eprintln!("wrote {}", f.display());
        }
    }
    if r.summary.interrupted {
        let sig = signals::received().unwrap_or(libc::SIGINT);
        return Err(Interrupted {
            code: 128 + sig,
            message: format!(
                "glifnet: {}: simulation truncated at {:.3} of {:.3} ms; the outputs hold what was simulated",
                signals::name(sig),
                r.summary.simulated_ms,
                r.summary.requested_ms
            ),
        }
        .into());
    }
    Ok(())
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
