//! What the current-based GLIF models (`glif_psc`, `glif_psc_double_alpha`) share apart from
//! their synapses: the per-parameter-set membrane, threshold, ASC and reset constants of
//! glif.md §3.2 (evaluated in NEST's order of operations), with the neutral values that let a
//! level without a mechanism run the same branch-free step (see `glif_psc.rs`).

use super::params::GlifPscParams;
use super::propagators::{alpha_p31_p32, refractory_steps};

/// Per-parameter-set constants of the GLIF membrane, thresholds and ASCs (glif.md §3.2),
/// computed once per set. Levels without a mechanism get neutral coefficients: θ_s decay 1 and
/// add 0, ASC coefficients 0, θ_v coefficients 0/1, reset `0·v_old + V_reset`.
#[derive(Debug, Clone)]
pub(crate) struct GlifConsts {
    pub p33: f64,
    pub p30: f64,
    pub th_inf: f64,
    pub e_l: f64,
    pub ds: f64,
    pub ds_ref: f64,
    pub th_add: f64,
    pub fv: f64,
    pub vadd: f64,
    pub pv: f64,
    pub dv_inv: f64,
    pub phi: f64,
    pub rho: f64,
    pub g: f64,
    pub refr: u32,
    pub u0: f64,
    pub asc_s: Vec<f64>,
    pub asc_d: Vec<f64>,
    pub asc_dref: Vec<f64>,
    pub asc_amp: Vec<f64>,
    pub asc0: Vec<f64>,
}

impl GlifConsts {
    /// Constants of `p` at step `h` (ms), ASC arrays padded with zeros to `n_asc` entries.
    pub fn new(p: &GlifPscParams, h: f64, n_asc: usize) -> GlifConsts {
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
        GlifConsts {
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
        }
    }

    /// Membrane time constant τ_m = C_m/g (ms), as the propagators use it.
    pub fn tau_m(p: &GlifPscParams) -> f64 {
        p.c_m / p.g
    }
}

/// Propagators of one alpha-shaped current with time constant `tau_syn` (glif.md §3.2, both
/// singular fallbacks): (P11 = P22, P21, P31, P32).
pub(crate) fn alpha_port(p: &GlifPscParams, tau_syn: f64, h: f64) -> (f64, f64, f64, f64) {
    let p11 = (-h / tau_syn).exp();
    let (p31, p32) = alpha_p31_p32(tau_syn, GlifConsts::tau_m(p), p.c_m, h);
    (p11, h * p11, p31, p32)
}
