//! AllenSDK `GlifNeuron.run` semantics (docs/glif.md §2.3–2.7), restated from the spec:
//! forward-Euler voltage with the start-of-step ASC, exact exponential ASC and threshold
//! components, resets applied to the post-step values, a spike cut of `n` skipped stimulus
//! samples written as NaN, and grid plus linearly interpolated spike times.
//!
//! The arithmetic is grouped as the reference evaluates it (e.g. `((I − G(V − El))·dt)/C`), so
//! results agree with AllenSDK to the last bits, not only to a tolerance.

use super::config::{
    AllenConfig, AscDynamics, AscReset, ThresholdDynamics, ThresholdReset, VoltageReset,
};
use super::NeuronError;

/// How many skipped samples a spike cut lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpikeCut {
    /// `spike_cut_length` steps of the run dt — what AllenSDK does (and the Cell Types
    /// database responses were produced with at dt = 5e-6 s).
    Steps,
    /// Keep the duration `spike_cut_length × config dt` (5e-05 s), as bmtk's NEST converter does
    /// (t_ref); rounded up to whole run steps as NEST rounds t_ref.
    ConfigDt,
}

impl SpikeCut {
    /// Number of run steps the cut lasts for `cfg` at step `dt`.
    pub fn steps(self, cfg: &AllenConfig, dt: f64) -> usize {
        match self {
            SpikeCut::Steps => cfg.spike_cut_length,
            SpikeCut::ConfigDt => {
                let x = cfg.spike_cut_length as f64 * cfg.dt / dt;
                // Tolerate representation error (e.g. 134·5e-5/5e-6 = 1340.0000000000002).
                (x - 1e-9 * x.max(1.0)).ceil().max(0.0) as usize
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SpikeCut::Steps => "steps",
            SpikeCut::ConfigDt => "config-dt",
        }
    }
}

/// A reset that left V above the reset threshold. AllenSDK then writes the reset state into
/// the next 5 samples and silently stops the run (§2.5); this run does the same and says so.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BadReset {
    /// Crossing step of the spike whose reset was bad.
    pub step: usize,
    /// Its grid time (s).
    pub time: f64,
    pub reset_voltage: f64,
    pub reset_threshold: f64,
}

/// Output of one run, in AllenSDK's layout (voltages relative to rest, V; currents A).
#[derive(Debug, Clone, Default)]
pub struct RunOutput {
    pub dt: f64,
    pub spike_cut_steps: usize,
    /// Crossing step index k of each spike.
    pub spike_steps: Vec<usize>,
    /// k·dt (start of the crossing step).
    pub grid_spike_times: Vec<f64>,
    /// k·dt + x, x = dt(Θ − V)/((V' − V) − (Θ' − Θ)) (§2.7).
    pub interpolated_spike_times: Vec<f64>,
    /// AllenSDK's interpolated spike voltage, extrapolated one step beyond the crossing (§2.7).
    pub interpolated_spike_voltage: Vec<f64>,
    /// Same extrapolation for the threshold.
    pub interpolated_spike_threshold: Vec<f64>,
    /// Per-sample voltage; NaN inside spike cuts and after a bad reset. Empty if not recorded.
    pub voltage: Vec<f64>,
    /// Per-sample total threshold Θ (NaN as voltage).
    pub threshold: Vec<f64>,
    /// Per-sample sum of the after-spike currents (NaN as voltage).
    pub asc_sum: Vec<f64>,
    /// Set when the run stopped at a bad reset.
    pub bad_reset: Option<BadReset>,
}

/// A GLIF neuron bound to a step length, with every per-step constant precomputed.
#[derive(Debug, Clone)]
pub struct GlifNeuron {
    dt: f64,
    n_cut: usize,
    el: f64,
    /// dt-free effective constants.
    g_e: f64,
    c_e: f64,
    th_e: f64,
    amp_e: Vec<f64>,
    /// e^{−k_j dt} (ASC dynamics), r_j and e^{−k_j·dt·n} (ASC reset leftover).
    asc_decay: Vec<f64>,
    asc_r: Vec<f64>,
    asc_cut_decay: Vec<f64>,
    asc_dynamics: AscDynamics,
    asc_reset_sum: bool,
    threshold: ThresholdKind,
    voltage_reset: VoltageReset,
    /// θ_s reset: (decay through the cut e^{−b_spike·n·dt}, a_spike).
    th_reset: Option<(f64, f64)>,
    init_voltage: f64,
    init_threshold: f64,
    init_asc: Vec<f64>,
}

/// Threshold dynamics with their per-step factors.
#[derive(Debug, Clone, Copy)]
enum ThresholdKind {
    Inf,
    Spike {
        /// e^{−b_spike dt}
        d_s: f64,
    },
    Three {
        d_s: f64,
        /// φ = a_v/(b_v − G/C), ρ = a_v/b_v, e^{−G dt/C}, e^{−b_v dt}
        phi: f64,
        rho: f64,
        p_v: f64,
        d_v: f64,
    },
}

impl GlifNeuron {
    /// Bind `cfg` to the run step `dt` (s) with the chosen spike-cut convention.
    pub fn new(cfg: &AllenConfig, dt: f64, cut: SpikeCut) -> Result<Self, NeuronError> {
        if !(dt > 0.0 && dt.is_finite()) {
            return Err(NeuronError::Value {
                what: "dt".into(),
                msg: format!("{dt:?} s must be a positive number"),
            });
        }
        let n_cut = cut.steps(cfg, dt);
        let g_e = cfg.g_e();
        let c_e = cfg.c_e();
        let k: Vec<f64> = cfg.asc_tau_array.iter().map(|t| 1.0 / t).collect();
        let amp_e = cfg
            .asc_amp_array
            .iter()
            .zip(&cfg.coeffs.asc_amp_array)
            .map(|(a, c)| a * c)
            .collect();
        let asc_decay = k.iter().map(|k| (-k * dt).exp()).collect();
        let asc_cut_decay = k.iter().map(|k| (-(k * dt * n_cut as f64)).exp()).collect();
        let (asc_reset_sum, asc_r) = match &cfg.asc_reset {
            AscReset::Sum { r } => (true, r.clone()),
            AscReset::None => (false, vec![0.0; k.len()]),
        };
        let threshold = match cfg.threshold_dynamics {
            ThresholdDynamics::Inf => ThresholdKind::Inf,
            ThresholdDynamics::SpikeComponent { b_spike } => ThresholdKind::Spike {
                d_s: (-b_spike * dt).exp(),
            },
            ThresholdDynamics::ThreeComponentsExact {
                b_spike,
                a_voltage,
                b_voltage,
            } => ThresholdKind::Three {
                d_s: (-b_spike * dt).exp(),
                phi: a_voltage / (b_voltage - g_e / c_e),
                rho: a_voltage / b_voltage,
                p_v: (-g_e * dt / c_e).exp(),
                d_v: 1.0 / (b_voltage * dt).exp(),
            },
        };
        let th_reset = match cfg.threshold_reset {
            ThresholdReset::Inf => None,
            ThresholdReset::ThreeComponents { a_spike, b_spike } => {
                Some(((-b_spike * (n_cut as f64 * dt)).exp(), a_spike))
            }
        };
        Ok(GlifNeuron {
            dt,
            n_cut,
            el: cfg.el,
            g_e,
            c_e,
            th_e: cfg.th_e(),
            amp_e,
            asc_decay,
            asc_r,
            asc_cut_decay,
            asc_dynamics: cfg.asc_dynamics,
            asc_reset_sum,
            threshold,
            voltage_reset: cfg.voltage_reset,
            th_reset,
            init_voltage: cfg.init_voltage,
            init_threshold: cfg.init_threshold,
            init_asc: cfg.init_asc.clone(),
        })
    }

    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Spike cut length in run steps.
    pub fn spike_cut_steps(&self) -> usize {
        self.n_cut
    }

    /// Run over `stim` (A, one sample per step; stim[k] drives the interval [k·dt, (k+1)·dt)).
    /// With `record` false the per-sample traces are left empty (spikes only).
    pub fn run(&self, stim: &[f64], record: bool) -> RunOutput {
        let n = stim.len();
        let n_asc = self.init_asc.len();
        let mut out = RunOutput {
            dt: self.dt,
            spike_cut_steps: self.n_cut,
            ..Default::default()
        };
        if record {
            out.voltage = vec![f64::NAN; n];
            out.threshold = vec![f64::NAN; n];
            out.asc_sum = vec![f64::NAN; n];
        }
        let dt = self.dt;
        let (g, c, el, th_e) = (self.g_e, self.c_e, self.el, self.th_e);

        // State at the start of the step (§2.3). The threshold components start at 0, never
        // at init_threshold, which only serves as Θ for the first interpolation.
        let mut v = self.init_voltage;
        let mut theta = self.init_threshold;
        let mut asc = self.init_asc.clone();
        let mut asc_new = vec![0.0; n_asc];
        let mut th_s = 0.0_f64;
        let mut th_v = 0.0_f64;

        let mut k = 0usize;
        while k < n {
            let i_e = stim[k];
            // §2.4 (1): ASC decay; (2) Euler voltage with the old ASC sum.
            let asc_old_sum = sum(&asc);
            match self.asc_dynamics {
                AscDynamics::Exp => {
                    for ((new, old), d) in asc_new.iter_mut().zip(&asc).zip(&self.asc_decay) {
                        *new = old * d;
                    }
                }
                AscDynamics::None => asc_new.iter_mut().for_each(|x| *x = 0.0),
            }
            let v1 = v + (i_e + asc_old_sum - g * (v - el)) * dt / c;
            // (3) threshold dynamics from the start-of-step V and ASC.
            let theta1 = match self.threshold {
                ThresholdKind::Inf => th_e,
                ThresholdKind::Spike { d_s } => {
                    th_s *= d_s;
                    th_v = 0.0;
                    th_s + th_e
                }
                ThresholdKind::Three {
                    d_s,
                    phi,
                    rho,
                    p_v,
                    d_v,
                } => {
                    let i_tot = i_e + asc_old_sum;
                    let beta = (i_tot + g * el) / g;
                    let phi_vb = phi * (v - beta);
                    th_v = phi_vb * p_v
                        + d_v * (th_v - phi_vb - rho * (beta - el) - 0.0)
                        + rho * (beta - el)
                        + 0.0;
                    th_s *= d_s;
                    th_v + th_s + th_e
                }
            };

            // (4) strict spike test.
            if v1 > theta1 {
                out.spike_steps.push(k);
                let kt = k as f64 * dt;
                out.grid_spike_times.push(kt);
                let x = dt * (theta - v) / ((v1 - v) - (theta1 - theta));
                let t_int = kt + x;
                out.interpolated_spike_times.push(t_int);
                // AllenSDK's offset is measured from step k−1 (an extrapolation; §2.7).
                let off = t_int - (k as f64 - 1.0) * dt;
                out.interpolated_spike_voltage.push(v + (v1 - v) * off / dt);
                out.interpolated_spike_threshold
                    .push(theta + (theta1 - theta) * off / dt);

                // §2.5 resets on the post-step values: ASC, then voltage, then threshold.
                if self.asc_reset_sum {
                    for j in 0..n_asc {
                        asc[j] = self.amp_e[j] + asc_new[j] * self.asc_r[j] * self.asc_cut_decay[j];
                    }
                } else {
                    asc.iter_mut().for_each(|x| *x = 0.0);
                }
                v = match self.voltage_reset {
                    VoltageReset::Zero => 0.0,
                    VoltageReset::VBefore { a, b } => a * v1 + b,
                };
                theta = match self.th_reset {
                    None => th_e,
                    Some((d_cut, a_spike)) => {
                        th_s = th_s * d_cut + a_spike;
                        th_s + th_v + th_e
                    }
                };
                let bad = v > theta;

                // §2.6 cut: samples k … k+n−1 stay NaN, k+n holds the reset state.
                let reset_at = k + self.n_cut;
                let asc_reset_sum = sum(&asc);
                if record && reset_at < n {
                    out.voltage[reset_at] = v;
                    out.threshold[reset_at] = theta;
                    out.asc_sum[reset_at] = asc_reset_sum;
                }
                k = reset_at + 1;
                if bad {
                    if record {
                        for s in k..(k + 5).min(n) {
                            out.voltage[s] = v;
                            out.threshold[s] = theta;
                            out.asc_sum[s] = asc_reset_sum;
                        }
                    }
                    out.bad_reset = Some(BadReset {
                        step: *out.spike_steps.last().unwrap_or(&0),
                        time: kt,
                        reset_voltage: v,
                        reset_threshold: theta,
                    });
                    break;
                }
            } else {
                v = v1;
                theta = theta1;
                std::mem::swap(&mut asc, &mut asc_new);
                if record {
                    out.voltage[k] = v;
                    out.threshold[k] = theta;
                    out.asc_sum[k] = sum(&asc);
                }
                k += 1;
            }
        }
        out
    }
}

/// Left-to-right sum (numpy's order for the short ASC vectors).
#[inline]
fn sum(x: &[f64]) -> f64 {
    x.iter().fold(0.0, |a, b| a + b)
}
