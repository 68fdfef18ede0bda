//! The one error type of `models/`: every variant names the parameter (or field), its value and
//! the rule it breaks, so a user can fix the input from the message alone.

/// Errors from parsing, validating, converting or grouping neuron model parameters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A parameter value breaks a validity rule (NEST's checks, glif.md §3.1).
    #[error("{model}: parameter `{param}` = {value} is invalid: {rule}")]
    Invalid {
        model: String,
        param: String,
        value: String,
        rule: String,
    },
    /// A key the model does not have (NEST rejects unused dictionary entries too).
    #[error("{model}: unknown parameter `{param}` (known: {known})")]
    UnknownParam {
        model: String,
        param: String,
        known: String,
    },
    /// A value of the wrong JSON type.
    #[error("{model}: parameter `{param}` = {value} has the wrong type: expected {expected}")]
    Type {
        model: String,
        param: String,
        value: String,
        expected: String,
    },
    #[error("unknown neuron model `{0}` (supported: glif_psc, glif_psc_double_alpha, glif_cond, iaf_psc_alpha, iaf_psc_exp, iaf_psc_delta)")]
    UnknownModel(String),
    /// A connection's receptor_type that the target model does not have.
    #[error("{model}: receptor_type = {receptor} is invalid: {rule}")]
    Port {
        model: String,
        receptor: i64,
        rule: String,
    },
    /// Inconsistent group construction (programming or lowering error).
    #[error("model group: {0}")]
    Group(String),
    /// An error located in a file.
    #[error("{file}: {source}")]
    InFile {
        file: String,
        #[source]
        source: Box<ModelError>,
    },
}

impl ModelError {
    /// Attach the file the parameters came from.
    pub fn in_file(self, file: impl std::fmt::Display) -> ModelError {
        ModelError::InFile {
            file: file.to_string(),
            source: Box::new(self),
        }
    }

    pub(crate) fn invalid(
        model: &str,
        param: &str,
        value: impl std::fmt::Display,
        rule: &str,
    ) -> ModelError {
        ModelError::Invalid {
            model: model.to_string(),
            param: param.to_string(),
            value: crate::limits::clip(value),
            rule: rule.to_string(),
        }
    }
}
