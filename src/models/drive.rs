//! Single-neuron scenario driver: NEST `spike_generator`s and `step_current_generator`s turned
//! into the per-step [`BlockInput`] of one neuron, with NEST's input timing (glif.md §3.6):
//!
//! * a spike emitted at t over delay d is added to the synaptic state at the end of the step
//!   ending at t + d (step index (t + d)/h − 1), so it acts on V from the step starting at t + d;
//! * a step-current amplitude valid at time T (generator active on [start, stop)) is delivered
//!   in the step ending at T + d and used by the membrane from the step starting at T + d;
//! * a multimeter sample at time t is the state after the step ending at t.
//!
//! Used by the conformance tests and single-cell runs; the network engine has its own ring
//! buffers with the same semantics.

use super::propagators::ms_to_steps;
use super::{BlockInput, ModelError, ModelGroup, ModelParams};

/// A `spike_generator` connected to the neuron.
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeTrain {
    /// Emission times (ms, on the simulation grid).
    pub times_ms: Vec<f64>,
    /// One weight per spike, or a single weight for all (NEST `spike_weights` × connection
    /// weight; pA for psc, nS for cond, mV for delta).
    pub weights: Vec<f64>,
    /// NEST receptor_type (GLIF: 1..=n; iaf: 0).
    pub receptor: i64,
    /// Connection delay (ms); NEST's default is 1.0.
    pub delay_ms: f64,
}

/// A `step_current_generator` connected to the neuron.
#[derive(Debug, Clone, PartialEq)]
pub struct StepCurrent {
    /// amplitude_times (ms), increasing.
    pub times_ms: Vec<f64>,
    /// amplitude_values (pA).
    pub amps_pa: Vec<f64>,
    pub start_ms: f64,
    /// `None` = never stops.
    pub stop_ms: Option<f64>,
    /// Connection weight (multiplies the amplitude).
    pub weight: f64,
    pub delay_ms: f64,
}

/// A whole single-neuron run.
#[derive(Debug, Clone, PartialEq)]
pub struct Drive {
    pub dt_ms: f64,
    pub t_sim_ms: f64,
    pub spikes: Vec<SpikeTrain>,
    pub currents: Vec<StepCurrent>,
}

/// Output of [`simulate`].
#[derive(Debug, Clone, PartialEq)]
pub struct DriveResult {
    /// Spike steps k (crossing in step k; NEST time (k + 1)·h).
    pub spike_steps: Vec<u64>,
    /// Spike times (ms) as NEST reports them: end of the crossing step.
    pub spikes_ms: Vec<f64>,
    /// `samples[j][v]`: value of `record[v]` at `sample_times_ms[j]` (NaN if not recordable).
    pub samples: Vec<Vec<f64>>,
}

fn bad(field: &str, value: impl std::fmt::Display, rule: &str) -> ModelError {
    ModelError::invalid("drive", field, value, rule)
}

/// Dense per-step input arrays of one neuron for the whole run.
pub fn build_input(
    params: &ModelParams,
    drive: &Drive,
) -> Result<(usize, Vec<f64>, Vec<f64>), ModelError> {
    let h = drive.dt_ms;
    if !(h.is_finite() && h > 0.0) {
        return Err(bad("dt_ms", h, "must be > 0"));
    }
    let n_steps = ms_to_steps(drive.t_sim_ms, h);
    if n_steps < 0 {
        return Err(bad("t_sim_ms", drive.t_sim_ms, "must be >= 0"));
    }
    let n_steps = n_steps as usize;
    let np = params.n_ports();
    let mut syn = vec![0.0; n_steps * np];
    let mut cur = vec![0.0; n_steps];
    for tr in &drive.spikes {
        let d = ms_to_steps(tr.delay_ms, h);
        if d < 1 {
            return Err(bad("delay_ms", tr.delay_ms, "must be at least one step"));
        }
        if tr.weights.len() != 1 && tr.weights.len() != tr.times_ms.len() {
            return Err(bad(
                "weights",
                tr.weights.len(),
                "must have one entry or one per spike time",
            ));
        }
        for (k, &t) in tr.times_ms.iter().enumerate() {
            let w = if tr.weights.len() == 1 {
                tr.weights[0]
            } else {
                tr.weights[k]
            };
            let port = params.port_for(tr.receptor, w)?;
            let j = ms_to_steps(t, h) + d - 1;
            if j >= 0 && (j as usize) < n_steps {
                syn[j as usize * np + port] += w;
            }
        }
    }
    for c in &drive.currents {
        if c.times_ms.len() != c.amps_pa.len() {
            return Err(bad(
                "amps_pa",
                c.amps_pa.len(),
                "must have one value per amplitude time",
            ));
        }
        let d = ms_to_steps(c.delay_ms, h);
        if d < 1 {
            return Err(bad("delay_ms", c.delay_ms, "must be at least one step"));
        }
        let start = ms_to_steps(c.start_ms, h);
        let stop = c.stop_ms.map(|s| ms_to_steps(s, h)).unwrap_or(i64::MAX);
        let changes: Vec<i64> = c.times_ms.iter().map(|&t| ms_to_steps(t, h)).collect();
        // Delivered in step j: the amplitude valid at T = (j + 1 − d)·h.
        for (j, slot) in cur.iter_mut().enumerate() {
            let t = j as i64 + 1 - d;
            if t < start || t >= stop {
                continue;
            }
            let m = changes.partition_point(|&x| x <= t);
            if m > 0 {
                *slot += c.weight * c.amps_pa[m - 1];
            }
        }
    }
    Ok((n_steps, syn, cur))
}

/// Run one neuron through `drive`, sampling `record` at `sample_times_ms`.
pub fn simulate(
    params: &ModelParams,
    drive: &Drive,
    record: &[&str],
    sample_times_ms: &[f64],
) -> Result<DriveResult, ModelError> {
    let h = drive.dt_ms;
    let (n_steps, mut syn, cur) = build_input(params, drive)?;
    let np = params.n_ports();
    let mut group = ModelGroup::new(std::slice::from_ref(params), &[0], h)?;
    // Sample after step k = t/h − 1; process samples in time order.
    let mut order: Vec<(usize, i64)> = sample_times_ms
        .iter()
        .enumerate()
        .map(|(j, &t)| (j, ms_to_steps(t, h) - 1))
        .collect();
    order.sort_by_key(|&(_, k)| k);
    let mut samples = vec![vec![f64::NAN; record.len()]; sample_times_ms.len()];
    let mut spikes = Vec::new();
    let mut done = 0usize; // steps completed
    let mut raw = Vec::new();
    let mut run_to =
        |group: &mut ModelGroup, upto: usize, done: &mut usize, spikes: &mut Vec<u64>| {
            while *done < upto {
                let len = (upto - *done).min(4096);
                let mut input = BlockInput {
                    n_steps: len,
                    syn: &mut syn[*done * np..(*done + len) * np],
                    row: 1,
                    consume: false,
                    current: Some(&cur[*done..*done + len]),
                };
                raw.clear();
                group.advance(&mut input, &mut raw);
                spikes.extend(raw.iter().map(|&(_, s)| (*done + s as usize) as u64));
                *done += len;
            }
        };
    for (j, k) in order {
        if k < 0 || k as usize >= n_steps {
            return Err(bad(
                "sample_time_ms",
                sample_times_ms[j],
                "must lie within (0, t_sim] on the grid",
            ));
        }
        run_to(&mut group, k as usize + 1, &mut done, &mut spikes);
        for (v, name) in record.iter().enumerate() {
            samples[j][v] = group.sample(name, 0).unwrap_or(f64::NAN);
        }
    }
    run_to(&mut group, n_steps, &mut done, &mut spikes);
    let spikes_ms = spikes.iter().map(|&k| (k + 1) as f64 * h).collect();
    Ok(DriveResult {
        spike_steps: spikes,
        spikes_ms,
        samples,
    })
}
