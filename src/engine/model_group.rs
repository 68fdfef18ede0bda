//! Adapter: `models::ModelGroup` as an engine [`Group`], and the engine built from a lowered
//! [`Network`] (one chunk per thread, cut where the measured costs balance).

use super::{BalancePolicy, Engine, EngineError, EngineInput, Group, Probe, Rechunk};
use crate::models::{BlockInput, ModelGroup};
use crate::network::{KindGroup, Network};

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
    fn save_state(&mut self, i: usize) -> Vec<f64> {
        ModelGroup::save_state(self, i)
    }
    fn load_state(&mut self, i: usize, state: &[f64]) {
        ModelGroup::load_state(self, i, state)
    }
    fn use_ports(&mut self, used: &[u64]) {
        ModelGroup::use_ports(self, used)
    }
    fn record(&mut self, vars: &[&str]) {
        ModelGroup::record(self, vars)
    }
}

/// Chunks per thread in distributed runs (`distributed/decompose.rs`), where rayon balances
/// them dynamically.
pub const CHUNKS_PER_THREAD: usize = 2;

/// Networks with more synapses than this skip the warm-up of [`build_engine`]: building the
/// trial engine would cost more than the balance can win back.
const WARMUP_MAX_SYNAPSES: usize = 2_000_000;

/// Build the engine for `net` with one chunk per thread, each a contiguous run of the neurons
/// (kind group by kind group, so a chunk holds a piece of every kind group it spans), cut on
/// whole 8-lane vectors so that the chunks cost about the same.
///
/// One chunk per thread: each chunk scans every spike and every bucket and pays per-block
/// costs, and a chunk's state stays in its core's cache, so more chunks balanced dynamically
/// cost 10-15% more work in all. The price is that the cuts must be right. Costs per neuron
/// differ by kind, ports in use, run lengths and machine (on point_450glifs an inhibitory
/// GLIF cell costs 1.3x an excitatory one), more than a table gets right, so with several
/// threads the first cut (equal neuron counts) runs a few epochs as a trial engine on a copy of
/// the input, timing each group piece, and the final engine is cut by those per-neuron costs.
/// That cut reflects the first tens of milliseconds only, so the engine keeps timing its pieces
/// and re-cuts itself during the run when they drift apart ([`REBALANCE`]).
/// The chunking never changes the results.
pub fn build_engine(
    net: &Network,
    input: EngineInput,
    threads: usize,
    probes: Vec<Probe>,
) -> Result<Engine<ModelGroup>, EngineError> {
    let threads = threads.max(1);
    let starts: Vec<usize> = net
        .kinds
        .iter()
        .scan(0, |a, kg| {
            *a += kg.gids.len();
            Some(*a - kg.gids.len())
        })
        .collect();
    let mut cost = vec![1.0f64; net.n_neurons];
    let mut how = "equal neuron counts".to_string();
    if threads > 1 && input.synapses.target.len() <= WARMUP_MAX_SYNAPSES {
        let started = std::time::Instant::now();
        let first = chunks(&net.kinds, net.dt, &cuts(&cost, threads, &starts))?;
        let mut trial = Engine::new(first, input.clone(), vec![])?;
        if let Some(by_gid) = trial.measure_neuron_costs(WARMUP_NS) {
            let kind_order = net.kinds.iter().flat_map(|kg| kg.gids.iter());
            cost = kind_order.map(|&g| by_gid[g as usize]).collect();
            how = format!(
                "costs timed in a trial of {} steps ({:.3} s)",
                trial.steps_done(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let cut = cuts(&cost, threads, &starts);
    let balance = threads > 1 && input.synapses.target.len() <= WARMUP_MAX_SYNAPSES;
    let kept = balance.then(|| (input.clone(), probes.clone()));
    let mut engine = Engine::new(chunks(&net.kinds, net.dt, &cut)?, input, probes)?;
    engine.chunking = describe(&cut, &how);
    if let Some((input, probes)) = kept {
        let rebalancer = Rebalancer {
            kinds: net.kinds.clone(),
            dt: net.dt,
            starts,
            threads,
            input,
            probes,
            cut,
        };
        engine.set_rebalancer(Box::new(rebalancer), REBALANCE);
    }
    Ok(engine)
}

/// "N chunks of a + b neurons, cut by `how`".
fn describe(cut: &[usize], how: &str) -> String {
    let sizes: Vec<String> = (cut.windows(2).map(|w| w[1] - w[0]))
        .filter(|&n| n > 0)
        .map(|n| n.to_string())
        .collect();
    if sizes.len() == 1 {
        format!("1 chunk of {} neurons", sizes[0])
    } else {
        format!(
            "{} chunks of {} neurons, cut by {how}",
            sizes.len(),
            sizes.join(" + ")
        )
    }
}

/// When a run re-cuts: checks after 200 ms of summed chunk time (100 ms of wall time at 2
/// threads), re-cuts when the slowest chunk took 6% more than the mean, and only with 20 times
/// the last re-cut's cost of run ahead. On point_450glifs the cut of the trial left one chunk
/// 15–38% slower over 3 s of simulated time (activity shifts between the cell types during the
/// run), while two runs of the same cut differ by ±4% from the VM alone.
const REBALANCE: BalancePolicy = BalancePolicy {
    window_ns: 200_000_000,
    excess: 0.06,
    payback: 20.0,
};

/// The [`Rechunk`] of [`build_engine`]: cuts as the first time, by the measured costs.
struct Rebalancer {
    kinds: Vec<KindGroup>,
    dt: f64,
    starts: Vec<usize>,
    threads: usize,
    input: EngineInput,
    probes: Vec<Probe>,
    cut: Vec<usize>,
}

impl Rechunk<ModelGroup> for Rebalancer {
    fn rechunk(&mut self, by_gid: &[f64]) -> Option<Engine<ModelGroup>> {
        let kind_order = self.kinds.iter().flat_map(|kg| kg.gids.iter());
        let cost: Vec<f64> = kind_order.map(|&g| by_gid[g as usize]).collect();
        let cut = cuts(&cost, self.threads, &self.starts);
        if cut == self.cut {
            return None;
        }
        let chunks = chunks(&self.kinds, self.dt, &cut).ok()?;
        let mut engine = Engine::new(chunks, self.input.clone(), self.probes.clone()).ok()?;
        engine.chunking = describe(&cut, "costs timed during the run");
        self.cut = cut;
        Some(engine)
    }
}

/// Work the trial engine of [`build_engine`] times, summed over its groups (at most a tenth of
/// the run is simulated for it). With 10 ms the cuts of point_450glifs were off by 7–12%.
const WARMUP_NS: u64 = 40_000_000;

/// Cut positions `0 = c_0 ≤ … ≤ c_parts = n` (neurons in kind order; kind groups start at
/// `starts`) such that every part has about the same summed `cost`, each cut on a whole 8-lane
/// vector of its kind group, or at its end when fewer than 8 neurons would remain.
fn cuts(cost: &[f64], parts: usize, starts: &[usize]) -> Vec<usize> {
    let n = cost.len();
    let total: f64 = cost.iter().sum();
    let mut out = vec![0usize];
    let mut acc = 0.0;
    for (i, c) in cost.iter().enumerate() {
        acc += c;
        while out.len() < parts && acc >= total * out.len() as f64 / parts as f64 {
            let k = starts.partition_point(|&s| s <= i).saturating_sub(1);
            let (start, end) = (
                starts.get(k).copied().unwrap_or(0),
                starts.get(k + 1).copied().unwrap_or(n),
            );
            let mut at = start + (i + 1 - start).next_multiple_of(8);
            if at + 8 > end {
                at = end;
            }
            out.push(at.max(*out.last().unwrap_or(&0)));
        }
    }
    while out.len() <= parts {
        out.push(n);
    }
    *out.last_mut().expect("parts >= 1") = n;
    out
}

/// The groups of one chunk with their neurons' global indices.
type ChunkSpec = Vec<(ModelGroup, Vec<u32>)>;

/// The chunks for `cuts`: part `k` holds neurons `cuts[k]..cuts[k+1]` in kind order, one
/// group per kind group it spans. Empty parts are dropped.
fn chunks(kinds: &[KindGroup], dt: f64, cuts: &[usize]) -> Result<Vec<ChunkSpec>, EngineError> {
    let mut out = Vec::new();
    for w in cuts.windows(2) {
        let mut chunk = Vec::new();
        let mut start = 0;
        for kg in kinds {
            let len = kg.gids.len();
            let a = w[0].clamp(start, start + len) - start;
            let b = w[1].clamp(start, start + len) - start;
            if a < b {
                let group = ModelGroup::new(&kg.sets, &kg.set_of[a..b], dt)
                    .map_err(|e| EngineError::Invalid(format!("{} group: {e}", kg.kind)))?;
                chunk.push((group, kg.gids[a..b].to_vec()));
            }
            start += len;
        }
        if !chunk.is_empty() {
            out.push(chunk);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::cuts;

    #[test]
    fn cuts_balance_cost_on_whole_vectors_of_each_kind_group() {
        // kind groups of 300 and 150 neurons; the second costs twice as much per neuron
        let cost: Vec<f64> = (0..450).map(|i| if i < 300 { 1.0 } else { 2.0 }).collect();
        // total 600: halves at 300 (the kind boundary itself)
        assert_eq!(cuts(&cost, 2, &[0, 300]), vec![0, 300, 450]);
        // thirds at 200 and 400 = neuron 350, i.e. 50 into the second group: 56 (whole vectors)
        assert_eq!(cuts(&cost, 3, &[0, 300]), vec![0, 200, 356, 450]);
        // one part, and more parts than neurons
        assert_eq!(cuts(&cost, 1, &[0, 300]), vec![0, 450]);
        let c = cuts(&[1.0; 5], 4, &[0]);
        assert_eq!((c.len(), c[0], c[4]), (5, 0, 5));
        assert!(c.windows(2).all(|w| w[0] <= w[1]));
        // near the end of a kind group the cut moves to its end: no sub-vector remnant
        let cost = vec![1.0; 100];
        assert_eq!(cuts(&cost, 2, &[0, 52]), vec![0, 52, 100]);
    }
}
