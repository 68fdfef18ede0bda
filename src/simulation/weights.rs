//! Weight functions supplied by the front end (issue #17): the Python package registers the
//! `weight_function`s of a BMTK run script; an edge type naming one gets its final weights
//! from it, called once per edge type with the columns BMTK passes ([`WeightCall`]).

use super::SimError;
use crate::sonata::weight_columns::{apply_function_weights, call_weight_functions};
use crate::sonata::Circuit;

pub use crate::sonata::weight_columns::{NodeColumns, TypeColumns, WeightCall};

/// Weight functions by name (e.g. the Python functions of a BMTK run script).
pub trait WeightFunctions: Send + Sync + std::fmt::Debug {
    /// Whether the function `name` is supplied.
    fn has(&self, name: &str) -> bool;
    /// The final weight of each edge of `call` (no `nsyns` factor is applied afterwards), or
    /// why there is none (one line naming the edge population and type).
    fn weights(&self, call: &WeightCall) -> Result<Vec<f64>, String>;
}

/// Call the supplied functions for every loaded edge type naming one and make their results
/// the edges' weights; the other edge types keep PointNet's nsyns × syn_weight.
pub(crate) fn apply(circuit: &mut Circuit, wf: &dyn WeightFunctions) -> Result<(), SimError> {
    let wanted = |n: &str| wf.has(n);
    for k in 0..circuit.edges.len() {
        let calls = call_weight_functions(circuit, k, &wanted, &mut |c| wf.weights(c))
            .map_err(SimError::Invalid)?;
        if let Some(i) = calls
            .iter()
            .find_map(|(t, _, w)| w.iter().position(|x| !x.is_finite()).map(|i| (t, i)))
        {
            return Err(SimError::Invalid(format!(
                "weight function of edge population {}, edge type {}: weight {} is not finite",
                circuit.edges[k].name, i.0, i.1
            )));
        }
        apply_function_weights(&mut circuit.edges[k], &wanted, calls);
    }
    Ok(())
}
