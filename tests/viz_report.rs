//! SONATA membrane report writer/reader: layout (docs/sonata-bmtk.md §4.2) read back through
//! the hdf5 crate, block streaming, temp-file discipline, and reader validation.

use std::path::Path;

use glifnet::sonata::report::{
    default_units, read_report, read_trace, ReportError, ReportLayout, ReportWriter,
};

/// HDF5 opens files without close-on-exec, so a child process spawned by one test thread can
/// inherit another thread's open HDF5 file (and its lock) and make that test's reopen fail
/// with "unable to lock file". Tests that touch HDF5 files or spawn processes take this lock.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn layout() -> ReportLayout {
    ReportLayout {
        populations: vec![
            ("v1".to_string(), vec![3, 7, 11]),
            ("lgn".to_string(), vec![0, 5]),
        ],
        variable: "V_m".to_string(),
        units: "mV".to_string(),
        tstart: 0.5,
        dt: 0.25,
    }
}

/// Sample of column `c` at row `r`: distinct per cell so a swapped column is caught.
fn value(r: usize, c: usize) -> f64 {
    -70.0 + r as f64 * 0.5 + c as f64 * 100.0
}

fn rows(r0: usize, r1: usize, n: usize) -> Vec<f64> {
    (r0..r1)
        .flat_map(|r| (0..n).map(move |c| value(r, c)))
        .collect()
}

fn str_attr(loc: &hdf5::Location, name: &str) -> String {
    loc.attr(name)
        .unwrap()
        .read_scalar::<hdf5::types::VarLenUnicode>()
        .unwrap()
        .as_str()
        .to_string()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn layout_matches_sonata_and_bmtk() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v_report.h5");
    // Block of 4 rows; push 11 rows in uneven pieces (1, 6, 4) across block boundaries.
    let mut w = ReportWriter::create_with_block(&path, &layout(), Some(4)).unwrap();
    assert_eq!(w.n_values(), 5);
    w.push_rows(&rows(0, 1, 5)).unwrap();
    w.push_rows(&rows(1, 7, 5)).unwrap();
    w.push_rows(&rows(7, 11, 5)).unwrap();
    assert_eq!(w.n_rows(), 11);
    // No file under the final name until finish.
    assert!(!path.exists());
    assert_eq!(w.finish().unwrap(), path);
    assert_eq!(files_in(dir.path()), vec!["v_report.h5".to_string()]);

    let f = hdf5::File::open(&path).unwrap();
    assert_eq!(
        f.attr("magic").unwrap().read_scalar::<u32>().unwrap(),
        0x0A7A
    );
    assert_eq!(
        f.attr("version").unwrap().read_raw::<u32>().unwrap(),
        vec![0, 1]
    );
    let mut pops = f.group("report").unwrap().member_names().unwrap();
    pops.sort();
    assert_eq!(pops, vec!["lgn", "v1"]);
    for (pop, ids, col0) in [("v1", vec![3u64, 7, 11], 0usize), ("lgn", vec![0, 5], 3)] {
        let n = ids.len();
        let m = f.group(&format!("report/{pop}/mapping")).unwrap();
        let nid = m.dataset("node_ids").unwrap();
        assert_eq!(nid.dtype().unwrap().size(), 8);
        assert_eq!(nid.read_raw::<u64>().unwrap(), ids);
        let eid = m.dataset("element_ids").unwrap();
        assert_eq!(eid.dtype().unwrap().size(), 4);
        assert_eq!(eid.read_raw::<u32>().unwrap(), vec![0u32; n]);
        assert_eq!(
            m.dataset("element_pos").unwrap().read_raw::<f64>().unwrap(),
            vec![0.0; n]
        );
        let ptr: Vec<u64> = (0..=n as u64).collect();
        assert_eq!(
            m.dataset("index_pointer")
                .unwrap()
                .read_raw::<u64>()
                .unwrap(),
            ptr
        );
        assert_eq!(
            m.dataset("index_pointers")
                .unwrap()
                .read_raw::<u64>()
                .unwrap(),
            ptr
        );
        let time = m.dataset("time").unwrap();
        // 11 samples from 0.5 every 0.25 ms: right-open [0.5, 3.25).
        assert_eq!(time.read_raw::<f64>().unwrap(), vec![0.5, 3.25, 0.25]);
        assert_eq!(str_attr(&time, "units"), "ms");

        let data = f.dataset(&format!("report/{pop}/data")).unwrap();
        assert_eq!(data.shape(), vec![11, n]);
        assert_eq!(data.dtype().unwrap().size(), 8);
        assert!(data.is_resizable(), "data must be extendible for streaming");
        assert_eq!(data.chunk(), Some(vec![4, n]));
        assert_eq!(str_attr(&data, "units"), "mV");
        assert_eq!(str_attr(&data, "variable"), "V_m");
        let d = data.read_raw::<f64>().unwrap();
        for r in 0..11 {
            for c in 0..n {
                assert_eq!(d[r * n + c], value(r, col0 + c), "{pop} row {r} col {c}");
            }
        }
    }

    // The crate's own reader sees the same thing.
    let info = read_report(&path).unwrap();
    assert_eq!(info.len(), 2);
    let v1 = info.iter().find(|p| p.name == "v1").unwrap();
    assert_eq!(v1.node_ids, vec![3, 7, 11]);
    assert_eq!((v1.n_steps, v1.n_values), (11, 3));
    assert_eq!((v1.tstart, v1.tstop, v1.dt), (0.5, 3.25, 0.25));
    assert_eq!(v1.units.as_deref(), Some("mV"));
    assert_eq!(v1.variable.as_deref(), Some("V_m"));
    let t = read_trace(&path, None, 7).unwrap();
    assert_eq!(t.population, "v1");
    assert_eq!(t.values, (0..11).map(|r| value(r, 1)).collect::<Vec<_>>());
    assert_eq!(t.times[0], 0.5);
    assert_eq!(t.times[10], 0.5 + 10.0 * 0.25);
    let t = read_trace(&path, Some("lgn"), 5).unwrap();
    assert_eq!(t.values, (0..11).map(|r| value(r, 4)).collect::<Vec<_>>());
}

#[test]
fn each_variable_keeps_its_name_and_units() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    for (var, units) in [
        ("V_m", "mV"),
        ("threshold", "mV"),
        ("ASCurrents_sum", "pA"),
        ("I_syn", "pA"),
        ("I", "pA"),
    ] {
        assert_eq!(default_units(var), units);
        let path = dir.path().join(format!("{var}.h5"));
        let mut l = layout();
        l.variable = var.to_string();
        l.units = default_units(var).to_string();
        let mut w = ReportWriter::create(&path, &l).unwrap();
        w.push_rows(&rows(0, 3, 5)).unwrap();
        w.finish().unwrap();
        let info = read_report(&path).unwrap();
        for p in &info {
            assert_eq!(p.variable.as_deref(), Some(var));
            assert_eq!(p.units.as_deref(), Some(units));
            assert_eq!(p.n_steps, 3);
        }
    }
}

#[test]
fn memory_is_bounded_by_one_block() {
    let _serial = serial();
    // 100 cells, default block: the buffer never holds more than one block of rows, and the
    // rows already flushed are on disk (in the temporary file) before finish.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.h5");
    let l = ReportLayout {
        populations: vec![("v1".to_string(), (0..100).collect())],
        variable: "V_m".into(),
        units: "mV".into(),
        tstart: 0.0,
        dt: 0.1,
    };
    let mut w = ReportWriter::create(&path, &l).unwrap();
    let row: Vec<f64> = (0..100).map(|c| c as f64).collect();
    // 20 000 rows (2 s at 0.1 ms) pushed one sample row at a time, as the engine does.
    for _ in 0..20_000 {
        w.push_rows(&row).unwrap();
    }
    let tmp: Vec<String> = files_in(dir.path());
    assert_eq!(tmp.len(), 1);
    assert!(tmp[0].starts_with(".big.h5.tmp-"), "{tmp:?}");
    // 20 000 rows × 100 × 8 B = 16 MB; the temp file already holds most of it.
    let on_disk = std::fs::metadata(dir.path().join(&tmp[0])).unwrap().len();
    // (less the HDF5 chunk cache, 1 MiB by default, which is also bounded)
    assert!(on_disk > 13_000_000, "only {on_disk} bytes flushed");
    w.finish().unwrap();
    let info = read_report(&path).unwrap();
    assert_eq!(info[0].n_steps, 20_000);
    assert_eq!(info[0].tstop, 2000.0);
    let chunk = hdf5::File::open(&path)
        .unwrap()
        .dataset("report/v1/data")
        .unwrap()
        .chunk()
        .unwrap();
    // One block = 64 Ki values / 100 columns = 655 rows (512 KiB).
    assert_eq!(chunk, vec![655, 100]);
    let t = read_trace(&path, None, 42).unwrap();
    assert_eq!(t.values.len(), 20_000);
    assert!(t.values.iter().all(|&v| v == 42.0));
}

#[test]
fn unfinished_writer_leaves_nothing() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.h5");
    {
        let mut w = ReportWriter::create_with_block(&path, &layout(), Some(2)).unwrap();
        w.push_rows(&rows(0, 5, 5)).unwrap();
        // dropped without finish (e.g. the run failed)
    }
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn writer_rejects_bad_layouts_and_rows() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.h5");
    let mut l = layout();
    l.dt = 0.0;
    let e = ReportWriter::create(&path, &l).err().unwrap().to_string();
    assert!(
        e.contains("r.h5") && e.contains("dt") && e.contains('0'),
        "{e}"
    );
    let mut l = layout();
    l.populations = vec![("v1".into(), vec![])];
    let e = ReportWriter::create(&path, &l).err().unwrap().to_string();
    assert!(e.contains("cells") && e.contains("no nodes"), "{e}");
    let mut w = ReportWriter::create(&path, &layout()).unwrap();
    let e = w.push_rows(&[1.0, 2.0]).unwrap_err().to_string();
    assert!(e.contains("2 samples") && e.contains("5 values"), "{e}");
    drop(w);
    assert!(files_in(dir.path()).is_empty());
    // Unwritable folder: a one-line error naming the file.
    let e = ReportWriter::create(&dir.path().join("missing/r.h5"), &layout())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("missing/r.h5") && !e.contains('\n'), "{e}");
}

#[test]
fn reader_reports_file_field_and_value() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // Not HDF5.
    let p = dir.path().join("junk.h5");
    std::fs::write(&p, b"not an hdf5 file").unwrap();
    let e = read_report(&p).unwrap_err().to_string();
    assert!(
        e.contains("junk.h5") && e.contains("not a readable HDF5 file"),
        "{e}"
    );
    // Missing.
    let e = read_report(&dir.path().join("nope.h5")).unwrap_err();
    assert!(matches!(e, ReportError::Io { .. }));
    // A good file, then damaged copies.
    let good = dir.path().join("good.h5");
    let mut w = ReportWriter::create(&good, &layout()).unwrap();
    w.push_rows(&rows(0, 4, 5)).unwrap();
    w.finish().unwrap();
    let damage = |name: &str, f: &dyn Fn(&hdf5::File)| {
        let p = dir.path().join(name);
        std::fs::copy(&good, &p).unwrap();
        let h = hdf5::File::open_rw(&p).unwrap();
        f(&h);
        h.close().unwrap();
        read_report(&p).unwrap_err().to_string()
    };
    let e = damage("noptr.h5", &|h| {
        let m = h.group("report/v1/mapping").unwrap();
        m.unlink("index_pointer").unwrap();
        m.unlink("index_pointers").unwrap();
    });
    assert!(
        e.contains("/report/v1/mapping/index_pointer") && e.contains("missing"),
        "{e}"
    );
    // libsonata-only files (index_pointers alone) are accepted.
    let p = dir.path().join("libsonata.h5");
    std::fs::copy(&good, &p).unwrap();
    {
        let h = hdf5::File::open_rw(&p).unwrap();
        h.group("report/v1/mapping")
            .unwrap()
            .unlink("index_pointer")
            .unwrap();
    }
    assert_eq!(read_report(&p).unwrap().len(), 2);
    let e = damage("shortptr.h5", &|h| {
        let m = h.group("report/v1/mapping").unwrap();
        m.unlink("index_pointer").unwrap();
        m.new_dataset_builder()
            .with_data(&[0u64, 1, 2])
            .create("index_pointer")
            .unwrap();
    });
    assert!(e.contains("index_pointer") && e.contains("length 3"), "{e}");
    let e = damage("badtime.h5", &|h| {
        let m = h.group("report/lgn/mapping").unwrap();
        m.unlink("time").unwrap();
        m.new_dataset_builder()
            .with_data(&[0.0f64, 1.0, -0.1])
            .create("time")
            .unwrap();
    });
    assert!(
        e.contains("/report/lgn/mapping/time") && e.contains("-0.1"),
        "{e}"
    );
    let e = damage("nodata.h5", &|h| {
        h.group("report/v1").unwrap().unlink("data").unwrap();
    });
    assert!(
        e.contains("/report/v1/data") && e.contains("missing"),
        "{e}"
    );
    let e = read_trace(&good, None, 99).unwrap_err().to_string();
    assert!(e.contains("node 99") && e.contains("good.h5"), "{e}");
}

/// The layout as BMTK's reader and h5py see it (scripts/check_report_layout.py). Needs python3
/// with h5py (the reference venv by default, `$GLIFNET_REF_PYTHON` to override); skipped with a
/// note when neither is available.
#[test]
fn python_layout_check_accepts_the_report() {
    let _serial = serial();
    let py = std::env::var_os("GLIFNET_REF_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/root/.cache/glifnet-ref/venv/bin/python".into());
    if !py.exists() {
        eprintln!("skipped: {} not found", py.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v_report.h5");
    let mut w = ReportWriter::create_with_block(&path, &layout(), Some(4)).unwrap();
    w.push_rows(&rows(0, 11, 5)).unwrap();
    w.finish().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_report_layout.py");
    let out = std::process::Command::new(&py)
        .arg(&script)
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"bmtk_reader\": \"ok\""), "{stdout}");
    assert!(stdout.contains("\"n_steps\": 11"), "{stdout}");
    assert!(stdout.contains("\"time\": [0.5, 3.25, 0.25]"), "{stdout}");
}

#[test]
fn recorder_streams_probe_rows_and_detects_gaps() {
    let _serial = serial();
    use glifnet::output::reports::{file_for_variable, ReportSpec, Reports};
    assert_eq!(
        file_for_variable(Path::new("/o/v.h5"), "V_m", 1),
        Path::new("/o/v.h5")
    );
    assert_eq!(
        file_for_variable(Path::new("/o/v.h5"), "threshold", 2),
        Path::new("/o/v_threshold.h5")
    );
    let dir = tempfile::tempdir().unwrap();
    let spec = |name: &str, probe: usize| ReportSpec {
        file: dir.path().join(name),
        layout: ReportLayout {
            populations: vec![("v1".into(), vec![4, 9])],
            variable: "V_m".into(),
            units: "mV".into(),
            tstart: 0.5,
            dt: 0.5,
        },
        probe,
        interval_steps: 5,
        first_step: 5,
    };
    // Probe 0 unreported, probes 1 and 2 reported; steps 5, 10, 15 at dt 0.1 ms.
    let mut r = Reports::create(&[spec("a.h5", 1), spec("b.h5", 2)]).unwrap();
    for (k, step) in [5u64, 10, 15].iter().enumerate() {
        r.row(0, *step, &[1.0, 2.0, 3.0]);
        r.row(1, *step, &[k as f64, -(k as f64)]);
        r.row(2, *step, &[10.0 + k as f64, 20.0]);
    }
    let files = r.finish().unwrap();
    assert_eq!(files.len(), 2);
    let t = read_trace(&dir.path().join("a.h5"), None, 9).unwrap();
    assert_eq!(t.values, vec![0.0, -1.0, -2.0]);
    assert_eq!(t.times, vec![0.5, 1.0, 1.5]);
    let t = read_trace(&dir.path().join("b.h5"), None, 4).unwrap();
    assert_eq!(t.values, vec![10.0, 11.0, 12.0]);

    // A missing sample row is an error and leaves no report.
    let dir2 = tempfile::tempdir().unwrap();
    let mut s = spec("c.h5", 0);
    s.file = dir2.path().join("c.h5");
    let mut r = Reports::create(&[s]).unwrap();
    r.row(0, 5, &[1.0, 2.0]);
    r.row(0, 15, &[1.0, 2.0]);
    let e = r.finish().unwrap_err().to_string();
    assert!(
        e.contains("step 15") && e.contains("expected step 10"),
        "{e}"
    );
    assert!(files_in(dir2.path()).is_empty());
}
