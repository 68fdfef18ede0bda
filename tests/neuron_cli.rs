//! `glifnet neuron` end to end through the binary: AllenSDK reference runs via --stimulus and
//! --step, the README example, the spike-cut option, and one-line errors on bad inputs.

mod common;
mod neuron_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use neuron_support::{config_path, find_run, reference, stimulus};
use serde_json::{json, Value};

fn glifnet(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(common::glifnet_bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run glifnet")
}

fn read_csv(path: &Path) -> (String, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let rows = lines
        .map(|l| l.split(',').map(|x| x.parse::<f64>().unwrap()).collect())
        .collect();
    (header, rows)
}

/// Compare a CLI output folder with a reference run (same tolerances as the library test).
fn check_against_reference(dir: &Path, run: &Value, label: &str) {
    let dt = run["dt"].as_f64().unwrap();
    let (h, spikes) = read_csv(&dir.join("spikes.csv"));
    assert_eq!(h, "grid_time_s,interpolated_time_s");
    let steps: Vec<u64> = spikes.iter().map(|r| (r[0] / dt).round() as u64).collect();
    let want: Vec<u64> = run["spike_time_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(steps, want, "{label}: spike steps");
    for (r, t) in spikes
        .iter()
        .zip(run["interpolated_spike_times"].as_array().unwrap())
    {
        assert!(
            (r[1] - t.as_f64().unwrap()).abs() <= 1e-9,
            "{label}: {} vs {t}",
            r[1]
        );
    }
    let (h, traces) = read_csv(&dir.join("traces.csv"));
    assert_eq!(h, "t_s,voltage_v,threshold_v,asc_sum_a,stimulus_a");
    assert_eq!(traces.len() as u64, run["n_steps"].as_u64().unwrap());
    let nan = traces.iter().filter(|r| r[1].is_nan()).count() as u64;
    assert_eq!(
        nan,
        run["n_nan_voltage"].as_u64().unwrap(),
        "{label}: NaN samples"
    );
    for (key, col) in [("voltage_samples", 1), ("threshold_samples", 2)] {
        for (idx, val) in run[key].as_object().unwrap() {
            let i: usize = idx.parse().unwrap();
            assert!((traces[i][0] - i as f64 * dt).abs() < 1e-12);
            match val.as_f64() {
                None => assert!(traces[i][col].is_nan(), "{label}: {key}[{i}]"),
                Some(b) => {
                    let a = traces[i][col];
                    let rel = if b == 0.0 {
                        a.abs()
                    } else {
                        ((a - b) / b).abs()
                    };
                    assert!(rel <= 1e-9, "{label}: {key}[{i}] {a} vs {b}");
                }
            }
        }
    }
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["n_spikes"].as_u64().unwrap(), want.len() as u64);
    assert_eq!(summary["semantics"], "allensdk");
}

#[test]
fn reference_runs_through_the_cli_with_a_stimulus_file() {
    let shared = common::shared_dir();
    let reference = reference(&shared);
    let tmp = tempfile::tempdir().unwrap();
    for (config, dt, stim) in [
        ("bmtk_637930677_lif_r_asc_a.json", 5e-6, "sines"),
        (
            "teeter_478958894_Pvalb_GLIF2_neuron_config.json",
            5e-5,
            "sines",
        ),
        (
            "teeter_313861677_Rorb_GLIF5_neuron_config.json",
            5e-6,
            "square_3.0",
        ),
    ] {
        let run = find_run(&reference, config, dt, stim);
        let label = format!("{config} {dt} {stim}");
        // Values in A written in shortest round-trip form (bitwise the reference current); the
        // Pvalb run instead writes pA and passes --stimulus-unit pA (equal within tolerance).
        let s = stimulus(run);
        let in_pa = config.contains("Pvalb");
        let file = tmp.path().join(format!("{config}-{dt}-{stim}.txt"));
        let text: String = s
            .iter()
            .map(|x| {
                if in_pa {
                    format!("{:e}\n", x * 1e12)
                } else {
                    format!("{x:e}\n")
                }
            })
            .collect();
        std::fs::write(&file, text).unwrap();
        let out = tmp.path().join(format!("out-{config}-{dt}-{stim}"));
        let cfg = config_path(&shared, config);
        let mut args = vec![
            "neuron".to_string(),
            cfg.to_string_lossy().into_owned(),
            "--dt".into(),
            dt.to_string(),
            "--stimulus".into(),
            file.to_string_lossy().into_owned(),
            "-o".into(),
            out.to_string_lossy().into_owned(),
        ];
        if in_pa {
            args.extend(["--stimulus-unit".into(), "pA".into()]);
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = glifnet(&argv, tmp.path());
        assert!(
            o.status.success(),
            "{label}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        check_against_reference(&out, run, &label);
    }
}

#[test]
fn reference_square_pulse_through_the_cli_with_step() {
    let shared = common::shared_dir();
    let reference = reference(&shared);
    let tmp = tempfile::tempdir().unwrap();
    for (config, dt, factor) in [
        ("bmtk_637930677_lif_asc.json", 5e-5, "1.5"),
        (
            "teeter_478958894_Pvalb_GLIF4_neuron_config.json",
            5e-6,
            "3.0",
        ),
    ] {
        let stim = format!("square_{factor}");
        let run = find_run(&reference, config, dt, &stim);
        let amp = factor.parse::<f64>().unwrap() * run["I_rh"].as_f64().unwrap();
        let out = tmp.path().join(format!("o-{config}-{dt}"));
        let cfg = config_path(&shared, config);
        let o = glifnet(
            &[
                "neuron",
                cfg.to_str().unwrap(),
                "--dt",
                &format!("{dt:e}"),
                "--duration",
                "0.7",
                "--step",
                &format!("{amp:e},0.1,0.6"),
                "-o",
                out.to_str().unwrap(),
            ],
            tmp.path(),
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        check_against_reference(&out, run, &format!("{config} {dt} {stim}"));
    }
}

/// The `glifnet neuron` command of the README section, split into arguments.
fn readme_command() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("## Driving a Cell Types model with a spike train")
        .nth(1)
        .expect("README section");
    let block = section
        .split("```sh")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let joined = block.replace("\\\n", " ");
    let line = joined
        .lines()
        .find(|l| l.trim_start().starts_with("glifnet neuron"))
        .expect("command");
    line.split_whitespace().skip(1).map(String::from).collect()
}

#[test]
fn readme_example_runs_and_writes_the_four_outputs() {
    let shared = common::shared_dir();
    let tmp = tempfile::tempdir().unwrap();
    // The README runs bmtk's 637930677_lif_r_asc_a.json from the working directory.
    let cfg = config_path(&shared, "bmtk_637930677_lif_r_asc_a.json");
    let args: Vec<String> = readme_command()
        .into_iter()
        .map(|a| {
            if a == "637930677_lif_r_asc_a.json" {
                cfg.to_string_lossy().into_owned()
            } else {
                a
            }
        })
        .collect();
    assert!(args.iter().any(|a| a == "--plot"));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = glifnet(&argv, tmp.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.starts_with("19 spikes in 1.0 s (19.0 Hz)"),
        "README promises 19 spikes: {stdout}"
    );
    let dir = tmp.path().join("neuron_output");
    for f in ["spikes.csv", "traces.csv", "summary.json", "neuron.png"] {
        assert!(
            dir.join(f).metadata().map(|m| m.len() > 0).unwrap_or(false),
            "{f} missing"
        );
    }
    let png = std::fs::read(dir.join("neuron.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["n_spikes"], 19);
    assert_eq!(summary["rate_hz"], 19.0);
    assert_eq!(summary["inputs"]["spike_trains"][0]["n_spikes"], 20);
    assert_eq!(summary["inputs"]["spike_trains"][1]["kernel"], "exp");
    assert_eq!(summary["refractory"]["convention"], "steps");
    assert_eq!(summary["refractory"]["spike_cut_steps"], 134);
    let (_, spikes) = read_csv(&dir.join("spikes.csv"));
    assert_eq!(spikes.len(), 19);
    assert_eq!(summary["first_spike_s"].as_f64().unwrap(), spikes[0][1]);
    let (_, traces) = read_csv(&dir.join("traces.csv"));
    assert_eq!(traces.len(), 200_000);
    // The regular train's alpha current peaks (≈400 pA, minus inhibition) 5.5 ms after t = 0.
    assert!(traces[1100][4] > 0.0);
    // No temporary files left behind.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
}

#[test]
fn config_dt_spike_cut_through_the_cli() {
    let shared = common::shared_dir();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config_path(&shared, "bmtk_637930677_lif.json");
    let run = |cut: &str| -> Value {
        let out = tmp.path().join(cut);
        let o = glifnet(
            &[
                "neuron",
                cfg.to_str().unwrap(),
                "--duration",
                "0.7",
                "--step",
                "1.313e-10,0.1,0.6",
                "--spike-cut",
                cut,
                "-o",
                out.to_str().unwrap(),
            ],
            tmp.path(),
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
    };
    let steps = run("steps");
    let long = run("config-dt");
    assert_eq!(steps["refractory"]["spike_cut_steps"], 134);
    assert_eq!(long["refractory"]["spike_cut_steps"], 1340);
    assert!((long["refractory"]["spike_cut_s"].as_f64().unwrap() - 6.7e-3).abs() < 1e-12);
    // 1.5 × rheobase on the LIF (reference: 19 spikes with the AllenSDK cut); a 6.7 ms cut fires less.
    assert_eq!(steps["n_spikes"], 19);
    assert!(long["n_spikes"].as_u64().unwrap() < 19);
}

/// Run with `args`, require exit 1 and a single `error:` line containing every `needle`, and no
/// output folder contents.
fn expect_error(args: &[&str], needles: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let mut argv: Vec<&str> = args.to_vec();
    argv.extend(["-o", "out"]);
    let o = glifnet(&argv, tmp.path());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err} lacks {n}");
    }
    let out = tmp.path().join("out");
    let n_files = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
    assert_eq!(n_files, 0, "{args:?}: output written despite the error");
}

fn write_config(dir: &Path, patch: impl Fn(&mut Value)) -> PathBuf {
    let mut v = json!({
        "El": 0.0, "El_reference": -0.07, "dt": 5e-5, "R_input": 2e8, "C": 1e-10,
        "asc_tau_array": [0.01, 0.1], "asc_amp_array": [0.0, 0.0], "init_AScurrents": [0.0, 0.0],
        "spike_cut_length": 10, "th_inf": 0.02, "th_adapt": null, "coeffs": {},
        "init_voltage": 0.0, "init_threshold": 0.02,
        "voltage_dynamics_method": {"name": "linear_forward_euler", "params": {}},
        "threshold_dynamics_method": {"name": "inf", "params": {}},
        "AScurrent_dynamics_method": {"name": "none", "params": {}},
        "voltage_reset_method": {"name": "zero", "params": {}},
        "threshold_reset_method": {"name": "inf", "params": {}},
        "AScurrent_reset_method": {"name": "none", "params": {}}
    });
    patch(&mut v);
    let p = dir.join("cell.json");
    std::fs::write(&p, v.to_string()).unwrap();
    p
}

#[test]
fn bad_inputs_give_one_line_errors_and_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let good = write_config(d, |_| {});
    let good = good.to_str().unwrap();
    let unknown = d.join("unknown");
    std::fs::create_dir(&unknown).unwrap();
    let unknown_cfg = write_config(&unknown, |v| {
        v["voltage_dynamics_method"]["name"] = json!("linear_exact")
    });
    let stim = d.join("stim.txt");
    std::fs::write(&stim, "0\n1e-10\n1e-10\n").unwrap();
    let bad_stim = d.join("bad_stim.txt");
    std::fs::write(&bad_stim, "0\n1e-10\nten\n").unwrap();
    let missing = d.join("nope.json");
    let spikes = d.join("spikes.txt");
    std::fs::write(&spikes, "0.1\n-0.2\n").unwrap();

    // Missing files.
    expect_error(
        &["neuron", missing.to_str().unwrap(), "--step", "1e-10,0,1"],
        &["nope.json"],
    );
    expect_error(
        &["neuron", good, "--stimulus", "/no/such/stim.txt"],
        &["/no/such/stim.txt"],
    );
    expect_error(
        &["neuron", good, "--stimulus-h5", "/no/such.nwb:/data"],
        &["/no/such.nwb", "/data", "no such file"],
    );
    expect_error(
        &[
            "neuron",
            good,
            "--spike-train",
            "file:/no/spikes.txt",
            "--weight",
            "10",
        ],
        &["/no/spikes.txt"],
    );
    // Wrong length: --duration disagrees with the stimulus file.
    expect_error(
        &[
            "neuron",
            good,
            "--stimulus",
            stim.to_str().unwrap(),
            "--duration",
            "1",
        ],
        &["--duration 1.0", "3 samples"],
    );
    // Unknown method name.
    expect_error(
        &[
            "neuron",
            unknown_cfg.to_str().unwrap(),
            "--step",
            "1e-10,0,1",
        ],
        &["cell.json", "voltage_dynamics_method", "linear_exact"],
    );
    // Negative dt and duration.
    expect_error(
        &["neuron", good, "--dt", "-5e-6", "--step", "1e-10,0,1"],
        &["--dt", "-5e-6"],
    );
    expect_error(
        &["neuron", good, "--duration", "-1", "--step", "1e-10,0,1"],
        &["--duration", "-1"],
    );
    // Bad file contents and specs.
    expect_error(
        &["neuron", good, "--stimulus", bad_stim.to_str().unwrap()],
        &["bad_stim.txt", "line 3", "ten"],
    );
    expect_error(
        &[
            "neuron",
            good,
            "--spike-train",
            &format!("file:{}", spikes.display()),
            "--weight",
            "10",
        ],
        &["spikes.txt", "line 2", "-0.2"],
    );
    expect_error(
        &["neuron", good, "--spike-train", "regular:20"],
        &["--weight"],
    );
    expect_error(
        &[
            "neuron",
            good,
            "--spike-train",
            "regular:20",
            "--weight",
            "1",
            "--weight",
            "2",
            "--spike-train",
            "poisson:1",
            "--weight",
            "3",
        ],
        &["3 --weight", "2 --spike-train"],
    );
    expect_error(
        &[
            "neuron",
            good,
            "--spike-train",
            "regular:20",
            "--weight",
            "1",
            "--kernel",
            "gauss:2",
        ],
        &["gauss"],
    );
    expect_error(
        &["neuron", good, "--step", "1e-10,0.5"],
        &["--step 1e-10,0.5", "AMP,START,STOP"],
    );
    expect_error(&["neuron", good], &["no input"]);
}

#[test]
fn usage_errors_exit_2_and_help_explains_the_spike_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let o = glifnet(&["neuron", "x.json", "--semantics", "brian"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    let o = glifnet(&["neuron", "--help"], tmp.path());
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "--spike-train",
        "--stimulus-h5",
        "config-dt",
        "AllenSDK",
        "alpha:TAU_MS",
        "--semantics",
    ] {
        assert!(help.contains(needle), "help lacks {needle}");
    }
}

#[test]
fn stimulus_h5_reads_an_nwb_style_sweep() {
    let shared = common::shared_dir();
    let reference = reference(&shared);
    let tmp = tempfile::tempdir().unwrap();
    let config = "bmtk_637930677_lif_r.json";
    let run = find_run(&reference, config, 5e-5, "sines");
    // NWB style: raw values in pA (float64) with conversion = 1e-12 to amps.
    let stim_pa: Vec<f64> = stimulus(run).iter().map(|x| x * 1e12).collect();
    let h5 = tmp.path().join("cell.nwb");
    {
        let f = hdf5::File::create(&h5).unwrap();
        let g = f.create_group("stimulus/presentation/Sweep_7").unwrap();
        let ds = g
            .new_dataset_builder()
            .with_data(&stim_pa)
            .create("data")
            .unwrap();
        ds.new_attr::<f64>()
            .create("conversion")
            .unwrap()
            .write_scalar(&1e-12)
            .unwrap();
        let m = g
            .new_dataset::<f64>()
            .shape((3, 2))
            .create("matrix")
            .unwrap();
        m.write_raw(&[0.0; 6]).unwrap();
    }
    let cfg = config_path(&shared, config);
    let out = tmp.path().join("out");
    let spec = format!("{}:/stimulus/presentation/Sweep_7/data", h5.display());
    let o = glifnet(
        &[
            "neuron",
            cfg.to_str().unwrap(),
            "--dt",
            "5e-5",
            "--stimulus-h5",
            &spec,
            "-o",
            out.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // pA × 1e-12 is not bitwise the reference current, but spikes and samples stay within tolerance.
    check_against_reference(&out, run, "h5 sweep");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["inputs"]["stimulus"]["conversion"], 1e-12);

    let bad = format!("{}:/stimulus/presentation/Sweep_7/matrix", h5.display());
    expect_error(
        &["neuron", cfg.to_str().unwrap(), "--stimulus-h5", &bad],
        &["cell.nwb", "matrix", "[3, 2]"],
    );
    let missing = format!("{}:/stimulus/presentation/Sweep_8/data", h5.display());
    expect_error(
        &["neuron", cfg.to_str().unwrap(), "--stimulus-h5", &missing],
        &["cell.nwb", "missing dataset", "Sweep_8"],
    );
    expect_error(
        &[
            "neuron",
            cfg.to_str().unwrap(),
            "--stimulus-h5",
            &spec,
            "--stimulus-unit",
            "pA",
        ],
        &["conversion", "--stimulus-unit"],
    );
}

#[test]
fn bad_reset_is_reported_on_stderr_and_in_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), |v| {
        v["threshold_dynamics_method"] = json!({"name": "spike_component",
            "params": {"a_spike": 0.001, "b_spike": 100.0, "a_voltage": 0.0, "b_voltage": 0.0}});
        v["threshold_reset_method"] =
            json!({"name": "three_components", "params": {"a_spike": 0.001, "b_spike": 100.0}});
        v["voltage_reset_method"] = json!({"name": "v_before", "params": {"a": 1.0, "b": 0.01}});
    });
    let o = glifnet(
        &[
            "neuron",
            cfg.to_str().unwrap(),
            "--step",
            "1.5e-10,0,1",
            "--duration",
            "0.1",
        ],
        tmp.path(),
    );
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("warning: ")
            && err.contains("cell.json")
            && err.contains("above the reset threshold"),
        "{err}"
    );
    let s: Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("neuron_output/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(s["n_spikes"], 1);
    assert!(
        s["bad_reset"]["reset_voltage_v"].as_f64().unwrap()
            > s["bad_reset"]["reset_threshold_v"].as_f64().unwrap()
    );
}
