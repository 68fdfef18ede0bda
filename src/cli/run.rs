//! `glifnet run` (issue #5).

/// Arguments of `glifnet run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input file.
    pub input: Option<std::path::PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`glifnet run` is not yet implemented (issue #5)")
}
