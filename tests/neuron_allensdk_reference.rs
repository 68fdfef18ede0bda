//! Conformance with AllenSDK 2.16 `GlifNeuron` (reference/glif/allensdk_reference.json,
//! docs/glif.md §9.1): 13 real Cell Types configs × dt {5e-6, 5e-5} s × 3 stimuli.
//! Required: identical spike steps and NaN counts, interpolated times within 1e-9 s, the 21
//! stored voltage/threshold samples within 1e-9 relative (null ↔ NaN).

mod common;
mod neuron_support;

use glifnet::neuron::{AllenConfig, GlifNeuron, SpikeCut};
use neuron_support::{config_path, reference, stimulus};

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-30)
}

#[test]
fn all_78_allensdk_runs_match() {
    let shared = common::shared_dir();
    let reference = reference(&shared);
    let runs = reference["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 78);
    let mut total_spikes = 0usize;
    let mut worst_dt = 0.0f64;
    let mut worst_rel = 0.0f64;
    for run in runs {
        let name = run["config"].as_str().unwrap();
        let dt = run["dt"].as_f64().unwrap();
        let label = format!("{name} dt={dt} {}", run["stimulus"]);
        let cfg = AllenConfig::from_file(&config_path(&shared, name)).unwrap();
        assert!(
            close(cfg.rheobase(), run["I_rh"].as_f64().unwrap(), 1e-14),
            "{label}: I_rh"
        );
        let stim = stimulus(run);
        let out = GlifNeuron::new(&cfg, dt, SpikeCut::Steps)
            .unwrap()
            .run(&stim, true);

        let steps: Vec<usize> = run["spike_time_steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(out.spike_steps, steps, "{label}: spike steps");
        total_spikes += steps.len();
        assert!(out.bad_reset.is_none(), "{label}: unexpected bad reset");

        let nan = out.voltage.iter().filter(|v| v.is_nan()).count();
        assert_eq!(
            nan as u64,
            run["n_nan_voltage"].as_u64().unwrap(),
            "{label}: NaN count"
        );

        for (key, ours) in [
            ("grid_spike_times", &out.grid_spike_times),
            ("interpolated_spike_times", &out.interpolated_spike_times),
        ] {
            let r = run[key].as_array().unwrap();
            assert_eq!(r.len(), ours.len(), "{label}: {key}");
            for (a, b) in ours.iter().zip(r) {
                let d = (a - b.as_f64().unwrap()).abs();
                worst_dt = worst_dt.max(d);
                assert!(d <= 1e-9, "{label}: {key} {a} vs {b}");
            }
        }
        for (a, b) in out
            .interpolated_spike_voltage
            .iter()
            .zip(run["interpolated_spike_voltage"].as_array().unwrap())
        {
            assert!(
                close(*a, b.as_f64().unwrap(), 1e-9),
                "{label}: interpolated voltage {a} vs {b}"
            );
        }
        for (key, ours) in [
            ("voltage_samples", &out.voltage),
            ("threshold_samples", &out.threshold),
        ] {
            for (idx, val) in run[key].as_object().unwrap() {
                let i: usize = idx.parse().unwrap();
                match val.as_f64() {
                    None => assert!(
                        ours[i].is_nan(),
                        "{label}: {key}[{i}] should be NaN, got {}",
                        ours[i]
                    ),
                    Some(b) => {
                        let a = ours[i];
                        let rel = if b == 0.0 {
                            a.abs()
                        } else {
                            ((a - b) / b).abs()
                        };
                        worst_rel = worst_rel.max(rel);
                        assert!(rel <= 1e-9, "{label}: {key}[{i}] {a} vs {b}");
                    }
                }
            }
        }
        match run["final_voltage"].as_f64() {
            None => assert!(
                out.voltage.last().unwrap().is_nan(),
                "{label}: final voltage"
            ),
            Some(b) => assert!(
                close(*out.voltage.last().unwrap(), b, 1e-9),
                "{label}: final voltage"
            ),
        }
    }
    eprintln!("78 runs, {total_spikes} spikes; worst |Δt| {worst_dt:e} s, worst sample rel. error {worst_rel:e}");
    assert!(total_spikes > 1000);
}
