//! The fuzz targets' checks (fuzz/fuzz_targets/) replayed on the committed inputs under
//! fuzz/seeds/<target>/ and fuzz/regressions/<target>/ (crashing inputs found by fuzzing go
//! there), so every `cargo test` re-checks them without cargo-fuzz: no panic, and every error
//! prints as a single line. `regressions/config_resolver/newline-in-path.json` (found by
//! fuzzing) is a path value holding a newline: the raw config error then spans two lines.

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut v = Vec::new();
    for dir in ["seeds", "regressions"] {
        if let Ok(rd) = std::fs::read_dir(root.join(dir).join(target)) {
            v.extend(rd.map(|e| e.unwrap().path()));
        }
    }
    v.sort();
    v
}

/// As in the fuzz targets: the error as the CLI prints it is one non-empty line.
fn one_line<E: std::error::Error + Send + Sync + 'static>(e: E, input: &Path) {
    let m = glifnet::cli::one_line_error(&anyhow::Error::new(e));
    assert!(
        m.len() > 7 && !m.contains('\n'),
        "{}: {m:?}",
        input.display()
    );
}

#[test]
fn types_csv_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let all = inputs("types_csv");
    assert!(all.len() >= 2);
    for input in all {
        let p = dir.path().join("types.csv");
        std::fs::copy(&input, &p).unwrap();
        match glifnet::sonata::read_types_csv(&p) {
            Ok(t) => {
                let _ = t.column("node_type_id");
            }
            Err(e) => one_line(e, &input),
        }
    }
}

#[test]
fn spikes_csv_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let all = inputs("spikes_csv");
    assert!(all.len() >= 3);
    for input in all {
        let p = dir.path().join("spikes.csv");
        std::fs::copy(&input, &p).unwrap();
        match glifnet::sonata::spikes::read_spikes_csv(&p) {
            Ok(s) => {
                for pop in &s.populations {
                    assert_eq!(pop.node_ids.len(), pop.timestamps_ms.len());
                }
            }
            Err(e) => one_line(e, &input),
        }
    }
}

#[test]
fn config_resolver_inputs() {
    let all = inputs("config_resolver");
    assert!(all.len() >= 3);
    for input in all {
        let dir = tempfile::tempdir().unwrap();
        let data = std::fs::read(&input).unwrap();
        let names = ["config.json", "config.circuit.json", "node_sets.json"];
        let text = String::from_utf8_lossy(&data).into_owned();
        for (name, part) in names.iter().zip(text.splitn(3, "\n---\n")) {
            std::fs::write(dir.path().join(name), part).unwrap();
        }
        let opts = glifnet::config::LoadOptions {
            working_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        match glifnet::config::SimulationConfig::load_with(dir.path().join(names[0]), &opts) {
            Ok(c) => {
                let _ = c.to_json();
            }
            Err(e) => one_line(e, &input),
        }
    }
}
