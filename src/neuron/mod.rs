//! Single-cell runs (`glifnet neuron`): one Allen Cell Types GLIF model on a synthetic input.
//!
//! * [`config`] — the Allen `neuron_config.json`, validated the way AllenSDK builds a
//!   `GlifNeuron` (method names resolved, coefficients applied as AllenSDK does).
//! * [`allensdk`] — AllenSDK `GlifNeuron.run` numerics (docs/glif.md §2), the default semantics.
//! * [`stimulus`] — input currents: step pulses, sampled stimulus files, and spike trains
//!   (regular, Poisson, from a file) turned into synaptic currents through alpha/exp kernels.
//! * [`nest`] — the same config through the NEST-exact `glif_psc` of `models/` (its converter).
//!
//! Units are the Allen config's SI units throughout (s, V relative to rest, A); the CLI converts
//! user-facing pA/ms at its edge.

pub mod allensdk;
pub mod config;
pub mod nest;
pub mod output;
pub mod plot;
pub mod stimulus;

use std::path::PathBuf;

pub use allensdk::{BadReset, GlifNeuron, RunOutput, SpikeCut};
pub use config::AllenConfig;

/// Everything that can go wrong in a single-cell run; every variant names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum NeuronError {
    /// A file could not be read.
    #[error("{}: {msg}", file.display())]
    Io { file: PathBuf, msg: String },
    /// A field of a JSON file (config) is missing or invalid.
    #[error("{}: field {field}: {msg}", file.display())]
    Field {
        file: PathBuf,
        field: String,
        msg: String,
    },
    /// A line of a text input (stimulus or spike-time file) is invalid.
    #[error("{}: line {line}: {msg}", file.display())]
    Line {
        file: PathBuf,
        line: usize,
        msg: String,
    },
    /// A command-line value or input specification is invalid.
    #[error("{what}: {msg}")]
    Value { what: String, msg: String },
    /// The NEST back-end rejected the converted parameters or is unavailable.
    #[error("--semantics nest: {0}")]
    Nest(String),
}
