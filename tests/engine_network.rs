//! Engine behaviour on small networks the tests build themselves: delays, nsyns, receptor
//! ports, current clamps, Poisson input and virtual-spike timing (issue #5 acceptance).

mod common;
mod engine_support;

use engine_support::*;
use serde_json::json;

const DT: f64 = 0.1;

fn run_cfg(tstop: f64) -> serde_json::Value {
    json!({"tstop": tstop, "dt": DT})
}

fn lgn(n: usize) -> Pop {
    Pop {
        name: "lgn",
        types: vec![(1, "virtual", "", json!(null))],
        nodes: vec![1; n],
    }
}

fn spikes_input() -> serde_json::Value {
    json!({"in": {"input_type": "spikes", "module": "sonata",
                  "input_file": "${configdir}/in.h5", "node_set": "lgn"}})
}

/// One virtual source → one GLIF3 cell through `etype`; the source fires at `times`.
fn one_glif_cell(
    dir: &std::path::Path,
    etype: EType,
    nsyns: Option<u32>,
    tau_syn: &[f64],
    times: Vec<f64>,
) {
    let glif = json!({"V_m": -70.0, "E_L": -70.0, "V_th": -50.0, "V_reset": -70.0, "g": 5.0,
                      "C_m": 60.0, "t_ref": 2.0, "asc_init": [0.0, 0.0], "asc_decay": [0.1, 0.3],
                      "asc_amps": [-10.0, -20.0], "tau_syn": tau_syn,
                      "spike_dependent_threshold": false, "after_spike_currents": true,
                      "adapting_threshold": false});
    let v1 = Pop {
        name: "v1",
        types: vec![(10, "point_neuron", "nest:glif_psc", glif)],
        nodes: vec![10],
    };
    let n = times.len();
    write_input_spikes(&dir.join("in.h5"), "lgn", vec![0; n], times);
    let e = Edges {
        source: "lgn",
        target: "v1",
        types: vec![etype],
        edges: vec![(0, 0, 1, nsyns)],
        h5_delay: None,
    };
    write_config(dir, &[v1, lgn(1)], &[e], spikes_input(), run_cfg(200.0));
}

fn times_of(v: &[(String, u64, f64)]) -> Vec<f64> {
    v.iter().map(|x| x.2).collect()
}

#[test]
fn delay_of_d_steps_shifts_the_response_by_d_steps() {
    let mut firsts = Vec::new();
    for delay in [1.0, 2.5, 7.3] {
        let d = tempfile::tempdir().unwrap();
        one_glif_cell(
            d.path(),
            EType::new(1, 900.0, delay, Some(1)),
            None,
            &[2.0],
            vec![10.0, 10.1, 10.2],
        );
        let s = times_of(&run_ok(d.path(), &[]));
        assert!(!s.is_empty(), "the cell must fire");
        firsts.push(s);
    }
    // every spike shifts by exactly the delay difference (in whole steps)
    for (k, delay) in [(1, 2.5f64), (2, 7.3)] {
        let shift = ((delay - 1.0) / DT).round() as i64;
        assert_eq!(firsts[k].len(), firsts[0].len());
        for (a, b) in firsts[0].iter().zip(&firsts[k]) {
            assert_eq!(
                ((b - a) / DT).round() as i64,
                shift,
                "delay {delay}: {a} -> {b}"
            );
        }
    }
}

#[test]
fn nsyns_multiplies_the_weight() {
    let run = |w: f64, nsyns: Option<u32>| {
        let d = tempfile::tempdir().unwrap();
        one_glif_cell(
            d.path(),
            EType::new(1, w, 1.0, Some(1)),
            nsyns,
            &[2.0],
            vec![10.0, 30.0, 50.0, 50.5],
        );
        times_of(&run_ok(d.path(), &[]))
    };
    let three_times = run(300.0, Some(3));
    assert_eq!(three_times, run(900.0, None));
    assert!(!three_times.is_empty());
    assert_ne!(three_times, run(300.0, Some(1)));
}

#[test]
fn receptor_port_selects_its_tau_syn() {
    let run = |receptor: i64, tau: &[f64]| {
        let d = tempfile::tempdir().unwrap();
        one_glif_cell(
            d.path(),
            EType::new(1, 700.0, 1.0, Some(receptor)),
            None,
            tau,
            vec![10.0, 60.0, 61.0],
        );
        times_of(&run_ok(d.path(), &[]))
    };
    // port 2 of [2, 8] must behave as the single port of [8], port 1 as the single port of [2]
    let slow = run(2, &[2.0, 8.0]);
    let fast = run(1, &[2.0, 8.0]);
    assert!(!slow.is_empty() && !fast.is_empty());
    assert_eq!(slow, run(1, &[8.0]));
    assert_eq!(fast, run(1, &[2.0]));
    assert_ne!(slow, fast);
}

#[test]
fn current_clamp_matches_the_analytic_lif_response() {
    // iaf_psc_delta, I = 400 pA, R = tau_m/C_m = 10/250 GΩ → I·R = 16 mV above E_L; V_th 15 mV
    // above: continuous crossing time t* = -tau ln(1 - 15/16) = 27.7259 ms after the current
    // reaches the membrane. NEST: a clamp switched on at T (delay dt) acts from T + dt, so the
    // first spike is stamped at T + dt + ceil(t*/dt)·dt; after the reset the cell repeats with
    // period t_ref + ceil(t*/dt)·dt until the current ends at T + duration (+ dt).
    let d = tempfile::tempdir().unwrap();
    let mut cell = delta_cell(2.0);
    cell["V_th"] = json!(-55.0);
    let v1 = Pop {
        name: "v1",
        types: vec![(10, "point_neuron", "nest:iaf_psc_delta", cell)],
        nodes: vec![10, 10],
    };
    let inputs = json!({"clamp": {"input_type": "current_clamp", "module": "IClamp",
                                   "node_set": {"population": "v1", "node_id": [1]},
                                   "amp": 400.0, "delay": 50.0, "duration": 100.0}});
    write_config(d.path(), &[v1], &[], inputs, run_cfg(300.0));
    let s = run_ok(d.path(), &[]);
    assert!(s.iter().all(|x| x.1 == 1), "only the clamped cell fires");
    let tau = 10.0;
    let t_star: f64 = -tau * (1.0f64 - 15.0 / 16.0).ln();
    let k = (t_star / DT).ceil();
    let first = 50.0 + DT + k * DT;
    let period = 2.0 + k * DT;
    let expected: Vec<f64> = (0..)
        .map(|j| first + j as f64 * period)
        .take_while(|&t| t <= 150.0 + DT + 1e-9)
        .collect();
    let got = times_of(&s);
    assert_eq!(got.len(), expected.len(), "{got:?} vs {expected:?}");
    for (g, e) in got.iter().zip(&expected) {
        assert!((g - e).abs() < 1e-6, "{got:?} vs {expected:?}");
    }
}

#[test]
fn poisson_rate_within_bounds_and_thread_invariant() {
    let d = tempfile::tempdir().unwrap();
    let v1 = Pop {
        name: "v1",
        types: vec![(10, "point_neuron", "nest:iaf_psc_delta", delta_cell(0.1))],
        nodes: vec![10; 100],
    };
    let inputs = json!({"bg": {"input_type": "poisson", "module": "poisson", "node_set": "v1",
                                "rate": 20.0, "start": 0.0, "stop": 5000.0, "seed": 42,
                                "weight": 50.0}});
    write_config(d.path(), &[v1], &[], inputs, run_cfg(5000.0));
    let mut csvs = Vec::new();
    let mut n = 0;
    for th in ["1", "2", "4"] {
        let s = run_ok(d.path(), &["--threads", th]);
        n = s.len();
        csvs.push(std::fs::read(d.path().join("output/spikes.csv")).unwrap());
    }
    // each input spike fires its cell (50 mV jump, 1-step refractoriness): 100 × 5 s × 20 Hz
    // = 10000 expected, sd 100; allow 5 sd
    assert!((n as f64 - 10_000.0).abs() < 500.0, "{n} spikes");
    assert_eq!(csvs[0], csvs[1]);
    assert_eq!(csvs[0], csvs[2]);
}

#[test]
fn virtual_spike_acts_from_the_next_grid_time_plus_delay() {
    // iaf_psc_delta jumps in the step the weight is delivered and fires in it, so its spike
    // stamp is exactly ceil(t/dt)·dt + delay (precise_times semantics, sonata-bmtk.md §6.1)
    let d = tempfile::tempdir().unwrap();
    let v1 = Pop {
        name: "v1",
        types: vec![(10, "point_neuron", "nest:iaf_psc_delta", delta_cell(0.1))],
        nodes: vec![10],
    };
    let times = vec![1.1, 5.23, 9.2999, 20.0, 33.301];
    write_input_spikes(
        &d.path().join("in.h5"),
        "lgn",
        vec![0; times.len()],
        times.clone(),
    );
    let e = Edges {
        source: "lgn",
        target: "v1",
        types: vec![EType::new(1, 30.0, 1.5, None)],
        edges: vec![(0, 0, 1, None)],
        h5_delay: None,
    };
    write_config(d.path(), &[v1, lgn(1)], &[e], spikes_input(), run_cfg(50.0));
    let got = times_of(&run_ok(d.path(), &[]));
    let expected = [1.1 + 1.5, 5.3 + 1.5, 9.3 + 1.5, 20.0 + 1.5, 33.4 + 1.5];
    assert_eq!(got.len(), expected.len(), "{got:?}");
    for (g, e) in got.iter().zip(expected) {
        assert!((g - e).abs() < 1e-9, "{got:?}");
    }
}

#[test]
fn membrane_report_follows_the_clamped_lif_trajectory() {
    // as in the clamp test: V after the j-th step with current = E_L + I·R·(1 − e^{−j·dt/τ})
    let d = tempfile::tempdir().unwrap();
    let v1 = Pop {
        name: "v1",
        types: vec![(10, "point_neuron", "nest:iaf_psc_delta", delta_cell(2.0))],
        nodes: vec![10, 10],
    };
    let inputs = json!({"clamp": {"input_type": "current_clamp", "module": "IClamp",
                                   "node_set": "v1", "amp": 300.0, "delay": 5.0, "duration": 10.0}});
    let p = write_config(d.path(), &[v1], &[], inputs, run_cfg(20.0));
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    cfg["reports"] = json!({"vm": {"module": "membrane_report", "cells": {"population": "v1", "node_id": [1]},
                                   "variable_name": "V_m", "file_name": "vm.h5"}});
    std::fs::write(&p, cfg.to_string()).unwrap();
    run_ok(d.path(), &[]);
    let rep = glifnet::sonata::report::read_report(&d.path().join("output/vm.h5")).unwrap();
    let tr =
        glifnet::sonata::report::read_trace(&d.path().join("output/vm.h5"), Some("v1"), 1).unwrap();
    let (t, v) = (tr.times, tr.values);
    assert_eq!(rep[0].n_steps, 200, "a sample after every step of 20 ms");
    assert!((t[0] - DT).abs() < 1e-12, "first sample at t = dt");
    // I·R = 300 pA · 10 ms / 250 pF = 12 mV (sub-threshold): current acts from 5.1 ms on
    for (k, (&tk, &vk)) in t.iter().zip(&v).enumerate() {
        let j = ((tk - 5.1) / DT).round().clamp(0.0, 100.0);
        let mut expected = -70.0 + 12.0 * (1.0 - (-j * DT / 10.0f64).exp());
        if tk > 15.1 + 1e-9 {
            let v_end = -70.0 + 12.0 * (1.0 - (-10.0 / 10.0f64).exp());
            expected = -70.0 + (v_end + 70.0) * (-(tk - 15.1) / 10.0f64).exp();
        }
        assert!(
            (vk - expected).abs() < 1e-9,
            "sample {k} at {tk} ms: {vk} vs {expected}"
        );
    }
}

#[test]
fn allen_neuron_configs_are_converted_like_bmtk() {
    // nest:glif_lif*_psc + an Allen neuron_config ("type": "GLIF") must run exactly like
    // nest:glif_psc with BMTK's converted parameters (sonata-bmtk.md §5.4)
    let shared = common::shared_dir().join("data/bmtk/allensdk_glif_neuron_configs");
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared.join("expected_nest_glif_psc_params_637930677.json"))
            .unwrap(),
    )
    .unwrap();
    let times: Vec<f64> = (0..40).map(|k| 5.0 + 2.5 * k as f64).collect();
    let run = |tpl: &'static str, params: serde_json::Value| {
        let d = tempfile::tempdir().unwrap();
        let v1 = Pop {
            name: "v1",
            types: vec![(10, "point_neuron", tpl, params)],
            nodes: vec![10],
        };
        write_input_spikes(
            &d.path().join("in.h5"),
            "lgn",
            vec![0; times.len()],
            times.clone(),
        );
        let e = Edges {
            source: "lgn",
            target: "v1",
            types: vec![EType::new(1, 250.0, 1.0, Some(1))],
            edges: vec![(0, 0, 1, None)],
            h5_delay: None,
        };
        write_config(
            d.path(),
            &[v1, lgn(1)],
            &[e],
            spikes_input(),
            run_cfg(120.0),
        );
        times_of(&run_ok(d.path(), &[]))
    };
    for (tpl, level) in [
        ("nest:glif_lif_psc", "lif"),
        ("nest:glif_lif_r_psc", "lif_r"),
        ("nest:glif_lif_asc_psc", "lif_asc"),
        ("nest:glif_lif_r_asc_psc", "lif_r_asc"),
        ("nest:glif_lif_r_asc_a_psc", "lif_r_asc_a"),
    ] {
        let allen: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(shared.join(format!("637930677_{level}.json"))).unwrap(),
        )
        .unwrap();
        let converted = run(tpl, allen);
        assert!(converted.len() >= 3, "{tpl}: {converted:?}");
        assert_eq!(
            converted,
            run("nest:glif_psc", expected[tpl].clone()),
            "{tpl}"
        );
    }
}

/// `output.compression` (BMTK: gzip unless "none") decides whether the spike datasets are
/// gzip-compressed; the spikes are the same either way, and the CSV is written alongside.
#[test]
fn output_compression_none_writes_plain_spike_datasets() {
    let filters = |compression: Option<&str>| {
        let d = tempfile::tempdir().unwrap();
        one_glif_cell(
            d.path(),
            EType::new(1, 900.0, 1.0, Some(1)),
            None,
            &[2.0],
            vec![10.0, 30.0, 50.0, 50.5],
        );
        if let Some(c) = compression {
            let p = d.path().join("config.json");
            let mut cfg: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            cfg["output"]["compression"] = json!(c);
            std::fs::write(&p, cfg.to_string()).unwrap();
        }
        let spikes = run_ok(d.path(), &[]);
        assert!(d.path().join("output/spikes.csv").is_file(), "no CSV");
        let f = hdf5::File::open(d.path().join("output/spikes.h5")).unwrap();
        let ds = f.dataset("spikes/v1/timestamps").unwrap();
        (spikes, ds.filters().len())
    };
    let (gz, n_gz) = filters(None);
    let (plain, n_plain) = filters(Some("none"));
    assert!(!gz.is_empty());
    assert_eq!(gz, plain);
    assert_eq!(
        (n_gz, n_plain),
        (1, 0),
        "filters on timestamps (default gzip, then none)"
    );
}
