//! `glifnet plot` on the NEST reference run of point_450glifs (reference-data.md): the bands
//! and rates must account for every reference spike, per node type.

use std::process::Command;

mod common;

fn png_size(p: &std::path::Path) -> (u32, u32) {
    let b = std::fs::read(p).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
    (
        u32::from_be_bytes(b[16..20].try_into().unwrap()),
        u32::from_be_bytes(b[20..24].try_into().unwrap()),
    )
}

#[test]
fn reference_raster_and_rates_per_node_type() {
    let shared = common::shared_dir();
    let spikes = shared.join("reference/nest/point_450glifs/spikes_dt0.001.h5");
    let net = shared.join("data/bmtk/point_450glifs");
    let out = tempfile::tempdir().unwrap();
    // BMTK resolves the example's relative paths against the working directory.
    let run = |args: &[&str]| {
        let o = Command::new(common::glifnet_bin())
            .args(args)
            .current_dir(&net)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let sp = spikes.to_str().unwrap();
    let png = out.path().join("raster.png");
    let svg = out.path().join("raster.svg");
    run(&[
        "plot",
        "raster",
        sp,
        "--config",
        "config.simulation.json",
        "-o",
        png.to_str().unwrap(),
    ]);
    run(&[
        "plot",
        "raster",
        sp,
        "--config",
        "config.simulation.json",
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(png_size(&png), (1400, 900));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("76896 spikes, 450 cells, [0, 3000] ms"));
    // one spike tick per reference spike, plus a few band backgrounds
    assert!(text.matches("<rect").count() >= 76_896);

    let rates = out.path().join("rates.png");
    let stdout = run(&[
        "plot",
        "rates",
        sp,
        "--config",
        "config.simulation.json",
        "-o",
        rates.to_str().unwrap(),
    ]);
    // label \t cells \t rate (Hz over 3 s)
    let rows: Vec<(String, usize, f64)> = stdout
        .lines()
        .filter(|l| l.contains('\t'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect();
    let labels: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        labels,
        [
            "v1 100 Scnn1a glif_psc",
            "v1 101 Rorb glif_psc",
            "v1 102 Nr5a1 glif_psc",
            "v1 103 PV1 glif_psc",
            "v1 104 PV2 glif_psc",
            "v1 105 LIF_exc iaf_psc_alpha",
            "v1 106 LIF_inh iaf_psc_alpha",
        ]
    );
    let cells: Vec<usize> = rows.iter().map(|r| r.1).collect();
    assert_eq!(cells, [80, 80, 80, 30, 30, 75, 75]);
    let count = |r: &(String, usize, f64)| (r.2 * r.1 as f64 * 3.0).round() as u64;
    // reference-data.md: 70,277 GLIF spikes (ids 0–299) and 6,619 LIF spikes (ids 300–449).
    let glif: u64 = rows[..5].iter().map(count).sum();
    let lif: u64 = rows[5..].iter().map(count).sum();
    assert_eq!((glif, lif), (70_277, 6_619));
    assert_eq!(png_size(&rates), (1110, 640));
}
