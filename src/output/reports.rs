//! Membrane-report recorder: receives the engine's probe rows and streams them into SONATA
//! report files (one file per report block and variable; writer in `sonata::report`).
//!
//! Why one file per variable: BMTK's PointNet writes one `data` dataset per report file (it
//! keeps only the first variable of a multi-variable multimeter), and readers expect `data`
//! to hold a single variable. A block recording `[V_m, threshold]` into `v.h5` therefore gives
//! `v_V_m.h5` and `v_threshold.h5`; a single variable keeps the configured name.

use std::path::{Path, PathBuf};

use crate::config::SimulationConfig;
use crate::engine::{Probe, ProbeRow, ProbeSink};
use crate::network::Network;
use crate::sonata::report::{default_units, ReportError, ReportLayout, ReportWriter};
use crate::sonata::Circuit;

/// One report file to write: which probe feeds it, and its layout (node columns in the
/// probe's neuron order, first sample time, interval).
#[derive(Debug, Clone)]
pub struct ReportSpec {
    pub file: PathBuf,
    pub layout: ReportLayout,
    /// Index of the engine probe whose rows fill this file.
    pub probe: usize,
    /// Sampling interval in engine steps (to check that rows arrive without gaps).
    pub interval_steps: u64,
    /// Step of the first sample.
    pub first_step: u64,
}

/// The file name for `variable` of a block configured as `file` recording `n_vars` variables.
pub fn file_for_variable(file: &Path, variable: &str, n_vars: usize) -> PathBuf {
    if n_vars <= 1 {
        return file.to_path_buf();
    }
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let ext = file
        .extension()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "h5".into());
    file.with_file_name(format!("{stem}_{variable}.{ext}"))
}

struct Active {
    writer: ReportWriter,
    next_step: u64,
    interval: u64,
}

/// All report writers of a run. Rows for probes without a report are ignored. The first
/// write error is kept and returned by [`Reports::finish`] (the engine's sink cannot fail).
pub struct Reports {
    by_probe: Vec<Option<Active>>,
    error: Option<ReportError>,
}

impl Reports {
    /// Creates every report's temporary file.
    pub fn create(specs: &[ReportSpec]) -> Result<Reports, ReportError> {
        let n = specs.iter().map(|s| s.probe + 1).max().unwrap_or(0);
        let mut by_probe: Vec<Option<Active>> = (0..n).map(|_| None).collect();
        for s in specs {
            let writer = ReportWriter::create(&s.file, &s.layout)?;
            by_probe[s.probe] = Some(Active {
                writer,
                next_step: s.first_step,
                interval: s.interval_steps.max(1),
            });
        }
        Ok(Reports {
            by_probe,
            error: None,
        })
    }

    /// One probe row: the values after `step` engine steps, one per probed neuron.
    pub fn row(&mut self, probe: usize, step: u64, values: &[f64]) {
        if self.error.is_some() {
            return;
        }
        let Some(Some(a)) = self.by_probe.get_mut(probe) else {
            return;
        };
        if step != a.next_step {
            // A gap would silently shift every later sample in time.
            self.error = Some(ReportError::Invalid {
                file: String::from("report"),
                field: "data".into(),
                msg: format!(
                    "engine delivered the sample of step {step}, expected step {}",
                    a.next_step
                ),
            });
            return;
        }
        a.next_step += a.interval;
        if let Err(e) = a.writer.push_rows(values) {
            self.error = Some(e);
        }
    }

    /// Flushes and renames every file; on error the unfinished files are removed.
    pub fn finish(self) -> Result<Vec<PathBuf>, ReportError> {
        if let Some(e) = self.error {
            return Err(e); // dropping the writers deletes their temporary files
        }
        let mut out = Vec::new();
        for a in self.by_probe.into_iter().flatten() {
            match a.writer.finish() {
                Ok(p) => out.push(p),
                Err(e) => {
                    // All or nothing: a run with a failed report leaves no report behind.
                    for p in &out {
                        let _ = std::fs::remove_file(p);
                    }
                    return Err(e);
                }
            }
        }
        Ok(out)
    }
}

/// Report modules that record membrane state (BMTK PointNet `MultimeterMod`, §3.3).
pub const MEMBRANE_MODULES: [&str; 3] = ["membrane_report", "multimeter_report", "multimeter"];

fn cfg_err(cfg: &SimulationConfig, field: String, msg: String) -> ReportError {
    ReportError::Invalid {
        file: cfg.origin_of("reports").display().to_string(),
        field,
        msg,
    }
}

/// What [`plan_reports`] derives from a config: engine probes, the files they feed, and the
/// report blocks glifnet does not implement (to be logged).
#[derive(Debug, Clone, Default)]
pub struct ReportPlan {
    pub probes: Vec<Probe>,
    pub specs: Vec<ReportSpec>,
    pub skipped: Vec<String>,
}

/// Turns the config's membrane `reports` blocks into engine probes and report files.
///
/// Per block: `cells` (node set, default every simulated population), each `variable_name`
/// (one probe and one file each), `dt`/`interval` (a whole number of steps, default one step),
/// `start_time`/`tstart` and `end_time`/`tstop` (ms, default the run). The probe samples after
/// steps `start + k·interval` (NEST multimeter: the first sample at `tstart + interval`).
/// Other report modules are returned by name so the caller can log that they are skipped.
pub fn plan_reports(
    cfg: &SimulationConfig,
    circuit: &Circuit,
    net: &Network,
    dt: f64,
    tstop: f64,
) -> Result<ReportPlan, ReportError> {
    let mut probes = Vec::new();
    let mut specs = Vec::new();
    let mut skipped = Vec::new();
    let n_steps = (tstop / dt).round().max(0.0) as u64;
    for r in &cfg.reports {
        if !MEMBRANE_MODULES.contains(&r.module.as_str()) {
            skipped.push(format!("{} (module {})", r.name, r.module));
            continue;
        }
        let key = |k: &str| format!("reports.{}.{k}", r.name);
        let all: serde_json::Value = serde_json::Value::Array(
            net.populations
                .iter()
                .map(|p| serde_json::Value::String(p.name.clone()))
                .collect(),
        );
        let spec_json = r.cells.clone().unwrap_or(all);
        let sel = circuit
            .select(
                &spec_json,
                &cfg.node_sets,
                cfg.origin_of("reports"),
                &key("cells"),
            )
            .map_err(|e| cfg_err(cfg, key("cells"), e.to_string()))?;
        let mut populations: Vec<(String, Vec<u64>)> = Vec::new();
        let mut neurons: Vec<u32> = Vec::new();
        for s in &sel {
            let Some(p) = net.population(&s.population) else {
                return Err(cfg_err(
                    cfg,
                    key("cells"),
                    format!(
                        "population {} has no simulated cells (virtual nodes cannot be recorded)",
                        s.population
                    ),
                ));
            };
            let mut ids = Vec::with_capacity(s.node_ids.len());
            for &id in &s.node_ids {
                let Some(g) = p.gid(id) else {
                    return Err(cfg_err(
                        cfg,
                        key("cells"),
                        format!(
                            "node {id} of population {} is virtual and cannot be recorded",
                            s.population
                        ),
                    ));
                };
                ids.push(id);
                neurons.push(g);
            }
            populations.push((s.population.clone(), ids));
        }
        if neurons.is_empty() {
            return Err(cfg_err(
                cfg,
                key("cells"),
                format!("node set {spec_json} selects no cells"),
            ));
        }
        let interval_ms = r.interval.unwrap_or(dt);
        let interval = (interval_ms / dt).round();
        if !(interval_ms.is_finite()
            && interval >= 1.0
            && (interval * dt - interval_ms).abs() <= 1e-9 * interval_ms.abs().max(1.0))
        {
            return Err(cfg_err(
                cfg,
                key("dt"),
                format!("sampling interval {interval_ms} ms must be a positive multiple of run.dt = {dt} ms"),
            ));
        }
        let interval = interval as u64;
        let t_start = r.tstart.unwrap_or(0.0);
        let t_stop = r.tstop.unwrap_or(tstop);
        if !(t_start.is_finite() && t_start >= 0.0) {
            return Err(cfg_err(
                cfg,
                key("start_time"),
                format!("{t_start} ms must be >= 0"),
            ));
        }
        if !(t_stop.is_finite() && t_stop >= t_start) {
            return Err(cfg_err(
                cfg,
                key("end_time"),
                format!("{t_stop} ms must be >= start_time {t_start} ms"),
            ));
        }
        let start = (t_start / dt).round() as u64;
        let stop = ((t_stop / dt).round() as u64).min(n_steps);
        if r.variable_name.is_empty() {
            return Err(cfg_err(
                cfg,
                key("variable_name"),
                "no variable given".into(),
            ));
        }
        for var in &r.variable_name {
            for &g in &neurons {
                let (k, _) = net.neuron_kind[g as usize];
                let kind = net.kinds[k as usize].kind;
                if !kind.recordables().contains(&var.as_str()) {
                    return Err(cfg_err(
                        cfg,
                        key("variable_name"),
                        format!(
                            "{var:?} is not recorded by {} (recordables: {})",
                            kind.name(),
                            kind.recordables().join(", ")
                        ),
                    ));
                }
            }
            specs.push(ReportSpec {
                file: file_for_variable(&r.file_name, var, r.variable_name.len()),
                layout: ReportLayout {
                    populations: populations.clone(),
                    variable: var.clone(),
                    units: default_units(var).to_string(),
                    tstart: (start + interval) as f64 * dt,
                    dt: interval as f64 * dt,
                },
                probe: probes.len(),
                interval_steps: interval,
                first_step: start + interval,
            });
            probes.push(Probe {
                neurons: neurons.clone(),
                var: var.clone(),
                interval,
                start,
                stop,
            });
        }
    }
    Ok(ReportPlan {
        probes,
        specs,
        skipped,
    })
}

impl ProbeSink for Reports {
    fn row(&mut self, row: ProbeRow<'_>) {
        Reports::row(self, row.probe, row.step, row.values);
    }
}
