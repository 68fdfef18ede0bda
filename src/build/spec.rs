//! The builder's JSON spec: what the user writes. Parsed with serde (unknown keys are errors,
//! so typos do not silently change a network) and then checked value by value, each error
//! naming the spec file, the field path and the value.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::BuildError;

fn default_seed() -> u64 {
    1
}
fn one() -> f64 {
    1.0
}
fn default_tstop() -> f64 {
    1000.0
}
fn default_dt() -> f64 {
    0.1
}
fn static_synapse() -> String {
    "static_synapse".into()
}
fn yes() -> bool {
    true
}

/// Top level of a spec file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    #[serde(default)]
    pub description: Option<String>,
    /// Master seed of every random stream (overridden by `--seed`).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Default scale factor (overridden by `--scale`): scalable counts ×N, probabilities ÷N.
    #[serde(default = "one")]
    pub scale: f64,
    #[serde(default)]
    pub components: Components,
    pub populations: Vec<PopulationSpec>,
    #[serde(default)]
    pub edges: Vec<EdgeRuleSpec>,
    #[serde(default)]
    pub inputs: Vec<InputSpec>,
    #[serde(default)]
    pub simulation: SimulationSpec,
}

/// Component files written under `components/`: file name -> inline JSON object, or a string
/// path (relative to the spec) of a JSON file copied verbatim.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Components {
    #[serde(default)]
    pub cell_models: Map<String, Value>,
    #[serde(default)]
    pub synaptic_models: Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationSpec {
    pub name: String,
    /// Virtual populations hold input nodes (`model_type` `virtual`); counts do not scale.
    #[serde(default, rename = "virtual")]
    pub is_virtual: bool,
    pub node_types: Vec<NodeTypeSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeTypeSpec {
    pub node_type_id: Option<u64>,
    pub count: u64,
    /// Whether `count` is multiplied by the scale factor (default: not virtual).
    pub scalable: Option<bool>,
    pub model_type: Option<String>,
    pub model_template: Option<String>,
    pub dynamics_params: Option<String>,
    /// Per-type columns of the node_types CSV (e.g. `ei`, `model_name`).
    #[serde(default)]
    pub attributes: Map<String, Value>,
    pub positions: Option<Positions>,
    /// Per-node columns of the nodes h5 group, drawn from distributions.
    #[serde(default)]
    pub node_attributes: Map<String, Value>,
}

/// Random positions, written as the per-node columns `x`, `y`, `z` (µm).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Positions {
    /// Uniform in an axis-aligned box.
    Box {
        x: [f64; 2],
        y: [f64; 2],
        z: [f64; 2],
    },
    /// Uniform in a cylinder whose axis is y (cortical depth), centred at (x, z) = `center`.
    Cylinder {
        radius: f64,
        y: [f64; 2],
        #[serde(default)]
        center: [f64; 2],
    },
}

/// A per-node value distribution (`node_attributes` values).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Distribution {
    Constant(f64),
    /// Uniform in [a, b).
    Uniform([f64; 2]),
    /// Normal with [mean, sd].
    Normal([f64; 2]),
    /// Evenly spaced over the type's nodes in [a, b), endpoint excluded (as `np.linspace(...,
    /// endpoint=False)` in BMTK build scripts).
    Linspace([f64; 2]),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeRuleSpec {
    pub name: Option<String>,
    pub edge_type_id: Option<u64>,
    /// `{"population": "v1", "<attribute>": value | [values] | {"min": a, "max": b}}`.
    pub source: Map<String, Value>,
    pub target: Map<String, Value>,
    pub connection: Connection,
    #[serde(default)]
    pub allow_autapses: bool,
    #[serde(default)]
    pub nsyns: Nsyns,
    pub syn_weight: f64,
    pub delay: f64,
    /// Synapse JSON under `components/synaptic_models` (merged into NEST's syn_spec).
    pub dynamics_params: Option<String>,
    /// Shorthand: generates `receptor_<k>.json` = `{"receptor_type": k}` (glif_psc port).
    pub receptor_type: Option<u32>,
    #[serde(default = "static_synapse")]
    pub model_template: String,
    /// Divide probabilities by the growth of the source selection so in-degrees stay fixed.
    #[serde(default = "yes")]
    pub scale_probability: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "rule", deny_unknown_fields, rename_all = "snake_case")]
pub enum Connection {
    /// Each (source, target) pair independently with probability `p`.
    FixedProbability { p: f64 },
    /// Probability `p_max * exp(-d² / 2σ²)` of the 3-D distance d, zero beyond `max_distance`
    /// (default 4σ).
    Gaussian {
        p_max: f64,
        sigma: f64,
        max_distance: Option<f64>,
    },
    /// Every target draws exactly `indegree` distinct sources.
    FixedIndegree { indegree: u64 },
    /// The i-th selected source to the i-th selected target.
    OneToOne {},
}

/// Synapses per edge (the PointNet weight multiplier, docs/sonata-bmtk.md §2.4).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum Nsyns {
    Fixed(u32),
    Uniform { uniform: [u32; 2] },
}

impl Default for Nsyns {
    fn default() -> Self {
        Nsyns::Fixed(1)
    }
}

/// Poisson spike trains for a virtual population, written as a SONATA spike file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub name: String,
    pub population: String,
    pub rate_hz: f64,
    #[serde(default)]
    pub start_ms: f64,
    /// Default: the simulation's tstop.
    pub stop_ms: Option<f64>,
    /// File name under `inputs/` (default `<name>.h5`).
    pub file: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationSpec {
    #[serde(default = "default_tstop")]
    pub tstop: f64,
    #[serde(default = "default_dt")]
    pub dt: f64,
    /// BMTK `reports` blocks, copied verbatim into `config.simulation.json` (checked when the
    /// config is run, like any BMTK config's).
    #[serde(default)]
    pub reports: Option<Map<String, Value>>,
}

impl Default for SimulationSpec {
    fn default() -> Self {
        Self {
            tstop: default_tstop(),
            dt: default_dt(),
            reports: None,
        }
    }
}

/// A spec file: the parsed spec and where it lives (component paths are relative to it).
#[derive(Debug, Clone)]
pub struct SpecFile {
    pub path: PathBuf,
    pub spec: Spec,
}

impl SpecFile {
    /// Read `path`, or `path/spec.json` when `path` is a directory.
    pub fn load(path: &Path) -> Result<Self, BuildError> {
        let path = if path.is_dir() {
            path.join("spec.json")
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&path).map_err(|e| BuildError::Io {
            path: path.clone(),
            msg: crate::limits::io_reason(&e),
        })?;
        let text = crate::limits::strip_bom(&text);
        let spec: Spec = serde_json::from_str(text).map_err(|e| BuildError::Spec {
            file: path.clone(),
            field: "(json)".into(),
            msg: e.to_string(),
        })?;
        let sf = SpecFile { path, spec };
        sf.check()?;
        Ok(sf)
    }

    /// The directory component paths are relative to.
    pub fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    pub fn err(&self, field: impl Into<String>, msg: impl Into<String>) -> BuildError {
        BuildError::Spec {
            file: self.path.clone(),
            field: field.into(),
            msg: msg.into(),
        }
    }

    /// Value checks serde cannot express.
    fn check(&self) -> Result<(), BuildError> {
        let s = &self.spec;
        if !(s.scale.is_finite() && s.scale > 0.0) {
            return Err(self.err("scale", format!("must be > 0, got {}", s.scale)));
        }
        if !(s.simulation.dt.is_finite() && s.simulation.dt > 0.0) {
            return Err(self.err(
                "simulation.dt",
                format!("must be > 0, got {}", s.simulation.dt),
            ));
        }
        if !(s.simulation.tstop.is_finite() && s.simulation.tstop > 0.0) {
            return Err(self.err(
                "simulation.tstop",
                format!("must be > 0, got {}", s.simulation.tstop),
            ));
        }
        if s.populations.is_empty() {
            return Err(self.err("populations", "at least one population is required"));
        }
        let mut names = std::collections::HashSet::new();
        for (i, p) in s.populations.iter().enumerate() {
            let f = format!("populations[{i}]");
            if p.name.is_empty()
                || !p
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(self.err(
                    format!("{f}.name"),
                    format!(
                        "\"{}\" must be non-empty letters, digits or _",
                        crate::limits::clip(&p.name)
                    ),
                ));
            }
            if !names.insert(p.name.as_str()) {
                return Err(self.err(
                    format!("{f}.name"),
                    format!("duplicate population \"{}\"", crate::limits::clip(&p.name)),
                ));
            }
            if p.node_types.is_empty() {
                return Err(self.err(
                    format!("{f}.node_types"),
                    "at least one node type is required",
                ));
            }
            let mut ids = std::collections::HashSet::new();
            for (j, t) in p.node_types.iter().enumerate() {
                let f = format!("{f}.node_types[{j}]");
                let id = t.node_type_id.unwrap_or(100 + j as u64);
                if !ids.insert(id) {
                    return Err(self.err(format!("{f}.node_type_id"), format!("duplicate id {id}")));
                }
                if t.count == 0 {
                    return Err(self.err(format!("{f}.count"), "must be > 0, got 0"));
                }
                if !p.is_virtual {
                    if t.model_template.is_none() {
                        return Err(self.err(
                            format!("{f}.model_template"),
                            "required for non-virtual nodes (e.g. \"nest:glif_psc\")",
                        ));
                    }
                    match &t.dynamics_params {
                        None => {
                            return Err(self.err(
                                format!("{f}.dynamics_params"),
                                "required for non-virtual nodes",
                            ))
                        }
                        Some(d) if !s.components.cell_models.contains_key(d) => {
                            return Err(self.err(
                                format!("{f}.dynamics_params"),
                                format!(
                                    "\"{}\" is not listed in components.cell_models",
                                    crate::limits::clip(d)
                                ),
                            ))
                        }
                        _ => {}
                    }
                }
                let ordered = |r: &[f64; 2]| r[0].is_finite() && r[1].is_finite() && r[0] <= r[1];
                let positions_ok = match &t.positions {
                    Some(Positions::Cylinder { radius, y, .. }) => {
                        radius.is_finite() && *radius >= 0.0 && ordered(y)
                    }
                    Some(Positions::Box { x, y, z }) => ordered(x) && ordered(y) && ordered(z),
                    None => true,
                };
                if !positions_ok {
                    return Err(self.err(
                        format!("{f}.positions"),
                        "needs finite bounds with min <= max (and radius >= 0)",
                    ));
                }
                for (k, v) in &t.node_attributes {
                    if ["x", "y", "z"].contains(&k.as_str()) && t.positions.is_some() {
                        return Err(self.err(
                            format!("{f}.node_attributes.{k}"),
                            "conflicts with positions",
                        ));
                    }
                    if t.attributes.contains_key(k) {
                        return Err(self.err(
                            format!("{f}.node_attributes.{k}"),
                            "also given in attributes",
                        ));
                    }
                    distribution(v).map_err(|m| self.err(format!("{f}.node_attributes.{k}"), m))?;
                }
                for k in t.attributes.keys() {
                    if [
                        "node_type_id",
                        "model_type",
                        "model_template",
                        "dynamics_params",
                        "node_id",
                    ]
                    .contains(&k.as_str())
                    {
                        return Err(self.err(
                            format!("{f}.attributes.{k}"),
                            "reserved column name: use the field of the same name",
                        ));
                    }
                }
            }
        }
        for (i, e) in s.edges.iter().enumerate() {
            let f = format!("edges[{i}]");
            if !e.syn_weight.is_finite() {
                return Err(self.err(
                    format!("{f}.syn_weight"),
                    format!("must be finite, got {}", e.syn_weight),
                ));
            }
            if !(e.delay.is_finite() && e.delay > 0.0) {
                return Err(self.err(
                    format!("{f}.delay"),
                    format!("must be > 0 ms, got {}", e.delay),
                ));
            }
            if e.delay < s.simulation.dt {
                // NEST rejects it (BadDelay, docs/sonata-bmtk.md §2.5).
                return Err(self.err(
                    format!("{f}.delay"),
                    format!(
                        "{} ms is shorter than simulation.dt {} ms",
                        e.delay, s.simulation.dt
                    ),
                ));
            }
            match e.nsyns {
                Nsyns::Fixed(0) => {
                    return Err(self.err(format!("{f}.nsyns"), "must be >= 1, got 0"))
                }
                Nsyns::Uniform { uniform: [a, b] } if a == 0 || a > b => {
                    return Err(self.err(
                        format!("{f}.nsyns.uniform"),
                        format!("needs 1 <= a <= b, got [{a}, {b}]"),
                    ))
                }
                _ => {}
            }
            match &e.connection {
                Connection::FixedProbability { p } if !(0.0..=1.0).contains(p) => {
                    return Err(self.err(
                        format!("{f}.connection.p"),
                        format!("must be in [0, 1], got {p}"),
                    ))
                }
                Connection::Gaussian {
                    p_max,
                    sigma,
                    max_distance,
                } => {
                    if !(0.0..=1.0).contains(p_max) {
                        return Err(self.err(
                            format!("{f}.connection.p_max"),
                            format!("must be in [0, 1], got {p_max}"),
                        ));
                    }
                    if !(sigma.is_finite() && *sigma > 0.0) {
                        return Err(self.err(
                            format!("{f}.connection.sigma"),
                            format!("must be > 0, got {sigma}"),
                        ));
                    }
                    if let Some(m) = max_distance {
                        if !(m.is_finite() && *m > 0.0) {
                            return Err(self.err(
                                format!("{f}.connection.max_distance"),
                                format!("must be > 0, got {m}"),
                            ));
                        }
                    }
                }
                _ => {}
            }
            if let Some(d) = &e.dynamics_params {
                if e.receptor_type.is_some() {
                    return Err(self.err(
                        format!("{f}.receptor_type"),
                        "give either dynamics_params or receptor_type",
                    ));
                }
                if !s.components.synaptic_models.contains_key(d) {
                    return Err(self.err(
                        format!("{f}.dynamics_params"),
                        format!(
                            "\"{}\" is not listed in components.synaptic_models",
                            crate::limits::clip(d)
                        ),
                    ));
                }
            }
            for (side, sel) in [("source", &e.source), ("target", &e.target)] {
                match sel.get("population") {
                    Some(Value::String(p)) if names.contains(p.as_str()) => {}
                    Some(v) => {
                        return Err(self.err(
                            format!("{f}.{side}.population"),
                            format!("unknown population {v}"),
                        ))
                    }
                    None => return Err(self.err(format!("{f}.{side}.population"), "required")),
                }
            }
            if let Some(Value::String(p)) = e.target.get("population") {
                if s.populations.iter().any(|q| &q.name == p && q.is_virtual) {
                    return Err(self.err(
                        format!("{f}.target.population"),
                        format!(
                            "\"{}\" is virtual and cannot receive edges",
                            crate::limits::clip(p)
                        ),
                    ));
                }
            }
        }
        for (i, inp) in s.inputs.iter().enumerate() {
            let f = format!("inputs[{i}]");
            if !s
                .populations
                .iter()
                .any(|p| p.name == inp.population && p.is_virtual)
            {
                return Err(self.err(
                    format!("{f}.population"),
                    format!(
                        "\"{}\" is not a virtual population",
                        crate::limits::clip(&inp.population)
                    ),
                ));
            }
            if !(inp.rate_hz.is_finite() && inp.rate_hz >= 0.0) {
                return Err(self.err(
                    format!("{f}.rate_hz"),
                    format!("must be >= 0, got {}", inp.rate_hz),
                ));
            }
            let stop = inp.stop_ms.unwrap_or(s.simulation.tstop);
            if !(inp.start_ms >= 0.0 && stop.is_finite() && stop >= inp.start_ms) {
                return Err(self.err(
                    format!("{f}.stop_ms"),
                    format!(
                        "needs 0 <= start_ms <= stop_ms, got {} .. {stop}",
                        inp.start_ms
                    ),
                ));
            }
            if let Some(file) = &inp.file {
                plain_file_name(file).map_err(|m| self.err(format!("{f}.file"), m))?;
            }
        }
        for (kind, m) in [
            ("cell_models", &s.components.cell_models),
            ("synaptic_models", &s.components.synaptic_models),
        ] {
            for (k, v) in m {
                let f = format!("components.{kind}.{k}");
                plain_file_name(k).map_err(|m| self.err(&f, m))?;
                if !matches!(v, Value::Object(_) | Value::String(_)) {
                    return Err(
                        self.err(f, format!("must be a JSON object or a file path, got {v}"))
                    );
                }
            }
        }
        Ok(())
    }
}

/// Output file names must stay inside their folder.
fn plain_file_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
        Err(format!(
            "\"{}\" must be a plain file name",
            crate::limits::clip(name)
        ))
    } else {
        Ok(())
    }
}

/// Parse a `node_attributes` value.
pub fn distribution(v: &Value) -> Result<Distribution, String> {
    let d: Distribution = serde_json::from_value(v.clone()).map_err(|_| {
        format!("{v} is not a distribution: use {{\"constant\": v}}, {{\"uniform\": [a, b]}}, {{\"normal\": [mean, sd]}} or {{\"linspace\": [a, b]}}")
    })?;
    let ok = match d {
        Distribution::Constant(c) => c.is_finite(),
        Distribution::Uniform([a, b]) | Distribution::Linspace([a, b]) => {
            a.is_finite() && b.is_finite() && a <= b
        }
        Distribution::Normal([m, sd]) => m.is_finite() && sd.is_finite() && sd >= 0.0,
    };
    if ok {
        Ok(d)
    } else {
        Err(format!("{v}: bounds must be finite with a <= b (sd >= 0)"))
    }
}
