//! `--semantics nest`: the same Allen config through the NEST-exact `glif_psc` of `models/`.
//! Placeholder until the models API lands on main.

use serde_json::Value;

use super::allensdk::{RunOutput, SpikeCut};
use super::config::AllenConfig;
use super::NeuronError;

/// An alpha-kernel spike train for the NEST back-end.
#[derive(Debug, Clone, PartialEq)]
pub struct AlphaTrain {
    pub onsets: Vec<usize>,
    pub weight_pa: f64,
    pub tau_ms: f64,
}

/// Result of a NEST-semantics run: the output in the AllenSDK layout plus the NEST parameters.
#[derive(Debug, Clone)]
pub struct NestRun {
    pub output: RunOutput,
    pub params: Value,
}

/// Run `cfg` as NEST glif_psc.
pub fn run(
    _cfg: &AllenConfig,
    _dt: f64,
    _cut: SpikeCut,
    _current: &[f64],
    _trains: &[AlphaTrain],
) -> Result<NestRun, NeuronError> {
    Err(NeuronError::Nest(
        "not available yet in this build (the NEST-exact glif_psc of src/models/ is not merged)"
            .into(),
    ))
}
