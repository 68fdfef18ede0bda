//! The shipped `networks/v1_l4` circuit: node types and counts, receptor ports of the E/I
//! recurrence (e2e 1, i2e 2, e2i 3, i2i 4, docs/sonata-bmtk.md §2.3), exact LGN in-degrees.

mod build_util;

use std::collections::BTreeMap;

use build_util::*;

#[test]
fn v1_l4_builds_as_specified() {
    let dir = tempfile::tempdir().unwrap();
    let r = build_to(&root().join("networks/v1_l4"), dir.path(), None, None);
    let net = dir.path().join("network");
    let mut by_type = BTreeMap::new();
    for t in read_node_types(&net.join("l4_nodes.h5"), "l4") {
        *by_type.entry(t).or_insert(0) += 1;
    }
    assert_eq!(
        by_type,
        BTreeMap::from([(100, 450), (101, 400), (102, 350), (103, 180), (104, 120)])
    );
    assert_eq!(r.populations[1], ("lgn".to_string(), 100, true));

    // Receptor ports per synapse file, and the edge types that use them.
    let port = |f: &str| -> u64 {
        let s =
            std::fs::read_to_string(dir.path().join("components/synaptic_models").join(f)).unwrap();
        serde_json::from_str::<serde_json::Value>(&s).unwrap()["receptor_type"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        [
            port("e2e.json"),
            port("i2e.json"),
            port("e2i.json"),
            port("i2i.json")
        ],
        [1, 2, 3, 4]
    );
    let csv = std::fs::read_to_string(net.join("l4_l4_edge_types.csv")).unwrap();
    for (etid, tq, sq, file) in [
        (100, "ei=='e'", "ei=='e'", "e2e.json"),
        (101, "ei=='i'", "ei=='e'", "e2i.json"),
        (102, "ei=='e'", "ei=='i'", "i2e.json"),
        (103, "ei=='i'", "ei=='i'", "i2i.json"),
    ] {
        let row = csv
            .lines()
            .find(|l| l.starts_with(&format!("{etid} ")))
            .unwrap();
        assert!(
            row.starts_with(&format!("{etid} {tq} {sq} static_synapse")) && row.contains(file),
            "{row}"
        );
    }
    // Every tau_syn is the 4-port BMTK convention.
    for m in ["E4_rs_a", "E4_rs_b", "E4_rs_c", "PV4_fs_a", "PV4_fs_b"] {
        let s =
            std::fs::read_to_string(dir.path().join(format!("components/cell_models/{m}.json")))
                .unwrap();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["tau_syn"], serde_json::json!([5.5, 8.5, 2.8, 5.8]), "{m}");
    }
    // LGN: fixed in-degree 20 onto excitatory cells (ids 0..1200), 25 onto PV cells.
    let e = read_edges(&net.join("lgn_l4_edges.h5"), "lgn_to_l4");
    let mut indeg = vec![0; 1500];
    for &t in &e.target {
        indeg[t as usize] += 1;
    }
    assert!(indeg[..1200].iter().all(|&k| k == 20) && indeg[1200..].iter().all(|&k| k == 25));
    // Recurrent edges exist for all four E/I combinations.
    let rec = &r.edges[0].1;
    assert!(
        rec.per_rule.iter().all(|&n| n > 10_000),
        "{:?}",
        rec.per_rule
    );
}
