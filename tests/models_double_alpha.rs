//! NEST 3.10 `glif_psc_double_alpha` (glif.md §12): every run of
//! `$GLIFNET_SHARED/reference/glif/nest_glif_psc_double_alpha.json` through the single-neuron
//! driver, parameter validation, many ports, and the group semantics (mixed sets, blocks,
//! unused ports, consumed input, saved states).

mod common;

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
        let out = simulate(&p, &drive_of(&r, run), &vars, &times)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
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
                if !(rel <= 1e-9) {
                    failures.push(format!("{id} {name} at t = {} ms: got {g}, want {w}", times[j]));
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
