//! External drive: virtual spike trains, Poisson sources and current clamps, turned into the
//! engine's step-indexed events.
//!
//! Timing follows NEST as BMTK drives it (sonata-bmtk.md §6.1, §6.4; glif.md §3.6):
//! * a virtual spike at `t` (spike_generator, `precise_times: true`) is stamped at the end of
//!   step `ceil(t/dt)` computed on NEST's tic grid ([`stamp_step`]), i.e. it is *emitted* in step
//!   `stamp − 1` and reaches a target through delay `d` steps in step `stamp − 1 + d`;
//! * a current clamp is a step_current_generator connected with delay `dt`: an amplitude change at
//!   `T` is delivered in step `T/dt` and acts on the membrane from the next step;
//! * the Poisson extension (`input_type: "poisson"`, glifnet only) behaves like a virtual spike
//!   train with delay `dt` onto each target, drawn from a counter-based generator keyed by
//!   `(seed, node id)`, so it never depends on thread count or node order.

use crate::engine::{CurrentSteps, DirectEvent};
use std::path::{Path, PathBuf};

/// Input errors name the file (or config block), the field and the offending value.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{}: spike time {time} ms of node {node} must be > 0 (BMTK rejects times <= 0)", file.display())]
    NonPositiveTime { file: PathBuf, node: u64, time: f64 },
    #[error("{}: spike time {time} ms of node {node} is not a finite number", file.display())]
    BadTime { file: PathBuf, node: u64, time: f64 },
    /// A field of an `inputs` block; `file` is the simulation config (filled in by
    /// [`build_drive_for`](crate::inputs::build_drive_for)).
    #[error("{}: inputs.{input}.{field}: {msg}", file.display())]
    Field {
        file: PathBuf,
        input: String,
        field: String,
        msg: String,
    },
    #[error("{}: {msg}", file.display())]
    File { file: PathBuf, msg: String },
    /// A spike file that could not be read (the error names the file).
    #[error(transparent)]
    Spikes(#[from] crate::sonata::spikes::SpikeError),
    /// A node set that selects nothing usable (the error names the config file and field).
    #[error(transparent)]
    Circuit(#[from] crate::sonata::SonataError),
}

/// Ticks per ms of NEST's time base (its compiled-in default).
pub const TICS_PER_MS: f64 = 1000.0;

/// NEST's tics per step for resolution `dt` (None when `dt` is not a whole number of tics).
pub fn tics_per_step(dt: f64) -> Option<i64> {
    let t = (dt * TICS_PER_MS).round();
    ((t - dt * TICS_PER_MS).abs() < 1e-9 * t.max(1.0) && t >= 1.0).then_some(t as i64)
}

/// Step whose *end* is the NEST stamp of time `t_ms` (the smallest grid time ≥ t, computed
/// on NEST's tic grid: truncate to tics, round down to a step, add a step if still below `t`).
pub fn stamp_step(t_ms: f64, dt: f64) -> u64 {
    match tics_per_step(dt) {
        Some(tps) => {
            let mut n = (t_ms * TICS_PER_MS) as i64;
            n -= n.rem_euclid(tps);
            let ms = n as f64 * (1.0 / tps as f64) * (tps as f64 / TICS_PER_MS);
            if ms < t_ms {
                // saturating: a time past i64 tics must stay far in the future, not wrap
                n = n.saturating_add(tps);
            }
            (n / tps).max(0) as u64
        }
        None => (t_ms / dt - 1e-9).ceil().max(0.0) as u64,
    }
}

/// Steps of a duration in ms as NEST converts times and delays: round to tics, then to steps.
pub fn ms_to_steps(ms: f64, dt: f64) -> i64 {
    match tics_per_step(dt) {
        Some(tps) => {
            let tics = (ms * TICS_PER_MS).round() as i64;
            (tics as f64 / tps as f64).round() as i64
        }
        None => (ms / dt).round() as i64,
    }
}

/// Turn one virtual population's spike trains into `(emission step, virtual index)` events.
/// `index_of(node_id)` maps a node id of the population to its virtual index (nodes absent from
/// the population are ignored, as in BMTK). Times ≤ 0 are fatal (BMTK's rule).
pub fn virtual_events(
    file: &Path,
    node_ids: &[u64],
    times: &[f64],
    dt: f64,
    index_of: &dyn Fn(u64) -> Option<u32>,
) -> Result<Vec<(u64, u32)>, InputError> {
    let mut out = Vec::with_capacity(times.len());
    for (&node, &t) in node_ids.iter().zip(times) {
        if !t.is_finite() {
            return Err(InputError::BadTime {
                file: file.to_path_buf(),
                node,
                time: t,
            });
        }
        let Some(v) = index_of(node) else { continue };
        if t <= 0.0 {
            return Err(InputError::NonPositiveTime {
                file: file.to_path_buf(),
                node,
                time: t,
            });
        }
        out.push((stamp_step(t, dt) - 1, v));
    }
    // a stable sort keeps a node's repeated spikes in file order (each is a separate event)
    out.sort_by_key(|e| (e.0, e.1));
    Ok(out)
}

/// A current clamp: steps of amplitude `amps[i]` pA from `delays[i]` for `durations[i]` ms
/// (BMTK IClamp, scalars broadcast), or an explicit `(time, amp)` table (the csv variant).
#[derive(Debug, Clone, PartialEq)]
pub enum Clamp {
    Steps {
        amps: Vec<f64>,
        delays: Vec<f64>,
        durations: Vec<f64>,
    },
    Table(Vec<(f64, f64)>),
}

impl Clamp {
    /// Amplitude changes `(time ms, amp pA)`, as the step_current_generator receives them.
    pub fn changes(&self) -> Vec<(f64, f64)> {
        match self {
            Clamp::Table(t) => t.clone(),
            Clamp::Steps {
                amps,
                delays,
                durations,
            } => {
                let mut v = Vec::new();
                for i in 0..amps.len() {
                    v.push((delays[i], amps[i]));
                    v.push((delays[i] + durations[i], 0.0));
                }
                // a later "on" at the same time as an earlier "off" wins
                v.sort_by(|a, b| a.0.total_cmp(&b.0));
                let mut out: Vec<(f64, f64)> = Vec::new();
                for (t, a) in v {
                    match out.last_mut() {
                        Some(l) if l.0 == t => {
                            if a != 0.0 {
                                l.1 = a
                            }
                        }
                        _ => out.push((t, a)),
                    }
                }
                out
            }
        }
    }

    /// Breakpoints in delivery steps (amplitude change at `T` delivered in step `T/dt`).
    pub fn steps(&self, dt: f64) -> CurrentSteps {
        self.changes()
            .into_iter()
            .map(|(t, a)| (ms_to_steps(t, dt).max(0) as u64, a))
            .collect()
    }
}

/// Sum several clamps acting on the same neuron into one breakpoint list (NEST adds the current
/// events of all generators into the same slot, in connection order).
pub fn sum_clamps(lists: &[CurrentSteps]) -> CurrentSteps {
    let mut times: Vec<u64> = lists.iter().flatten().map(|p| p.0).collect();
    times.sort_unstable();
    times.dedup();
    times
        .into_iter()
        .map(|t| {
            let mut total = 0.0;
            for l in lists {
                let k = l.partition_point(|p| p.0 <= t);
                if k > 0 {
                    total += l[k - 1].1;
                }
            }
            (t, total)
        })
        .collect()
}

/// Parse a clamp table file: whitespace- (or `separator`-) separated text with a header row
/// naming the time and amplitude columns (BMTK's `csv`/`file` IClamp variant).
pub fn read_clamp_table(
    path: &Path,
    separator: Option<&str>,
    time_col: &str,
    amp_col: &str,
) -> Result<Vec<(f64, f64)>, InputError> {
    let err = |msg: String| InputError::File {
        file: path.to_path_buf(),
        msg,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(format!("cannot read: {}", crate::limits::io_reason(&e))))?;
    let text = crate::limits::strip_bom(&text);
    let split = |l: &str| -> Vec<String> {
        match separator {
            Some(s) if !s.trim().is_empty() => l.split(s).map(|x| x.trim().to_string()).collect(),
            _ => l.split_whitespace().map(str::to_string).collect(),
        }
    };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = split(lines.next().ok_or_else(|| err("empty file".into()))?);
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            err(format!(
                "missing column '{name}' (header: {})",
                crate::limits::clip(header.join(" "))
            ))
        })
    };
    let (ti, ai) = (col(time_col)?, col(amp_col)?);
    let mut rows = Vec::new();
    for (k, l) in lines.enumerate() {
        let f = split(l);
        let get = |i: usize, name: &str| -> Result<f64, InputError> {
            let cell = f.get(i).map(String::as_str).unwrap_or("");
            cell.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    err(format!(
                        "row {}: column '{name}' = '{}': not a finite number (line '{}')",
                        k + 2,
                        crate::limits::clip(cell),
                        crate::limits::clip(l)
                    ))
                })
        };
        rows.push((get(ti, time_col)?, get(ai, amp_col)?));
    }
    if rows.len() < 2 {
        return Err(err(format!("needs at least 2 rows, found {}", rows.len())));
    }
    Ok(rows)
}

/// Counter-based uniform in (0, 1): SplitMix64 finaliser over (seed, node id, counter), so a
/// node's stream depends on nothing but its key.
fn uniform(seed: u64, node: u64, counter: u64) -> f64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(node.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(counter.wrapping_mul(0x94D0_49BB_1331_11EB))
        .wrapping_add(0x2545_F491_4F6C_DD1D);
    for _ in 0..2 {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
    }
    ((z >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// Poisson spike times (ms) of one node on `(start, stop)`: exponential intervals of mean
/// `1000/rate_hz` ms from the counter-based stream of `(seed, node_id)`.
pub fn poisson_times(seed: u64, node_id: u64, rate_hz: f64, start: f64, stop: f64) -> Vec<f64> {
    let mut out = Vec::new();
    if rate_hz <= 0.0 || stop <= start {
        return out;
    }
    let mean = 1000.0 / rate_hz;
    let mut t = start;
    let mut k = 0u64;
    loop {
        t += -uniform(seed, node_id, k).ln() * mean;
        k += 1;
        if t >= stop {
            break;
        }
        out.push(t);
    }
    out
}

/// Poisson drive of one neuron as direct ring-buffer events: a spike at `t` acts like a virtual
/// spike through a delay of one step (delivered in step `stamp(t)`).
#[allow(clippy::too_many_arguments)]
pub fn poisson_events(
    gid: u32,
    node_id: u64,
    seed: u64,
    rate_hz: f64,
    start: f64,
    stop: f64,
    weight: f64,
    port: u16,
    dt: f64,
    out: &mut Vec<DirectEvent>,
) {
    let start = start.max(0.0);
    for t in poisson_times(seed, node_id, rate_hz, start, stop) {
        if t > 0.0 {
            out.push((stamp_step(t, dt), gid, port, weight));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_is_ceil_on_the_tic_grid() {
        // on-grid times stay put even where t/dt is inexact in binary (1.1/0.1 = 11.000000000000002)
        assert_eq!(stamp_step(1.1, 0.1), 11);
        assert_eq!(stamp_step(0.3, 0.1), 3);
        assert_eq!(stamp_step(1.176, 0.1), 12);
        assert_eq!(stamp_step(1.176, 0.001), 1176);
        assert_eq!(stamp_step(1.1761, 0.001), 1177);
        assert_eq!(stamp_step(2998.693, 0.01), 299870);
        // far beyond the tic range: saturates in the future instead of wrapping to step 0
        assert!(stamp_step(1e300, 0.1) > 1 << 50);
    }

    #[test]
    fn clamp_changes_pair_on_and_off() {
        let c = Clamp::Steps {
            amps: vec![100.0, 50.0],
            delays: vec![10.0, 30.0],
            durations: vec![20.0, 5.0],
        };
        assert_eq!(c.changes(), vec![(10.0, 100.0), (30.0, 50.0), (35.0, 0.0)]);
        assert_eq!(c.steps(0.1), vec![(100, 100.0), (300, 50.0), (350, 0.0)]);
    }

    #[test]
    fn summed_clamps() {
        let s = sum_clamps(&[vec![(10, 1.0), (20, 0.0)], vec![(15, 2.0)]]);
        assert_eq!(s, vec![(10, 1.0), (15, 3.0), (20, 2.0)]);
    }

    #[test]
    fn poisson_stream_is_keyed_and_has_the_rate() {
        let a = poisson_times(7, 3, 50.0, 0.0, 100_000.0);
        let b = poisson_times(7, 3, 50.0, 0.0, 100_000.0);
        assert_eq!(a, b);
        assert_ne!(a, poisson_times(7, 4, 50.0, 0.0, 100_000.0));
        // 5000 expected, sd ~71
        assert!((a.len() as f64 - 5000.0).abs() < 4.0 * 71.0, "{}", a.len());
    }
}

mod setup;
pub use setup::{build_drive, build_drive_for, driven_virtual_populations, Drive, DriveFilter};
