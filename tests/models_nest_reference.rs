//! Conformance of the glif_psc / glif_cond kernels with NEST 3.10 reference runs
//! (`$GLIFNET_SHARED/reference/glif/*.json`, glif.md §4.3 and §9.2/§9.4).

mod common;

use glifnet::models::allen::{convert, level_from_template, RefractoryConvention};
use glifnet::models::drive::{simulate, Drive, SpikeTrain, StepCurrent};
use glifnet::models::{ModelKind, ModelParams};
use serde_json::{json, Value};

fn load(name: &str) -> Value {
    let p = common::shared_dir().join("reference/glif").join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn assert_spikes(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: spike count\n got {got:?}\nwant {want:?}"
    );
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() < 1e-9,
            "{what}: spike {k}: got {g}, want {w}\n got {got:?}\nwant {want:?}"
        );
    }
}

const LEVELS: [(&str, bool, bool, bool); 5] = [
    ("lif", false, false, false),
    ("lif_r", true, false, false),
    ("lif_asc", false, true, false),
    ("lif_r_asc", true, true, false),
    ("lif_r_asc_a", true, true, true),
];

fn level_params(model: &str, (_, r, a, v): (&str, bool, bool, bool)) -> ModelParams {
    ModelParams::from_nest_json(
        model,
        &json!({"V_m": -78.85, "spike_dependent_threshold": r, "after_spike_currents": a, "adapting_threshold": v}),
    )
    .unwrap()
}

fn spike_train(times: &[f64], w: f64, receptor: i64) -> SpikeTrain {
    SpikeTrain {
        times_ms: times.to_vec(),
        weights: vec![w],
        receptor,
        delay_ms: 1.0,
    }
}

fn step(on: f64, off: f64, amp: f64, weight: f64, delay: f64) -> StepCurrent {
    StepCurrent {
        times_ms: vec![on],
        amps_pa: vec![amp],
        start_ms: on,
        stop_ms: Some(off),
        weight,
        delay_ms: delay,
    }
}

/// glif.md §4.3(a): the deterministic 2019 glif_psc test, spikes and 13 state samples per level.
#[test]
fn glif_psc_legacy_724fbbe4c() {
    let r = load("nest_reference_tests.json");
    let sc = &r["glif_psc_legacy_724fbbe4c"];
    let vars = ["V_m", "threshold", "ASCurrents_sum", "I_syn", "I"];
    for lv in LEVELS {
        let p = level_params("glif_psc", lv);
        let drive = Drive {
            dt_ms: 0.01,
            t_sim_ms: 1000.0,
            spikes: vec![
                spike_train(&[10.0, 100.0, 400.0, 600.0], 20.0, 1),
                spike_train(&[15.0, 99.0, 200.0, 700.0], -20.0, 1),
            ],
            currents: vec![step(500.0, 800.0, 100.0, 3.0, 1.0)],
        };
        let samples = sc[lv.0]["samples"].as_object().unwrap();
        let times: Vec<f64> = samples.keys().map(|k| k.parse().unwrap()).collect();
        let out = simulate(&p, &drive, &vars, &times).unwrap();
        assert_spikes(lv.0, &out.spikes_ms, &floats(&sc[lv.0]["spikes"]));
        for (j, (t, want)) in samples.iter().enumerate() {
            for (v, name) in vars.iter().enumerate() {
                let w = want[*name].as_f64().unwrap();
                let g = out.samples[j][v];
                assert!(
                    (g - w).abs() <= 1e-9,
                    "{} t={t} {name}: got {g}, want {w}",
                    lv.0
                );
            }
        }
    }
}

/// The fixed numbers quoted in glif.md §4.3(a).
#[test]
fn glif_psc_legacy_quoted_numbers() {
    let lif = level_params("glif_psc", LEVELS[0]);
    let drive = Drive {
        dt_ms: 0.01,
        t_sim_ms: 520.0,
        spikes: vec![
            spike_train(&[10.0, 100.0, 400.0, 600.0], 20.0, 1),
            spike_train(&[15.0, 99.0, 200.0, 700.0], -20.0, 1),
        ],
        currents: vec![step(500.0, 800.0, 100.0, 3.0, 1.0)],
    };
    let out = simulate(&lif, &drive, &["V_m", "I_syn"], &[12.0, 20.0, 505.0, 512.0]).unwrap();
    let want = [
        (-78.6922840391, 16.4041566526),
        (-78.9157001418, f64::NAN),
        (-63.771863605, f64::NAN),
        (-52.4743988214, f64::NAN),
    ];
    for (j, (v, isyn)) in want.iter().enumerate() {
        assert!(
            (out.samples[j][0] - v).abs() < 1e-9,
            "V_m sample {j}: {}",
            out.samples[j][0]
        );
        if !isyn.is_nan() {
            assert!((out.samples[j][1] - isyn).abs() < 1e-9);
        }
    }
    assert_spikes("lif head", &out.spikes_ms, &[512.99]);
}

fn head_drive(model: &str) -> Drive {
    // glif_psc: ±20 pA both on receptor 1; glif_cond: 1 nS on receptors 1 and 2 (§9.2).
    let spikes = if model == "glif_psc" {
        vec![
            spike_train(&[10.0, 100.0, 400.0, 700.0], 20.0, 1),
            spike_train(&[15.0, 99.0, 300.0, 800.0], -20.0, 1),
        ]
    } else {
        vec![
            spike_train(&[10.0, 100.0, 400.0, 700.0], 1.0, 1),
            spike_train(&[15.0, 99.0, 300.0, 800.0], 1.0, 2),
        ]
    };
    Drive {
        dt_ms: 0.01,
        t_sim_ms: 1000.0,
        spikes,
        currents: vec![step(600.0, 900.0, 100.0, 3.0, 1.0)],
    }
}

/// glif.md §4.3(b): the current NEST tests without the Poisson generator, glif_psc.
#[test]
fn glif_psc_head_test_no_poisson() {
    let r = load("nest_reference_tests.json");
    for lv in LEVELS {
        let p = level_params("glif_psc", lv);
        let out = simulate(&p, &head_drive("glif_psc"), &[], &[]).unwrap();
        assert_spikes(
            lv.0,
            &out.spikes_ms,
            &floats(&r["glif_psc_head_test_no_poisson"][lv.0]["spikes"]),
        );
    }
}

/// glif.md §4.3(c): bmtk test_glif_utils, NEST 3.10 glif_psc at 0.001 ms.
#[test]
fn bmtk_test_glif_utils() {
    let r = load("nest_reference_tests.json");
    let sc = r["bmtk_test_glif_utils"].as_object().unwrap();
    let quoted = [
        ("bmtk_637930677_lif.json", vec![14.776]),
        ("bmtk_637930677_lif_r.json", vec![14.954, 25.786]),
        ("bmtk_637930677_lif_asc.json", vec![14.466]),
        ("bmtk_637930677_lif_r_asc.json", vec![14.525]),
        ("bmtk_637930677_lif_r_asc_a.json", vec![13.707]),
    ];
    for (cfg, want) in quoted {
        let entry = &sc[cfg];
        let p = ModelParams::from_nest_json("glif_psc", &entry["params"]).unwrap();
        let drive = Drive {
            dt_ms: 0.001,
            t_sim_ms: 50.0,
            spikes: vec![spike_train(&[5.0, 7.0, 8.0, 9.0, 10.0, 12.0], 100.0, 1)],
            currents: vec![],
        };
        let out = simulate(&p, &drive, &[], &[]).unwrap();
        assert_spikes(cfg, &out.spikes_ms, &floats(&entry["spikes"]));
        assert_spikes(cfg, &out.spikes_ms, &want);
    }
}

fn parse_times(spec: &str) -> Vec<f64> {
    // "a+b*i, i=0..n"
    let (expr, range) = spec.split_once(", i=").unwrap();
    let (a, b) = expr.split_once("+").unwrap();
    let b = b.trim_end_matches("*i");
    let (a, b): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
    let (lo, hi) = range.split_once("..").unwrap();
    let (lo, hi): (i64, i64) = (lo.parse().unwrap(), hi.parse().unwrap());
    (lo..=hi)
        .map(|i| ((a + b * i as f64) * 1e4).round() / 1e4)
        .collect()
}

/// glif.md §9.4: 52 runs of 13 real Allen configs converted the bmtk way, h = 0.1 and 0.01 ms.
#[test]
fn nest_bmtk_convention_reference() {
    let r = load("nest_bmtk_convention_reference.json");
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 52);
    for run in runs {
        let cfg_name = run["config"].as_str().unwrap();
        let h = run["resolution_ms"].as_f64().unwrap();
        let from_nest = ModelParams::from_nest_json("glif_psc", &run["nest_params"]).unwrap();
        // glifnet's own conversion of the Allen config (bmtk convention) must run identically.
        let cfg: Value = serde_json::from_str(
            &std::fs::read_to_string(common::shared_dir().join("data/glif/allen").join(cfg_name))
                .unwrap(),
        )
        .unwrap();
        let level = level_from_template(run["template"].as_str().unwrap());
        let converted = convert(
            &cfg,
            ModelKind::GlifPsc,
            level,
            RefractoryConvention::ConfigDt,
        )
        .unwrap()
        .model_params()
        .unwrap();
        let st = &run["stimulus"];
        let drive = match st["type"].as_str().unwrap() {
            "step" => Drive {
                dt_ms: h,
                t_sim_ms: 700.0,
                spikes: vec![],
                currents: vec![StepCurrent {
                    times_ms: vec![
                        st["on_ms"].as_f64().unwrap(),
                        st["off_ms"].as_f64().unwrap(),
                    ],
                    amps_pa: vec![st["amp_pA"].as_f64().unwrap(), 0.0],
                    start_ms: 0.0,
                    stop_ms: None,
                    weight: 1.0,
                    delay_ms: st["delay_ms"].as_f64().unwrap(),
                }],
            },
            _ => Drive {
                dt_ms: h,
                t_sim_ms: 700.0,
                spikes: vec![
                    SpikeTrain {
                        times_ms: parse_times(st["exc_times_ms"].as_str().unwrap()),
                        weights: vec![st["exc_weight_pA"].as_f64().unwrap()],
                        receptor: st["exc_receptor"].as_i64().unwrap(),
                        delay_ms: st["delay_ms"].as_f64().unwrap(),
                    },
                    SpikeTrain {
                        times_ms: parse_times(st["inh_times_ms"].as_str().unwrap()),
                        weights: vec![st["inh_weight_pA"].as_f64().unwrap()],
                        receptor: st["inh_receptor"].as_i64().unwrap(),
                        delay_ms: st["delay_ms"].as_f64().unwrap(),
                    },
                ],
                currents: vec![],
            },
        };
        for (src, p) in [("nest_params", &from_nest), ("converted", &converted)] {
            let out = simulate(p, &drive, &[], &[]).unwrap();
            let what = format!("{cfg_name} ({src}) h={h} {}", st["type"]);
            assert_spikes(&what, &out.spikes_ms, &floats(&run["spikes_ms"]));
        }
    }
}

/// glif.md §4.3(b): glif_cond without the Poisson generator, all five levels, exactly.
#[test]
fn glif_cond_head_test_no_poisson() {
    let r = load("nest_reference_tests.json");
    for lv in LEVELS {
        let p = level_params("glif_cond", lv);
        let out = simulate(&p, &head_drive("glif_cond"), &["V_m"], &[1.0]).unwrap();
        assert!((out.samples[0][0] + 78.85).abs() < 1e-9);
        assert_spikes(
            lv.0,
            &out.spikes_ms,
            &floats(&r["glif_cond_head_test_no_poisson"][lv.0]["spikes"]),
        );
    }
}
