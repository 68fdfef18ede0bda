//! Helpers for the builder tests: build a spec into a temp folder and read the result back.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use glifnet::build::{build, BuildOptions, BuildReport};

/// The crate root (specs live in `networks/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Build `spec` into `out` with optional scale/seed overrides.
pub fn build_to(spec: &Path, out: &Path, scale: Option<f64>, seed: Option<u64>) -> BuildReport {
    build(spec, out, &BuildOptions { scale, seed }).expect("build")
}

/// Write a spec JSON into `dir/spec.json` and return its path.
pub fn write_spec(dir: &Path, spec: &serde_json::Value) -> PathBuf {
    let p = dir.join("spec.json");
    std::fs::write(&p, serde_json::to_string_pretty(spec).unwrap()).unwrap();
    p
}

/// Edge columns of one edges file.
pub struct Edges {
    pub source: Vec<u64>,
    pub target: Vec<u64>,
    pub edge_type_id: Vec<u32>,
    pub nsyns: Vec<u32>,
}

pub fn read_edges(path: &Path, pop: &str) -> Edges {
    let f = hdf5::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let g = f.group(&format!("edges/{pop}")).unwrap();
    Edges {
        source: g.dataset("source_node_id").unwrap().read_raw().unwrap(),
        target: g.dataset("target_node_id").unwrap().read_raw().unwrap(),
        edge_type_id: g.dataset("edge_type_id").unwrap().read_raw().unwrap(),
        nsyns: g.dataset("0/nsyns").unwrap().read_raw().unwrap(),
    }
}

pub fn read_node_types(path: &Path, pop: &str) -> Vec<u64> {
    let f = hdf5::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.dataset(&format!("nodes/{pop}/node_type_id"))
        .unwrap()
        .read_raw()
        .unwrap()
}

pub fn read_f64(path: &Path, dataset: &str) -> Vec<f64> {
    let f = hdf5::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.dataset(dataset).unwrap().read_raw().unwrap()
}

/// All files under `dir` (relative path, bytes), sorted, skipping `output/`.
pub fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push((
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// |x - expected| <= k standard deviations of a binomial(n, p) count.
pub fn within_sigma(x: f64, n: f64, p: f64, k: f64) -> bool {
    (x - n * p).abs() <= k * (n * p * (1.0 - p)).sqrt().max(1.0)
}

/// Serialises the tests of one test binary. A child process forked while another test thread
/// holds an HDF5 file open for writing inherits that descriptor and its `flock`, so a later
/// open of that file fails with "unable to lock file" until the child exits.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
