//! Distributed runs: `mpirun -np K glifnet run config.json` (cargo feature `mpi`) writes the
//! same spikes as the single-process run.
//!
//! ## How (issue #8, design.md "Engine principles")
//!
//! * [`decompose`]: every rank lowers the nodes (cheap, proportional to cells), counts each
//!   neuron's incoming edges from the edge files' `target_to_source` index (or a chunked pass
//!   over `target_node_id`) and takes one contiguous block of global neuron indices balanced by
//!   synapse count. It then reads only the edges onto its block (`sonata::EdgeSelection`) and
//!   only the virtual spikes that reach it, and builds its engine (`Engine::new_subset`; sources
//!   keep their global indices; one epoch length, the minimum delay over all ranks).
//! * [`exchange`]: the engine's min-delay epoch is the natural synchronisation point. After each
//!   epoch every rank all-gathers (MPI_Allgatherv) its `(step, source)` spikes, and all ranks
//!   queue the merged, `(step, source)`-sorted list, the order the single-process engine uses,
//!   so each ring-buffer slot sums the same f64s in the same order: identical spikes for any
//!   number of ranks and threads.
//! * Output: after the all-gather every rank knows every spike; rank 0 keeps them and writes the
//!   spike files, log and summary; the other ranks write nothing and show no progress bar.
//!   Membrane reports ([`probes`]): each rank samples its own neurons, rank 0 gathers the
//!   columns every ~64 Ki samples and writes the single-process report file.
//! * Failure: an error on any rank prints `error (rank r of K): ...` and calls MPI_Abort, which
//!   stops every rank (no rank is left waiting in a collective).
//!
//! Without the `mpi` feature this module only decomposes and merges (testable in one process
//! by stepping several block engines in lockstep); [`Session::from_env`] then refuses to run
//! under `mpirun -np K>1`, since K independent copies would all write the same output folder.

pub mod decompose;
pub mod exchange;
#[cfg(feature = "mpi")]
mod mpi_comm;
pub mod probes;

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::engine::{Engine, Probe, ProbeSink};
use crate::engine::{EngineError, EngineInput, EngineStats, NoProbes};
use crate::models::ModelGroup;
use crate::network::Network;
use crate::sonata::{Circuit, EdgeSelection};

/// Errors of distributed runs.
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    #[error("MPI: {0}")]
    Mpi(String),
    #[error("distributed run: {0}")]
    Build(String),
    /// Bad input found while planning the run (same message as a single process gives).
    #[error(transparent)]
    Input(#[from] crate::sonata::SonataError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The collective operations a distributed run needs (MPI_COMM_WORLD in production).
pub trait Comm {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// Every rank's `local` concatenated in rank order, and each rank's word count.
    fn all_gather_v(&self, local: &[u32]) -> (Vec<u32>, Vec<usize>);
    /// Every rank's `v`, in rank order.
    fn all_gather_f64(&self, v: f64) -> Vec<f64>;
    /// Every rank's `local`, in rank order, on rank 0 (`None` on the others).
    fn gather_f64_v(&self, local: &[f64]) -> Option<Vec<Vec<f64>>>;
    /// Stop every rank with exit code `code`.
    fn abort(&self, code: i32) -> !;
}

/// Number of processes `mpirun` (Open MPI, or a PMI launcher such as MPICH's hydra) started,
/// from the environment it gives each process; `None` outside `mpirun`.
pub fn launcher_size() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
}

/// Communication counters of one rank.
#[derive(Debug, Default, Clone, Copy)]
pub struct CommStats {
    pub epochs: u64,
    /// Time advancing this rank's neurons (the rest of an epoch is exchange and waiting).
    pub compute: Duration,
    pub gather: Duration,
    /// Time gathering membrane-report samples to rank 0.
    pub report_gather: Duration,
    pub words: u64,
}

/// This process's part in a distributed run.
pub struct Session {
    comm: Box<dyn Comm>,
    blocks: Vec<Range<u32>>,
    block: Range<u32>,
    probes: Option<probes::ProbeSplit>,
    pub stats: CommStats,
}

impl Session {
    /// The session of a process started by `mpirun`; `Ok(None)` for ordinary runs.
    pub fn from_env() -> Result<Option<Session>, DistError> {
        let Some(size) = launcher_size() else {
            return Ok(None);
        };
        #[cfg(feature = "mpi")]
        {
            let _ = size;
            let comm = mpi_comm::MpiComm::init()?;
            Ok(Some(Session::new(Box::new(comm))))
        }
        #[cfg(not(feature = "mpi"))]
        {
            if size > 1 {
                return Err(DistError::Mpi(format!(
                    "started by mpirun with {size} processes, but this glifnet was built without MPI; rebuild with `cargo build --release --features mpi`"
                )));
            }
            Ok(None)
        }
    }

    pub fn new(comm: Box<dyn Comm>) -> Session {
        Session {
            comm,
            blocks: Vec::new(),
            block: 0..0,
            probes: None,
            stats: CommStats::default(),
        }
    }
    pub fn rank(&self) -> usize {
        self.comm.rank()
    }
    pub fn size(&self) -> usize {
        self.comm.size()
    }
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }
    /// This rank's neurons (global indices), once [`Session::decompose`] ran.
    pub fn block(&self) -> Range<u32> {
        self.block.clone()
    }

    /// Print `msg` with this rank and abort all ranks (exit code 1).
    pub fn abort(&self, msg: &str) -> ! {
        use std::io::Write;
        // one write, so mpirun's forwarding cannot interleave other output into the line
        let line = format!("{msg} (rank {} of {})\n", self.rank(), self.size());
        let _ = std::io::stderr().write_all(line.as_bytes());
        self.comm.abort(1)
    }

    /// Choose this rank's block of neurons from `net`'s nodes and the edge files' in-degrees
    /// (`circuit` needs no edges loaded); returns the edges this rank must read.
    pub fn decompose(
        &mut self,
        circuit: &Circuit,
        net: &Network,
    ) -> Result<EdgeSelection, DistError> {
        let cost = decompose::neuron_costs_from_files(circuit, net)?;
        self.blocks = decompose::balanced_blocks(&cost, self.size());
        self.block = self.blocks[self.rank()].clone();
        Ok(decompose::block_selection(net, &self.block))
    }

    /// Collective: one log line per rank, `MPI rank r of K loaded E edges for targets [a, b)`,
    /// and the total over ranks of each count in `counts` (edges per edge population).
    pub fn loaded_edges(&self, counts: &[usize]) -> (Vec<String>, Vec<u64>) {
        let mine: usize = counts.iter().sum();
        let per_rank = self.comm.all_gather_f64(mine as f64);
        let lines = (0..self.size())
            .map(|r| {
                let b = self.blocks.get(r).cloned().unwrap_or(0..0);
                format!(
                    "MPI rank {r} of {} loaded {} edges for targets [{}, {})",
                    self.size(),
                    per_rank[r],
                    b.start,
                    b.end
                )
            })
            .collect();
        let totals = counts
            .iter()
            .map(|&c| self.comm.all_gather_f64(c as f64).iter().sum::<f64>() as u64)
            .collect();
        (lines, totals)
    }

    /// The engine of this rank's block (after [`Session::decompose`]); `input` may hold all
    /// synapses or only this rank's. `probes` are the run's probes over all neurons: this rank
    /// samples its own, and [`Session::run`] gathers the rows on rank 0. Collective.
    pub fn build_engine(
        &mut self,
        net: &Network,
        input: EngineInput,
        threads: usize,
        probes: Vec<Probe>,
    ) -> Result<Engine<ModelGroup>, DistError> {
        if self.blocks.is_empty() {
            let cost = decompose::neuron_costs(&input.synapses, input.n_neurons);
            self.blocks = decompose::balanced_blocks(&cost, self.size());
            self.block = self.blocks[self.rank()].clone();
        }
        let input = decompose::local_input(input, &self.block);
        // one epoch length on every rank: the smallest delay of anyone's synapses
        let mine = decompose::min_delay(&input) as f64;
        let d_min = self
            .comm
            .all_gather_f64(mine)
            .into_iter()
            .fold(mine, f64::min) as u64;
        let (split, local) = probes::ProbeSplit::new(probes, &self.blocks, self.rank());
        self.probes = (!split.is_empty()).then_some(split);
        decompose::build_block_engine(net, input, threads, &self.block, d_min, local)
    }

    /// Run `engine` to the end in lockstep with the other ranks; the epochs advance on `pool`,
    /// the exchange happens on the calling thread. `stop` (Ctrl-C) on any rank stops all at the
    /// same epoch boundary. Only rank 0 keeps the recorded spikes and receives the report rows
    /// (`sink`). Returns the run's counters with the synapse events summed over ranks.
    pub fn run(
        &mut self,
        engine: &mut Engine<ModelGroup>,
        pool: &rayon::ThreadPool,
        stop: Option<&AtomicBool>,
        progress: &mut dyn FnMut(u64),
        sink: &mut dyn ProbeSink,
    ) -> Result<EngineStats, DistError> {
        let root = self.is_root();
        let mut interrupted = false;
        let mut split = self.probes.take();
        while engine.steps_done() < engine.n_steps() && !interrupted {
            let t0 = engine.steps_done();
            let t = Instant::now();
            let local = pool.install(|| engine.advance_epoch());
            self.stats.compute += t.elapsed();
            let want_stop = stop.is_some_and(|s| s.load(Ordering::Relaxed));
            let buf = exchange::encode(t0, want_stop, &local);
            let t = Instant::now();
            let (all, counts) = self.comm.all_gather_v(&buf);
            self.stats.gather += t.elapsed();
            self.stats.epochs += 1;
            self.stats.words += all.len() as u64;
            let (spikes, any_stop) = exchange::decode(t0, &all, &counts);
            match split.as_mut() {
                Some(sp) => engine.finish_epoch(spikes, sp),
                None => engine.finish_epoch(spikes, &mut NoProbes),
            }
            if !root {
                engine.spikes.clear();
            }
            interrupted = any_stop;
            let last = interrupted || engine.steps_done() >= engine.n_steps();
            if let Some(sp) = split.as_mut() {
                if sp.schedule(t0, engine.steps_done()) || last {
                    self.gather_rows(sp, sink)?;
                }
            }
            progress(engine.steps_done());
        }
        let mut stats = engine.stats;
        stats.steps_done = engine.steps_done();
        stats.interrupted = interrupted;
        let events = self.comm.all_gather_f64(stats.events_delivered as f64);
        stats.events_delivered = events.iter().sum::<f64>() as u64;
        Ok(stats)
    }

    /// Collective: every rank's pending report samples to rank 0, which passes whole rows to
    /// `sink`.
    fn gather_rows(
        &mut self,
        split: &mut probes::ProbeSplit,
        sink: &mut dyn ProbeSink,
    ) -> Result<(), DistError> {
        let local = split.take_local();
        let t = Instant::now();
        let parts = self.comm.gather_f64_v(&local);
        self.stats.report_gather += t.elapsed();
        split.deliver(parts.as_deref(), sink)
    }

    /// One line per rank for the log: block, compute time, time in the all-gather per epoch
    /// (which includes waiting for the slowest rank). Collective: every rank must call it.
    pub fn summary(&self) -> Vec<String> {
        let per_epoch = self.stats.gather.as_secs_f64() / self.stats.epochs.max(1) as f64;
        let times = self.comm.all_gather_f64(per_epoch);
        let totals = self.comm.all_gather_f64(self.stats.gather.as_secs_f64());
        let compute = self.comm.all_gather_f64(self.stats.compute.as_secs_f64());
        let reports = self
            .comm
            .all_gather_f64(self.stats.report_gather.as_secs_f64());
        let starts = self.comm.all_gather_f64(self.block.start as f64);
        let ends = self.comm.all_gather_f64(self.block.end as f64);
        (0..self.size())
            .map(|r| {
                let rep = if reports[r] > 0.0 {
                    format!(", report gather {:.3} s", reports[r])
                } else {
                    String::new()
                };
                format!(
                    "MPI rank {r} of {}: neurons {}..{}, compute {:.3} s, all-gather {:.1} µs/epoch over {} epochs ({:.3} s), {} words gathered{rep}",
                    self.size(),
                    starts[r],
                    ends[r],
                    compute[r],
                    times[r] * 1e6,
                    self.stats.epochs,
                    totals[r],
                    self.stats.words
                )
            })
            .collect()
    }
}
