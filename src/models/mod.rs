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
//!   - `input.syn[(s * n_ports + p) * input.row + i]`: summed weight of the spikes delivered to port `p`
//!     of neuron `i` in step `s` (NEST ring-buffer semantics, glif.md §3.4 step 7; for
//!     iaf_psc_delta the mV jump applied within step `s`);
//!   - `input.current[s * n + i]` (pA), the external current delivered in step `s` (it becomes the
//!     current used from step `s + 1` on, glif.md §3.4 step 8), or zero when `None`.
//!
//!   With `input.consume` it also zeroes `input.syn`, each entry right after the step that read
//!   it while its cache line is still hot: for dense input (most lines hold a spike) that is
//!   cheaper than the engine's clearing pass over the arrivals, which then missed the cache
//!   once per arrival (more than adding them in cost at N = 50). For sparse input the engine
//!   clears and passes `consume: false` (stores on every step cost dt = 0.001 ms runs 25%).
//!   Entries a group never reads (ports [`ModelGroup::use_ports`] declared unused, row
//!   padding) must be 0 on entry.
//!
//!   It appends `(i, s)` to `spikes` for every neuron `i` that fires in step `s` (NEST stamps the
//!   spike at the end of the step: time = (block_start + s + 1)·dt), in increasing `s`, and for
//!   equal `s` in increasing `i`.
//! * Ports: [`ModelParams::port_for`] maps a SONATA/NEST `receptor_type` and the weight sign to
//!   the internal 0-based port index (GLIF incl. glif_psc_double_alpha: receptor 1..=n → 0..n; iaf_psc_alpha/exp: receptor 0,
//!   excitatory (w ≥ 0) → port 0, inhibitory → port 1; iaf_psc_delta: one port).
//!
//! Signatures (implemented in this module):
//!
//! ```text
//! ModelParams::from_nest_json(model: &str /* "glif_psc", "iaf_psc_alpha", … */, json) -> Result<ModelParams, ModelError>
//! ModelParams::kind(&self) -> ModelKind;   ModelParams::n_ports(&self) -> usize
//! ModelParams::port_for(&self, receptor_type: i64, weight: f64) -> Result<usize, ModelError>
//! ModelGroup::new(sets: &[ModelParams], set_of: &[u32], dt_ms: f64) -> Result<ModelGroup, ModelError>
//! ModelGroup::len / n_ports / advance(&mut self, &mut BlockInput, &mut Vec<(u32, u32)>)
//! ModelGroup::use_ports(&mut self, used: &[u64])   // per-neuron bitmask of ports with inputs
//! ModelGroup::record(&mut self, vars: &[&str])     // the variables that will be sampled
//! ModelGroup::sample(&self, var: &str, i: usize) -> Option<f64>   // V_m, threshold, ASCurrents_sum, I_syn
//! ```
//!
//! Input buffers should start on a cache line ([`AlignedBuf`], as the engine's blocks do): with
//! rows of whole vectors, a chunk that starts on a multiple of 8 then reads whole lines.
//!
//! ## Layout of this module
//!
//! * `params.rs` — NEST-format JSON → typed parameter structs (defaults, NEST's relative storage,
//!   validity checks of glif.md §3.1 / sonata-bmtk.md §5.7).
//! * `propagators.rs` — exact-integration constants (glif.md §3.2) and the refractory count.
//! * `glif_common.rs` — the membrane/threshold/ASC constants the current-based GLIF models
//!   share (glif.md §3.2) and the propagators of one alpha current.
//! * `glif_psc.rs`, `glif_psc_double_alpha.rs`, `glif_cond.rs`, `iaf.rs` — one SoA group per
//!   kind (double alpha: glif.md §12, compiler-vectorised passes only). `glif_psc` and
//!   `iaf_psc_alpha` keep their state in chunk-local stores and step each chunk in one pass
//!   (hand-written AVX-512 lanes for GLIF, bit-identical to the compiler-vectorised ones that
//!   `GLIFNET_PORTABLE_KERNEL=1` forces).
//! * `lanes.rs` — what those one-pass steps share: constants per chunk or per neuron, the
//!   vector width chunks are padded to, chunks that follow the node-type runs (cut on whole
//!   vectors), line-aligned buffers.
//! * `allen.rs` — Allen `neuron_config.json` → NEST parameters (sonata-bmtk.md §5.4).
//! * `drive.rs` — single-neuron scenario driver (spike generators / step currents with NEST's
//!   input timing, glif.md §3.6) used by the conformance tests and `glifnet neuron`.

pub mod allen;
pub mod drive;
mod error;
mod glif_common;
pub mod glif_cond;
pub mod glif_psc;
pub mod glif_psc_double_alpha;
pub mod iaf;
mod lanes;
pub mod params;
pub mod propagators;

pub use error::ModelError;
/// Cache hints, shared with the engine's scatter of spike arrivals.
pub(crate) use lanes::prefetch_at;
/// Line-aligned input buffers, shared with the engine's blocks.
pub use lanes::AlignedBuf;
pub use params::{
    GlifCondParams, GlifPscDoubleAlphaParams, GlifPscParams, IafPscAlphaParams, IafPscDeltaParams,
    IafPscExpParams,
};

use glif_cond::GlifCondGroup;
use glif_psc::GlifPscGroup;
use glif_psc_double_alpha::GlifPscDoubleAlphaGroup;
use iaf::{IafPscAlphaGroup, IafPscDeltaGroup, IafPscExpGroup};

/// The closed set of neuron model kinds glifnet integrates (NEST names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    GlifPsc,
    GlifPscDoubleAlpha,
    GlifCond,
    IafPscAlpha,
    IafPscExp,
    IafPscDelta,
}

impl ModelKind {
    /// All kinds, in a fixed order.
    pub const ALL: [ModelKind; 6] = [
        ModelKind::GlifPsc,
        ModelKind::GlifPscDoubleAlpha,
        ModelKind::GlifCond,
        ModelKind::IafPscAlpha,
        ModelKind::IafPscExp,
        ModelKind::IafPscDelta,
    ];

    /// NEST model name (`glif_psc`, …).
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::GlifPsc => "glif_psc",
            ModelKind::GlifPscDoubleAlpha => "glif_psc_double_alpha",
            ModelKind::GlifCond => "glif_cond",
            ModelKind::IafPscAlpha => "iaf_psc_alpha",
            ModelKind::IafPscExp => "iaf_psc_exp",
            ModelKind::IafPscDelta => "iaf_psc_delta",
        }
    }

    /// Parse a NEST model name; a `nest:` prefix (BMTK `model_template`) is accepted.
    pub fn from_name(name: &str) -> Result<ModelKind, ModelError> {
        let n = name.trim();
        let n = n.strip_prefix("nest:").unwrap_or(n);
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name() == n)
            .ok_or_else(|| ModelError::UnknownModel(name.to_string()))
    }

    /// Recordable variables (NEST names) that [`ModelGroup::sample`] answers for this kind.
    pub fn recordables(self) -> &'static [&'static str] {
        match self {
            ModelKind::GlifPsc | ModelKind::GlifPscDoubleAlpha => &[
                "V_m",
                "threshold",
                "threshold_spike",
                "threshold_voltage",
                "ASCurrents_sum",
                "I",
                "I_syn",
            ],
            ModelKind::GlifCond => &[
                "V_m",
                "threshold",
                "threshold_spike",
                "threshold_voltage",
                "ASCurrents_sum",
                "I",
            ],
            ModelKind::IafPscAlpha | ModelKind::IafPscExp => &["V_m", "I_syn_ex", "I_syn_in"],
            ModelKind::IafPscDelta => &["V_m"],
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One validated parameter set of one model kind (NEST units).
#[derive(Debug, Clone, PartialEq)]
pub enum ModelParams {
    GlifPsc(GlifPscParams),
    GlifPscDoubleAlpha(GlifPscDoubleAlphaParams),
    GlifCond(GlifCondParams),
    IafPscAlpha(IafPscAlphaParams),
    IafPscExp(IafPscExpParams),
    IafPscDelta(IafPscDeltaParams),
}

impl ModelParams {
    /// Parse NEST-format parameters (a JSON object; `{}` gives NEST's defaults) for `model`
    /// (`glif_psc`, `glif_psc_double_alpha`, `glif_cond`, `iaf_psc_alpha`, `iaf_psc_exp`,
    /// `iaf_psc_delta`, optionally
    /// prefixed `nest:`). Unknown keys, wrong types and invalid values are errors.
    pub fn from_nest_json(
        model: &str,
        json: &serde_json::Value,
    ) -> Result<ModelParams, ModelError> {
        let kind = ModelKind::from_name(model)?;
        Ok(match kind {
            ModelKind::GlifPsc => ModelParams::GlifPsc(GlifPscParams::from_json(json)?),
            ModelKind::GlifPscDoubleAlpha => {
                ModelParams::GlifPscDoubleAlpha(GlifPscDoubleAlphaParams::from_json(json)?)
            }
            ModelKind::GlifCond => ModelParams::GlifCond(GlifCondParams::from_json(json)?),
            ModelKind::IafPscAlpha => ModelParams::IafPscAlpha(IafPscAlphaParams::from_json(json)?),
            ModelKind::IafPscExp => ModelParams::IafPscExp(IafPscExpParams::from_json(json)?),
            ModelKind::IafPscDelta => ModelParams::IafPscDelta(IafPscDeltaParams::from_json(json)?),
        })
    }

    pub fn kind(&self) -> ModelKind {
        match self {
            ModelParams::GlifPsc(_) => ModelKind::GlifPsc,
            ModelParams::GlifPscDoubleAlpha(_) => ModelKind::GlifPscDoubleAlpha,
            ModelParams::GlifCond(_) => ModelKind::GlifCond,
            ModelParams::IafPscAlpha(_) => ModelKind::IafPscAlpha,
            ModelParams::IafPscExp(_) => ModelKind::IafPscExp,
            ModelParams::IafPscDelta(_) => ModelKind::IafPscDelta,
        }
    }

    /// Number of internal synaptic ports (GLIF: len(tau_syn), glif_psc_double_alpha:
    /// len(tau_syn_fast); iaf_psc_alpha/exp: 2 (ex, in); iaf_psc_delta: 1).
    pub fn n_ports(&self) -> usize {
        match self {
            ModelParams::GlifPsc(p) => p.tau_syn.len(),
            ModelParams::GlifPscDoubleAlpha(p) => p.n_ports(),
            ModelParams::GlifCond(p) => p.glif.tau_syn.len(),
            ModelParams::IafPscAlpha(_) | ModelParams::IafPscExp(_) => 2,
            ModelParams::IafPscDelta(_) => 1,
        }
    }

    /// Map a NEST `receptor_type` and the weight sign to the internal 0-based port
    /// (glif.md §3.5; iaf models split by sign like NEST's `handle(SpikeEvent)`).
    pub fn port_for(&self, receptor_type: i64, weight: f64) -> Result<usize, ModelError> {
        let kind = self.kind();
        let bad = |rule: String| ModelError::Port {
            model: kind.name().to_string(),
            receptor: receptor_type,
            rule,
        };
        match self {
            ModelParams::GlifPsc(_)
            | ModelParams::GlifCond(_)
            | ModelParams::GlifPscDoubleAlpha(_) => {
                let n = self.n_ports() as i64;
                let per = if kind == ModelKind::GlifPscDoubleAlpha {
                    "tau_syn_fast"
                } else {
                    "tau_syn"
                };
                if receptor_type >= 1 && receptor_type <= n {
                    Ok((receptor_type - 1) as usize)
                } else {
                    Err(bad(format!(
                        "must be in 1..={n} (one receptor port per {per} entry; 0 is not a spike port)"
                    )))
                }
            }
            ModelParams::IafPscAlpha(_) | ModelParams::IafPscExp(_) => {
                if receptor_type != 0 {
                    return Err(bad(
                        "must be 0 (the model has a single spike receptor)".into()
                    ));
                }
                // iaf_psc_alpha routes w > 0 to ex and w <= 0 to in; iaf_psc_exp routes w >= 0
                // to ex. A zero weight adds nothing either way, so `w >= 0 -> ex` is exact.
                Ok(if weight >= 0.0 { 0 } else { 1 })
            }
            ModelParams::IafPscDelta(_) => {
                if receptor_type != 0 {
                    return Err(bad(
                        "must be 0 (the model has a single spike receptor)".into()
                    ));
                }
                Ok(0)
            }
        }
    }
}

/// Per-step input of one block for one group (layout in the module docs).
#[derive(Debug)]
pub struct BlockInput<'a> {
    /// Number of steps in the block.
    pub n_steps: usize,
    /// `syn[(s * n_ports + p) * row + i]`: summed spike weight for port `p` of neuron `i` in step `s`.
    pub syn: &'a mut [f64],
    /// `advance` must leave `syn` all zeros (see the module docs).
    pub consume: bool,
    /// Row length of `syn`, ≥ the group's size; entries past the last neuron are 0. The
    /// engine pads rows to whole vectors so that vector loops read them in place.
    pub row: usize,
    /// `current[s * n + i]` (pA) delivered in step `s`; `None` = no external current.
    pub current: Option<&'a [f64]>,
}

impl BlockInput<'_> {
    /// Where the input of `ports` for step `s` starts at neuron `c0`, for the kernels to hint
    /// into the cache one step ahead, a vector at a time (a pointer that is never read; past
    /// the block it is step `s - 1`'s, already cached). A chunk's rows are short streams (1 KB
    /// per port and step) that the hardware prefetcher does not catch, so once a block outgrows
    /// L2 (N = 50: 9.6 MB) the first vectors of every row waited for memory.
    #[inline(always)]
    pub(crate) fn ahead<const NP: usize>(
        &self,
        s: usize,
        n_ports: usize,
        ports: [usize; NP],
        c0: usize,
    ) -> [*const f64; NP] {
        let s = s.min(self.n_steps.max(1) - 1);
        std::array::from_fn(|q| {
            let o = (s * n_ports + ports[q]) * self.row + c0;
            self.syn.as_ptr().wrapping_add(o)
        })
    }

    /// With `consume`: zero neurons `c0..c0 + m` of `ports` in step `s`, which the step has
    /// just read (so the lines are still in L1). Every model's zeroing goes through here.
    #[inline(always)]
    pub(crate) fn consume_lanes(
        &mut self,
        s: usize,
        n_ports: usize,
        ports: impl IntoIterator<Item = usize>,
        c0: usize,
        m: usize,
    ) {
        if self.consume {
            for p in ports {
                let o = (s * n_ports + p) * self.row + c0;
                lanes::zero_lanes(&mut self.syn[o..o + m]);
            }
        }
    }
}

/// All neurons of one model kind and one port count, SoA state; static dispatch per kind.
/// (Variants differ in size; there are only a handful of groups, so boxing buys nothing.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum ModelGroup {
    GlifPsc(GlifPscGroup),
    GlifPscDoubleAlpha(GlifPscDoubleAlphaGroup),
    GlifCond(GlifCondGroup),
    IafPscAlpha(IafPscAlphaGroup),
    IafPscExp(IafPscExpGroup),
    IafPscDelta(IafPscDeltaGroup),
}

macro_rules! dispatch {
    ($self:expr, $g:ident => $e:expr) => {
        match $self {
            ModelGroup::GlifPsc($g) => $e,
            ModelGroup::GlifPscDoubleAlpha($g) => $e,
            ModelGroup::GlifCond($g) => $e,
            ModelGroup::IafPscAlpha($g) => $e,
            ModelGroup::IafPscExp($g) => $e,
            ModelGroup::IafPscDelta($g) => $e,
        }
    };
}

impl ModelGroup {
    /// Build a group from parameter sets (all of one kind and one port count) and, per neuron,
    /// the index of its set. Propagators are computed once per set.
    pub fn new(sets: &[ModelParams], set_of: &[u32], dt_ms: f64) -> Result<ModelGroup, ModelError> {
        let first = sets
            .first()
            .ok_or_else(|| ModelError::Group("no parameter sets given".into()))?;
        let kind = first.kind();
        let n_ports = first.n_ports();
        for (k, s) in sets.iter().enumerate() {
            if s.kind() != kind {
                return Err(ModelError::Group(format!(
                    "parameter set {k} is {} but the group is {kind}",
                    s.kind()
                )));
            }
            if s.n_ports() != n_ports {
                return Err(ModelError::Group(format!(
                    "parameter set {k} has {} ports but the group has {n_ports}",
                    s.n_ports()
                )));
            }
        }
        if let Some((i, &k)) = set_of
            .iter()
            .enumerate()
            .find(|(_, &k)| k as usize >= sets.len())
        {
            return Err(ModelError::Group(format!(
                "neuron {i} refers to parameter set {k} but only {} sets exist",
                sets.len()
            )));
        }
        if !(dt_ms.is_finite() && dt_ms > 0.0) {
            return Err(ModelError::Group(format!("dt = {dt_ms} ms must be > 0")));
        }
        macro_rules! collect {
            ($variant:ident) => {
                sets.iter()
                    .filter_map(|s| match s {
                        ModelParams::$variant(p) => Some(p),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            };
        }
        Ok(match kind {
            ModelKind::GlifPsc => {
                ModelGroup::GlifPsc(GlifPscGroup::new(&collect!(GlifPsc), set_of, dt_ms)?)
            }
            ModelKind::GlifPscDoubleAlpha => ModelGroup::GlifPscDoubleAlpha(
                GlifPscDoubleAlphaGroup::new(&collect!(GlifPscDoubleAlpha), set_of, dt_ms)?,
            ),
            ModelKind::GlifCond => {
                ModelGroup::GlifCond(GlifCondGroup::new(&collect!(GlifCond), set_of, dt_ms)?)
            }
            ModelKind::IafPscAlpha => ModelGroup::IafPscAlpha(IafPscAlphaGroup::new(
                &collect!(IafPscAlpha),
                set_of,
                dt_ms,
            )?),
            ModelKind::IafPscExp => {
                ModelGroup::IafPscExp(IafPscExpGroup::new(&collect!(IafPscExp), set_of, dt_ms)?)
            }
            ModelKind::IafPscDelta => ModelGroup::IafPscDelta(IafPscDeltaGroup::new(
                &collect!(IafPscDelta),
                set_of,
                dt_ms,
            )?),
        })
    }

    pub fn kind(&self) -> ModelKind {
        match self {
            ModelGroup::GlifPsc(_) => ModelKind::GlifPsc,
            ModelGroup::GlifPscDoubleAlpha(_) => ModelKind::GlifPscDoubleAlpha,
            ModelGroup::GlifCond(_) => ModelKind::GlifCond,
            ModelGroup::IafPscAlpha(_) => ModelKind::IafPscAlpha,
            ModelGroup::IafPscExp(_) => ModelKind::IafPscExp,
            ModelGroup::IafPscDelta(_) => ModelKind::IafPscDelta,
        }
    }

    /// Number of neurons.
    pub fn len(&self) -> usize {
        dispatch!(self, g => g.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of synaptic ports per neuron (the `n_ports` of the input layout).
    pub fn n_ports(&self) -> usize {
        dispatch!(self, g => g.n_ports())
    }

    /// Step length (ms).
    pub fn dt(&self) -> f64 {
        dispatch!(self, g => g.dt())
    }

    /// Declare which ports can ever receive weight: bit `p` of `used[i]` for port `p` of
    /// neuron `i` (ports ≥ 64 always count as used). A group may then skip unused ports, whose
    /// state stays exactly 0; results do not change. Call it before or between `advance`s.
    pub fn use_ports(&mut self, used: &[u64]) {
        match self {
            ModelGroup::GlifPsc(g) => g.use_ports(used),
            ModelGroup::GlifPscDoubleAlpha(g) => g.use_ports(used),
            _ => {}
        }
    }

    /// Declare the variables that probes will sample from this group (all of them until this
    /// is called). A group may stop updating a variable that only samples read; no spike and no
    /// declared variable changes. Call it before or between `advance`s.
    pub fn record(&mut self, vars: &[&str]) {
        match self {
            ModelGroup::GlifPsc(g) => g.record(vars),
            ModelGroup::GlifPscDoubleAlpha(g) => g.record(vars),
            _ => {}
        }
    }

    /// Advance all neurons by `input.n_steps` steps; append `(neuron, step)` spikes sorted by
    /// step then neuron. Panics if the input slices are shorter than the layout requires
    /// (a programming error of the caller, not user data).
    pub fn advance(&mut self, input: &mut BlockInput, spikes: &mut Vec<(u32, u32)>) {
        let n = self.len();
        assert!(input.row >= n, "BlockInput.row shorter than the group");
        assert!(
            input.syn.len() >= input.n_steps * self.n_ports() * input.row,
            "BlockInput.syn too short"
        );
        if let Some(c) = input.current {
            assert!(c.len() >= input.n_steps * n, "BlockInput.current too short");
        }
        dispatch!(self, g => g.advance(input, spikes))
    }

    /// Neuron `i`'s dynamic state: everything a step carries to the next, as f64s (counters
    /// are small integers, exact in f64). With [`Self::load_state`] it moves neurons between
    /// groups of the same parameters without changing any bit of what follows.
    pub fn save_state(&mut self, i: usize) -> Vec<f64> {
        dispatch!(self, g => g.save_state(i))
    }

    /// Restore a state saved by [`Self::save_state`] from a neuron of the same parameters.
    pub fn load_state(&mut self, i: usize, state: &[f64]) {
        dispatch!(self, g => g.load_state(i, state))
    }

    /// Current value of a recordable (NEST name, see [`ModelKind::recordables`]) of neuron `i`,
    /// as NEST's multimeter would report it after the last step; `None` if unknown.
    pub fn sample(&self, var: &str, i: usize) -> Option<f64> {
        if i >= self.len() {
            return None;
        }
        dispatch!(self, g => g.sample(var, i))
    }
}

/// `GLIFNET_PORTABLE_KERNEL=1` forces the compiler-vectorised steps even where the
/// hand-written AVX-512 ones would run, so tests can check that both give the same bits.
pub(crate) fn portable_only() -> bool {
    static P: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *P.get_or_init(|| std::env::var_os("GLIFNET_PORTABLE_KERNEL").is_some_and(|v| v == "1"))
}

/// Sort the spikes appended since `from` by (step, neuron) — groups that process neurons in
/// cache-sized chunks emit them chunk-major.
pub(crate) fn sort_spikes_from(spikes: &mut [(u32, u32)], from: usize) {
    spikes[from..].sort_unstable_by_key(|&(i, s)| (s, i));
}
