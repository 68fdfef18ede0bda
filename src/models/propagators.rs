//! Exact-integration constants shared by the psc models (glif.md §3.2) and NEST's conversion of
//! a refractory time to whole steps.
//!
//! The expressions are evaluated in NEST's order of floating-point operations (IAFPropagator of
//! NEST 3.10: precomputed inverses, `expm1` for the difference of exponentials, and the
//! singular fallbacks), so that the propagators agree with NEST to the last bit.

/// NEST's regular/singular switch: the regular formula is used when
/// h > 1e-7·τ_m²/|τ_m − τ_s| (glif.md §3.2).
const NUMERICAL_STABILITY_FACTOR: f64 = 1e-7;

/// Voltage propagators from the synaptic current of one port onto the membrane.
struct IafPropagator {
    h_min_regular: f64,
    beta: f64,
    gamma: f64,
    inv_tau_syn: f64,
    inv_tau_m: f64,
    inv_c_m: f64,
    inv_beta: f64,
}

impl IafPropagator {
    fn new(tau_syn: f64, tau_m: f64, c_m: f64) -> Self {
        let beta = tau_syn * tau_m / (tau_m - tau_syn);
        IafPropagator {
            h_min_regular: NUMERICAL_STABILITY_FACTOR * tau_m * tau_m / (tau_m - tau_syn).abs(),
            beta,
            gamma: beta / c_m,
            inv_tau_syn: 1.0 / tau_syn,
            inv_tau_m: 1.0 / tau_m,
            inv_c_m: 1.0 / c_m,
            inv_beta: (tau_m - tau_syn) / (tau_syn * tau_m),
        }
    }

    /// (P32, e^{-h/τ_s}, expm1(h(1/τ_s − 1/τ_m)), e^{-h/τ_m} or NaN when not needed).
    fn p32(&self, h: f64) -> (f64, f64, f64, f64) {
        let exp_h_tau_syn = (-h * self.inv_tau_syn).exp();
        let expm1_h_tau = (h * self.inv_beta).exp_m1();
        let p32 = self.gamma * exp_h_tau_syn * expm1_h_tau;
        if p32.is_normal() && p32 > 0.0 {
            (p32, exp_h_tau_syn, expm1_h_tau, f64::NAN)
        } else {
            let exp_h_tau = (-h * self.inv_tau_m).exp();
            (
                h * self.inv_c_m * exp_h_tau,
                exp_h_tau_syn,
                expm1_h_tau,
                exp_h_tau,
            )
        }
    }
}

/// (P31, P32) of an alpha-shaped PSC: the response of the membrane to the alpha state
/// (y1 = "derivative", y2 = current) over one step h (glif.md §3.2).
pub fn alpha_p31_p32(tau_syn: f64, tau_m: f64, c_m: f64, h: f64) -> (f64, f64) {
    let pr = IafPropagator::new(tau_syn, tau_m, c_m);
    let (p32, exp_h_tau_syn, expm1_h_tau, exp_h_tau) = pr.p32(h);
    if h > pr.h_min_regular {
        let p31 = pr.gamma * exp_h_tau_syn * (pr.beta * expm1_h_tau - h);
        return (p31, p32);
    }
    let exp_h_tau = if exp_h_tau.is_nan() {
        (-h * pr.inv_tau_m).exp()
    } else {
        exp_h_tau
    };
    (0.5 * h * h * pr.inv_c_m * exp_h_tau, p32)
}

/// P21 of an exponential PSC (current → membrane over one step).
pub fn exp_p21(tau_syn: f64, tau_m: f64, c_m: f64, h: f64) -> f64 {
    IafPropagator::new(tau_syn, tau_m, c_m).p32(h).0
}

/// NEST's tics per ms (default kernel setting).
pub const TICS_PER_MS: f64 = 1000.0;

/// Length of `t_ms` in whole steps of `dt_ms`, as NEST's `Time(Time::ms(t)).get_steps()`:
/// round t to the nearest tic, then round **up** to whole steps (glif.md §3.2: 6.05 ms at
/// h = 0.1 ms → 61 steps).
pub fn refractory_steps(t_ms: f64, dt_ms: f64) -> u32 {
    let tics = (t_ms * TICS_PER_MS + 0.5).floor() as i64;
    let tics_per_step = ((dt_ms * TICS_PER_MS + 0.5).floor() as i64).max(1);
    let steps = (tics + tics_per_step - 1).div_euclid(tics_per_step);
    steps.clamp(0, u32::MAX as i64) as u32
}

/// Number of whole steps in `t_ms` when `t_ms` is meant to be on the grid (delays, stimulus
/// edges): round to tics, then to the nearest step.
pub fn ms_to_steps(t_ms: f64, dt_ms: f64) -> i64 {
    let tics = (t_ms * TICS_PER_MS + 0.5).floor() as i64;
    let tics_per_step = ((dt_ms * TICS_PER_MS + 0.5).floor() as i64).max(1);
    (tics + tics_per_step / 2).div_euclid(tics_per_step)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    /// glif.md §8: NEST glif_psc defaults with τ_s = 2 ms.
    #[test]
    fn section8_constants() {
        let (c_m, g) = (58.72, 9.43);
        let tau_m = c_m / g;
        assert!(rel(tau_m, 6.22693531283) < 1e-11);
        for (h, p33, p30, p31, p32, p11, p21, s) in [
            (
                0.1,
                0.984068998161677,
                0.00168939574107353,
                8.19212510767029e-05,
                0.00164774579332476,
                0.951229424500714,
                0.0951229424500714,
                0.995016625083189,
            ),
            (
                0.01,
                0.998395362379329,
                0.000170163056274783,
                8.4821112927202e-07,
                0.000169738243183468,
                0.995012479192682,
                0.00995012479192682,
                0.999500166624978,
            ),
        ] {
            let q33 = (-h / tau_m).exp();
            let q30 = 1.0 / c_m * (1.0 - q33) * tau_m;
            let (q31, q32) = alpha_p31_p32(2.0, tau_m, c_m, h);
            let q11 = (-h / 2.0f64).exp();
            let k: f64 = 0.1;
            let sk = ((1.0 / k) / h) * (1.0 - (-k * h).exp());
            for (a, b) in [
                (q33, p33),
                (q30, p30),
                (q31, p31),
                (q32, p32),
                (q11, p11),
                (h * q11, p21),
                (sk, s),
            ] {
                assert!(rel(a, b) < 1e-12, "{a} vs {b} at h={h}");
            }
        }
    }

    #[test]
    fn refractory_rounding() {
        assert_eq!(refractory_steps(6.05, 0.1), 61);
        assert_eq!(refractory_steps(6.7, 0.1), 67);
        assert_eq!(refractory_steps(3.75, 0.01), 375);
        assert_eq!(refractory_steps(2.0, 0.1), 20);
        assert_eq!(refractory_steps(1.5, 0.1), 15);
        assert_eq!(refractory_steps(0.0, 0.1), 0);
        assert_eq!(ms_to_steps(1.0, 0.01), 100);
    }

    #[test]
    fn singular_alpha_is_finite() {
        let (p31, p32) = alpha_p31_p32(10.0, 10.0, 250.0, 0.1);
        assert!(p31.is_finite() && p31 > 0.0 && p32.is_finite() && p32 > 0.0);
    }
}
