//! The distributed engine without MPI: K block engines (one per would-be rank) stepped in
//! lockstep, exchanging spikes through the same encode/merge as the MPI all-gather, must record
//! exactly the spikes of the single engine (issue #8, determinism for any number of ranks).

mod mpi_support;

use glifnet::config::SimulationConfig;
use glifnet::distributed::decompose::{
    balanced_blocks, build_block_engine, min_delay, neuron_costs,
};
use glifnet::distributed::exchange::{decode, encode};
use glifnet::engine::{model_group::build_engine, EngineInput, NoProbes};
use glifnet::inputs::{
    build_drive, build_drive_for, driven_virtual_populations, ms_to_steps, DriveFilter,
};
use glifnet::network::{lower, Network};
use glifnet::sonata::Circuit;

struct Loaded {
    cfg: SimulationConfig,
    circuit: Circuit,
    net: Network,
}

impl Loaded {
    fn input(&self) -> EngineInput {
        let run = self.cfg.run.clone().unwrap();
        let d = build_drive(&self.cfg, &self.circuit, &self.net, run.dt, run.tstop).unwrap();
        EngineInput {
            n_neurons: self.net.n_neurons,
            n_virtual: self.net.n_virtual,
            synapses: self.net.synapses.clone(),
            virtual_spikes: d.virtual_spikes,
            currents: d.currents,
            direct: d.direct,
            n_steps: ms_to_steps(run.tstop, run.dt) as u64,
        }
    }
}

fn lockstep(l: &Loaded, ranks: usize, threads: usize) -> Vec<(u64, u32)> {
    let cost = neuron_costs(&l.net.synapses, l.net.n_neurons);
    let blocks = balanced_blocks(&cost, ranks);
    let d_min = min_delay(&l.input());
    let mut engines: Vec<_> = blocks
        .iter()
        .map(|b| build_block_engine(&l.net, l.input(), threads, b, d_min, Vec::new()).unwrap())
        .collect();
    while engines[0].steps_done() < engines[0].n_steps() {
        let t0 = engines[0].steps_done();
        let bufs: Vec<Vec<u32>> = engines
            .iter_mut()
            .map(|e| encode(t0, false, &e.advance_epoch()))
            .collect();
        let counts: Vec<usize> = bufs.iter().map(|b| b.len()).collect();
        let (spikes, stop) = decode(t0, &bufs.concat(), &counts);
        assert!(!stop);
        for e in &mut engines {
            e.finish_epoch(spikes.clone(), &mut NoProbes);
        }
    }
    for e in &engines[1..] {
        assert_eq!(e.spikes, engines[0].spikes);
    }
    engines.swap_remove(0).spikes
}

#[test]
fn block_engines_in_lockstep_match_the_single_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg_path = mpi_support::built_network(tmp.path(), 500.0);
    // BMTK-style configs resolve from the working directory (the other test of this binary
    // uses absolute paths only)
    std::env::set_current_dir(tmp.path()).unwrap();
    let cfg = SimulationConfig::load(&cfg_path).unwrap();
    let circuit = Circuit::load(&cfg).unwrap();
    let driven = driven_virtual_populations(&cfg, &circuit).unwrap();
    let net = lower(&circuit, 0.1, &|p| driven.iter().any(|d| d == p)).unwrap();
    let l = Loaded { cfg, circuit, net };

    let mut single = build_engine(&l.net, l.input(), 1, Vec::new()).unwrap();
    single.run(None, &mut NoProbes, &mut |_| {});
    let reference = single.spikes.clone();
    // a network that fires enough to exercise every epoch (≈ 180 cells × 0.5 s × 10+ Hz)
    assert!(reference.len() > 1000, "{} spikes", reference.len());
    assert!(single.stats.events_delivered > 10_000);
    // the clamped cells are among the spiking ones
    assert!(reference.iter().any(|&(_, g)| g == 91));

    for (ranks, threads) in [(1, 1), (2, 1), (3, 2), (4, 1), (7, 1)] {
        let got = lockstep(&l, ranks, threads);
        assert_eq!(got.len(), reference.len(), "{ranks} ranks");
        assert!(got == reference, "{ranks} ranks × {threads} threads differ");
    }
}

/// A rank generates only the Poisson events onto its cells and keeps only the input spikes of
/// the virtual cells it is told reach it: exactly the full drive's events, filtered.
#[test]
fn filtered_drive_is_the_full_drive_restricted_to_the_block() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg_path = mpi_support::built_network(tmp.path(), 300.0);
    let cfg = SimulationConfig::load(&cfg_path).unwrap();
    let circuit = Circuit::load(&cfg).unwrap();
    let driven = driven_virtual_populations(&cfg, &circuit).unwrap();
    let net = lower(&circuit, 0.1, &|p| driven.iter().any(|d| d == p)).unwrap();
    let full = build_drive(&cfg, &circuit, &net, 0.1, 300.0).unwrap();
    assert!(full.direct.len() > 1000 && full.virtual_spikes.len() > 100);
    let block = 40u32..120;
    let in_block = |g: u32| block.contains(&g);
    let even = |v: u32| v.is_multiple_of(2);
    let f = DriveFilter {
        neuron: &in_block,
        virtual_source: &even,
    };
    let part = build_drive_for(&cfg, &circuit, &net, 0.1, 300.0, Some(&f)).unwrap();
    let want: Vec<_> = full
        .direct
        .iter()
        .copied()
        .filter(|d| block.contains(&d.1))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(part.direct, want);
    let want: Vec<_> = full
        .virtual_spikes
        .iter()
        .copied()
        .filter(|s| s.1 % 2 == 0)
        .collect();
    assert_eq!(part.virtual_spikes, want);
    assert_eq!(part.currents, full.currents);
}
