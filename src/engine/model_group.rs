//! Adapter: `models::ModelGroup` as an engine [`Group`], and the engine built from a lowered
//! [`Network`] (chunking of each kind group for rayon).

use super::{split_ranges, Engine, EngineError, EngineInput, Group, Probe};
use crate::models::{BlockInput, ModelGroup};
use crate::network::Network;

impl Group for ModelGroup {
    fn len(&self) -> usize {
        ModelGroup::len(self)
    }
    fn n_ports(&self) -> usize {
        ModelGroup::n_ports(self)
    }
    #[inline]
    fn advance(
        &mut self,
        n_steps: usize,
        syn: &mut [f64],
        row: usize,
        consume: bool,
        current: Option<&[f64]>,
        spikes: &mut Vec<(u32, u32)>,
    ) {
        ModelGroup::advance(
            self,
            &mut BlockInput {
                n_steps,
                syn,
                row,
                consume,
                current,
            },
            spikes,
        )
    }
    fn sample(&self, var: &str, i: usize) -> Option<f64> {
        ModelGroup::sample(self, var, i)
    }
    fn use_ports(&mut self, used: &[u64]) {
        ModelGroup::use_ports(self, used)
    }
}

/// Chunks per thread: a few, so rayon can balance kinds of different cost.
pub const CHUNKS_PER_THREAD: usize = 2;

/// Build the engine for `net`: each kind group is split into contiguous chunks (about
/// `CHUNKS_PER_THREAD × threads` chunks overall). The chunking never changes the results.
pub fn build_engine(
    net: &Network,
    input: EngineInput,
    threads: usize,
    probes: Vec<Probe>,
) -> Result<Engine<ModelGroup>, EngineError> {
    let total = net.n_neurons.max(1);
    let target = (threads.max(1) * CHUNKS_PER_THREAD).max(1);
    let mut chunks = Vec::new();
    for kg in &net.kinds {
        let parts = if threads <= 1 {
            1
        } else {
            (kg.gids.len() * target).div_ceil(total).max(1)
        };
        for r in split_ranges(kg.gids.len(), parts) {
            let group = ModelGroup::new(&kg.sets, &kg.set_of[r.clone()], net.dt)
                .map_err(|e| EngineError::Invalid(format!("{} group: {e}", kg.kind)))?;
            chunks.push(vec![(group, kg.gids[r].to_vec())]);
        }
    }
    Engine::new(chunks, input, probes)
}
