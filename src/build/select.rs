//! Source/target selection: `{"population": p, key: value | [values] | {"min", "max"}}`.
//! Keys are matched against per-node columns, then node-type columns (`node_type_id`,
//! `model_type`, CSV attributes); a node lacking the key does not match (as a pandas query on a
//! missing value). Also renders the BMTK-style `source_query`/`target_query` provenance strings.

use serde_json::{Map, Value};

use super::nodes::Population;

/// One condition of a selection.
#[derive(Debug, Clone)]
enum Cond {
    /// Equal to any of the values.
    AnyOf(Vec<Value>),
    /// Numeric range [min, max).
    Range(Option<f64>, Option<f64>),
}

/// A resolved selection.
#[derive(Debug, Clone)]
pub struct Selected {
    pub population: usize,
    /// Sorted node ids.
    pub ids: Vec<u32>,
    /// The selection size at scale 1 (for keeping in-degrees fixed).
    pub base_size: f64,
}

fn parse_cond(v: &Value) -> Result<Cond, String> {
    match v {
        Value::Array(a) if !a.is_empty() && a.iter().all(|x| !x.is_array() && !x.is_object()) => {
            Ok(Cond::AnyOf(a.clone()))
        }
        Value::Object(o) => {
            let num = |k: &str| -> Result<Option<f64>, String> {
                match o.get(k) {
                    None => Ok(None),
                    Some(x) => x
                        .as_f64()
                        .map(Some)
                        .ok_or(format!("{k} must be a number, got {x}")),
                }
            };
            if o.keys().any(|k| k != "min" && k != "max") || o.is_empty() {
                return Err(format!(
                    "{v}: a range object takes only \"min\" and \"max\""
                ));
            }
            Ok(Cond::Range(num("min")?, num("max")?))
        }
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(Cond::AnyOf(vec![v.clone()])),
        _ => Err(format!(
            "{v} is not a value, a non-empty list or a {{min, max}} range"
        )),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn matches(v: &Value, c: &Cond) -> bool {
    match c {
        Cond::AnyOf(list) => list.iter().any(|x| same(v, x)),
        Cond::Range(lo, hi) => match v.as_f64() {
            Some(x) => lo.is_none_or(|l| x >= l) && hi.is_none_or(|h| x < h),
            None => false,
        },
    }
}

/// Resolve `sel` against the generated populations. Errors are messages for the caller to
/// attach the spec field to.
pub fn resolve(
    sel: &Map<String, Value>,
    pops: &[Population],
) -> Result<Selected, (String, String)> {
    let pname = sel
        .get("population")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let pi = pops.iter().position(|p| p.name == pname).ok_or_else(|| {
        (
            "population".to_string(),
            format!("unknown population \"{}\"", crate::limits::clip(pname)),
        )
    })?;
    let pop = &pops[pi];
    let mut conds = Vec::new();
    for (k, v) in sel {
        if k == "population" {
            continue;
        }
        let c = parse_cond(v).map_err(|m| (k.clone(), m))?;
        let known = pop
            .types
            .iter()
            .any(|t| t.has_column(k) || t.type_value(k).is_some());
        if !known {
            return Err((
                k.clone(),
                format!(
                    "no node type of population \"{}\" has attribute \"{}\"",
                    crate::limits::clip(pname),
                    crate::limits::clip(k)
                ),
            ));
        }
        conds.push((k.clone(), c));
    }
    let mut ids = Vec::new();
    let mut base_size = 0.0;
    for t in &pop.types {
        let before = ids.len();
        let per_node = conds.iter().any(|(k, _)| t.has_column(k));
        if per_node {
            for o in 0..t.count {
                if conds
                    .iter()
                    .all(|(k, c)| t.value(k, o).is_some_and(|v| matches(&v, c)))
                {
                    ids.push((t.start + o) as u32);
                }
            }
        } else if conds
            .iter()
            .all(|(k, c)| t.type_value(k).is_some_and(|v| matches(&v, c)))
        {
            ids.extend((t.start..t.start + t.count).map(|i| i as u32));
        }
        let n = ids.len() - before;
        base_size += n as f64 * t.base_count as f64 / t.count as f64;
    }
    Ok(Selected {
        population: pi,
        ids,
        base_size,
    })
}

fn lit(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

/// The pandas-query string BMTK writes as `source_query`/`target_query` (§2.3); `*` = all.
pub fn query_string(sel: &Map<String, Value>) -> String {
    let mut parts = Vec::new();
    for (k, v) in sel {
        if k == "population" {
            continue;
        }
        match parse_cond(v) {
            Ok(Cond::AnyOf(l)) if l.len() == 1 => parts.push(format!("{k}=={}", lit(&l[0]))),
            Ok(Cond::AnyOf(l)) => parts.push(format!(
                "{k} in [{}]",
                l.iter().map(lit).collect::<Vec<_>>().join(",")
            )),
            Ok(Cond::Range(lo, hi)) => {
                if let Some(l) = lo {
                    parts.push(format!("{k}>={l}"));
                }
                if let Some(h) = hi {
                    parts.push(format!("{k}<{h}"));
                }
            }
            Err(_) => {}
        }
    }
    if parts.is_empty() {
        "*".into()
    } else {
        parts.join("&")
    }
}
