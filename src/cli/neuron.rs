//! `glifnet neuron` (issue #4): run one Allen Cell Types GLIF model on a step current, a
//! sampled stimulus, or spike trains turned into synaptic currents, with AllenSDK's numerics
//! (default) or NEST's glif_psc; writes spikes.csv, traces.csv, summary.json [, neuron.png].

use std::path::PathBuf;

use anyhow::{bail, Context};
use serde_json::json;

use crate::neuron::allensdk::{GlifNeuron, RunOutput, SpikeCut};
use crate::neuron::config::{
    AllenConfig, AscDynamics, AscReset, ThresholdDynamics, ThresholdReset, VoltageReset,
};
use crate::neuron::nest::AlphaTrain;
use crate::neuron::output::{write_json, write_spikes, write_traces, Staged};
use crate::neuron::stimulus::{onset_steps, read_text_stimulus, Kernel, StepCurrent, TrainSource};

const AFTER_HELP: &str = "\
Inputs (at least one; all given inputs are summed):
  --step AMP,START,STOP      current pulse, AMP in A, on for t in [START, STOP) s; repeatable
  --stimulus FILE            one current value per line (A, or --stimulus-unit pA), sampled at --dt
  --stimulus-h5 FILE:DATASET 1-D dataset, e.g. an NWB sweep (its `conversion` attribute is applied)
  --spike-train SPEC         regular:RATE_HZ[,start=S] | poisson:RATE_HZ[,seed=N] | file:PATH (times in s);
                             repeatable, each with its --weight (pA, peak of alpha / jump of exp,
                             negative = inhibitory) and --kernel (alpha:TAU_MS | exp:TAU_MS,
                             default alpha:5.5, BMTK's excitatory port). One --weight/--kernel
                             applies to every train.

Spike cut (refractory period) — the Allen configs give spike_cut_length in samples:
  steps      spike_cut_length steps of the run --dt: what AllenSDK does (the Cell Types database
             responses were made this way at dt = 5e-6 s). At --dt 5e-6 a cut of 134 is 0.67 ms.
  config-dt  keep the duration spike_cut_length x config dt (5e-5 s) as BMTK/NEST do (t_ref);
             134 -> 6.7 ms at any --dt (rounded up to whole steps).

Semantics:
  allensdk   AllenSDK GlifNeuron: forward Euler, spike cut as NaN samples, grid + interpolated times.
  nest       NEST glif_psc (exact integration) on the bmtk-converted parameters (t_ref from
             --spike-cut); spike times are end-of-step grid times. Inputs arrive as in NEST with
             delay dt: the current acts one step later; alpha trains drive glif_psc's own alpha
             synapses (one receptor per tau), exp trains are injected as current.

Outputs in -o DIR: spikes.csv (grid_time_s,interpolated_time_s), traces.csv
(t_s,voltage_v,threshold_v,asc_sum_a,stimulus_a; voltages relative to rest, NaN inside spike cuts;
row k is sample k at t = k*dt), summary.json, and neuron.png with --plot.

Example (bmtk's GLIF5 cell 637930677_lif_r_asc_a.json, rheobase 53 pA; a 20 Hz train of
400 pA alpha currents injects 120 pA on average; prints `20 spikes in 1.0 s (20.0 Hz)`):
  glifnet neuron 637930677_lif_r_asc_a.json --duration 1 --spike-train regular:20 --weight 400 --plot";

/// Arguments of `glifnet neuron`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// Allen Cell Types neuron_config.json (AllenSDK GLIF format, SI units).
    pub config: PathBuf,
    /// Step length in s (5e-6 s is the Cell Types stimulus sampling interval).
    #[arg(
        long,
        default_value = "5e-6",
        allow_hyphen_values = true,
        value_name = "SECONDS"
    )]
    pub dt: f64,
    /// Simulated time in s (default 1 s; with a stimulus file its length, which --duration must match).
    #[arg(long, allow_hyphen_values = true, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Current pulse AMP,START,STOP (A, s, s); repeatable, summed.
    #[arg(
        long = "step",
        value_name = "AMP,START,STOP",
        allow_hyphen_values = true
    )]
    pub steps: Vec<String>,
    /// Text stimulus: one current value per line, sampled at --dt.
    #[arg(long, value_name = "FILE", conflicts_with = "stimulus_h5")]
    pub stimulus: Option<PathBuf>,
    /// Unit of the --stimulus / --stimulus-h5 values: A (default), pA or nA.
    #[arg(long, value_enum, ignore_case = true, value_name = "UNIT")]
    pub stimulus_unit: Option<Unit>,
    /// HDF5 stimulus FILE:DATASET (1-D), e.g. an Allen NWB sweep.
    #[arg(long, value_name = "FILE:DATASET")]
    pub stimulus_h5: Option<String>,
    /// Spike train regular:RATE_HZ[,start=S] | poisson:RATE_HZ[,seed=N] | file:PATH; repeatable.
    #[arg(long = "spike-train", value_name = "SPEC")]
    pub spike_trains: Vec<String>,
    /// Synaptic weight in pA per --spike-train (one value applies to all trains).
    #[arg(long = "weight", value_name = "PA", allow_hyphen_values = true)]
    pub weights: Vec<f64>,
    /// Synaptic kernel alpha:TAU_MS | exp:TAU_MS per --spike-train (default alpha:5.5).
    #[arg(long = "kernel", value_name = "KIND:TAU_MS")]
    pub kernels: Vec<String>,
    /// Output folder.
    #[arg(
        short = 'o',
        long = "output",
        default_value = "neuron_output",
        value_name = "DIR"
    )]
    pub out_dir: PathBuf,
    /// Numerics: AllenSDK GlifNeuron or NEST glif_psc.
    #[arg(long, value_enum, default_value_t = Semantics::Allensdk)]
    pub semantics: Semantics,
    /// Spike cut length convention (see below).
    #[arg(long, value_enum, default_value_t = CutArg::Steps)]
    pub spike_cut: CutArg,
    /// Also write neuron.png (stimulus, voltage with threshold, spike marks).
    #[arg(long)]
    pub plot: bool,
    /// Sampled stimulus given as values (library callers, e.g. the Python package): like
    /// --stimulus, in --stimulus-unit (default A), one value per step of --dt.
    #[arg(skip)]
    pub stimulus_values: Option<Vec<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Unit {
    #[value(name = "A")]
    A,
    #[value(name = "pA")]
    PA,
    #[value(name = "nA")]
    NA,
}

impl Unit {
    fn scale(self) -> f64 {
        match self {
            Unit::A => 1.0,
            Unit::PA => 1e-12,
            Unit::NA => 1e-9,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Semantics {
    Allensdk,
    Nest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CutArg {
    Steps,
    ConfigDt,
}

/// Most steps a run may have (traces are held in memory: 32 bytes per step).
const MAX_STEPS: usize = 100_000_000;

/// One spike train as built: its description for the summary.
struct TrainInfo {
    spec: String,
    weight_pa: f64,
    kernel: Kernel,
    onsets: Vec<usize>,
}

/// A finished single-cell run, before anything is written: what `glifnet neuron` writes to
/// spikes.csv, traces.csv and summary.json (the library entry point of the Python package).
#[derive(Debug, Clone)]
pub struct NeuronRun {
    /// Spike times, traces and the spike cut.
    pub out: RunOutput,
    /// The total input current per sample (A), the `stimulus_a` column of traces.csv.
    pub stimulus: Vec<f64>,
    /// summary.json.
    pub summary: serde_json::Value,
    /// Simulated time (s) = steps × dt.
    pub duration: f64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let NeuronRun {
        out,
        stimulus,
        summary,
        duration,
    } = simulate(&args)?;
    let stim = &stimulus;
    let cfg = AllenConfig::from_file(&args.config)?;
    if let Some(b) = &out.bad_reset {
        eprintln!(
            "warning: {}: the reset after the spike at t = {} s leaves V = {} V above the reset threshold {} V; \
             AllenSDK silently stops the run there, and so does this run (later samples are NaN, later spikes are lost)",
            args.config.display(),
            b.time,
            b.reset_voltage,
            b.reset_threshold
        );
    }
    write_outputs(&args, &cfg, &out, stim, &summary, duration)
}

/// Run the model on the inputs of `args` (nothing is written, nothing printed).
pub fn simulate(args: &Args) -> anyhow::Result<NeuronRun> {
    let cfg = AllenConfig::from_file(&args.config)?;
    let dt = args.dt;
    if !(dt > 0.0 && dt.is_finite()) {
        bail!("--dt: {dt:?} s must be a positive number of seconds");
    }
    if let Some(d) = args.duration {
        if !(d > 0.0 && d.is_finite()) {
            bail!("--duration: {d:?} s must be a positive number of seconds");
        }
    }
    if args.steps.is_empty()
        && args.stimulus.is_none()
        && args.stimulus_values.is_none()
        && args.stimulus_h5.is_none()
        && args.spike_trains.is_empty()
    {
        bail!("no input: give --step, --stimulus, --stimulus-h5 or --spike-train (see glifnet neuron --help)");
    }

    // Sampled stimulus files fix the number of steps.
    let (mut stim, stim_source) = read_sampled_stimulus(args)?;
    let n_steps = match &stim {
        Some(s) => {
            if let Some(d) = args.duration {
                let want = (d / dt).round() as usize;
                if want != s.len() {
                    bail!(
                        "--duration {d:?} s is {want} steps at --dt {dt:?} s, but the stimulus has {} samples ({:?} s); \
                         drop --duration or match it",
                        s.len(),
                        s.len() as f64 * dt
                    );
                }
            }
            s.len()
        }
        None => {
            let d = args.duration.unwrap_or(1.0);
            let n = (d / dt).round();
            if n < 1.0 {
                bail!("--duration {d:?} s is shorter than one step of --dt {dt:?} s");
            }
            if n > MAX_STEPS as f64 {
                bail!("--duration {d:?} s at --dt {dt:?} s is {n} steps; at most {MAX_STEPS} are supported");
            }
            n as usize
        }
    };
    let stim: &mut Vec<f64> = stim.get_or_insert_with(|| vec![0.0; n_steps]);
    let duration = n_steps as f64 * dt;

    let mut step_info = Vec::new();
    for s in &args.steps {
        let st = StepCurrent::parse(s)?;
        st.add_to(stim, dt);
        step_info.push(json!({"amp_a": st.amp, "start_s": st.start, "stop_s": st.stop}));
    }
    let trains = build_spike_trains(args, dt, n_steps, duration)?;
    // The total input current: what AllenSDK semantics integrate and traces.csv reports.
    let base: Vec<f64> = stim.clone();
    for t in &trains {
        t.kernel
            .add_current(&t.onsets, t.weight_pa * 1e-12, stim, dt);
    }

    let cut = match args.spike_cut {
        CutArg::Steps => SpikeCut::Steps,
        CutArg::ConfigDt => SpikeCut::ConfigDt,
    };
    let t0 = std::time::Instant::now();
    let (out, nest_params) = match args.semantics {
        Semantics::Allensdk => (GlifNeuron::new(&cfg, dt, cut)?.run(stim, true), None),
        Semantics::Nest => {
            // Alpha trains go through glif_psc's alpha synapses; exp trains join the current.
            let mut current = base;
            let mut alpha = Vec::new();
            for t in &trains {
                match t.kernel {
                    Kernel::Alpha { tau } => alpha.push(AlphaTrain {
                        onsets: t.onsets.clone(),
                        weight_pa: t.weight_pa,
                        tau_ms: tau * 1e3,
                    }),
                    Kernel::Exp { .. } => {
                        t.kernel
                            .add_current(&t.onsets, t.weight_pa * 1e-12, &mut current, dt)
                    }
                }
            }
            let r = crate::neuron::nest::run(&cfg, dt, cut, &current, &alpha)?;
            (r.output, Some(r.params))
        }
    };

    let simulate_s = t0.elapsed().as_secs_f64();

    let mut summary = summary(
        args,
        &cfg,
        &out,
        cut,
        duration,
        n_steps,
        stim_source,
        step_info,
        &trains,
        nest_params,
    );
    // Wall time of the simulation alone (no file I/O), for scripts/bench_neuron_vs_allensdk.sh.
    summary["simulate_s"] = json!(simulate_s);
    Ok(NeuronRun {
        out,
        stimulus: std::mem::take(stim),
        summary,
        duration,
    })
}

/// Write spikes.csv, traces.csv, summary.json [, neuron.png] and print the one-line report.
fn write_outputs(
    args: &Args,
    cfg: &AllenConfig,
    out: &RunOutput,
    stim: &[f64],
    summary: &serde_json::Value,
    duration: f64,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("{}: cannot create output folder", args.out_dir.display()))?;
    let dir = &args.out_dir;
    let mut staged = Staged::default();
    write_spikes(&staged.path_for(dir, "spikes.csv"), out)?;
    write_traces(&staged.path_for(dir, "traces.csv"), out, stim)?;
    write_json(&staged.path_for(dir, "summary.json"), summary)?;
    if args.plot {
        let (offset, label) = match cfg.el_reference {
            Some(e) => (e * 1e3, "membrane (mV)"),
            None => (0.0, "membrane (mV, rel. rest)"),
        };
        let name = args
            .config
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let title = format!(
            "{name} — {} semantics, dt {} s, {} spikes",
            match args.semantics {
                Semantics::Allensdk => "AllenSDK",
                Semantics::Nest => "NEST",
            },
            crate::neuron::output::F(args.dt),
            out.grid_spike_times.len()
        );
        crate::neuron::plot::plot_run(
            &staged.path_for(dir, "neuron.png"),
            out,
            stim,
            offset,
            label,
            &title,
        )?;
    }
    staged.commit()?;

    let n = out.grid_spike_times.len();
    println!(
        "{n} spikes in {} s ({} Hz); wrote spikes.csv, traces.csv, summary.json{} to {}",
        // Rounded for display only (the files keep full precision): steps·dt is not exact.
        crate::neuron::output::F((duration * 1e9).round() / 1e9),
        crate::neuron::output::F((n as f64 / duration * 1e6).round() / 1e6),
        if args.plot { ", neuron.png" } else { "" },
        dir.display()
    );
    Ok(())
}

/// The --stimulus / --stimulus-h5 samples (A) and a description, if one was given.
fn read_sampled_stimulus(args: &Args) -> anyhow::Result<(Option<Vec<f64>>, serde_json::Value)> {
    if let Some(v) = &args.stimulus_values {
        if args.stimulus.is_some() || args.stimulus_h5.is_some() {
            bail!("stimulus values: give them or --stimulus / --stimulus-h5, not both");
        }
        let unit = args.stimulus_unit.unwrap_or(Unit::A);
        if v.is_empty() {
            bail!("stimulus values: the array has no samples");
        }
        if let Some(k) = v.iter().position(|x| !x.is_finite()) {
            bail!(
                "stimulus values: sample {k} is {}, not a finite number",
                v[k]
            );
        }
        let s: Vec<f64> = v.iter().map(|x| x * unit.scale()).collect();
        let d = json!({"values": "array", "unit": format!("{unit:?}"), "n_samples": s.len()});
        return Ok((Some(s), d));
    }
    if let Some(p) = &args.stimulus {
        let unit = args.stimulus_unit.unwrap_or(Unit::A);
        let s = read_text_stimulus(p, unit.scale())?;
        let d = json!({"file": p, "unit": format!("{unit:?}"), "n_samples": s.len()});
        return Ok((Some(s), d));
    }
    if let Some(spec) = &args.stimulus_h5 {
        let (file, ds) = spec
            .rsplit_once(':')
            .filter(|(f, d)| !f.is_empty() && !d.is_empty())
            .with_context(|| format!("--stimulus-h5 {spec}: expected FILE:DATASET, e.g. cell.nwb:/stimulus/presentation/Sweep_10/data"))?;
        let d = crate::sonata::dataset::read_f64_1d(std::path::Path::new(file), ds)?;
        let scale = match (d.conversion, args.stimulus_unit) {
            (Some(_), Some(u)) if u != Unit::A => bail!(
                "--stimulus-h5 {spec}: the dataset has an NWB conversion attribute (values x conversion are amps); drop --stimulus-unit {u:?}"
            ),
            (Some(c), _) => c,
            (None, u) => u.unwrap_or(Unit::A).scale(),
        };
        if d.values.is_empty() {
            bail!("--stimulus-h5 {spec}: the dataset has no samples");
        }
        let s: Vec<f64> = d.values.iter().map(|v| v * scale).collect();
        let desc = json!({"file": file, "dataset": ds, "conversion": d.conversion, "unit_attribute": d.unit,
                          "scale_to_amps": scale, "n_samples": s.len()});
        return Ok((Some(s), desc));
    }
    if args.stimulus_unit.is_some() {
        bail!("--stimulus-unit needs --stimulus or --stimulus-h5");
    }
    Ok((None, serde_json::Value::Null))
}

/// Build every --spike-train and pair it with its weight and kernel.
fn build_spike_trains(
    args: &Args,
    dt: f64,
    n_steps: usize,
    duration: f64,
) -> anyhow::Result<Vec<TrainInfo>> {
    let n = args.spike_trains.len();
    if n == 0 {
        if !args.weights.is_empty() || !args.kernels.is_empty() {
            bail!("--weight/--kernel need a --spike-train");
        }
        return Ok(Vec::new());
    }
    let pick = |len: usize, what: &str| -> anyhow::Result<()> {
        if len > 1 && len != n {
            bail!("{len} {what} values for {n} --spike-train: give one for all trains or one per train");
        }
        Ok(())
    };
    if args.weights.is_empty() {
        bail!("--spike-train needs --weight PA (synaptic weight in pA; negative for inhibition)");
    }
    pick(args.weights.len(), "--weight")?;
    pick(args.kernels.len(), "--kernel")?;
    if let Some(w) = args.weights.iter().find(|w| !w.is_finite()) {
        bail!("--weight {w}: must be a finite number of pA");
    }
    let kernels = args
        .kernels
        .iter()
        .map(|k| Kernel::parse(k))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::new();
    for (i, spec) in args.spike_trains.iter().enumerate() {
        let src = TrainSource::parse(spec)?;
        let times = src.times(duration)?;
        let w = if args.weights.len() == 1 {
            args.weights[0]
        } else {
            args.weights[i]
        };
        let kernel = match kernels.len() {
            0 => Kernel::DEFAULT,
            1 => kernels[0],
            _ => kernels[i],
        };
        let onsets = onset_steps(&times, dt, n_steps);
        out.push(TrainInfo {
            spec: spec.clone(),
            weight_pa: w,
            kernel,
            onsets,
        });
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn summary(
    args: &Args,
    cfg: &AllenConfig,
    out: &RunOutput,
    cut: SpikeCut,
    duration: f64,
    n_steps: usize,
    stim_source: serde_json::Value,
    steps: Vec<serde_json::Value>,
    trains: &[TrainInfo],
    nest_params: Option<serde_json::Value>,
) -> serde_json::Value {
    let n = out.grid_spike_times.len();
    let nest = args.semantics == Semantics::Nest;
    let first = if nest {
        out.grid_spike_times.first()
    } else {
        out.interpolated_spike_times.first()
    };
    let n_cut = out.spike_cut_steps;
    let methods = json!({
        "voltage_dynamics_method": "linear_forward_euler",
        "threshold_dynamics_method": match cfg.threshold_dynamics {
            ThresholdDynamics::Inf => "inf",
            ThresholdDynamics::SpikeComponent { .. } => "spike_component",
            ThresholdDynamics::ThreeComponentsExact { .. } => "three_components_exact",
        },
        "AScurrent_dynamics_method": match cfg.asc_dynamics { AscDynamics::Exp => "exp", AscDynamics::None => "none" },
        "voltage_reset_method": match cfg.voltage_reset { VoltageReset::Zero => "zero", VoltageReset::VBefore { .. } => "v_before" },
        "threshold_reset_method": match cfg.threshold_reset { ThresholdReset::Inf => "inf", ThresholdReset::ThreeComponents { .. } => "three_components" },
        "AScurrent_reset_method": match cfg.asc_reset { AscReset::Sum { .. } => "sum", AscReset::None => "none" },
    });
    let amp_e: Vec<f64> = cfg
        .asc_amp_array
        .iter()
        .zip(&cfg.coeffs.asc_amp_array)
        .map(|(a, c)| a * c)
        .collect();
    let mut params = json!({
        "level": cfg.level(),
        "methods": methods,
        "El_reference_v": cfg.el_reference,
        "C_f": cfg.c_e(),
        "G_s": cfg.g_e(),
        "tau_m_s": cfg.c_e() / cfg.g_e(),
        "th_inf_v": cfg.th_e(),
        "init_threshold_v": cfg.init_threshold,
        "asc_amp_a": amp_e,
        "asc_tau_s": cfg.asc_tau_array,
        "rheobase_a": cfg.rheobase(),
        "coeffs": {"th_inf": cfg.coeffs.th_inf, "C": cfg.coeffs.c, "G": cfg.coeffs.g, "a": cfg.coeffs.a,
                   "b": cfg.coeffs.b, "asc_amp_array": cfg.coeffs.asc_amp_array},
        "note": "effective values (coefficients applied as AllenSDK does); voltages relative to rest"
    });
    if let Some(p) = nest_params {
        params["nest_glif_psc"] = p;
    }
    json!({
        "config": args.config,
        "semantics": if nest { "nest" } else { "allensdk" },
        "n_spikes": n,
        "rate_hz": n as f64 / duration,
        "first_spike_s": first,
        "dt_s": out.dt,
        "duration_s": duration,
        "n_steps": n_steps,
        "refractory": {
            "convention": cut.name(),
            "spike_cut_length": cfg.spike_cut_length,
            "config_dt_s": cfg.dt,
            "spike_cut_steps": n_cut,
            "spike_cut_s": n_cut as f64 * out.dt,
            "description": match (cut, nest) {
                (SpikeCut::Steps, false) => "spike_cut_length steps of the run dt, skipped and written as NaN (AllenSDK)",
                (SpikeCut::ConfigDt, false) => "spike_cut_length x config dt, rounded up to run steps, skipped and written as NaN",
                (SpikeCut::Steps, true) => "NEST t_ref = spike_cut_length x run dt; V held at the reset value",
                (SpikeCut::ConfigDt, true) => "NEST t_ref = spike_cut_length x config dt (bmtk convention); V held at the reset value",
            },
        },
        "spike_times": if nest { "grid = interpolated = end of the crossing step (NEST)" }
                       else { "grid = start of the crossing step k*dt; interpolated = threshold crossing inside it (AllenSDK)" },
        "traces": if nest { "row k = state after step k, t = k*dt; voltages relative to E_L; stimulus_a = total input current (alpha trains shown as their current, integrated by glif_psc synapses)" } else { "row k = sample k at t = k*dt; voltage_v and threshold_v relative to rest (add El_reference_v for absolute)" },
        "parameters": params,
        "inputs": {
            "steps": steps,
            "stimulus": stim_source,
            "spike_trains": trains.iter().map(|t| json!({
                "spec": t.spec, "weight_pa": t.weight_pa, "kernel": t.kernel.name(),
                "tau_ms": t.kernel.tau() * 1e3, "n_spikes": t.onsets.len()})).collect::<Vec<_>>(),
        },
        "bad_reset": out.bad_reset.map(|b| json!({
            "spike_step": b.step, "spike_time_s": b.time, "reset_voltage_v": b.reset_voltage,
            "reset_threshold_v": b.reset_threshold,
            "effect": "run stopped here as AllenSDK does; later samples NaN, later spikes lost"})),
    })
}
