//! Engine unit tests with a tiny private model (no dependency on `models`).

use super::*;

/// Leaky integrator: `v ← v·a + Σ_p g_p·syn_p + current`; spike when `v > 1`, then `v ← 0`.
/// Records `v` as "V_m".
#[derive(Clone)]
pub(crate) struct Toy {
    v: Vec<f64>,
    a: f64,
    gains: Vec<f64>,
}

impl Toy {
    pub(crate) fn new(n: usize, a: f64, gains: Vec<f64>) -> Toy {
        Toy {
            v: vec![0.0; n],
            a,
            gains,
        }
    }
}

impl Group for Toy {
    fn len(&self) -> usize {
        self.v.len()
    }
    fn n_ports(&self) -> usize {
        self.gains.len()
    }
    fn advance(
        &mut self,
        n_steps: usize,
        syn: &mut [f64],
        row: usize,
        consume: bool,
        cur: Option<&[f64]>,
        out: &mut Vec<(u32, u32)>,
    ) {
        let n = self.v.len();
        let np = self.gains.len();
        assert!(row >= n);
        assert_eq!(syn.len(), n_steps * row * np);
        for s in 0..n_steps {
            for i in 0..n {
                let mut v = self.v[i] * self.a;
                for p in 0..np {
                    v += self.gains[p] * syn[(s * np + p) * row + i];
                }
                if let Some(c) = cur {
                    v += c[s * n + i];
                }
                if v > 1.0 {
                    out.push((i as u32, s as u32));
                    v = 0.0;
                }
                self.v[i] = v;
            }
        }
        if consume {
            syn.fill(0.0);
        }
    }
    fn sample(&self, var: &str, i: usize) -> Option<f64> {
        (var == "V_m").then(|| self.v[i])
    }
    fn save_state(&mut self, i: usize) -> Vec<f64> {
        vec![self.v[i]]
    }
    fn load_state(&mut self, i: usize, state: &[f64]) {
        self.v[i] = state[0];
    }
}

struct Rows(Vec<(usize, u64, Vec<f64>)>);
impl ProbeSink for Rows {
    fn row(&mut self, r: ProbeRow<'_>) {
        self.0.push((r.probe, r.step, r.values.to_vec()));
    }
}

fn chunked(n: usize, parts: usize, gains: &[f64]) -> Vec<Vec<(Toy, Vec<u32>)>> {
    split_ranges(n, parts)
        .into_iter()
        .map(|r| {
            let ids: Vec<u32> = r.clone().map(|x| x as u32).collect();
            vec![(Toy::new(ids.len(), 0.9, gains.to_vec()), ids)]
        })
        .collect()
}

/// xorshift64 from `seed`: fixed pseudo-random networks.
fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// A random recurrent network driven by one virtual source.
fn random_input(n: usize, n_steps: u64) -> EngineInput {
    let mut rnd = xorshift(12345);
    let mut edges = Vec::new();
    for s in 0..n {
        for t in 0..n {
            if s != t && rnd().is_multiple_of(5) {
                let w = ((rnd() % 1000) as f64 / 1000.0 - 0.45) * 0.37;
                edges.push((
                    s as u32,
                    t as u32,
                    (rnd() % 2) as u16,
                    3 + (rnd() % 4) as u32,
                    w,
                ));
            }
        }
    }
    for t in 0..n {
        edges.push((n as u32, t as u32, 0, 3, 0.61));
    }
    let virtual_spikes = (0..n_steps).step_by(7).map(|s| (s, 0)).collect();
    EngineInput {
        n_neurons: n,
        n_virtual: 1,
        synapses: Synapses::from_edges(n + 1, &edges),
        virtual_spikes,
        currents: vec![(3, vec![(10, 0.05), (50, 0.0)])],
        direct: vec![(20, 1, 1, 0.7), (21, 2, 0, 0.3)],
        n_steps,
    }
}

#[test]
fn chunking_does_not_change_spikes() {
    let mut reference = None;
    for parts in [1, 2, 3, 7] {
        let mut e = Engine::new(
            chunked(40, parts, &[1.0, 0.5]),
            random_input(40, 2000),
            vec![],
        )
        .unwrap();
        e.run(None, &mut NoProbes, &mut |_| {});
        assert!(
            e.spikes.len() > 100,
            "network too quiet: {}",
            e.spikes.len()
        );
        match &reference {
            None => reference = Some(e.spikes.clone()),
            Some(r) => assert_eq!(r, &e.spikes, "parts {parts}"),
        }
    }
}

#[test]
fn delay_shifts_response_by_exactly_d_steps() {
    // one virtual spike emitted at step 4 → neuron 0 through delay d: slot 4 + d
    for d in [1u32, 2, 5, 9] {
        let input = EngineInput {
            n_neurons: 1,
            n_virtual: 1,
            synapses: Synapses::from_edges(2, &[(1, 0, 0, d, 0.5)]),
            virtual_spikes: vec![(4, 0)],
            n_steps: 30,
            ..Default::default()
        };
        let probe = Probe {
            neurons: vec![0],
            var: "V_m".into(),
            interval: 1,
            start: 0,
            stop: 30,
        };
        let mut e = Engine::new(chunked(1, 1, &[1.0]), input, vec![probe]).unwrap();
        let mut rows = Rows(Vec::new());
        e.run(None, &mut rows, &mut |_| {});
        assert_eq!(rows.0.len(), 30);
        // the row after t steps shows the state after step t-1; the weight enters in step 4+d
        let first = rows.0.iter().position(|r| r.2[0] != 0.0).unwrap() as u32;
        assert_eq!(first, 4 + d, "delay {d}");
        assert_eq!(rows.0[first as usize].2[0], 0.5);
    }
}

#[test]
fn slot_sums_follow_canonical_order() {
    // three sources spiking in the same step into one slot: virtual first, then neurons by index
    let w = [1e16, -1e16, 1.0];
    let edges = vec![(1, 0, 0, 2, w[1]), (2, 0, 0, 2, w[2]), (3, 0, 0, 2, w[0])];
    let input = EngineInput {
        n_neurons: 3,
        n_virtual: 1,
        synapses: Synapses::from_edges(4, &edges),
        virtual_spikes: vec![],
        direct: vec![(0, 1, 0, 5.0), (0, 2, 0, 5.0)],
        n_steps: 10,
        ..Default::default()
    };
    let mut chunks = chunked(3, 3, &[1.0]);
    // neuron 0 must not fire: use a tiny gain
    chunks[0][0].0.gains = vec![1e-30];
    let probe = Probe {
        neurons: vec![0],
        var: "V_m".into(),
        interval: 1,
        start: 0,
        stop: 10,
    };
    let mut input = input;
    input.virtual_spikes = vec![(0, 0)];
    let mut e = Engine::new(chunks, input, vec![probe]).unwrap();
    let mut rows = Rows(Vec::new());
    e.run(None, &mut rows, &mut |_| {});
    // neurons 1 and 2 fire in step 0; slot 2 of neuron 0 gets ((0 + 1e16) + -1e16) + 1.0 = 1.0
    // (any other order would give 0.0)
    let v = rows.0[2].2[0];
    assert_eq!(v, 1e-30 * 1.0);
}

#[test]
fn stop_flag_halts_at_epoch_boundary() {
    let stop = AtomicBool::new(false);
    let mut e = Engine::new(chunked(10, 2, &[1.0, 0.5]), random_input(10, 1000), vec![]).unwrap();
    let epoch = e.epoch_steps();
    let mut calls = 0;
    e.run(Some(&stop), &mut NoProbes, &mut |_| {
        calls += 1;
        if calls == 3 {
            stop.store(true, Ordering::Relaxed);
        }
    });
    assert_eq!(e.steps_done(), 3 * epoch);
    assert!(e.stats.interrupted);
}

#[test]
fn clamp_current_follows_breakpoints() {
    let input = EngineInput {
        n_neurons: 1,
        n_virtual: 0,
        synapses: Synapses::from_edges(1, &[]),
        currents: vec![(0, vec![(3, 0.1), (6, 0.0)])],
        n_steps: 10,
        ..Default::default()
    };
    let probe = Probe {
        neurons: vec![0],
        var: "V_m".into(),
        interval: 1,
        start: 0,
        stop: 10,
    };
    let mut chunks = chunked(1, 1, &[1.0]);
    chunks[0][0].0.a = 1.0;
    let mut e = Engine::new(chunks, input, vec![probe]).unwrap();
    let mut rows = Rows(Vec::new());
    e.run(None, &mut rows, &mut |_| {});
    let v: Vec<f64> = rows.0.iter().map(|r| r.2[0]).collect();
    // current delivered in steps 3, 4, 5 (the toy adds it within the step)
    assert_eq!(v[2], 0.0);
    assert!((v[3] - 0.1).abs() < 1e-15);
    assert!((v[5] - 0.3).abs() < 1e-15);
    assert!((v[9] - 0.3).abs() < 1e-15);
}

/// The packed (u32) and wide ((u32, f64)) queues must add the same weights in the same order:
/// sums of 1e16, 1 and −1e16 depend on the order, so any reordering or lost addition shows.
#[test]
fn packed_and_wide_queues_add_the_same_weights_in_the_same_order() {
    use super::queue::{Incoming, Queue};
    let weights = [1e16, 1.0, -1e16, 0.5, -3.25];
    // 3 sources, 2 slots, offsets < 40, delays 1..3, weights cycling through 5 values
    let mut edges = Vec::new();
    for src in 0..3u32 {
        for k in 0..30u32 {
            let slot = (k % 2) as u16;
            let off = (k * 7 + src * 3) % 40;
            let delay = 1 + (k + src) % 3;
            edges.push((src, slot, off, delay, weights[((k + src) % 5) as usize]));
        }
    }
    let spikes: Vec<(u64, u32)> = vec![(0, 0), (0, 2), (1, 1), (1, 2), (2, 0), (2, 1)];
    let run = |max_stride: usize| {
        let (inc, pairs) = Incoming::new(3, &edges);
        let mut q = Queue::new(&inc, pairs, [7.5].into_iter(), max_stride, 2, 8);
        let n = q.deliver(&inc, &spikes, 7);
        q.push(1, 3, 5, 7.5);
        // one block of 8 steps per slot, rows of 40 (bucket b = step b)
        let steps = super::queue::Steps {
            t0: 0,
            n: 8,
            mask: 7,
            stride: 40,
        };
        let mut blocks = vec![vec![0.0f64; 8 * 40]; 2];
        for (slot, block) in blocks.iter_mut().enumerate() {
            q.scatter(slot, steps, block);
        }
        let bits: Vec<u64> = blocks.iter().flatten().map(|x| x.to_bits()).collect();
        for (slot, block) in blocks.iter_mut().enumerate() {
            q.clear(slot, steps, Some(block));
        }
        assert!(
            blocks.iter().flatten().all(|&x| x == 0.0),
            "clear left entries"
        );
        // emptied buckets add nothing the next time round
        for (slot, block) in blocks.iter_mut().enumerate() {
            assert_eq!(q.scatter(slot, steps, block), 0);
            q.clear(slot, steps, None);
        }
        assert!(blocks.iter().flatten().all(|&x| x == 0.0));
        (q.is_packed(), n, bits)
    };
    let (packed, n1, a) = run(40);
    // offsets need 30 bits: 4 weight indices fit, the 6 distinct weights do not
    let (wide, n2, b) = run(1 << 30);
    assert!(packed && !wide, "expected one packed and one wide queue");
    assert_eq!((n1, n2), (180, 180), "events queued");
    assert_eq!(a, b, "packed and wide sums differ");
    // reference: spikes in order, each source's synapses by (slot, delay), table order within
    let mut rows = vec![vec![0.0f64; 40]; 16];
    for &(step, src) in &spikes {
        let mut mine: Vec<_> = edges.iter().filter(|e| e.0 == src).collect();
        mine.sort_by_key(|e| (e.1, e.3));
        for e in mine {
            rows[e.1 as usize * 8 + ((step + e.3 as u64) & 7) as usize][e.2 as usize] += e.4;
        }
    }
    rows[8 + 3][5] += 7.5;
    let want: Vec<u64> = rows.iter().flatten().map(|x| x.to_bits()).collect();
    assert_eq!(a, want, "sums differ from the canonical order");
    // the weights make the order matter: summing each slot in reverse would differ somewhere
    assert!(a.iter().any(|&x| x != 0 && f64::from_bits(x).abs() < 1e15));
}

/// One group of every model kind: GLIF psc with the one-pass step (GLIF5, 2 ASCs, 3 ports)
/// and the multi-pass step (1 ASC), GLIF cond, GLIF psc double alpha (GLIF4, 3 ports) and the
/// three iaf models.
fn zoo() -> Vec<(crate::models::ModelParams, usize)> {
    use crate::models::ModelParams;
    use serde_json::json;
    let p = |model: &str, j: serde_json::Value| ModelParams::from_nest_json(model, &j).unwrap();
    let glif5 = json!({"tau_syn": [2.0, 5.0, 8.0], "spike_dependent_threshold": true,
                       "after_spike_currents": true, "adapting_threshold": true});
    let one_asc = json!({"tau_syn": [2.0, 5.0], "after_spike_currents": true,
                         "asc_init": [0.0], "asc_decay": [0.05], "asc_amps": [-20.0], "asc_r": [1.0]});
    let cond = json!({"tau_syn": [0.5, 2.0], "E_rev": [0.0, -85.0], "after_spike_currents": true});
    let double = json!({"tau_syn_fast": [1.0, 3.0, 0.7], "tau_syn_slow": [5.0, 2.0, 9.0],
                        "amp_slow": [0.4, 1.2, 0.2], "spike_dependent_threshold": true,
                        "after_spike_currents": true});
    vec![
        (p("glif_psc", glif5), 13),
        (p("glif_psc", one_asc), 9),
        (p("glif_cond", cond), 7),
        (p("glif_psc_double_alpha", double), 10),
        (p("iaf_psc_alpha", json!({})), 11),
        (p("iaf_psc_exp", json!({})), 8),
        (p("iaf_psc_delta", json!({"refractory_input": true})), 6),
    ]
}

/// The zoo's neurons in two chunks: the first `f` of every kind group in one, the rest in the
/// other (global ids in kind order).
fn zoo_chunks(f: f64) -> Vec<Vec<(crate::models::ModelGroup, Vec<u32>)>> {
    use crate::models::ModelGroup;
    let mut parts = vec![Vec::new(), Vec::new()];
    let mut start = 0u32;
    for (params, n) in zoo() {
        let a = ((n as f64) * f).round() as usize;
        for (part, r) in parts.iter_mut().zip([0..a, a..n]) {
            if !r.is_empty() {
                let g = ModelGroup::new(std::slice::from_ref(&params), &vec![0; r.len()], 0.1);
                let ids = r.map(|i| start + i as u32).collect();
                part.push((g.unwrap(), ids));
            }
        }
        start += n as u32;
    }
    parts
}

/// A recurrent network over the zoo: clamps (stepping at 120 ms) that make every kind fire,
/// random synapses on every port of each kind with weights of its units, a virtual source and
/// direct events.
fn zoo_input(n_steps: u64) -> EngineInput {
    let kinds = zoo();
    let mut rnd = xorshift(0x2545_F491_4F6C_DD1D);
    // per neuron: (ports, weight scale)
    let mut of = Vec::new();
    for (params, n) in &kinds {
        let scale = match params.kind() {
            crate::models::ModelKind::GlifCond => 0.5,
            crate::models::ModelKind::IafPscDelta => 0.8,
            _ => 40.0,
        };
        of.extend(std::iter::repeat_n((params.n_ports(), scale), *n));
    }
    let n = of.len();
    let mut edges = Vec::new();
    for s in 0..=n {
        for (t, &(np, scale)) in of.iter().enumerate() {
            if s != t && rnd().is_multiple_of(4) {
                let port = (rnd() % np as u64) as u16;
                let w = ((rnd() % 1000) as f64 / 1000.0 - 0.3) * scale;
                edges.push((s as u32, t as u32, port, 3 + (rnd() % 5) as u32, w));
            }
        }
    }
    let currents = (0..n as u32)
        .map(|i| (i, vec![(5, 300.0 + 9.0 * f64::from(i % 23)), (1200, 420.0)]))
        .collect();
    let direct = (0..n_steps / 11)
        .map(|k| {
            (
                k * 11 + 2,
                (k % n as u64) as u32,
                0,
                of[(k % n as u64) as usize].1,
            )
        })
        .collect();
    EngineInput {
        n_neurons: n,
        n_virtual: 1,
        synapses: Synapses::from_edges(n + 1, &edges),
        virtual_spikes: (0..n_steps).step_by(13).map(|s| (s, 0)).collect(),
        currents,
        direct,
        n_steps,
    }
}

/// Test rechunker: every `every`-th check it swaps the cut between 30% and 70%.
struct Flip {
    input: EngineInput,
    probes: Vec<Probe>,
    calls: usize,
    every: usize,
}

impl Rechunk<crate::models::ModelGroup> for Flip {
    fn rechunk(&mut self, _cost: &[f64]) -> Option<Engine<crate::models::ModelGroup>> {
        self.calls += 1;
        if !self.calls.is_multiple_of(self.every) {
            return None;
        }
        let f = if self.calls / self.every % 2 == 1 {
            0.7
        } else {
            0.3
        };
        Some(Engine::new(zoo_chunks(f), self.input.clone(), self.probes.clone()).unwrap())
    }
}

#[test]
fn recutting_during_a_run_changes_no_spike_and_no_sample() {
    let input = zoo_input(3000);
    let n = input.n_neurons as u32;
    let probes = vec![Probe {
        var: "V_m".into(),
        neurons: (0..n).step_by(3).collect(),
        interval: 7,
        start: 0,
        stop: 3000,
    }];
    let run = |recut: bool| {
        let mut e = Engine::new(zoo_chunks(0.5), input.clone(), probes.clone()).unwrap();
        if recut {
            let flip = Flip {
                input: input.clone(),
                probes: probes.clone(),
                calls: 0,
                every: 17,
            };
            // check every epoch, whatever the balance and the cost
            let always = BalancePolicy {
                window_ns: 0,
                excess: -1.0,
                payback: 0.0,
            };
            e.set_rebalancer(Box::new(flip), always);
        }
        let mut rows = Rows(Vec::new());
        let stats = e.run(None, &mut rows, &mut |_| {});
        (e.spikes.clone(), rows.0, stats.events_delivered, e.recuts())
    };
    let (spikes, rows, events, _) = run(false);
    let (spikes2, rows2, events2, recuts) = run(true);
    assert_eq!(recuts, 58, "re-cuts (every 17th of 999 epoch boundaries)");
    // every kind fired
    let mut start = 0;
    for (params, k) in zoo() {
        let fired = spikes
            .iter()
            .filter(|s| (start..start + k as u32).contains(&s.1));
        assert!(fired.count() > 10, "{:?} silent", params.kind());
        start += k as u32;
    }
    assert_eq!(spikes.len(), spikes2.len());
    assert!(spikes == spikes2, "spikes differ after re-cuts");
    assert_eq!(events, events2);
    assert_eq!(rows.len(), rows2.len());
    for (a, b) in rows.iter().zip(&rows2) {
        assert_eq!((a.0, a.1), (b.0, b.1));
        let same =
            a.2.iter()
                .zip(&b.2)
                .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "samples differ at step {}", a.1);
    }
}
