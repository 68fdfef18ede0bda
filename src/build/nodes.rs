//! Node generation: counts (scaled), node ids in spec order, positions and per-node attributes,
//! and the grouping of node types into SONATA node groups by their column set (§1.1: a group is
//! a uniform tabular layout, as BMTK's builder produces).

use serde_json::{Map, Value};

use super::rng::{self, Rng};
use super::spec::{distribution, Distribution, Positions, SpecFile};

/// One node type after scaling.
#[derive(Debug, Clone)]
pub struct NodeType {
    pub node_type_id: u64,
    /// Count before scaling (used to keep in-degrees fixed when scaling).
    pub base_count: usize,
    pub count: usize,
    /// First node id of the type (ids are contiguous per type).
    pub start: usize,
    /// CSV columns: model_type, model_template, dynamics_params, then the type attributes.
    pub csv: Map<String, Value>,
    /// Per-node columns (h5 group), each `count` long.
    pub columns: Vec<(String, Vec<f64>)>,
    /// Node group id in the nodes file.
    pub group: u32,
}

impl NodeType {
    /// The value of `key` for the node at `offset` inside the type: per-node column first,
    /// then the CSV column (the SONATA resolution order, §1.1).
    pub fn value(&self, key: &str, offset: usize) -> Option<Value> {
        if let Some((_, col)) = self.columns.iter().find(|(k, _)| k == key) {
            return serde_json::Number::from_f64(col[offset]).map(Value::Number);
        }
        self.type_value(key)
    }

    /// A type-level value (`node_type_id` or a CSV column).
    pub fn type_value(&self, key: &str) -> Option<Value> {
        if key == "node_type_id" {
            return Some(Value::from(self.node_type_id));
        }
        self.csv.get(key).filter(|v| !v.is_null()).cloned()
    }

    pub fn has_column(&self, key: &str) -> bool {
        self.columns.iter().any(|(k, _)| k == key)
    }

    pub fn column(&self, key: &str) -> Option<&[f64]> {
        self.columns
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }
}

/// A generated node population.
#[derive(Debug, Clone)]
pub struct Population {
    pub name: String,
    pub is_virtual: bool,
    pub types: Vec<NodeType>,
    /// Column names of each node group.
    pub group_columns: Vec<Vec<String>>,
}

impl Population {
    pub fn len(&self) -> usize {
        self.types.last().map_or(0, |t| t.start + t.count)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The type index of node `id`.
    pub fn type_of(&self, id: usize) -> usize {
        self.types.partition_point(|t| t.start + t.count <= id)
    }

    /// `(x, y, z)` of node `id`, if its type has positions.
    pub fn position(&self, id: usize) -> Option<[f64; 3]> {
        let t = &self.types[self.type_of(id)];
        let o = id - t.start;
        Some([t.column("x")?[o], t.column("y")?[o], t.column("z")?[o]])
    }
}

/// Generate every population of the spec at `scale`.
pub fn generate(sf: &SpecFile, scale: f64, seed: u64) -> Vec<Population> {
    let mut out = Vec::new();
    for (pi, ps) in sf.spec.populations.iter().enumerate() {
        let mut types = Vec::new();
        let mut start = 0usize;
        let mut group_columns: Vec<Vec<String>> = Vec::new();
        for (ti, ts) in ps.node_types.iter().enumerate() {
            let base = ts.count as usize;
            let count = if ts.scalable.unwrap_or(!ps.is_virtual) {
                ((base as f64 * scale).round() as usize).max(1)
            } else {
                base
            };
            let mut csv = Map::new();
            let model_type = ts.model_type.clone().unwrap_or_else(|| {
                if ps.is_virtual {
                    "virtual".into()
                } else {
                    "point_neuron".into()
                }
            });
            csv.insert("model_type".into(), Value::String(model_type));
            if let Some(m) = &ts.model_template {
                csv.insert("model_template".into(), Value::String(m.clone()));
            }
            if let Some(d) = &ts.dynamics_params {
                csv.insert("dynamics_params".into(), Value::String(d.clone()));
            }
            for (k, v) in &ts.attributes {
                csv.insert(k.clone(), v.clone());
            }
            // Draw order per node: positions, then node_attributes in spec order.
            let dists: Vec<(String, Distribution)> = ts
                .node_attributes
                .iter()
                .filter_map(|(k, v)| distribution(v).ok().map(|d| (k.clone(), d)))
                .collect();
            let mut names: Vec<String> = Vec::new();
            if ts.positions.is_some() {
                names.extend(["x", "y", "z"].map(String::from));
            }
            names.extend(dists.iter().map(|(k, _)| k.clone()));
            let mut cols: Vec<Vec<f64>> = vec![Vec::with_capacity(count); names.len()];
            let mut r = Rng::new(seed, rng::NODES, pi as u64, ti as u64);
            for i in 0..count {
                let mut c = 0;
                if let Some(p) = &ts.positions {
                    let [x, y, z] = draw_position(p, &mut r);
                    cols[0].push(x);
                    cols[1].push(y);
                    cols[2].push(z);
                    c = 3;
                }
                for (_, d) in &dists {
                    let v = match *d {
                        Distribution::Constant(v) => v,
                        Distribution::Uniform([a, b]) => a + (b - a) * r.uniform(),
                        Distribution::Normal([m, sd]) => m + sd * r.normal(),
                        Distribution::Linspace([a, b]) => a + (b - a) * i as f64 / count as f64,
                    };
                    cols[c].push(v);
                    c += 1;
                }
            }
            let group = match group_columns.iter().position(|g| *g == names) {
                Some(g) => g,
                None => {
                    group_columns.push(names.clone());
                    group_columns.len() - 1
                }
            } as u32;
            types.push(NodeType {
                node_type_id: ts.node_type_id.unwrap_or(100 + ti as u64),
                base_count: base,
                count,
                start,
                csv,
                columns: names.into_iter().zip(cols).collect(),
                group,
            });
            start += count;
        }
        out.push(Population {
            name: ps.name.clone(),
            is_virtual: ps.is_virtual,
            types,
            group_columns,
        });
    }
    out
}

fn draw_position(p: &Positions, r: &mut Rng) -> [f64; 3] {
    match *p {
        Positions::Box { x, y, z } => [
            x[0] + (x[1] - x[0]) * r.uniform(),
            y[0] + (y[1] - y[0]) * r.uniform(),
            z[0] + (z[1] - z[0]) * r.uniform(),
        ],
        Positions::Cylinder { radius, y, center } => {
            // Uniform over the disk area: radius ∝ sqrt(U).
            let rad = radius * r.uniform().sqrt();
            let phi = std::f64::consts::TAU * r.uniform();
            let yy = y[0] + (y[1] - y[0]) * r.uniform();
            [center[0] + rad * phi.cos(), yy, center[1] + rad * phi.sin()]
        }
    }
}
