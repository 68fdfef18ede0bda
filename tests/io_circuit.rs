//! SONATA circuit readers on networks the tests write themselves (tests/io_fixtures):
//! every integer dtype, implicit node ids, N×3 positions, vlen and fixed strings, groups,
//! per-node dynamics_params, CRLF / multi-space / quoted CSVs, per-edge columns over several
//! groups, both index dataset names, empty populations, node sets.

mod io_fixtures;

use glifnet::config::SimulationConfig;
use glifnet::sonata::{Circuit, Value};
use io_fixtures::{write_net, IntType, Variant, ALL_INT_TYPES};
use serde_json::json;

fn load(v: &Variant) -> (tempfile::TempDir, SimulationConfig, Circuit) {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = write_net(dir.path(), v);
    let cfg = SimulationConfig::load(&cfg_path).unwrap();
    let c = Circuit::load(&cfg).unwrap();
    (dir, cfg, c)
}

#[test]
fn every_integer_dtype() {
    for t in ALL_INT_TYPES {
        let (_d, _cfg, c) = load(&Variant {
            ints: t,
            ..Default::default()
        });
        let cells = c.node_population("cells").unwrap();
        assert_eq!(cells.node_ids, [0, 1, 2, 3, 4], "{t:?}");
        assert_eq!(cells.node_type_ids, [1, 1, 2, 2, 2], "{t:?}");
        assert_eq!(cells.group_ids, [0, 0, 1, 1, 0], "{t:?}");
        assert_eq!(cells.group_indices, [0, 1, 0, 1, 2], "{t:?}");
        let e = c.edge_population("ext_to_cells").unwrap();
        assert_eq!(e.source_ids, [0, 1, 2, 0], "{t:?}");
        assert_eq!(e.target_ids, [0, 0, 3, 4], "{t:?}");
        assert_eq!(e.edge_type_ids, [10, 10, 10, 10], "{t:?}");
    }
}

#[test]
fn nodes_groups_columns_and_types() {
    let (_d, _cfg, c) = load(&Variant {
        implicit_node_id: true,
        crlf: false,
        ..Default::default()
    });
    assert_eq!(c.nodes.len(), 2);
    let cells = c.node_population("cells").unwrap();
    assert_eq!(cells.node_ids, [0, 1, 2, 3, 4]); // implicit
    assert!(cells.ids_are_contiguous());
    assert_eq!(cells.index_of(4), Some(4));
    assert_eq!(cells.index_of(5), None);
    // h5 group columns: x/y/z in group 0, N×3 positions split in group 1.
    assert_eq!(cells.position(4), Some([4.0, 4.5, -4.0]));
    assert_eq!(cells.position(2), Some([2.0, 2.5, -3.0]));
    assert_eq!(cells.position(3), Some([3.0, 3.5, -3.5]));
    // vlen (group 0) and fixed (group 1) strings.
    let labels: Vec<Value> = (0..5).map(|i| cells.attribute(i, "label")).collect();
    assert_eq!(
        labels,
        ["a", "b", "c", "d", "e"].map(|s| Value::Str(s.into()))
    );
    // `@library` codes become their strings.
    assert_eq!(cells.attribute(2, "layer"), Value::Str("L4".into()));
    assert_eq!(cells.attribute(3, "layer"), Value::Str("L2/3".into()));
    // CSV columns: quoted header and value, NULL.
    assert_eq!(
        cells.attribute(0, "pop name"),
        Value::Str("glif cell".into())
    );
    assert_eq!(cells.attribute(2, "pop name"), Value::Null);
    assert_eq!(cells.attribute(3, "ei"), Value::Str("i".into()));
    assert_eq!(cells.attribute(0, "node_type_id"), Value::Int(1));
    assert_eq!(cells.attribute(0, "no_such_column"), Value::Null);
    // h5 model_type (group 1) beats the CSV's point_process.
    assert_eq!(cells.model_type(2).as_deref(), Some("point_neuron"));
    assert_eq!(cells.model_type(4).as_deref(), Some("point_process"));
    assert_eq!(
        cells.model_template(0).unwrap().nest_model(),
        Some("glif_psc")
    );
    assert_eq!(
        cells.model_template(3).unwrap().to_string(),
        "nest:iaf_psc_alpha"
    );
    assert_eq!(cells.n_virtual(), 0);
    // dynamics_params: resolved in point_neuron_models_dir (point_neuron and point_process).
    let t1 = &cells.node_types[&1];
    assert!(t1
        .dynamics_params_file
        .as_ref()
        .unwrap()
        .ends_with("components/cell_models/glif.json"));
    assert_eq!(t1.dynamics_params.as_deref().unwrap()["V_th"], json!(-50.0));
    assert_eq!(
        *cells.node_types[&2].dynamics_params.as_deref().unwrap(),
        json!({})
    );
    // Per-node dynamics_params overrides (group 0 only), including a 2-D column.
    assert!(cells.has_dynamics_overrides());
    let o = cells.dynamics_overrides(4).unwrap();
    assert_eq!(o["V_th"], json!(-42.0));
    assert_eq!(o["asc_amps"], json!([-5.5, -6.5]));
    assert_eq!(
        cells.dynamics_overrides(1).unwrap()["asc_amps"],
        json!([-3.5, -4.5])
    );
    assert!(cells.dynamics_overrides(2).is_none());
    assert_eq!(
        cells.dynamics_params(1).unwrap(),
        json!({"V_th": -41.0, "asc_amps": [-3.5, -4.5], "tau_syn": [2.0, 5.0]})
    );
    assert_eq!(cells.dynamics_params(2).unwrap(), json!({}));
    let ext = c.node_population("ext").unwrap();
    assert_eq!((ext.len(), ext.n_virtual()), (3, 3));
    assert_eq!(ext.groups[0].len, 0);
    assert!(ext.node_types[&7].dynamics_params.is_none());
}

#[test]
fn edges_weights_delays_groups_and_indices() {
    for index_name in ["node_id_to_range", "node_id_to_ranges"] {
        let (_d, _cfg, c) = load(&Variant {
            index_name,
            ..Default::default()
        });
        let e = c.edge_population("ext_to_cells").unwrap();
        assert_eq!(
            (e.source_population.as_str(), e.target_population.as_str()),
            ("ext", "cells")
        );
        assert_eq!(e.indices.as_deref(), Some(index_name));
        let sv = e.synapse_values().unwrap();
        // Per-edge h5 syn_weight and delay beat the CSV (1.0, 2.0); nsyns defaults to 1.
        assert_eq!(sv.weight, [5.0, 6.0, 7.0, 8.0]);
        assert_eq!(sv.delay_ms, [0.5, 0.75, 1.0, 3.0]);
        assert_eq!(e.edge_types[&10].receptor_type(), Some(2));
        assert_eq!(
            e.edge_types[&10].model_template.as_deref(),
            Some("static_synapse")
        );

        let e = c.edge_population("cells_to_cells").unwrap();
        assert_eq!(e.source_population, "cells"); // fixed-length string attribute
        assert_eq!(e.n_groups, 2);
        let sv = e.synapse_values().unwrap();
        // edge 0: nsyns 3 (h5) × 2.0 (CSV); edge 1: group 1 has syn_weight 0.25 and no nsyns;
        // edge 2: nsyns 4 (h5 beats the CSV's 2) × -3.0.
        assert_eq!(sv.weight, [6.0, 0.25, -12.0]);
        // Delay: CSV 1.5 for type 20; type 21 has none anywhere -> NEST default 1.0 ms.
        assert_eq!(sv.delay_ms, [1.5, 1.5, 1.0]);
        let s = e.type_summaries().unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (
                s[0].edge_type_id,
                s[0].n_edges,
                s[0].sum_nsyns,
                s[0].sum_weight
            ),
            (20, 2, 4.0, 6.25)
        );
        assert_eq!((s[0].delay_min, s[0].delay_max), (1.5, 1.5));
        assert_eq!(
            (
                s[1].edge_type_id,
                s[1].n_edges,
                s[1].sum_nsyns,
                s[1].sum_weight
            ),
            (21, 1, 4.0, -12.0)
        );
        assert_eq!(
            e.edge_types[&20].attributes["target_query"],
            Value::Str("ei == 'e'".into())
        );
        assert_eq!(e.edge_types[&21].receptor_type(), Some(0));
    }
}

#[test]
fn node_sets() {
    let (_d, cfg, c) = load(&Variant::default());
    let sel = |spec: serde_json::Value| -> Vec<(String, Vec<u64>)> {
        c.select(&spec, &cfg.node_sets, &cfg.config_path, "test")
            .unwrap()
            .into_iter()
            .map(|s| (s.population, s.node_ids))
            .collect()
    };
    let p = |name: &str, ids: &[u64]| (name.to_string(), ids.to_vec());
    assert_eq!(sel(json!("ext")), [p("ext", &[0, 1, 2])]);
    assert_eq!(sel(json!("exc")), [p("cells", &[0, 1])]);
    assert_eq!(sel(json!("some")), [p("cells", &[0, 3]), p("ext", &[0])]);
    assert_eq!(
        sel(json!("both")),
        [p("cells", &[0, 1]), p("ext", &[0, 1, 2])]
    );
    assert_eq!(
        sel(json!({"population": "cells", "label": ["a", "d"]})),
        [p("cells", &[0, 3])]
    );
    assert_eq!(
        sel(json!({"model_type": "point_neuron"})),
        [p("cells", &[0, 1, 2, 3])]
    );
    assert_eq!(
        sel(json!({"populations": ["ext"], "node_ids": [2, 9]})),
        [p("ext", &[2])]
    );
    assert_eq!(
        sel(json!({"population": "cells", "x": 4.0})),
        [p("cells", &[4])]
    );
    let e = c
        .select(
            &json!("nope"),
            &cfg.node_sets,
            &cfg.config_path,
            "inputs.a.node_set",
        )
        .unwrap_err();
    assert!(
        e.to_string().contains(
            "inputs.a.node_set = \"nope\": neither a node set name nor a node population"
        ),
        "{e}"
    );
}

#[test]
fn empty_populations() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("t.csv"), "node_type_id model_type\n1 virtual\n").unwrap();
    std::fs::write(d.join("e.csv"), "edge_type_id syn_weight\n1 1.0\n").unwrap();
    {
        let f = hdf5::File::create(d.join("n.h5")).unwrap();
        let p = f
            .create_group("nodes")
            .unwrap()
            .create_group("none")
            .unwrap();
        io_fixtures::write_ints(&p, "node_id", &[], IntType::U64);
        io_fixtures::write_ints(&p, "node_type_id", &[], IntType::U64);
        io_fixtures::write_ints(&p, "node_group_id", &[], IntType::U32);
        io_fixtures::write_ints(&p, "node_group_index", &[], IntType::U64);
        p.create_group("0").unwrap();
        let f = hdf5::File::create(d.join("e.h5")).unwrap();
        let p = f
            .create_group("edges")
            .unwrap()
            .create_group("none_to_none")
            .unwrap();
        io_fixtures::write_ints(&p, "source_node_id", &[], IntType::U64);
        io_fixtures::write_ints(&p, "target_node_id", &[], IntType::U64);
        io_fixtures::str_attr(
            &p.dataset("source_node_id").unwrap(),
            "node_population",
            "none",
        );
        io_fixtures::str_attr(
            &p.dataset("target_node_id").unwrap(),
            "node_population",
            "none",
        );
        io_fixtures::write_ints(&p, "edge_type_id", &[], IntType::U32);
        io_fixtures::write_ints(&p, "edge_group_id", &[], IntType::U16);
        io_fixtures::write_ints(&p, "edge_group_index", &[], IntType::U32);
        p.create_group("0").unwrap();
    }
    std::fs::write(
        d.join("c.json"),
        r#"{"networks": {"nodes": [{"nodes_file": "${configdir}/n.h5", "node_types_file": "${configdir}/t.csv"}],
             "edges": [{"edges_file": "${configdir}/e.h5", "edge_types_file": "${configdir}/e.csv"}]}}"#,
    )
    .unwrap();
    let cfg = SimulationConfig::load(d.join("c.json")).unwrap();
    assert!(cfg.run.is_none());
    let c = Circuit::load(&cfg).unwrap();
    assert!(c.node_population("none").unwrap().is_empty());
    let e = c.edge_population("none_to_none").unwrap();
    assert!(e.is_empty());
    assert!(e.type_summaries().unwrap().is_empty());
    assert_eq!((c.n_nodes(), c.n_edges()), (0, 0));
}

/// A distributed run reads only the edges onto its neurons (issue #8): through the
/// target_to_source index (`ext_to_cells`) or a chunked scan of target_node_id
/// (`cells_to_cells`, no index, two groups). Every subset of target ids must give exactly the
/// full load's edges onto those ids, in file order, with their file rows and values; the
/// in-degrees counted without loading edges must match too.
#[test]
fn selected_edges_equal_the_full_load_filtered_by_target() {
    use glifnet::sonata::EdgeSelection;
    use std::collections::BTreeMap;
    for t in [IntType::U64, IntType::I32, IntType::U16] {
        let (_d, cfg, full) = load(&Variant {
            ints: t,
            ..Default::default()
        });
        for (k, e) in full.edges.iter().enumerate() {
            let mut want = vec![0u64; 5];
            for &x in &e.target_ids {
                want[x as usize] += 1;
            }
            assert_eq!(
                full.in_degrees(k, &|_| Ok(())).unwrap(),
                want,
                "{} {t:?}",
                e.name
            );
            assert_eq!(e.rows.ranges(), std::slice::from_ref(&(0..e.len())));
        }
        for mask in 0u32..32 {
            // the chosen ids as sorted ranges, as a rank's block gives them
            let mut ranges: Vec<std::ops::Range<u64>> = Vec::new();
            for id in (0..5u64).filter(|i| mask & (1 << i) != 0) {
                match ranges.last_mut() {
                    Some(r) if r.end == id => r.end += 1,
                    _ => ranges.push(id..id + 1),
                }
            }
            let sel = EdgeSelection::Targets(BTreeMap::from([("cells".to_string(), ranges)]));
            let c = Circuit::load_selected(&cfg, &sel).unwrap();
            for (e, f) in c.edges.iter().zip(&full.edges) {
                let keep: Vec<usize> = (0..f.len())
                    .filter(|&i| mask & (1 << f.target_ids[i]) != 0)
                    .collect();
                let pick_u64 = |v: &[u64]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
                let ctx = format!("{} mask {mask:05b} {t:?}", e.name);
                assert_eq!(e.n_total, f.len(), "{ctx}");
                assert_eq!(e.source_ids, pick_u64(&f.source_ids), "{ctx}");
                assert_eq!(e.target_ids, pick_u64(&f.target_ids), "{ctx}");
                let rows: Vec<usize> = (0..e.len()).map(|i| e.rows.row(i)).collect();
                assert_eq!(rows, keep, "{ctx}");
                let (sv, fv) = (e.synapse_values().unwrap(), f.synapse_values().unwrap());
                let w: Vec<f64> = keep.iter().map(|&i| fv.weight[i]).collect();
                let d: Vec<f64> = keep.iter().map(|&i| fv.delay_ms[i]).collect();
                assert_eq!((sv.weight, sv.delay_ms), (w, d), "{ctx}");
            }
        }
    }
}
