//! Conformance against NEST 3.10 (via BMTK 1.2) on the bmtk example point_450glifs
//! (`reference/nest/point_450glifs/spikes_dt*.h5`, sonata-bmtk.md §8), and thread invariance.
//!
//! The example folders are copied side by side into a temp dir (never written in place), and
//! `glifnet run` is executed from the example folder as BMTK users do.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use glifnet::sonata::spikes::read_spikes;

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// A private copy of point_450glifs + point_components; returns (tempdir guard, example dir).
fn example() -> (tempfile::TempDir, PathBuf) {
    let shared = common::shared_dir();
    let tmp = tempfile::tempdir().unwrap();
    for d in ["point_450glifs", "point_components"] {
        copy_dir(&shared.join("data/bmtk").join(d), &tmp.path().join(d));
    }
    let ex = tmp.path().join("point_450glifs");
    (tmp, ex)
}

fn run(ex: &Path, extra: &[&str]) {
    run_env(ex, extra, &[]);
}

fn run_env(ex: &Path, extra: &[&str], env: &[(&str, &str)]) {
    let out = Command::new(common::glifnet_bin())
        .current_dir(ex)
        .env("HDF5_USE_FILE_LOCKING", "FALSE")
        .envs(env.iter().copied())
        .arg("run")
        .arg("config.simulation.json")
        .arg("--quiet")
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "glifnet run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// (node, time) pairs of population v1.
fn spikes(path: &Path) -> Vec<(u64, f64)> {
    let t = read_spikes(path).unwrap();
    let p = t.get("v1").expect("population v1");
    p.node_ids
        .iter()
        .copied()
        .zip(p.timestamps_ms.iter().copied())
        .collect()
}

struct Match {
    reference: usize,
    ours: usize,
    matched: usize,
    nodes_count_ok: usize,
    nodes: usize,
}

fn compare(ours: &[(u64, f64)], reference: &[(u64, f64)], dt: f64) -> Match {
    let key = |t: f64| (t / dt).round() as i64;
    let mut refs: HashMap<(u64, i64), Vec<f64>> = HashMap::new();
    for &(n, t) in reference {
        refs.entry((n, key(t))).or_default().push(t);
    }
    let mut matched = 0;
    for &(n, t) in ours {
        if let Some(c) = refs.get_mut(&(n, key(t))) {
            if let Some(r) = c.pop() {
                // same grid stamp; glifnet writes NEST's time of the stamp to the last bit
                assert_eq!(r.to_bits(), t.to_bits(), "node {n}: {t} vs NEST {r}");
                matched += 1;
            }
        }
    }
    let mut cr: HashMap<u64, i64> = HashMap::new();
    let mut co: HashMap<u64, i64> = HashMap::new();
    for &(n, _) in reference {
        *cr.entry(n).or_default() += 1;
    }
    for &(n, _) in ours {
        *co.entry(n).or_default() += 1;
    }
    let nodes = 450;
    let nodes_count_ok = (0..450u64)
        .filter(|n| (cr.get(n).unwrap_or(&0) - co.get(n).unwrap_or(&0)).abs() <= 1)
        .count();
    Match {
        reference: reference.len(),
        ours: ours.len(),
        matched,
        nodes_count_ok,
        nodes,
    }
}

fn conformance(dt: f64, expected_ref: usize) {
    let (_tmp, ex) = example();
    let dts = format!("{dt}");
    run(&ex, &["--dt", &dts, "--output-dir", "out"]);
    let ours = spikes(&ex.join("out/spikes.h5"));
    let reference = spikes(
        &common::shared_dir().join(format!("reference/nest/point_450glifs/spikes_dt{dt}.h5")),
    );
    assert_eq!(reference.len(), expected_ref);
    let m = compare(&ours, &reference, dt);
    eprintln!(
        "dt {dt}: NEST {} spikes, glifnet {}, matched {} ({:.3}%), extra {:.3}%, nodes with count ±1: {}/{}",
        m.reference,
        m.ours,
        m.matched,
        100.0 * m.matched as f64 / m.reference as f64,
        100.0 * (m.ours - m.matched) as f64 / m.reference as f64,
        m.nodes_count_ok,
        m.nodes
    );
    assert!(m.matched as f64 >= 0.99 * m.reference as f64);
    assert!((m.ours - m.matched) as f64 <= 0.01 * m.reference as f64);
    assert!(m.nodes_count_ok as f64 >= 0.99 * m.nodes as f64);
}

#[test]
fn point_450glifs_matches_nest_dt0_1() {
    conformance(0.1, 76_318);
}

#[test]
fn point_450glifs_matches_nest_dt0_01() {
    conformance(0.01, 76_828);
}

/// The config's own dt (3 million steps); slow in debug builds, run with `--ignored`.
#[test]
#[ignore]
fn point_450glifs_matches_nest_dt0_001() {
    conformance(0.001, 76_896);
}

#[test]
fn spikes_csv_identical_for_1_2_4_threads() {
    let (_tmp, ex) = example();
    let mut files = Vec::new();
    for th in ["1", "2", "4"] {
        let dir = format!("out{th}");
        run(
            &ex,
            &[
                "--dt",
                "0.1",
                "--tstop",
                "1000",
                "--threads",
                th,
                "--output-dir",
                &dir,
            ],
        );
        files.push(std::fs::read(ex.join(&dir).join("spikes.csv")).unwrap());
    }
    assert!(files[0].len() > 10_000);
    assert_eq!(files[0], files[1]);
    assert_eq!(files[0], files[2]);
}

#[test]
fn ctrl_c_stops_at_an_epoch_and_writes_the_spikes_so_far() {
    let (_tmp, ex) = example();
    let child = Command::new(common::glifnet_bin())
        .current_dir(&ex)
        .env("HDF5_USE_FILE_LOCKING", "FALSE")
        .args([
            "run",
            "config.simulation.json",
            "--quiet",
            "--threads",
            "1",
            "--output-dir",
            "cut",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The output folder appears when the outputs are checked, right before the simulation. At dt 0.001 the 3000 ms
    // take about 2 s on one thread (0.8 s on two, in a fast phase of the VM), so the signal
    // goes 0.4 s in.
    let t0 = std::time::Instant::now();
    while !ex.join("cut").exists() {
        assert!(t0.elapsed().as_secs() < 120, "run did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(400));
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    // exit 128 + SIGINT, and one line saying so even with --quiet
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("truncated at"), "{err}");
    let log = std::fs::read_to_string(ex.join("cut/log.txt")).unwrap();
    assert!(log.contains("truncated"), "{log}");
    let s = spikes(&ex.join("cut/spikes.h5"));
    let last = s.iter().map(|x| x.1).fold(0.0, f64::max);
    assert!(last < 3000.0, "stopped early (last spike {last})");
    // what was simulated is exactly NEST's run up to that time
    let reference: Vec<(u64, f64)> =
        spikes(&common::shared_dir().join("reference/nest/point_450glifs/spikes_dt0.001.h5"))
            .into_iter()
            .filter(|x| x.1 <= last)
            .collect();
    let m = compare(&s, &reference, 0.001);
    assert_eq!(m.matched, s.len());
}

/// The hand-written AVX-512 GLIF step (used where the CPU has it) and the compiler-vectorised
/// step (`GLIFNET_PORTABLE_KERNEL=1`, what other CPUs run) give the same spikes, byte for byte.
/// On a CPU without AVX-512 both runs take the portable step and the test still holds.
#[test]
fn portable_and_avx512_kernels_give_identical_spikes() {
    let (_tmp, ex) = example();
    run(&ex, &["--dt", "0.1", "--output-dir", "fast"]);
    run_env(
        &ex,
        &["--dt", "0.1", "--output-dir", "portable"],
        &[("GLIFNET_PORTABLE_KERNEL", "1")],
    );
    let a = std::fs::read(ex.join("fast/spikes.csv")).unwrap();
    let b = std::fs::read(ex.join("portable/spikes.csv")).unwrap();
    assert!(a.len() > 100_000, "spikes.csv too small: {} bytes", a.len());
    assert!(
        a == b,
        "spikes differ between the AVX-512 and portable kernels"
    );
}
