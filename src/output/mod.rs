//! Recorders and writers: spikes, membrane reports, run summaries, plots.
//!
//! This file: the output folder policy (BMTK's `overwrite_output_dir`), `log.txt` in BMTK's
//! `date time,ms [LEVEL] message` format, the copy of the resolved config, spike files through
//! the `sonata` writers, and the end-of-run summary table. Every file is written to a temporary
//! name and renamed when complete, so an interrupted or failed run never leaves half a file.

pub mod files;
pub mod plot;
pub mod reports;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::SortOrder;
use crate::sonata::spikes::{
    write_spikes_csv, write_spikes_h5_with, PopulationSpikes, SpikeTrains,
};

/// Output errors name the file or folder and what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{}: named by both {first} and {second}; give each output its own file", path.display())]
    Collision {
        path: PathBuf,
        first: String,
        second: String,
    },
    #[error("{}: {msg}", path.display())]
    Io { path: PathBuf, msg: String },
    #[error(transparent)]
    Spikes(#[from] crate::sonata::spikes::SpikeError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |e| OutputError::Io {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

/// Write `bytes` to `path` through a temporary file in the same folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(path)(e)
    })
}

/// BMTK-style run log, kept in memory and written at the end (`log.txt` lines look like
/// `2026-11-28 21:10:03,123 [INFO] Building cells.`).
#[derive(Debug, Default, Clone)]
pub struct Log {
    lines: Vec<String>,
}

impl Log {
    pub fn new() -> Log {
        Log::default()
    }
    pub fn line(&mut self, level: &str, msg: impl AsRef<str>) {
        let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S,%3f");
        self.lines.push(format!("{now} [{level}] {}", msg.as_ref()));
    }
    pub fn info(&mut self, msg: impl AsRef<str>) {
        self.line("INFO", msg)
    }
    pub fn warn(&mut self, msg: impl AsRef<str>) {
        self.line("WARNING", msg)
    }
    pub fn lines(&self) -> &[String] {
        &self.lines
    }
    pub fn write(&self, path: &Path) -> Result<(), OutputError> {
        let mut s = self.lines.join("\n");
        s.push('\n');
        write_atomic(path, s.as_bytes())
    }
}

/// NEST's time of a step stamp: the stamp in tics divided by 1000 tics per ms (what its spike
/// recorder reports; `stamp · dt` differs in the last bit, e.g. 155.00300000000001), so written
/// times equal NEST's to the last bit.
pub fn stamp_ms(stamp: u64, dt: f64) -> f64 {
    let tps = (dt * 1000.0).round();
    if tps >= 1.0 && (tps - dt * 1000.0).abs() < 1e-9 * tps {
        (stamp as f64 * tps) / 1000.0
    } else {
        stamp as f64 * dt
    }
}

/// Spikes of one population as (node ids, times ms), in simulation order.
#[derive(Debug, Clone, Default)]
pub struct PopSpikes {
    pub population: String,
    pub n_cells: usize,
    pub node_ids: Vec<u64>,
    pub times: Vec<f64>,
}

impl PopSpikes {
    /// Mean rate (Hz) over `simulated_ms`; 0 for an empty population or run.
    pub fn rate_hz(&self, simulated_ms: f64) -> f64 {
        let secs = simulated_ms / 1000.0;
        if self.n_cells > 0 && secs > 0.0 {
            self.node_ids.len() as f64 / self.n_cells as f64 / secs
        } else {
            0.0
        }
    }

    /// Percentage of the population's cells that fired at least once.
    pub fn active_pct(&self) -> f64 {
        if self.n_cells == 0 {
            return 0.0;
        }
        let mut ids = self.node_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        100.0 * ids.len() as f64 / self.n_cells as f64
    }
}

/// Write the spike files the config asks for (h5 and/or csv, each sorted as configured).
pub fn write_spike_files(
    pops: &[PopSpikes],
    h5: Option<&Path>,
    csv: Option<&Path>,
    order: SortOrder,
    compress: bool,
) -> Result<Vec<PathBuf>, OutputError> {
    let trains = SpikeTrains {
        populations: pops
            .iter()
            .filter(|p| !p.node_ids.is_empty())
            .map(|p| {
                PopulationSpikes::new(p.population.clone(), p.node_ids.clone(), p.times.clone())
            })
            .collect(),
    };
    // The two files are independent: write them side by side (the h5 one spends its time in
    // gzip, the CSV one formatting numbers).
    let (r5, rc) = std::thread::scope(|s| {
        let t5 = h5.map(|p| s.spawn(|| write_spikes_h5_with(p, &trains, order, compress)));
        let rc = csv.map(|p| write_spikes_csv(p, &trains, order));
        let r5 = t5.map(|t| t.join().expect("spike h5 writer panicked"));
        (r5, rc)
    });
    let mut written = Vec::new();
    let mut failed = None;
    for (r, p) in [(r5, h5), (rc, csv)] {
        match (r, p) {
            (Some(Ok(())), Some(p)) => written.push(p.to_path_buf()),
            (Some(Err(e)), _) => failed = failed.or(Some(e)),
            _ => {}
        }
    }
    if let Some(e) = failed {
        // all or nothing, as when the files were written one after the other
        for p in &written {
            let _ = std::fs::remove_file(p);
        }
        return Err(e.into());
    }
    Ok(written)
}

/// End-of-run numbers for the summary table and the log.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub simulated_ms: f64,
    pub requested_ms: f64,
    pub interrupted: bool,
    pub build: Duration,
    pub simulate: Duration,
    pub write: Duration,
    pub threads: usize,
    pub n_synapses: usize,
    pub events: u64,
}

/// Per population: cells, spikes, mean rate (Hz), percentage of cells that fired.
pub fn summary_table(pops: &[PopSpikes], s: &RunSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:>8} {:>10} {:>10} {:>8}",
        "population", "cells", "spikes", "rate (Hz)", "active"
    );
    for p in pops {
        let (rate, active) = (p.rate_hz(s.simulated_ms), p.active_pct());
        let _ = writeln!(
            out,
            "{:<16} {:>8} {:>10} {:>10.2} {:>7.1}%",
            p.population,
            p.n_cells,
            p.node_ids.len(),
            rate,
            active
        );
    }
    let _ = writeln!(
        out,
        "simulated {:.3} of {:.3} ms{} | build {:.3} s | simulate {:.3} s | write {:.3} s | {} thread(s), {} synapses, {} events",
        s.simulated_ms,
        s.requested_ms,
        if s.interrupted { " (interrupted: truncated)" } else { "" },
        s.build.as_secs_f64(),
        s.simulate.as_secs_f64(),
        s.write.as_secs_f64(),
        s.threads,
        s.n_synapses,
        s.events
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_match_nest_tic_arithmetic() {
        assert_eq!(stamp_ms(21423, 0.001), 21.423);
        assert_eq!(stamp_ms(3, 0.1), 0.3);
        assert_eq!(stamp_ms(155003, 0.001), 155.003);
        assert_eq!(stamp_ms(1231, 0.1), 123.1);
    }

    #[test]
    fn table_has_rates() {
        let p = PopSpikes {
            population: "v1".into(),
            n_cells: 4,
            node_ids: vec![0, 0, 1, 1, 1, 0, 1, 0],
            times: vec![0.0; 8],
        };
        let s = RunSummary {
            simulated_ms: 1000.0,
            requested_ms: 1000.0,
            ..Default::default()
        };
        let t = summary_table(&[p], &s);
        assert!(t.contains("2.00"), "{t}");
        assert!(t.contains("50.0%"), "{t}");
    }
}
