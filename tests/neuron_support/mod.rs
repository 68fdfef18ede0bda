//! Helpers shared by the neuron tests: the AllenSDK reference file and its stimuli.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// `reference/glif/allensdk_reference.json` (docs/glif.md §9.1).
pub fn reference(shared: &std::path::Path) -> Value {
    let p = shared.join("reference/glif/allensdk_reference.json");
    serde_json::from_str(&std::fs::read_to_string(&p).expect("read reference"))
        .expect("parse reference")
}

/// `data/glif/allen/<name>`.
pub fn config_path(shared: &std::path::Path, name: &str) -> PathBuf {
    shared.join("data/glif/allen").join(name)
}

/// The run's stimulus exactly as §9.1 defines it (evaluated at t = k·dt), in A.
pub fn stimulus(run: &Value) -> Vec<f64> {
    let dt = run["dt"].as_f64().unwrap();
    let i_rh = run["I_rh"].as_f64().unwrap();
    let n = run["n_steps"].as_u64().unwrap() as usize;
    let kind = run["stimulus"].as_str().unwrap();
    if let Some(f) = kind.strip_prefix("square_") {
        let amp = f.parse::<f64>().unwrap() * i_rh;
        assert_eq!(n, (0.7 / dt).round() as usize);
        let (on, off) = ((0.1 / dt).round() as usize, (0.6 / dt).round() as usize);
        (0..n)
            .map(|k| if (on..off).contains(&k) { amp } else { 0.0 })
            .collect()
    } else {
        assert_eq!(kind, "sines");
        assert_eq!(n, (1.0 / dt).round() as usize);
        let tp = 2.0 * std::f64::consts::PI;
        (0..n)
            .map(|k| {
                let t = k as f64 * dt;
                i_rh * (1.1
                    + 0.6 * (tp * 4.0 * t).sin()
                    + 0.4 * (tp * 17.0 * t + 0.5).sin()
                    + 0.3 * (tp * 53.0 * t + 1.3).sin())
            })
            .collect()
    }
}

/// The reference run with this config, dt and stimulus.
pub fn find_run<'a>(reference: &'a Value, config: &str, dt: f64, stimulus: &str) -> &'a Value {
    reference["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["config"] == config && r["dt"].as_f64() == Some(dt) && r["stimulus"] == stimulus
        })
        .unwrap_or_else(|| panic!("no reference run {config} {dt} {stimulus}"))
}
