//! Shared by the fuzz targets: the readers take paths, so each input is written to a
#![allow(dead_code)]
//! per-process scratch folder first.
use std::path::PathBuf;

pub fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("glifnet-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&d);
    d
}

/// Writes `data` to `name` in the scratch folder and returns its path.
pub fn put(name: &str, data: &[u8]) -> PathBuf {
    let p = scratch().join(name);
    std::fs::write(&p, data).expect("scratch folder writable");
    p
}

/// The error message must be one line (the CLI prints it as the only line on stderr).
pub fn check_message(e: &dyn std::fmt::Display) {
    let m = e.to_string();
    assert!(!m.is_empty(), "empty error message");
    assert!(!m.contains('\n'), "multi-line error message: {m:?}");
}
