//! Connection-rule statistics, selections, nsyns, Poisson inputs, scaling and error handling of
//! `glifnet build`, on small specs written by the tests.

mod build_util;
mod common;

use std::process::Command;

use build_util::*;
use serde_json::{json, Value};

/// A spec with population `a` (two types with positions and a per-node attribute) and a
/// virtual population `in`, plus the given edges.
fn spec(edges: Value) -> Value {
    let cyl = json!({"box": {"x": [0.0, 400.0], "y": [0.0, 400.0], "z": [0.0, 400.0]}});
    json!({
        "seed": 3,
        "components": {
            "cell_models": {"exc.json": {"V_th": -50.0}, "inh.json": {}},
            "synaptic_models": {"e2e.json": {"receptor_type": 1}}
        },
        "populations": [
            {"name": "a", "node_types": [
                {"node_type_id": 10, "count": 800, "model_template": "nest:glif_psc", "dynamics_params": "exc.json",
                 "attributes": {"ei": "e"}, "positions": cyl, "node_attributes": {"tuning_angle": {"uniform": [0.0, 360.0]}}},
                {"node_type_id": 11, "count": 200, "model_template": "nest:iaf_psc_alpha", "dynamics_params": "inh.json",
                 "attributes": {"ei": "i"}, "positions": cyl}
            ]},
            {"name": "in", "virtual": true, "node_types": [{"count": 50, "attributes": {"ei": "e"}}]}
        ],
        "edges": edges,
        "inputs": [{"name": "drive", "population": "in", "rate_hz": 20.0, "stop_ms": 2000.0}],
        "simulation": {"tstop": 2000.0, "dt": 0.1}
    })
}

fn edge(src: Value, trg: Value, conn: Value) -> Value {
    json!({"source": src, "target": trg, "connection": conn, "syn_weight": 1.5, "delay": 2.0, "dynamics_params": "e2e.json"})
}

fn build_spec(s: &Value, scale: Option<f64>) -> (tempfile::TempDir, glifnet::build::BuildReport) {
    let dir = tempfile::tempdir().unwrap();
    let p = write_spec(dir.path(), s);
    let r = build_to(&p, &dir.path().join("out"), scale, None);
    (dir, r)
}

#[test]
fn fixed_probability_counts_and_no_autapses() {
    let s = spec(json!([edge(
        json!({"population": "a"}),
        json!({"population": "a"}),
        json!({"rule": "fixed_probability", "p": 0.1})
    )]));
    let (d, r) = build_spec(&s, None);
    let e = read_edges(&d.path().join("out/network/a_a_edges.h5"), "a_to_a");
    // 1000 x 999 ordered pairs, p = 0.1: 99,900 expected.
    assert!(
        within_sigma(e.source.len() as f64, 999_000.0, 0.1, 5.0),
        "{}",
        e.source.len()
    );
    assert_eq!(r.edges[0].1.edges, e.source.len());
    assert!(e.source.iter().zip(&e.target).all(|(s, t)| s != t));
    assert!(e.nsyns.iter().all(|&k| k == 1));
    assert!(e.edge_type_id.iter().all(|&k| k == 100));
}

#[test]
fn selection_by_attribute_and_range() {
    let s = spec(json!([edge(
        json!({"population": "a", "ei": "i"}),
        json!({"population": "a", "tuning_angle": {"min": 0.0, "max": 90.0}}),
        json!({"rule": "fixed_probability", "p": 1.0})
    )]));
    let (d, _) = build_spec(&s, None);
    let out = d.path().join("out/network");
    let e = read_edges(&out.join("a_a_edges.h5"), "a_to_a");
    let tuning = read_f64(&out.join("a_nodes.h5"), "nodes/a/0/tuning_angle");
    assert_eq!(tuning.len(), 800);
    let targets: Vec<usize> = (0..800).filter(|&i| tuning[i] < 90.0).collect();
    // Sources: the 200 inhibitory nodes (ids 800..999); targets: tuning in [0, 90).
    assert_eq!(e.source.len(), 200 * targets.len());
    assert!(e.source.iter().all(|&s| (800..1000).contains(&s)));
    assert!(e.target.iter().all(|&t| tuning[t as usize] < 90.0));
    let csv = std::fs::read_to_string(out.join("a_a_edge_types.csv")).unwrap();
    assert!(
        csv.contains(
            "100 tuning_angle>=0&tuning_angle<90 ei=='i' static_synapse 1.5 e2e.json 2.0\r\n"
        ),
        "{csv}"
    );
}

#[test]
fn gaussian_probability_follows_distance() {
    let (p_max, sigma) = (0.8, 60.0);
    let s = spec(json!([edge(
        json!({"population": "a"}),
        json!({"population": "a"}),
        json!({"rule": "gaussian", "p_max": p_max, "sigma": sigma, "max_distance": 150.0})
    )]));
    let (d, _) = build_spec(&s, None);
    let out = d.path().join("out/network");
    let e = read_edges(&out.join("a_a_edges.h5"), "a_to_a");
    let pos: Vec<[f64; 3]> = {
        let g =
            |c: &str, grp: &str| read_f64(&out.join("a_nodes.h5"), &format!("nodes/a/{grp}/{c}"));
        let (x0, y0, z0, x1, y1, z1) = (
            g("x", "0"),
            g("y", "0"),
            g("z", "0"),
            g("x", "1"),
            g("y", "1"),
            g("z", "1"),
        );
        x0.iter()
            .chain(&x1)
            .zip(y0.iter().chain(&y1))
            .zip(z0.iter().chain(&z1))
            .map(|((x, y), z)| [*x, *y, *z])
            .collect()
    };
    let dist =
        |a: usize, b: usize| ((0..3).map(|k| (pos[a][k] - pos[b][k]).powi(2)).sum::<f64>()).sqrt();
    let mut connected = std::collections::HashSet::new();
    for (s, t) in e.source.iter().zip(&e.target) {
        connected.insert((*s as usize, *t as usize));
        assert!(dist(*s as usize, *t as usize) <= 150.0);
    }
    // Empirical connection probability per 30 um distance bin vs p_max exp(-d^2 / 2 sigma^2).
    let mut pairs = [0f64; 5];
    let mut hits = [0f64; 5];
    let mut expect = [0f64; 5];
    for a in 0..1000 {
        for b in 0..1000 {
            let dd = dist(a, b);
            if a == b || dd >= 150.0 {
                continue;
            }
            let k = (dd / 30.0) as usize;
            pairs[k] += 1.0;
            expect[k] += p_max * (-dd * dd / (2.0 * sigma * sigma)).exp();
            hits[k] += connected.contains(&(a, b)) as u8 as f64;
        }
    }
    for k in 0..5 {
        let sd = expect[k].sqrt().max(1.0);
        assert!(
            (hits[k] - expect[k]).abs() < 5.0 * sd,
            "bin {k}: {} vs {}",
            hits[k],
            expect[k]
        );
    }
}

#[test]
fn fixed_indegree_and_one_to_one() {
    let s = spec(json!([
        edge(
            json!({"population": "a"}),
            json!({"population": "a", "ei": "e"}),
            json!({"rule": "fixed_indegree", "indegree": 37})
        ),
        edge(
            json!({"population": "in"}),
            json!({"population": "a", "node_type_id": 11, "tuning_angle": {"max": 1.0}}),
            json!({"rule": "one_to_one"})
        ),
    ]));
    // one_to_one needs equal sizes: 50 inputs vs 0 targets of type 11 with a tuning angle -> error.
    let dir = tempfile::tempdir().unwrap();
    let p = write_spec(dir.path(), &s);
    let err = glifnet::build::build(&p, &dir.path().join("out"), &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("edges[1].connection") && err.contains("50 sources and 0 targets"),
        "{err}"
    );
    assert!(
        !dir.path().join("out/network").exists(),
        "no partial output on error"
    );

    let mut s = s;
    s["edges"][1]["target"] =
        json!({"population": "a", "node_type_id": 10, "tuning_angle": {"max": 360.0}});
    s["edges"][1]["nsyns"] = json!({"uniform": [2, 5]});
    s["populations"][0]["node_types"][0]["count"] = json!(50);
    let (d, _) = build_spec(&s, None);
    let out = d.path().join("out/network");
    let e = read_edges(&out.join("a_a_edges.h5"), "a_to_a");
    let mut indeg = vec![0usize; 250];
    for (s, t) in e.source.iter().zip(&e.target) {
        assert_ne!(s, t);
        indeg[*t as usize] += 1;
    }
    assert!(indeg[..50].iter().all(|&k| k == 37) && indeg[50..].iter().all(|&k| k == 0));
    let o = read_edges(&out.join("in_a_edges.h5"), "in_to_a");
    assert_eq!(o.source, (0..50).collect::<Vec<u64>>());
    assert_eq!(o.target, (0..50).collect::<Vec<u64>>());
    assert!(o.nsyns.iter().all(|k| (2..=5).contains(k)));
}

#[test]
fn poisson_input_rate_and_file() {
    let (d, r) = build_spec(&spec(json!([])), None);
    // 50 nodes x 20 Hz x 2 s = 2000 spikes expected.
    let n = r.inputs[0].1 as f64;
    assert!((n - 2000.0).abs() < 5.0 * 2000f64.sqrt(), "{n}");
    let ts = read_f64(
        &d.path().join("out/inputs/drive.h5"),
        "spikes/in/timestamps",
    );
    assert_eq!(ts.len() as f64, n);
    assert!(ts.iter().all(|&t| t > 0.0 && t < 2000.0));
    let cfg: Value = serde_json::from_str(
        &std::fs::read_to_string(d.path().join("out/config.simulation.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cfg["inputs"]["drive"]["input_file"], "$INPUT_DIR/drive.h5");
    assert_eq!(cfg["inputs"]["drive"]["node_set"], "in");
    assert_eq!(cfg["run"]["dt"], 0.1);
}

#[test]
fn scaling_keeps_in_degree() {
    let s = spec(json!([edge(
        json!({"population": "a", "ei": "e"}),
        json!({"population": "a"}),
        json!({"rule": "fixed_probability", "p": 0.2})
    )]));
    let (_d1, r1) = build_spec(&s, Some(1.0));
    let (_d3, r3) = build_spec(&s, Some(3.0));
    assert_eq!(r1.populations[0].1, 1000);
    assert_eq!(r3.populations[0].1, 3000);
    assert_eq!(r3.populations[1].1, 50, "virtual populations do not scale");
    let k1 = r1.edges[0].1.edges as f64 / 1000.0;
    let k3 = r3.edges[0].1.edges as f64 / 3000.0;
    // Expected in-degree 0.2 x 800 = 160 at every scale.
    assert!(
        (k1 - 160.0).abs() < 1.5 && (k3 - 160.0).abs() < 1.0,
        "{k1} {k3}"
    );
}

#[test]
fn bad_specs_fail_with_one_line_naming_the_field() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"rule": "fixed_probability", "p": 1.5}),
            "edges[0].connection.p: must be in [0, 1], got 1.5",
        ),
        (
            json!({"rule": "gaussian", "p_max": 0.5, "sigma": -1.0}),
            "edges[0].connection.sigma",
        ),
        (
            json!({"rule": "fixed_indegree", "indegree": 5000}),
            "edges[0].connection.indegree: 5000 exceeds the 999 available sources",
        ),
        (json!({"rule": "nearest"}), "unknown variant `nearest`"),
        (
            json!({"rule": "one_to_one", "delay": 0.05}),
            "unknown field `delay`",
        ),
    ];
    for (conn, msg) in cases {
        let dir = tempfile::tempdir().unwrap();
        let p = write_spec(
            dir.path(),
            &spec(json!([edge(
                json!({"population": "a"}),
                json!({"population": "a"}),
                conn
            )])),
        );
        let o = Command::new(common::glifnet_bin())
            .args([
                "build",
                p.to_str().unwrap(),
                "-o",
                dir.path().join("out").to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.contains(p.to_str().unwrap()) && err.contains(msg),
            "{err}"
        );
    }
    // A delay shorter than dt (NEST's BadDelay).
    let dir = tempfile::tempdir().unwrap();
    let mut e = edge(
        json!({"population": "a"}),
        json!({"population": "a"}),
        json!({"rule": "one_to_one"}),
    );
    e["delay"] = json!(0.05);
    let p = write_spec(dir.path(), &spec(json!([e])));
    let err = glifnet::build::build(&p, dir.path(), &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("edges[0].delay: 0.05 ms is shorter than simulation.dt 0.1 ms"),
        "{err}"
    );
    // Selection on an attribute no node has.
    let dir = tempfile::tempdir().unwrap();
    let p = write_spec(
        dir.path(),
        &spec(json!([edge(
            json!({"population": "a", "eii": "e"}),
            json!({"population": "a"}),
            json!({"rule": "one_to_one"})
        )])),
    );
    let err = glifnet::build::build(&p, dir.path(), &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("edges[0].source.eii") && err.contains("has attribute \"eii\""),
        "{err}"
    );
    // Usage error: exit code 2.
    let o = Command::new(common::glifnet_bin())
        .args(["build"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
