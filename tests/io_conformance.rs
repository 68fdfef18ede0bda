//! Conformance on the shared bmtk example `point_450glifs` and the NEST reference spikes:
//! numbers from docs/sonata-bmtk.md §2.4, §4.1, §8 and reference-data.md.

mod common;

use std::process::Command;

use glifnet::config::{LoadOptions, SimulationConfig};
use glifnet::sonata::spikes::read_spikes;
use glifnet::sonata::Circuit;

fn example_dir() -> std::path::PathBuf {
    common::shared_dir().join("data/bmtk/point_450glifs")
}

fn load() -> (SimulationConfig, Circuit) {
    let dir = example_dir();
    let opts = LoadOptions {
        working_dir: Some(dir.clone()),
        ..Default::default()
    };
    let cfg = SimulationConfig::load_with(dir.join("config.simulation.json"), &opts).unwrap();
    let c = Circuit::load(&cfg).unwrap();
    (cfg, c)
}

/// sonata-bmtk.md §2.4 worked totals: (population, edge type, edges, Σnsyns, Σweight, synapse json).
const TOTALS: [(&str, u64, u64, f64, f64, &str); 9] = [
    ("v1_to_v1", 100, 15149, 37923.0, 94807.5, "e2e.json"),
    ("v1_to_v1", 101, 1860, 4697.0, 23485.0, "e2i.json"),
    ("v1_to_v1", 102, 3224, 8073.0, -52474.5, "i2e.json"),
    ("v1_to_v1", 103, 1584, 3956.0, -11868.0, "i2i.json"),
    (
        "v1_to_v1",
        104,
        4709,
        11853.0,
        35559.0,
        "instantaneousExc.json",
    ),
    (
        "v1_to_v1",
        105,
        2029,
        5070.0,
        -20280.0,
        "instantaneousInh.json",
    ),
    (
        "lgn_to_v1",
        100,
        19202,
        47951.0,
        527461.0,
        "LGN_to_GLIF.json",
    ),
    (
        "lgn_to_v1",
        101,
        4834,
        12111.0,
        169554.0,
        "LGN_to_GLIF.json",
    ),
    (
        "lgn_to_v1",
        102,
        11999,
        30044.0,
        390572.0,
        "instantaneousExc.json",
    ),
];

#[test]
fn circuit_matches_worked_totals() {
    let (cfg, c) = load();
    assert_eq!(cfg.run.as_ref().unwrap().tstop, 3000.0);
    assert_eq!(cfg.run.as_ref().unwrap().dt, 0.001);
    let v1 = c.node_population("v1").unwrap();
    assert_eq!(v1.len(), 450);
    assert_eq!(v1.n_virtual(), 0);
    let g0 = v1.group_ids.iter().filter(|&&g| g == 0).count();
    assert_eq!((g0, 450 - g0), (300, 150));
    let glif = (0..450)
        .filter(|&i| v1.model_template(i).unwrap().to_string() == "nest:glif_psc")
        .count();
    let lif = (0..450)
        .filter(|&i| v1.model_template(i).unwrap().to_string() == "nest:iaf_psc_alpha")
        .count();
    assert_eq!((glif, lif), (300, 150));
    // Group 0 = ids 0-299 (GLIF), group 1 = 300-449 (LIF), types 100-106 with 80,80,80,30,30,75,75.
    assert!(
        (0..300).all(|i| v1.group_of(i).0.id == 0) && (300..450).all(|i| v1.group_of(i).0.id == 1)
    );
    let per_type: Vec<usize> = (100..=106)
        .map(|t| v1.node_type_ids.iter().filter(|&&x| x == t).count())
        .collect();
    assert_eq!(per_type, [80, 80, 80, 30, 30, 75, 75]);
    // The GLIF JSON is loaded once per file and shared; tau_syn has 4 ports.
    let t100 = &v1.node_types[&100];
    assert_eq!(
        t100.dynamics_params.as_ref().unwrap()["tau_syn"],
        serde_json::json!([5.5, 8.5, 2.8, 5.8])
    );
    let lgn = c.node_population("lgn").unwrap();
    assert_eq!((lgn.len(), lgn.n_virtual()), (100, 100));

    let mut n_edges = 0;
    let mut n_syn = 0.0;
    for (pop, etid, edges, nsyns, weight, json) in TOTALS {
        let e = c.edge_population(pop).unwrap();
        let s = e.type_summaries().unwrap();
        let t = s.iter().find(|t| t.edge_type_id == etid).unwrap();
        assert_eq!(t.n_edges, edges, "{pop} {etid}");
        assert_eq!(t.sum_nsyns, nsyns, "{pop} {etid}");
        assert!(
            (t.sum_weight - weight).abs() < 1e-6,
            "{pop} {etid}: {}",
            t.sum_weight
        );
        assert_eq!((t.delay_min, t.delay_max), (2.0, 2.0));
        let et = &e.edge_types[&etid];
        assert!(et.dynamics_params_file.as_ref().unwrap().ends_with(json));
        n_edges += edges;
        n_syn += nsyns;
    }
    assert_eq!((n_edges, n_syn), (64590, 161678.0));
    // dynamics_params files are loaded once and shared (LGN_to_GLIF.json by types 100 and 101).
    let lgn_v1 = c.edge_population("lgn_to_v1").unwrap();
    let (a, b) = (&lgn_v1.edge_types[&100], &lgn_v1.edge_types[&101]);
    assert!(std::sync::Arc::ptr_eq(
        a.dynamics_params.as_ref().unwrap(),
        b.dynamics_params.as_ref().unwrap()
    ));
    assert_eq!(a.receptor_type(), Some(1));
    // instantaneousExc.json is shared across the two edge files too.
    let v1v1 = c.edge_population("v1_to_v1").unwrap();
    assert!(std::sync::Arc::ptr_eq(
        v1v1.edge_types[&104].dynamics_params.as_ref().unwrap(),
        lgn_v1.edge_types[&102].dynamics_params.as_ref().unwrap()
    ));
    assert_eq!(
        (
            v1v1.source_population.as_str(),
            v1v1.target_population.as_str()
        ),
        ("v1", "v1")
    );
    assert_eq!(v1v1.edge_types[&102].receptor_type(), Some(2));
    assert_eq!(v1v1.edge_types[&104].receptor_type(), Some(0));
    assert_eq!(v1v1.indices.as_deref(), Some("node_id_to_range"));
    // Edges sorted by target (BMTK builder).
    assert!(v1v1.target_ids.windows(2).all(|w| w[0] <= w[1]));
    // Node set "lgn" (a population name) selects the 100 virtual nodes.
    let sel = c
        .select(
            cfg.inputs[0].node_set.as_ref().unwrap(),
            &cfg.node_sets,
            &cfg.config_path,
            "inputs.LGN_spikes.node_set",
        )
        .unwrap();
    assert_eq!(sel.len(), 1);
    assert_eq!(
        (sel[0].population.as_str(), sel[0].node_ids.len()),
        ("lgn", 100)
    );
    // Attribute filters: ei == "i" within v1 = types 103, 104, 106 = 30 + 30 + 75.
    let sel = c
        .select(
            &serde_json::json!({"population": "v1", "ei": "i"}),
            &cfg.node_sets,
            &cfg.config_path,
            "x",
        )
        .unwrap();
    assert_eq!(sel[0].node_ids.len(), 135);
}

#[test]
fn inspect_prints_worked_totals() {
    let out = Command::new(common::glifnet_bin())
        .args(["inspect", "config.simulation.json"])
        .current_dir(example_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for (_, etid, edges, nsyns, weight, json) in TOTALS {
        let line = format!("type {etid}: edges {edges}, nsyns {nsyns}, weight {weight:?}, delay 2..2 ms, model static_synapse, dynamics_params {json}");
        assert!(text.contains(&line), "missing line `{line}` in\n{text}");
    }
    for line in [
        "  v1: 450 nodes, 0 virtual",
        "    group 0: 300 nodes",
        "    group 1: 150 nodes",
        "    model nest:glif_psc: 300 nodes",
        "    model nest:iaf_psc_alpha: 150 nodes",
        "  lgn: 100 nodes, 100 virtual",
        "  v1_to_v1: v1 -> v1, 28555 edges",
        "  lgn_to_v1: lgn -> v1, 36035 edges",
        "  lgn -> v1: lgn_to_v1 (36035 edges)",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
    // Inputs and outputs are absolute paths resolved against the working directory.
    let dir = example_dir();
    assert!(text.contains(&format!(
        "file {}",
        dir.join("inputs/lgn_spikes.h5").display()
    )));
    assert!(text.contains(&format!(
        "spikes_file {}",
        dir.join("output/spikes.h5").display()
    )));
    assert!(text.contains(&format!(
        "log_file {}",
        dir.join("output/log.txt").display()
    )));

    let dot = Command::new(common::glifnet_bin())
        .args(["inspect", "config.simulation.json", "--dot"])
        .current_dir(example_dir())
        .output()
        .unwrap();
    let dot = String::from_utf8(dot.stdout).unwrap();
    assert!(dot.starts_with("digraph {"), "{dot}");
    assert!(
        dot.contains("1 -> 0 [ label = \"lgn_to_v1 (36035 edges)\" ]"),
        "{dot}"
    );
    assert!(
        dot.contains("0 -> 0 [ label = \"v1_to_v1 (28555 edges)\" ]"),
        "{dot}"
    );
}

#[test]
fn nest_reference_spikes() {
    let p = common::shared_dir().join("reference/nest/point_450glifs/spikes_dt0.001.h5");
    let s = read_spikes(&p).unwrap();
    assert_eq!(s.populations.len(), 1);
    let v1 = s.get("v1").unwrap();
    assert_eq!(v1.len(), 76_896);
    let glif = v1.node_ids.iter().filter(|&&i| i < 300).count();
    assert_eq!((glif, v1.len() - glif), (70_277, 6_619));
    // First spikes (§8): node 59 at 21.423 ms, node 21 at 21.624 ms.
    let mut order: Vec<usize> = (0..v1.len()).collect();
    order.sort_by(|&a, &b| v1.timestamps_ms[a].total_cmp(&v1.timestamps_ms[b]));
    assert_eq!(v1.node_ids[order[0]], 59);
    assert!((v1.timestamps_ms[order[0]] - 21.423).abs() < 1e-9);
    assert_eq!(v1.node_ids[order[1]], 21);
    assert!((v1.timestamps_ms[order[1]] - 21.624).abs() < 1e-9);
    // The 5 silent LIF cells.
    for silent in [380, 392, 422, 424, 425] {
        assert!(!v1.node_ids.contains(&silent));
    }
    let fired: std::collections::BTreeSet<u64> = v1.node_ids.iter().copied().collect();
    assert_eq!(fired.len(), 445);

    let lgn = read_spikes(&example_dir().join("inputs/lgn_spikes.h5")).unwrap();
    let l = lgn.for_population("lgn").unwrap();
    assert_eq!(l.len(), 3044);
    assert_eq!(*l.node_ids.iter().max().unwrap(), 99);
    let tmin = l
        .timestamps_ms
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    let tmax = l
        .timestamps_ms
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    assert!(
        (tmin - 1.176).abs() < 1e-9 && (tmax - 2998.693).abs() < 1e-9,
        "{tmin} {tmax}"
    );
}
