//! The output folder of `glifnet run` (issues #16 and #22): output-name collisions refused when
//! the config is read, outputs checked before simulating, every output staged and committed
//! together, a failed rerun keeps the previous results, a rerun removes exactly the stale files
//! of the run before, SIGINT/SIGTERM write what was simulated and exit 130/143, thread counts
//! and step counts checked. Networks: the shipped `networks/v1_l4` spec built into a temp
//! folder, and small generated ones.

mod common;
mod engine_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use engine_support::{delta_cell, write_config, EType, Edges, Pop};
use serde_json::{json, Value};

/// Tests that spawn the binary while others write h5 files take turns (HDF5 file descriptors
/// are inherited by children).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn glifnet(dir: &Path, args: &[&str]) -> Output {
    Command::new(common::glifnet_bin())
        .current_dir(dir)
        .env("HDF5_USE_FILE_LOCKING", "FALSE")
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `networks/v1_l4` built into `dir/net`; returns the simulation config.
fn v1_l4(dir: &Path) -> PathBuf {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("networks/v1_l4/spec.json");
    let out = glifnet(
        dir,
        &[
            "build",
            spec.to_str().unwrap(),
            "-o",
            dir.join("net").to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    dir.join("net/config.simulation.json")
}

fn edit_json(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn with_report(cfg: &Path) {
    edit_json(cfg, |v| {
        v["reports"] = json!({"v_report": {"module": "membrane_report", "cells": "l4_exc",
            "variable_name": "V_m", "file_name": "v_report.h5", "sections": "soma"}});
    });
}

/// Names in a folder, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn temps(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.contains(".tmp"))
        .collect()
}

fn spike_count(path: &Path) -> (usize, f64) {
    let t = glifnet::sonata::spikes::read_spikes(path).unwrap();
    let n = t.populations.iter().map(|p| p.node_ids.len()).sum();
    let last = t
        .populations
        .iter()
        .flat_map(|p| p.timestamps_ms.iter().copied())
        .fold(0.0, f64::max);
    (n, last)
}

#[test]
fn the_main_network_gives_its_known_spike_counts_and_a_rerun_replaces_only_its_files() {
    let _g = serial();
    let d = tempfile::tempdir().unwrap();
    let cfg = v1_l4(d.path());
    let out_dir = d.path().join("net/output");
    let o = glifnet(d.path(), &["run", cfg.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    // the spikes of this network (NEST gives the same: networks/README.md)
    assert!(err.contains("l4_exc") && err.contains("4641"), "{err}");
    assert!(err.contains("l4_pv") && err.contains("5012"), "{err}");
    // the thread count is printed, and defaults to every core
    let cores = std::thread::available_parallelism().unwrap().get();
    assert!(
        err.contains(&format!("{cores} thread(s) (default: all cores)")),
        "{err}"
    );
    assert_eq!(spike_count(&out_dir.join("spikes.h5")).0, 4641 + 5012);
    // a user's file in the folder; no overwrite key at all (BMTK never refuses a rerun)
    std::fs::write(out_dir.join("notes.txt"), "mine").unwrap();
    edit_json(&cfg, |v| {
        v["output"]
            .as_object_mut()
            .unwrap()
            .remove("overwrite_output_dir");
    });
    let o = glifnet(
        d.path(),
        &["run", cfg.to_str().unwrap(), "--quiet", "--no-plot"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        o.stderr.is_empty(),
        "--quiet prints nothing: {}",
        stderr(&o)
    );
    // raster.png was the previous run's and this one wrote none: removed; notes.txt stays
    assert_eq!(
        names(&out_dir),
        [
            ".glifnet-outputs",
            "config.json",
            "log.txt",
            "notes.txt",
            "spikes.csv",
            "spikes.h5",
            "v_report.h5"
        ]
    );
    let log = std::fs::read_to_string(out_dir.join("log.txt")).unwrap();
    assert!(
        log.contains("Replaced") && log.contains("spikes.h5"),
        "{log}"
    );
    assert!(
        log.contains("Removed") && log.contains("raster.png"),
        "{log}"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn a_failed_rerun_keeps_the_previous_results_and_fails_before_simulating() {
    let _g = serial();
    let d = tempfile::tempdir().unwrap();
    let cfg = v1_l4(d.path());
    let out_dir = d.path().join("net/output");
    let o = glifnet(d.path(), &["run", cfg.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read(out_dir.join("spikes.csv")).unwrap();
    let png = std::fs::read(out_dir.join("raster.png")).unwrap();
    // spikes.h5 replaced by a folder: the rerun must fail before it simulates, and keep
    // every earlier result
    std::fs::remove_file(out_dir.join("spikes.h5")).unwrap();
    std::fs::create_dir(out_dir.join("spikes.h5")).unwrap();
    std::fs::write(out_dir.join("spikes.h5/inside"), "x").unwrap();
    let t = Instant::now();
    let o = glifnet(
        d.path(),
        &[
            "run",
            cfg.to_str().unwrap(),
            "--quiet",
            "--dt",
            "0.001",
            "--tstop",
            "100000",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("spikes.h5") && err.contains("is a folder"),
        "{err}"
    );
    // 100 s at dt 0.001 would take minutes: the error came before the simulation
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    assert_eq!(std::fs::read(out_dir.join("spikes.csv")).unwrap(), csv);
    assert_eq!(std::fs::read(out_dir.join("raster.png")).unwrap(), png);
    assert!(temps(&out_dir).is_empty(), "{:?}", names(&out_dir));
    // a write that fails after the simulation (an unwritable report folder is found before;
    // here the log's folder is a file) also keeps everything
    edit_json(&cfg, |v| {
        v["output"]["log_file"] = json!("$OUTPUT_DIR/notes.txt/log.txt")
    });
    std::fs::write(out_dir.join("notes.txt"), "a file").unwrap();
    let o = glifnet(d.path(), &["run", cfg.to_str().unwrap(), "--quiet"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("notes.txt"), "{err}");
    assert_eq!(std::fs::read(out_dir.join("spikes.csv")).unwrap(), csv);
    assert!(temps(&out_dir).is_empty(), "{:?}", names(&out_dir));
}

#[test]
fn an_unwritable_output_folder_is_found_before_the_simulation() {
    let _g = serial();
    let d = tempfile::tempdir().unwrap();
    let cfg = v1_l4(d.path());
    std::fs::write(d.path().join("blocker"), "a file, not a folder").unwrap();
    let t = Instant::now();
    let o = glifnet(
        d.path(),
        &[
            "run",
            cfg.to_str().unwrap(),
            "--dt",
            "0.001",
            "--tstop",
            "100000",
            "--output-dir",
            "blocker/out",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("blocker"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    assert_eq!(
        std::fs::read_to_string(d.path().join("blocker")).unwrap(),
        "a file, not a folder"
    );
}

/// Output names that collide, or that would overwrite an input, are refused when the config is
/// read: exit 1, one line naming both fields, nothing written.
#[test]
fn output_name_collisions_are_refused_before_anything_runs() {
    let _g = serial();
    let d = tempfile::tempdir().unwrap();
    let cfg = v1_l4(d.path());
    let cases: Vec<(Value, &[&str])> = vec![
        (
            json!({"output": {"log_file": "spikes.h5"}}),
            &["spikes.h5", "output.spikes_file", "output.log_file"],
        ),
        (
            json!({"output": {"spikes_file_csv": "spikes.h5"}}),
            &["output.spikes_file", "output.spikes_file_csv"],
        ),
        (
            json!({"reports": {"v": {"module": "membrane_report", "cells": "l4_exc",
                   "variable_name": "V_m", "file_name": "spikes.h5"}}}),
            &["output.spikes_file", "reports.v.file_name"],
        ),
        (
            json!({"output": {"log_file": "config.json"}}),
            &["config.json", "output.log_file", "the config copy"],
        ),
        (
            json!({"output": {"log_file": "$BASE_DIR/config.simulation.json"}}),
            &["config.simulation.json", "a config file", "output.log_file"],
        ),
        (
            json!({"output": {"spikes_file_csv": "$INPUT_DIR/lgn_spikes.h5"}}),
            &["lgn_spikes.h5", "inputs.LGN_spikes.input_file"],
        ),
    ];
    let original = std::fs::read_to_string(&cfg).unwrap();
    for (patch, needles) in cases {
        std::fs::write(&cfg, &original).unwrap();
        edit_json(&cfg, |v| {
            for (k, sub) in patch.as_object().unwrap() {
                match v.get_mut(k).and_then(|x| x.as_object_mut()) {
                    Some(o) => o.extend(sub.as_object().unwrap().clone()),
                    None => v[k] = sub.clone(),
                }
            }
        });
        let o = glifnet(d.path(), &["run", cfg.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{patch}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{patch}: {err}");
        for n in needles {
            assert!(err.contains(n), "{patch}: '{n}' not in {err}");
        }
        assert!(
            !d.path().join("net/output").exists(),
            "{patch}: nothing written"
        );
    }
    // the input spike file is untouched
    assert!(spike_count(&d.path().join("net/inputs/lgn_spikes.h5")).0 > 0);
}

/// A long run with a membrane report, stopped by SIGINT or SIGTERM at several moments: before
/// the simulation (nothing written) or during it (valid, truncated files). Never a temp file
/// left, and a rerun always works.
#[test]
fn sigint_and_sigterm_write_what_was_simulated_and_exit_130_or_143() {
    let _g = serial();
    let d = tempfile::tempdir().unwrap();
    let cfg = v1_l4(d.path());
    with_report(&cfg);
    let out_dir = d.path().join("out");
    // moments: right away (during loading), and 0.1 / 0.4 s after the simulation started
    let moments: [(Option<u64>, &str, i32); 5] = [
        (None, "-TERM", 143),
        (Some(100), "-TERM", 143),
        (Some(400), "-TERM", 143),
        (Some(100), "-INT", 130),
        (Some(400), "-INT", 130),
    ];
    for (after_start_ms, sig, code) in moments {
        let child = Command::new(common::glifnet_bin())
            .current_dir(d.path())
            .env("HDF5_USE_FILE_LOCKING", "FALSE")
            .args([
                "run",
                cfg.to_str().unwrap(),
                "--quiet",
                "--threads",
                "1",
                "--dt",
                "0.01",
                "--tstop",
                "100000",
                "--output-dir",
                "out",
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(ms) = after_start_ms {
            // the report's staging file appears right before the simulation starts
            let t0 = Instant::now();
            while !names(&out_dir)
                .iter()
                .any(|n| n.contains("v_report.h5.tmp"))
            {
                assert!(t0.elapsed() < Duration::from_secs(60), "run did not start");
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(ms));
        }
        let st = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        let what = format!("{sig} after {after_start_ms:?} ms");
        match o.status.code() {
            Some(c) => assert_eq!(c, code, "{what}: {err}"),
            // a signal before the handler was installed ends the process the default way
            None => assert!(after_start_ms.is_none(), "{what}: killed"),
        }
        assert!(temps(&out_dir).is_empty(), "{what}: {:?}", names(&out_dir));
        if after_start_ms.is_some() {
            assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err}");
            assert!(err.contains("truncated at"), "{what}: {err}");
            let log = std::fs::read_to_string(out_dir.join("log.txt")).unwrap();
            assert!(log.contains("truncated"), "{what}: {log}");
            // "… truncated at T of 100000.000 ms …"
            let t_cut: f64 = err
                .split("truncated at ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("{what}: no time in {err}"));
            assert!(t_cut > 0.0 && t_cut < 100_000.0, "{what}: {err}");
            // the config copy says how far the run got (plot windows end there)
            let copy: Value = serde_json::from_str(
                &std::fs::read_to_string(out_dir.join("config.json")).unwrap(),
            )
            .unwrap();
            assert_eq!(copy["run"]["tstop"].as_f64(), Some(t_cut), "{what}");
            assert_eq!(copy["run"]["tstop_requested"].as_f64(), Some(100_000.0));
            // valid files holding the simulated time only
            let (_, last) = spike_count(&out_dir.join("spikes.h5"));
            assert!(last <= t_cut, "{what}: last spike {last} after {t_cut}");
            let tr =
                glifnet::sonata::report::read_trace(&out_dir.join("v_report.h5"), None, 0).unwrap();
            // one sample per 0.01 ms step up to the cut
            assert_eq!(tr.times.len(), (t_cut / 0.01).round() as usize, "{what}");
            assert_eq!(tr.times.len(), tr.values.len());
        }
    }
    // and a plain rerun works in the same folder
    let o = glifnet(
        d.path(),
        &[
            "run",
            cfg.to_str().unwrap(),
            "--quiet",
            "--output-dir",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(spike_count(&out_dir.join("spikes.h5")).0, 4641 + 5012);
}

#[test]
fn stale_temp_files_of_a_killed_run_are_removed_and_never_block_a_rerun() {
    let _g = serial();
    let d = tempfile::tempdir().unwrap();
    let cfg = v1_l4(d.path());
    let out_dir = d.path().join("net/output");
    std::fs::create_dir_all(&out_dir).unwrap();
    // what a SIGKILLed run leaves (a PID that does not run), and a user's own hidden file
    let dead = [
        ".spikes.h5.tmp-4000000",
        ".raster.png.tmp-4000000.png",
        ".log.txt.tmp4000000",
    ];
    for n in dead {
        std::fs::write(out_dir.join(n), "partial").unwrap();
    }
    std::fs::write(out_dir.join(".my.tmp"), "user").unwrap();
    edit_json(&cfg, |v| {
        v["output"]
            .as_object_mut()
            .unwrap()
            .remove("overwrite_output_dir");
    });
    let o = glifnet(d.path(), &["run", cfg.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(temps(&out_dir) == [".my.tmp"], "{:?}", names(&out_dir));
    let log = std::fs::read_to_string(out_dir.join("log.txt")).unwrap();
    assert!(log.contains(".spikes.h5.tmp-4000000"), "{log}");
}

/// `--output-dir` inside the configured folder with a report: the report lands in the new
/// folder once (not `output/sub/sub/`).
#[test]
fn output_dir_inside_the_configured_one_is_applied_once() {
    let _g = serial();
    let d = tempfile::tempdir().unwrap();
    let cfg = v1_l4(d.path());
    with_report(&cfg);
    let o = glifnet(
        d.path(),
        &[
            "run",
            cfg.to_str().unwrap(),
            "--quiet",
            "--tstop",
            "50",
            "--output-dir",
            "net/output/sub",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let sub = d.path().join("net/output/sub");
    assert_eq!(
        names(&sub),
        [
            ".glifnet-outputs",
            "config.json",
            "log.txt",
            "raster.png",
            "spikes.csv",
            "spikes.h5",
            "v_report.h5"
        ]
    );
    let tr = glifnet::sonata::report::read_trace(&sub.join("v_report.h5"), None, 0).unwrap();
    assert_eq!(tr.times.len(), 500); // 50 ms at dt 0.1
}

fn tiny(d: &Path, run: Value) -> PathBuf {
    let v1 = Pop {
        name: "v1",
        types: vec![(10, "point_neuron", "nest:iaf_psc_delta", delta_cell(2.0))],
        nodes: vec![10; 2],
    };
    let e = Edges {
        source: "v1",
        target: "v1",
        types: vec![EType::new(1, 20.0, 1.0, None)],
        edges: vec![(0, 1, 1, None)],
        h5_delay: None,
    };
    write_config(d, &[v1], &[e], json!({}), run)
}

#[test]
fn thread_counts_are_bounded_and_zero_means_all_cores() {
    let _g = serial();
    let d = tempfile::tempdir().unwrap();
    tiny(d.path(), json!({"tstop": 10.0, "dt": 0.1}));
    let cores = std::thread::available_parallelism().unwrap().get();
    let o = glifnet(d.path(), &["run", "config.json", "--threads", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(", {cores} thread(s) (--threads)")),
        "{}",
        stderr(&o)
    );
    // far more than the cores: bounded to 4 per core with a warning, and fast
    for big in ["2000", "100000000"] {
        let t = Instant::now();
        let o = glifnet(d.path(), &["run", "config.json", "--threads", big]);
        let err = stderr(&o);
        assert!(o.status.success(), "{err}");
        let bound = format!("using {} threads", 4 * cores);
        assert!(
            err.contains("warning: --threads") && err.contains(big) && err.contains(&bound),
            "{err}"
        );
        assert!(
            err.contains(&format!("{} thread(s) (--threads)", 4 * cores)),
            "{err}"
        );
        assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    }
    let many = (cores + 1).to_string();
    let o = glifnet(d.path(), &["run", "config.json", "--threads", &many]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning:") && stderr(&o).contains("core"),
        "{}",
        stderr(&o)
    );
    // run.n_thread from the config, and its bound named as a config field
    edit_json(&d.path().join("config.json"), |v| {
        v["run"]["n_thread"] = json!(5000)
    });
    let o = glifnet(d.path(), &["run", "config.json"]);
    assert!(stderr(&o).contains("run.n_thread = 5000"), "{}", stderr(&o));
}

#[test]
fn tstop_must_be_a_whole_number_of_steps_and_overrides_are_blamed_on_the_command_line() {
    let _g = serial();
    let d = tempfile::tempdir().unwrap();
    tiny(d.path(), json!({"tstop": 10.0, "dt": 0.03}));
    let o = glifnet(d.path(), &["run", "config.json", "--quiet"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("config.json: run.tstop = 10") && err.contains("not a multiple"),
        "{err}"
    );
    assert!(!d.path().join("output").exists());
    let o = glifnet(
        d.path(),
        &[
            "run",
            "config.json",
            "--quiet",
            "--dt",
            "0.1",
            "--tstop",
            "10.05",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("--tstop (command line) = 10.05"), "{err}");
    let o = glifnet(d.path(), &["run", "config.json", "--quiet", "--dt=-1"]);
    let err = stderr(&o);
    assert!(
        err.contains("--dt (command line) = -1") && !err.contains("config.json"),
        "{err}"
    );
    let o = glifnet(
        d.path(),
        &["run", "config.json", "--quiet", "--dt", "0.025"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}
