//! BMTK configuration files (sonata-bmtk.md §3): child-file merging, manifest substitution,
//! output path joining, and typed sections.
//!
//! [`SimulationConfig::load`] replicates BMTK's `ConfigParser`: the root file may hold only
//! `network`/`simulation` children, or be a simulation config whose `network` names its circuit
//! file, or be a single combined file. Child paths are relative to the parent's folder; children
//! are merged into the parent top-level key by top-level key (the child wins). Every other
//! relative path is resolved against the process working directory, as BMTK does (the examples
//! use `"$BASE_DIR": "."` and expect to be run from their folder); glifnet stores the resulting
//! absolute paths so later stages never depend on the working directory again.
//!
//! Node sets stay JSON here (`node_sets`, `InputConfig::node_set`, `ReportConfig::cells`):
//! resolving them needs the circuit, see `sonata::Circuit::select`.

mod error;
mod manifest;
mod sections;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

pub use error::{json_message, ConfigError};
pub use sections::*;

/// A fully resolved BMTK simulation (or circuit-only) configuration.
///
/// All paths are absolute. Sections that BMTK PointNet does not read are available in
/// [`SimulationConfig::resolved`].
#[derive(Debug, Clone)]
pub struct SimulationConfig {
    /// Absolute path of the file given to [`SimulationConfig::load`].
    pub config_path: PathBuf,
    /// Every config file that was merged, root first.
    pub config_files: Vec<PathBuf>,
    /// `target_simulator` (`"NEST"` in the point examples); declarative only.
    pub target_simulator: Option<String>,
    /// The `run` section; `None` for a circuit-only config (`inspect` accepts those).
    pub run: Option<RunConfig>,
    /// The `output` section with BMTK's defaults and `output_dir` joined into the file paths.
    pub output: OutputConfig,
    /// Enabled `inputs` entries, in file order.
    pub inputs: Vec<InputConfig>,
    /// Enabled `reports` entries, in file order.
    pub reports: Vec<ReportConfig>,
    /// `components` directories.
    pub components: Components,
    /// Enabled `networks` node and edge file pairs.
    pub networks: Networks,
    /// Named node sets: the inline `node_sets` object, else the content of `node_sets_file`.
    pub node_sets: Map<String, Value>,
    /// The merged, substituted configuration without `manifest` (what BMTK copies to output_dir).
    pub resolved: Value,
    /// Which config file each top-level key came from (for error messages).
    origins: BTreeMap<String, PathBuf>,
}

/// Options of [`SimulationConfig::load_with`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Directory that relative paths are resolved against (default: the process CWD).
    pub working_dir: Option<PathBuf>,
    /// User variables; they take precedence over manifest entries and built-ins (BMTK's
    /// keyword arguments to `from_json`).
    pub vars: BTreeMap<String, Value>,
}

impl SimulationConfig {
    /// Load a BMTK config file, resolving relative paths against the process working directory.
    pub fn load(path: impl AsRef<Path>) -> Result<SimulationConfig, ConfigError> {
        Self::load_with(path, &LoadOptions::default())
    }

    /// Load with explicit working directory and user variables.
    pub fn load_with(
        path: impl AsRef<Path>,
        opts: &LoadOptions,
    ) -> Result<SimulationConfig, ConfigError> {
        let cwd = match &opts.working_dir {
            Some(d) => absolutize(d, &std::env::current_dir().unwrap_or_default()),
            None => std::env::current_dir().map_err(|e| ConfigError::Read {
                file: path.as_ref().to_path_buf(),
                source: e,
            })?,
        };
        let root = absolutize(path.as_ref(), &cwd);
        let mut files = Vec::new();
        let mut origins = BTreeMap::new();
        let mut stack = Vec::new();
        let mut merged = parse_file(
            &root,
            &cwd,
            &opts.vars,
            &mut files,
            &mut stack,
            &mut origins,
        )?;
        let ctx = sections::Ctx {
            cwd: &cwd,
            root: &root,
            origins: &origins,
        };
        let parsed = sections::parse_all(&mut merged, &ctx)?;
        Ok(SimulationConfig {
            config_path: root,
            config_files: files,
            target_simulator: parsed.target_simulator,
            run: parsed.run,
            output: parsed.output,
            inputs: parsed.inputs,
            reports: parsed.reports,
            components: parsed.components,
            networks: parsed.networks,
            node_sets: parsed.node_sets,
            resolved: Value::Object(merged),
            origins,
        })
    }

    /// The `run` section, or an error naming the config when it has none.
    pub fn run_section(&self) -> Result<&RunConfig, ConfigError> {
        self.run.as_ref().ok_or_else(|| ConfigError::Missing {
            file: self.config_path.clone(),
            field: "run".into(),
        })
    }

    /// The config file that defined top-level key `key` (the root file if unknown).
    pub fn origin_of(&self, key: &str) -> &Path {
        self.origins
            .get(key)
            .map(PathBuf::as_path)
            .unwrap_or(&self.config_path)
    }

    /// The resolved configuration as pretty JSON, for copying into `output_dir` (BMTK writes
    /// such a copy so a run can be reproduced from its output folder).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.resolved).unwrap_or_default()
    }
}

/// Read one config file, substitute its manifest, then load and merge its `network` /
/// `simulation` children (§3.1). Returns the merged object. `files` collects every file read
/// (once each); `stack` holds the files being read above this one: only a file that includes
/// itself through its own children is a cycle. A file reached twice by different routes (the
/// SONATA example `300_pointneurons` names its circuit config from the root and again from
/// the simulation config) is read and merged each time, as BMTK does.
fn parse_file(
    file: &Path,
    cwd: &Path,
    user: &BTreeMap<String, Value>,
    files: &mut Vec<PathBuf>,
    stack: &mut Vec<PathBuf>,
    origins: &mut BTreeMap<String, PathBuf>,
) -> Result<Map<String, Value>, ConfigError> {
    if !files.iter().any(|f| f == file) {
        files.push(file.to_path_buf());
    }
    stack.push(file.to_path_buf());
    let obj = parse_one(file, cwd, user, files, stack, origins);
    stack.pop();
    obj
}

fn parse_one(
    file: &Path,
    cwd: &Path,
    user: &BTreeMap<String, Value>,
    files: &mut Vec<PathBuf>,
    stack: &mut Vec<PathBuf>,
    origins: &mut BTreeMap<String, PathBuf>,
) -> Result<Map<String, Value>, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|e| ConfigError::Read {
        file: file.to_path_buf(),
        source: e,
    })?;
    let text = crate::limits::strip_bom(&text);
    let value: Value = serde_json::from_str(text).map_err(|e| ConfigError::Json {
        file: file.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: json_message(&e),
    })?;
    let Value::Object(mut obj) = value else {
        return Err(ConfigError::invalid(
            file,
            "(top level)",
            &value,
            "expected a JSON object",
        ));
    };
    let vars = manifest::resolve_manifest(
        obj.get("manifest"),
        file,
        manifest::builtins(file, cwd),
        user,
    )?;
    obj.remove("manifest");
    for (k, v) in obj.iter_mut() {
        manifest::substitute_value(v, &vars, file, k)?;
    }
    for k in obj.keys() {
        origins.insert(k.clone(), file.to_path_buf());
    }
    let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    for key in ["network", "simulation"] {
        let Some(Value::String(child)) = obj.get(key).cloned() else {
            continue;
        };
        if let Some(r) = manifest::find_refs(&child).first() {
            return Err(ConfigError::UnknownVariable {
                file: file.to_path_buf(),
                field: key.into(),
                value: crate::limits::clip(&child),
                var: r.name.clone(),
            });
        }
        let child_path = absolutize(Path::new(&child), &dir);
        if stack.contains(&child_path) {
            return Err(ConfigError::IncludeCycle {
                file: file.to_path_buf(),
                field: key.into(),
                child: child_path,
            });
        }
        obj.insert(key.into(), Value::String(child_path.display().to_string()));
        let mut child_origins = BTreeMap::new();
        let child_obj = parse_file(&child_path, cwd, user, files, stack, &mut child_origins)
            .map_err(|e| match e {
                // A missing child is reported at the parent's field that names it.
                ConfigError::Read { file: f, source } if f == child_path => ConfigError::Invalid {
                    file: file.to_path_buf(),
                    field: key.into(),
                    // clip escapes control characters (a newline in the path must not break
                    // the one-line error)
                    value: format!("\"{}\"", crate::limits::clip(&child)),
                    reason: format!(
                        "cannot read \"{}\": {}",
                        crate::limits::clip(f.display()),
                        crate::limits::io_reason(&source)
                    ),
                },
                other => other,
            })?;
        // Shallow merge: the child's top-level keys overwrite the parent's.
        for (k, v) in child_obj {
            obj.insert(k, v);
        }
        origins.extend(child_origins);
    }
    Ok(obj)
}

/// `p` made absolute against `base`, with `.` and `x/..` removed lexically (no filesystem
/// access, so paths of files that do not exist yet — outputs — work too).
pub fn absolutize(p: &Path, base: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
