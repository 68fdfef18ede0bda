//! Node sets as BMTK PointNet resolves them (sonata-bmtk.md §3.3):
//! * a string: a named node set, or any population name (BMTK registers one per population);
//! * an object: a filter — `population`/`populations` (string or list) choose populations
//!   (default all), `node_id`/`node_ids` choose ids, every other key must equal the node's
//!   attribute (h5 column > type CSV), a list meaning any-of;
//! * a list of strings: the union of those node sets (SONATA compound set);
//! * a list of integers: those node ids in every population that has them (BMTK "gids").

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Map, Value as Json};

use super::error::SonataError;
use super::{Circuit, NodePopulation};

/// The nodes of one population selected by a node set, ids ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSelection {
    pub population: String,
    pub node_ids: Vec<u64>,
}

impl Circuit {
    /// Resolve `spec` (an input's `node_set`, a report's `cells`) with the config's named
    /// `node_sets`. `origin` is the config file named in error messages, `field` the key.
    /// Returns one entry per population with at least one selected node, in circuit order.
    pub fn select(
        &self,
        spec: &Json,
        node_sets: &Map<String, Json>,
        origin: &Path,
        field: &str,
    ) -> Result<Vec<NodeSelection>, SonataError> {
        let mut sel: Vec<BTreeSet<u64>> = vec![BTreeSet::new(); self.nodes.len()];
        self.select_into(spec, node_sets, origin, field, 0, &mut sel)?;
        Ok(self
            .nodes
            .iter()
            .zip(sel)
            .filter(|(_, s)| !s.is_empty())
            .map(|(p, s)| NodeSelection {
                population: p.name.clone(),
                node_ids: s.into_iter().collect(),
            })
            .collect())
    }

    fn select_into(
        &self,
        spec: &Json,
        named: &Map<String, Json>,
        origin: &Path,
        field: &str,
        depth: usize,
        sel: &mut [BTreeSet<u64>],
    ) -> Result<(), SonataError> {
        let bad = |v: &Json, why: &str| SonataError::invalid(origin, field, v, why);
        if depth > 32 {
            return Err(bad(spec, "node sets refer to each other in a cycle"));
        }
        match spec {
            Json::String(name) => {
                if let Some(def) = named.get(name) {
                    return self.select_into(
                        def,
                        named,
                        origin,
                        &format!("node_sets.{name}"),
                        depth + 1,
                        sel,
                    );
                }
                match self.nodes.iter().position(|p| &p.name == name) {
                    Some(k) => {
                        sel[k].extend(self.nodes[k].node_ids.iter().copied());
                        Ok(())
                    }
                    None => Err(bad(spec, "neither a node set name nor a node population")),
                }
            }
            Json::Array(items) => {
                for it in items {
                    match it {
                        Json::String(_) => {
                            self.select_into(it, named, origin, field, depth + 1, sel)?
                        }
                        Json::Number(n) => {
                            let id = n
                                .as_u64()
                                .ok_or_else(|| bad(it, "node ids must be non-negative integers"))?;
                            for (k, p) in self.nodes.iter().enumerate() {
                                if p.index_of(id).is_some() {
                                    sel[k].insert(id);
                                }
                            }
                        }
                        other => return Err(bad(other, "expected a node set name or a node id")),
                    }
                }
                Ok(())
            }
            Json::Object(filter) => self.select_filter(filter, origin, field, sel),
            other => Err(bad(
                other,
                "expected a node set name, a filter object or a list",
            )),
        }
    }

    fn select_filter(
        &self,
        filter: &Map<String, Json>,
        origin: &Path,
        field: &str,
        sel: &mut [BTreeSet<u64>],
    ) -> Result<(), SonataError> {
        let strings = |key: &str, v: &Json| -> Result<Vec<String>, SonataError> {
            match v {
                Json::String(s) => Ok(vec![s.clone()]),
                Json::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_str().map(str::to_string).ok_or_else(|| {
                            SonataError::invalid(
                                origin,
                                format!("{field}.{key}"),
                                x,
                                "expected a population name",
                            )
                        })
                    })
                    .collect(),
                other => Err(SonataError::invalid(
                    origin,
                    format!("{field}.{key}"),
                    other,
                    "expected a string or a list",
                )),
            }
        };
        let mut pops: Option<Vec<String>> = None;
        let mut ids: Option<BTreeSet<u64>> = None;
        let mut attrs: Vec<(&str, Vec<&Json>)> = Vec::new();
        for (k, v) in filter {
            match k.as_str() {
                "population" | "populations" => {
                    let names = strings(k, v)?;
                    for n in &names {
                        if self.node_population(n).is_none() {
                            return Err(SonataError::invalid(
                                origin,
                                format!("{field}.{k}"),
                                n,
                                "no node population of that name",
                            ));
                        }
                    }
                    pops = Some(names);
                }
                "node_id" | "node_ids" => {
                    let list: Vec<&Json> = match v {
                        Json::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    let mut s = BTreeSet::new();
                    for x in list {
                        s.insert(x.as_u64().ok_or_else(|| {
                            SonataError::invalid(
                                origin,
                                format!("{field}.{k}"),
                                x,
                                "node ids must be non-negative integers",
                            )
                        })?);
                    }
                    ids = Some(s);
                }
                _ => attrs.push((
                    k.as_str(),
                    match v {
                        Json::Array(a) => a.iter().collect(),
                        other => vec![other],
                    },
                )),
            }
        }
        for (k, p) in self.nodes.iter().enumerate() {
            if let Some(ps) = &pops {
                if !ps.contains(&p.name) {
                    continue;
                }
            }
            select_in_population(p, ids.as_ref(), &attrs, &mut sel[k]);
        }
        Ok(())
    }
}

fn select_in_population(
    p: &NodePopulation,
    ids: Option<&BTreeSet<u64>>,
    attrs: &[(&str, Vec<&Json>)],
    out: &mut BTreeSet<u64>,
) {
    for i in 0..p.len() {
        let id = p.node_ids[i];
        if ids.is_some_and(|s| !s.contains(&id)) {
            continue;
        }
        if attrs.iter().all(|(name, allowed)| {
            let v = p.attribute(i, name);
            allowed.iter().any(|a| v.matches_json(a))
        }) {
            out.insert(id);
        }
    }
}
