//! `glifnet convert`: Allen Cell Types `neuron_config.json` → NEST-unit glif parameters
//! (issue #3; formulas in docs sonata-bmtk.md §5.4, glif.md §3.9).

use crate::models::allen::{convert, level_from_template, RefractoryConvention};
use crate::models::ModelKind;
use anyhow::Context;
use std::path::PathBuf;

/// Target NEST model of the conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// Current-based alpha synapses, bmtk's 4 ports (tau_syn 5.5, 8.5, 2.8, 5.8 ms).
    GlifPsc,
    /// Conductance-based synapses (NEST glif_cond default ports).
    GlifCond,
}

/// Arguments of `glifnet convert`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Allen neuron_config.json (SI units, "type": "GLIF").
    pub input: PathBuf,
    /// NEST model to produce parameters for.
    #[arg(long, value_enum, default_value = "glif-psc")]
    pub model: Target,
    /// Show every derived parameter with its formula and inputs.
    #[arg(long)]
    pub explain: bool,
    /// Refractory period: `bmtk` (t_ref = spike_cut_length × config dt, the network default) or
    /// `run-dt:<ms>` (spike_cut_length steps of the run dt, AllenSDK semantics).
    #[arg(long, default_value = "bmtk")]
    pub t_ref_convention: String,
    /// GLIF level (1-5) or bmtk model_template (e.g. nest:glif_lif_asc_psc) to convert as;
    /// default: the level implied by the config's method names.
    #[arg(long)]
    pub level: Option<String>,
    /// Write the JSON here (atomically) instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let bytes = crate::limits::read_file(&args.input)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.input.display()))?;
    let cfg: serde_json::Value = serde_json::from_slice(crate::limits::strip_bom_bytes(&bytes))
        .map_err(|e| anyhow::anyhow!("{}: invalid JSON: {e}", args.input.display()))?;
    let conv_opt = RefractoryConvention::parse(&args.t_ref_convention)?;
    let level = match &args.level {
        None => None,
        Some(s) => Some(match s.parse::<u8>() {
            Ok(l) => l,
            Err(_) => level_from_template(s).with_context(|| {
                format!("--level = {s}: must be 1-5 or a template nest:glif_lif[_r][_asc][_a]_psc")
            })?,
        }),
    };
    let kind = match args.model {
        Target::GlifPsc => ModelKind::GlifPsc,
        Target::GlifCond => ModelKind::GlifCond,
    };
    let conv = convert(&cfg, kind, level, conv_opt).map_err(|e| e.in_file(args.input.display()))?;
    let json = serde_json::to_string_pretty(&serde_json::Value::Object(conv.params.clone()))?;
    if args.explain {
        println!(
            "# {} → {} (GLIF{}), {}",
            args.input.display(),
            kind,
            conv.level,
            args.t_ref_convention
        );
        for d in &conv.derivations {
            let inputs = if d.inputs.is_empty() {
                String::new()
            } else {
                format!("   [{}]", d.inputs)
            };
            println!("# {} = {}   <- {}{}", d.name, d.value, d.formula, inputs);
        }
    }
    match &args.output {
        None => println!("{json}"),
        Some(path) => {
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, format!("{json}\n"))
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}
