//! Membrane-report recorder: receives the engine's probe rows and streams them into SONATA
//! report files (one file per report block and variable; writer in `sonata::report`).
//!
//! Why one file per variable: BMTK's PointNet writes one `data` dataset per report file (it
//! keeps only the first variable of a multi-variable multimeter), and readers expect `data`
//! to hold a single variable. A block recording `[V_m, threshold]` into `v.h5` therefore gives
//! `v_V_m.h5` and `v_threshold.h5`; a single variable keeps the configured name.

use std::path::{Path, PathBuf};

use crate::sonata::report::{ReportError, ReportLayout, ReportWriter};

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
