//! Typed config sections (sonata-bmtk.md §3.3): `run`, `output`, `inputs`, `reports`,
//! `components`, `networks`, `node_sets`. Unknown keys are ignored (kept in `raw`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::absolutize;
use super::error::{json_message, ConfigError};
use super::manifest::find_refs;

/// `run` section. Times in ms.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// End of the simulation: `duration` if given (BMTK lets it take precedence), else `tstop`.
    pub tstop: f64,
    /// Time step (NEST resolution), required.
    pub dt: f64,
    /// `tstart`, default 0 (PointNet ignores it; kept for reports).
    pub tstart: f64,
    /// `n_thread`, default 1 (NEST `local_num_threads`).
    pub n_thread: usize,
    /// `precise_times` for virtual spike generators, default true (§6.1).
    pub precise_times: bool,
    /// `allow_offgrid_spikes` (when true BMTK drops `precise_times`, §3.3).
    pub allow_offgrid_spikes: bool,
    /// `overwrite_output_dir`: from `run` (PointNet), else from `output` (SONATA), else true.
    pub overwrite_output_dir: bool,
    /// `random_seed` if given (seed for generated inputs).
    pub random_seed: Option<u64>,
    /// The whole `run` object as written.
    pub raw: Map<String, Value>,
}

/// Order of records in written spike files (`output.spikes_sort_order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum SortOrder {
    /// As recorded.
    #[default]
    None,
    /// By node id, then time (spec: time is the secondary key).
    ById,
    /// By time (stable, so equal times keep their recorded order).
    ByTime,
}

impl SortOrder {
    /// BMTK spellings: `by_time`/`time`, `by_id`/`id`/`node_id`/`gid`, `none`/`na`.
    pub fn parse(s: &str) -> Option<SortOrder> {
        match s.trim().to_ascii_lowercase().as_str() {
            "by_time" | "time" => Some(SortOrder::ByTime),
            "by_id" | "id" | "node_id" | "gid" => Some(SortOrder::ById),
            "none" | "na" | "" => Some(SortOrder::None),
            _ => None,
        }
    }

    /// Name written to the h5 `sorting` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::None => "none",
            SortOrder::ById => "by_id",
            SortOrder::ByTime => "by_time",
        }
    }
}

/// `output` section. File paths are absolute and already joined to `output_dir` (§3.1).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputConfig {
    /// `output_dir` (default: the working directory, as BMTK's SonataConfig).
    pub output_dir: PathBuf,
    pub log_file: Option<PathBuf>,
    /// SONATA spikes h5.
    pub spikes_file: Option<PathBuf>,
    /// Space-separated spikes CSV.
    pub spikes_file_csv: Option<PathBuf>,
    /// NWB spikes (not written by glifnet; kept so `run` can say so).
    pub spikes_file_nwb: Option<PathBuf>,
    pub spikes_sort_order: SortOrder,
    /// `compression` of spike datasets: true unless `"none"` (BMTK default gzip).
    pub compression: bool,
    /// The whole `output` object (after path joining).
    pub raw: Map<String, Value>,
}

/// One enabled `inputs` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct InputConfig {
    /// The entry's key in `inputs`.
    pub name: String,
    /// `input_type`: `spikes`, `current_clamp`, `csv`, `file`, `nwb`, `allen`, … (required).
    pub input_type: String,
    /// `module`: `sonata`, `h5`, `hdf5`, `csv`, `nwb`, `IClamp`, … (required).
    pub module: String,
    /// `node_set`: a node-set name / population name (string), a filter (object) or an id list.
    pub node_set: Option<Value>,
    /// `input_file`, or `file` (CSV current clamps), absolute.
    pub input_file: Option<PathBuf>,
    /// Current clamp `amp` (pA as passed to NEST), scalar normalised to a one-element list.
    pub amp: Option<Vec<f64>>,
    /// Current clamp `delay` (ms), scalar or list.
    pub delay: Option<Vec<f64>>,
    /// Current clamp `duration` (ms), scalar or list.
    pub duration: Option<Vec<f64>>,
    /// The whole entry (extensions such as Poisson `rate`/`seed`, `population`, `separator`).
    pub raw: Map<String, Value>,
}

/// One enabled `reports` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportConfig {
    pub name: String,
    /// `module` (`membrane_report`, `multimeter_report`, `multimeter`, `weight_recorder`, …).
    pub module: String,
    /// `cells`: node set as in inputs.
    pub cells: Option<Value>,
    /// `variable_name`, string normalised to a one-element list.
    pub variable_name: Vec<String>,
    /// `file_name` joined to output_dir; default `<output_dir>/<name>.h5`.
    pub file_name: PathBuf,
    pub tstart: Option<f64>,
    pub tstop: Option<f64>,
    /// Sampling interval (`interval`, else `dt`), ms.
    pub interval: Option<f64>,
    pub raw: Map<String, Value>,
}

/// `components` directories, absolute. Keys as in the config (`point_neuron_models_dir`, …).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Components {
    pub dirs: BTreeMap<String, PathBuf>,
}

impl Components {
    /// Directory of config key `key`, if configured.
    pub fn get(&self, key: &str) -> Option<&Path> {
        self.dirs.get(key).map(PathBuf::as_path)
    }

    /// The components key BMTK uses for node `dynamics_params` of a given `model_type` (§1.3).
    pub fn key_for_model_type(model_type: &str) -> &'static str {
        match model_type {
            "biophysical" => "biophysical_neuron_models_dir",
            "point_process" | "point_neuron" | "point_soma" => "point_neuron_models_dir",
            "population" => "population_models_dir",
            "lgnmodel" | "virtual" => "filter_models_dir",
            _ => "custom_neuron_models",
        }
    }
}

/// A `networks.nodes` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct NodesFiles {
    pub nodes_file: PathBuf,
    pub node_types_file: PathBuf,
    /// Position of the entry in the config's `networks.nodes` list (for error messages).
    pub entry: usize,
}

/// A `networks.edges` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgesFiles {
    pub edges_file: PathBuf,
    pub edge_types_file: PathBuf,
    /// Position of the entry in the config's `networks.edges` list (for error messages).
    pub entry: usize,
}

/// `networks` section (entries with `"enabled": false` dropped).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Networks {
    pub nodes: Vec<NodesFiles>,
    pub edges: Vec<EdgesFiles>,
}

/// Context for section parsing: where relative paths go and which file a key came from.
pub(crate) struct Ctx<'a> {
    pub cwd: &'a Path,
    pub root: &'a Path,
    pub origins: &'a BTreeMap<String, PathBuf>,
}

impl Ctx<'_> {
    fn file(&self, key: &str) -> &Path {
        self.origins
            .get(key)
            .map(PathBuf::as_path)
            .unwrap_or(self.root)
    }

    /// A path-valued field: must be a string without unresolved `$VAR`; made absolute.
    fn path(&self, section: &str, field: &str, v: &Value) -> Result<PathBuf, ConfigError> {
        let file = self.file(section);
        let Value::String(s) = v else {
            return Err(ConfigError::invalid(
                file,
                field,
                v,
                "expected a path string",
            ));
        };
        if let Some(r) = find_refs(s).first() {
            return Err(ConfigError::UnknownVariable {
                file: file.to_path_buf(),
                field: field.into(),
                value: crate::limits::clip(s),
                var: r.name.clone(),
            });
        }
        if s.is_empty() {
            return Err(ConfigError::invalid(file, field, v, "empty path"));
        }
        Ok(absolutize(Path::new(s), self.cwd))
    }
}

/// Everything parsed from the merged object.
pub(crate) struct Parsed {
    pub target_simulator: Option<String>,
    pub run: Option<RunConfig>,
    pub output: OutputConfig,
    pub inputs: Vec<InputConfig>,
    pub reports: Vec<ReportConfig>,
    pub components: Components,
    pub networks: Networks,
    pub node_sets: Map<String, Value>,
}

fn as_object<'a>(
    ctx: &Ctx,
    section: &str,
    field: &str,
    v: &'a Value,
) -> Result<&'a Map<String, Value>, ConfigError> {
    v.as_object()
        .ok_or_else(|| ConfigError::invalid(ctx.file(section), field, v, "expected an object"))
}

fn get_f64(
    ctx: &Ctx,
    section: &str,
    obj: &Map<String, Value>,
    key: &str,
) -> Result<Option<f64>, ConfigError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(v) => Err(ConfigError::invalid(
            ctx.file(section),
            format!("{section}.{key}"),
            v,
            "expected a number",
        )),
    }
}

fn get_bool(
    ctx: &Ctx,
    section: &str,
    obj: &Map<String, Value>,
    key: &str,
) -> Result<Option<bool>, ConfigError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(ConfigError::invalid(
            ctx.file(section),
            format!("{section}.{key}"),
            v,
            "expected true or false",
        )),
    }
}

fn get_str(
    ctx: &Ctx,
    section: &str,
    field: &str,
    v: Option<&Value>,
) -> Result<Option<String>, ConfigError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(ConfigError::invalid(
            ctx.file(section),
            field,
            v,
            "expected a string",
        )),
    }
}

/// Scalar or list of numbers -> list.
fn get_f64_list(
    ctx: &Ctx,
    section: &str,
    field: &str,
    v: Option<&Value>,
) -> Result<Option<Vec<f64>>, ConfigError> {
    let bad = |v: &Value| {
        ConfigError::invalid(
            ctx.file(section),
            field,
            v,
            "expected a number or a list of numbers",
        )
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(Some(vec![n
            .as_f64()
            .ok_or_else(|| bad(v.unwrap_or(&Value::Null)))?])),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_f64().ok_or_else(|| bad(x)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(v) => Err(bad(v)),
    }
}

fn enabled(
    ctx: &Ctx,
    section: &str,
    field: &str,
    obj: &Map<String, Value>,
) -> Result<bool, ConfigError> {
    match obj.get("enabled") {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(ConfigError::invalid(
            ctx.file(section),
            format!("{field}.enabled"),
            v,
            "expected true or false",
        )),
    }
}

pub(crate) fn parse_all(merged: &mut Map<String, Value>, ctx: &Ctx) -> Result<Parsed, ConfigError> {
    let target_simulator = get_str(
        ctx,
        "target_simulator",
        "target_simulator",
        merged.get("target_simulator"),
    )?;
    let components = parse_components(merged, ctx)?;
    let networks = parse_networks(merged, ctx)?;
    let output = parse_output(merged, ctx)?;
    let run = parse_run(merged, ctx)?;
    let inputs = parse_inputs(merged, ctx)?;
    let reports = parse_reports(merged, ctx, &output.output_dir)?;
    let node_sets = parse_node_sets(merged, ctx)?;
    Ok(Parsed {
        target_simulator,
        run,
        output,
        inputs,
        reports,
        components,
        networks,
        node_sets,
    })
}

fn parse_run(merged: &Map<String, Value>, ctx: &Ctx) -> Result<Option<RunConfig>, ConfigError> {
    let Some(v) = merged.get("run") else {
        return Ok(None);
    };
    let run = as_object(ctx, "run", "run", v)?;
    let file = ctx.file("run");
    let tstop = match get_f64(ctx, "run", run, "duration")? {
        Some(d) => d,
        None => get_f64(ctx, "run", run, "tstop")?.ok_or_else(|| ConfigError::Missing {
            file: file.to_path_buf(),
            field: "run.tstop".into(),
        })?,
    };
    let dt = get_f64(ctx, "run", run, "dt")?.ok_or_else(|| ConfigError::Missing {
        file: file.to_path_buf(),
        field: "run.dt".into(),
    })?;
    if !(dt > 0.0 && dt.is_finite()) {
        return Err(ConfigError::invalid(
            file,
            "run.dt",
            &run["dt"],
            "must be a positive number",
        ));
    }
    let tstart = get_f64(ctx, "run", run, "tstart")?.unwrap_or(0.0);
    if !(tstop.is_finite() && tstop >= tstart) {
        let key = if run.contains_key("duration") {
            "duration"
        } else {
            "tstop"
        };
        return Err(ConfigError::invalid(
            file,
            format!("run.{key}"),
            &run[key],
            "must be a finite number >= tstart",
        ));
    }
    let n_thread = match run.get("n_thread") {
        None | Some(Value::Null) => 1,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => n as usize,
            _ => {
                return Err(ConfigError::invalid(
                    file,
                    "run.n_thread",
                    v,
                    "expected a positive integer",
                ))
            }
        },
    };
    let random_seed = match run.get("random_seed") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| {
            ConfigError::invalid(
                file,
                "run.random_seed",
                v,
                "expected a non-negative integer",
            )
        })?),
    };
    let output_overwrite = merged
        .get("output")
        .and_then(|o| o.get("overwrite_output_dir"))
        .cloned();
    let overwrite_output_dir = match get_bool(ctx, "run", run, "overwrite_output_dir")? {
        Some(b) => b,
        None => match output_overwrite {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => b,
            Some(v) => {
                return Err(ConfigError::invalid(
                    ctx.file("output"),
                    "output.overwrite_output_dir",
                    &v,
                    "expected true or false",
                ))
            }
        },
    };
    Ok(Some(RunConfig {
        tstop,
        dt,
        tstart,
        n_thread,
        precise_times: get_bool(ctx, "run", run, "precise_times")?.unwrap_or(true),
        allow_offgrid_spikes: get_bool(ctx, "run", run, "allow_offgrid_spikes")?.unwrap_or(false),
        overwrite_output_dir,
        random_seed,
        raw: run.clone(),
    }))
}

fn parse_output(merged: &mut Map<String, Value>, ctx: &Ctx) -> Result<OutputConfig, ConfigError> {
    let empty = Value::Object(Map::new());
    let v = merged.get("output").unwrap_or(&empty).clone();
    let mut out = as_object(ctx, "output", "output", &v)?.clone();
    let output_dir = match out.get("output_dir") {
        None | Some(Value::Null) => ctx.cwd.to_path_buf(),
        Some(v) => ctx.path("output", "output.output_dir", v)?,
    };
    let odir_str = output_dir.display().to_string();
    let other_spikes: Vec<String> = out
        .keys()
        .filter(|k| {
            k.starts_with("spikes_file")
                && !["spikes_file", "spikes_file_csv", "spikes_file_nwb"].contains(&k.as_str())
        })
        .cloned()
        .collect();
    let mut joined = |key: &str| -> Result<Option<PathBuf>, ConfigError> {
        let Some(v) = out.get(key).cloned() else {
            return Ok(None);
        };
        if v.is_null() {
            return Ok(None);
        }
        let field = format!("output.{key}");
        let Value::String(s) = &v else {
            return Err(ConfigError::invalid(
                ctx.file("output"),
                field,
                &v,
                "expected a path string",
            ));
        };
        // BMTK: join to output_dir unless absolute or already starting with output_dir.
        let raw_dir = match out.get("output_dir") {
            Some(Value::String(d)) => d.clone(),
            _ => String::new(),
        };
        let p = if Path::new(s).is_absolute() || (!raw_dir.is_empty() && s.starts_with(&raw_dir)) {
            ctx.path("output", &field, &v)?
        } else {
            ctx.path("output", &field, &Value::String(format!("{odir_str}/{s}")))?
        };
        out.insert(key.to_string(), Value::String(p.display().to_string()));
        Ok(Some(p))
    };
    let log_file = joined("log_file")?;
    let spikes_file = joined("spikes_file")?;
    let spikes_file_csv = joined("spikes_file_csv")?;
    let spikes_file_nwb = joined("spikes_file_nwb")?;
    for k in other_spikes {
        joined(&k)?;
    }
    out.insert("output_dir".into(), Value::String(odir_str));
    let spikes_sort_order = match out.get("spikes_sort_order") {
        None | Some(Value::Null) => SortOrder::None,
        Some(v) => v.as_str().and_then(SortOrder::parse).ok_or_else(|| {
            ConfigError::invalid(
                ctx.file("output"),
                "output.spikes_sort_order",
                v,
                "expected by_time, by_id or none",
            )
        })?,
    };
    let compression = match out.get("compression") {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => !s.eq_ignore_ascii_case("none"),
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(ConfigError::invalid(
                ctx.file("output"),
                "output.compression",
                v,
                "expected \"gzip\" or \"none\"",
            ))
        }
    };
    merged.insert("output".into(), Value::Object(out.clone()));
    Ok(OutputConfig {
        output_dir,
        log_file,
        spikes_file,
        spikes_file_csv,
        spikes_file_nwb,
        spikes_sort_order,
        compression,
        raw: out,
    })
}

fn parse_inputs(
    merged: &mut Map<String, Value>,
    ctx: &Ctx,
) -> Result<Vec<InputConfig>, ConfigError> {
    let Some(v) = merged.get("inputs").cloned() else {
        return Ok(Vec::new());
    };
    if v.is_null() {
        return Ok(Vec::new());
    }
    let file = ctx.file("inputs").to_path_buf();
    let mut inputs = Vec::new();
    for (name, entry) in as_object(ctx, "inputs", "inputs", &v)? {
        let field = format!("inputs.{name}");
        let obj = as_object(ctx, "inputs", &field, entry)?;
        if !enabled(ctx, "inputs", &field, obj)? {
            continue;
        }
        let req = |key: &str| -> Result<String, ConfigError> {
            get_str(ctx, "inputs", &format!("{field}.{key}"), obj.get(key))?.ok_or_else(|| {
                ConfigError::Missing {
                    file: file.clone(),
                    field: format!("{field}.{key}"),
                }
            })
        };
        let input_type = req("input_type")?;
        let module = req("module")?;
        let mut raw = obj.clone();
        let mut input_file = None;
        for key in ["input_file", "file"] {
            if let Some(p) = obj.get(key).filter(|p| !p.is_null()) {
                let pb = ctx.path("inputs", &format!("{field}.{key}"), p)?;
                raw.insert(key.into(), Value::String(pb.display().to_string()));
                if input_file.is_none() {
                    input_file = Some(pb);
                }
            }
        }
        inputs.push(InputConfig {
            name: name.clone(),
            input_type,
            module,
            node_set: obj.get("node_set").filter(|n| !n.is_null()).cloned(),
            input_file,
            amp: get_f64_list(ctx, "inputs", &format!("{field}.amp"), obj.get("amp"))?,
            delay: get_f64_list(ctx, "inputs", &format!("{field}.delay"), obj.get("delay"))?,
            duration: get_f64_list(
                ctx,
                "inputs",
                &format!("{field}.duration"),
                obj.get("duration"),
            )?,
            raw,
        });
    }
    if let Some(Value::Object(o)) = merged.get_mut("inputs") {
        for inp in &inputs {
            o.insert(inp.name.clone(), Value::Object(inp.raw.clone()));
        }
    }
    Ok(inputs)
}

fn parse_reports(
    merged: &mut Map<String, Value>,
    ctx: &Ctx,
    output_dir: &Path,
) -> Result<Vec<ReportConfig>, ConfigError> {
    let Some(v) = merged.get("reports").cloned() else {
        return Ok(Vec::new());
    };
    if v.is_null() {
        return Ok(Vec::new());
    }
    let file = ctx.file("reports").to_path_buf();
    let mut reports = Vec::new();
    for (name, entry) in as_object(ctx, "reports", "reports", &v)? {
        let field = format!("reports.{name}");
        let obj = as_object(ctx, "reports", &field, entry)?;
        if !enabled(ctx, "reports", &field, obj)? {
            continue;
        }
        let module = get_str(
            ctx,
            "reports",
            &format!("{field}.module"),
            obj.get("module"),
        )?
        .ok_or_else(|| ConfigError::Missing {
            file: file.clone(),
            field: format!("{field}.module"),
        })?;
        let variable_name = match obj.get("variable_name") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_str().map(str::to_string).ok_or_else(|| {
                        ConfigError::invalid(
                            &file,
                            format!("{field}.variable_name"),
                            x,
                            "expected a string",
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(v) => {
                return Err(ConfigError::invalid(
                    &file,
                    format!("{field}.variable_name"),
                    v,
                    "expected a string or a list of strings",
                ))
            }
        };
        let fname = match obj.get("file_name") {
            None | Some(Value::Null) => format!("{name}.h5"),
            Some(Value::String(s)) => s.clone(),
            Some(v) => {
                return Err(ConfigError::invalid(
                    &file,
                    format!("{field}.file_name"),
                    v,
                    "expected a path string",
                ))
            }
        };
        let joined = if Path::new(&fname).is_absolute() {
            fname.clone()
        } else {
            format!("{}/{fname}", output_dir.display())
        };
        let file_name = ctx.path(
            "reports",
            &format!("{field}.file_name"),
            &Value::String(joined),
        )?;
        let interval = match get_f64(ctx, "reports", obj, "interval")? {
            Some(x) => Some(x),
            None => get_f64(ctx, "reports", obj, "dt")?,
        };
        reports.push(ReportConfig {
            name: name.clone(),
            module,
            cells: obj.get("cells").filter(|c| !c.is_null()).cloned(),
            variable_name,
            file_name,
            tstart: get_f64(ctx, "reports", obj, "tstart")?.or(get_f64(
                ctx,
                "reports",
                obj,
                "start_time",
            )?),
            tstop: get_f64(ctx, "reports", obj, "tstop")?
                .or(get_f64(ctx, "reports", obj, "end_time")?),
            interval,
            raw: obj.clone(),
        });
    }
    Ok(reports)
}

fn parse_components(merged: &mut Map<String, Value>, ctx: &Ctx) -> Result<Components, ConfigError> {
    let Some(v) = merged.get("components").cloned() else {
        return Ok(Components::default());
    };
    if v.is_null() {
        return Ok(Components::default());
    }
    let mut dirs = BTreeMap::new();
    let mut resolved = Map::new();
    for (k, p) in as_object(ctx, "components", "components", &v)? {
        if p.is_null() {
            continue;
        }
        let pb = ctx.path("components", &format!("components.{k}"), p)?;
        resolved.insert(k.clone(), Value::String(pb.display().to_string()));
        dirs.insert(k.clone(), pb);
    }
    merged.insert("components".into(), Value::Object(resolved));
    Ok(Components { dirs })
}

fn parse_networks(merged: &mut Map<String, Value>, ctx: &Ctx) -> Result<Networks, ConfigError> {
    let Some(v) = merged.get("networks").cloned() else {
        return Ok(Networks::default());
    };
    if v.is_null() {
        return Ok(Networks::default());
    }
    let file = ctx.file("networks").to_path_buf();
    let obj = as_object(ctx, "networks", "networks", &v)?;
    let mut net = Networks::default();
    let mut resolved = obj.clone();
    for (kind, a, b) in [
        ("nodes", "nodes_file", "node_types_file"),
        ("edges", "edges_file", "edge_types_file"),
    ] {
        let list = match obj.get(kind) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(l)) => l,
            Some(other) => {
                return Err(ConfigError::invalid(
                    &file,
                    format!("networks.{kind}"),
                    other,
                    "expected a list",
                ))
            }
        };
        let mut out_list = Vec::new();
        for (i, e) in list.iter().enumerate() {
            let field = format!("networks.{kind}[{i}]");
            let eo = as_object(ctx, "networks", &field, e)?;
            let mut eo2 = eo.clone();
            let mut get = |key: &str| -> Result<Option<PathBuf>, ConfigError> {
                match eo.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(p) => {
                        let pb = ctx.path("networks", &format!("{field}.{key}"), p)?;
                        eo2.insert(key.into(), Value::String(pb.display().to_string()));
                        Ok(Some(pb))
                    }
                }
            };
            let fa = get(a)?;
            let fb = get(b)?;
            out_list.push(Value::Object(eo2));
            if !enabled(ctx, "networks", &field, eo)? {
                continue;
            }
            let missing = |key: &str| ConfigError::Missing {
                file: file.clone(),
                field: format!("{field}.{key}"),
            };
            let fa = fa.ok_or_else(|| missing(a))?;
            let fb = fb.ok_or_else(|| missing(b))?;
            if kind == "nodes" {
                net.nodes.push(NodesFiles {
                    nodes_file: fa,
                    node_types_file: fb,
                    entry: i,
                });
            } else {
                net.edges.push(EdgesFiles {
                    edges_file: fa,
                    edge_types_file: fb,
                    entry: i,
                });
            }
        }
        resolved.insert(kind.into(), Value::Array(out_list));
    }
    merged.insert("networks".into(), Value::Object(resolved));
    Ok(net)
}

fn parse_node_sets(
    merged: &mut Map<String, Value>,
    ctx: &Ctx,
) -> Result<Map<String, Value>, ConfigError> {
    match merged.get("node_sets") {
        Some(Value::Object(o)) => return Ok(o.clone()),
        Some(Value::Null) | None => {}
        Some(v) => {
            return Err(ConfigError::invalid(
                ctx.file("node_sets"),
                "node_sets",
                v,
                "expected an object",
            ))
        }
    }
    let Some(p) = merged
        .get("node_sets_file")
        .filter(|p| !p.is_null())
        .cloned()
    else {
        return Ok(Map::new());
    };
    let path = ctx.path("node_sets_file", "node_sets_file", &p)?;
    let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read {
        file: path.clone(),
        source: e,
    })?;
    let text = crate::limits::strip_bom(&text);
    let v: Value = serde_json::from_str(text).map_err(|e| ConfigError::Json {
        file: path.clone(),
        line: e.line(),
        column: e.column(),
        message: json_message(&e),
    })?;
    merged.insert(
        "node_sets_file".into(),
        Value::String(path.display().to_string()),
    );
    match v {
        Value::Object(o) => Ok(o),
        other => Err(ConfigError::invalid(
            &path,
            "(top level)",
            &other,
            "expected an object of node sets",
        )),
    }
}
