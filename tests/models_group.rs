//! Group semantics: a mixed population advanced in blocks gives, neuron by neuron, exactly the
//! spikes and states of the same neurons simulated alone (uniform and mixed parameter chunks,
//! chunk boundaries, block boundaries), and spikes come out sorted by (step, neuron).

use glifnet::models::{BlockInput, ModelGroup, ModelParams};
use serde_json::json;

fn glif_levels() -> Vec<ModelParams> {
    [
        (false, false, false),
        (true, false, false),
        (false, true, false),
        (true, true, false),
        (true, true, true),
    ]
    .iter()
    .map(|&(r, a, v)| {
        ModelParams::from_nest_json(
            "glif_psc",
            &json!({"V_m": -78.85, "tau_syn": [5.5, 8.5, 2.8, 5.8], "spike_dependent_threshold": r,
                        "after_spike_currents": a, "adapting_threshold": v}),
        )
        .unwrap()
    })
    .collect()
}

/// Deterministic input of neuron `i` in step `s`: (per-port weights, current).
fn input_of(i: usize, s: usize, n_ports: usize) -> (Vec<f64>, f64) {
    let mut w = vec![0.0; n_ports];
    for (p, x) in w.iter_mut().enumerate() {
        if (s * 7 + i * 13 + p * 5).is_multiple_of(97) {
            *x = if p % 2 == 0 { 60.0 } else { -25.0 };
        }
    }
    (w, 240.0 + (i % 17) as f64 * 6.0)
}

fn run(
    sets: &[ModelParams],
    set_of: &[u32],
    steps: usize,
    block: usize,
) -> (Vec<(u32, u32)>, ModelGroup) {
    let n = set_of.len();
    let np = sets[0].n_ports();
    let mut g = ModelGroup::new(sets, set_of, 0.1).unwrap();
    let mut spikes = Vec::new();
    let mut done = 0;
    while done < steps {
        let len = block.min(steps - done);
        let mut syn = vec![0.0; len * np * n];
        let mut cur = vec![0.0; len * n];
        for s in 0..len {
            for i in 0..n {
                let (w, c) = input_of(i, done + s, np);
                for p in 0..np {
                    syn[(s * np + p) * n + i] = w[p];
                }
                cur[s * n + i] = c;
            }
        }
        let mut out = Vec::new();
        g.advance(
            &mut BlockInput {
                n_steps: len,
                syn: &mut syn,
                row: n,
                consume: false,
                current: Some(&cur),
            },
            &mut out,
        );
        for w in out.windows(2) {
            assert!(
                (w[0].1, w[0].0) < (w[1].1, w[1].0),
                "spikes not sorted: {w:?}"
            );
        }
        spikes.extend(out.into_iter().map(|(i, s)| (i, s + done as u32)));
        done += len;
    }
    (spikes, g)
}

fn check_population(sets: &[ModelParams], set_of: &[u32]) {
    let steps = 3000;
    let (pop, g) = run(sets, set_of, steps, 37);
    assert!(pop.len() > 50, "too few spikes to be a test: {}", pop.len());
    for i in 0..set_of.len() {
        // The same neuron alone: same set, same inputs (neuron index i in input_of).
        let np = sets[0].n_ports();
        let mut alone = ModelGroup::new(&[sets[set_of[i] as usize].clone()], &[0], 0.1).unwrap();
        let mut syn = vec![0.0; steps * np];
        let mut cur = vec![0.0; steps];
        for s in 0..steps {
            let (w, c) = input_of(i, s, np);
            syn[s * np..(s + 1) * np].copy_from_slice(&w);
            cur[s] = c;
        }
        let mut out = Vec::new();
        alone.advance(
            &mut BlockInput {
                n_steps: steps,
                syn: &mut syn,
                row: 1,
                consume: false,
                current: Some(&cur),
            },
            &mut out,
        );
        let mine: Vec<u32> = pop
            .iter()
            .filter(|&&(j, _)| j as usize == i)
            .map(|&(_, s)| s)
            .collect();
        let solo: Vec<u32> = out.iter().map(|&(_, s)| s).collect();
        assert_eq!(mine, solo, "neuron {i} (set {})", set_of[i]);
        for var in alone.kind().recordables() {
            let (a, b) = (g.sample(var, i).unwrap(), alone.sample(var, 0).unwrap());
            assert_eq!(a.to_bits(), b.to_bits(), "neuron {i} {var}: {a} vs {b}");
        }
    }
}

#[test]
fn glif_psc_mixed_sets_match_single_neurons() {
    let sets = glif_levels();
    // Interleaved sets: every chunk mixed (per-neuron constants).
    let interleaved: Vec<u32> = (0..300).map(|i| (i % 5) as u32).collect();
    check_population(&sets, &interleaved);
    // Contiguous node types: uniform chunks (scalar constants) plus mixed boundary chunks.
    let contiguous: Vec<u32> = (0..300).map(|i| (i / 60) as u32).collect();
    check_population(&sets, &contiguous);
}

#[test]
fn iaf_groups_match_single_neurons() {
    for model in ["iaf_psc_alpha", "iaf_psc_exp"] {
        let sets = vec![
            ModelParams::from_nest_json(model, &json!({"I_e": 100.0})).unwrap(),
            ModelParams::from_nest_json(model, &json!({"tau_m": 20.0, "C_m": 200.0, "t_ref": 3.0}))
                .unwrap(),
        ];
        let set_of: Vec<u32> = (0..150).map(|i| (i % 2) as u32).collect();
        check_population(&sets, &set_of);
    }
}

#[test]
fn group_construction_errors() {
    let a = ModelParams::from_nest_json("glif_psc", &json!({})).unwrap();
    let b = ModelParams::from_nest_json("iaf_psc_alpha", &json!({})).unwrap();
    let c = ModelParams::from_nest_json("glif_psc", &json!({"tau_syn": [1.0, 2.0]})).unwrap();
    assert!(ModelGroup::new(&[a.clone(), b], &[0, 1], 0.1)
        .unwrap_err()
        .to_string()
        .contains("iaf_psc_alpha"));
    assert!(ModelGroup::new(&[a.clone(), c], &[0, 1], 0.1)
        .unwrap_err()
        .to_string()
        .contains("ports"));
    assert!(ModelGroup::new(std::slice::from_ref(&a), &[0, 1], 0.1)
        .unwrap_err()
        .to_string()
        .contains("set 1"));
    assert!(ModelGroup::new(&[a], &[0], 0.0)
        .unwrap_err()
        .to_string()
        .contains("dt"));
}

/// Shapes without a one-pass kernel (here 5 ports, 3 ASCs) take the multi-pass step. A fifth
/// port that never receives input and a third ASC of amplitude 0 only add exact zeros, so both
/// steps must give the 4-port, 2-ASC population's spikes and states bit for bit.
#[test]
fn glif_psc_one_pass_and_multi_pass_steps_agree() {
    let set = |tau_syn: serde_json::Value, ascs: usize| {
        let (decay, amps, init, asc_r) = match ascs {
            2 => (
                json!([0.003, 0.1]),
                json!([-13.0, -200.0]),
                json!([0.0, 0.0]),
                json!([1.0, 1.0]),
            ),
            _ => (
                json!([0.003, 0.1, 0.05]),
                json!([-13.0, -200.0, 0.0]),
                json!([0.0, 0.0, 0.0]),
                json!([1.0, 1.0, 1.0]),
            ),
        };
        ModelParams::from_nest_json(
            "glif_psc",
            &json!({"V_m": -78.85, "tau_syn": tau_syn, "after_spike_currents": true,
                    "spike_dependent_threshold": true, "adapting_threshold": true,
                    "asc_decay": decay, "asc_amps": amps, "asc_init": init, "asc_r": asc_r}),
        )
        .unwrap()
    };
    let four = json!([5.5, 8.5, 2.8, 5.8]);
    let five = json!([5.5, 8.5, 2.8, 5.8, 3.0]);
    let n = 70;
    let steps = 2000;
    let simulate = |p: ModelParams| {
        let np = p.n_ports();
        let mut g = ModelGroup::new(&[p], &vec![0; n], 0.1).unwrap();
        let mut syn = vec![0.0; steps * np * n];
        let mut cur = vec![0.0; steps * n];
        for s in 0..steps {
            for i in 0..n {
                let (w, c) = input_of(i, s, 4);
                for (q, x) in w.iter().enumerate() {
                    syn[(s * np + q) * n + i] = *x;
                }
                cur[s * n + i] = c;
            }
        }
        let mut out = Vec::new();
        g.advance(
            &mut BlockInput {
                n_steps: steps,
                syn: &mut syn,
                row: n,
                consume: false,
                current: Some(&cur),
            },
            &mut out,
        );
        let states: Vec<u64> = (0..n)
            .flat_map(|i| {
                ["V_m", "threshold", "ASCurrents_sum", "I_syn"]
                    .map(|v| g.sample(v, i).unwrap().to_bits())
            })
            .collect();
        (out, states)
    };
    let (spikes, states) = simulate(set(four.clone(), 2));
    assert!(spikes.len() > 100, "too few spikes: {}", spikes.len());
    for (label, p) in [("5 ports", set(five, 2)), ("3 ASCs", set(four, 3))] {
        let (s2, st2) = simulate(p);
        assert_eq!(spikes, s2, "{label}: spikes differ");
        assert_eq!(states, st2, "{label}: states differ");
    }
}

/// Advance a 4-port GLIF group of `n` cells over steps `t0..t0 + block`: `input_of` weights ×3
/// on the ports where `on(i, p, step)`, currents 40 pA lower; spikes appended with global steps.
fn advance_4_ports(
    g: &mut ModelGroup,
    n: usize,
    t0: usize,
    block: usize,
    on: impl Fn(usize, usize, usize) -> bool,
    spikes: &mut Vec<(u32, u32)>,
) {
    let mut syn = vec![0.0; block * 4 * n];
    let mut cur = vec![0.0; block * n];
    for s in 0..block {
        for i in 0..n {
            let (w, c) = input_of(i, t0 + s, 4);
            for (p, x) in w.iter().enumerate() {
                syn[(s * 4 + p) * n + i] = if on(i, p, t0 + s) { *x * 3.0 } else { 0.0 };
            }
            cur[s * n + i] = c - 40.0;
        }
    }
    let mut out = Vec::new();
    let mut input = BlockInput {
        n_steps: block,
        syn: &mut syn,
        row: n,
        consume: false,
        current: Some(&cur),
    };
    g.advance(&mut input, &mut out);
    spikes.extend(out.into_iter().map(|(i, s)| (i, s + t0 as u32)));
}

/// BMTK cells use 2 of the 4 GLIF receptor ports. `use_ports` lets a chunk skip ports that never
/// receive weight; the skipped terms are exact zeros, so spikes and every recordable must stay
/// bit-identical — also when it is called mid-run and a port declared unused still carries
/// current from earlier input (that port must be kept).
#[test]
fn glif_psc_skipping_unused_ports_changes_no_bit() {
    let sets = glif_levels();
    let n = 300;
    // uniform chunks (two sets in runs) and a mixed tail (sets cycling)
    let set_of: Vec<u32> = (0..n)
        .map(|i| match i {
            0..=139 => 4,
            140..=259 => 1,
            _ => (i % 5) as u32,
        })
        .collect();
    // neuron i's ports: {0,1} (i % 3 == 0), {2,3} (1), none (2); port 3 of the {2,3}
    // neurons only receives input before step 1000
    let mask = |i: usize| -> u64 {
        match i % 3 {
            0 => 0b0011,
            1 => 0b1100,
            _ => 0,
        }
    };
    let steps = 3000;
    let simulate = |declare_at: Option<(usize, bool)>, p3_until: usize| {
        let mut g = ModelGroup::new(&sets, &set_of, 0.1).unwrap();
        let mut spikes = Vec::new();
        let block = 50;
        for b in 0..steps / block {
            let t0 = b * block;
            if let Some((at, late)) = declare_at {
                if at == t0 {
                    let used: Vec<u64> = (0..n)
                        .map(|i| if late { mask(i) & !0b1000 } else { mask(i) })
                        .collect();
                    g.use_ports(&used);
                }
            }
            let on =
                |i: usize, p: usize, t: usize| (mask(i) >> p) & 1 == 1 && (p != 3 || t < p3_until);
            advance_4_ports(&mut g, n, t0, block, on, &mut spikes);
        }
        let states: Vec<u64> = (0..n)
            .flat_map(|i| {
                let g = &g;
                g.kind()
                    .recordables()
                    .iter()
                    .map(move |v| g.sample(v, i).unwrap().to_bits())
            })
            .collect();
        (spikes, states)
    };
    let (spikes, states) = simulate(None, 1000);
    assert!(spikes.len() > 300, "too few spikes: {}", spikes.len());
    // port 3's input before step 1000 still shows at the end (so dropping its state would)
    let (_, st_no3) = simulate(None, 0);
    assert_ne!(states, st_no3, "port 3 input leaves no trace: not a test");
    for (label, at) in [
        ("declared before the first step", Some((0, false))),
        (
            "declared at step 1500, port 3 still busy",
            Some((1500, true)),
        ),
    ] {
        let (s2, st2) = simulate(at, 1000);
        assert_eq!(spikes, s2, "{label}: spikes differ");
        assert_eq!(states, st2, "{label}: states differ");
    }
}

/// `record`: without `ASCurrents_sum` and `I_syn` among the sampled variables the GLIF step may
/// stop tracking those two sums; every spike and every other recordable stays bit-identical,
/// and declaring them keeps them exact.
#[test]
fn glif_psc_untracked_sums_change_no_spike_and_no_other_state() {
    let sets = glif_levels();
    let n = 300;
    let set_of: Vec<u32> = (0..n)
        .map(|i| {
            if i < 260 {
                (i / 52) as u32
            } else {
                (i % 5) as u32
            }
        })
        .collect();
    let all = [
        "V_m",
        "threshold",
        "threshold_spike",
        "threshold_voltage",
        "I",
        "ASCurrents_sum",
        "I_syn",
    ];
    let simulate = |vars: Option<&[&str]>| {
        let mut g = ModelGroup::new(&sets, &set_of, 0.1).unwrap();
        if let Some(v) = vars {
            g.record(v);
        }
        let (mut spikes, mut states) = (Vec::new(), Vec::new());
        for b in 0..40 {
            let block = 50;
            advance_4_ports(&mut g, n, b * block, block, |_, _, _| true, &mut spikes);
            for i in 0..n {
                states.push(all.map(|v| g.sample(v, i).unwrap().to_bits()));
            }
        }
        (spikes, states)
    };
    let (spikes, states) = simulate(None);
    assert!(spikes.len() > 300, "too few spikes: {}", spikes.len());
    let (s2, st2) = simulate(Some(&["V_m", "threshold"]));
    assert_eq!(spikes, s2, "spikes differ without the sums");
    let strip = |st: &[[u64; 7]]| st.iter().map(|x| x[..5].to_vec()).collect::<Vec<_>>();
    assert_eq!(
        strip(&states),
        strip(&st2),
        "a recordable differs without the sums"
    );
    let (s3, st3) = simulate(Some(&["I_syn"]));
    assert_eq!((spikes, states), (s3, st3), "declared sums differ");
}

/// `BlockInput.consume`: the group zeroes every input entry (the engine then skips its
/// clearing pass) and computes exactly what it computes without it. Mixed node types make
/// kernel chunks end off the 8-lane grid, where zeroing a whole vector would wipe the next
/// chunk's input; padded rows check the lanes past the group.
#[test]
fn consuming_advance_zeroes_the_input_and_changes_no_bit() {
    let glif = glif_levels();
    let five_ports = ModelParams::from_nest_json(
        "glif_psc",
        &json!({"V_m": -78.85, "tau_syn": [5.5, 8.5, 2.8, 5.8, 3.0]}),
    )
    .unwrap();
    let kind = |model: &str, j: serde_json::Value| ModelParams::from_nest_json(model, &j).unwrap();
    let cases: Vec<(&str, Vec<ModelParams>)> = vec![
        ("glif_psc levels 1-5", glif),
        ("glif_psc 5 ports (multi-pass)", vec![five_ports]),
        (
            "iaf_psc_alpha",
            vec![
                kind("iaf_psc_alpha", json!({"I_e": 300.0})),
                kind("iaf_psc_alpha", json!({"I_e": 350.0, "tau_syn_ex": 3.0})),
            ],
        ),
        (
            "iaf_psc_exp",
            vec![kind("iaf_psc_exp", json!({"I_e": 300.0}))],
        ),
        (
            "iaf_psc_delta",
            vec![kind("iaf_psc_delta", json!({"I_e": 300.0}))],
        ),
        (
            "glif_cond",
            vec![kind(
                "glif_cond",
                json!({"V_m": -78.85, "tau_syn": [2.0, 5.0], "E_rev": [0.0, -80.0]}),
            )],
        ),
    ];
    let (n, steps, block) = (203, 600, 64);
    for (label, sets) in cases {
        let np = sets[0].n_ports();
        // runs of 37 neurons per set: kernel chunks end at 37, 74, ... (off the 8-lane grid)
        let set_of: Vec<u32> = (0..n).map(|i| ((i / 37) % sets.len()) as u32).collect();
        let row = n + 13;
        let mut groups = [
            ModelGroup::new(&sets, &set_of, 0.1).unwrap(),
            ModelGroup::new(&sets, &set_of, 0.1).unwrap(),
        ];
        let mut spikes = [Vec::new(), Vec::new()];
        let mut done = 0;
        while done < steps {
            let len = block.min(steps - done);
            let mut syn = vec![0.0; len * np * row];
            let mut cur = vec![0.0; len * n];
            for s in 0..len {
                for i in 0..n {
                    let (w, c) = input_of(i, done + s, np);
                    for p in 0..np {
                        syn[(s * np + p) * row + i] = w[p] * 3.0;
                    }
                    cur[s * n + i] = c;
                }
            }
            let given = syn.clone();
            for (k, g) in groups.iter_mut().enumerate() {
                let mut buf = given.clone();
                let mut out = Vec::new();
                g.advance(
                    &mut BlockInput {
                        n_steps: len,
                        syn: &mut buf,
                        row,
                        consume: k == 1,
                        current: Some(&cur),
                    },
                    &mut out,
                );
                if k == 1 {
                    let left = buf.iter().position(|&x| x != 0.0);
                    assert_eq!(left, None, "{label}: consume left input at {left:?}");
                } else {
                    assert!(
                        buf == given,
                        "{label}: advance changed its input without consume"
                    );
                }
                spikes[k].extend(out.into_iter().map(|(i, s)| (i, s + done as u32)));
            }
            done += len;
        }
        assert!(
            spikes[0].len() > 20,
            "{label}: too few spikes ({})",
            spikes[0].len()
        );
        assert!(
            spikes[0] == spikes[1],
            "{label}: spikes differ ({} vs {})",
            spikes[0].len(),
            spikes[1].len()
        );
        for i in 0..n {
            for v in groups[0].kind().recordables() {
                let (a, b) = (groups[0].sample(v, i), groups[1].sample(v, i));
                assert_eq!(
                    a.map(f64::to_bits),
                    b.map(f64::to_bits),
                    "{label}: {v} of neuron {i} differs"
                );
            }
        }
    }
}
