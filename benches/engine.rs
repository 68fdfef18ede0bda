//! Spike delivery per synaptic event: the whole engine loop (deliver, scatter, advance, gather)
//! on a recurrent network of 20,000 iaf_psc_alpha cells (the vectorised model of the BMTK
//! examples' inhibitory cells), each with 100 outgoing synapses to random targets (one delay of
//! 2–3 ms per source, as SONATA edge types give, and four weights of either sign), driven by
//! I_e of 400–600 pA, plus 100 virtual sources of 2,000 synapses each. 200 ms at dt = 0.1 ms,
//! one chunk (one thread): ~15M events. As at N = 50 of `networks/scaled_450glifs`, the synapse
//! table (9 MB) and a block of input (20 steps × 2 ports, 6.4 MB) outgrow L2, so the cache
//! behaviour of delivery shows. Report: time / events delivered = ns per event (model updates
//! of 40M neuron-steps included).
//!
//! Time: the benchmark thread's CPU time (`common`).

mod common;

use common::CpuTime;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use glifnet::engine::{Engine, EngineInput, NoProbes, Synapses};
use glifnet::models::{ModelGroup, ModelParams};
use serde_json::json;

const N: usize = 20_000;
const OUT_DEGREE: usize = 100;
const N_VIRTUAL: usize = 100;
const VIRTUAL_OUT: usize = 2_000;
const DT: f64 = 0.1;
const STEPS: u64 = 2_000;

/// xorshift64: a fixed network, the same for every run.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn input() -> EngineInput {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let weights = [20.0, 40.0, -30.0, -60.0];
    let mut edges = Vec::with_capacity(N * OUT_DEGREE + N_VIRTUAL * VIRTUAL_OUT);
    for src in 0..N {
        // one delay per source, as SONATA edge types give: one run of synapses per spike
        let d = 20 + (src % 11) as u32;
        for _ in 0..OUT_DEGREE {
            let t = (next(&mut x) % N as u64) as u32;
            edges.push((src as u32, t, 0, d, weights[(next(&mut x) % 4) as usize]));
        }
    }
    for v in 0..N_VIRTUAL {
        for _ in 0..VIRTUAL_OUT {
            let t = (next(&mut x) % N as u64) as u32;
            edges.push(((N + v) as u32, t, 0, 25, 50.0));
        }
    }
    // every virtual source fires at ~20 Hz
    let mut virtual_spikes: Vec<(u64, u32)> = (0..N_VIRTUAL as u32)
        .flat_map(|v| (0..4).map(move |k| (k * 500 + 7 * u64::from(v) % 500, v)))
        .collect();
    virtual_spikes.sort_unstable();
    EngineInput {
        n_neurons: N,
        n_virtual: N_VIRTUAL,
        synapses: Synapses::from_edges(N + N_VIRTUAL, &edges),
        virtual_spikes,
        currents: Vec::new(),
        direct: Vec::new(),
        n_steps: STEPS,
    }
}

/// Rheobase 375 pA; `SETS` node types with I_e from 400 to 600 pA spread the rates.
const SETS: usize = 16;

fn engine(input: &EngineInput) -> Engine<ModelGroup> {
    let sets: Vec<ModelParams> = (0..SETS)
        .map(|k| {
            let i_e = 400.0 + 200.0 * k as f64 / SETS as f64;
            ModelParams::from_nest_json("iaf_psc_alpha", &json!({ "I_e": i_e })).unwrap()
        })
        .collect();
    let set_of: Vec<u32> = (0..N).map(|i| (i * SETS / N) as u32).collect();
    let group = ModelGroup::new(&sets, &set_of, DT).unwrap();
    let chunk = vec![(group, (0..N as u32).collect())];
    Engine::new(vec![chunk], input.clone(), Vec::new()).unwrap()
}

fn delivery(c: &mut Criterion<CpuTime>) {
    let input = input();
    let events = {
        let mut e = engine(&input);
        e.run(None, &mut NoProbes, &mut |_| {}).events_delivered
    };
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(events));
    g.sample_size(10);
    g.bench_function("deliver_iaf_alpha_20k", |b| {
        b.iter_batched_ref(
            || engine(&input),
            |e| e.run(None, &mut NoProbes, &mut |_| {}).spikes,
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime::per("ns/event"));
    targets = delivery
}
criterion_main!(benches);
