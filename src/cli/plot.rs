//! `glifnet plot` (issue #7).

/// Arguments of `glifnet plot`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input file.
    pub input: Option<std::path::PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`glifnet plot` is not yet implemented (issue #7)")
}
