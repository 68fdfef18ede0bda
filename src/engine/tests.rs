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

/// A random recurrent network driven by one virtual source.
fn random_input(n: usize, n_steps: u64) -> EngineInput {
    let mut x: u64 = 12345;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut edges = Vec::new();
    for s in 0..n {
        for t in 0..n {
            if s != t && rnd() % 5 == 0 {
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
