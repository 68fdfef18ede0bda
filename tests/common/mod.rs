//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared reference folder: `$GLIFNET_SHARED`, else `../shared` beside the checkout.
/// Conformance tests must run in CI, so a missing folder is a test failure, not a skip.
pub fn shared_dir() -> PathBuf {
    let p = match std::env::var_os("GLIFNET_SHARED") {
        Some(v) => PathBuf::from(v),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    assert!(
        p.join("docs").is_dir(),
        "reference data not found at {} (set GLIFNET_SHARED)",
        p.display()
    );
    p
}

/// Path to the release/debug `glifnet` binary built for these tests.
pub fn glifnet_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_glifnet"))
}
