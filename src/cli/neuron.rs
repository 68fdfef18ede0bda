//! `glifnet neuron` (issue #4).

/// Arguments of `glifnet neuron`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input file.
    pub input: Option<std::path::PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`glifnet neuron` is not yet implemented (issue #4)")
}
