//! `glifnet plot` time windows (issue #22, items 1 and 2): rates, raster titles and PSTHs count
//! only the spikes inside `[tmin, tmax)`, and without `--tmax` the window ends at the run's
//! tstop (the `config.json` glifnet run writes beside the spikes), printed with its source.
//! Expected numbers are counted here straight from the h5 files.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

mod common;

/// (node ids, timestamps ms) of `/spikes/v1`.
fn read_v1_spikes(p: &Path) -> (Vec<u64>, Vec<f64>) {
    let f = hdf5::File::open(p).unwrap();
    let g = f.group("spikes/v1").unwrap();
    let ids = g.dataset("node_ids").unwrap().read_raw::<u64>().unwrap();
    let ts = g.dataset("timestamps").unwrap().read_raw::<f64>().unwrap();
    (ids, ts)
}

/// node id -> node type id of point_450glifs' v1.
fn v1_types(shared: &Path) -> BTreeMap<u64, u64> {
    let f = hdf5::File::open(shared.join("data/bmtk/point_450glifs/network/v1_nodes.h5")).unwrap();
    let g = f.group("nodes/v1").unwrap();
    let tids = g
        .dataset("node_type_id")
        .unwrap()
        .read_raw::<u64>()
        .unwrap();
    let ids = match g.dataset("node_id") {
        Ok(d) => d.read_raw::<u64>().unwrap(),
        Err(_) => (0..tids.len() as u64).collect(),
    };
    ids.into_iter().zip(tids).collect()
}

fn glifnet(args: &[&str], dir: &Path) -> (String, String) {
    let o = Command::new(common::glifnet_bin())
        .args(args)
        .current_dir(dir)
        .env("HDF5_USE_FILE_LOCKING", "FALSE")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "glifnet {args:?}: {err}");
    (String::from_utf8(o.stdout).unwrap(), err)
}

/// `label \t cells \t rate` rows of `glifnet plot rates`.
fn rate_rows(stdout: &str) -> Vec<(String, usize, f64)> {
    stdout
        .lines()
        .filter(|l| l.contains('\t'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].into(), f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect()
}

#[test]
fn rates_and_raster_count_only_the_window() {
    let shared = common::shared_dir();
    let spikes = shared.join("reference/nest/point_450glifs/spikes_dt0.1.h5");
    let net = shared.join("data/bmtk/point_450glifs");
    let out = tempfile::tempdir().unwrap();
    let (ids, ts) = read_v1_spikes(&spikes);
    assert_eq!(ids.len(), 76_318); // reference-data.md
    let types = v1_types(&shared);
    let mut per_type: BTreeMap<u64, (usize, u64)> = BTreeMap::new(); // cells, window spikes
    for &t in types.values() {
        per_type.entry(t).or_default().0 += 1;
    }
    let (t0, t1) = (1000.0, 1500.0);
    let mut in_window = 0u64;
    for (id, &t) in ids.iter().zip(&ts) {
        if t >= t0 && t < t1 {
            per_type.get_mut(&types[id]).unwrap().1 += 1;
            in_window += 1;
        }
    }
    assert!(in_window > 10_000 && in_window < 20_000, "{in_window}");
    let sp = spikes.to_str().unwrap();
    let rates_png = out.path().join("rates.png");
    let (stdout, _) = glifnet(
        &[
            "plot",
            "rates",
            sp,
            "--config",
            "config.simulation.json",
            "--tmin",
            "1000",
            "--tmax",
            "1500",
            "-o",
            rates_png.to_str().unwrap(),
        ],
        &net,
    );
    assert!(
        stdout.contains("window [1000, 1500) ms (--tmin; end: --tmax)"),
        "{stdout}"
    );
    let rows = rate_rows(&stdout);
    assert_eq!(rows.len(), 7);
    for ((label, cells, rate), (tid, (n, count))) in rows.iter().zip(&per_type) {
        assert!(label.starts_with(&format!("v1 {tid} ")), "{label}");
        assert_eq!(cells, n);
        let want = *count as f64 / (*n as f64 * 0.5);
        assert!(
            (rate - want).abs() < 1e-4,
            "{label}: {rate} Hz, want {want}"
        );
    }
    // Scnn1a: the whole file's count over 0.5 s would be 783 Hz; the window has ~150 Hz
    let scnn1a = &rows[0];
    assert!(scnn1a.0.contains("Scnn1a"));
    assert!(scnn1a.2 > 100.0 && scnn1a.2 < 200.0, "{}", scnn1a.2);
    // the spikes of all bands are exactly the window's
    let total: u64 = rows
        .iter()
        .map(|r| (r.2 * r.1 as f64 * 0.5).round() as u64)
        .sum();
    assert_eq!(total, in_window);

    // raster title and spike ticks: the window's spikes only
    let svg = out.path().join("raster.svg");
    glifnet(
        &[
            "plot",
            "raster",
            sp,
            "--config",
            "config.simulation.json",
            "--tmin",
            "1000",
            "--tmax",
            "1500",
            "-o",
            svg.to_str().unwrap(),
        ],
        &net,
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    let title = format!("{in_window} spikes, 450 cells, [1000, 1500) ms");
    assert!(text.contains(&title), "no `{title}` in the SVG");
    // one <rect> per spike tick plus the odd bands' backgrounds and the frame: far fewer than
    // the file's 76,318
    let rects = text.matches("<rect").count() as u64;
    assert!(rects >= in_window && rects < in_window + 50, "{rects}");
    // the embedded font is named, not a generic family
    assert!(text.contains("font-family=\"DejaVu Sans\""));
    assert!(!text.contains("font-family=\"sans-serif\""));

    // without --config: one band per population, same window rule
    let (stdout, _) = glifnet(
        &[
            "plot",
            "rates",
            sp,
            "--tmin",
            "1000",
            "--tmax",
            "1500",
            "-o",
            rates_png.to_str().unwrap(),
        ],
        &net,
    );
    let rows = rate_rows(&stdout);
    assert_eq!(rows.len(), 1);
    let want = in_window as f64 / (rows[0].1 as f64 * 0.5);
    assert!((rows[0].2 - want).abs() < 1e-4, "{} vs {want}", rows[0].2);
}

/// Copies the bmtk example beside its components (BMTK's relative layout).
fn example_copy() -> tempfile::TempDir {
    let shared = common::shared_dir();
    let d = tempfile::tempdir().unwrap();
    for ex in ["point_450glifs", "point_components"] {
        let o = Command::new("cp")
            .args(["-r"])
            .arg(shared.join("data/bmtk").join(ex))
            .arg(d.path())
            .status()
            .unwrap();
        assert!(o.success());
    }
    let _ = std::fs::remove_dir_all(d.path().join("point_450glifs/output"));
    d
}

#[test]
fn window_defaults_to_the_runs_tstop() {
    let d = example_copy();
    let ex = d.path().join("point_450glifs");
    // a run shorter than the config's 3000 ms: only output/config.json knows its 1000 ms
    let (_, summary) = glifnet(
        &[
            "run",
            "config.simulation.json",
            "--dt",
            "0.1",
            "--tstop",
            "1000",
            "--no-plot",
        ],
        &ex,
    );
    // `v1   450   N   RATE   ACTIVE%`
    let row: Vec<&str> = summary
        .lines()
        .find(|l| l.starts_with("v1 "))
        .unwrap_or_else(|| panic!("no v1 row in\n{summary}"))
        .split_whitespace()
        .collect();
    let (n_spikes, run_rate): (u64, f64) = (row[2].parse().unwrap(), row[3].parse().unwrap());
    let (ids, ts) = read_v1_spikes(&ex.join("output/spikes.h5"));
    assert_eq!(ids.len() as u64, n_spikes);
    let last = ts.iter().cloned().fold(0.0, f64::max);
    assert!(last <= 1000.0 && last > 900.0, "{last}");
    let want_rate = n_spikes as f64 / 450.0; // Hz over 1 s
    assert!(
        (run_rate - want_rate).abs() < 0.01,
        "{run_rate} vs {want_rate}"
    );

    // no --config: the window ends at the run's tstop from output/config.json (and includes it:
    // a spike of the last step is stamped at tstop), not at the config file's 3000
    for args in [
        vec!["plot", "rates", "output/spikes.h5", "-o", "r.png"],
        vec!["plot", "rates", "output/spikes.csv", "-o", "r.png"],
        vec![
            "plot",
            "rates",
            "output/spikes.h5",
            "--config",
            "config.simulation.json",
            "-o",
            "r.png",
        ],
    ] {
        let (stdout, _) = glifnet(&args, &ex);
        assert!(
            stdout.contains(
                "window [0, 1000] ms (default 0; end: run.tstop from output/config.json)"
            ),
            "{args:?}: {stdout}"
        );
        let rows = rate_rows(&stdout);
        let total: u64 = rows.iter().map(|r| (r.2 * r.1 as f64).round() as u64).sum();
        assert_eq!(total, n_spikes, "{args:?}");
        if args.len() == 5 {
            // one band, all 450 cells spiked at some point (ids 0-449): the summary's rate
            assert_eq!(rows[0].1, 450, "{stdout}");
            assert!(
                (rows[0].2 - run_rate).abs() < 0.01,
                "{} vs {run_rate}",
                rows[0].2
            );
        }
    }

    // a spike file away from its run: --config's tstop (3000), said so
    let away = d.path().join("away");
    std::fs::create_dir(&away).unwrap();
    std::fs::copy(ex.join("output/spikes.h5"), away.join("spikes.h5")).unwrap();
    let away_sp = away.join("spikes.h5");
    let (stdout, _) = glifnet(
        &[
            "plot",
            "rates",
            away_sp.to_str().unwrap(),
            "--config",
            "config.simulation.json",
            "-o",
            "r.png",
        ],
        &ex,
    );
    assert!(
        stdout.contains(
            "window [0, 3000] ms (default 0; end: run.tstop from config.simulation.json)"
        ),
        "{stdout}"
    );
    let rows = rate_rows(&stdout);
    let total: u64 = rows
        .iter()
        .map(|r| (r.2 * r.1 as f64 * 3.0).round() as u64)
        .sum();
    assert_eq!(total, n_spikes);
    // nothing known: the last spike rounded up to 100 ms, said so
    let (stdout, _) = glifnet(
        &["plot", "rates", away_sp.to_str().unwrap(), "-o", "r.png"],
        &ex,
    );
    let end = ((last / 100.0).floor() + 1.0) * 100.0;
    assert!(
        stdout.contains(&format!(
            "window [0, {end}) ms (default 0; end: last spike rounded up to 100 ms"
        )),
        "{stdout}"
    );
}
