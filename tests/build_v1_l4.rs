//! The shipped `networks/v1_l4` circuit: node types and counts, receptor ports of the E/I
//! recurrence (e2e 1, i2e 2, e2i 3, i2i 4, docs/sonata-bmtk.md §2.3), exact LGN in-degrees.
//! Populations: l4_exc (3 excitatory types), l4_pv (2 fast-spiking types), lgn (virtual).

mod build_util;

use std::collections::BTreeMap;

use build_util::*;

#[test]
fn v1_l4_builds_as_specified() {
    let dir = tempfile::tempdir().unwrap();
    let r = build_to(&root().join("networks/v1_l4"), dir.path(), None, None);
    let net = dir.path().join("network");
    let count = |pop: &str| {
        let mut m = BTreeMap::new();
        for t in read_node_types(&net.join(format!("{pop}_nodes.h5")), pop) {
            *m.entry(t).or_insert(0) += 1;
        }
        m
    };
    assert_eq!(
        count("l4_exc"),
        BTreeMap::from([(100, 450), (101, 400), (102, 350)])
    );
    assert_eq!(count("l4_pv"), BTreeMap::from([(103, 180), (104, 120)]));
    assert_eq!(r.populations[2], ("lgn".to_string(), 100, true));

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
    for (stem, file) in [
        ("l4_exc_l4_exc", "e2e.json"),
        ("l4_exc_l4_pv", "e2i.json"),
        ("l4_pv_l4_exc", "i2e.json"),
        ("l4_pv_l4_pv", "i2i.json"),
    ] {
        let csv = std::fs::read_to_string(net.join(format!("{stem}_edge_types.csv"))).unwrap();
        let row = csv.lines().nth(1).unwrap();
        assert!(
            row.starts_with("100 * * static_synapse") && row.contains(file),
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
    // LGN: fixed in-degree 20 onto every excitatory cell, 25 onto every PV cell.
    for (pop, n, k) in [("l4_exc", 1200, 20), ("l4_pv", 300, 25)] {
        let e = read_edges(
            &net.join(format!("lgn_{pop}_edges.h5")),
            &format!("lgn_to_{pop}"),
        );
        let mut indeg = vec![0; n];
        for &t in &e.target {
            indeg[t as usize] += 1;
        }
        assert!(indeg.iter().all(|&d| d == k), "{pop}");
    }
    // Recurrent edges exist for all four E/I combinations (Gaussian rule).
    for e in &r.edges[..4] {
        assert!(e.1.edges > 10_000, "{}: {}", e.0, e.1.edges);
    }
}
