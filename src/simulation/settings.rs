//! The run's settings from the config and the front end's overrides, resolved in one place:
//! dt, tstop and their step count, the thread count, the output folder and the file plan.

use std::path::{Path, PathBuf};

use super::SimError;
use crate::config::SimulationConfig;
use crate::inputs::{tics_per_step, TICS_PER_MS};
use crate::network::Network;
use crate::output::files::OutputFiles;

/// The most worker threads per core a run uses (more only slow it down).
pub const MAX_THREADS_PER_CORE: usize = 4;

/// What a front end may override in a config (each `None` keeps the config's value).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `run.tstop` (ms).
    pub tstop: Option<f64>,
    /// `run.dt` (ms).
    pub dt: Option<f64>,
    /// `output.output_dir`; output files inside the configured folder move with it.
    pub output_dir: Option<PathBuf>,
    /// Worker threads; 0 = every core this process may use.
    pub threads: Option<usize>,
    /// Skip `raster.png`.
    pub no_plot: bool,
    /// Weight functions named by edge types (`weight_function`) that are not built in, e.g.
    /// the Python functions of a BMTK run script; without them such edge types are an error.
    pub weight_functions: Option<std::sync::Arc<dyn super::WeightFunctions>>,
}

/// The resolved settings of one run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub dt: f64,
    pub tstop: f64,
    pub n_steps: u64,
    pub threads: usize,
    /// Where the thread count came from (for the front end's message).
    pub threads_from: &'static str,
    pub output_dir: PathBuf,
    /// `raster.png` in the output folder, unless `no_plot`.
    pub raster: Option<PathBuf>,
    /// Things the user should know (also logged).
    pub warnings: Vec<String>,
}

/// The cores this process may use (its affinity mask: under `mpirun` a rank's share).
pub fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Move `p` from under `old` to under `new` (for `--output-dir`): files inside the configured
/// folder keep their place relative to it, bare relative names follow the folder, absolute
/// paths elsewhere stay.
fn rebase(p: &Path, old: &Path, new: &Path) -> PathBuf {
    match p.strip_prefix(old) {
        Ok(rel) => new.join(rel),
        Err(_) => match p.file_name() {
            Some(n) if p.is_relative() => new.join(n),
            _ => p.to_path_buf(),
        },
    }
}

impl Settings {
    /// Resolve dt, tstop, threads and the output folder; the overrides are written into the
    /// config (its copy in the output folder records what was run).
    pub fn resolve(cfg: &mut SimulationConfig, ov: &Overrides) -> Result<Settings, SimError> {
        let file = cfg.config_path.display().to_string();
        let Some(run) = cfg.run.clone() else {
            return Err(SimError::Invalid(format!(
                "{file}: missing required section run (tstop, dt)"
            )));
        };
        // errors name where the value came from: the command line or the config file
        let src = |flag: &str, field: &str, over: bool| {
            if over {
                format!("{flag} (command line)")
            } else {
                format!("{file}: {field}")
            }
        };
        let dt = ov.dt.unwrap_or(run.dt);
        let tstop = ov.tstop.unwrap_or(run.tstop);
        let dt_src = src("--dt", "run.dt", ov.dt.is_some());
        let tstop_src = src("--tstop", "run.tstop", ov.tstop.is_some());
        if !(dt.is_finite() && dt > 0.0) {
            return Err(SimError::Invalid(format!(
                "{dt_src} = {dt}: must be a finite number > 0 ms"
            )));
        }
        if !(tstop.is_finite() && tstop >= 0.0) {
            return Err(SimError::Invalid(format!(
                "{tstop_src} = {tstop}: must be a finite number >= 0 ms"
            )));
        }
        let n_steps = whole_steps(tstop, dt).ok_or_else(|| {
            SimError::Invalid(format!(
                "{tstop_src} = {tstop} ms is not a multiple of {dt_src} = {dt} ms (NEST refuses it too; round tstop to a whole number of steps)"
            ))
        })?;
        let mut warnings = Vec::new();
        let cores = available_cores();
        let (asked, threads_from) = match (ov.threads, run.raw.get("n_thread")) {
            (Some(n), _) => (n, "--threads"),
            (None, Some(_)) => (run.n_thread, "run.n_thread"),
            (None, None) => (0, "default: all cores"),
        };
        let what = if ov.threads.is_some() {
            "--threads (command line)".to_string()
        } else {
            format!("{file}: run.n_thread")
        };
        // Past a few threads per core, oversubscribed chunks only add switching and re-cuts
        // (1,024 threads ran v1_l4 in 4 minutes instead of 0.3 s): bound, say so, go on.
        let bound = MAX_THREADS_PER_CORE * cores;
        let threads = match asked {
            0 => cores,
            n if n > bound => {
                warnings.push(format!(
                    "{what} = {asked}: using {bound} threads ({MAX_THREADS_PER_CORE} per core on {cores} core(s) at most; the results are the same for any count)"
                ));
                bound
            }
            n => n,
        };
        if threads > cores && asked <= bound {
            warnings.push(format!(
                "{threads} threads on {cores} core(s): the results are the same for any thread count, but more threads than cores only slow the run"
            ));
        }
        if let Some(new) = &ov.output_dir {
            let new = if new.is_absolute() {
                new.clone()
            } else {
                std::env::current_dir()
                    .map_err(|e| SimError::Invalid(format!("--output-dir: {e}")))?
                    .join(new)
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
        let output_dir = cfg.output.output_dir.clone();
        Ok(Settings {
            dt,
            tstop,
            n_steps,
            threads,
            threads_from,
            raster: (!ov.no_plot).then(|| output_dir.join("raster.png")),
            output_dir,
            warnings,
        })
    }

    /// Every file this run may write, with the config field that names it; collisions with
    /// each other or with the run's input files are refused here.
    pub fn plan_outputs(&self, cfg: &SimulationConfig) -> Result<OutputFiles, SimError> {
        let o = &cfg.output;
        let mut outs: Vec<(String, PathBuf)> = Vec::new();
        let mut add = |f: &str, p: &Option<PathBuf>| {
            if let Some(p) = p {
                outs.push((format!("output.{f}"), p.clone()));
            }
        };
        add("spikes_file", &o.spikes_file);
        add("spikes_file_csv", &o.spikes_file_csv);
        add("log_file", &o.log_file);
        for r in &cfg.reports {
            let n = r.variable_name.len();
            for v in &r.variable_name {
                let f = crate::output::reports::file_for_variable(&r.file_name, v, n);
                outs.push((format!("reports.{}.file_name", r.name), f));
            }
        }
        outs.push((
            "the config copy".into(),
            self.output_dir.join("config.json"),
        ));
        if let Some(p) = &self.raster {
            outs.push(("the raster plot".into(), p.clone()));
        }
        let mut inputs: Vec<(String, PathBuf)> = cfg
            .config_files
            .iter()
            .map(|p| ("a config file".to_string(), p.clone()))
            .collect();
        for n in &cfg.networks.nodes {
            inputs.push(("networks.nodes.nodes_file".into(), n.nodes_file.clone()));
            inputs.push((
                "networks.nodes.node_types_file".into(),
                n.node_types_file.clone(),
            ));
        }
        for e in &cfg.networks.edges {
            inputs.push(("networks.edges.edges_file".into(), e.edges_file.clone()));
            inputs.push((
                "networks.edges.edge_types_file".into(),
                e.edge_types_file.clone(),
            ));
        }
        for i in &cfg.inputs {
            if let Some(f) = &i.input_file {
                inputs.push((format!("inputs.{}.input_file", i.name), f.clone()));
            }
        }
        Ok(OutputFiles::plan(&self.output_dir, outs, &inputs)?)
    }
}

/// `tstop / dt` as a whole number of steps, in NEST's tics (0.001 ms) when dt is a whole
/// number of tics; `None` when tstop is not a multiple of dt.
pub fn whole_steps(tstop: f64, dt: f64) -> Option<u64> {
    let t = (tstop * TICS_PER_MS).round();
    match tics_per_step(dt) {
        Some(d) if t < i64::MAX as f64 => {
            let t = t as i64;
            (t % d == 0).then_some((t / d) as u64)
        }
        _ => {
            let n = (tstop / dt).round();
            let close = (n * dt - tstop).abs() <= 1e-9 * tstop.max(dt);
            (close && n < u64::MAX as f64).then_some(n as u64)
        }
    }
}

/// Spike files name an h5 group after each population: refuse names that cannot be one before
/// the simulation, not after it.
pub fn check_population_names(net: &Network) -> Result<(), SimError> {
    for p in &net.populations {
        let n = &p.name;
        if n.is_empty() || n == "." || n == ".." || n.contains('/') || n.contains('\0') {
            return Err(SimError::Invalid(format!(
                "node population name \"{}\": cannot name a spike group (no '/', not empty)",
                crate::limits::clip(n)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_steps_in_tics() {
        assert_eq!(whole_steps(1000.0, 0.1), Some(10_000));
        assert_eq!(whole_steps(3000.0, 0.001), Some(3_000_000));
        assert_eq!(whole_steps(10.0, 0.03), None);
        assert_eq!(whole_steps(0.0, 0.1), Some(0));
        assert_eq!(whole_steps(1.0, 0.25), Some(4));
        assert_eq!(whole_steps(1.0, 0.0001), Some(10_000)); // below a tic
    }

    #[test]
    fn rebase_keeps_places_inside_the_folder() {
        let (old, new) = (Path::new("/a/output"), Path::new("/a/output/sub"));
        assert_eq!(
            rebase(Path::new("/a/output/v.h5"), old, new),
            Path::new("/a/output/sub/v.h5")
        );
        assert_eq!(
            rebase(Path::new("x.h5"), old, new),
            Path::new("/a/output/sub/x.h5")
        );
        assert_eq!(rebase(Path::new("/b/x.h5"), old, new), Path::new("/b/x.h5"));
    }
}
