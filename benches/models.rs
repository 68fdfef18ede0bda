//! Kernel throughput of the model groups: 10,000 neurons advancing 1,000 steps (dt 0.001 ms)
//! in blocks of 10 steps, sparse synaptic input on every port plus a per-neuron current, in
//! line-aligned buffers as the engine's blocks are.
//! Report: time / (10,000 × 1,000) = ns per neuron-step.
//! Time: the benchmark thread's CPU time (`common`).

mod common;

use common::CpuTime;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use glifnet::models::{AlignedBuf, BlockInput, ModelGroup, ModelParams};
use serde_json::json;

const N: usize = 10_000;
const STEPS: usize = 1_000;
const BLOCK: usize = 10;
const DT: f64 = 0.001;

/// Deterministic sparse input: each port of each neuron gets a spike with probability ~0.2 %
/// per step; currents drive the cells around rheobase.
fn inputs(n_ports: usize, w: f64, i0: f64) -> (AlignedBuf, AlignedBuf) {
    let mut syn = AlignedBuf::zeros(BLOCK * n_ports * N);
    let mut x: u64 = 0x9E3779B97F4A7C15;
    for v in syn.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if x.is_multiple_of(500) {
            *v = if x.is_multiple_of(3) { -w } else { w };
        }
    }
    let mut cur = AlignedBuf::zeros(BLOCK * N);
    for (k, c) in cur.iter_mut().enumerate() {
        *c = i0 * (0.8 + 0.4 * ((k % N) as f64 / N as f64));
    }
    (syn, cur)
}

fn bench_group(c: &mut Criterion<CpuTime>, name: &str, params: ModelParams, w: f64, i0: f64) {
    let n_ports = params.n_ports();
    let set_of = vec![0u32; N];
    let (syn, cur) = inputs(n_ports, w, i0);
    let mut g = c.benchmark_group("models");
    g.throughput(Throughput::Elements((N * STEPS) as u64));
    g.sample_size(10);
    g.bench_function(name, |b| {
        b.iter_batched_ref(
            || ModelGroup::new(std::slice::from_ref(&params), &set_of, DT).unwrap(),
            |group| {
                let mut spikes = Vec::new();
                let mut syn = syn.clone();
                for _ in 0..STEPS / BLOCK {
                    let mut input = BlockInput {
                        n_steps: BLOCK,
                        syn: &mut syn,
                        row: N,
                        consume: false,
                        current: Some(&cur),
                    };
                    spikes.clear();
                    group.advance(&mut input, &mut spikes);
                }
                spikes.len()
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn glif(level: (bool, bool, bool)) -> ModelParams {
    let (r, a, v) = level;
    ModelParams::from_nest_json(
        "glif_psc",
        &json!({"V_m": -78.85, "tau_syn": [5.5, 8.5, 2.8, 5.8],
                "spike_dependent_threshold": r, "after_spike_currents": a, "adapting_threshold": v}),
    )
    .unwrap()
}

fn kernels(c: &mut Criterion<CpuTime>) {
    bench_group(c, "glif5_psc_4ports", glif((true, true, true)), 50.0, 300.0);
    bench_group(
        c,
        "glif3_psc_4ports",
        glif((false, true, false)),
        50.0,
        300.0,
    );
    bench_group(
        c,
        "glif1_psc_4ports",
        glif((false, false, false)),
        50.0,
        300.0,
    );
    let double = ModelParams::from_nest_json(
        "glif_psc_double_alpha",
        &json!({"V_m": -78.85, "tau_syn_fast": [5.5, 8.5, 2.8, 5.8],
                "tau_syn_slow": [15.0, 20.0, 8.0, 12.0], "amp_slow": [0.3, 0.3, 0.5, 0.5],
                "spike_dependent_threshold": true, "after_spike_currents": true,
                "adapting_threshold": true}),
    )
    .unwrap();
    bench_group(c, "glif5_psc_double_alpha_4ports", double, 50.0, 300.0);
    let iaf = ModelParams::from_nest_json("iaf_psc_alpha", &json!({})).unwrap();
    bench_group(c, "iaf_psc_alpha", iaf, 300.0, 400.0);
    let delta = ModelParams::from_nest_json("iaf_psc_delta", &json!({})).unwrap();
    bench_group(c, "iaf_psc_delta", delta, 0.5, 400.0);
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime::per("ns/neuron-step"));
    targets = kernels
}
criterion_main!(benches);
