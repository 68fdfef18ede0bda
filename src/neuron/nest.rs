//! `--semantics nest`: the same Allen config through the NEST-exact `glif_psc` of `models/`
//! (glif.md §3), with bmtk's parameter conversion (`models::allen::convert`).
//!
//! Input timing is NEST's with the minimum delay h (glif.md §3.6): the current sample k is
//! delivered in step k and acts on the membrane from step k+1; a spike with onset step k is added
//! to its alpha synapse at the end of step k. Alpha-kernel trains use glif_psc's own alpha
//! synapses (one receptor port per distinct τ, so the PSC is integrated exactly); exp-kernel
//! trains have no glif_psc counterpart and enter as part of the current.
//! Spike times are end-of-step grid times, (k+1)·h; there is no spike cut in the traces (NEST
//! holds V at the reset value while refractory).

use serde_json::{json, Value};

use super::allensdk::{RunOutput, SpikeCut};
use super::config::AllenConfig;
use super::NeuronError;
use crate::models::allen::{convert, RefractoryConvention};
use crate::models::{BlockInput, ModelError, ModelGroup, ModelKind};

/// An alpha-kernel spike train for the NEST back-end.
#[derive(Debug, Clone, PartialEq)]
pub struct AlphaTrain {
    /// Onset steps (sorted); the spike is delivered to the synapse in that step.
    pub onsets: Vec<usize>,
    /// Peak of the alpha PSC (pA).
    pub weight_pa: f64,
    /// Kernel time constant (ms).
    pub tau_ms: f64,
}

/// Result of a NEST-semantics run: the output in the AllenSDK layout plus the NEST parameters.
#[derive(Debug, Clone)]
pub struct NestRun {
    pub output: RunOutput,
    /// The glif_psc parameter dict used (mV, nS, pF, ms, 1/ms, pA).
    pub params: Value,
}

fn model_err(e: ModelError) -> NeuronError {
    NeuronError::Nest(e.to_string())
}

/// Run `cfg` as NEST glif_psc at step `dt` (s) on `current` (A, one sample per step) plus the
/// alpha-kernel `trains`. `cut` picks t_ref: `Steps` → spike_cut_length × dt (AllenSDK),
/// `ConfigDt` → spike_cut_length × config dt (bmtk).
pub fn run(
    cfg: &AllenConfig,
    dt: f64,
    cut: SpikeCut,
    current: &[f64],
    trains: &[AlphaTrain],
) -> Result<NestRun, NeuronError> {
    if !(dt > 0.0 && dt.is_finite()) {
        return Err(NeuronError::Value {
            what: "dt".into(),
            msg: format!("{dt:?} s must be a positive number"),
        });
    }
    let dt_ms = dt * 1e3;
    let refractory = match cut {
        SpikeCut::Steps => RefractoryConvention::RunDt(dt_ms),
        SpikeCut::ConfigDt => RefractoryConvention::ConfigDt,
    };
    let mut conv = convert(&cfg.raw, ModelKind::GlifPsc, None, refractory)
        .map_err(|e| NeuronError::Nest(format!("{}: {e}", cfg.source.display())))?;

    // One receptor port per distinct alpha τ, in order of first use.
    let mut taus: Vec<f64> = Vec::new();
    let mut port_of = Vec::with_capacity(trains.len());
    for t in trains {
        let p = match taus.iter().position(|&x| x == t.tau_ms) {
            Some(p) => p,
            None => {
                taus.push(t.tau_ms);
                taus.len() - 1
            }
        };
        port_of.push(p);
    }
    if !taus.is_empty() {
        conv.params.insert("tau_syn".into(), json!(taus));
    }
    let e_l = conv
        .params
        .get("E_L")
        .and_then(Value::as_f64)
        .ok_or_else(|| NeuronError::Nest("converted parameters lack E_L".into()))?;
    let params = conv.model_params().map_err(model_err)?;
    let np = params.n_ports();
    let mut group =
        ModelGroup::new(std::slice::from_ref(&params), &[0], dt_ms).map_err(model_err)?;

    let n = current.len();
    let cur_pa: Vec<f64> = current.iter().map(|x| x * 1e12).collect();
    let mut syn = vec![0.0; n * np];
    for (t, &p) in trains.iter().zip(&port_of) {
        for &k in t.onsets.iter().filter(|&&k| k < n) {
            syn[k * np + p] += t.weight_pa;
        }
    }

    let mut out = RunOutput {
        dt,
        spike_cut_steps: cut.steps(cfg, dt),
        voltage: vec![f64::NAN; n],
        threshold: vec![f64::NAN; n],
        asc_sum: vec![f64::NAN; n],
        ..Default::default()
    };
    // One step per call so every step can be recorded (the state after step k is sample k, as
    // in the AllenSDK layout).
    let mut fired = Vec::new();
    for k in 0..n {
        let mut input = BlockInput {
            n_steps: 1,
            syn: &mut syn[k * np..(k + 1) * np],
            row: 1,
            consume: false,
            current: Some(&cur_pa[k..k + 1]),
        };
        fired.clear();
        group.advance(&mut input, &mut fired);
        if !fired.is_empty() {
            let t = (k + 1) as f64 * dt;
            out.spike_steps.push(k);
            out.grid_spike_times.push(t);
            out.interpolated_spike_times.push(t);
        }
        let s = |v: &str| group.sample(v, 0).unwrap_or(f64::NAN);
        out.voltage[k] = (s("V_m") - e_l) * 1e-3;
        out.threshold[k] = (s("threshold") - e_l) * 1e-3;
        out.asc_sum[k] = s("ASCurrents_sum") * 1e-12;
    }
    Ok(NestRun {
        output: out,
        params: Value::Object(conv.params),
    })
}
