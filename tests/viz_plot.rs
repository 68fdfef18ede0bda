//! Plot functions on synthetic data: PSTH arithmetic, PNG/SVG output, temp-file discipline.
//! Set `GLIFNET_KEEP_PLOTS=<dir>` to keep the images for inspection.

use std::path::{Path, PathBuf};

use glifnet::output::plot::{
    nice_bin, plot_raster, plot_rates, plot_trace, psth, Band, Raster, RateBar, TracePlot,
};

/// Deterministic pseudo-random spikes: cell `r` of a band fires with a rate modulated at 4 Hz.
fn band(label: &str, n: usize, base_hz: f64, seed: u64) -> Band {
    let mut s = seed;
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut b = Band {
        label: label.to_string(),
        n_cells: n,
        ..Band::default()
    };
    for r in 0..n {
        let mut t = 0.0;
        loop {
            t += -rnd().max(1e-12).ln() * 1000.0 / (base_hz * 2.0);
            if t >= 1000.0 {
                break;
            }
            let m = 0.5 * (1.0 + (2.0 * std::f64::consts::PI * 4.0 * t / 1000.0).sin());
            if rnd() < m {
                b.times.push(t);
                b.rows.push(r as u32);
            }
        }
    }
    b
}

fn out_dir() -> (tempfile::TempDir, Option<PathBuf>) {
    let keep = std::env::var_os("GLIFNET_KEEP_PLOTS").map(PathBuf::from);
    if let Some(k) = &keep {
        std::fs::create_dir_all(k).unwrap();
    }
    (tempfile::tempdir().unwrap(), keep)
}

fn keep(p: &Path, keep: &Option<PathBuf>) {
    if let Some(k) = keep {
        std::fs::copy(p, k.join(p.file_name().unwrap())).unwrap();
    }
}

fn png_size(p: &Path) -> (u32, u32) {
    let b = std::fs::read(p).unwrap();
    assert_eq!(
        &b[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        p.display()
    );
    let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
    (w, h)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn psth_counts_spikes_per_cell_per_second() {
    // 2 cells, bins of 10 ms over [0, 30): 3 spikes in bin 0, 1 in bin 2, one outside.
    let r = psth(&[0.0, 5.0, 9.999, 25.0, 30.0, -1.0], 2, 0.0, 30.0, 10.0);
    // 3 spikes / (2 cells × 0.01 s) = 150 Hz.
    assert_eq!(r, vec![150.0, 0.0, 50.0]);
    assert_eq!(nice_bin(3000.0, 300.0), 10.0);
    assert_eq!(nice_bin(1000.0, 300.0), 2.0);
    assert_eq!(nice_bin(1500.0, 300.0), 5.0);
    assert_eq!(nice_bin(100.0, 300.0), 0.2);
}

#[test]
fn raster_png_and_svg() {
    let (dir, k) = out_dir();
    let raster = Raster {
        title: "synthetic: 3 bands".into(),
        bands: vec![
            band("exc / 100 glif_psc", 80, 8.0, 1),
            band("inh / 101 glif_psc", 30, 20.0, 2),
            band("lif / 105 iaf_psc_alpha", 40, 3.0, 3),
        ],
        tmin: 0.0,
        tmax: 1000.0,
    };
    let png = dir.path().join("raster.png");
    plot_raster(&png, &raster).unwrap();
    assert_eq!(png_size(&png), (1400, 900));
    keep(&png, &k);
    let svg = dir.path().join("raster.svg");
    plot_raster(&svg, &raster).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"), "{}", &text[..40]);
    // Labels and band statistics are written as text.
    assert!(text.contains("inh / 101 glif_psc"));
    assert!(text.contains("30 cells"));
    assert!(text.contains("time (ms)"));
    // One <rect> per spike at least.
    let n_spikes: usize = raster.bands.iter().map(|b| b.times.len()).sum();
    assert!(text.matches("<rect").count() >= n_spikes);
    keep(&svg, &k);
    assert_eq!(names(dir.path()), vec!["raster.png", "raster.svg"]);
}

#[test]
fn rates_and_trace_png() {
    let (dir, k) = out_dir();
    let bars = vec![
        RateBar {
            label: "100".into(),
            rate_hz: 12.5,
            n_cells: 80,
        },
        RateBar {
            label: "101".into(),
            rate_hz: 30.0,
            n_cells: 30,
        },
        RateBar {
            label: "105".into(),
            rate_hz: 0.0,
            n_cells: 75,
        },
    ];
    let p = dir.path().join("rates.png");
    plot_rates(&p, "mean rates", &bars).unwrap();
    assert_eq!(png_size(&p), (600, 640));
    keep(&p, &k);

    let n = 20_000;
    let times: Vec<f64> = (0..n).map(|i| i as f64 * 0.05).collect();
    let values: Vec<f64> = times
        .iter()
        .map(|t| -70.0 + 15.0 * ((t % 100.0) / 100.0))
        .collect();
    let tr = TracePlot {
        title: "node 3 (v1) V_m".into(),
        times,
        values,
        y_label: "V_m (mV)".into(),
        spikes: vec![100.0, 200.0, 300.0],
    };
    let p = dir.path().join("trace.png");
    plot_trace(&p, &tr).unwrap();
    assert_eq!(png_size(&p), (1200, 500));
    keep(&p, &k);
}

#[test]
fn bad_plot_requests_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let raster = Raster {
        title: String::new(),
        bands: vec![band("a", 5, 5.0, 9)],
        tmin: 0.0,
        tmax: 1000.0,
    };
    let e = plot_raster(&dir.path().join("r.jpg"), &raster)
        .unwrap_err()
        .to_string();
    assert!(e.contains("r.jpg") && e.contains("\"jpg\""), "{e}");
    let mut r2 = raster.clone();
    r2.tmax = 0.0;
    let e = plot_raster(&dir.path().join("r.png"), &r2)
        .unwrap_err()
        .to_string();
    assert!(e.contains("tmin/tmax") && e.contains("[0, 0)"), "{e}");
    let mut r3 = raster.clone();
    r3.bands[0].rows[0] = 7;
    let e = plot_raster(&dir.path().join("r.png"), &r3)
        .unwrap_err()
        .to_string();
    assert!(e.contains("row 7"), "{e}");
    let e = plot_raster(&dir.path().join("nodir/r.png"), &raster)
        .unwrap_err()
        .to_string();
    assert!(e.contains("nodir"), "{e}");
    let bad = [RateBar {
        label: "x".into(),
        rate_hz: f64::NAN,
        n_cells: 1,
    }];
    let e = plot_rates(&dir.path().join("x.png"), "", &bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("NaN"), "{e}");
    assert!(names(dir.path()).is_empty());
}
