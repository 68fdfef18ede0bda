//! Allen neuron_config → NEST conversion (sonata-bmtk.md §5.4), parameter validation errors and
//! the `glifnet convert` command.

mod common;

use glifnet::models::allen::{convert, level_from_template, RefractoryConvention};
use glifnet::models::{ModelKind, ModelParams};
use serde_json::{json, Value};

fn read(rel: &str) -> Value {
    let p = common::shared_dir().join(rel);
    serde_json::from_str(
        &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

fn assert_close(what: &str, got: &Value, want: &Value, rtol: f64) {
    match (got, want) {
        (Value::Number(_), Value::Number(_)) => {
            let (g, w) = (got.as_f64().unwrap(), want.as_f64().unwrap());
            assert!(
                (g - w).abs() <= rtol * w.abs().max(1e-300),
                "{what}: got {g}, want {w}"
            );
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{what}: length");
            for (k, (a, b)) in g.iter().zip(w).enumerate() {
                assert_close(&format!("{what}[{k}]"), a, b, rtol);
            }
        }
        _ => assert_eq!(got, want, "{what}"),
    }
}

fn assert_params(what: &str, got: &serde_json::Map<String, Value>, want: &Value, rtol: f64) {
    let want = want.as_object().unwrap();
    let gk: Vec<&String> = got.keys().collect();
    let wk: Vec<&String> = want.keys().collect();
    assert_eq!(gk, wk, "{what}: keys");
    for (k, w) in want {
        assert_close(&format!("{what}.{k}"), &got[k], w, rtol);
    }
}

/// The five 637930677 configs give bmtk's expected NEST parameters to rtol 1e-9.
#[test]
fn cell_637930677_matches_bmtk_expected() {
    let expected =
        read("data/bmtk/allensdk_glif_neuron_configs/expected_nest_glif_psc_params_637930677.json");
    for (template, want) in expected.as_object().unwrap() {
        let suffix = template
            .trim_start_matches("nest:glif_")
            .trim_end_matches("_psc");
        let cfg = read(&format!(
            "data/bmtk/allensdk_glif_neuron_configs/637930677_{suffix}.json"
        ));
        let level = level_from_template(template);
        let conv = convert(
            &cfg,
            ModelKind::GlifPsc,
            level,
            RefractoryConvention::ConfigDt,
        )
        .unwrap();
        assert_params(template, &conv.params, want, 1e-9);
        // The level implied by the method names is the template's level.
        let auto = convert(
            &cfg,
            ModelKind::GlifPsc,
            None,
            RefractoryConvention::ConfigDt,
        )
        .unwrap();
        assert_eq!(Some(auto.level), level, "{template}");
    }
}

/// The historical AllenSDK originals give the five NEST JSONs shipped with bmtk (rtol 1e-6).
#[test]
fn historical_originals_match_shipped_nest_jsons() {
    for id in [
        "318808427",
        "478958894",
        "480124551",
        "487667205",
        "593618144",
    ] {
        let cfg = read(&format!(
            "data/bmtk/allensdk_glif_neuron_configs/historical_point_components/{id}_glif_lif_asc_config.json"
        ));
        let want = read(&format!(
            "data/bmtk/point_components/cell_models/{id}_glif_lif_asc_psc.json"
        ));
        let conv = convert(
            &cfg,
            ModelKind::GlifPsc,
            Some(3),
            RefractoryConvention::ConfigDt,
        )
        .unwrap();
        assert_params(id, &conv.params, &want, 1e-6);
    }
}

/// The bmtk conversion of the 13 reference configs equals the `nest_params` NEST ran with (§9.4).
#[test]
fn reference_configs_convert_to_nest_params() {
    let r = read("reference/glif/nest_bmtk_convention_reference.json");
    for run in r["runs"].as_array().unwrap() {
        let cfg = read(&format!(
            "data/glif/allen/{}",
            run["config"].as_str().unwrap()
        ));
        let level = level_from_template(run["template"].as_str().unwrap());
        let conv = convert(
            &cfg,
            ModelKind::GlifPsc,
            level,
            RefractoryConvention::ConfigDt,
        )
        .unwrap();
        let auto = convert(
            &cfg,
            ModelKind::GlifPsc,
            None,
            RefractoryConvention::ConfigDt,
        )
        .unwrap();
        assert_eq!(Some(auto.level), level);
        let want = run["nest_params"].as_object().unwrap();
        for (k, w) in want {
            assert_close(&format!("{} {k}", run["config"]), &conv.params[k], w, 1e-12);
        }
    }
}

#[test]
fn refractory_conventions() {
    let cfg = read("data/glif/allen/teeter_313861677_Rorb_GLIF4_neuron_config.json");
    let bmtk = convert(
        &cfg,
        ModelKind::GlifPsc,
        None,
        RefractoryConvention::ConfigDt,
    )
    .unwrap();
    assert!((bmtk.params["t_ref"].as_f64().unwrap() - 6.05).abs() < 1e-12);
    let run = convert(
        &cfg,
        ModelKind::GlifPsc,
        None,
        RefractoryConvention::parse("run-dt:0.005").unwrap(),
    )
    .unwrap();
    assert!((run.params["t_ref"].as_f64().unwrap() - 0.605).abs() < 1e-12);
    assert!(RefractoryConvention::parse("bogus").is_err());
}

#[test]
fn glif_cond_conversion() {
    let cfg = read("data/glif/allen/bmtk_637930677_lif_r_asc_a.json");
    let conv = convert(
        &cfg,
        ModelKind::GlifCond,
        None,
        RefractoryConvention::ConfigDt,
    )
    .unwrap();
    assert!((conv.params["g_m"].as_f64().unwrap() - 2.9407850592455422).abs() < 1e-12);
    assert!(!conv.params.contains_key("g"));
    assert_eq!(conv.params["E_rev"], json!([0.0, -85.0]));
    let p = conv.model_params().unwrap();
    assert_eq!(p.kind(), ModelKind::GlifCond);
    assert_eq!(p.n_ports(), 2);
}

/// Every invalid parameter: the message names the parameter, its value and the rule.
#[test]
fn invalid_parameters_are_named() {
    let cases: &[(&str, Value, &[&str])] = &[
        ("glif_psc", json!({"C_m": -1.0}), &["C_m", "-1", "> 0"]),
        ("glif_psc", json!({"g": 0.0}), &["`g`", "0", "> 0"]),
        ("glif_psc", json!({"t_ref": 0.0}), &["t_ref", "0", "> 0"]),
        (
            "glif_psc",
            json!({"V_reset": -40.0}),
            &["V_reset", "-40", "smaller than V_th"],
        ),
        (
            "glif_psc",
            json!({"after_spike_currents": true, "asc_decay": [0.1, -0.2]}),
            &["asc_decay", "-0.2", "> 0"],
        ),
        (
            "glif_psc",
            json!({"after_spike_currents": true, "asc_r": [1.0, 1.5]}),
            &["asc_r", "1.5", "[0, 1]"],
        ),
        (
            "glif_psc",
            json!({"after_spike_currents": true, "asc_amps": [1.0]}),
            &["asc_amps", "[1.0]", "same length"],
        ),
        (
            "glif_psc",
            json!({"spike_dependent_threshold": true, "th_spike_decay": 0.0}),
            &["th_spike_decay", "0", "> 0"],
        ),
        (
            "glif_psc",
            json!({"spike_dependent_threshold": true, "after_spike_currents": true, "adapting_threshold": true, "th_voltage_decay": -1.0}),
            &["th_voltage_decay", "-1", "> 0"],
        ),
        (
            "glif_psc",
            json!({"spike_dependent_threshold": true, "voltage_reset_fraction": 2.0}),
            &["voltage_reset_fraction", "2", "[0, 1]"],
        ),
        (
            "glif_psc",
            json!({"tau_syn": [2.0, 0.0]}),
            &["tau_syn", "0", "> 0"],
        ),
        (
            "glif_psc",
            json!({"adapting_threshold": true}),
            &["adapting_threshold", "false/false/true", "five GLIF levels"],
        ),
        (
            "glif_psc",
            json!({"I_e": 5.0}),
            &["unknown parameter", "I_e"],
        ),
        (
            "glif_psc",
            json!({"C_m": "big"}),
            &["C_m", "\"big\"", "a number"],
        ),
        (
            "glif_cond",
            json!({"E_rev": [0.0]}),
            &["E_rev", "[0.0]", "same length as tau_syn"],
        ),
        ("glif_cond", json!({"g_m": -3.0}), &["g_m", "-3", "> 0"]),
        (
            "iaf_psc_alpha",
            json!({"tau_m": 0.0}),
            &["tau_m", "0", "> 0"],
        ),
        (
            "iaf_psc_alpha",
            json!({"tau_syn_ex": -2.0}),
            &["tau_syn_ex", "-2", "> 0"],
        ),
        (
            "iaf_psc_alpha",
            json!({"t_ref": -1.0}),
            &["t_ref", "-1", ">= 0"],
        ),
        (
            "iaf_psc_exp",
            json!({"V_reset": -50.0}),
            &["V_reset", "-50", "smaller than V_th"],
        ),
        (
            "iaf_psc_exp",
            json!({"delta": 0.5}),
            &["delta", "0.5", "deterministic"],
        ),
        ("iaf_psc_delta", json!({"C_m": 0.0}), &["C_m", "0", "> 0"]),
    ];
    for (model, json, needles) in cases {
        let e = ModelParams::from_nest_json(model, json)
            .unwrap_err()
            .to_string();
        for n in *needles {
            assert!(e.contains(n), "{model} {json}: message `{e}` lacks `{n}`");
        }
    }
    let e = ModelParams::from_nest_json("glif_foo", &json!({}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("glif_foo"), "{e}");
    let p = ModelParams::from_nest_json("glif_psc", &json!({"tau_syn": [1.0, 2.0]})).unwrap();
    let e = p.port_for(3, 1.0).unwrap_err().to_string();
    assert!(
        e.contains("receptor_type = 3") && e.contains("1..=2"),
        "{e}"
    );
    let e = p.port_for(0, 1.0).unwrap_err().to_string();
    assert!(e.contains("receptor_type = 0"), "{e}");
    // Allen configs: missing or bad fields are named.
    let mut cfg = read("data/glif/allen/bmtk_637930677_lif.json");
    cfg.as_object_mut().unwrap().remove("R_input");
    let e = convert(
        &cfg,
        ModelKind::GlifPsc,
        None,
        RefractoryConvention::ConfigDt,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("R_input") && e.contains("missing"), "{e}");
    let mut cfg = read("data/glif/allen/bmtk_637930677_lif.json");
    cfg["threshold_dynamics_method"]["name"] = json!("adaptive");
    let e = convert(
        &cfg,
        ModelKind::GlifPsc,
        None,
        RefractoryConvention::ConfigDt,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("adaptive/none"), "{e}");
}

#[test]
fn defaults_for_empty_and_partial_json() {
    let p = match ModelParams::from_nest_json("glif_psc", &json!({})).unwrap() {
        ModelParams::GlifPsc(p) => p,
        _ => unreachable!(),
    };
    assert_eq!(
        (p.v_m, p.e_l, p.v_th, p.g, p.c_m, p.t_ref),
        (-78.85, -78.85, -51.68, 9.43, 58.72, 3.75)
    );
    assert_eq!(p.tau_syn, vec![2.0]);
    assert_eq!(p.level(), 1);
    // Changing E_L alone keeps the absolute V_m and V_th (NEST semantics).
    let p = match ModelParams::from_nest_json("glif_psc", &json!({"E_L": -70.0})).unwrap() {
        ModelParams::GlifPsc(p) => p,
        _ => unreachable!(),
    };
    assert!((p.v_m + 78.85).abs() < 1e-12 && (p.v_th + 51.68).abs() < 1e-12);
}

#[test]
fn convert_cli() {
    let dir = tempfile::tempdir().unwrap();
    let input =
        common::shared_dir().join("data/bmtk/allensdk_glif_neuron_configs/637930677_lif_asc.json");
    let out = std::process::Command::new(common::glifnet_bin())
        .args(["convert", input.to_str().unwrap(), "--explain"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("# t_ref = 6.7   <- spike_cut_length·dt·1e3"),
        "{text}"
    );
    let json_start = text.find("\n{").unwrap();
    let v: Value = serde_json::from_str(&text[json_start..]).unwrap();
    let want =
        read("data/bmtk/allensdk_glif_neuron_configs/expected_nest_glif_psc_params_637930677.json");
    assert_params(
        "cli",
        v.as_object().unwrap(),
        &want["nest:glif_lif_asc_psc"],
        1e-12,
    );
    // Output file, glif_cond.
    let path = dir.path().join("p.json");
    let st = std::process::Command::new(common::glifnet_bin())
        .args([
            "convert",
            input.to_str().unwrap(),
            "--model",
            "glif-cond",
            "-o",
            path.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(v.get("g_m").is_some());
    // User error: exit 1 with a one-line message naming the file.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"type": "GLIF", "El": 0.0}"#).unwrap();
    let out = std::process::Command::new(common::glifnet_bin())
        .args(["convert", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("bad.json") && err.contains("missing"), "{err}");
    // Usage error: exit 2.
    let out = std::process::Command::new(common::glifnet_bin())
        .args(["convert", input.to_str().unwrap(), "--model", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
