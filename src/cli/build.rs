//! `glifnet build SPEC.json -o DIR [--scale N] [--seed S]` (issue #6).

use std::path::PathBuf;

use anyhow::Context;

use crate::build::{build, BuildOptions};

/// Arguments of `glifnet build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Network spec (JSON), or a folder holding `spec.json`.
    pub spec: PathBuf,
    /// Output folder (default: the spec's folder). Existing files of the same names are
    /// replaced once the whole network has been written.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Scale factor: scalable node counts ×N, connection probabilities ÷N (in-degree kept).
    #[arg(long)]
    pub scale: Option<f64>,
    /// Master random seed (default: the spec's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let out = match &args.output {
        Some(o) => o.clone(),
        None if args.spec.is_dir() => args.spec.clone(),
        None => args
            .spec
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p.to_path_buf()
                }
            })
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    let opts = BuildOptions {
        scale: args.scale,
        seed: args.seed,
    };
    let r = build(&args.spec, &out, &opts).context("build failed")?;
    println!(
        "built {} (scale {}, seed {}) in {:.2} s",
        r.out_dir.display(),
        r.scale,
        r.seed,
        r.seconds
    );
    for (name, n, virt) in &r.populations {
        println!(
            "  nodes {name:<20} {n:>12}{}",
            if *virt { "  (virtual)" } else { "" }
        );
    }
    for (name, t, rules) in &r.edges {
        println!("  edges {name:<20} {:>12}  nsyns {:>12}", t.edges, t.nsyns);
        for (rule, n) in rules.iter().zip(&t.per_rule) {
            println!("        {rule:<30} {n:>12}");
        }
    }
    for (name, n) in &r.inputs {
        println!("  input {name:<20} {n:>12} spikes");
    }
    Ok(())
}
