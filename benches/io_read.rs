//! Reader/writer throughput: a 2,000,000-edge SONATA circuit (written here with one group of
//! `nsyns`, BMTK layout) loaded whole, its PointNet synapse values, and a 1,000,000-spike file
//! written and read as h5 and CSV. Run: `cargo bench --bench io_read`.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use glifnet::config::{Components, EdgesFiles, Networks, NodesFiles, SortOrder};
use glifnet::sonata::spikes::{
    read_spikes, write_spikes_csv, write_spikes_h5, PopulationSpikes, SpikeTrains,
};
use glifnet::sonata::Circuit;

const N_NODES: u64 = 10_000;
const N_EDGES: u64 = 2_000_000;

fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state >> 33
}

fn write_circuit(dir: &Path) -> Networks {
    let nodes = dir.join("nodes.h5");
    let edges = dir.join("edges.h5");
    std::fs::write(
        dir.join("nt.csv"),
        "node_type_id model_type model_template\r\n1 point_neuron nest:iaf_psc_alpha\r\n",
    )
    .unwrap();
    std::fs::write(dir.join("et.csv"), "edge_type_id syn_weight delay model_template\r\n1 1.5 2.0 static_synapse\r\n2 -2.0 1.0 static_synapse\r\n").unwrap();
    let f = hdf5::File::create(&nodes).unwrap();
    let p = f.create_group("nodes").unwrap().create_group("v1").unwrap();
    let ids: Vec<u64> = (0..N_NODES).collect();
    p.new_dataset_builder()
        .with_data(&ids[..])
        .create("node_id")
        .unwrap();
    p.new_dataset_builder()
        .with_data(&vec![1u64; N_NODES as usize][..])
        .create("node_type_id")
        .unwrap();
    p.new_dataset_builder()
        .with_data(&vec![0u32; N_NODES as usize][..])
        .create("node_group_id")
        .unwrap();
    p.new_dataset_builder()
        .with_data(&ids[..])
        .create("node_group_index")
        .unwrap();
    p.create_group("0").unwrap();
    drop(p);
    drop(f);
    let mut s = 7u64;
    let mut trg: Vec<u64> = (0..N_EDGES).map(|_| lcg(&mut s) % N_NODES).collect();
    trg.sort_unstable();
    let src: Vec<u64> = (0..N_EDGES).map(|_| lcg(&mut s) % N_NODES).collect();
    let et: Vec<u32> = (0..N_EDGES).map(|_| 1 + (lcg(&mut s) % 2) as u32).collect();
    let ns: Vec<u32> = (0..N_EDGES).map(|_| 1 + (lcg(&mut s) % 4) as u32).collect();
    let f = hdf5::File::create(&edges).unwrap();
    let p = f
        .create_group("edges")
        .unwrap()
        .create_group("v1_to_v1")
        .unwrap();
    let pop: hdf5::types::VarLenUnicode = "v1".parse().unwrap();
    for (name, data) in [("source_node_id", &src), ("target_node_id", &trg)] {
        let d = p
            .new_dataset_builder()
            .with_data(&data[..])
            .create(name)
            .unwrap();
        d.new_attr::<hdf5::types::VarLenUnicode>()
            .create("node_population")
            .unwrap()
            .write_scalar(&pop)
            .unwrap();
    }
    p.new_dataset_builder()
        .with_data(&et[..])
        .create("edge_type_id")
        .unwrap();
    p.new_dataset_builder()
        .with_data(&vec![0u16; N_EDGES as usize][..])
        .create("edge_group_id")
        .unwrap();
    let gi: Vec<u32> = (0..N_EDGES as u32).collect();
    p.new_dataset_builder()
        .with_data(&gi[..])
        .create("edge_group_index")
        .unwrap();
    p.create_group("0")
        .unwrap()
        .new_dataset_builder()
        .with_data(&ns[..])
        .create("nsyns")
        .unwrap();
    Networks {
        nodes: vec![NodesFiles {
            nodes_file: nodes,
            node_types_file: dir.join("nt.csv"),
            entry: 0,
        }],
        edges: vec![EdgesFiles {
            edges_file: edges,
            edge_types_file: dir.join("et.csv"),
            entry: 0,
        }],
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let net = write_circuit(dir.path());
    let comps = Components::default();
    let mut g = c.benchmark_group("io");
    g.sample_size(10);
    g.bench_function("circuit_load_2M_edges", |b| {
        b.iter(|| Circuit::from_networks(&net, &comps).unwrap())
    });
    let circuit = Circuit::from_networks(&net, &comps).unwrap();
    g.bench_function("synapse_values_2M_edges", |b| {
        b.iter(|| circuit.edges[0].synapse_values().unwrap())
    });

    let mut s = 11u64;
    let n = 1_000_000;
    let trains = SpikeTrains {
        populations: vec![PopulationSpikes::new(
            "v1",
            (0..n).map(|_| lcg(&mut s) % N_NODES).collect(),
            (0..n)
                .map(|_| (lcg(&mut s) % 3_000_000) as f64 * 0.001)
                .collect(),
        )],
    };
    let h5 = dir.path().join("s.h5");
    let csv = dir.path().join("s.csv");
    g.bench_function("spikes_1M_write_h5_by_time", |b| {
        b.iter(|| write_spikes_h5(&h5, &trains, SortOrder::ByTime).unwrap())
    });
    g.bench_function("spikes_1M_read_h5", |b| {
        b.iter(|| read_spikes(&h5).unwrap())
    });
    g.bench_function("spikes_1M_write_csv", |b| {
        b.iter(|| write_spikes_csv(&csv, &trains, SortOrder::None).unwrap())
    });
    g.bench_function("spikes_1M_read_csv", |b| {
        b.iter(|| read_spikes(&csv).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
