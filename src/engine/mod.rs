//! Simulation engine: min-delay epochs, per-chunk ring buffers, deterministic parallel update.
//!
//! ## How a run proceeds (design.md "Engine principles")
//!
//! No spike can reach any neuron sooner than `d_min` steps (the smallest synaptic delay), so the
//! engine advances every neuron `d_min` steps (one *epoch*) without synchronisation, then
//! exchanges that epoch's spikes once. Neurons are split into [`Chunk`]s (one per thread in
//! single-process runs, each holding a piece of one or more model groups; see
//! `model_group::build_engine` for how the cuts are chosen); a chunk owns its neurons' ring
//! buffers and the incoming synapses of its neurons indexed by source, so delivery is lock-free
//! and each chunk runs on its own rayon task. When the chunks' measured times drift apart during
//! a run, the engine is rebuilt with a new cut at an epoch boundary and takes over the old one's
//! state ([`Engine::set_rebalancer`], [`Engine::take_over`]).
//!
//! ## Determinism and NEST's summation order
//!
//! A ring-buffer slot receives one f64 addition per arriving event. NEST (one thread) adds the
//! weights of one step's spikes in this order: first the virtual (spike_generator) sources,
//! which deliver immediately while they are updated, then the neuron sources in node order,
//! whose spikes are delivered at the start of the next min-delay slice in recorder-register
//! order (source by source). The engine reproduces it by delivering the epoch's spikes sorted
//! by `(step, virtual-before-neuron, source index)`; every slot then receives the same additions
//! in the same order whatever the chunking, so the output is bit-identical for any thread count.
//!
//! ## Ring buffers: sparse buckets + one small dense block
//!
//! A dense ring of `max_delay` slots × ports × neurons is mostly zeros and, at dt = 0.001 ms
//! (2000-step delays), tens of MB that every step would stream through memory. Instead each group
//! keeps a ring of *buckets*, one per future step (a power of two of them, so the bucket of a step
//! is a mask), listing the arriving runs of synapses (each synapse an `(port·row + i, weight)`
//! addition) in arrival order, plus one dense block `block[(s * n_ports + port) * row + i]` of `B`
//! steps that stays in cache (`row`: the group size padded with zeros to whole 8-lane vectors, so
//! the models' vector loops read the last lanes in place). Before a block is advanced its buckets
//! are scattered into the dense block (additions in arrival order, so every slot gets exactly
//! NEST's sequence of f64 additions starting from 0.0), the block is handed to the model (`models`
//! contract), and the block is zeroed again: by the model as it reads each row when the block is
//! dense (≥ 1 arrival per `CONSUME_DENSITY` entries, e.g. N = 50 at dt = 0.1 ms, where clearing
//! arrival by arrival missed the cache each time), else by the engine, entry by arrived entry (dt =
//! 0.001 ms, where a store per row and step would cost more). Epochs are `floor(d_min / B)·B`
//! steps, still ≤ d_min, so no spike lands in its own epoch. The buckets and the chunk's incoming
//! synapses live in `queue.rs`, which packs an addition into 4 bytes where the chunk has few
//! distinct weights.
//!
//! Groups are told which ports ever receive weight ([`Group::use_ports`]): BMTK's GLIF cells
//! use 2 or 3 of their 4 receptor ports, and the unused ones need no integration.

mod probe;
mod queue;

pub use probe::{NoProbes, Probe, ProbeRow, ProbeSink};

use crate::models::AlignedBuf;
use queue::{Incoming, IncomingEdge, Queue, Steps};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Errors of the engine (inconsistent lowered network; never user data directly).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("engine: {0}")]
    Invalid(String),
    #[error("engine: probe variable '{var}' is not recorded by the model of neuron {neuron}")]
    ProbeVariable { var: String, neuron: u32 },
    /// The ring buffers of the longest delay cannot fit in memory (checked before allocating;
    /// network lowering refuses such delays first, naming the file).
    #[error("engine: the longest delay ({d_max} steps) needs ring buffers of {buckets} buckets in each of {slots} model group slot(s), which {why}")]
    RingTooLarge {
        d_max: u64,
        buckets: u64,
        slots: usize,
        why: String,
    },
}

/// One structure-of-arrays group of neurons of one model kind, advanced over blocks of steps.
///
/// This is the engine's view of `models::ModelGroup` (adapter in [`model_group`]); tests use tiny
/// private models. `advance` must follow the `models` contract: step `s` reads
/// `syn[(s * n_ports + p) * row + i]` (`row` ≥ `len`; entries past `len` are 0) and
/// `current[s * len + i]`, appends `(i, s)` per spike in increasing `(s, i)`, and with
/// `consume` leaves `syn` all zeros (dense input: cheaper than the engine's clearing pass).
pub trait Group: Send {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn n_ports(&self) -> usize;
    fn advance(
        &mut self,
        n_steps: usize,
        syn: &mut [f64],
        row: usize,
        consume: bool,
        current: Option<&[f64]>,
        spikes: &mut Vec<(u32, u32)>,
    );
    fn sample(&self, var: &str, i: usize) -> Option<f64>;
    /// Neuron `i`'s dynamic state, everything a step carries to the next ([`Engine::take_over`]
    /// moves neurons between chunks with it; `&mut`: a group may reach its state through the
    /// accessors that also restore it).
    fn save_state(&mut self, i: usize) -> Vec<f64>;
    /// Restore a state saved by [`Group::save_state`] from a neuron of the same parameters.
    fn load_state(&mut self, i: usize, state: &[f64]);
    /// Which ports can ever receive weight (bit `p` of `used[i]`); called once when the engine
    /// is built, so a group may skip the others. Must not change any result.
    fn use_ports(&mut self, _used: &[u64]) {}
    /// The variables probes sample from this group's neurons (none: empty); called once when
    /// the engine is built, so a group may stop updating what only samples read. Must not
    /// change any spike or any of these variables.
    fn record(&mut self, _vars: &[&str]) {}
}

pub mod model_group;

/// Synapses in CSR form indexed by *source*. Sources `0..n_neurons` are the simulated neurons
/// (global dense index), `n_neurons..n_neurons+n_virtual` the virtual (input) nodes.
#[derive(Debug, Clone, Default)]
pub struct Synapses {
    /// `offsets[src]..offsets[src+1]` indexes the edges of source `src`; len = n_sources + 1.
    pub offsets: Vec<usize>,
    pub target: Vec<u32>,
    pub port: Vec<u16>,
    pub delay: Vec<u32>,
    pub weight: Vec<f64>,
}

impl Synapses {
    pub fn n_sources(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
    /// Build from an unordered edge list; the edges of one source keep their list order.
    pub fn from_edges(n_sources: usize, edges: &[(u32, u32, u16, u32, f64)]) -> Synapses {
        let mut degree = vec![0usize; n_sources];
        for e in edges {
            degree[e.0 as usize] += 1;
        }
        let mut b = SynapsesBuilder::new(&degree);
        for &(s, t, p, d, w) in edges {
            b.push(s, t, p, d, w);
        }
        b.finish()
    }
}

/// Fills a [`Synapses`] in place from edges in any source order, once every source's out-degree
/// is known: the loader counts first and then lowers straight into the CSR, without a list of
/// all edges beside it (2.5 GB at V1 scale). Each source's edges keep their push order.
pub struct SynapsesBuilder {
    syn: Synapses,
    next: Vec<usize>,
    pushed: usize,
}

impl SynapsesBuilder {
    /// Room for `degree[src]` edges of every source.
    pub fn new(degree: &[usize]) -> SynapsesBuilder {
        let mut offsets = Vec::with_capacity(degree.len() + 1);
        offsets.push(0);
        for &d in degree {
            offsets.push(offsets.last().copied().unwrap_or(0) + d);
        }
        let m = offsets.last().copied().unwrap_or(0);
        let (mut target, mut port, mut delay, mut weight) =
            (vec![0; m], vec![0; m], vec![0; m], vec![0.0; m]);
        // written in source order while edges come in target order: four random lines per
        // edge, each on another page unless the pages are huge
        hint_huge_pages(&mut target);
        hint_huge_pages(&mut port);
        hint_huge_pages(&mut delay);
        hint_huge_pages(&mut weight);
        let next = offsets[..degree.len()].to_vec();
        SynapsesBuilder {
            syn: Synapses {
                offsets,
                target,
                port,
                delay,
                weight,
            },
            next,
            pushed: 0,
        }
    }

    /// The next edge of source `s`. Panics past the degree given for `s` (a caller's bug).
    pub fn push(&mut self, s: u32, t: u32, p: u16, d: u32, w: f64) {
        let k = self.next[s as usize];
        assert!(
            k < self.syn.offsets[s as usize + 1],
            "source {s}: more edges than counted"
        );
        self.next[s as usize] += 1;
        self.pushed += 1;
        let syn = &mut self.syn;
        (syn.target[k], syn.port[k], syn.delay[k], syn.weight[k]) = (t, p, d, w);
    }

    /// Edges pushed so far.
    pub fn pushed(&self) -> usize {
        self.pushed
    }

    /// The CSR. Panics unless every source got exactly its degree (a caller's bug).
    pub fn finish(self) -> Synapses {
        assert!(
            self.next == self.syn.offsets[1..],
            "synapses: fewer edges pushed than counted"
        );
        self.syn
    }
}
/// Ask the kernel to back a large buffer that is about to be written at random with
/// transparent huge pages (Linux, `madvise` mode): with 4 KB pages every such write also
/// misses the TLB. A hint only: no value depends on it, and failure is ignored.
fn hint_huge_pages<T>(v: &mut [T]) {
    const HUGE: usize = 2 << 20;
    let len = std::mem::size_of_val(v);
    if len < 4 * HUGE {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let p = v.as_mut_ptr() as usize;
        let (start, end) = (p.next_multiple_of(4096), (p + len) & !4095);
        // SAFETY: `start..end` lies within `v`'s allocation and is page-aligned; MADV_HUGEPAGE
        // changes no content and no mapping, only how later faults are served.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

/// Piecewise-constant external current of one neuron: `(step, amp_pA)` breakpoints sorted by step;
/// the amplitude is delivered (models contract `current[s]`) from `step` until the next breakpoint.
pub type CurrentSteps = Vec<(u64, f64)>;

/// An event delivered straight into a ring-buffer slot (Poisson input): `(step, neuron, port, w)`.
pub type DirectEvent = (u64, u32, u16, f64);

/// Everything the engine needs besides the model groups.
#[derive(Debug, Default, Clone)]
pub struct EngineInput {
    pub n_neurons: usize,
    pub n_virtual: usize,
    pub synapses: Synapses,
    /// Virtual spikes as `(emission step, virtual index)`, sorted. Emission step `n` means the
    /// spike is stamped `(n+1)·dt` and reaches slot `n + delay`.
    pub virtual_spikes: Vec<(u64, u32)>,
    /// Per neuron (global index) current clamps; empty = none.
    pub currents: Vec<(u32, CurrentSteps)>,
    /// Direct events sorted by `(step, neuron)`.
    pub direct: Vec<DirectEvent>,
    pub n_steps: u64,
}

/// A group placed in a chunk: its neurons' global indices, ring buffer and clamp inputs.
/// Aligned to two cache lines (the prefetcher fetches pairs) so that the fields one thread
/// writes every block never share a line with another chunk's (false sharing).
#[repr(align(128))]
struct Slot<G> {
    group: G,
    gids: Vec<u32>,
    n: usize,
    /// Input row length: `n` plus ≥ 7 zero entries, a multiple of [`ROW_ALIGN`].
    row: usize,
    stride: usize,
    /// Entries per step that can receive weight: `row` × ports in use (the density measure).
    live: usize,
    /// Wall time spent advancing this group (scatter, model, clear) while the chunk is
    /// `timed` ([`Engine::measure_neuron_costs`], [`Engine::set_rebalancer`]).
    busy_ns: u64,
    /// Dense input of one block (`block_len × stride`), all zeros between blocks; rows start
    /// on cache lines ([`AlignedBuf`]).
    block: AlignedBuf,
    /// The clamped neurons; empty when none.
    clamps: Vec<Clamp>,
    cur: AlignedBuf,
}

/// A clamped neuron of a slot: its breakpoints, the next one not yet passed, and the amplitude
/// its column of the slot's `cur` holds in every row (`None`: it varies), so that a block with
/// no breakpoint in it writes nothing (a clamp on every cell cost as much as the model steps).
struct Clamp {
    i: usize,
    steps: CurrentSteps,
    next: usize,
    filled: Option<f64>,
}

impl Clamp {
    /// Write the amplitude of steps `t0..t0 + n` into rows `0..n` of `cur` (`len` columns).
    fn fill(&mut self, cur: &mut [f64], len: usize, t0: u64, n: usize) {
        let amp_at = |c: &mut Clamp, t: u64| {
            while c.next < c.steps.len() && c.steps[c.next].0 <= t {
                c.next += 1;
            }
            if c.next == 0 {
                0.0
            } else {
                c.steps[c.next - 1].1
            }
        };
        let amp = amp_at(self, t0);
        let constant = self
            .steps
            .get(self.next)
            .is_none_or(|b| b.0 >= t0 + n as u64);
        if constant {
            if self.filled.map(f64::to_bits) != Some(amp.to_bits()) {
                for row in cur.chunks_exact_mut(len) {
                    row[self.i] = amp;
                }
                self.filled = Some(amp);
            }
            return;
        }
        self.filled = None;
        for s in 0..n {
            cur[s * len + self.i] = amp_at(self, t0 + s as u64);
        }
    }
}

/// A unit of parallel work: one or more groups with their ring buffers and incoming synapses.
/// Aligned like [`Slot`].
#[repr(align(128))]
pub struct Chunk<G> {
    slots: Vec<Slot<G>>,
    /// Time each slot's work (`Slot::busy_ns`) and the chunk's delivery: during the cost trial
    /// and in runs with a rebalancer ([`Engine::set_rebalancer`]).
    timed: bool,
    /// Wall time spent queueing arrivals while `timed`: shared by the chunk's neurons.
    deliver_ns: u64,
    /// The direct events of the chunk's neurons (`Direct`), in input order, and the next one
    /// to queue: each chunk reads only its own.
    direct: Vec<Direct>,
    dnext: usize,
    incoming: Incoming,
    queue: Queue,
    scratch: Vec<(u32, u32)>,
    out: Vec<(u64, u32)>,
    samples: Vec<(usize, u64, usize, f64)>,
    /// (slot, local index, probe, position) of probed neurons.
    probed: Vec<(usize, usize, usize, usize)>,
}

/// Per-run counters useful for summaries and benchmarks.
#[derive(Debug, Default, Clone, Copy)]
pub struct EngineStats {
    pub steps_done: u64,
    pub spikes: u64,
    pub events_delivered: u64,
    pub interrupted: bool,
}

/// The runtime simulation state.
pub struct Engine<G: Group> {
    chunks: Vec<Chunk<G>>,
    n_neurons: usize,
    d_min: u64,
    timing: Timing,
    n_steps: u64,
    step: u64,
    virtual_spikes: Vec<(u64, u32)>,
    vnext: usize,
    /// Spikes of the last epoch in delivery order: (step, source).
    pending: Vec<(u64, u32)>,
    probes: Vec<Probe>,
    /// Recorded spikes (stamp step = emission step + 1, global neuron index), in epoch order.
    pub spikes: Vec<(u64, u32)>,
    pub stats: EngineStats,
    neuron_loc: Vec<(u32, u32, u32)>,
    /// How the neurons were split into chunks, for the run log (empty: not described).
    pub chunking: String,
    /// Re-cuts the chunks while the run goes on, when their measured times drift apart.
    balance: Option<Balance<G>>,
}

/// Builds the engine anew with another chunking, for [`Engine::set_rebalancer`].
pub trait Rechunk<G: Group>: Send {
    /// A fresh engine (step 0, same network and input) cut by `cost` (per neuron, global
    /// index: its share of the measured time), or `None` when that cut is the current one.
    fn rechunk(&mut self, cost: &[f64]) -> Option<Engine<G>>;
}

/// When [`Engine::run`] re-cuts its chunks (see [`Engine::set_rebalancer`]).
#[derive(Debug, Clone, Copy)]
pub struct BalancePolicy {
    /// Summed chunk time between checks.
    pub window_ns: u64,
    /// The slowest chunk's excess over the mean in a window that triggers a re-cut.
    pub excess: f64,
    /// A re-cut must leave at least this many times the last one's cost of run ahead.
    pub payback: f64,
}

/// Dynamic load balance: the rechunker and the measurements since the last check.
struct Balance<G: Group> {
    rechunk: Box<dyn Rechunk<G>>,
    policy: BalancePolicy,
    /// [`Engine::busy_times`] and the step at the last check.
    since: Vec<u64>,
    since_step: u64,
    /// Wall time of the last re-cut: a re-cut is worth it only with far more run ahead.
    last_cost_ns: u64,
    recuts: usize,
}

impl<G: Group> Engine<G> {
    /// Build from groups already split into chunks (`chunks[c]` = list of (group, global ids)).
    /// `probes` are validated against the models' recordables.
    pub fn new(
        chunks: Vec<Vec<(G, Vec<u32>)>>,
        input: EngineInput,
        probes: Vec<Probe>,
    ) -> Result<Self, EngineError> {
        Self::build(chunks, input, probes, None)
    }

    /// Like [`Engine::new`] for a process that simulates only some neurons (distributed runs):
    /// `chunks` place a subset of `0..n_neurons`, sources keep their global indices, and every
    /// synapse target, clamp and probe must be a placed neuron. Drive it with
    /// [`Engine::advance_epoch`] + [`Engine::finish_epoch`], merging the other processes' spikes.
    /// `min_delay` is the smallest delay (steps) of *all* processes' synapses, so that every
    /// process uses the same epoch (its own synapses may all be longer).
    pub fn new_subset(
        chunks: Vec<Vec<(G, Vec<u32>)>>,
        input: EngineInput,
        probes: Vec<Probe>,
        min_delay: u64,
    ) -> Result<Self, EngineError> {
        Self::build(chunks, input, probes, Some(min_delay))
    }

    /// `global_min_delay`: `Some` for a subset engine (see [`Engine::new_subset`]).
    fn build(
        chunks: Vec<Vec<(G, Vec<u32>)>>,
        input: EngineInput,
        probes: Vec<Probe>,
        global_min_delay: Option<u64>,
    ) -> Result<Self, EngineError> {
        let subset = global_min_delay.is_some();
        let n = input.n_neurons;
        let n_src = n + input.n_virtual;
        let syn = &input.synapses;
        if syn.n_sources() != n_src {
            return Err(EngineError::Invalid(format!(
                "synapse table has {} sources, expected {}",
                syn.n_sources(),
                n_src
            )));
        }
        let d_min = global_min_delay
            .unwrap_or_else(|| syn.delay.iter().copied().min().unwrap_or(u32::MAX) as u64)
            .max(1);
        let d_max = syn.delay.iter().copied().max().unwrap_or(1) as u64;
        // Epoch length: min delay, capped so that progress and Ctrl-C stay responsive and
        // networks without synapses still advance in blocks.
        let d_min = d_min.min(input.n_steps.max(1)).min(MAX_EPOCH);
        let block = d_min.min(MAX_BLOCK);
        let epoch = d_min / block * block;
        let timing = Timing {
            block,
            mask: (d_max + epoch + 1).next_power_of_two() - 1,
        };
        let slots: usize = chunks.iter().map(Vec::len).sum();
        let buckets = timing.mask + 1;
        if let Some(why) =
            crate::limits::over_budget(slots as f64 * buckets as f64 * queue::BUCKET_BYTES)
        {
            return Err(EngineError::RingTooLarge {
                d_max,
                buckets,
                slots,
                why,
            });
        }
        // locate every neuron: (chunk, slot, local)
        let mut neuron_loc = vec![(u32::MAX, 0u32, 0u32); n];
        for (c, ch) in chunks.iter().enumerate() {
            for (s, (g, gids)) in ch.iter().enumerate() {
                if g.len() != gids.len() {
                    return Err(EngineError::Invalid(format!(
                        "group of {} neurons given {} ids",
                        g.len(),
                        gids.len()
                    )));
                }
                for (i, &gid) in gids.iter().enumerate() {
                    let Some(loc) = neuron_loc.get_mut(gid as usize) else {
                        return Err(EngineError::Invalid(format!(
                            "neuron index {gid} out of range"
                        )));
                    };
                    if loc.0 != u32::MAX {
                        return Err(EngineError::Invalid(format!("neuron {gid} placed twice")));
                    }
                    *loc = (c as u32, s as u32, i as u32);
                }
            }
        }
        let unplaced = |g: u32| neuron_loc.get(g as usize).is_some_and(|l| l.0 == u32::MAX);
        let first_unplaced = if subset {
            let clamped = input.currents.iter().map(|c| c.0);
            let probed = probes.iter().flat_map(|p| p.neurons.iter().copied());
            syn.target
                .iter()
                .copied()
                .chain(clamped)
                .chain(probed)
                .find(|&g| unplaced(g))
        } else {
            (0..n as u32).find(|&g| unplaced(g))
        };
        if let Some(g) = first_unplaced {
            return Err(EngineError::Invalid(format!(
                "neuron {g} not placed in any chunk"
            )));
        }
        // probes
        for p in &probes {
            for &gid in &p.neurons {
                let Some(&(c, s, i)) = neuron_loc.get(gid as usize) else {
                    return Err(EngineError::Invalid(format!(
                        "probe neuron {gid} out of range"
                    )));
                };
                let g = &chunks[c as usize][s as usize].0;
                if g.sample(&p.var, i as usize).is_none() {
                    return Err(EngineError::ProbeVariable {
                        var: p.var.clone(),
                        neuron: gid,
                    });
                }
            }
            if p.interval == 0 {
                return Err(EngineError::Invalid("probe interval 0".into()));
            }
        }
        // incoming CSR per chunk, sources in order, each source's edges in table order
        let n_chunks = chunks.len();
        // sized first: doubling would copy and fault in GBs again at V1 scale
        let mut count = vec![0usize; n_chunks];
        for &t in &syn.target {
            if let Some(n) = neuron_loc
                .get(t as usize)
                .and_then(|l| count.get_mut(l.0 as usize))
            {
                *n += 1;
            }
        }
        let mut per_chunk: Vec<Vec<IncomingEdge>> =
            count.iter().map(|&n| Vec::with_capacity(n)).collect();
        for src in 0..n_src {
            for k in syn.offsets[src]..syn.offsets[src + 1] {
                let t = syn.target[k] as usize;
                let Some(&(c, s, i)) = neuron_loc.get(t) else {
                    return Err(EngineError::Invalid(format!(
                        "synapse target {t} out of range"
                    )));
                };
                let g = &chunks[c as usize][s as usize];
                let np = g.0.n_ports();
                let p = syn.port[k] as usize;
                if p >= np {
                    return Err(EngineError::Invalid(format!(
                        "synapse to neuron {t} uses port {p} of {np}"
                    )));
                }
                let off = (p * padded_row(g.0.len()) + i as usize) as u32;
                per_chunk[c as usize].push((
                    src as u32,
                    s as u16,
                    off,
                    syn.delay[k],
                    syn.weight[k],
                ));
            }
        }
        let mut currents: Vec<Vec<Vec<Clamp>>> = chunks
            .iter()
            .map(|ch| ch.iter().map(|_| Vec::new()).collect())
            .collect();
        for (gid, steps) in input.currents {
            let Some(&(c, s, i)) = neuron_loc.get(gid as usize) else {
                return Err(EngineError::Invalid(format!(
                    "clamp neuron {gid} out of range"
                )));
            };
            currents[c as usize][s as usize].push(Clamp {
                i: i as usize,
                steps,
                next: 0,
                filled: None,
            });
        }
        // ports that can receive weight, per neuron: synapses and direct events
        let mut used: Vec<Vec<Vec<u64>>> = chunks
            .iter()
            .map(|ch| ch.iter().map(|(g, _)| vec![0u64; g.len()]).collect())
            .collect();
        let bit = |p: usize| if p < 64 { 1u64 << p } else { u64::MAX };
        for (c, edges) in per_chunk.iter().enumerate() {
            for &(_, s, off, _, _) in edges {
                let m = &mut used[c][s as usize];
                let row = padded_row(m.len());
                m[off as usize % row] |= bit(off as usize / row);
            }
        }
        for &(_, gid, port, _) in &input.direct {
            // (a subset engine's direct events may name neurons placed elsewhere)
            if let Some(&(c, s, i)) = neuron_loc.get(gid as usize).filter(|l| l.0 != u32::MAX) {
                used[c as usize][s as usize][i as usize] |= bit(port as usize);
            }
        }
        let mut chunks = chunks;
        for (ch, u) in chunks.iter_mut().zip(&used) {
            for ((g, _), u) in ch.iter_mut().zip(u) {
                g.use_ports(u);
            }
        }
        // the variables sampled from each group
        let mut vars: Vec<Vec<Vec<&str>>> =
            chunks.iter().map(|c| vec![Vec::new(); c.len()]).collect();
        for p in &probes {
            for &gid in &p.neurons {
                if let Some(&(c, s, _)) = neuron_loc.get(gid as usize).filter(|l| l.0 != u32::MAX) {
                    let v = &mut vars[c as usize][s as usize];
                    if !v.contains(&p.var.as_str()) {
                        v.push(&p.var);
                    }
                }
            }
        }
        for (ch, v) in chunks.iter_mut().zip(&vars) {
            for ((g, _), v) in ch.iter_mut().zip(v) {
                g.record(v);
            }
        }
        // each chunk's direct events, in their order, as (step, slot, block offset, weight)
        let mut direct: Vec<Vec<Direct>> = vec![Vec::new(); n_chunks];
        for &(step, gid, port, w) in &input.direct {
            if let Some(&(c, s, i)) = neuron_loc.get(gid as usize).filter(|l| l.0 != u32::MAX) {
                let row = padded_row(chunks[c as usize][s as usize].0.len());
                let off = (port as usize * row + i as usize) as u32;
                direct[c as usize].push((step, s as u16, off, w));
            }
        }
        let mut out_chunks = Vec::with_capacity(n_chunks);
        let chunk_inputs = per_chunk.into_iter().zip(currents).zip(direct).zip(used);
        for (ch, (((edges, mut cur), direct), used)) in chunks.into_iter().zip(chunk_inputs) {
            let (incoming, pairs) = Incoming::new(n_src, &edges);
            drop(edges);
            let max_stride = ch
                .iter()
                .map(|(g, _)| padded_row(g.len()) * g.n_ports())
                .max()
                .unwrap_or(0);
            let queue = Queue::new(
                &incoming,
                pairs,
                direct.iter().map(|d| d.3),
                max_stride,
                ch.len(),
                timing.mask as usize + 1,
            );
            let slots = ch
                .into_iter()
                .enumerate()
                .map(|(si, (group, gids))| {
                    let n = group.len();
                    let row = padded_row(n);
                    let stride = row * group.n_ports();
                    let live_ports = used[si].iter().fold(0, |a, &b| a | b).count_ones() as usize;
                    let live = row * live_ports.min(group.n_ports());
                    let clamps = std::mem::take(&mut cur[si]);
                    let cur_len = if clamps.is_empty() {
                        0
                    } else {
                        block as usize * n
                    };
                    Slot {
                        group,
                        gids,
                        n,
                        row,
                        stride,
                        live,
                        busy_ns: 0,
                        block: AlignedBuf::zeros(block as usize * stride),
                        clamps,
                        cur: AlignedBuf::zeros(cur_len),
                    }
                })
                .collect();
            out_chunks.push(Chunk {
                slots,
                timed: false,
                deliver_ns: 0,
                direct,
                dnext: 0,
                incoming,
                queue,
                scratch: Vec::new(),
                out: Vec::new(),
                samples: Vec::new(),
                probed: Vec::new(),
            });
        }
        for (pi, p) in probes.iter().enumerate() {
            for (pos, &gid) in p.neurons.iter().enumerate() {
                let (c, s, i) = neuron_loc[gid as usize];
                out_chunks[c as usize]
                    .probed
                    .push((s as usize, i as usize, pi, pos));
            }
        }
        Ok(Engine {
            chunks: out_chunks,
            n_neurons: n,
            d_min: epoch,
            timing,
            n_steps: input.n_steps,
            step: 0,
            virtual_spikes: input.virtual_spikes,
            vnext: 0,
            pending: Vec::new(),
            probes,
            spikes: Vec::new(),
            stats: EngineStats::default(),
            neuron_loc,
            chunking: String::new(),
            balance: None,
        })
    }

    /// Epoch length in steps (≤ the minimum delay, a multiple of the block length).
    pub fn epoch_steps(&self) -> u64 {
        self.d_min
    }
    pub fn n_steps(&self) -> u64 {
        self.n_steps
    }
    pub fn steps_done(&self) -> u64 {
        self.step
    }
    pub fn n_neurons(&self) -> usize {
        self.n_neurons
    }
    /// Chunks whose queue packs synapses into `u32`s (few distinct weights), and all chunks.
    pub fn packed_chunks(&self) -> (usize, usize) {
        let packed = self.chunks.iter().filter(|c| c.queue.is_packed()).count();
        (packed, self.chunks.len())
    }
    /// Where neuron `gid` lives: (chunk, group slot, local index).
    pub fn locate(&self, gid: u32) -> Option<(u32, u32, u32)> {
        self.neuron_loc.get(gid as usize).copied()
    }

    /// Advance whole epochs (spikes discarded), at least 9 and until the groups have been timed
    /// for `budget_ns` in all or a tenth of the run is done; then each neuron's share of its
    /// group's median time per epoch plus its share of its chunk's delivery time, per global
    /// index: what it costs to simulate, measured in place (spikes, inputs, caches and the other
    /// threads included; the median ignores an epoch in which the thread was preempted). `None`
    /// if nothing was timed. For choosing a chunking.
    pub fn measure_neuron_costs(&mut self, budget_ns: u64) -> Option<Vec<f64>> {
        for ch in &mut self.chunks {
            ch.timed = true;
        }
        let mut per_epoch: Vec<Vec<u64>> = Vec::new();
        let (mut before, mut total) = (self.busy_times(), 0u64);
        let enough = |e: &Self, epochs: usize, total: u64| {
            e.step >= e.n_steps || (epochs >= 9 && (total >= budget_ns || e.step >= e.n_steps / 10))
        };
        while !enough(self, per_epoch.len(), total) {
            self.epoch(&mut NoProbes);
            self.spikes.clear();
            let now = self.busy_times();
            let delta: Vec<u64> = now.iter().zip(&before).map(|(a, b)| a - b).collect();
            total += delta.iter().sum::<u64>();
            per_epoch.push(delta);
            before = now;
        }
        for ch in &mut self.chunks {
            ch.timed = false;
        }
        if total == 0 {
            return None;
        }
        let median = |k: usize| {
            let mut t: Vec<u64> = per_epoch.iter().map(|d| d[k]).collect();
            t.sort_unstable();
            t[t.len() / 2] as f64
        };
        let times: Vec<f64> = (0..before.len()).map(median).collect();
        Some(self.neuron_costs(&times))
    }

    /// Timed ns so far: per slot (chunks in order), then per chunk's delivery.
    fn busy_times(&self) -> Vec<u64> {
        let slots = self.chunks.iter().flat_map(|c| &c.slots).map(|s| s.busy_ns);
        slots
            .chain(self.chunks.iter().map(|c| c.deliver_ns))
            .collect()
    }

    /// Per neuron (global index): its share of its slot's time plus its share of its chunk's
    /// delivery time (per spike and run, whatever neurons the runs reach, so spread evenly);
    /// `times` laid out as [`Engine::busy_times`].
    fn neuron_costs(&self, times: &[f64]) -> Vec<f64> {
        let n_slots: usize = self.chunks.iter().map(|c| c.slots.len()).sum();
        let mut cost = vec![0.0; self.n_neurons];
        let mut k = 0;
        for (c, ch) in self.chunks.iter().enumerate() {
            let n: usize = ch.slots.iter().map(|s| s.n).sum();
            let deliver = times[n_slots + c] / n.max(1) as f64;
            for sl in &ch.slots {
                let each = times[k] / sl.n.max(1) as f64 + deliver;
                for &g in &sl.gids {
                    cost[g as usize] = each;
                }
                k += 1;
            }
        }
        cost
    }

    /// Re-cut the chunks during [`Engine::run`] whenever, over a window of summed chunk time,
    /// the slowest chunk took more than the policy's excess over the mean: activity drifts over
    /// a run and the threads' speeds differ, so a cut chosen before the run goes out of
    /// balance. Slots are timed from now on. Results do not change ([`Engine::take_over`]).
    pub fn set_rebalancer(&mut self, rechunk: Box<dyn Rechunk<G>>, policy: BalancePolicy) {
        for ch in &mut self.chunks {
            ch.timed = true;
        }
        self.balance = Some(Balance {
            rechunk,
            policy,
            since: self.busy_times(),
            since_step: self.step,
            last_cost_ns: 0,
            recuts: 0,
        });
    }

    /// How many times [`Engine::run`] has re-cut the chunks.
    pub fn recuts(&self) -> usize {
        self.balance.as_ref().map_or(0, |b| b.recuts)
    }

    /// At an epoch boundary: re-cut if the last window was out of balance and enough of the run
    /// is left to pay for the rebuild (see [`Engine::set_rebalancer`]).
    fn rebalance(&mut self) {
        let Some(b) = self.balance.as_ref() else {
            return;
        };
        let now = self.busy_times();
        let d: Vec<f64> = now
            .iter()
            .zip(&b.since)
            .map(|(a, c)| (a - c) as f64)
            .collect();
        let total: f64 = d.iter().sum();
        if total < b.policy.window_ns as f64 || self.step >= self.n_steps {
            return;
        }
        let n_slots: usize = self.chunks.iter().map(|c| c.slots.len()).sum();
        let mut per_chunk = d[n_slots..].to_vec();
        let mut k = 0;
        for (c, ch) in self.chunks.iter().enumerate() {
            per_chunk[c] += d[k..k + ch.slots.len()].iter().sum::<f64>();
            k += ch.slots.len();
        }
        let mean = total / per_chunk.len() as f64;
        let slowest = per_chunk.iter().fold(0.0f64, |a, &t| a.max(t));
        // wall time left if the window's pace holds, against what the last re-cut cost
        let window_steps = (self.step - b.since_step).max(1) as f64;
        let left_ns = mean * (self.n_steps - self.step) as f64 / window_steps;
        let worth = left_ns >= b.policy.payback * b.last_cost_ns as f64;
        let mut b = self.balance.take().expect("checked above");
        if slowest > mean * (1.0 + b.policy.excess) && worth {
            let started = Instant::now();
            let cost = self.neuron_costs(&d);
            if let Some(mut fresh) = b.rechunk.rechunk(&cost) {
                fresh.take_over(self);
                *self = fresh;
                for ch in &mut self.chunks {
                    ch.timed = true;
                }
                b.recuts += 1;
                b.last_cost_ns = started.elapsed().as_nanos() as u64;
            }
        }
        b.since = self.busy_times();
        b.since_step = self.step;
        self.balance = Some(b);
    }

    /// Continue `old`'s run in this fresh engine of the same network and input (chunked
    /// differently): its step, pending spikes, recorded spikes and counters, every neuron's
    /// state ([`Group::save_state`]) and every queued arrival, re-queued in its bucket in the
    /// same order (each ring-buffer entry belongs to one neuron, hence to one chunk of either
    /// engine, so its additions keep NEST's order). Call at an epoch boundary.
    pub fn take_over(&mut self, old: &mut Engine<G>) {
        assert!(
            self.step == 0
                && self.n_neurons == old.n_neurons
                && self.n_steps == old.n_steps
                && self.d_min == old.d_min
                && self.timing.mask == old.timing.mask,
            "engine: take_over needs a fresh engine of the same network"
        );
        for gid in 0..self.n_neurons as u32 {
            let (Some((c0, s0, i0)), Some((c1, s1, i1))) = (old.locate(gid), self.locate(gid))
            else {
                continue;
            };
            if c0 == u32::MAX || c1 == u32::MAX {
                continue;
            }
            let state = old.chunks[c0 as usize].slots[s0 as usize]
                .group
                .save_state(i0 as usize);
            self.chunks[c1 as usize].slots[s1 as usize]
                .group
                .load_state(i1 as usize, &state);
        }
        for ch in &old.chunks {
            for (si, sl) in ch.slots.iter().enumerate() {
                ch.queue.for_each_queued(si, |b, off, w| {
                    let (port, i) = (off as usize / sl.row, off as usize % sl.row);
                    let (c, s, k) = self.neuron_loc[sl.gids[i] as usize];
                    let to = &mut self.chunks[c as usize];
                    let off = port * to.slots[s as usize].row + k as usize;
                    to.queue.push(s as usize, b, off as u32, w);
                });
            }
        }
        self.step = old.step;
        self.vnext = old.vnext;
        // direct events before the step are in the queues already
        for ch in &mut self.chunks {
            ch.dnext = ch.direct.partition_point(|d| d.0 < self.step);
        }
        self.pending = std::mem::take(&mut old.pending);
        self.spikes = std::mem::take(&mut old.spikes);
        self.stats = old.stats;
    }

    /// Run to the end, or until `stop` is set (checked at epoch boundaries). `progress` is called
    /// after every epoch with the number of steps done.
    pub fn run(
        &mut self,
        stop: Option<&AtomicBool>,
        sink: &mut dyn ProbeSink,
        progress: &mut dyn FnMut(u64),
    ) -> EngineStats {
        while self.step < self.n_steps {
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                self.stats.interrupted = true;
                break;
            }
            self.epoch(sink);
            progress(self.step);
            self.rebalance();
        }
        self.stats.steps_done = self.step;
        self.stats
    }

    /// Advance one epoch: deliver the previous epoch's spikes (and this epoch's direct events),
    /// advance every chunk, then gather the new spikes in canonical order.
    pub fn epoch(&mut self, sink: &mut dyn ProbeSink) {
        let neuron_spikes = self.advance_epoch();
        self.finish_epoch(neuron_spikes, sink);
    }

    /// First half of [`Engine::epoch`]: deliver and advance; returns this engine's spikes of the
    /// epoch as (emission step, global index) sorted by (step, source).
    pub fn advance_epoch(&mut self) -> Vec<(u64, u32)> {
        let t0 = self.step;
        let n_steps = (self.n_steps - t0).min(self.d_min) as usize;
        let t1 = t0 + n_steps as u64;
        let pending = &self.pending;
        let timing = self.timing;
        let probes = &self.probes;
        let delivered: u64 = self
            .chunks
            .par_iter_mut()
            .map(|ch| {
                let started = ch.timed.then(Instant::now);
                // direct events due in this epoch
                while let Some(&(st, s, off, w)) = ch.direct.get(ch.dnext).filter(|d| d.0 < t1) {
                    ch.queue
                        .push(s as usize, (st & timing.mask) as usize, off, w);
                    ch.dnext += 1;
                }
                let ev = ch.deliver(pending, timing);
                if let Some(t) = started {
                    ch.deliver_ns += t.elapsed().as_nanos() as u64;
                }
                ch.advance(t0, n_steps, timing, probes);
                // sorted here, in parallel; merged below
                ch.out.sort_unstable();
                ev
            })
            .sum();
        self.stats.events_delivered += delivered;
        // gather this epoch's neuron spikes, sorted by (step, source): merge the chunks' sorted
        // lists (the serial part between epochs, a tenth of a 2-thread run at N = 10)
        let mut neuron_spikes: Vec<(u64, u32)> = Vec::new();
        for ch in &mut self.chunks {
            neuron_spikes = merge_sorted(neuron_spikes, std::mem::take(&mut ch.out));
        }
        neuron_spikes
    }

    /// Second half of [`Engine::epoch`]: record the epoch's spikes of *all* neurons (sorted by
    /// (step, source); a distributed run passes every process's spikes), queue them with the
    /// virtual spikes for delivery, emit probe rows and move to the next epoch.
    pub fn finish_epoch(&mut self, neuron_spikes: Vec<(u64, u32)>, sink: &mut dyn ProbeSink) {
        let t1 = self.step + (self.n_steps - self.step).min(self.d_min);
        let n_neurons = self.n_neurons as u32;
        self.stats.spikes += neuron_spikes.len() as u64;
        self.spikes
            .extend(neuron_spikes.iter().map(|&(s, g)| (s + 1, g)));
        // merge with virtual spikes emitted in this epoch: virtual sources first within a step
        let vstart = self.vnext;
        while self.vnext < self.virtual_spikes.len() && self.virtual_spikes[self.vnext].0 < t1 {
            self.vnext += 1;
        }
        let virt = &self.virtual_spikes[vstart..self.vnext];
        self.pending.clear();
        let (mut a, mut b) = (0, 0);
        while a < virt.len() || b < neuron_spikes.len() {
            let take_virtual =
                b >= neuron_spikes.len() || (a < virt.len() && virt[a].0 <= neuron_spikes[b].0);
            if take_virtual {
                self.pending.push((virt[a].0, n_neurons + virt[a].1));
                a += 1;
            } else {
                self.pending.push(neuron_spikes[b]);
                b += 1;
            }
        }
        // probe samples, assembled into rows in (time, probe) order
        if !self.probes.is_empty() {
            let mut all: Vec<(usize, u64, usize, f64)> = Vec::new();
            for ch in &mut self.chunks {
                all.append(&mut ch.samples);
            }
            all.sort_by_key(|a| (a.1, a.0, a.2));
            let mut k = 0;
            while k < all.len() {
                let (p, t) = (all[k].0, all[k].1);
                let mut values = vec![f64::NAN; self.probes[p].neurons.len()];
                while k < all.len() && all[k].0 == p && all[k].1 == t {
                    values[all[k].2] = all[k].3;
                    k += 1;
                }
                sink.row(ProbeRow {
                    probe: p,
                    step: t,
                    values: &values,
                });
            }
        }
        self.step = t1;
    }
}

impl<G: Group> Chunk<G> {
    /// Add the weights of `spikes` (in the given canonical order) to this chunk's ring buffers.
    fn deliver(&mut self, spikes: &[(u64, u32)], timing: Timing) -> u64 {
        self.queue.deliver(&self.incoming, spikes, timing.mask)
    }

    /// Advance all groups of the chunk over steps `t0..t0+n_steps` block by block, splitting
    /// blocks where probes sample.
    fn advance(&mut self, t0: u64, n_steps: usize, timing: Timing, probes: &[Probe]) {
        let bl = timing.block as usize;
        let mut b0 = 0usize;
        while b0 < n_steps {
            let len = bl.min(n_steps - b0);
            self.advance_block(t0 + b0 as u64, len, timing, probes);
            b0 += len;
        }
    }

    fn advance_block(&mut self, t0: u64, n_steps: usize, timing: Timing, probes: &[Probe]) {
        // sample points (steps completed, relative to t0) for this chunk
        let mut cuts: Vec<usize> = Vec::new();
        for &(_, _, p, _) in &self.probed {
            let pr = &probes[p];
            let mut t = pr.first_sample_after(t0);
            while let Some(tt) = t {
                if tt > t0 + n_steps as u64 {
                    break;
                }
                cuts.push((tt - t0) as usize);
                t = pr.next_sample(tt);
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        if cuts.last() != Some(&n_steps) {
            cuts.push(n_steps);
        }
        let timed = self.timed;
        for (si, sl) in self.slots.iter_mut().enumerate() {
            let started = timed.then(Instant::now);
            let steps = Steps {
                t0,
                n: n_steps,
                mask: timing.mask,
                stride: sl.stride,
            };
            // arrivals of this block, added in arrival order into the zeroed dense block
            let arrivals = self.queue.scatter(si, steps, &mut sl.block);
            // dense input: the group zeroes each row as it reads it; sparse: clear by arrival
            let consume = arrivals * CONSUME_DENSITY >= n_steps * sl.live;
            for c in sl.clamps.iter_mut() {
                c.fill(&mut sl.cur, sl.n, t0, n_steps);
            }
            let mut from = 0;
            for &to in &cuts {
                if to > from {
                    let syn = &mut sl.block[from * sl.stride..to * sl.stride];
                    let cur = if sl.clamps.is_empty() {
                        None
                    } else {
                        Some(&sl.cur[from * sl.n..to * sl.n])
                    };
                    self.scratch.clear();
                    sl.group
                        .advance(to - from, syn, sl.row, consume, cur, &mut self.scratch);
                    for &(i, s) in &self.scratch {
                        self.out
                            .push((t0 + (from as u64) + s as u64, sl.gids[i as usize]));
                    }
                }
                for &(ps, i, p, pos) in &self.probed {
                    if ps == si && probes[p].samples_at(t0 + to as u64) {
                        let v = sl.group.sample(&probes[p].var, i).unwrap_or(f64::NAN);
                        self.samples.push((p, t0 + to as u64, pos, v));
                    }
                }
                from = to;
            }
            self.queue
                .clear(si, steps, (!consume).then_some(&mut sl.block[..]));
            debug_assert!(sl.block.iter().all(|&x| x == 0.0), "block not cleared");
            if let Some(t) = started {
                sl.busy_ns += t.elapsed().as_nanos() as u64;
            }
        }
    }
}

/// The sorted union of two sorted lists (no duplicates between them: each neuron is in one chunk).
fn merge_sorted(a: Vec<(u64, u32)>, b: Vec<(u64, u32)>) -> Vec<(u64, u32)> {
    if a.is_empty() {
        return b;
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// A chunk's direct event: (step, slot, block offset `port · row + i`, weight).
type Direct = (u64, u16, u32, f64);

/// Block and bucket geometry shared by all chunks.
#[derive(Debug, Clone, Copy)]
struct Timing {
    block: u64,
    /// Bucket of step `t` = `t & mask` (ring of a power of two ≥ max delay + epoch steps).
    mask: u64,
}

/// Input rows are padded with at least `ROW_ALIGN - 1` zeros to a multiple of `ROW_ALIGN`
/// neurons (8 f64: one 64-byte line, one AVX-512 vector): the models' vector loops run whole
/// vectors from any chunk start, so they read a group's last lanes in place.
const ROW_ALIGN: usize = 8;

fn padded_row(n: usize) -> usize {
    (n + ROW_ALIGN - 1).next_multiple_of(ROW_ALIGN)
}

/// Longest epoch (networks without synapses or with very long delays): keeps progress
/// reports and Ctrl-C responsive.
const MAX_EPOCH: u64 = 4096;

/// A block is dense, and the groups zero it as they read it ([`Group::advance`]'s `consume`),
/// when it has at least one arrival per this many entries (one per four 64-byte lines). Below
/// that, clearing the arrivals' entries one by one is cheaper. Clearing arrival by arrival
/// misses the cache each time once a block outgrows L2 (10 MB at N = 50), which is why even a
/// quarter of the lines tip the balance: 1 per 8 entries left N = 50, dt 0.1 ms on the
/// clearing side half the time and ran 10% slower (interleaved best of 7).
const CONSUME_DENSITY: usize = 32;

/// Longest block of steps advanced at once: its dense input (`64 × ports × n` f64) stays in
/// cache for the group sizes of a chunk.
const MAX_BLOCK: u64 = 64;

/// Split `n` neurons of one group into at most `parts` contiguous ranges of near-equal size.
pub fn split_ranges(n: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let parts = parts.clamp(1, n.max(1));
    (0..parts)
        .map(|k| (k * n / parts)..((k + 1) * n / parts))
        .filter(|r| !r.is_empty())
        .collect()
}

#[cfg(test)]
mod tests;
