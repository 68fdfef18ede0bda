//! AllenSDK-semantics GLIF model on synthetic configs: Euler closed form, spike-cut layout,
//! the two spike-cut conventions, bad resets, and config validation messages.

use std::path::Path;

use glifnet::neuron::{AllenConfig, GlifNeuron, SpikeCut};
use serde_json::{json, Value};

/// A made-up GLIF1 (LIF) config: τ_m = R·C = 20 ms, th_inf 20 mV, cut 10 samples of 5e-5 s.
fn lif() -> Value {
    json!({
        "El": 0.0, "El_reference": -0.07, "dt": 5e-5, "R_input": 2e8, "C": 1e-10,
        "asc_tau_array": [0.01, 0.1], "asc_amp_array": [0.0, 0.0], "init_AScurrents": [0.0, 0.0],
        "spike_cut_length": 10, "th_inf": 0.02, "th_adapt": null, "coeffs": {"th_inf": 1.0},
        "init_voltage": 0.0, "init_threshold": 0.02,
        "voltage_dynamics_method": {"name": "linear_forward_euler", "params": {}},
        "threshold_dynamics_method": {"name": "inf", "params": {}},
        "AScurrent_dynamics_method": {"name": "none", "params": {}},
        "voltage_reset_method": {"name": "zero", "params": {}},
        "threshold_reset_method": {"name": "inf", "params": {}},
        "AScurrent_reset_method": {"name": "none", "params": {}}
    })
}

fn cfg(v: Value) -> Result<AllenConfig, String> {
    AllenConfig::from_value(Path::new("cell.json"), v).map_err(|e| e.to_string())
}

#[test]
fn lif_follows_the_forward_euler_closed_form() {
    let c = cfg(lif()).unwrap();
    let dt = 5e-6;
    let i = 1.5e-10; // 1.5 × rheobase (0.02 V / 2e8 Ω = 1e-10 A)
    let out = GlifNeuron::new(&c, dt, SpikeCut::Steps)
        .unwrap()
        .run(&vec![i; 20_000], true);
    // V_{k+1} = V_k + (I − G V_k) dt/C  ⇒  V after step k = (I/G)(1 − q^{k+1}), q = 1 − G dt/C.
    let (g, cap, th) = (1.0 / 2e8, 1e-10, 0.02);
    let q = 1.0 - g * dt / cap;
    let v_after = |k: usize| (i / g) * (1.0 - q.powi(k as i32 + 1));
    let k0 = (0..).find(|&k| v_after(k) > th).unwrap();
    assert_eq!(out.spike_steps[0], k0);
    // Interpolated time: the line crossing inside step k0.
    let (v0, v1) = (v_after(k0 - 1), v_after(k0));
    let x = dt * (th - v0) / (v1 - v0);
    assert!((out.interpolated_spike_times[0] - (k0 as f64 * dt + x)).abs() < 1e-12);
    // The cut: samples k0 … k0+9 NaN, k0+10 the reset (0), then V restarts from 0, so the ISI is
    // the first spike's step + cut + 1.
    assert!(out.voltage[k0 - 1].is_finite());
    assert!(out.voltage[k0..k0 + 10].iter().all(|v| v.is_nan()));
    assert_eq!(out.voltage[k0 + 10], 0.0);
    assert_eq!(out.spike_steps[1] - out.spike_steps[0], k0 + 11);
    let n_spikes = out.spike_steps.len();
    assert_eq!(
        out.voltage.iter().filter(|v| v.is_nan()).count(),
        10 * n_spikes
    );
    assert!((out.voltage[k0 + 11] - v_after(0)).abs() < 1e-18);
}

#[test]
fn config_dt_spike_cut_keeps_the_duration() {
    let c = cfg(lif()).unwrap();
    assert_eq!(SpikeCut::Steps.steps(&c, 5e-6), 10);
    assert_eq!(SpikeCut::ConfigDt.steps(&c, 5e-6), 100); // 10 × 5e-5 s at 5e-6 s
    assert_eq!(SpikeCut::ConfigDt.steps(&c, 1e-4), 5);
    assert_eq!(SpikeCut::ConfigDt.steps(&c, 3e-5), 17); // 16.67 rounded up, as NEST's t_ref
    let out = GlifNeuron::new(&c, 5e-6, SpikeCut::ConfigDt)
        .unwrap()
        .run(&vec![1.5e-10; 20_000], true);
    let n = out.spike_steps.len();
    assert!(n >= 2);
    assert_eq!(out.voltage.iter().filter(|v| v.is_nan()).count(), 100 * n);
    let steps = GlifNeuron::new(&c, 5e-6, SpikeCut::Steps)
        .unwrap()
        .run(&vec![1.5e-10; 20_000], true);
    assert_eq!(
        out.spike_steps[1] - out.spike_steps[0],
        steps.spike_steps[1] - steps.spike_steps[0] + 90
    );
}

#[test]
fn bad_reset_stops_like_allensdk_and_is_reported() {
    // GLIF2-style reset V ← V' + 10 mV lands above the reset threshold (th_inf + 1 mV).
    let mut v = lif();
    v["threshold_dynamics_method"] = json!({"name": "spike_component",
        "params": {"a_spike": 0.001, "b_spike": 100.0, "a_voltage": 0.0, "b_voltage": 0.0}});
    v["threshold_reset_method"] =
        json!({"name": "three_components", "params": {"a_spike": 0.001, "b_spike": 100.0}});
    v["voltage_reset_method"] = json!({"name": "v_before", "params": {"a": 1.0, "b": 0.01}});
    let c = cfg(v).unwrap();
    let n = 20_000;
    let out = GlifNeuron::new(&c, 5e-6, SpikeCut::Steps)
        .unwrap()
        .run(&vec![1.5e-10; n], true);
    assert_eq!(
        out.spike_steps.len(),
        1,
        "AllenSDK stops after the bad reset"
    );
    let k = out.spike_steps[0];
    let b = out.bad_reset.expect("bad reset reported");
    assert_eq!(b.step, k);
    assert!(b.reset_voltage > b.reset_threshold);
    assert!(b.reset_voltage > 0.03 && b.reset_voltage < 0.0301);
    // k … k+9 NaN; k+10 reset; then the reset state in 5 more samples; NaN to the end.
    assert!(out.voltage[k..k + 10].iter().all(|v| v.is_nan()));
    assert!(out.voltage[k + 10..k + 16]
        .iter()
        .all(|&x| x == b.reset_voltage));
    assert!(out.threshold[k + 10..k + 16]
        .iter()
        .all(|&x| x == b.reset_threshold));
    assert!(out.voltage[k + 16..].iter().all(|v| v.is_nan()));
}

#[test]
fn unknown_method_names_are_rejected_by_name() {
    let mut v = lif();
    v["voltage_dynamics_method"]["name"] = json!("linear_exact");
    let e = cfg(v).unwrap_err();
    assert!(
        e.contains("cell.json")
            && e.contains("voltage_dynamics_method")
            && e.contains("\"linear_exact\""),
        "{e}"
    );
    let mut v = lif();
    v["voltage_reset_method"]["name"] = json!("linear");
    let e = cfg(v).unwrap_err();
    assert!(
        e.contains("voltage_reset_method.name")
            && e.contains("\"linear\"")
            && e.contains("v_before"),
        "{e}"
    );
    let mut v = lif();
    v["threshold_reset_method"]["name"] = json!("max_v_th");
    assert!(cfg(v).unwrap_err().contains("max_v_th"));
}

/// A modification of the base config.
type Patch = Box<dyn Fn(&mut Value)>;

#[test]
fn bad_configs_give_one_line_errors_naming_the_field() {
    let cases: Vec<(&str, Patch, &str)> = vec![
        (
            "missing field",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("R_input");
            }),
            "field R_input: missing",
        ),
        (
            "negative C",
            Box::new(|v| v["C"] = json!(-1e-10)),
            "field C: -1e-10 must be > 0",
        ),
        (
            "lengths",
            Box::new(|v| v["asc_amp_array"] = json!([0.0])),
            "asc_amp_array: has 1 entries",
        ),
        (
            "fraction cut",
            Box::new(|v| v["spike_cut_length"] = json!(2.5)),
            "spike_cut_length: 2.5",
        ),
        (
            "missing param",
            Box::new(|v| {
                v["voltage_reset_method"] = json!({"name": "v_before", "params": {"a": 1.0}})
            }),
            "voltage_reset_method.params.b: missing",
        ),
        (
            "unknown param",
            Box::new(|v| v["voltage_reset_method"] = json!({"name": "zero", "params": {"a": 1.0}})),
            "voltage_reset_method.params.a: unknown parameter",
        ),
        (
            "three_components without components",
            Box::new(|v| {
                v["threshold_reset_method"] = json!({"name": "three_components", "params": {"a_spike": 0.001, "b_spike": 10.0}})
            }),
            "threshold_reset_method",
        ),
        (
            "bad dt",
            Box::new(|v| v["dt"] = json!(0.0)),
            "field dt: 0.0 must be > 0",
        ),
    ];
    for (what, f, want) in cases {
        let mut v = lif();
        f(&mut v);
        let e = cfg(v).unwrap_err();
        assert!(e.starts_with("cell.json: "), "{what}: {e}");
        assert!(e.contains(want), "{what}: {e}");
        assert!(!e.contains('\n'), "{what}: {e}");
    }
    let c = cfg(lif()).unwrap();
    let e = GlifNeuron::new(&c, -5e-6, SpikeCut::Steps)
        .unwrap_err()
        .to_string();
    assert!(e.contains("dt") && e.contains("-5e-6"), "{e}");
}
