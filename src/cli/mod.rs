//! Command-line front end. Each subcommand lives in its own file with its clap `Args` and a
//! `run(args) -> anyhow::Result<()>`; `anyhow` is used only at this edge.

pub mod build;
pub mod convert;
pub mod inspect;
pub mod neuron;
pub mod plot;
pub mod run;
pub mod signals;

use clap::{Parser, Subcommand};

/// `glifnet --version`: the crate version and the optional features compiled in.
pub const VERSION: &str = if cfg!(feature = "mpi") {
    concat!(env!("CARGO_PKG_VERSION"), " (features: mpi)")
} else {
    concat!(env!("CARGO_PKG_VERSION"), " (features: none)")
};

/// Point-neuron network simulator for SONATA / BMTK PointNet networks of Allen GLIF neurons.
#[derive(Debug, Parser)]
#[command(name = "glifnet", version = VERSION, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a BMTK PointNet simulation config (SONATA network) and write its outputs.
    Run(run::Args),
    /// Run one Allen Cell Types GLIF model on a step, a stimulus file or a spike train.
    Neuron(neuron::Args),
    /// Convert an Allen neuron_config.json to NEST-unit glif parameters.
    Convert(convert::Args),
    /// Describe a config's populations, edges, inputs and outputs.
    Inspect(inspect::Args),
    /// Build a SONATA network from a JSON spec.
    Build(build::Args),
    /// Plot spikes (raster, rates) or membrane traces.
    Plot(plot::Args),
}

/// Format an error chain as a single line: `error: outer: inner: root`.
pub fn one_line_error(e: &anyhow::Error) -> String {
    let mut s = String::from("error: ");
    let mut first = true;
    for cause in e.chain() {
        let msg = cause.to_string();
        if !first {
            // Skip causes whose text the outer message already includes.
            if s.contains(&msg) {
                continue;
            }
            s.push_str(": ");
        }
        s.push_str(&msg);
        first = false;
    }
    s.replace('\n', " ")
}
