//! NEST `iaf_psc_alpha`, `iaf_psc_exp` and `iaf_psc_delta` (the other point models of the bmtk
//! examples, sonata-bmtk.md §5.7), exact integration in NEST's order of operations.
//!
//! Each group keeps per-neuron (broadcast) constants computed once per parameter set. The
//! membrane and synapse updates are per-neuron loops without branches on the model; the
//! refractory and threshold tests are cheap, well-predicted branches.

#![allow(clippy::needless_range_loop)] // several parallel SoA arrays indexed by neuron

use super::params::{IafPscAlphaParams, IafPscDeltaParams, IafPscExpParams};
use super::propagators::{alpha_p31_p32, exp_p21, refractory_steps};
use super::{BlockInput, ModelError};

fn per<T: Copy, S>(sets: &[S], set_of: &[u32], f: impl Fn(&S) -> T) -> Vec<T> {
    let vals: Vec<T> = sets.iter().map(f).collect();
    set_of.iter().map(|&k| vals[k as usize]).collect()
}

fn current_at(input: &BlockInput, s: usize, n: usize, i: usize) -> f64 {
    match input.current {
        Some(c) => c[s * n + i],
        None => 0.0,
    }
}

/// `iaf_psc_alpha`: alpha-shaped excitatory (port 0) and inhibitory (port 1) currents.
#[derive(Debug, Clone)]
pub struct IafPscAlphaGroup {
    n: usize,
    dt: f64,
    e_l: Vec<f64>,
    i_e: Vec<f64>,
    theta: Vec<f64>,
    v_reset: Vec<f64>,
    v_min: Vec<f64>,
    refr_n: Vec<u32>,
    p30: Vec<f64>,
    expm1_tau_m: Vec<f64>,
    p11_ex: Vec<f64>,
    p21_ex: Vec<f64>,
    p31_ex: Vec<f64>,
    p32_ex: Vec<f64>,
    p11_in: Vec<f64>,
    p21_in: Vec<f64>,
    p31_in: Vec<f64>,
    p32_in: Vec<f64>,
    psc0_ex: Vec<f64>,
    psc0_in: Vec<f64>,
    y3: Vec<f64>,
    y0: Vec<f64>,
    di_ex: Vec<f64>,
    i_ex: Vec<f64>,
    di_in: Vec<f64>,
    i_in: Vec<f64>,
    r: Vec<u32>,
}

impl IafPscAlphaGroup {
    pub fn new(
        sets: &[&IafPscAlphaParams],
        set_of: &[u32],
        h: f64,
    ) -> Result<IafPscAlphaGroup, ModelError> {
        let n = set_of.len();
        let pr_ex: Vec<(f64, f64)> = sets
            .iter()
            .map(|p| alpha_p31_p32(p.tau_syn_ex, p.tau_m, p.c_m, h))
            .collect();
        let pr_in: Vec<(f64, f64)> = sets
            .iter()
            .map(|p| alpha_p31_p32(p.tau_syn_in, p.tau_m, p.c_m, h))
            .collect();
        let idx: Vec<usize> = (0..sets.len()).collect();
        Ok(IafPscAlphaGroup {
            n,
            dt: h,
            e_l: per(sets, set_of, |p| p.e_l),
            i_e: per(sets, set_of, |p| p.i_e),
            theta: per(sets, set_of, |p| p.theta),
            v_reset: per(sets, set_of, |p| p.v_reset_rel),
            v_min: per(sets, set_of, |p| p.v_min_rel),
            refr_n: per(sets, set_of, |p| refractory_steps(p.t_ref, h)),
            p30: per(sets, set_of, |p| -p.tau_m / p.c_m * (-h / p.tau_m).exp_m1()),
            expm1_tau_m: per(sets, set_of, |p| (-h / p.tau_m).exp_m1()),
            p11_ex: per(sets, set_of, |p| (-h / p.tau_syn_ex).exp()),
            p21_ex: per(sets, set_of, |p| h * (-h / p.tau_syn_ex).exp()),
            p31_ex: per(&idx, set_of, |&k| pr_ex[k].0),
            p32_ex: per(&idx, set_of, |&k| pr_ex[k].1),
            p11_in: per(sets, set_of, |p| (-h / p.tau_syn_in).exp()),
            p21_in: per(sets, set_of, |p| h * (-h / p.tau_syn_in).exp()),
            p31_in: per(&idx, set_of, |&k| pr_in[k].0),
            p32_in: per(&idx, set_of, |&k| pr_in[k].1),
            psc0_ex: per(sets, set_of, |p| 1.0 * std::f64::consts::E / p.tau_syn_ex),
            psc0_in: per(sets, set_of, |p| 1.0 * std::f64::consts::E / p.tau_syn_in),
            y3: per(sets, set_of, |p| p.u0),
            y0: vec![0.0; n],
            di_ex: vec![0.0; n],
            i_ex: vec![0.0; n],
            di_in: vec![0.0; n],
            i_in: vec![0.0; n],
            r: vec![0; n],
        })
    }

    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn n_ports(&self) -> usize {
        2
    }
    pub fn dt(&self) -> f64 {
        self.dt
    }

    pub fn sample(&self, var: &str, i: usize) -> Option<f64> {
        Some(match var {
            "V_m" => self.y3[i] + self.e_l[i],
            "I_syn_ex" => self.i_ex[i],
            "I_syn_in" => self.i_in[i],
            _ => return None,
        })
    }

    pub fn advance(&mut self, input: &BlockInput, spikes: &mut Vec<(u32, u32)>) {
        let n = self.n;
        for s in 0..input.n_steps {
            let w_ex = &input.syn[(s * 2) * n..(s * 2 + 1) * n];
            let w_in = &input.syn[(s * 2 + 1) * n..(s * 2 + 2) * n];
            for i in 0..n {
                if self.r[i] == 0 {
                    let y3 = self.p30[i] * (self.y0[i] + self.i_e[i])
                        + self.p31_ex[i] * self.di_ex[i]
                        + self.p32_ex[i] * self.i_ex[i]
                        + self.p31_in[i] * self.di_in[i]
                        + self.p32_in[i] * self.i_in[i]
                        + self.expm1_tau_m[i] * self.y3[i]
                        + self.y3[i];
                    self.y3[i] = if y3 < self.v_min[i] {
                        self.v_min[i]
                    } else {
                        y3
                    };
                } else {
                    self.r[i] -= 1;
                }
                self.i_ex[i] = self.p21_ex[i] * self.di_ex[i] + self.p11_ex[i] * self.i_ex[i];
                self.di_ex[i] *= self.p11_ex[i];
                self.di_ex[i] += self.psc0_ex[i] * w_ex[i];
                self.i_in[i] = self.p21_in[i] * self.di_in[i] + self.p11_in[i] * self.i_in[i];
                self.di_in[i] *= self.p11_in[i];
                self.di_in[i] += self.psc0_in[i] * w_in[i];
                if self.y3[i] >= self.theta[i] {
                    self.r[i] = self.refr_n[i];
                    self.y3[i] = self.v_reset[i];
                    spikes.push((i as u32, s as u32));
                }
                self.y0[i] = current_at(input, s, n, i);
            }
        }
    }
}

/// `iaf_psc_exp`: exponential excitatory (port 0) and inhibitory (port 1) currents; a spike of
/// weight w makes the current jump by w pA.
#[derive(Debug, Clone)]
pub struct IafPscExpGroup {
    n: usize,
    dt: f64,
    e_l: Vec<f64>,
    i_e: Vec<f64>,
    theta: Vec<f64>,
    v_reset: Vec<f64>,
    refr_n: Vec<u32>,
    p20: Vec<f64>,
    p22: Vec<f64>,
    p11_ex: Vec<f64>,
    p11_in: Vec<f64>,
    p21_ex: Vec<f64>,
    p21_in: Vec<f64>,
    v: Vec<f64>,
    i_0: Vec<f64>,
    i_ex: Vec<f64>,
    i_in: Vec<f64>,
    r: Vec<u32>,
}

impl IafPscExpGroup {
    pub fn new(
        sets: &[&IafPscExpParams],
        set_of: &[u32],
        h: f64,
    ) -> Result<IafPscExpGroup, ModelError> {
        let n = set_of.len();
        Ok(IafPscExpGroup {
            n,
            dt: h,
            e_l: per(sets, set_of, |p| p.e_l),
            i_e: per(sets, set_of, |p| p.i_e),
            theta: per(sets, set_of, |p| p.theta),
            v_reset: per(sets, set_of, |p| p.v_reset_rel),
            refr_n: per(sets, set_of, |p| refractory_steps(p.t_ref, h)),
            p20: per(sets, set_of, |p| {
                p.tau_m / p.c_m * (1.0 - (-h / p.tau_m).exp())
            }),
            p22: per(sets, set_of, |p| (-h / p.tau_m).exp()),
            p11_ex: per(sets, set_of, |p| (-h / p.tau_syn_ex).exp()),
            p11_in: per(sets, set_of, |p| (-h / p.tau_syn_in).exp()),
            p21_ex: per(sets, set_of, |p| exp_p21(p.tau_syn_ex, p.tau_m, p.c_m, h)),
            p21_in: per(sets, set_of, |p| exp_p21(p.tau_syn_in, p.tau_m, p.c_m, h)),
            v: per(sets, set_of, |p| p.u0),
            i_0: vec![0.0; n],
            i_ex: vec![0.0; n],
            i_in: vec![0.0; n],
            r: vec![0; n],
        })
    }

    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn n_ports(&self) -> usize {
        2
    }
    pub fn dt(&self) -> f64 {
        self.dt
    }

    pub fn sample(&self, var: &str, i: usize) -> Option<f64> {
        Some(match var {
            "V_m" => self.v[i] + self.e_l[i],
            "I_syn_ex" => self.i_ex[i],
            "I_syn_in" => self.i_in[i],
            _ => return None,
        })
    }

    pub fn advance(&mut self, input: &BlockInput, spikes: &mut Vec<(u32, u32)>) {
        let n = self.n;
        for s in 0..input.n_steps {
            let w_ex = &input.syn[(s * 2) * n..(s * 2 + 1) * n];
            let w_in = &input.syn[(s * 2 + 1) * n..(s * 2 + 2) * n];
            for i in 0..n {
                if self.r[i] == 0 {
                    self.v[i] = self.v[i] * self.p22[i]
                        + self.i_ex[i] * self.p21_ex[i]
                        + self.i_in[i] * self.p21_in[i]
                        + (self.i_e[i] + self.i_0[i]) * self.p20[i];
                } else {
                    self.r[i] -= 1;
                }
                self.i_ex[i] *= self.p11_ex[i];
                self.i_in[i] *= self.p11_in[i];
                self.i_ex[i] += w_ex[i];
                self.i_in[i] += w_in[i];
                if self.v[i] >= self.theta[i] {
                    self.r[i] = self.refr_n[i];
                    self.v[i] = self.v_reset[i];
                    spikes.push((i as u32, s as u32));
                }
                self.i_0[i] = current_at(input, s, n, i);
            }
        }
    }
}

/// `iaf_psc_delta`: a spike of weight w makes V jump by w mV within the step it arrives.
#[derive(Debug, Clone)]
pub struct IafPscDeltaGroup {
    n: usize,
    dt: f64,
    e_l: Vec<f64>,
    i_e: Vec<f64>,
    theta: Vec<f64>,
    v_reset: Vec<f64>,
    v_min: Vec<f64>,
    tau_m: Vec<f64>,
    refr_input: Vec<bool>,
    refr_n: Vec<u32>,
    p30: Vec<f64>,
    p33: Vec<f64>,
    y3: Vec<f64>,
    y0: Vec<f64>,
    refr_buf: Vec<f64>,
    r: Vec<u32>,
}

impl IafPscDeltaGroup {
    pub fn new(
        sets: &[&IafPscDeltaParams],
        set_of: &[u32],
        h: f64,
    ) -> Result<IafPscDeltaGroup, ModelError> {
        let n = set_of.len();
        Ok(IafPscDeltaGroup {
            n,
            dt: h,
            e_l: per(sets, set_of, |p| p.e_l),
            i_e: per(sets, set_of, |p| p.i_e),
            theta: per(sets, set_of, |p| p.theta),
            v_reset: per(sets, set_of, |p| p.v_reset_rel),
            v_min: per(sets, set_of, |p| p.v_min_rel),
            tau_m: per(sets, set_of, |p| p.tau_m),
            refr_input: per(sets, set_of, |p| p.refractory_input),
            refr_n: per(sets, set_of, |p| refractory_steps(p.t_ref, h)),
            p30: per(sets, set_of, |p| -p.tau_m / p.c_m * (-h / p.tau_m).exp_m1()),
            p33: per(sets, set_of, |p| (-h / p.tau_m).exp()),
            y3: per(sets, set_of, |p| p.u0),
            y0: vec![0.0; n],
            refr_buf: vec![0.0; n],
            r: vec![0; n],
        })
    }

    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn n_ports(&self) -> usize {
        1
    }
    pub fn dt(&self) -> f64 {
        self.dt
    }

    pub fn sample(&self, var: &str, i: usize) -> Option<f64> {
        match var {
            "V_m" => Some(self.y3[i] + self.e_l[i]),
            _ => None,
        }
    }

    pub fn advance(&mut self, input: &BlockInput, spikes: &mut Vec<(u32, u32)>) {
        let n = self.n;
        let h = self.dt;
        for s in 0..input.n_steps {
            let w = &input.syn[s * n..(s + 1) * n];
            for i in 0..n {
                if self.r[i] == 0 {
                    let mut y3 =
                        self.p30[i] * (self.y0[i] + self.i_e[i]) + self.p33[i] * self.y3[i] + w[i];
                    if self.refr_input[i] && self.refr_buf[i] != 0.0 {
                        y3 += self.refr_buf[i];
                        self.refr_buf[i] = 0.0;
                    }
                    self.y3[i] = if y3 < self.v_min[i] {
                        self.v_min[i]
                    } else {
                        y3
                    };
                } else {
                    if self.refr_input[i] {
                        self.refr_buf[i] += w[i] * (-(self.r[i] as f64) * h / self.tau_m[i]).exp();
                    }
                    self.r[i] -= 1;
                }
                if self.y3[i] >= self.theta[i] {
                    self.r[i] = self.refr_n[i];
                    self.y3[i] = self.v_reset[i];
                    spikes.push((i as u32, s as u32));
                }
                self.y0[i] = current_at(input, s, n, i);
            }
        }
    }
}
