//! `glifnet convert` (issue #3).

/// Arguments of `glifnet convert`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input file.
    pub input: Option<std::path::PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`glifnet convert` is not yet implemented (issue #3)")
}
