//! Domain decomposition: which neurons a process simulates, and the part of the engine input
//! it needs.
//!
//! Each process owns one contiguous block of global neuron indices. Blocks are balanced by
//! *work*, not by cell count: a neuron costs its incoming synapses (every delivered spike walks
//! them) plus one for its own update, so a block of densely innervated cells is shorter.
//! Contiguous blocks keep populations and model groups in long runs (few, large chunks) and
//! make "who owns neuron g" a binary search.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::engine::{
    model_group::CHUNKS_PER_THREAD, split_ranges, Engine, EngineInput, Probe, Synapses,
};
use crate::models::ModelGroup;
use crate::network::{edges_used, Network};
use crate::sonata::{Circuit, EdgeSelection};

use super::DistError;

/// Cost of each neuron `0..net.n_neurons` before any edge is loaded: incoming edges (counted
/// from the edge files' target_to_source index or a chunked pass, [`Circuit::in_degrees`]) + 1.
/// Edge populations `lower` drops (un-driven virtual sources) cost nothing.
pub fn neuron_costs_from_files(circuit: &Circuit, net: &Network) -> Result<Vec<u64>, DistError> {
    let mut cost = vec![1u64; net.n_neurons];
    for (k, ep) in circuit.edges.iter().enumerate() {
        if !edges_used(net, ep) {
            continue;
        }
        let (Some(np), Some(tp)) = (
            circuit.node_population(&ep.target_population),
            net.population(&ep.target_population),
        ) else {
            continue; // lowering the loaded edges reports this population
        };
        // An edge onto a virtual node belongs to no rank's block, so no rank would read (and
        // reject) it: refuse it here, with the message lowering gives in a single process.
        let target_ok = |id: u64| {
            match tp.gid(id) {
            Some(_) => Ok(()),
            None => Err(format!(
                "no simulated node with this id in population '{}' (virtual nodes cannot be targets)",
                tp.name
            )),
        }
        };
        let deg = circuit.in_degrees(k, &target_ok)?;
        for (i, &d) in deg.iter().enumerate() {
            if let Some(g) = np.node_ids.get(i).and_then(|&id| tp.gid(id)) {
                cost[g as usize] += d;
            }
        }
    }
    Ok(cost)
}

/// The edges a process owning `block` reads: those onto its neurons, given as sorted node-id
/// ranges per population.
pub fn block_selection(net: &Network, block: &Range<u32>) -> EdgeSelection {
    let mut m = BTreeMap::new();
    for p in &net.populations {
        let end = p.first + p.node_ids.len() as u32;
        let (lo, hi) = (block.start.max(p.first), block.end.min(end));
        if lo >= hi {
            continue;
        }
        let mut ids = p.node_ids[(lo - p.first) as usize..(hi - p.first) as usize].to_vec();
        ids.sort_unstable();
        let mut ranges: Vec<Range<u64>> = Vec::new();
        for id in ids {
            match ranges.last_mut() {
                Some(r) if r.end == id => r.end = id + 1,
                _ => ranges.push(id..id + 1),
            }
        }
        m.insert(p.name.clone(), ranges);
    }
    EdgeSelection::Targets(m)
}

/// Cost of each neuron `0..n_neurons`: incoming synapses + 1.
pub fn neuron_costs(synapses: &Synapses, n_neurons: usize) -> Vec<u64> {
    let mut cost = vec![1u64; n_neurons];
    for &t in &synapses.target {
        if let Some(c) = cost.get_mut(t as usize) {
            *c += 1;
        }
    }
    cost
}

/// Split `0..cost.len()` into `parts` contiguous blocks whose cost sums are as equal as the
/// granularity of single neurons allows. Blocks may be empty when `parts` exceeds the neurons.
pub fn balanced_blocks(cost: &[u64], parts: usize) -> Vec<Range<u32>> {
    let parts = parts.max(1);
    let mut prefix = Vec::with_capacity(cost.len() + 1);
    prefix.push(0u128);
    for &c in cost {
        prefix.push(prefix[prefix.len() - 1] + c as u128);
    }
    let total = prefix[cost.len()];
    let mut cuts = vec![0usize];
    for k in 1..parts {
        // ideal cut: prefix = k·total/parts; take the nearer of the two neighbouring indices
        let goal = k as u128 * total;
        let scaled = |i: usize| prefix[i] * parts as u128;
        let i = prefix.partition_point(|&p| p * (parts as u128) < goal);
        let i = if i > 0 && i <= cost.len() && goal - scaled(i - 1) < scaled(i) - goal {
            i - 1
        } else {
            i
        };
        let prev = cuts[cuts.len() - 1];
        cuts.push(i.clamp(prev, cost.len()));
    }
    cuts.push(cost.len());
    cuts.windows(2).map(|w| w[0] as u32..w[1] as u32).collect()
}

/// The engine input of the process owning `block`: only the synapses onto its neurons (each
/// source's edges in their original order, so ring-buffer sums match the single-process run),
/// its clamps and direct events, and the spikes of the virtual sources that reach it.
pub fn local_input(mut input: EngineInput, block: &Range<u32>) -> EngineInput {
    let syn = &input.synapses;
    // a rank that read only its own edges: keep the table as it is (no second copy)
    let local = if syn.target.iter().all(|t| block.contains(t)) {
        std::mem::take(&mut input.synapses)
    } else {
        let mut local = Synapses {
            offsets: Vec::with_capacity(syn.offsets.len()),
            ..Default::default()
        };
        local.offsets.push(0);
        for src in 0..syn.n_sources() {
            for k in syn.offsets[src]..syn.offsets[src + 1] {
                if block.contains(&syn.target[k]) {
                    local.target.push(syn.target[k]);
                    local.port.push(syn.port[k]);
                    local.delay.push(syn.delay[k]);
                    local.weight.push(syn.weight[k]);
                }
            }
            local.offsets.push(local.target.len());
        }
        local
    };
    let reaches = |v: u32| {
        let src = input.n_neurons + v as usize;
        local.offsets.get(src + 1) > local.offsets.get(src)
    };
    let mut virtual_spikes = input.virtual_spikes;
    virtual_spikes.retain(|&(_, v)| reaches(v));
    EngineInput {
        n_neurons: input.n_neurons,
        n_virtual: input.n_virtual,
        synapses: local,
        virtual_spikes,
        currents: input
            .currents
            .into_iter()
            .filter(|c| block.contains(&c.0))
            .collect(),
        direct: input
            .direct
            .into_iter()
            .filter(|d| block.contains(&d.1))
            .collect(),
        n_steps: input.n_steps,
    }
}

/// Smallest synaptic delay (steps) of `input`, `u32::MAX` without synapses.
pub fn min_delay(input: &EngineInput) -> u64 {
    input
        .synapses
        .delay
        .iter()
        .copied()
        .min()
        .unwrap_or(u32::MAX) as u64
}

/// The engine of the neurons in `block` (global indices kept), each model kind's share split
/// into chunks for `threads` workers as the single-process engine does. `min_delay` is the
/// smallest delay over every process (one epoch length for all); `probes` may name only
/// neurons of `block`.
pub fn build_block_engine(
    net: &Network,
    input: EngineInput,
    threads: usize,
    block: &Range<u32>,
    min_delay: u64,
    probes: Vec<Probe>,
) -> Result<Engine<ModelGroup>, DistError> {
    let input = local_input(input, block);
    let total = (block.end - block.start).max(1) as usize;
    let target = threads.max(1) * CHUNKS_PER_THREAD;
    let mut chunks = Vec::new();
    for kg in &net.kinds {
        // gids of a kind are ascending, so the block's share is one slice
        let lo = kg.gids.partition_point(|&g| g < block.start);
        let hi = kg.gids.partition_point(|&g| g < block.end);
        let parts = if threads <= 1 {
            1
        } else {
            ((hi - lo) * target).div_ceil(total).max(1)
        };
        for r in split_ranges(hi - lo, parts) {
            let r = lo + r.start..lo + r.end;
            let group = ModelGroup::new(&kg.sets, &kg.set_of[r.clone()], net.dt)
                .map_err(|e| DistError::Build(format!("{} group: {e}", kg.kind)))?;
            chunks.push(vec![(group, kg.gids[r].to_vec())]);
        }
    }
    Ok(Engine::new_subset(chunks, input, probes, min_delay)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sums(cost: &[u64], blocks: &[Range<u32>]) -> Vec<u64> {
        blocks
            .iter()
            .map(|b| cost[b.start as usize..b.end as usize].iter().sum())
            .collect()
    }

    #[test]
    fn blocks_cover_all_neurons_in_order() {
        let cost: Vec<u64> = (0..100).map(|i| 1 + (i * 7 % 13)).collect();
        for parts in 1..8 {
            let b = balanced_blocks(&cost, parts);
            assert_eq!(b.len(), parts);
            assert_eq!(b[0].start, 0);
            assert_eq!(b[parts - 1].end, 100);
            for w in b.windows(2) {
                assert_eq!(w[0].end, w[1].start);
            }
        }
    }

    #[test]
    fn blocks_balance_synapses_not_cells() {
        // first 10 neurons carry 10× the synapses of the other 90
        let cost: Vec<u64> = (0..100).map(|i| if i < 10 { 91 } else { 10 }).collect();
        let b = balanced_blocks(&cost, 2);
        // total 910 + 900 = 1810, half 905: 10 heavy cells + 0 light (910) is nearest
        assert_eq!(b, vec![0..10, 10..100]);
        assert_eq!(sums(&cost, &b), vec![910, 900]);
    }

    #[test]
    fn more_parts_than_neurons_gives_empty_blocks() {
        let b = balanced_blocks(&[5, 5], 4);
        assert_eq!(b.len(), 4);
        assert_eq!(b.iter().map(|r| r.len()).sum::<usize>(), 2);
        assert!(b.iter().all(|r| r.len() <= 1));
    }

    #[test]
    fn local_input_keeps_the_block_targets_in_source_order() {
        let edges = vec![
            (0, 1, 0, 2, 1.0),
            (0, 3, 0, 2, 2.0),
            (2, 1, 0, 3, 3.0),
            (2, 2, 0, 3, 4.0),
            (4, 2, 0, 1, 5.0), // virtual source 4 (n_neurons = 4)
        ];
        let input = EngineInput {
            n_neurons: 4,
            n_virtual: 1,
            synapses: Synapses::from_edges(5, &edges),
            currents: vec![(0, vec![(0, 1.0)]), (2, vec![(0, 2.0)])],
            direct: vec![(0, 1, 0, 1.0), (0, 3, 0, 1.0)],
            ..Default::default()
        };
        let l = local_input(input, &(1..3));
        assert_eq!(l.synapses.offsets, vec![0, 1, 1, 3, 3, 4]);
        assert_eq!(l.synapses.target, vec![1, 1, 2, 2]);
        assert_eq!(l.synapses.weight, vec![1.0, 3.0, 4.0, 5.0]);
        assert_eq!(l.currents.len(), 1);
        assert_eq!(l.currents[0].0, 2);
        assert_eq!(l.direct, vec![(0, 1, 0, 1.0)]);
    }
}
