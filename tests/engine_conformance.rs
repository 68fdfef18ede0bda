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
    let out = Command::new(common::glifnet_bin())
        .current_dir(ex)
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
    let mut refs: HashMap<(u64, i64), usize> = HashMap::new();
    for &(n, t) in reference {
        *refs.entry((n, key(t))).or_default() += 1;
    }
    let mut matched = 0;
    for &(n, t) in ours {
        if let Some(c) = refs.get_mut(&(n, key(t))) {
            if *c > 0 {
                // timestamps are stamps of the same grid: equal within 1e-6 ms
                assert!((key(t) as f64 * dt - t).abs() < 1e-6);
                *c -= 1;
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
