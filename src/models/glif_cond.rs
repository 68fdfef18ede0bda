//! NEST `glif_cond` (GLIF levels 1–5 with conductance-based alpha synapses) — in progress.

use super::params::GlifCondParams;
use super::{BlockInput, ModelError};

#[derive(Debug, Clone)]
pub struct GlifCondGroup {
    n: usize,
    n_ports: usize,
    dt: f64,
}

impl GlifCondGroup {
    pub fn new(
        sets: &[&GlifCondParams],
        set_of: &[u32],
        dt: f64,
    ) -> Result<GlifCondGroup, ModelError> {
        let _ = (sets, set_of, dt);
        Err(ModelError::Group("glif_cond is not implemented yet".into()))
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
    pub fn sample(&self, _var: &str, _i: usize) -> Option<f64> {
        None
    }
    pub fn advance(&mut self, _input: &BlockInput, _spikes: &mut Vec<(u32, u32)>) {}
}
