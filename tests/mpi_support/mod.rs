//! Networks for the distributed-run tests: the scaled point_450glifs spec built by the test
//! (with Poisson and current-clamp inputs added so every kind of drive crosses rank borders),
//! and a private copy of the shipped point_450glifs example.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use glifnet::build::{build, BuildOptions};

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// Build `networks/scaled_450glifs` at scale 0.4 (180 cells: GLIF3 and iaf_psc_alpha groups,
/// 100 LGN inputs) into `dir`, add a Poisson background and a current clamp on a few cells,
/// and set tstop; returns the config path.
pub fn built_network(dir: &Path, tstop: f64) -> PathBuf {
    let spec = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("networks/scaled_450glifs/spec.json");
    build(
        &spec,
        dir,
        &BuildOptions {
            scale: Some(0.4),
            seed: Some(8),
        },
    )
    .expect("build");
    let cfg_path = dir.join("config.simulation.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    cfg["run"]["tstop"] = tstop.into();
    cfg["inputs"]["bg"] = serde_json::json!({
        "input_type": "poisson", "module": "poisson", "node_set": "v1",
        "rate": 50.0, "start": 0.0, "stop": tstop, "seed": 11, "weight": 40.0
    });
    cfg["inputs"]["clamp"] = serde_json::json!({
        "input_type": "current_clamp", "module": "IClamp",
        "node_set": {"population": "v1", "node_id": [0, 3, 91, 92, 150, 179]},
        "amp": [250.0], "delay": [50.0], "duration": [200.0]
    });
    std::fs::write(&cfg_path, serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    cfg_path
}

/// A private copy of point_450glifs + point_components in `tmp`; returns the example folder.
pub fn example_450(tmp: &Path, shared: &Path) -> PathBuf {
    for d in ["point_450glifs", "point_components"] {
        copy_dir(&shared.join("data/bmtk").join(d), &tmp.join(d));
    }
    tmp.join("point_450glifs")
}
