//! Errors of the SONATA circuit readers (nodes, edges, type tables, node sets). Each names the
//! file, the dataset/column/field, and the offending value.

use std::path::PathBuf;

/// Everything that can go wrong while reading a SONATA circuit.
#[derive(Debug, thiserror::Error)]
pub enum SonataError {
    /// The file does not exist or is not readable / not HDF5.
    #[error("cannot open {}: {message}", file.display())]
    Open { file: PathBuf, message: String },
    /// A required dataset, group or attribute is absent.
    #[error("{}: missing {what} {object}", file.display())]
    Missing {
        file: PathBuf,
        what: &'static str,
        object: String,
    },
    /// A dataset or attribute has a datatype glifnet cannot use here.
    #[error("{}: {object}: datatype {found} not allowed (expected {expected})", file.display())]
    Dtype {
        file: PathBuf,
        object: String,
        found: String,
        expected: &'static str,
    },
    /// A value is out of range or inconsistent with the rest of the circuit.
    #[error("{}: {field} = {value}: {reason}", file.display())]
    Invalid {
        file: PathBuf,
        field: String,
        value: String,
        reason: String,
    },
    /// libhdf5 failed while reading an object.
    #[error("{}: {object}: {message}", file.display())]
    H5 {
        file: PathBuf,
        object: String,
        message: String,
    },
    /// A CSV line could not be parsed.
    #[error("{}: line {line}: {message}", file.display())]
    Csv {
        file: PathBuf,
        line: usize,
        message: String,
    },
    /// A required CSV column is absent from the header.
    #[error("{}: missing column {column} (header: {header})", file.display())]
    MissingColumn {
        file: PathBuf,
        column: String,
        header: String,
    },
    /// A type id appears twice in the type tables of one population.
    #[error("{}: line {line}: duplicate {column} {value}", file.display())]
    DuplicateTypeId {
        file: PathBuf,
        line: usize,
        column: &'static str,
        value: String,
    },
    /// A JSON file (dynamics_params, node sets) is malformed.
    #[error("{}: malformed JSON at line {line}, column {column}: {message}", file.display())]
    Json {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

impl SonataError {
    pub(crate) fn invalid(
        file: &std::path::Path,
        field: impl Into<String>,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        SonataError::Invalid {
            file: file.to_path_buf(),
            field: field.into(),
            value: crate::limits::clip(value),
            reason: reason.into(),
        }
    }
}
