//! `--semantics nest`: the same Allen config through the NEST-exact `glif_psc` of `models/`.
//! Placeholder until the models API lands on main.

use super::allensdk::{RunOutput, SpikeCut};
use super::config::AllenConfig;
use super::NeuronError;

/// Result of a NEST-semantics run: the output in the AllenSDK layout plus the NEST parameters.
#[derive(Debug, Clone)]
pub struct NestRun {
    pub output: RunOutput,
    pub params: serde_json::Value,
}

/// Run `cfg` as NEST glif_psc.
pub fn run(
    _cfg: &AllenConfig,
    _dt: f64,
    _cut: SpikeCut,
    _stim: &[f64],
) -> Result<NestRun, NeuronError> {
    Err(NeuronError::Nest(
        "not available yet in this build (the NEST-exact glif_psc of src/models/ is not merged)"
            .into(),
    ))
}
