//! `glifnet._glifnet`: the Rust half of the Python package. Thin wrappers around the library's
//! one-call entry points (`simulation::Simulation`, `cli::neuron::simulate`,
//! `models::allen::convert`); arrays cross as little-endian bytes that the Python half views
//! with numpy, so no numpy ABI is linked here.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use pyo3::exceptions::{PyKeyboardInterrupt, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use glifnet::config::{SimulationConfig, SortOrder};
use glifnet::simulation::{
    NodeColumns, Overrides, RunResult, Settings, Simulation, TypeColumns, WeightCall,
    WeightFunctions,
};
use glifnet::sonata::spikes::{PopulationSpikes, SpikeTrains};
use glifnet::sonata::{Column, Value};

pyo3::create_exception!(
    _glifnet,
    GlifnetError,
    PyValueError,
    "A glifnet error: a config, network or input the run cannot use (the CLI's one-line message)."
);

/// The CLI's one-line message without its `error: ` prefix.
fn one_line(e: anyhow::Error) -> String {
    let s = glifnet::cli::one_line_error(&e);
    s.strip_prefix("error: ").map(str::to_string).unwrap_or(s)
}

fn f64_bytes<'py>(py: Python<'py>, v: &[f64]) -> Bound<'py, PyBytes> {
    let mut b = Vec::with_capacity(v.len() * 8);
    for x in v {
        b.extend_from_slice(&x.to_le_bytes());
    }
    PyBytes::new(py, &b)
}

fn u64_bytes<'py>(py: Python<'py>, v: &[u64]) -> Bound<'py, PyBytes> {
    let mut b = Vec::with_capacity(v.len() * 8);
    for x in v {
        b.extend_from_slice(&x.to_le_bytes());
    }
    PyBytes::new(py, &b)
}

fn i64_bytes<'py>(py: Python<'py>, v: &[i64]) -> Bound<'py, PyBytes> {
    let mut b = Vec::with_capacity(v.len() * 8);
    for x in v {
        b.extend_from_slice(&x.to_le_bytes());
    }
    PyBytes::new(py, &b)
}

fn value_to_py(py: Python<'_>, v: &Value) -> PyObject {
    match v {
        Value::Int(i) => i.into_pyobject(py).map(|o| o.into_any().unbind()),
        Value::Float(f) => f.into_pyobject(py).map(|o| o.into_any().unbind()),
        Value::Str(s) => s.into_pyobject(py).map(|o| o.into_any().unbind()),
        Value::Null => Ok(py.None()),
    }
    .unwrap_or_else(|_| py.None())
}

/// A column as `(kind, data)`: ("i8", bytes), ("f8", bytes) or ("str", list).
fn column_to_py<'py>(py: Python<'py>, c: &Column) -> PyResult<Bound<'py, PyAny>> {
    let (kind, data): (&str, Bound<'py, PyAny>) = match c {
        Column::Int(v) => ("i8", i64_bytes(py, v).into_any()),
        Column::Float(v) => ("f8", f64_bytes(py, v).into_any()),
        Column::Str(v) => ("str", PyList::new(py, v)?.into_any()),
        Column::FloatRows { .. } => ("none", py.None().into_bound(py)),
    };
    Ok((kind, data).into_pyobject(py)?.into_any())
}

fn columns_to_py<'py>(py: Python<'py>, cols: &[(String, Column)]) -> PyResult<Bound<'py, PyList>> {
    let l = PyList::empty(py);
    for (name, c) in cols {
        l.append((name, column_to_py(py, c)?))?;
    }
    Ok(l)
}

fn types_to_py<'py>(py: Python<'py>, t: &TypeColumns) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("ids", t.ids.clone())?;
    let cols = PyList::empty(py);
    for (name, vals) in &t.columns {
        let v: Vec<PyObject> = vals.iter().map(|x| value_to_py(py, x)).collect();
        cols.append((name, v))?;
    }
    d.set_item("columns", cols)?;
    Ok(d)
}

fn nodes_to_py<'py>(py: Python<'py>, n: &NodeColumns) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("population", &n.population)?;
    d.set_item("node_ids", u64_bytes(py, &n.node_ids))?;
    d.set_item("node_type_ids", u64_bytes(py, &n.node_type_ids))?;
    d.set_item("columns", columns_to_py(py, &n.columns)?)?;
    d.set_item("types", types_to_py(py, &n.types)?)?;
    Ok(d)
}

fn call_to_py<'py>(py: Python<'py>, c: &WeightCall) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("function", &c.function)?;
    d.set_item("edge_population", &c.edge_population)?;
    d.set_item("edges_file", c.edges_file.display().to_string())?;
    d.set_item("edge_types_file", c.edge_types_file.display().to_string())?;
    d.set_item("edge_type_id", c.edge_type_id)?;
    d.set_item("rows", u64_bytes(py, &c.rows))?;
    d.set_item("source_node_id", u64_bytes(py, &c.source_node_id))?;
    d.set_item("target_node_id", u64_bytes(py, &c.target_node_id))?;
    d.set_item("edge_columns", columns_to_py(py, &c.edge_columns)?)?;
    d.set_item("edge_types", types_to_py(py, &c.edge_types)?)?;
    d.set_item("source_nodes", nodes_to_py(py, &c.source_nodes)?)?;
    d.set_item("target_nodes", nodes_to_py(py, &c.target_nodes)?)?;
    Ok(d)
}

/// The Python weight functions: `callback(call_dict) -> bytes` (float64, one per edge) does
/// the pandas work, the checks and keeps a user exception for re-raising.
#[derive(Debug)]
struct PyWeights {
    names: Vec<String>,
    callback: Py<PyAny>,
}

impl WeightFunctions for PyWeights {
    fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    fn weights(&self, call: &WeightCall) -> Result<Vec<f64>, String> {
        Python::with_gil(|py| -> PyResult<Vec<f64>> {
            let d = call_to_py(py, call)?;
            let r = self.callback.call1(py, (d,))?;
            let b = r.downcast_bound::<PyBytes>(py)?.as_bytes();
            Ok(b.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect())
        })
        .map_err(|e| {
            format!(
                "weight function {} of edge population {}, edge type {}: {e}",
                call.function, call.edge_population, call.edge_type_id
            )
        })
    }
}

enum Outcome {
    /// Stopped before the simulation started: nothing written.
    NotStarted,
    Done(Box<RunResult>, Settings, SortOrder),
}

fn work(config: PathBuf, overrides: Overrides, stop: Arc<AtomicBool>) -> Result<Outcome, String> {
    let order = SimulationConfig::load(&config)
        .map_err(|e| one_line(e.into()))?
        .output
        .spikes_sort_order;
    let sim = Simulation::from_config(&config, &overrides, None).map_err(|e| one_line(e.into()))?;
    if stop.load(Ordering::SeqCst) {
        return Ok(Outcome::NotStarted);
    }
    let settings = sim.settings().clone();
    let mut progress = |_done: u64| {};
    let r = sim
        .run(Some(&stop), &mut progress)
        .map_err(|e| one_line(e.into()))?;
    match r {
        Some(r) => Ok(Outcome::Done(Box::new(r), settings, order)),
        None => Err("no result (not MPI rank 0)".into()),
    }
}

/// The spikes of all populations in the order of the written CSV spike file.
fn ordered_spikes(r: &RunResult, order: SortOrder) -> (Vec<u64>, Vec<f64>, Vec<u32>) {
    // the populations that have spikes, as the spike writers see them (population index kept)
    let (index, populations): (Vec<usize>, Vec<PopulationSpikes>) = r
        .populations
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.node_ids.is_empty())
        .map(|(k, p)| {
            (
                k,
                PopulationSpikes::new(p.population.clone(), p.node_ids.clone(), p.times.clone()),
            )
        })
        .unzip();
    let trains = SpikeTrains { populations };
    let rows = trains.rows(order);
    let mut ids = Vec::with_capacity(rows.len());
    let mut times = Vec::with_capacity(rows.len());
    let mut pops = Vec::with_capacity(rows.len());
    for (k, i) in rows {
        let p = &trains.populations[k];
        ids.push(p.node_ids[i]);
        times.push(p.timestamps_ms[i]);
        pops.push(index[k] as u32);
    }
    (ids, times, pops)
}

fn result_to_py<'py>(
    py: Python<'py>,
    r: &RunResult,
    s: &Settings,
    order: SortOrder,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let (ids, times, pops) = ordered_spikes(r, order);
    d.set_item("node_ids", u64_bytes(py, &ids))?;
    d.set_item("timestamps", f64_bytes(py, &times))?;
    let pops64: Vec<u64> = pops.iter().map(|&p| u64::from(p)).collect();
    d.set_item("population_index", u64_bytes(py, &pops64))?;
    let table = PyList::empty(py);
    for p in &r.populations {
        let (rate, active) = (p.rate_hz(r.summary.simulated_ms), p.active_pct());
        table.append((&p.population, p.n_cells, p.node_ids.len(), rate, active))?;
    }
    d.set_item("populations", table)?;
    let sm = &r.summary;
    d.set_item("simulated_ms", sm.simulated_ms)?;
    d.set_item("requested_ms", sm.requested_ms)?;
    d.set_item("interrupted", sm.interrupted)?;
    d.set_item("build_s", sm.build.as_secs_f64())?;
    d.set_item("simulate_s", sm.simulate.as_secs_f64())?;
    d.set_item("write_s", sm.write.as_secs_f64())?;
    d.set_item("threads", sm.threads)?;
    d.set_item("n_synapses", sm.n_synapses)?;
    d.set_item("events", sm.events)?;
    d.set_item("table", &r.table)?;
    let paths =
        |v: &[PathBuf]| -> Vec<String> { v.iter().map(|p| p.display().to_string()).collect() };
    d.set_item("written", paths(&r.files.written))?;
    d.set_item("replaced", paths(&r.files.replaced))?;
    d.set_item("removed", paths(&r.files.removed))?;
    d.set_item("log", r.log.clone())?;
    d.set_item("dt", s.dt)?;
    d.set_item("tstop", s.tstop)?;
    d.set_item("n_steps", s.n_steps)?;
    d.set_item("threads_from", s.threads_from)?;
    d.set_item("output_dir", s.output_dir.display().to_string())?;
    d.set_item("warnings", s.warnings.clone())?;
    Ok(d)
}

/// Run a BMTK PointNet config (see `glifnet.run`). Returns a dict the Python half turns into
/// a `RunResult`; `None` when Ctrl-C came before the simulation started (nothing written).
/// Raises KeyboardInterrupt after writing the outputs of an interrupted run, with the result
/// dict as its second argument.
#[pyfunction]
#[pyo3(signature = (config, threads=None, tstop=None, dt=None, output_dir=None, no_plot=false, weight_names=None, weight_callback=None))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    config: PathBuf,
    threads: Option<usize>,
    tstop: Option<f64>,
    dt: Option<f64>,
    output_dir: Option<PathBuf>,
    no_plot: bool,
    weight_names: Option<Vec<String>>,
    weight_callback: Option<Py<PyAny>>,
) -> PyResult<PyObject> {
    let weight_functions = match (weight_names, weight_callback) {
        (Some(names), Some(callback)) if !names.is_empty() => {
            Some(Arc::new(PyWeights { names, callback }) as Arc<dyn WeightFunctions>)
        }
        _ => None,
    };
    let overrides = Overrides {
        tstop,
        dt,
        output_dir,
        threads,
        no_plot,
        weight_functions,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, mut rx) = mpsc::channel();
    let stop2 = stop.clone();
    // The run goes on a thread of its own, the GIL released; this (main) thread polls Python's
    // signals, so Ctrl-C raises the stop flag and the run ends at an epoch boundary.
    let handle = std::thread::Builder::new()
        .name("glifnet-run".into())
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                work(config, overrides, stop2)
            }));
            let _ = tx.send(r);
        })
        .map_err(|e| GlifnetError::new_err(format!("cannot start the run thread: {e}")))?;
    let mut interrupt: Option<PyErr> = None;
    let outcome = loop {
        let rxm = &mut rx;
        match py.allow_threads(move || rxm.recv_timeout(Duration::from_millis(50))) {
            Ok(r) => break r,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    stop.store(true, Ordering::SeqCst);
                    interrupt.get_or_insert(e);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err(Box::new("the run thread ended without a result") as Box<_>)
            }
        }
    };
    let _ = py.allow_threads(|| handle.join());
    let outcome = match outcome {
        Ok(o) => o,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            return Err(GlifnetError::new_err(format!(
                "internal error (a bug in glifnet, please report it): {msg}"
            )));
        }
    };
    match outcome {
        Err(msg) => {
            if let Some(e) = interrupt {
                // an error caused by the interruption (e.g. inside a weight function)
                return Err(e);
            }
            Err(GlifnetError::new_err(msg))
        }
        Ok(Outcome::NotStarted) => match interrupt {
            Some(e) => Err(e),
            None => Err(PyKeyboardInterrupt::new_err(
                "interrupted before the simulation started; nothing was written",
            )),
        },
        Ok(Outcome::Done(r, s, order)) => {
            let d = result_to_py(py, &r, &s, order)?;
            Ok(d.into_any().unbind())
        }
    }
}

/// One Allen Cell Types model on the inputs of `glifnet neuron` (see `glifnet.neuron`).
#[pyfunction]
#[pyo3(signature = (config, dt=5e-6, duration=None, steps=Vec::new(), stimulus=None, stimulus_unit=None, stimulus_file=None, stimulus_h5=None, spike_trains=Vec::new(), weights=Vec::new(), kernels=Vec::new(), semantics="allensdk", spike_cut="steps"))]
#[allow(clippy::too_many_arguments)]
fn neuron(
    py: Python<'_>,
    config: PathBuf,
    dt: f64,
    duration: Option<f64>,
    steps: Vec<String>,
    stimulus: Option<Vec<f64>>,
    stimulus_unit: Option<String>,
    stimulus_file: Option<PathBuf>,
    stimulus_h5: Option<String>,
    spike_trains: Vec<String>,
    weights: Vec<f64>,
    kernels: Vec<String>,
    semantics: &str,
    spike_cut: &str,
) -> PyResult<PyObject> {
    use glifnet::cli::neuron::{Args, CutArg, Semantics, Unit};
    let unit = match stimulus_unit.as_deref() {
        None => None,
        Some(u) => Some(match u.to_ascii_lowercase().as_str() {
            "a" => Unit::A,
            "pa" => Unit::PA,
            "na" => Unit::NA,
            _ => {
                return Err(GlifnetError::new_err(format!(
                    "stimulus_unit = {u:?}: must be 'A', 'pA' or 'nA'"
                )))
            }
        }),
    };
    let semantics = match semantics {
        "allensdk" => Semantics::Allensdk,
        "nest" => Semantics::Nest,
        s => {
            return Err(GlifnetError::new_err(format!(
                "semantics = {s:?}: must be 'allensdk' or 'nest'"
            )))
        }
    };
    let spike_cut = match spike_cut {
        "steps" => CutArg::Steps,
        "config-dt" | "config_dt" => CutArg::ConfigDt,
        s => {
            return Err(GlifnetError::new_err(format!(
                "spike_cut = {s:?}: must be 'steps' or 'config-dt'"
            )))
        }
    };
    let args = Args {
        config,
        dt,
        duration,
        steps,
        stimulus: stimulus_file,
        stimulus_unit: unit,
        stimulus_h5,
        spike_trains,
        weights,
        kernels,
        out_dir: PathBuf::from("neuron_output"),
        semantics,
        spike_cut,
        plot: false,
        stimulus_values: stimulus,
    };
    let r = py
        .allow_threads(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                glifnet::cli::neuron::simulate(&args)
            }))
        })
        .map_err(|_| GlifnetError::new_err("internal error (a bug in glifnet, please report it)"))?
        .map_err(|e| GlifnetError::new_err(one_line(e)))?;
    let n = r.stimulus.len();
    let pad = |v: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|k| v.get(k).copied().unwrap_or(f64::NAN))
            .collect()
    };
    let t: Vec<f64> = (0..n).map(|k| k as f64 * r.out.dt).collect();
    let d = PyDict::new(py);
    d.set_item("t", f64_bytes(py, &t))?;
    d.set_item("voltage", f64_bytes(py, &pad(&r.out.voltage)))?;
    d.set_item("threshold", f64_bytes(py, &pad(&r.out.threshold)))?;
    d.set_item("asc_sum", f64_bytes(py, &pad(&r.out.asc_sum)))?;
    d.set_item("stimulus", f64_bytes(py, &r.stimulus))?;
    d.set_item("grid_spike_times", f64_bytes(py, &r.out.grid_spike_times))?;
    d.set_item(
        "interpolated_spike_times",
        f64_bytes(py, &r.out.interpolated_spike_times),
    )?;
    d.set_item("summary", r.summary.to_string())?;
    d.set_item("duration", r.duration)?;
    Ok(d.into_any().unbind())
}

/// Allen neuron_config.json → NEST parameters as JSON text (see `glifnet.convert`).
#[pyfunction]
#[pyo3(signature = (config, model="glif_psc", level=None, t_ref_convention="bmtk"))]
fn convert(
    config: PathBuf,
    model: &str,
    level: Option<String>,
    t_ref_convention: &str,
) -> PyResult<String> {
    use glifnet::models::allen::{convert, level_from_template, RefractoryConvention};
    use glifnet::models::ModelKind;
    let go = || -> anyhow::Result<String> {
        use anyhow::Context;
        let text = std::fs::read_to_string(&config)
            .with_context(|| format!("cannot read {}", config.display()))?;
        let cfg: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: invalid JSON", config.display()))?;
        let conv_opt = RefractoryConvention::parse(t_ref_convention)?;
        let level = match &level {
            None => None,
            Some(s) => Some(match s.parse::<u8>() {
                Ok(l) => l,
                Err(_) => level_from_template(s).with_context(|| {
                    format!(
                        "level = {s}: must be 1-5 or a template nest:glif_lif[_r][_asc][_a]_psc"
                    )
                })?,
            }),
        };
        let kind = match model.replace('-', "_").as_str() {
            "glif_psc" => ModelKind::GlifPsc,
            "glif_cond" => ModelKind::GlifCond,
            m => anyhow::bail!("model = {m:?}: must be 'glif_psc' or 'glif_cond'"),
        };
        let conv = convert(&cfg, kind, level, conv_opt).map_err(|e| e.in_file(config.display()))?;
        Ok(serde_json::to_string(&serde_json::Value::Object(
            conv.params,
        ))?)
    };
    go().map_err(|e| GlifnetError::new_err(one_line(e)))
}

#[pymodule]
fn _glifnet(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("GlifnetError", m.py().get_type::<GlifnetError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "BUILTIN_WEIGHT_FUNCTIONS",
        vec!["default_weight_fnc", "set_syn_weight", "wmax"],
    )?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(neuron, m)?)?;
    m.add_function(wrap_pyfunction!(convert, m)?)?;
    Ok(())
}
