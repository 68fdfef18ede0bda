//! NEST `glif_psc` (GLIF levels 1–5, alpha-shaped current synapses), one SoA group.
//!
//! The step is glif.md §3.4, in NEST's order of floating-point operations. The five levels are
//! handled without per-neuron branches on the level: a level without a mechanism gets neutral
//! coefficients (θ_s decay 1, add 0; ASC coefficients 0; θ_v coefficients 0/1; reset
//! `0·v_old + V_reset`), which reproduce NEST's values bit for bit because they only multiply
//! zeros or add exact zeros.
//!
//! Neurons are processed in cache-sized chunks over the whole block (they are independent within
//! a block); within a chunk each step runs a few passes whose inner loops run over neurons and
//! vectorise (membrane, ASCs, synapses) plus one cheap pass with the rare threshold branch.

use super::params::GlifPscParams;
use super::propagators::{alpha_p31_p32, refractory_steps};
use super::{sort_spikes_from, BlockInput, ModelError};

/// Neurons per chunk: state + coefficients of a chunk stay in L1/L2 across the block.
const CHUNK: usize = 128;

/// Per-parameter-set constants (glif.md §3.2), computed once per set.
#[derive(Debug, Clone)]
struct SetConsts {
    p33: f64,
    p30: f64,
    th_inf: f64,
    e_l: f64,
    ds: f64,
    ds_ref: f64,
    th_add: f64,
    fv: f64,
    vadd: f64,
    pv: f64,
    dv_inv: f64,
    phi: f64,
    rho: f64,
    g: f64,
    refr: u32,
    u0: f64,
    asc_s: Vec<f64>,
    asc_d: Vec<f64>,
    asc_dref: Vec<f64>,
    asc_amp: Vec<f64>,
    asc0: Vec<f64>,
    p11: Vec<f64>,
    p21: Vec<f64>,
    p31: Vec<f64>,
    p32: Vec<f64>,
    psc0: Vec<f64>,
}

impl SetConsts {
    fn new(p: &GlifPscParams, h: f64, n_asc: usize) -> SetConsts {
        let tau = p.c_m / p.g;
        let p33 = (-h / tau).exp();
        let p30 = 1.0 / p.c_m * (1.0 - p33) * tau;
        let r = p.spike_dependent_threshold;
        let (ds, ds_ref, th_add, fv, vadd) = if r {
            (
                (-p.th_spike_decay * h).exp(),
                (-p.th_spike_decay * p.t_ref).exp(),
                p.th_spike_add,
                p.voltage_reset_fraction,
                p.voltage_reset_add,
            )
        } else {
            (1.0, 0.0, 0.0, 0.0, p.v_reset_rel)
        };
        let (pv, dv_inv, phi, rho) = if p.adapting_threshold {
            (
                (-p.g * h / p.c_m).exp(),
                1.0 / (p.th_voltage_decay * h).exp(),
                p.th_voltage_index / (p.th_voltage_decay - p.g / p.c_m),
                p.th_voltage_index / p.th_voltage_decay,
            )
        } else {
            (0.0, 1.0, 0.0, 0.0)
        };
        let mut asc_s = vec![0.0; n_asc];
        let mut asc_d = vec![0.0; n_asc];
        let mut asc_dref = vec![0.0; n_asc];
        let mut asc_amp = vec![0.0; n_asc];
        let mut asc0 = vec![0.0; n_asc];
        if p.after_spike_currents {
            for (a, &k) in p.asc_decay.iter().enumerate() {
                let d = (-k * h).exp();
                asc_d[a] = d;
                asc_s[a] = ((1.0 / k) / h) * (1.0 - d);
                asc_dref[a] = p.asc_r[a] * (-k * p.t_ref).exp();
                asc_amp[a] = p.asc_amps[a];
                asc0[a] = p.asc0.get(a).copied().unwrap_or(0.0);
            }
        }
        let np = p.tau_syn.len();
        let (mut p11, mut p21, mut p31, mut p32, mut psc0) = (
            vec![0.0; np],
            vec![0.0; np],
            vec![0.0; np],
            vec![0.0; np],
            vec![0.0; np],
        );
        for (k, &ts) in p.tau_syn.iter().enumerate() {
            p11[k] = (-h / ts).exp();
            p21[k] = h * p11[k];
            let (a, b) = alpha_p31_p32(ts, tau, p.c_m, h);
            p31[k] = a;
            p32[k] = b;
            psc0[k] = 1.0 * std::f64::consts::E / ts;
        }
        SetConsts {
            p33,
            p30,
            th_inf: p.th_inf,
            e_l: p.e_l,
            ds,
            ds_ref,
            th_add,
            fv,
            vadd,
            pv,
            dv_inv,
            phi,
            rho,
            g: p.g,
            refr: refractory_steps(p.t_ref, h),
            u0: p.u0,
            asc_s,
            asc_d,
            asc_dref,
            asc_amp,
            asc0,
            p11,
            p21,
            p31,
            p32,
            psc0,
        }
    }
}

/// SoA state and per-neuron (broadcast) constants of a `glif_psc` population.
#[derive(Debug, Clone)]
pub struct GlifPscGroup {
    n: usize,
    n_ports: usize,
    n_asc: usize,
    dt: f64,
    any_r: bool,
    any_asc: bool,
    any_a: bool,
    // constants, one entry per neuron (ports/ASCs: index k * n + i)
    p33: Vec<f64>,
    p30: Vec<f64>,
    th_inf: Vec<f64>,
    e_l: Vec<f64>,
    ds: Vec<f64>,
    ds_ref: Vec<f64>,
    th_add: Vec<f64>,
    fv: Vec<f64>,
    vadd: Vec<f64>,
    pv: Vec<f64>,
    dv_inv: Vec<f64>,
    phi: Vec<f64>,
    rho: Vec<f64>,
    g: Vec<f64>,
    refr_n: Vec<u32>,
    asc_s: Vec<f64>,
    asc_d: Vec<f64>,
    asc_dref: Vec<f64>,
    asc_amp: Vec<f64>,
    p11: Vec<f64>,
    p21: Vec<f64>,
    p31: Vec<f64>,
    p32: Vec<f64>,
    psc0: Vec<f64>,
    // state
    u: Vec<f64>,
    th_s: Vec<f64>,
    th_v: Vec<f64>,
    asc: Vec<f64>,
    asc_sum: Vec<f64>,
    i_ext: Vec<f64>,
    i_syn: Vec<f64>,
    refr: Vec<u32>,
    y1: Vec<f64>,
    y2: Vec<f64>,
}

impl GlifPscGroup {
    /// Build from parameter sets (same number of ports) and the set index of each neuron.
    pub fn new(
        sets: &[&GlifPscParams],
        set_of: &[u32],
        dt: f64,
    ) -> Result<GlifPscGroup, ModelError> {
        let n = set_of.len();
        let n_ports = sets.first().map(|p| p.tau_syn.len()).unwrap_or(0);
        let n_asc = sets
            .iter()
            .filter(|p| p.after_spike_currents)
            .map(|p| p.asc_decay.len())
            .max()
            .unwrap_or(0);
        let consts: Vec<SetConsts> = sets.iter().map(|p| SetConsts::new(p, dt, n_asc)).collect();
        let per = |f: &dyn Fn(&SetConsts) -> f64| -> Vec<f64> {
            set_of.iter().map(|&k| f(&consts[k as usize])).collect()
        };
        let per_k = |k_n: usize, f: &dyn Fn(&SetConsts, usize) -> f64| -> Vec<f64> {
            let mut v = vec![0.0; k_n * n];
            for k in 0..k_n {
                for (i, &s) in set_of.iter().enumerate() {
                    v[k * n + i] = f(&consts[s as usize], k);
                }
            }
            v
        };
        let mut asc = per_k(n_asc, &|c, a| c.asc0[a]);
        asc.shrink_to_fit();
        Ok(GlifPscGroup {
            n,
            n_ports,
            n_asc,
            dt,
            any_r: sets.iter().any(|p| p.spike_dependent_threshold),
            any_asc: n_asc > 0,
            any_a: sets.iter().any(|p| p.adapting_threshold),
            p33: per(&|c| c.p33),
            p30: per(&|c| c.p30),
            th_inf: per(&|c| c.th_inf),
            e_l: per(&|c| c.e_l),
            ds: per(&|c| c.ds),
            ds_ref: per(&|c| c.ds_ref),
            th_add: per(&|c| c.th_add),
            fv: per(&|c| c.fv),
            vadd: per(&|c| c.vadd),
            pv: per(&|c| c.pv),
            dv_inv: per(&|c| c.dv_inv),
            phi: per(&|c| c.phi),
            rho: per(&|c| c.rho),
            g: per(&|c| c.g),
            refr_n: set_of.iter().map(|&k| consts[k as usize].refr).collect(),
            asc_s: per_k(n_asc, &|c, a| c.asc_s[a]),
            asc_d: per_k(n_asc, &|c, a| c.asc_d[a]),
            asc_dref: per_k(n_asc, &|c, a| c.asc_dref[a]),
            asc_amp: per_k(n_asc, &|c, a| c.asc_amp[a]),
            p11: per_k(n_ports, &|c, k| c.p11[k]),
            p21: per_k(n_ports, &|c, k| c.p21[k]),
            p31: per_k(n_ports, &|c, k| c.p31[k]),
            p32: per_k(n_ports, &|c, k| c.p32[k]),
            psc0: per_k(n_ports, &|c, k| c.psc0[k]),
            u: per(&|c| c.u0),
            th_s: vec![0.0; n],
            th_v: vec![0.0; n],
            asc,
            asc_sum: vec![0.0; n],
            i_ext: vec![0.0; n],
            i_syn: vec![0.0; n],
            refr: vec![0; n],
            y1: vec![0.0; n_ports * n],
            y2: vec![0.0; n_ports * n],
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

    pub fn sample(&self, var: &str, i: usize) -> Option<f64> {
        Some(match var {
            "V_m" => self.u[i] + self.e_l[i],
            "threshold" => self.th_s[i] + self.th_v[i] + self.th_inf[i] + self.e_l[i],
            "threshold_spike" => self.th_s[i],
            "threshold_voltage" => self.th_v[i],
            "ASCurrents_sum" => self.asc_sum[i],
            "I" => self.i_ext[i],
            "I_syn" => self.i_syn[i],
            _ => return None,
        })
    }

    /// Advance by `input.n_steps` steps (module contract in `models/mod.rs`).
    pub fn advance(&mut self, input: &BlockInput, spikes: &mut Vec<(u32, u32)>) {
        let first = spikes.len();
        let mut c0 = 0;
        while c0 < self.n {
            let c1 = (c0 + CHUNK).min(self.n);
            self.advance_chunk(c0, c1, input, spikes);
            c0 = c1;
        }
        if self.n > CHUNK {
            sort_spikes_from(spikes, first);
        }
    }

    fn advance_chunk(
        &mut self,
        c0: usize,
        c1: usize,
        input: &BlockInput,
        spikes: &mut Vec<(u32, u32)>,
    ) {
        let n = self.n;
        let m = c1 - c0;
        let np = self.n_ports;
        let mut active = [false; CHUNK];
        let mut sum = [0.0f64; CHUNK];
        let mut u_new = [0.0f64; CHUNK];
        let mut isyn = [0.0f64; CHUNK];
        for s in 0..input.n_steps {
            // Pass 1: which neurons integrate this step (refractory counter = 0).
            for (a, &r) in active[..m].iter_mut().zip(&self.refr[c0..c1]) {
                *a = r == 0;
            }
            // Pass 2: ASC step mean and one-step decay (glif.md §3.4 item 2); frozen while
            // refractory.
            sum[..m].fill(0.0);
            if self.any_asc {
                for a in 0..self.n_asc {
                    let o = a * n;
                    let st = &mut self.asc[o + c0..o + c1];
                    let sc = &self.asc_s[o + c0..o + c1];
                    let dc = &self.asc_d[o + c0..o + c1];
                    for i in 0..m {
                        let x = st[i];
                        sum[i] += sc[i] * x;
                        st[i] = if active[i] { x * dc[i] } else { x };
                    }
                }
            }
            // Pass 3: membrane (item 3): U = v_old·P33 + (I + asc_sum)·P30, then per port
            // U += P31·y1 + P32·y2, and I_syn = Σ y2.
            {
                let u = &self.u[c0..c1];
                let ie = &self.i_ext[c0..c1];
                let p33 = &self.p33[c0..c1];
                let p30 = &self.p30[c0..c1];
                for i in 0..m {
                    u_new[i] = u[i] * p33[i] + (ie[i] + sum[i]) * p30[i];
                    isyn[i] = 0.0;
                }
            }
            for p in 0..np {
                let o = p * n;
                let y1 = &self.y1[o + c0..o + c1];
                let y2 = &self.y2[o + c0..o + c1];
                let p31 = &self.p31[o + c0..o + c1];
                let p32 = &self.p32[o + c0..o + c1];
                for i in 0..m {
                    u_new[i] += p31[i] * y1[i] + p32[i] * y2[i];
                    isyn[i] += y2[i];
                }
            }
            // Pass 4: thresholds, spike test and resets (items 1, 4–6); refractory countdown.
            for i in 0..m {
                let j = c0 + i;
                if !active[i] {
                    self.refr[j] -= 1;
                    continue;
                }
                let v_old = self.u[j];
                let mut th_s = self.th_s[j];
                if self.any_r {
                    th_s *= self.ds[j];
                }
                let asc_sum = sum[i];
                if self.any_a {
                    let beta = (self.i_ext[j] + asc_sum) / self.g[j];
                    let phi = self.phi[j];
                    let rho = self.rho[j];
                    self.th_v[j] = phi * (v_old - beta) * self.pv[j]
                        + self.dv_inv[j] * (self.th_v[j] - phi * (v_old - beta) - rho * beta)
                        + rho * beta;
                }
                self.asc_sum[j] = asc_sum;
                self.i_syn[j] = isyn[i];
                let threshold = th_s + self.th_v[j] + self.th_inf[j];
                let mut u = u_new[i];
                if u > threshold {
                    self.refr[j] = self.refr_n[j];
                    for a in 0..self.n_asc {
                        let k = a * n + j;
                        self.asc[k] = self.asc_amp[k] + self.asc[k] * self.asc_dref[k];
                    }
                    u = self.fv[j] * v_old + self.vadd[j];
                    th_s = th_s * self.ds_ref[j] + self.th_add[j];
                    spikes.push((j as u32, s as u32));
                }
                self.th_s[j] = th_s;
                self.u[j] = u;
            }
            // Pass 5: alpha synapses (item 7): y2 ← P21·y1 + P22·y2; y1 ← P11·y1 + psc0·W.
            for p in 0..np {
                let o = p * n;
                let w = &input.syn[(s * np + p) * n + c0..(s * np + p) * n + c1];
                let (y1, y2) = (&mut self.y1[o + c0..o + c1], &mut self.y2[o + c0..o + c1]);
                let p11 = &self.p11[o + c0..o + c1];
                let p21 = &self.p21[o + c0..o + c1];
                let psc0 = &self.psc0[o + c0..o + c1];
                for i in 0..m {
                    let a = y1[i];
                    y2[i] = p21[i] * a + p11[i] * y2[i];
                    y1[i] = a * p11[i] + psc0[i] * w[i];
                }
            }
            // Item 8: the current delivered in this step is used from the next step on.
            match input.current {
                Some(c) => self.i_ext[c0..c1].copy_from_slice(&c[s * n + c0..s * n + c1]),
                None => self.i_ext[c0..c1].fill(0.0),
            }
        }
    }
}
