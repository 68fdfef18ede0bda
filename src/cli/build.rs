//! `glifnet build` (issue #6).

/// Arguments of `glifnet build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input file.
    pub input: Option<std::path::PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`glifnet build` is not yet implemented (issue #6)")
}
