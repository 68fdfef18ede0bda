//! Spike files: round trips (1,000,000 spikes, every sort order, h5 and CSV), the old SONATA
//! layout, `sorting` as string / enum / int, units in seconds, empty files and populations,
//! CSV variants. Files are written by the tests themselves.

use std::path::Path;

use glifnet::sonata::spikes::{
    read_spikes, read_spikes_csv, write_spikes_csv, write_spikes_h5, write_spikes_h5_with,
    PopulationSpikes, SortOrder, SpikeTrains,
};

/// Deterministic pseudo-random spikes: times on a 0.001 ms grid (as simulator output), with ties.
fn synthetic(n: usize, pops: &[&str]) -> SpikeTrains {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out: Vec<PopulationSpikes> = pops
        .iter()
        .map(|p| PopulationSpikes::new(*p, vec![], vec![]))
        .collect();
    for _ in 0..n {
        let r = next();
        let p = (r % pops.len() as u64) as usize;
        let id = (r >> 8) % 10_000;
        let step = (r >> 24) % 3_000_000; // 3000 ms at dt 0.001
        out[p].node_ids.push(id);
        out[p].timestamps_ms.push(step as f64 * 0.001);
    }
    SpikeTrains { populations: out }
}

fn expected(s: &SpikeTrains, order: SortOrder) -> Vec<(Option<String>, Vec<u64>, Vec<f64>)> {
    s.populations
        .iter()
        .map(|p| {
            let q = p.sorted(order);
            (q.population, q.node_ids, q.timestamps_ms)
        })
        .collect()
}

fn strip(s: &SpikeTrains) -> Vec<(Option<String>, Vec<u64>, Vec<f64>)> {
    s.populations
        .iter()
        .map(|p| {
            (
                p.population.clone(),
                p.node_ids.clone(),
                p.timestamps_ms.clone(),
            )
        })
        .collect()
}

#[test]
fn million_spike_round_trip_every_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = synthetic(1_000_000, &["a", "v1"]);
    assert_eq!(s.len(), 1_000_000);
    for order in [SortOrder::None, SortOrder::ById, SortOrder::ByTime] {
        let h5 = dir.path().join(format!("s_{}.h5", order.as_str()));
        let csv = dir.path().join(format!("s_{}.csv", order.as_str()));
        write_spikes_h5(&h5, &s, order).unwrap();
        write_spikes_csv(&csv, &s, order).unwrap();
        let want = expected(&s, order);
        let from_h5 = read_spikes(&h5).unwrap();
        assert_eq!(strip(&from_h5), want, "h5 {order:?}");
        assert!(from_h5.populations.iter().all(|p| p.sorting == Some(order)));
        let from_csv = read_spikes(&csv).unwrap();
        assert_eq!(strip(&from_csv), want, "csv {order:?}");
        // Spot checks of the order itself.
        let v1 = from_h5.get("v1").unwrap();
        match order {
            SortOrder::ByTime => assert!(v1.timestamps_ms.windows(2).all(|w| w[0] <= w[1])),
            SortOrder::ById => {
                assert!(
                    (1..v1.len()).all(|i| (v1.node_ids[i - 1], v1.timestamps_ms[i - 1])
                        <= (v1.node_ids[i], v1.timestamps_ms[i]))
                )
            }
            SortOrder::None => assert_eq!(v1.node_ids, s.get("v1").unwrap().node_ids),
        }
    }
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}

#[test]
fn h5_layout_is_sonata() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.h5");
    let s = SpikeTrains {
        populations: vec![PopulationSpikes::new("v1", vec![3, 1], vec![2.0, 1.0])],
    };
    write_spikes_h5_with(&p, &s, SortOrder::ByTime, false).unwrap();
    let f = hdf5::File::open(&p).unwrap();
    assert_eq!(
        f.attr("magic").unwrap().read_scalar::<u32>().unwrap(),
        0x0A7A
    );
    assert_eq!(
        f.attr("version").unwrap().read_raw::<u32>().unwrap(),
        [0, 1]
    );
    let g = f.group("spikes/v1").unwrap();
    let sorting: hdf5::types::VarLenUnicode = g.attr("sorting").unwrap().read_scalar().unwrap();
    assert_eq!(sorting.as_str(), "by_time");
    let ts = g.dataset("timestamps").unwrap();
    let units: hdf5::types::VarLenUnicode = ts.attr("units").unwrap().read_scalar().unwrap();
    assert_eq!(units.as_str(), "ms");
    assert_eq!(ts.read_raw::<f64>().unwrap(), [1.0, 2.0]);
    let ids = g.dataset("node_ids").unwrap();
    assert_eq!(
        ids.dtype().unwrap().to_descriptor().unwrap(),
        hdf5::types::TypeDescriptor::Unsigned(hdf5::types::IntSize::U8)
    );
    assert_eq!(ids.read_raw::<u64>().unwrap(), [1, 3]);
}

#[derive(hdf5::H5Type, Clone, Copy)]
#[repr(u8)]
#[allow(non_camel_case_types, dead_code)]
enum Sorting {
    none = 0,
    by_id = 1,
    by_time = 2,
}

#[test]
fn old_layout_enum_sorting_seconds_and_dtypes() {
    let dir = tempfile::tempdir().unwrap();
    // Old layout: /spikes/gids + /spikes/timestamps, no root attributes, no population.
    let old = dir.path().join("old.h5");
    {
        let f = hdf5::File::create(&old).unwrap();
        let g = f.create_group("spikes").unwrap();
        g.new_dataset_builder()
            .with_data(&[5u32, 7, 5][..])
            .create("gids")
            .unwrap();
        g.new_dataset_builder()
            .with_data(&[0.5f64, 1.5, 2.5][..])
            .create("timestamps")
            .unwrap();
    }
    let s = read_spikes(&old).unwrap();
    assert_eq!(s.populations.len(), 1);
    assert_eq!(s.populations[0].population, None);
    assert_eq!(s.populations[0].node_ids, [5, 7, 5]);
    assert_eq!(
        s.for_population("ext").unwrap().timestamps_ms,
        [0.5, 1.5, 2.5]
    );

    // New layout with libsonata's enum `sorting`, an int sorting, int8/int64 ids, units "s".
    let newf = dir.path().join("new.hdf5");
    {
        let f = hdf5::File::create(&newf).unwrap();
        let g = f.create_group("spikes").unwrap();
        let a = g.create_group("a").unwrap();
        a.new_attr::<Sorting>()
            .create("sorting")
            .unwrap()
            .write_scalar(&Sorting::by_time)
            .unwrap();
        a.new_dataset_builder()
            .with_data(&[1i8, 2][..])
            .create("node_ids")
            .unwrap();
        let ts = a
            .new_dataset_builder()
            .with_data(&[0.001f64, 0.002][..])
            .create("timestamps")
            .unwrap();
        let units: hdf5::types::VarLenUnicode = "s".parse().unwrap();
        ts.new_attr::<hdf5::types::VarLenUnicode>()
            .create("units")
            .unwrap()
            .write_scalar(&units)
            .unwrap();
        let b = g.create_group("b").unwrap();
        b.new_attr::<u8>()
            .create("sorting")
            .unwrap()
            .write_scalar(&1u8)
            .unwrap();
        b.new_dataset_builder()
            .with_data(&[9i64][..])
            .create("node_ids")
            .unwrap();
        b.new_dataset_builder()
            .with_data(&[4.0f32][..])
            .create("timestamps")
            .unwrap();
        // An empty population.
        let c = g.create_group("c").unwrap();
        c.new_dataset_builder()
            .with_data(&[0u64; 0][..])
            .create("node_ids")
            .unwrap();
        c.new_dataset_builder()
            .with_data(&[0f64; 0][..])
            .create("timestamps")
            .unwrap();
    }
    let s = read_spikes(&newf).unwrap();
    let a = s.get("a").unwrap();
    assert_eq!(a.sorting, Some(SortOrder::ByTime));
    assert_eq!(a.node_ids, [1, 2]);
    assert_eq!(a.timestamps_ms, [1.0, 2.0]);
    let b = s.get("b").unwrap();
    assert_eq!(
        (b.sorting, b.node_ids.as_slice(), b.timestamps_ms.as_slice()),
        (Some(SortOrder::ById), &[9u64][..], &[4.0][..])
    );
    assert!(s.get("c").unwrap().is_empty());
    assert_eq!(s.len(), 3);
}

#[test]
fn empty_files_and_populations_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    // No populations at all: /spikes without children.
    let none = SpikeTrains::default();
    let p = dir.path().join("empty.h5");
    write_spikes_h5(&p, &none, SortOrder::ByTime).unwrap();
    assert!(read_spikes(&p).unwrap().populations.is_empty());
    let p = dir.path().join("empty.csv");
    write_spikes_csv(&p, &none, SortOrder::None).unwrap();
    assert_eq!(
        std::fs::read_to_string(&p).unwrap(),
        "timestamps population node_ids\n"
    );
    assert!(read_spikes(&p).unwrap().is_empty());
    // An empty population survives the h5 round trip.
    let s = SpikeTrains {
        populations: vec![
            PopulationSpikes::new("v1", vec![], vec![]),
            PopulationSpikes::new("x", vec![2], vec![1.25]),
        ],
    };
    let p = dir.path().join("emptypop.h5");
    write_spikes_h5(&p, &s, SortOrder::ById).unwrap();
    assert_eq!(strip(&read_spikes(&p).unwrap()), strip(&s));
    // A zero-byte CSV is an empty spike file.
    let p = dir.path().join("zero.csv");
    std::fs::write(&p, "").unwrap();
    assert!(read_spikes_csv(&p).unwrap().populations.is_empty());
}

fn csv(dir: &Path, name: &str, text: &str) -> SpikeTrains {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    read_spikes(&p).unwrap()
}

#[test]
fn csv_variants() {
    let dir = tempfile::tempdir().unwrap();
    // BMTK layout (§4.1), CRLF line ends.
    let s = csv(
        dir.path(),
        "a.csv",
        "timestamps population node_ids\r\n445.539 lgn 0\r\n859.83 lgn 0\r\n1.5 v1 3\r\n",
    );
    assert_eq!(s.get("lgn").unwrap().timestamps_ms, [445.539, 859.83]);
    assert_eq!(s.get("v1").unwrap().node_ids, [3]);
    // Header in another order, no population column.
    let s = csv(dir.path(), "b.csv", "node_ids timestamps\n4 10.0\n2 20.5\n");
    assert_eq!(s.populations[0].population, None);
    assert_eq!(s.populations[0].node_ids, [4, 2]);
    assert_eq!(s.populations[0].timestamps_ms, [10.0, 20.5]);
    // No header: timestamps node_ids (pySONATA spikes.noheader.nopop.csv).
    let s = csv(dir.path(), "c.csv", "0.1 7\n0.2   8\n");
    assert_eq!(s.populations[0].node_ids, [7, 8]);
    assert_eq!(s.populations[0].timestamps_ms, [0.1, 0.2]);
    // Bad line: one-line error naming file and line.
    let p = dir.path().join("d.csv");
    std::fs::write(&p, "timestamps node_ids\n1.0 x\n").unwrap();
    let e = read_spikes(&p).unwrap_err().to_string();
    assert!(e.contains("d.csv: line 2: node_ids = x"), "{e}");
}
