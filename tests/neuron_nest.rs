//! `--semantics nest` (glif.md §3 via models/glif_psc) against NEST 3.10 runs of the same
//! configs: `nest_vs_allensdk_square.json` (t_ref = spike_cut_length × h, square currents with
//! delay h) and `nest_bmtk_convention_reference.json` (bmtk t_ref, step current and alpha
//! synaptic trains on receptors with τ 5.5 and 2.8 ms). Spike times must be identical (1e-9 ms).

mod common;
mod neuron_support;

use std::process::Command;

use glifnet::neuron::nest::{run, AlphaTrain};
use glifnet::neuron::{AllenConfig, SpikeCut};
use neuron_support::config_path;
use serde_json::Value;

fn load(name: &str) -> Value {
    let p = common::shared_dir().join("reference/glif").join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn assert_spikes(ours_s: &[f64], want_ms: &[Value], label: &str) {
    let want: Vec<f64> = want_ms.iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(ours_s.len(), want.len(), "{label}: spike count");
    for (a, b) in ours_s.iter().zip(&want) {
        assert!(
            (a * 1e3 - b).abs() < 1e-9,
            "{label}: {} ms vs {b} ms",
            a * 1e3
        );
    }
}

/// Square current of `amp` A delivered in steps [100/h, 600/h) over 700 ms.
fn square(amp: f64, dt: f64) -> Vec<f64> {
    let n = (0.7 / dt).round() as usize;
    let (on, off) = ((0.1 / dt).round() as usize, (0.6 / dt).round() as usize);
    (0..n)
        .map(|k| if (on..off).contains(&k) { amp } else { 0.0 })
        .collect()
}

#[test]
fn nest_semantics_match_nest_on_the_allensdk_square_runs() {
    let shared = common::shared_dir();
    let allen = neuron_support::reference(&shared);
    let nest = load("nest_vs_allensdk_square.json");
    let runs = nest["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 52);
    let mut n_spikes = 0;
    for r in runs {
        let config = r["config"].as_str().unwrap();
        let dt_ms = r["dt_ms"].as_f64().unwrap();
        let dt = dt_ms * 1e-3;
        let stim = r["stimulus"].as_str().unwrap();
        let a = neuron_support::find_run(
            &allen,
            config,
            if dt_ms == 0.005 { 5e-6 } else { 5e-5 },
            stim,
        );
        let factor: f64 = stim.strip_prefix("square_").unwrap().parse().unwrap();
        let amp = factor * a["I_rh"].as_f64().unwrap();
        let cfg = AllenConfig::from_file(&config_path(&shared, config)).unwrap();
        let out = run(&cfg, dt, SpikeCut::Steps, &square(amp, dt), &[]).unwrap();
        let label = format!("{config} {dt_ms} ms {stim}");
        assert_spikes(
            &out.output.grid_spike_times,
            r["nest_spikes_ms"].as_array().unwrap(),
            &label,
        );
        assert_eq!(
            out.params["t_ref"].as_f64().unwrap(),
            cfg.spike_cut_length as f64 * dt_ms
        );
        n_spikes += out.output.grid_spike_times.len();
    }
    assert!(n_spikes > 1000);
}

#[test]
fn nest_semantics_match_nest_with_bmtk_refractory_and_synaptic_trains() {
    let shared = common::shared_dir();
    let reference = load("nest_bmtk_convention_reference.json");
    let runs = reference["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 52);
    for r in runs {
        let config = r["config"].as_str().unwrap();
        let h = r["resolution_ms"].as_f64().unwrap();
        let dt = h * 1e-3;
        let n = (700.0 / h).round() as usize;
        let s = &r["stimulus"];
        let cfg = AllenConfig::from_file(&config_path(&shared, config)).unwrap();
        let label = format!("{config} {h} ms {}", s["type"]);
        let (current, trains) = if s["type"] == "step" {
            (
                square(s["amp_pA"].as_f64().unwrap() * 1e-12, dt),
                Vec::new(),
            )
        } else {
            // A spike at t (delay 1 ms) reaches the synapse at the end of step round((t+1)/h) − 1.
            let onsets = |t0: f64, step: f64, count: usize| -> Vec<usize> {
                (0..count)
                    .map(|i| {
                        let t = ((t0 + step * i as f64) * 1e4).round() / 1e4;
                        ((t + 1.0) / h).round() as usize - 1
                    })
                    .collect()
            };
            let exc = AlphaTrain {
                onsets: onsets(50.0, 2.5, 200),
                weight_pa: s["exc_weight_pA"].as_f64().unwrap(),
                tau_ms: 5.5,
            };
            let inh = AlphaTrain {
                onsets: onsets(53.3, 7.1, 70),
                weight_pa: s["inh_weight_pA"].as_f64().unwrap(),
                tau_ms: 2.8,
            };
            (vec![0.0; n], vec![exc, inh])
        };
        let out = run(&cfg, dt, SpikeCut::ConfigDt, &current, &trains).unwrap();
        assert_spikes(
            &out.output.grid_spike_times,
            r["spikes_ms"].as_array().unwrap(),
            &label,
        );
        let want_tref = r["nest_params"]["t_ref"].as_f64().unwrap();
        assert!(
            (out.params["t_ref"].as_f64().unwrap() - want_tref).abs() < 1e-12,
            "{label}: t_ref"
        );
    }
}

#[test]
fn nest_semantics_through_the_cli() {
    let shared = common::shared_dir();
    let tmp = tempfile::tempdir().unwrap();
    let nest = load("nest_vs_allensdk_square.json");
    let allen = neuron_support::reference(&shared);
    for (config, dt_ms) in [
        ("bmtk_637930677_lif_r_asc_a.json", 0.005),
        ("teeter_478958894_Pvalb_GLIF3_neuron_config.json", 0.05),
    ] {
        let r = nest["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["config"] == config && r["dt_ms"] == dt_ms && r["stimulus"] == "square_3.0")
            .unwrap();
        let a = neuron_support::find_run(&allen, config, dt_ms * 1e-3, "square_3.0");
        let amp = 3.0 * a["I_rh"].as_f64().unwrap();
        let out = tmp.path().join(config);
        let cfg = config_path(&shared, config);
        let o = Command::new(common::glifnet_bin())
            .args([
                "neuron",
                cfg.to_str().unwrap(),
                "--semantics",
                "nest",
                "--dt",
                &format!("{:e}", dt_ms * 1e-3),
                "--duration",
                "0.7",
                "--step",
                &format!("{amp:e},0.1,0.6"),
                "-o",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(out.join("spikes.csv")).unwrap();
        let rows: Vec<Vec<f64>> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
            .collect();
        let grid: Vec<f64> = rows.iter().map(|r| r[0]).collect();
        assert!(
            rows.iter().all(|r| r[0] == r[1]),
            "nest: interpolated column repeats the grid"
        );
        assert_spikes(&grid, r["nest_spikes_ms"].as_array().unwrap(), config);
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["semantics"], "nest");
        assert_eq!(summary["n_spikes"].as_u64().unwrap() as usize, grid.len());
        assert!(
            summary["parameters"]["nest_glif_psc"]["C_m"]
                .as_f64()
                .unwrap()
                > 0.0
        );
        // No spike cut in NEST traces: V is held at the reset value, never NaN.
        let traces = std::fs::read_to_string(out.join("traces.csv")).unwrap();
        assert!(!traces.contains("NaN"));
    }
}
