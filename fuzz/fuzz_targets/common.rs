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

/// The error must print as one non-empty line through the CLI's formatter (what a user sees:
/// `glifnet::cli::one_line_error`). Raw messages may embed user text with newlines, e.g. a
/// path value containing "\n" (found by fuzzing, reported to the config module's owner).
pub fn check_message<E: std::error::Error + Send + Sync + 'static>(e: E) {
    let line = glifnet::cli::one_line_error(&anyhow::Error::new(e));
    assert!(line.len() > "error: ".len(), "empty error message");
    assert!(!line.contains('\n'), "multi-line error message: {line:?}");
}
