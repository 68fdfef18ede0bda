//! Neuron models: parameters (NEST json, Allen neuron_config), precomputed propagators, and
//! structure-of-arrays groups advanced over blocks of steps.
//!
//! ## Engine-facing contract (shared by `engine/`, `neuron/`, benches)
//!
//! * [`ModelParams`] — one validated parameter set of one model kind, in NEST units
//!   (mV, pA, pF, nS, ms). Built from NEST-format JSON ([`ModelParams::from_nest_json`]) or from
//!   an Allen `neuron_config.json` (conversion in `allen.rs`).
//! * [`ModelGroup`] — all neurons of one kind (and one port count) in a chunk, SoA state.
//!   Built from a list of parameter sets plus, per neuron, the index of its set, so propagators
//!   are computed once per set (node type), never per neuron.
//! * [`ModelGroup::advance`] advances every neuron of the group by `input.n_steps` steps of
//!   length `dt` (fixed at construction). Step `s` of the block reads:
//!   - `input.syn[(s * n_ports + p) * n + i]`: summed weight of the spikes delivered to port `p`
//!     of neuron `i` in step `s` (NEST ring-buffer semantics, glif.md §3.4 step 7; for
//!     iaf_psc_delta the mV jump applied within step `s`);
//!   - `input.current[s * n + i]` (pA), the external current delivered in step `s` (it becomes the
//!     current used from step `s + 1` on, glif.md §3.4 step 8), or zero when `None`.
//!
//!   It appends `(i, s)` to `spikes` for every neuron `i` that fires in step `s` (NEST stamps the
//!   spike at the end of the step: time = (block_start + s + 1)·dt), in increasing `s`, and for
//!   equal `s` in increasing `i`.
//! * Ports: [`ModelParams::port_for`] maps a SONATA/NEST `receptor_type` and the weight sign to
//!   the internal 0-based port index (GLIF: receptor 1..=n → 0..n; iaf_psc_alpha/exp: receptor 0,
//!   excitatory (w ≥ 0) → port 0, inhibitory → port 1; iaf_psc_delta: one port).
//!
//! Signatures (implemented in this module):
//!
//! ```text
//! ModelParams::from_nest_json(model: &str /* "glif_psc", "iaf_psc_alpha", … */, json) -> Result<ModelParams, ModelError>
//! ModelParams::kind(&self) -> ModelKind;   ModelParams::n_ports(&self) -> usize
//! ModelParams::port_for(&self, receptor_type: i64, weight: f64) -> Result<usize, ModelError>
//! ModelGroup::new(sets: &[ModelParams], set_of: &[u32], dt_ms: f64) -> Result<ModelGroup, ModelError>
//! ModelGroup::len / n_ports / advance(&mut self, &BlockInput, &mut Vec<(u32, u32)>)
//! ModelGroup::sample(&self, var: &str, i: usize) -> Option<f64>   // V_m, threshold, ASCurrents_sum, I_syn
//! ```
