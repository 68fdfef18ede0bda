//! NEST `glif_cond` (GLIF levels 1–5 with conductance-based alpha synapses), one SoA group.
//!
//! Step order of glif.md §3.8: (a) integrate the membrane and conductances over h with the
//! current and the ASC step mean of the *previous* step, (b) threshold/ASC update, spike test
//! and resets exactly as glif_psc (or refractory countdown with U held), (c) spikes added to the
//! conductance derivatives, (d) the new external current.
//!
//! NEST integrates (a) with GSL's `rkf45` stepper driven by `gsl_odeiv_evolve_apply` under the
//! standard `y` control (absolute tolerance 1e-3, relative 0), carrying the adaptive step size
//! from one simulation step to the next. [`Rkf45`] restates that algorithm (Fehlberg 4(5)
//! tableau, error-ratio step control with safety 0.9, shrink ≤ 5×, grow ≤ 5×, retry on
//! shrink) so the spike times agree with NEST's.

use super::params::GlifCondParams;
use super::propagators::refractory_steps;
use super::{BlockInput, ModelError};

/// Per-parameter-set constants.
#[derive(Debug, Clone)]
struct CondConsts {
    g: f64,
    c_m: f64,
    e_l: f64,
    th_inf: f64,
    v_reset: f64,
    ds: f64,
    ds_ref: f64,
    th_add: f64,
    fv: f64,
    vadd: f64,
    r: bool,
    a: bool,
    pv: f64,
    dv_inv: f64,
    phi: f64,
    rho: f64,
    refr: u32,
    asc_s: Vec<f64>,
    asc_d: Vec<f64>,
    asc_dref: Vec<f64>,
    asc_amp: Vec<f64>,
    tau: Vec<f64>,
    e_rev: Vec<f64>,
    cond0: Vec<f64>,
}

impl CondConsts {
    fn new(p: &GlifCondParams, h: f64) -> CondConsts {
        let q = &p.glif;
        let r = q.spike_dependent_threshold;
        let a = q.adapting_threshold;
        let (ds, ds_ref) = if r {
            (
                (-q.th_spike_decay * h).exp(),
                (-q.th_spike_decay * q.t_ref).exp(),
            )
        } else {
            (1.0, 0.0)
        };
        let (pv, dv_inv, phi, rho) = if a {
            (
                (-q.g * h / q.c_m).exp(),
                1.0 / (q.th_voltage_decay * h).exp(),
                q.th_voltage_index / (q.th_voltage_decay - q.g / q.c_m),
                q.th_voltage_index / q.th_voltage_decay,
            )
        } else {
            (0.0, 1.0, 0.0, 0.0)
        };
        let mut c = CondConsts {
            g: q.g,
            c_m: q.c_m,
            e_l: q.e_l,
            th_inf: q.th_inf,
            v_reset: q.v_reset_rel,
            ds,
            ds_ref,
            th_add: q.th_spike_add,
            fv: q.voltage_reset_fraction,
            vadd: q.voltage_reset_add,
            r,
            a,
            pv,
            dv_inv,
            phi,
            rho,
            refr: refractory_steps(q.t_ref, h),
            asc_s: vec![],
            asc_d: vec![],
            asc_dref: vec![],
            asc_amp: vec![],
            tau: q.tau_syn.clone(),
            e_rev: p.e_rev.clone(),
            cond0: q
                .tau_syn
                .iter()
                .map(|t| 1.0 * std::f64::consts::E / t)
                .collect(),
        };
        if q.after_spike_currents {
            for (k, &kd) in q.asc_decay.iter().enumerate() {
                let d = (-kd * h).exp();
                c.asc_d.push(d);
                c.asc_s.push(((1.0 / kd) / h) * (1.0 - d));
                c.asc_dref.push(q.asc_r[k] * (-kd * q.t_ref).exp());
                c.asc_amp.push(q.asc_amps[k]);
            }
        }
        c
    }
}

/// The right-hand side of glif_cond's ODE (glif.md §3.8) for one neuron;
/// state y = [U, dg_0, g_0, dg_1, g_1, …].
struct Rhs<'a> {
    c: &'a CondConsts,
    refractory: bool,
    i_ext: f64,
    asc_sum: f64,
}

impl Rhs<'_> {
    #[inline]
    fn eval(&self, y: &[f64], f: &mut [f64]) {
        let c = self.c;
        let v = if self.refractory { c.v_reset } else { y[0] };
        let mut i_syn = 0.0;
        for (k, e_rev) in c.e_rev.iter().enumerate() {
            i_syn += y[2 + 2 * k] * (v + c.e_l - e_rev);
        }
        let i_leak = c.g * v;
        f[0] = if self.refractory {
            0.0
        } else {
            (-i_leak - i_syn + self.i_ext + self.asc_sum) / c.c_m
        };
        for (k, tau) in c.tau.iter().enumerate() {
            let dg = y[1 + 2 * k];
            f[1 + 2 * k] = -dg / tau;
            f[2 + 2 * k] = dg - (y[2 + 2 * k] / tau);
        }
    }
}

// Fehlberg 4(5) tableau as in GSL's rkf45 stepper.
const AH: [f64; 5] = [1.0 / 4.0, 3.0 / 8.0, 12.0 / 13.0, 1.0, 1.0 / 2.0];
const B3: [f64; 2] = [3.0 / 32.0, 9.0 / 32.0];
const B4: [f64; 3] = [1932.0 / 2197.0, -7200.0 / 2197.0, 7296.0 / 2197.0];
const B5: [f64; 4] = [
    8341.0 / 4104.0,
    -32832.0 / 4104.0,
    29440.0 / 4104.0,
    -845.0 / 4104.0,
];
const B6: [f64; 5] = [
    -6080.0 / 20520.0,
    41040.0 / 20520.0,
    -28352.0 / 20520.0,
    9295.0 / 20520.0,
    -5643.0 / 20520.0,
];
const C1: f64 = 902880.0 / 7618050.0;
const C3: f64 = 3953664.0 / 7618050.0;
const C4: f64 = 3855735.0 / 7618050.0;
const C5: f64 = -1371249.0 / 7618050.0;
const C6: f64 = 277020.0 / 7618050.0;
const EC: [f64; 7] = [
    0.0,
    1.0 / 360.0,
    0.0,
    -128.0 / 4275.0,
    -2197.0 / 75240.0,
    1.0 / 50.0,
    2.0 / 55.0,
];
/// Absolute tolerance of NEST's glif_cond control (relative tolerance 0).
const EPS_ABS: f64 = 1e-3;

/// Work space of the adaptive integrator (sized for the largest state).
#[derive(Debug, Clone, Default)]
struct Rkf45 {
    k: [Vec<f64>; 6],
    ytmp: Vec<f64>,
    y0: Vec<f64>,
    yerr: Vec<f64>,
    dydt_in: Vec<f64>,
}

impl Rkf45 {
    fn new(dim: usize) -> Rkf45 {
        let v = || vec![0.0; dim];
        Rkf45 {
            k: [v(), v(), v(), v(), v(), v()],
            ytmp: v(),
            y0: v(),
            yerr: v(),
            dydt_in: v(),
        }
    }

    /// One Fehlberg step of size h from y (in place); k[0] must hold dy/dt at y.
    fn step(&mut self, rhs: &Rhs, y: &mut [f64], h: f64) {
        let d = y.len();
        let [k1, k2, k3, k4, k5, k6] = &mut self.k;
        let yt = &mut self.ytmp[..d];
        for i in 0..d {
            yt[i] = y[i] + AH[0] * h * k1[i];
        }
        rhs.eval(yt, &mut k2[..d]);
        for i in 0..d {
            yt[i] = y[i] + h * (B3[0] * k1[i] + B3[1] * k2[i]);
        }
        rhs.eval(yt, &mut k3[..d]);
        for i in 0..d {
            yt[i] = y[i] + h * (B4[0] * k1[i] + B4[1] * k2[i] + B4[2] * k3[i]);
        }
        rhs.eval(yt, &mut k4[..d]);
        for i in 0..d {
            yt[i] = y[i] + h * (B5[0] * k1[i] + B5[1] * k2[i] + B5[2] * k3[i] + B5[3] * k4[i]);
        }
        rhs.eval(yt, &mut k5[..d]);
        for i in 0..d {
            yt[i] = y[i]
                + h * (B6[0] * k1[i]
                    + B6[1] * k2[i]
                    + B6[2] * k3[i]
                    + B6[3] * k4[i]
                    + B6[4] * k5[i]);
        }
        rhs.eval(yt, &mut k6[..d]);
        for i in 0..d {
            let di = C1 * k1[i] + C3 * k3[i] + C4 * k4[i] + C5 * k5[i] + C6 * k6[i];
            y[i] += h * di;
        }
        for i in 0..d {
            self.yerr[i] =
                h * (EC[1] * k1[i] + EC[3] * k3[i] + EC[4] * k4[i] + EC[5] * k5[i] + EC[6] * k6[i]);
        }
    }

    /// Step-size control of GSL's standard control with a_y = 1, a_dydt = 0, eps_rel = 0:
    /// returns the new h and whether it is a decrease (order 5 stepper).
    fn hadjust(&self, d: usize, h_old: f64) -> (f64, i8) {
        let mut rmax = f64::MIN_POSITIVE;
        for i in 0..d {
            let r = self.yerr[i].abs() / EPS_ABS.abs();
            rmax = if r > rmax { r } else { rmax };
        }
        if rmax > 1.1 {
            let mut r = 0.9 / rmax.powf(1.0 / 5.0);
            if r < 0.2 {
                r = 0.2;
            }
            (r * h_old, -1)
        } else if rmax < 0.5 {
            // Grow at most 5×, never shrink here.
            let r = (0.9 / rmax.powf(1.0 / (5.0 + 1.0))).clamp(1.0, 5.0);
            (r * h_old, 1)
        } else {
            (h_old, 0)
        }
    }

    /// `gsl_odeiv_evolve_apply`: one accepted step from t towards t1 (retrying with smaller
    /// steps while the control asks for it). Updates t, the suggested step h and y.
    fn evolve_apply(&mut self, rhs: &Rhs, t: &mut f64, t1: f64, h: &mut f64, y: &mut [f64]) {
        let d = y.len();
        let t0 = *t;
        let mut h0 = *h;
        let dt = t1 - t0;
        self.y0[..d].copy_from_slice(y);
        rhs.eval(y, &mut self.dydt_in[..d]);
        loop {
            let final_step = h0 > dt;
            if final_step {
                h0 = dt;
            }
            self.k[0][..d].copy_from_slice(&self.dydt_in[..d]);
            self.step(rhs, y, h0);
            *t = if final_step { t1 } else { t0 + h0 };
            let h_old = h0;
            let (h_new, dir) = self.hadjust(d, h0);
            h0 = h_new;
            if dir < 0 {
                let t_curr = *t;
                let t_next = *t + h0;
                if h0.abs() < h_old.abs() && t_next != t_curr {
                    y.copy_from_slice(&self.y0[..d]);
                    continue;
                }
                h0 = h_old;
            }
            *h = h0;
            return;
        }
    }
}

/// SoA state of a `glif_cond` population.
#[derive(Debug, Clone)]
pub struct GlifCondGroup {
    n: usize,
    n_ports: usize,
    dim: usize,
    dt: f64,
    consts: Vec<CondConsts>,
    set_of: Vec<u32>,
    /// ODE state per neuron, `dim` entries each: [U, dg_0, g_0, …].
    y: Vec<f64>,
    h_int: Vec<f64>,
    th_s: Vec<f64>,
    th_v: Vec<f64>,
    asc: Vec<Vec<f64>>,
    asc_sum: Vec<f64>,
    i_ext: Vec<f64>,
    refr: Vec<u32>,
    work: Rkf45,
}

impl GlifCondGroup {
    pub fn new(
        sets: &[&GlifCondParams],
        set_of: &[u32],
        dt: f64,
    ) -> Result<GlifCondGroup, ModelError> {
        let n = set_of.len();
        let n_ports = sets.first().map(|p| p.glif.tau_syn.len()).unwrap_or(0);
        let dim = 1 + 2 * n_ports;
        let consts: Vec<CondConsts> = sets.iter().map(|p| CondConsts::new(p, dt)).collect();
        let mut y = vec![0.0; n * dim];
        let mut asc = Vec::with_capacity(n);
        for (i, &k) in set_of.iter().enumerate() {
            let p = &sets[k as usize].glif;
            y[i * dim] = p.u0;
            asc.push(if p.after_spike_currents {
                p.asc0.clone()
            } else {
                vec![]
            });
        }
        Ok(GlifCondGroup {
            n,
            n_ports,
            dim,
            dt,
            consts,
            set_of: set_of.to_vec(),
            y,
            h_int: vec![dt; n],
            th_s: vec![0.0; n],
            th_v: vec![0.0; n],
            asc,
            asc_sum: vec![0.0; n],
            i_ext: vec![0.0; n],
            refr: vec![0; n],
            work: Rkf45::new(dim),
        })
    }

    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn n_ports(&self) -> usize {
        self.n_ports
    }
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Neuron `i`'s dynamic state (see `ModelGroup::save_state`): the ODE state, the solver's
    /// step size, θ_s, θ_v, the recorded ASC sum, the current of the last step, the refractory
    /// count, the ASCs.
    pub fn save_state(&mut self, i: usize) -> Vec<f64> {
        let d = self.dim;
        let mut v = self.y[i * d..(i + 1) * d].to_vec();
        v.extend([
            self.h_int[i],
            self.th_s[i],
            self.th_v[i],
            self.asc_sum[i],
            self.i_ext[i],
        ]);
        v.push(f64::from(self.refr[i]));
        v.extend(&self.asc[i]);
        v
    }

    /// Restore what [`Self::save_state`] saved (for a neuron of the same parameters).
    pub fn load_state(&mut self, i: usize, v: &[f64]) {
        let d = self.dim;
        assert_eq!(
            v.len(),
            d + 6 + self.asc[i].len(),
            "glif_cond state of neuron {i}"
        );
        self.y[i * d..(i + 1) * d].copy_from_slice(&v[..d]);
        [
            self.h_int[i],
            self.th_s[i],
            self.th_v[i],
            self.asc_sum[i],
            self.i_ext[i],
        ] = [v[d], v[d + 1], v[d + 2], v[d + 3], v[d + 4]];
        self.refr[i] = v[d + 5] as u32;
        self.asc[i].copy_from_slice(&v[d + 6..]);
    }

    pub fn sample(&self, var: &str, i: usize) -> Option<f64> {
        let c = &self.consts[self.set_of[i] as usize];
        if let Some(k) = var.strip_prefix("g_").and_then(|s| s.parse::<usize>().ok()) {
            return (k >= 1 && k <= self.n_ports).then(|| self.y[i * self.dim + 2 * k]);
        }
        Some(match var {
            "V_m" => self.y[i * self.dim] + c.e_l,
            "threshold" => self.th_s[i] + self.th_v[i] + c.th_inf + c.e_l,
            "threshold_spike" => self.th_s[i],
            "threshold_voltage" => self.th_v[i],
            "ASCurrents_sum" => self.asc_sum[i],
            "I" => self.i_ext[i],
            _ => return None,
        })
    }

    pub fn advance(&mut self, input: &mut BlockInput, spikes: &mut Vec<(u32, u32)>) {
        let (n, np, dim, h) = (self.n, self.n_ports, self.dim, self.dt);
        for s in 0..input.n_steps {
            for i in 0..n {
                let c = &self.consts[self.set_of[i] as usize];
                let y = &mut self.y[i * dim..(i + 1) * dim];
                let v_old = y[0];
                // (a) integrate over the step with last step's current and ASC mean.
                let rhs = Rhs {
                    c,
                    refractory: self.refr[i] > 0,
                    i_ext: self.i_ext[i],
                    asc_sum: self.asc_sum[i],
                };
                let mut t = 0.0;
                while t < h {
                    self.work
                        .evolve_apply(&rhs, &mut t, h, &mut self.h_int[i], y);
                }
                // (b) thresholds, ASCs, spike test / refractory countdown.
                if self.refr[i] == 0 {
                    if c.r {
                        self.th_s[i] *= c.ds;
                    }
                    let mut sum = 0.0;
                    for (a, x) in self.asc[i].iter_mut().enumerate() {
                        sum += c.asc_s[a] * *x;
                        *x *= c.asc_d[a];
                    }
                    self.asc_sum[i] = sum;
                    if c.a {
                        let beta = (self.i_ext[i] + sum) / c.g;
                        self.th_v[i] = c.phi * (v_old - beta) * c.pv
                            + c.dv_inv * (self.th_v[i] - c.phi * (v_old - beta) - c.rho * beta)
                            + c.rho * beta;
                    }
                    let threshold = self.th_s[i] + self.th_v[i] + c.th_inf;
                    if y[0] > threshold {
                        self.refr[i] = c.refr;
                        for (a, x) in self.asc[i].iter_mut().enumerate() {
                            *x = c.asc_amp[a] + *x * c.asc_dref[a];
                        }
                        if c.r {
                            y[0] = c.fv * v_old + c.vadd;
                            self.th_s[i] = self.th_s[i] * c.ds_ref + c.th_add;
                        } else {
                            y[0] = c.v_reset;
                        }
                        spikes.push((i as u32, s as u32));
                    }
                } else {
                    self.refr[i] -= 1;
                    y[0] = v_old;
                }
                // (c) spikes delivered in this step open the conductances.
                for p in 0..np {
                    y[1 + 2 * p] += input.syn[(s * np + p) * input.row + i] * c.cond0[p];
                }
                // (d) current delivered in this step, used from the next step on.
                self.i_ext[i] = match input.current {
                    Some(cur) => cur[s * n + i],
                    None => 0.0,
                };
            }
        }
        if input.consume {
            // contract in `models/mod.rs`; this ODE model is far from memory-bound
            input.syn[..input.n_steps * np * input.row].fill(0.0);
        }
    }
}
