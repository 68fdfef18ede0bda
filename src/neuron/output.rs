//! Files of a single-cell run: `spikes.csv`, `traces.csv`, `summary.json` (and the plot).
//! Every file is written under a temporary name in the output folder and renamed only when all
//! of them are complete, so a failed run never leaves a half-written set.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{NeuronError, RunOutput};

/// Files staged under temporary names, renamed together by [`Staged::commit`].
#[derive(Debug, Default)]
pub struct Staged {
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    /// Temporary path for the final file `dir/name` (registered for the commit).
    pub fn path_for(&mut self, dir: &Path, name: &str) -> PathBuf {
        // Keep the extension last: the PNG encoder picks the format from it.
        let tmp = dir.join(format!(".tmp-{}-{name}", std::process::id()));
        self.files.push((tmp.clone(), dir.join(name)));
        tmp
    }

    /// Rename every staged file to its final name.
    pub fn commit(mut self) -> Result<(), NeuronError> {
        for (tmp, fin) in std::mem::take(&mut self.files) {
            std::fs::rename(&tmp, &fin).map_err(|e| io_err(&fin, e))?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    /// Remove leftovers of an aborted write.
    fn drop(&mut self) {
        for (tmp, _) in &self.files {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// A number written in its shortest round-trip form (ryu: `5e-6`, `0.018`, `3.7e-13`); `NaN` as
/// is. ryu is several times faster than `Display` for f64, which dominates writing long traces.
pub struct F(pub f64);

impl std::fmt::Display for F {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_finite() {
            f.write_str(ryu::Buffer::new().format_finite(self.0))
        } else {
            write!(f, "{}", self.0)
        }
    }
}

fn io_err(path: &Path, e: std::io::Error) -> NeuronError {
    NeuronError::Io {
        file: path.to_path_buf(),
        msg: e.to_string(),
    }
}

fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>, NeuronError> {
    let f = std::fs::File::create(path).map_err(|e| io_err(path, e))?;
    Ok(std::io::BufWriter::with_capacity(1 << 20, f))
}

/// `grid_time_s,interpolated_time_s`, one row per spike.
pub fn write_spikes(path: &Path, out: &RunOutput) -> Result<(), NeuronError> {
    let mut w = create(path)?;
    let mut go = || -> std::io::Result<()> {
        writeln!(w, "grid_time_s,interpolated_time_s")?;
        for (g, i) in out
            .grid_spike_times
            .iter()
            .zip(&out.interpolated_spike_times)
        {
            writeln!(w, "{},{}", F(*g), F(*i))?;
        }
        w.flush()
    };
    go().map_err(|e| io_err(path, e))
}

/// `t_s,voltage_v,threshold_v,asc_sum_a,stimulus_a`, one row per sample k at t = k·dt; NaN
/// where the trace is NaN (spike cut).
pub fn write_traces(path: &Path, out: &RunOutput, stim: &[f64]) -> Result<(), NeuronError> {
    let mut w = create(path)?;
    let mut go = || -> std::io::Result<()> {
        writeln!(w, "t_s,voltage_v,threshold_v,asc_sum_a,stimulus_a")?;
        for (k, s) in stim.iter().enumerate() {
            let t = k as f64 * out.dt;
            let v = out.voltage.get(k).copied().unwrap_or(f64::NAN);
            let th = out.threshold.get(k).copied().unwrap_or(f64::NAN);
            let a = out.asc_sum.get(k).copied().unwrap_or(f64::NAN);
            writeln!(w, "{},{},{},{},{}", F(t), F(v), F(th), F(a), F(*s))?;
        }
        w.flush()
    };
    go().map_err(|e| io_err(path, e))
}

/// Pretty JSON.
pub fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), NeuronError> {
    let mut w = create(path)?;
    let text = serde_json::to_string_pretty(value).map_err(|e| NeuronError::Io {
        file: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    let mut go = || -> std::io::Result<()> {
        w.write_all(text.as_bytes())?;
        w.write_all(b"\n")?;
        w.flush()
    };
    go().map_err(|e| io_err(path, e))
}
