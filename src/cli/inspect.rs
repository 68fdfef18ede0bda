//! `glifnet inspect` (issue #2).

/// Arguments of `glifnet inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input file.
    pub input: Option<std::path::PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`glifnet inspect` is not yet implemented (issue #2)")
}
