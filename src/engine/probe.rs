//! Probe hook: periodic samples of model state variables (membrane reports).
//!
//! Register [`Probe`]s with [`super::Engine::new`] and pass a [`ProbeSink`] to
//! [`super::Engine::run`]. A probe samples the state *after* the step that completes at
//! `start + k·interval` steps (`k ≥ 1`, up to `stop`), like a NEST multimeter whose first sample
//! is at `t = interval`: a row at `step = t` holds the values at time `t·dt`. The engine cuts the
//! epoch's block at sample points only in chunks that hold probed neurons, so probing never
//! changes the numerics. Rows arrive in increasing `step`, then probe order; every row has one
//! value per probed neuron, in the order the probe listed them.
//!
//! ```ignore
//! struct Collect(Vec<(u64, Vec<f64>)>);
//! impl ProbeSink for Collect {
//!     fn row(&mut self, r: ProbeRow<'_>) { self.0.push((r.step, r.values.to_vec())); }
//! }
//! let probe = Probe { neurons: vec![0, 5], var: "V_m".into(), interval: 10, start: 0, stop: u64::MAX };
//! ```

/// What to sample: global neuron indices, a variable of `ModelGroup::sample` (`V_m`,
/// `threshold`, `ASCurrents_sum`, `I_syn`, …), every `interval` steps within `(start, stop]`.
#[derive(Debug, Clone)]
pub struct Probe {
    pub neurons: Vec<u32>,
    pub var: String,
    pub interval: u64,
    pub start: u64,
    pub stop: u64,
}

impl Probe {
    /// Whether the probe samples after `t` completed steps.
    pub fn samples_at(&self, t: u64) -> bool {
        t > self.start && t <= self.stop && (t - self.start).is_multiple_of(self.interval)
    }
    /// The first sample point strictly after `t`.
    pub fn first_sample_after(&self, t: u64) -> Option<u64> {
        let k = if t < self.start {
            1
        } else {
            (t - self.start) / self.interval + 1
        };
        let s = self.start.checked_add(k.checked_mul(self.interval)?)?;
        (s <= self.stop).then_some(s)
    }
    pub fn next_sample(&self, t: u64) -> Option<u64> {
        self.first_sample_after(t)
    }
}

/// One sample row: `values[k]` is the variable of `probe.neurons[k]` after `step` steps.
#[derive(Debug)]
pub struct ProbeRow<'a> {
    pub probe: usize,
    pub step: u64,
    pub values: &'a [f64],
}

/// Receiver of probe rows (a report writer, a test collector, …).
pub trait ProbeSink {
    fn row(&mut self, row: ProbeRow<'_>);
}

/// A sink that drops everything (runs without reports).
pub struct NoProbes;

impl ProbeSink for NoProbes {
    fn row(&mut self, _row: ProbeRow<'_>) {}
}
