//! From the config's `inputs` section to engine events (sonata-bmtk.md §3.3 dispatch table).

use std::path::PathBuf;

use serde_json::Value;

use super::{poisson_events, read_clamp_table, sum_clamps, virtual_events, Clamp, InputError};
use crate::config::{InputConfig, SimulationConfig};
use crate::engine::{CurrentSteps, DirectEvent};
use crate::network::Network;
use crate::sonata::{spikes::read_spikes, Circuit, NodeSelection};

/// Engine-ready external drive.
#[derive(Debug, Default)]
pub struct Drive {
    pub virtual_spikes: Vec<(u64, u32)>,
    pub currents: Vec<(u32, CurrentSteps)>,
    pub direct: Vec<DirectEvent>,
    /// Log lines (warnings for ignored inputs, counts).
    pub notes: Vec<String>,
}

fn field_err(input: &InputConfig, field: &str, msg: impl Into<String>) -> InputError {
    InputError::Field {
        file: PathBuf::new(),
        input: input.name.clone(),
        field: field.into(),
        msg: msg.into(),
    }
}

fn is_spike_input(i: &InputConfig) -> bool {
    i.input_type == "spikes"
}

fn select(
    cfg: &SimulationConfig,
    circuit: &Circuit,
    input: &InputConfig,
) -> Result<Vec<NodeSelection>, InputError> {
    let spec = input.node_set.as_ref().ok_or_else(|| {
        field_err(
            input,
            "node_set",
            "missing (which nodes does this input drive?)",
        )
    })?;
    circuit
        .select(
            spec,
            &cfg.node_sets,
            &cfg.config_path,
            &format!("inputs.{}.node_set", input.name),
        )
        .map_err(InputError::from)
}

/// `e` with the simulation config named as its file (field errors are made without it).
fn in_config(cfg: &SimulationConfig, e: InputError) -> InputError {
    match e {
        InputError::Field {
            file,
            input,
            field,
            msg,
        } if file.as_os_str().is_empty() => InputError::Field {
            file: cfg.config_path.clone(),
            input,
            field,
            msg,
        },
        other => other,
    }
}

/// Names of the virtual populations some spike input drives (only those are instantiated).
pub fn driven_virtual_populations(
    cfg: &SimulationConfig,
    circuit: &Circuit,
) -> Result<Vec<String>, InputError> {
    driven_virtual(cfg, circuit).map_err(|e| in_config(cfg, e))
}

fn driven_virtual(cfg: &SimulationConfig, circuit: &Circuit) -> Result<Vec<String>, InputError> {
    let mut out: Vec<String> = Vec::new();
    for input in cfg.inputs.iter().filter(|i| is_spike_input(i)) {
        for sel in select(cfg, circuit, input)? {
            let pop = circuit.node_population(&sel.population);
            let has_virtual = pop.is_some_and(|p| {
                sel.node_ids
                    .iter()
                    .any(|&id| p.index_of(id).is_some_and(|i| p.is_virtual(i)))
            });
            if !has_virtual {
                return Err(field_err(
                    input,
                    "node_set",
                    format!(
                        "selects population '{}', which has no virtual nodes; spike trains can only drive virtual (model_type: virtual) nodes",
                        sel.population
                    ),
                ));
            }
            if !out.contains(&sel.population) {
                out.push(sel.population);
            }
        }
    }
    Ok(out)
}

fn num(input: &InputConfig, key: &str) -> Result<Option<f64>, InputError> {
    match input.raw.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| {
                field_err(
                    input,
                    key,
                    format!(
                        "{}: expected a finite number",
                        crate::limits::clip(v.to_string())
                    ),
                )
            }),
    }
}

fn resolve(p: &str) -> PathBuf {
    let p = PathBuf::from(p);
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
    }
}

/// The part of the drive one process of a distributed run needs (issue #8): events onto the
/// neurons it simulates and spikes of the virtual sources that reach them. Poisson trains are
/// keyed by (seed, node id), so generating only the kept ones gives the same events.
pub struct DriveFilter<'a> {
    /// Keep Poisson events onto this global neuron index.
    pub neuron: &'a dyn Fn(u32) -> bool,
    /// Keep spikes of this virtual index.
    pub virtual_source: &'a dyn Fn(u32) -> bool,
}

/// Build the external drive of every enabled input.
pub fn build_drive(
    cfg: &SimulationConfig,
    circuit: &Circuit,
    net: &Network,
    dt: f64,
    tstop: f64,
) -> Result<Drive, InputError> {
    build_drive_for(cfg, circuit, net, dt, tstop, None)
}

/// [`build_drive`] of one process of a distributed run (`filter`); the notes then count this
/// process's events.
pub fn build_drive_for(
    cfg: &SimulationConfig,
    circuit: &Circuit,
    net: &Network,
    dt: f64,
    tstop: f64,
    filter: Option<&DriveFilter>,
) -> Result<Drive, InputError> {
    drive_for(cfg, circuit, net, dt, tstop, filter).map_err(|e| in_config(cfg, e))
}

fn drive_for(
    cfg: &SimulationConfig,
    circuit: &Circuit,
    net: &Network,
    dt: f64,
    tstop: f64,
    filter: Option<&DriveFilter>,
) -> Result<Drive, InputError> {
    let mut d = Drive::default();
    let mut clamps: Vec<(u32, Vec<CurrentSteps>)> = Vec::new();
    for input in &cfg.inputs {
        match (input.input_type.as_str(), input.module.as_str()) {
            ("spikes", "sonata" | "h5" | "hdf5" | "csv") => {
                spike_input(cfg, circuit, net, input, dt, filter, &mut d)?
            }
            ("spikes", m) => {
                return Err(field_err(
                    input,
                    "module",
                    format!("'{m}' is not supported (use sonata, h5 or csv)"),
                ));
            }
            ("current_clamp" | "csv" | "file", _) => {
                let clamp = clamp_of(input)?;
                let steps = clamp.steps(dt);
                let gids = gids_of(cfg, circuit, net, input)?;
                for g in &gids {
                    match clamps.iter_mut().find(|c| c.0 == *g) {
                        Some(c) => c.1.push(steps.clone()),
                        None => clamps.push((*g, vec![steps.clone()])),
                    }
                }
                d.notes.push(format!(
                    "input {}: current clamp on {} cells",
                    input.name,
                    gids.len()
                ));
            }
            ("poisson", _) => poisson_input(cfg, circuit, net, input, dt, tstop, filter, &mut d)?,
            (t, m) => d.notes.push(format!(
                "WARNING: input {}: unknown input_type '{t}' (module '{m}'), ignored",
                input.name
            )),
        }
    }
    clamps.sort_by_key(|c| c.0);
    d.currents = clamps
        .into_iter()
        .map(|(g, l)| (g, sum_clamps(&l)))
        .collect();
    d.virtual_spikes.sort_by_key(|e| (e.0, e.1));
    d.direct.sort_by_key(|e| (e.0, e.1));
    Ok(d)
}

fn spike_input(
    cfg: &SimulationConfig,
    circuit: &Circuit,
    net: &Network,
    input: &InputConfig,
    dt: f64,
    filter: Option<&DriveFilter>,
    d: &mut Drive,
) -> Result<(), InputError> {
    let file = input
        .input_file
        .clone()
        .ok_or_else(|| field_err(input, "input_file", "missing"))?;
    if let Some(p) = crate::limits::file_problem(&file) {
        return Err(field_err(
            input,
            "input_file",
            format!("{}: {p}", file.display()),
        ));
    }
    let trains = read_spikes(&file)?;
    for sel in select(cfg, circuit, input)? {
        let Some(vp) = net.virtual_population(&sel.population) else {
            continue;
        };
        // Match by name; fall back only to a file's single population (issue #5), so a file
        // whose populations all have other names is an error rather than silently used.
        let train = trains
            .get(&sel.population)
            .or_else(|| (trains.populations.len() == 1).then(|| &trains.populations[0]));
        let Some(train) = train else {
            return Err(InputError::File {
                file: file.clone(),
                msg: format!(
                    "no spikes for population '{}' (file has {})",
                    sel.population,
                    trains
                        .populations
                        .iter()
                        .map(|p| p.population.clone().unwrap_or_else(|| "<unnamed>".into()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        };
        let chosen: std::collections::HashSet<u64> = sel.node_ids.iter().copied().collect();
        let ev = virtual_events(&file, &train.node_ids, &train.timestamps_ms, dt, &|id| {
            if chosen.contains(&id) {
                vp.vid(id)
                    .filter(|&v| filter.is_none_or(|f| (f.virtual_source)(v)))
            } else {
                None
            }
        })?;
        d.notes.push(format!(
            "input {}: {} spikes onto {} virtual cells of '{}'",
            input.name,
            ev.len(),
            vp.node_ids.len(),
            vp.name
        ));
        d.virtual_spikes.extend(ev);
    }
    Ok(())
}

fn clamp_of(input: &InputConfig) -> Result<Clamp, InputError> {
    if input.input_type == "current_clamp" {
        let amps = input
            .amp
            .clone()
            .ok_or_else(|| field_err(input, "amp", "missing"))?;
        let n = amps.len();
        let bc = |v: Option<Vec<f64>>, key: &str| -> Result<Vec<f64>, InputError> {
            let v = v.ok_or_else(|| field_err(input, key, "missing"))?;
            match v.len() {
                1 => Ok(vec![v[0]; n]),
                k if k == n => Ok(v),
                k => Err(field_err(
                    input,
                    key,
                    format!("has {k} values but amp has {n}"),
                )),
            }
        };
        let delays = bc(input.delay.clone(), "delay")?;
        let durations = bc(input.duration.clone(), "duration")?;
        for (k, (&a, (&dl, &du))) in amps.iter().zip(delays.iter().zip(&durations)).enumerate() {
            if !(a.is_finite() && dl.is_finite() && du.is_finite() && dl >= 0.0 && du >= 0.0) {
                return Err(field_err(
                    input,
                    "amp/delay/duration",
                    format!("entry {k}: amp {a}, delay {dl}, duration {du} must be finite, delay and duration >= 0"),
                ));
            }
        }
        Ok(Clamp::Steps {
            amps,
            delays,
            durations,
        })
    } else {
        let file = match (
            &input.input_file,
            input.raw.get("file").and_then(|f| f.as_str()),
        ) {
            (Some(p), _) => p.clone(),
            (None, Some(f)) => resolve(f),
            _ => return Err(field_err(input, "file", "missing")),
        };
        if let Some(p) = crate::limits::file_problem(&file) {
            return Err(field_err(input, "file", format!("{}: {p}", file.display())));
        }
        let sep = input.raw.get("separator").and_then(|s| s.as_str());
        let tc = input
            .raw
            .get("timestamps_column")
            .and_then(|s| s.as_str())
            .unwrap_or("timestamps");
        let ac = input
            .raw
            .get("amplitudes_column")
            .and_then(|s| s.as_str())
            .unwrap_or("amps");
        Ok(Clamp::Table(read_clamp_table(&file, sep, tc, ac)?))
    }
}

fn gids_of(
    cfg: &SimulationConfig,
    circuit: &Circuit,
    net: &Network,
    input: &InputConfig,
) -> Result<Vec<u32>, InputError> {
    let mut out = Vec::new();
    for sel in select(cfg, circuit, input)? {
        if let Some(p) = net.population(&sel.population) {
            out.extend(sel.node_ids.iter().filter_map(|&id| p.gid(id)));
        }
    }
    if out.is_empty() {
        return Err(field_err(
            input,
            "node_set",
            "selects no simulated (non-virtual) cells",
        ));
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn poisson_input(
    cfg: &SimulationConfig,
    circuit: &Circuit,
    net: &Network,
    input: &InputConfig,
    dt: f64,
    tstop: f64,
    filter: Option<&DriveFilter>,
    d: &mut Drive,
) -> Result<(), InputError> {
    let rate = num(input, "rate")?.ok_or_else(|| field_err(input, "rate", "missing (Hz)"))?;
    if !(rate.is_finite() && rate >= 0.0) {
        return Err(field_err(
            input,
            "rate",
            format!("{rate}: must be a finite rate >= 0 Hz"),
        ));
    }
    let start = num(input, "start")?.unwrap_or(0.0);
    let stop = num(input, "stop")?.unwrap_or(tstop);
    if start > stop {
        return Err(field_err(
            input,
            "start",
            format!("{start} ms is after stop = {stop} ms"),
        ));
    }
    let weight = num(input, "weight")?.ok_or_else(|| field_err(input, "weight", "missing"))?;
    let seed = match input.raw.get("seed") {
        None => 0,
        Some(v) => v.as_u64().ok_or_else(|| {
            field_err(
                input,
                "seed",
                format!("{v}: expected a non-negative integer"),
            )
        })?,
    };
    let receptor = match input.raw.get("receptor_type") {
        None => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            field_err(input, "receptor_type", format!("{v}: expected an integer"))
        })?),
    };
    let gids = gids_of(cfg, circuit, net, input)?;
    // the events are kept until the run: refuse a train that cannot fit before drawing it
    let window = (stop - start.max(0.0)).max(0.0);
    let expected = rate * window / 1000.0 * gids.len() as f64;
    if let Some(why) =
        crate::limits::over_budget(expected * std::mem::size_of::<DirectEvent>() as f64)
    {
        return Err(field_err(
            input,
            "rate",
            format!(
                "{rate} Hz onto {} cells for {window} ms is about {expected:.3e} events, which {why}",
                gids.len()
            ),
        ));
    }
    let mut n = 0usize;
    for gid in gids {
        let params = net
            .params_of(gid)
            .ok_or_else(|| field_err(input, "node_set", "internal: cell without parameters"))?;
        // default: port 0 of iaf models, receptor 1 of GLIF models
        let port = match receptor {
            Some(rt) => params.port_for(rt, weight),
            None => params
                .port_for(0, weight)
                .or_else(|_| params.port_for(1, weight)),
        }
        .map_err(|e| field_err(input, "receptor_type", e.to_string()))?;
        if filter.is_some_and(|f| !(f.neuron)(gid)) {
            continue; // checked like every other cell, simulated elsewhere
        }
        let node_id = net.node_of(gid).map(|(_, id)| id).unwrap_or(gid as u64);
        let before = d.direct.len();
        poisson_events(
            gid,
            node_id,
            seed,
            rate,
            start,
            stop,
            weight,
            port as u16,
            dt,
            &mut d.direct,
        );
        n += d.direct.len() - before;
    }
    d.notes.push(format!(
        "input {}: {} Poisson events at {} Hz",
        input.name, n, rate
    ));
    Ok(())
}
