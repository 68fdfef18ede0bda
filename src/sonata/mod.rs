//! SONATA / BMTK file readers and writers — the only module that touches hdf5 and csv types.
//!
//! * [`Circuit`] (`circuit.rs`): every node and edge population of a config's `networks`,
//!   with their type tables and `dynamics_params` JSON (sonata-bmtk.md §1, §2).
//! * [`NodePopulation`] (`nodes.rs`), [`EdgePopulation`] (`edges.rs`), type-table CSVs
//!   (`types_csv.rs`), node sets (`node_sets.rs`).
//! * [`spikes`]: SONATA / CSV spike files, read and write (§4.1, §6.2).
//!
//! Later additions: `circuit_writer.rs` (the network builder's SONATA writer) and `report.rs`
//! (membrane reports) belong here too, for the same reason (hdf5 stays inside this module).
//!
//! ## Using a circuit (for `network/` and `engine/`)
//!
//! ```text
//! let cfg = SimulationConfig::load(path)?;            // config/
//! let c = Circuit::load(&cfg)?;                       // all populations, validated
//! for pop in &c.nodes {                               // nodes by index i in 0..pop.len()
//!     pop.is_virtual(i); pop.model_template(i)        // Some(ModelTemplate{schema:"nest", resource:"glif_psc"})
//!     pop.node_type(i).dynamics_params                // Arc<serde_json::Value>, shared per file
//!     pop.dynamics_overrides(i) / pop.dynamics_params(i)   // per-node h5 overrides / merged JSON
//! }
//! for e in &c.edges {                                 // edge i: e.source_ids[i] -> e.target_ids[i]
//!     let sv = e.synapse_values()?;                   // weight = nsyns*syn_weight, delay_ms (h5 > CSV > 1.0)
//!     e.edge_type(i).receptor_type()                  // from the synapse JSON, 0 if absent
//!     e.edge_type(i).model_template                   // "static_synapse" ("nest:" stripped)
//! }
//! c.select(&input.node_set, &cfg.node_sets, cfg.origin_of("inputs"), "inputs.x.node_set")?
//! // distributed runs: nodes + edge metadata, then only the edges onto some node ids
//! let mut c = Circuit::load_selected(&cfg, &EdgeSelection::Targets(Default::default()))?;
//! c.in_degrees(k, &|_| Ok(()))?;                                 // per target node, from indices/target_to_source
//! c.load_edges(&cfg.networks, &EdgeSelection::Targets(ranges_by_population))?;
//! e.rows.row(i)                                      // file row of loaded edge i
//! ```
//! Node ids are SONATA ids (`pop.node_ids[i]`, `pop.index_of(id)`); in every BMTK file they are
//! 0..N so index == id (`pop.ids_are_contiguous()`).
//!
//! Everything handed out is plain Rust data (`Vec<u64>`, `Vec<f64>`, [`Value`], [`Column`],
//! `serde_json::Value`), so later stages never see file formats.

mod circuit;
pub mod circuit_writer;
pub mod dataset;
mod edges;
mod error;
pub(crate) mod h5;
mod node_sets;
mod nodes;
pub mod report;
pub mod spikes;
mod types_csv;
pub mod weight_columns;

pub use circuit::Circuit;
pub use edges::{
    EdgePopulation, EdgeRows, EdgeSelection, EdgeType, EdgeTypeSummary, SynapseValues,
};
pub use error::SonataError;
pub use node_sets::NodeSelection;
pub use nodes::{ModelTemplate, NodeGroup, NodePopulation, NodeType};
pub use types_csv::{read_types_csv, TypeTable};

/// One scalar from a type-table CSV cell or an h5 column. Missing values (`NULL`, `NONE`,
/// empty, `NaN`, …; absent column) are `Null`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Str(String),
    Null,
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Numeric value (ints widened), `None` for strings and null.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Integer value; floats with an exact integer value count too.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The same value as JSON (null for `Null`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Null => serde_json::Value::Null,
        }
    }

    /// Equality with a JSON scalar as node-set filters need it (numbers compare numerically).
    pub fn matches_json(&self, j: &serde_json::Value) -> bool {
        match (self, j) {
            (Value::Str(s), serde_json::Value::String(t)) => s == t,
            (Value::Int(_) | Value::Float(_), serde_json::Value::Number(n)) => {
                n.as_f64().is_some_and(|x| Some(x) == self.as_f64())
            }
            (Value::Int(i), serde_json::Value::Bool(b)) => *i == i64::from(*b),
            (Value::Null, serde_json::Value::Null) => true,
            _ => false,
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s}"),
            Value::Null => write!(f, "NULL"),
        }
    }
}

/// One h5 group column, read as a whole dataset. Integer columns of any width are `Int`,
/// float columns `Float`, string columns (vlen or fixed; enums by member name) `Str`, and 2-D
/// numeric datasets (per-node vector parameters such as `asc_amps`) `FloatRows` (row-major).
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Str(Vec<String>),
    FloatRows { ncols: usize, data: Vec<f64> },
}

impl Column {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Column::Int(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Str(v) => v.len(),
            Column::FloatRows { ncols, data } => data.len().checked_div(*ncols).unwrap_or(0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Scalar at row `i` (`Null` out of range and for `FloatRows`).
    pub fn get(&self, i: usize) -> Value {
        match self {
            Column::Int(v) => v.get(i).map_or(Value::Null, |x| Value::Int(*x)),
            Column::Float(v) => v.get(i).map_or(Value::Null, |x| {
                if x.is_nan() {
                    Value::Null
                } else {
                    Value::Float(*x)
                }
            }),
            Column::Str(v) => v.get(i).map_or(Value::Null, |x| Value::Str(x.clone())),
            Column::FloatRows { .. } => Value::Null,
        }
    }

    /// Row `i` as JSON: a scalar, or an array for `FloatRows`.
    pub fn get_json(&self, i: usize) -> serde_json::Value {
        match self {
            Column::FloatRows { ncols, data } => {
                let start = i.saturating_mul(*ncols);
                match data.get(start..start + ncols) {
                    Some(row) => serde_json::Value::Array(
                        row.iter()
                            .map(|x| {
                                serde_json::Number::from_f64(*x)
                                    .map(serde_json::Value::Number)
                                    .unwrap_or(serde_json::Value::Null)
                            })
                            .collect(),
                    ),
                    None => serde_json::Value::Null,
                }
            }
            other => other.get(i).to_json(),
        }
    }

    /// Short datatype name for summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            Column::Int(_) => "int",
            Column::Float(_) => "float",
            Column::Str(_) => "str",
            Column::FloatRows { .. } => "float[]",
        }
    }
}
