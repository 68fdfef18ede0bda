//! `networks/scaled_450glifs` against BMTK's point_450glifs example files (docs/sonata-bmtk.md
//! §2.3–2.4): node and edge counts at N = 1 and N = 10, per-edge-type counts, the nsyns
//! distribution, and byte-identical rebuilds (also across thread counts).

mod build_util;
mod common;

use std::collections::BTreeMap;
use std::process::Command;

use build_util::*;

fn counts_by<T: Ord + Copy>(v: &[T]) -> BTreeMap<T, usize> {
    let mut m = BTreeMap::new();
    for &x in v {
        *m.entry(x).or_insert(0) += 1;
    }
    m
}

#[test]
fn scale_1_matches_point_450glifs() {
    let _serial = serial();
    let refdir = common::shared_dir().join("data/bmtk/point_450glifs/network");
    let dir = tempfile::tempdir().unwrap();
    let r = build_to(
        &root().join("networks/scaled_450glifs"),
        dir.path(),
        Some(1.0),
        None,
    );
    let net = dir.path().join("network");

    // Nodes: exactly the example's types and counts.
    let mine = counts_by(&read_node_types(&net.join("v1_nodes.h5"), "v1"));
    let theirs = counts_by(&read_node_types(&refdir.join("v1_nodes.h5"), "v1"));
    assert_eq!(mine, theirs);
    assert_eq!(read_node_types(&net.join("lgn_nodes.h5"), "lgn").len(), 100);
    assert_eq!(r.populations[0], ("v1".to_string(), 450, false));

    for (file, pop) in [
        ("v1_v1_edges.h5", "v1_to_v1"),
        ("lgn_v1_edges.h5", "lgn_to_v1"),
    ] {
        let a = read_edges(&net.join(file), pop);
        let b = read_edges(&refdir.join(file), pop);
        // Total within 2% (the acceptance criterion): 28,555 and 36,035 in the example.
        let (na, nb) = (a.source.len() as f64, b.source.len() as f64);
        assert!((na / nb - 1.0).abs() < 0.02, "{pop}: {na} edges vs {nb}");
        // Every edge type within 5 sigma of the example's count (two binomial draws).
        let (ca, cb) = (counts_by(&a.edge_type_id), counts_by(&b.edge_type_id));
        assert_eq!(ca.keys().collect::<Vec<_>>(), cb.keys().collect::<Vec<_>>());
        for (k, &n) in &cb {
            let d = (ca[k] as f64 - n as f64).abs();
            assert!(
                d <= 5.0 * (2.0 * n as f64).sqrt(),
                "{pop} type {k}: {} vs {n}",
                ca[k]
            );
        }
        // nsyns uniform on 1..4 as in the example (each ~25%).
        let h = counts_by(&a.nsyns);
        assert_eq!(h.keys().copied().collect::<Vec<_>>(), vec![1, 2, 3, 4]);
        for (&k, &n) in &h {
            assert!(
                within_sigma(n as f64, na, 0.25, 5.0),
                "{pop} nsyns {k}: {n}"
            );
        }
        // Sorted by target, no self-loops, no duplicate pairs (as in BMTK's files, §2.1).
        assert!(a.target.windows(2).all(|w| w[0] <= w[1]));
        let mut pairs: Vec<(u64, u64)> = a
            .source
            .iter()
            .copied()
            .zip(a.target.iter().copied())
            .collect();
        if pop == "v1_to_v1" {
            assert!(pairs.iter().all(|(s, t)| s != t));
        }
        pairs.sort_unstable();
        pairs.dedup();
        assert_eq!(pairs.len() as f64, na);
    }
    // Types CSVs carry the example's weights, delays and synapse files (§2.3).
    let csv = std::fs::read_to_string(net.join("v1_v1_edge_types.csv")).unwrap();
    assert!(
        csv.contains("102 ei=='e'&placement=='inner' ei=='i' static_synapse -6.5 i2e.json 2.0\r\n")
    );
    let rec =
        std::fs::read_to_string(dir.path().join("components/synaptic_models/e2i.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&rec).unwrap()["receptor_type"],
        3
    );
    // ~10 Hz x 3 s x 100 LGN nodes (the example's input file has 3044 spikes).
    let n_in = r.inputs[0].1 as f64;
    assert!((n_in - 3000.0).abs() < 5.0 * 3000f64.sqrt(), "{n_in}");
}

#[test]
fn scale_10_keeps_in_degree() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let r = build_to(
        &root().join("networks/scaled_450glifs"),
        dir.path(),
        Some(10.0),
        None,
    );
    assert_eq!(r.populations[0].1, 4500);
    assert_eq!(r.populations[1].1, 100);
    // 10 x (28,555 + 36,035) = 645,900 within 2%.
    let e: usize = r.edges.iter().map(|e| e.1.edges).sum();
    assert!((e as f64 / 645_900.0 - 1.0).abs() < 0.02, "{e}");
    let rec = r.edges[0].1.edges as f64 / 4500.0;
    assert!(
        (rec - 28_555.0 / 450.0).abs() < 1.5,
        "recurrent in-degree {rec}"
    );
}

#[test]
fn same_spec_and_seed_give_identical_bytes() {
    let _serial = serial();
    let spec = root().join("networks/scaled_450glifs/spec.json");
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let run = |out: &std::path::Path, threads: &str, seed: &str| {
        let o = Command::new(common::glifnet_bin())
            .args([
                "build",
                spec.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
                "--scale",
                "2",
                "--seed",
                seed,
            ])
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(a.path(), "1", "7");
    std::thread::sleep(std::time::Duration::from_millis(1100)); // no timestamps in the files
    run(b.path(), "2", "7");
    run(c.path(), "2", "8");
    let (ta, tb, tc) = (tree(a.path()), tree(b.path()), tree(c.path()));
    assert_eq!(ta.len(), 25);
    assert!(ta == tb, "same spec + seed must give identical bytes");
    let edges = |t: &[(std::path::PathBuf, Vec<u8>)]| {
        t.iter()
            .find(|(p, _)| p.ends_with("v1_v1_edges.h5"))
            .unwrap()
            .1
            .clone()
    };
    assert_ne!(
        edges(&ta),
        edges(&tc),
        "another seed must give another network"
    );
}
