//! NEST 3.10 `glif_psc_double_alpha` (glif.md §12): every run of
//! `$GLIFNET_SHARED/reference/glif/nest_glif_psc_double_alpha.json` through the single-neuron
//! driver, parameter validation, many ports, and the group semantics (mixed sets, blocks,
//! unused ports, consumed input, saved states).

mod common;
mod engine_support;

use glifnet::models::drive::{simulate, Drive, SpikeTrain, StepCurrent};
use glifnet::models::{BlockInput, ModelError, ModelGroup, ModelKind, ModelParams};
use serde_json::{json, Value};

const MODEL: &str = "glif_psc_double_alpha";

fn load(name: &str) -> Value {
    let p = common::shared_dir().join("reference/glif").join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The drive of one reference run (glif.md §12.5): one spike generator per entry of the
/// stimulus (connection weight = the run's `generator_weights_pA`), or the step current.
fn drive_of(r: &Value, run: &Value) -> Drive {
    let h = run["resolution_ms"].as_f64().unwrap();
    let t_sim_ms = run["sim_time_ms"].as_f64().unwrap();
    let st = &r["stimuli"][run["stimulus"].as_str().unwrap()];
    if run["stimulus"] == "step" {
        let times = floats(&st["amplitude_times_ms"]);
        let amps = floats(&run["step_amplitudes_pA"]);
        assert_eq!(times.len(), amps.len());
        return Drive {
            dt_ms: h,
            t_sim_ms,
            spikes: vec![],
            currents: vec![StepCurrent {
                times_ms: times,
                amps_pa: amps,
                start_ms: 0.0,
                stop_ms: None,
                weight: st["connection_weight"].as_f64().unwrap(),
                delay_ms: run["step_delay_ms"].as_f64().unwrap(),
            }],
        };
    }
    let gens = st["generators"].as_array().unwrap();
    let weights = floats(&run["generator_weights_pA"]);
    assert_eq!(gens.len(), weights.len(), "{}", run["id"]);
    Drive {
        dt_ms: h,
        t_sim_ms,
        spikes: gens
            .iter()
            .zip(&weights)
            .map(|(g, &w)| SpikeTrain {
                times_ms: floats(&g["times_ms"]),
                weights: vec![w],
                receptor: g["port"].as_i64().unwrap(),
                delay_ms: g["delay_ms"].as_f64().unwrap(),
            })
            .collect(),
        currents: vec![],
    }
}

/// Largest deviations over all runs, per variable: (absolute, relative to max(1, |want|)).
#[derive(Default, Debug)]
struct Dev {
    abs: f64,
    rel: f64,
    samples: usize,
}

/// glif.md §12.5: all 96 runs, spike stamps identical to the step and every dense and sparse
/// sample of V_m, I_syn, ASCurrents_sum and threshold within 1e-9 (relative to the value, or
/// absolute where |value| < 1: currents pass through 0).
#[test]
fn nest_reference_all_96_runs() {
    let r = load("nest_glif_psc_double_alpha.json");
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 96);
    assert_eq!(r["n_runs"], 96);
    let mut devs: std::collections::BTreeMap<String, Dev> = Default::default();
    let mut n_spikes = 0;
    let mut failures = Vec::new();
    for run in runs {
        let id = run["id"].as_str().unwrap();
        let p = ModelParams::from_nest_json(MODEL, &run["nest_params"])
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(p.kind(), ModelKind::GlifPscDoubleAlpha);
        assert_eq!(p.n_ports() as u64, run["n_ports"].as_u64().unwrap(), "{id}");
        let h = run["resolution_ms"].as_f64().unwrap();
        let vars: Vec<&str> = run["recorded"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let n_dense = run["dense"]["n"].as_u64().unwrap() as usize;
        let sparse_t = floats(&run["sparse"]["t_ms"]);
        let mut times: Vec<f64> = (0..n_dense).map(|j| (j + 1) as f64 * h).collect();
        times.extend(&sparse_t);
        let out =
            simulate(&p, &drive_of(&r, run), &vars, &times).unwrap_or_else(|e| panic!("{id}: {e}"));
        // spikes: the same steps
        let want = floats(&run["spikes_ms"]);
        let want_steps: Vec<u64> = want.iter().map(|t| (t / h).round() as u64 - 1).collect();
        if out.spike_steps != want_steps {
            failures.push(format!(
                "{id}: spikes\n got {:?}\nwant {:?}",
                out.spikes_ms, want
            ));
            continue;
        }
        for (g, w) in out.spikes_ms.iter().zip(&want) {
            assert!((g - w).abs() < 1e-9, "{id}: spike stamp {g} vs {w}");
        }
        n_spikes += want.len();
        for (v, name) in vars.iter().enumerate() {
            let mut wanted = floats(&run["dense"][*name]);
            assert_eq!(wanted.len(), n_dense, "{id} {name}");
            wanted.extend(floats(&run["sparse"][*name]));
            let d = devs.entry(name.to_string()).or_default();
            for (j, &w) in wanted.iter().enumerate() {
                let g = out.samples[j][v];
                let abs = (g - w).abs();
                let rel = abs / w.abs().max(1.0);
                d.abs = d.abs.max(abs);
                d.rel = d.rel.max(rel);
                d.samples += 1;
                if rel.is_nan() || rel > 1e-9 {
                    failures.push(format!(
                        "{id} {name} at t = {} ms: got {g}, want {w}",
                        times[j]
                    ));
                }
            }
        }
    }
    eprintln!("double alpha reference: 96 runs, {n_spikes} spikes; deviations {devs:?}");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
    assert!(n_spikes > 1000, "too few spikes to be a test: {n_spikes}");
}

// ---------------------------------------------------------------------------------------------
// Parameters

fn params(j: Value) -> Result<ModelParams, ModelError> {
    ModelParams::from_nest_json(MODEL, &j)
}

fn obj(key: &str, v: Value) -> Value {
    let mut m = serde_json::Map::new();
    m.insert(key.to_string(), v);
    Value::Object(m)
}

fn err_text(j: Value) -> String {
    match params(j.clone()) {
        Ok(_) => panic!("{j} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults_names_and_ports() {
    for name in [
        MODEL,
        "nest:glif_psc_double_alpha",
        " nest:glif_psc_double_alpha ",
    ] {
        assert_eq!(
            ModelKind::from_name(name).unwrap(),
            ModelKind::GlifPscDoubleAlpha
        );
    }
    assert!(ModelKind::ALL.contains(&ModelKind::GlifPscDoubleAlpha));
    assert_eq!(ModelKind::GlifPscDoubleAlpha.name(), MODEL);
    assert_eq!(
        ModelKind::GlifPscDoubleAlpha.recordables(),
        ModelKind::GlifPsc.recordables()
    );
    let ModelParams::GlifPscDoubleAlpha(p) = params(json!({})).unwrap() else {
        panic!("wrong kind")
    };
    // glif.md §12.1 defaults; everything else is glif_psc's (§3.1)
    assert_eq!(
        (p.tau_syn_fast, p.tau_syn_slow, p.amp_slow),
        (vec![2.0], vec![6.0], vec![0.3])
    );
    let ModelParams::GlifPsc(q) = ModelParams::from_nest_json("glif_psc", &json!({})).unwrap()
    else {
        panic!("wrong kind")
    };
    assert_eq!(p.glif.tau_syn, Vec::<f64>::new());
    assert_eq!(
        p.glif,
        glifnet::models::GlifPscParams {
            tau_syn: vec![],
            ..q
        }
    );
    let p = params(
        json!({"tau_syn_fast": [1.0, 2.0, 3.0], "tau_syn_slow": [4.0, 5.0, 6.0],
                          "amp_slow": [0.1, 0.2, 0.3]}),
    )
    .unwrap();
    assert_eq!(p.n_ports(), 3);
    for rt in 1..=3 {
        assert_eq!(p.port_for(rt, 5.0).unwrap(), rt as usize - 1);
        assert_eq!(p.port_for(rt, -5.0).unwrap(), rt as usize - 1);
    }
    for rt in [0, 4, -1] {
        let e = p.port_for(rt, 1.0).unwrap_err().to_string();
        assert!(e.contains("1..=3") && e.contains("tau_syn_fast"), "{e}");
    }
}

#[test]
fn invalid_parameters_are_rejected_with_their_rule() {
    // arrays of unequal length: an error naming the arrays and their lengths
    let e = err_text(
        json!({"tau_syn_fast": [1.0, 2.0], "tau_syn_slow": [4.0], "amp_slow": [0.1, 0.2]}),
    );
    for s in ["tau_syn_fast has 2", "tau_syn_slow 1", "amp_slow 2"] {
        assert!(e.contains(s), "{e}");
    }
    let e = err_text(json!({"tau_syn_fast": [1.0, 2.0], "tau_syn_slow": [4.0, 5.0]}));
    assert!(e.contains("`amp_slow`") && e.contains("amp_slow 1"), "{e}");
    let e = err_text(
        json!({"tau_syn_fast": [1.0], "tau_syn_slow": [4.0, 5.0, 6.0], "amp_slow": [0.5]}),
    );
    assert!(e.contains("tau_syn_slow 3"), "{e}");
    // amp_slow = 0 is rejected as NEST 3.10 does (§12.1), negative too
    for a in [0.0, -0.5] {
        let e = err_text(json!({"amp_slow": [a]}));
        assert!(e.contains("`amp_slow`") && e.contains("> 0"), "{e}");
    }
    let e = err_text(
        json!({"tau_syn_fast": [1.0, 2.0], "tau_syn_slow": [4.0, 5.0], "amp_slow": [0.5, 0.0]}),
    );
    assert!(e.contains("`amp_slow` = 0"), "{e}");
    // time constants ≤ 0 (or not finite)
    for (key, v) in [
        ("tau_syn_fast", 0.0),
        ("tau_syn_fast", -1.0),
        ("tau_syn_slow", 0.0),
        ("tau_syn_slow", -2.0),
    ] {
        let e = err_text(obj(key, json!([v])));
        assert!(e.contains(&format!("`{key}`")) && e.contains("> 0"), "{e}");
    }
    let e = err_text(json!({"tau_syn_fast": [], "tau_syn_slow": [], "amp_slow": []}));
    assert!(e.contains("at least one entry"), "{e}");
    // glif_psc's tau_syn and the documented-but-absent E_rev are unknown keys (§12.1)
    for key in ["tau_syn", "E_rev", "bogus"] {
        let e = err_text(obj(key, json!([2.0])));
        assert!(e.contains("unknown parameter") && e.contains(key), "{e}");
    }
    // wrong types, and glif_psc's own checks still apply
    assert!(err_text(json!({"amp_slow": 0.3})).contains("array"));
    assert!(err_text(json!({"C_m": 0.0})).contains("C_m"));
    assert!(err_text(json!({"V_reset": -40.0})).contains("V_reset"));
    assert!(err_text(
        json!({"spike_dependent_threshold": false, "after_spike_currents": false,
                            "adapting_threshold": true})
    )
    .contains("GLIF"));
    // "fast" and "slow" are only names: τ_f > τ_s and τ_f = τ_s are accepted
    params(json!({"tau_syn_fast": [5.0, 2.0], "tau_syn_slow": [1.0, 2.0], "amp_slow": [1.0, 2.0]}))
        .unwrap();
}

fn glif5(ports: usize) -> Value {
    let tf: Vec<f64> = (0..ports).map(|p| 0.5 + 0.37 * p as f64).collect();
    let ts: Vec<f64> = (0..ports).map(|p| 3.0 + 1.9 * p as f64).collect();
    let a: Vec<f64> = (0..ports).map(|p| 0.1 + 0.13 * p as f64).collect();
    json!({"V_m": -78.85, "spike_dependent_threshold": true, "after_spike_currents": true,
           "adapting_threshold": true, "tau_syn_fast": tf, "tau_syn_slow": ts, "amp_slow": a})
}

/// 16+ ports: receptor k of a 20-port cell behaves bit for bit like the single port of a
/// 1-port cell with port k's time constants (the other ports add exact zeros).
#[test]
fn twenty_ports_each_port_equals_a_one_port_cell() {
    let np = 20;
    let j = glif5(np);
    let many = params(j.clone()).unwrap();
    assert_eq!(many.n_ports(), np);
    assert!(many.port_for(20, 1.0).is_ok() && many.port_for(21, 1.0).is_err());
    let times: Vec<f64> = (0..400).map(|k| 2.0 + 2.5 * k as f64).collect();
    let vars = ["V_m", "threshold", "I_syn", "ASCurrents_sum"];
    let samples: Vec<f64> = (1..=100).map(|k| 10.0 * k as f64).collect();
    let mut total = 0;
    for port in [1usize, 7, 16, 17, 20] {
        let mut one = j.clone();
        for key in ["tau_syn_fast", "tau_syn_slow", "amp_slow"] {
            one[key] = json!([j[key][port - 1]]);
        }
        let one = params(one).unwrap();
        let drive = |receptor: i64| Drive {
            dt_ms: 0.1,
            t_sim_ms: 1000.0,
            spikes: vec![SpikeTrain {
                times_ms: times.clone(),
                weights: vec![200.0],
                receptor,
                delay_ms: 1.0,
            }],
            currents: vec![StepCurrent {
                times_ms: vec![0.0],
                amps_pa: vec![260.0],
                start_ms: 0.0,
                stop_ms: None,
                weight: 1.0,
                delay_ms: 0.1,
            }],
        };
        let a = simulate(&many, &drive(port as i64), &vars, &samples).unwrap();
        let b = simulate(&one, &drive(1), &vars, &samples).unwrap();
        assert!(a.spike_steps.len() > 5, "port {port}: too few spikes");
        assert_eq!(a.spike_steps, b.spike_steps, "port {port}");
        for (x, y) in a.samples.iter().zip(&b.samples) {
            for (u, v) in x.iter().zip(y) {
                assert_eq!(u.to_bits(), v.to_bits(), "port {port}: {x:?} vs {y:?}");
            }
        }
        total += a.spike_steps.len();
    }
    assert!(total > 50);
}

/// glif.md §12.3: with τ_f = τ_s = τ and a = 1 the model is glif_psc with tau_syn τ and the
/// weights doubled (up to rounding: the two equal pairs are summed instead of doubled).
#[test]
fn equal_time_constants_and_unit_amplitude_are_glif_psc_with_doubled_weights() {
    let taus = [0.7, 2.0, 6.2269353128]; // the last one near τ_m of the defaults
    let da = params(
        json!({"V_m": -78.85, "tau_syn_fast": taus, "tau_syn_slow": taus,
                           "amp_slow": [1.0, 1.0, 1.0], "spike_dependent_threshold": true,
                           "after_spike_currents": true}),
    )
    .unwrap();
    let psc = ModelParams::from_nest_json(
        "glif_psc",
        &json!({"V_m": -78.85, "tau_syn": taus, "spike_dependent_threshold": true,
                "after_spike_currents": true}),
    )
    .unwrap();
    let train = |k: usize, w: f64| SpikeTrain {
        times_ms: (0..300).map(|j| 1.0 + (j * (k + 2)) as f64 * 0.5).collect(),
        weights: vec![w],
        receptor: k as i64 + 1,
        delay_ms: 1.0,
    };
    let drive = |f: f64| Drive {
        dt_ms: 0.1,
        t_sim_ms: 600.0,
        spikes: (0..3)
            .map(|k| train(k, f * if k == 1 { -40.0 } else { 90.0 }))
            .collect(),
        currents: vec![],
    };
    let t: Vec<f64> = (1..=600).map(|k| k as f64).collect();
    let a = simulate(&da, &drive(1.0), &["V_m", "I_syn"], &t).unwrap();
    let b = simulate(&psc, &drive(2.0), &["V_m", "I_syn"], &t).unwrap();
    assert!(a.spike_steps.len() > 10);
    assert_eq!(a.spike_steps, b.spike_steps);
    for (x, y) in a.samples.iter().zip(&b.samples) {
        for (u, v) in x.iter().zip(y) {
            assert!((u - v).abs() <= 1e-9 * v.abs().max(1.0), "{x:?} vs {y:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Group semantics

/// Five levels with 5 ports each (time constants differ per set).
fn level_sets() -> Vec<ModelParams> {
    [
        (false, false, false),
        (true, false, false),
        (false, true, false),
        (true, true, false),
        (true, true, true),
    ]
    .iter()
    .enumerate()
    .map(|(k, &(r, a, v))| {
        let f = 1.0 + 0.1 * k as f64;
        params(
            json!({"V_m": -78.85, "tau_syn_fast": [0.8 * f, 2.0, 2.5 * f, 3.0, 1.1],
                      "tau_syn_slow": [4.0, 9.0 * f, 2.5 * f, 15.0, 0.9],
                      "amp_slow": [0.25, 0.6, 1.3, 0.1 * f, 2.0],
                      "spike_dependent_threshold": r, "after_spike_currents": a,
                      "adapting_threshold": v}),
        )
        .unwrap()
    })
    .collect()
}

/// Deterministic input of neuron `i` in step `s`: (per-port weights, current).
fn input_of(i: usize, s: usize, n_ports: usize) -> (Vec<f64>, f64) {
    let mut w = vec![0.0; n_ports];
    for (p, x) in w.iter_mut().enumerate() {
        if (s * 7 + i * 13 + p * 5).is_multiple_of(61) {
            *x = if p % 2 == 0 { 45.0 } else { -20.0 };
        }
    }
    (w, 200.0 + (i % 17) as f64 * 6.0)
}

/// Port `p` of neuron `i` receives input (`mask`) at step `s`.
type PortOn<'a> = &'a dyn Fn(usize, usize, usize) -> bool;

/// Advance `g` by `len` steps from `t0` with [`input_of`] on the ports `on` allows, `consume`
/// as given; spikes appended with absolute steps (sorted order checked).
fn advance(
    g: &mut ModelGroup,
    t0: usize,
    len: usize,
    on: PortOn,
    consume: bool,
    spikes: &mut Vec<(u32, u32)>,
) {
    let (n, np) = (g.len(), g.n_ports());
    let row = n + 5;
    let mut syn = vec![0.0; len * np * row];
    let mut cur = vec![0.0; len * n];
    for s in 0..len {
        for i in 0..n {
            let (w, c) = input_of(i, t0 + s, np);
            for p in 0..np {
                if on(i, p, t0 + s) {
                    syn[(s * np + p) * row + i] = w[p];
                }
            }
            cur[s * n + i] = c;
        }
    }
    let given = syn.clone();
    let mut out = Vec::new();
    g.advance(
        &mut BlockInput {
            n_steps: len,
            syn: &mut syn,
            row,
            consume,
            current: Some(&cur),
        },
        &mut out,
    );
    if consume {
        assert!(syn.iter().all(|&x| x == 0.0), "consume left input");
    } else {
        assert!(syn == given, "advance changed its input without consume");
    }
    for w in out.windows(2) {
        assert!(
            (w[0].1, w[0].0) < (w[1].1, w[1].0),
            "spikes not sorted: {w:?}"
        );
    }
    spikes.extend(out.into_iter().map(|(i, s)| (i, s + t0 as u32)));
}

fn all_bits(g: &ModelGroup) -> Vec<u64> {
    (0..g.len())
        .flat_map(|i| {
            g.kind()
                .recordables()
                .iter()
                .map(move |v| g.sample(v, i).unwrap().to_bits())
        })
        .collect()
}

/// A mixed population advanced in blocks (several chunks, block edges) gives each neuron
/// exactly the spikes and recordables of the neuron simulated alone.
#[test]
fn group_matches_single_neurons() {
    let sets = level_sets();
    let n = 150;
    let steps = 3000;
    for set_of in [
        (0..n).map(|i| (i % 5) as u32).collect::<Vec<u32>>(),
        (0..n).map(|i| (i / 30) as u32).collect(),
    ] {
        let mut g = ModelGroup::new(&sets, &set_of, 0.1).unwrap();
        assert_eq!(g.kind(), ModelKind::GlifPscDoubleAlpha);
        let mut pop = Vec::new();
        for b in 0..steps / 37 + 1 {
            let len = 37.min(steps - b * 37);
            advance(&mut g, b * 37, len, &|_, _, _| true, false, &mut pop);
        }
        assert!(pop.len() > 100, "too few spikes: {}", pop.len());
        for i in 0..n {
            let np = sets[0].n_ports();
            let mut alone =
                ModelGroup::new(&[sets[set_of[i] as usize].clone()], &[0], 0.1).unwrap();
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
                .filter(|x| x.0 as usize == i)
                .map(|x| x.1)
                .collect();
            let solo: Vec<u32> = out.iter().map(|x| x.1).collect();
            assert_eq!(mine, solo, "neuron {i}");
            for var in alone.kind().recordables() {
                let (a, b) = (g.sample(var, i).unwrap(), alone.sample(var, 0).unwrap());
                assert_eq!(a.to_bits(), b.to_bits(), "neuron {i} {var}: {a} vs {b}");
            }
        }
    }
}

/// `use_ports` (before the run, or mid-run with a dropped port still carrying current),
/// `consume` and `record` change no spike and no bit of any (declared) recordable.
#[test]
fn unused_ports_consumed_input_and_untracked_sums_change_no_bit() {
    let sets = level_sets();
    let n = 200;
    let set_of: Vec<u32> = (0..n)
        .map(|i| if i < 128 { 4 } else { (i % 5) as u32 })
        .collect();
    // neuron i's ports: {0, 1} (i % 3 == 0), {2, 4} (1), none (2); port 4 only before step 1000
    let mask = |i: usize| -> u64 {
        match i % 3 {
            0 => 0b00011,
            1 => 0b10100,
            _ => 0,
        }
    };
    let on = |i: usize, p: usize, t: usize| (mask(i) >> p) & 1 == 1 && (p != 4 || t < 1000);
    let steps = 2500;
    let sim = |declare_at: Option<usize>, consume: bool, vars: Option<&[&str]>| {
        let mut g = ModelGroup::new(&sets, &set_of, 0.1).unwrap();
        if let Some(v) = vars {
            g.record(v);
        }
        let mut spikes = Vec::new();
        for b in 0..steps / 50 {
            if declare_at == Some(b * 50) {
                let late = b > 0;
                let used: Vec<u64> = (0..n)
                    .map(|i| if late { mask(i) & !0b10000 } else { mask(i) })
                    .collect();
                g.use_ports(&used);
            }
            advance(&mut g, b * 50, 50, &on, consume, &mut spikes);
        }
        (spikes, all_bits(&g))
    };
    let (spikes, bits) = sim(None, false, None);
    assert!(spikes.len() > 200, "too few spikes: {}", spikes.len());
    assert_eq!(sim(Some(0), false, None), (spikes.clone(), bits.clone()));
    assert_eq!(sim(Some(1500), false, None), (spikes.clone(), bits.clone()));
    assert_eq!(sim(Some(0), true, None), (spikes.clone(), bits.clone()));
    assert_eq!(
        sim(None, true, Some(&["I_syn"])),
        (spikes.clone(), bits.clone())
    );
    // without the sums: the same spikes and the other five recordables
    let (s2, b2) = sim(Some(0), true, Some(&["V_m"]));
    assert_eq!(spikes, s2);
    let strip = |b: &[u64]| -> Vec<u64> {
        b.chunks(7)
            .flat_map(|x| [x[0], x[1], x[2], x[3], x[5]])
            .collect()
    };
    assert_eq!(
        ModelKind::GlifPscDoubleAlpha.recordables()[4],
        "ASCurrents_sum"
    );
    assert_eq!(strip(&bits), strip(&b2));
}

/// `save_state` / `load_state` move neurons between groups mid-run without changing any bit,
/// also into a group that declared the ports the saved states still use as unused.
#[test]
fn saved_states_continue_bit_for_bit() {
    let sets = level_sets();
    let n = 100;
    let set_of: Vec<u32> = (0..n).map(|i| (i % 5) as u32).collect();
    let mut a = ModelGroup::new(&sets, &set_of, 0.1).unwrap();
    let mut sa = Vec::new();
    for k in 0..20 {
        advance(&mut a, k * 50, 50, &|_, _, _| true, false, &mut sa);
    }
    assert!(sa.len() > 50);
    let mut b = ModelGroup::new(&sets, &set_of, 0.1).unwrap();
    // from now on only ports 0 and 1 receive input; 2..4 still carry current
    b.use_ports(&vec![0b11; n]);
    for i in 0..n {
        let s = a.save_state(i);
        assert_eq!(s.len(), 7 + 2 + 4 * 5);
        b.load_state(i, &s);
        assert_eq!(b.save_state(i), s);
    }
    let mut sb = sa.clone();
    for k in 20..40 {
        advance(&mut a, k * 50, 50, &|_, p, _| p < 2, false, &mut sa);
        advance(&mut b, k * 50, 50, &|_, p, _| p < 2, false, &mut sb);
    }
    assert_eq!(sa, sb);
    assert_eq!(all_bits(&a), all_bits(&b));
    for i in 0..n {
        assert_eq!(a.save_state(i), b.save_state(i), "neuron {i}");
    }
}

// ---------------------------------------------------------------------------------------------
// End to end

/// `glifnet run` on a generated SONATA network of `nest:glif_psc_double_alpha` cells (two kind
/// groups: 17 and 4 ports, three node types, NEST-format dynamics_params) driven by virtual
/// spike trains over edges with receptor_type 1..=n, several delays and signs: every cell fires
/// exactly as the single-neuron driver predicts from the same trains.
#[test]
fn glifnet_run_matches_the_single_neuron_driver() {
    use engine_support::*;
    let dt = 0.1;
    let tstop = 500.0;
    let mut glif1 = glif5(17);
    for k in [
        "spike_dependent_threshold",
        "after_spike_currents",
        "adapting_threshold",
    ] {
        glif1[k] = json!(false);
    }
    glif1["tau_syn_slow"] = json!((0..17).map(|p| 8.0 - 0.3 * p as f64).collect::<Vec<_>>());
    let glif3 = json!({"V_m": -70.0, "E_L": -70.0, "V_th": -50.0, "V_reset": -70.0, "g": 5.0,
                       "C_m": 60.0, "t_ref": 2.05, "asc_init": [0.0, 0.0], "asc_decay": [0.1, 0.3],
                       "asc_amps": [-10.0, -20.0], "tau_syn_fast": [0.8, 2.0, 2.5, 3.0],
                       "tau_syn_slow": [4.0, 9.0, 2.5, 15.0], "amp_slow": [0.25, 0.6, 1.3, 0.1],
                       "spike_dependent_threshold": false, "after_spike_currents": true,
                       "adapting_threshold": false});
    let types = [(10u64, glif5(17)), (11, glif1), (12, glif3)];
    let cells: Vec<u64> = vec![10, 11, 12, 10, 12, 11, 12];
    // virtual sources: deterministic trains on the 0.5 ms grid
    let n_src = 6usize;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut trains: Vec<Vec<f64>> = vec![Vec::new(); n_src];
    for (s, tr) in trains.iter_mut().enumerate() {
        for k in 1..(tstop as usize * 2 - 10) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            if rng % 100 < 8 + s as u64 {
                tr.push(k as f64 * 0.5);
            }
        }
    }
    // edges: every source to every cell, receptor, weight and delay varied
    let mut etypes = Vec::new();
    let mut edges = Vec::new();
    let mut per_cell: Vec<Vec<SpikeTrain>> = vec![Vec::new(); cells.len()];
    for (c, &t) in cells.iter().enumerate() {
        let np = if t == 12 { 4 } else { 17 };
        for (s, tr) in trains.iter().enumerate() {
            let receptor = 1 + ((s * 5 + c * 3) % np) as i64;
            let w = if s % 3 == 2 {
                -45.0
            } else {
                35.0 + 6.0 * s as f64
            };
            let delay = 1.0 + 0.1 * ((s + 2 * c) % 7) as f64;
            let id = 100 + etypes.len() as u64;
            etypes.push(EType::new(id, w, delay, Some(receptor)));
            edges.push((s as u64, c as u64, id, None));
            per_cell[c].push(SpikeTrain {
                times_ms: tr.clone(),
                weights: vec![w],
                receptor,
                delay_ms: delay,
            });
        }
    }
    // a second source on port 1 of cell 0 with the same trains: same-step arrivals add up
    let id = 100 + etypes.len() as u64;
    etypes.push(EType::new(id, 20.0, 1.0, Some(1)));
    edges.push((0, 0, id, None));
    per_cell[0].push(SpikeTrain {
        times_ms: trains[0].clone(),
        weights: vec![20.0],
        receptor: 1,
        delay_ms: 1.0,
    });
    let d = tempfile::tempdir().unwrap();
    let v1 = Pop {
        name: "v1",
        types: types
            .iter()
            .map(|(id, j)| (*id, "point_neuron", "nest:glif_psc_double_alpha", j.clone()))
            .collect(),
        nodes: cells.clone(),
    };
    let lgn = Pop {
        name: "lgn",
        types: vec![(1, "virtual", "", json!(null))],
        nodes: vec![1; n_src],
    };
    let (mut nodes, mut times) = (Vec::new(), Vec::new());
    for (s, tr) in trains.iter().enumerate() {
        nodes.extend(std::iter::repeat_n(s as u64, tr.len()));
        times.extend(tr);
    }
    write_input_spikes(&d.path().join("in.h5"), "lgn", nodes, times);
    let e = Edges {
        source: "lgn",
        target: "v1",
        types: etypes,
        edges,
        h5_delay: None,
    };
    let inputs = json!({"in": {"input_type": "spikes", "module": "sonata",
                               "input_file": "${configdir}/in.h5", "node_set": "lgn"}});
    let cfg_path = write_config(
        d.path(),
        &[v1, lgn],
        &[e],
        inputs,
        json!({"tstop": tstop, "dt": dt}),
    );
    // membrane reports of two cells (one per kind group): V_m and I_syn
    let mut cfg: Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    cfg["reports"] = json!({
        "vm": {"module": "membrane_report", "cells": {"population": "v1", "node_id": [0, 2]},
               "variable_name": "V_m", "file_name": "vm.h5"},
        "isyn": {"module": "membrane_report", "cells": {"population": "v1", "node_id": [0, 2]},
                 "variable_name": "I_syn", "file_name": "isyn.h5"}});
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    for threads in ["1", "2"] {
        let got = run_ok(d.path(), &["--threads", threads]);
        let mut total = 0;
        for (c, &t) in cells.iter().enumerate() {
            let json = &types.iter().find(|x| x.0 == t).unwrap().1;
            let p = params(json.clone()).unwrap();
            let drive = Drive {
                dt_ms: dt,
                t_sim_ms: tstop,
                spikes: per_cell[c].clone(),
                currents: vec![],
            };
            let want = simulate(&p, &drive, &[], &[]).unwrap().spikes_ms;
            let mine: Vec<f64> = got
                .iter()
                .filter(|x| x.0 == "v1" && x.1 == c as u64)
                .map(|x| x.2)
                .collect();
            assert!(want.len() > 3, "cell {c}: only {} spikes", want.len());
            assert_eq!(mine.len(), want.len(), "cell {c}: {mine:?}\nvs {want:?}");
            for (a, b) in mine.iter().zip(&want) {
                assert!((a - b).abs() < 1e-6, "cell {c}: {mine:?}\nvs {want:?}");
            }
            total += want.len();
        }
        assert_eq!(got.len(), total, "spikes of unknown nodes");
    }
    // the reports are the driver's samples after every step
    for (file, var, units) in [("vm.h5", "V_m", "mV"), ("isyn.h5", "I_syn", "pA")] {
        for c in [0usize, 2] {
            let tr = glifnet::sonata::report::read_trace(
                &d.path().join("output").join(file),
                Some("v1"),
                c as u64,
            )
            .unwrap();
            assert_eq!(tr.units.as_deref(), Some(units), "{file}");
            assert_eq!(tr.times.len(), 5000, "{file}: a sample after every step");
            let json = &types.iter().find(|x| x.0 == cells[c]).unwrap().1;
            let drive = Drive {
                dt_ms: dt,
                t_sim_ms: tstop,
                spikes: per_cell[c].clone(),
                currents: vec![],
            };
            let want = simulate(&params(json.clone()).unwrap(), &drive, &[var], &tr.times).unwrap();
            for (k, (g, w)) in tr.values.iter().zip(&want.samples).enumerate() {
                assert!(
                    (g - w[0]).abs() <= 1e-12 * w[0].abs().max(1.0),
                    "{file} cell {c} sample {k} at {} ms: {g} vs {}",
                    tr.times[k],
                    w[0]
                );
            }
        }
    }
}
